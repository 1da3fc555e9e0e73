"""Each activation once: name, SymPy definition, parameters, aliases, description, conventions.

The catalog knows nothing about derivatives, code or LaTeX. Definitions use elementary
functions of a real symbol ``x``; kinks are written as ``Piecewise`` whose condition decides
the value at the kink, and the derivative at a kink is the derivative of the branch that owns
the point (so ``relu'(0) = 0``, ``leaky_relu'(0) = alpha``, as PyTorch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy as sp

#: The real variable every definition is written in.
X = sp.Symbol("x", real=True)


@dataclass(frozen=True)
class Param:
    """A parameter with its default and its valid open/closed range."""

    name: str
    default: float
    low: float | None = None  # inclusive unless low_open
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    doc: str = ""

    def symbol(self) -> sp.Symbol:
        """The SymPy symbol, with the assumptions its range allows."""
        positive = self.low is not None and (self.low > 0 or (self.low == 0 and self.low_open))
        return sp.Symbol(self.name, real=True, positive=positive or None)

    def describe_range(self) -> str:
        lo = "-inf" if self.low is None else repr(self.low)
        hi = "inf" if self.high is None else repr(self.high)
        left = "(" if self.low is None or self.low_open else "["
        right = ")" if self.high is None or self.high_open else "]"
        return f"{left}{lo}, {hi}{right}"

    def contains(self, value: float) -> bool:
        if value != value:  # NaN
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (
            value > self.high or (self.high_open and value == self.high)
        ):
            return False
        return True


@dataclass(frozen=True)
class Spec:
    """One catalog entry: the definition as a function of ``x`` and the parameter symbols."""

    name: str
    description: str
    build: Callable[..., sp.Expr]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    conventions: str = ""
    reference: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


def _piece(*pairs: tuple[sp.Expr, object]) -> sp.Expr:
    return sp.Piecewise(*pairs)


SPECS: tuple[Spec, ...] = (
    Spec(
        "sigmoid",
        "Logistic sigmoid, squashes the real line into (0, 1).",
        lambda x: 1 / (1 + sp.exp(-x)),
        reference="PyTorch torch.nn.Sigmoid; Verhulst's logistic function.",
    ),
    Spec(
        "tanh",
        "Hyperbolic tangent, squashes the real line into (-1, 1).",
        lambda x: sp.tanh(x),
        reference="PyTorch torch.nn.Tanh.",
    ),
    Spec(
        "relu",
        "Rectified linear unit: x for x > 0, else 0.",
        lambda x: _piece((x, x > 0), (0, True)),
        conventions="relu'(0) = 0 (as PyTorch).",
        reference="Nair & Hinton 2010; PyTorch torch.nn.ReLU.",
    ),
    Spec(
        "leaky_relu",
        "Leaky ReLU: x for x > 0, else alpha*x.",
        lambda x, alpha: _piece((x, x > 0), (alpha * x, True)),
        params=(Param("alpha", 0.01, low=0.0, low_open=True, doc="slope for x <= 0"),),
        conventions="leaky_relu'(0) = alpha (as PyTorch).",
        reference="Maas et al. 2013; PyTorch torch.nn.LeakyReLU.",
    ),
    Spec(
        "binary_step",
        "Heaviside step: 1 for x >= 0, else 0.",
        lambda x: _piece((1, x >= 0), (0, True)),
        conventions="binary_step(0) = 1; binary_step' = 0 almost everywhere (no Dirac delta).",
        reference="Rosenblatt's perceptron; numpy.heaviside(x, 1).",
    ),
    Spec(
        "linear",
        "Identity: x.",
        lambda x: x,
        aliases=("identity",),
        reference="PyTorch torch.nn.Identity.",
    ),
    Spec(
        "softplus",
        "Softplus, a smooth ReLU: log(1 + exp(x)).",
        lambda x: sp.log(1 + sp.exp(x)),
        reference="Dugas et al. 2001; PyTorch torch.nn.Softplus (beta = 1).",
    ),
    Spec(
        "silu",
        "Sigmoid linear unit: x * sigmoid(x).",
        lambda x: x / (1 + sp.exp(-x)),
        aliases=("swish",),
        reference="Hendrycks & Gimpel 2016; Ramachandran et al. 2017; PyTorch torch.nn.SiLU.",
    ),
    Spec(
        "gelu",
        "Gaussian error linear unit (exact): x * Phi(x), Phi the standard normal distribution.",
        lambda x: x / 2 * (1 + sp.erf(x / sp.sqrt(2))),
        reference="Hendrycks & Gimpel 2016; PyTorch torch.nn.GELU(approximate='none').",
    ),
)
