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
    #: A condition across parameters (e.g. min_val < max_val), built from the parameter symbols.
    requires: Callable[..., sp.Basic] | None = None


#: SELU's constants (Klambauer et al. 2017), to 32 digits; rounded once when printed.
_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 40)
_SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 40)
#: The cubic coefficient of GELU's tanh approximation, exactly as published.
_GELU_C = sp.Rational(44715, 1000000)


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
        "Softplus, a smooth ReLU: log(1 + exp(beta*x))/beta.",
        lambda x, beta, threshold: sp.log(1 + sp.exp(beta * x)) / beta,
        params=(
            Param("beta", 1.0, low=0.0, low_open=True, doc="sharpness"),
            Param("threshold", 20.0, low=0.0, low_open=True,
                  doc="accepted for PyTorch compatibility; the result is exact on both sides"),
        ),
        conventions=(
            "PyTorch returns x where beta*x > threshold (an approximation off by up to 5e5 "
            "ULP near the threshold); symact computes the exact value on both sides, so "
            "threshold does not change the result."
        ),
        reference="Dugas et al. 2001; PyTorch torch.nn.Softplus(beta, threshold).",
    ),
    Spec(
        "silu",
        "Sigmoid linear unit: x * sigmoid(x).",
        lambda x: x / (1 + sp.exp(-x)),
        aliases=("swish",),
        reference="Hendrycks & Gimpel 2016; Ramachandran et al. 2017; PyTorch torch.nn.SiLU.",
    ),
    Spec(
        "relu6",
        "ReLU capped at 6: min(max(x, 0), 6).",
        lambda x: _piece((0, x <= 0), (x, x < 6), (6, True)),
        conventions="relu6'(0) = relu6'(6) = 0 (as PyTorch's hardtanh(x, 0, 6)).",
        reference="Krizhevsky 2010; Howard et al. 2017 (MobileNets); PyTorch torch.nn.ReLU6.",
    ),
    Spec(
        "prelu",
        "Parametric ReLU: x for x > 0, else a*x, with a learnable slope a.",
        lambda x, a: _piece((x, x > 0), (a * x, True)),
        params=(Param("a", 0.25, doc="slope for x <= 0 (learnable; any real)"),),
        conventions="prelu'(0) = a (as PyTorch).",
        reference="He et al. 2015; PyTorch torch.nn.PReLU (num_parameters = 1).",
    ),
    Spec(
        "elu",
        "Exponential linear unit: x for x > 0, else alpha*(exp(x) - 1).",
        lambda x, alpha: _piece((x, x > 0), (alpha * (sp.exp(x) - 1), True)),
        params=(Param("alpha", 1.0, low=0.0, low_open=True, doc="saturation value -alpha"),),
        conventions="elu'(0) = alpha (the x <= 0 branch, as PyTorch).",
        reference="Clevert et al. 2015; PyTorch torch.nn.ELU.",
    ),
    Spec(
        "selu",
        "Scaled ELU: scale*(x for x > 0, else alpha*(exp(x) - 1)), self-normalizing constants.",
        lambda x: _piece(
            (_SELU_SCALE * x, x > 0), (_SELU_SCALE * _SELU_ALPHA * (sp.exp(x) - 1), True)
        ),
        conventions=(
            "alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946; "
            "selu'(0) = scale*alpha (the x <= 0 branch, as PyTorch)."
        ),
        reference="Klambauer et al. 2017; PyTorch torch.nn.SELU.",
    ),
    Spec(
        "celu",
        "Continuously differentiable ELU: x for x > 0, else alpha*(exp(x/alpha) - 1).",
        lambda x, alpha: _piece((x, x > 0), (alpha * (sp.exp(x / alpha) - 1), True)),
        params=(Param("alpha", 1.0, low=0.0, low_open=True, doc="saturation value -alpha"),),
        conventions="celu'(0) = 1 from both sides.",
        reference="Barron 2017; PyTorch torch.nn.CELU.",
    ),
    Spec(
        "gelu",
        "Gaussian error linear unit (exact): x * Phi(x), Phi the standard normal distribution.",
        lambda x: x / 2 * (1 + sp.erf(x / sp.sqrt(2))),
        reference="Hendrycks & Gimpel 2016; PyTorch torch.nn.GELU(approximate='none').",
    ),
    Spec(
        "gelu_tanh",
        "GELU, tanh approximation: x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3))).",
        lambda x: x / 2 * (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (x + _GELU_C * x**3))),
        reference="Hendrycks & Gimpel 2016; PyTorch torch.nn.GELU(approximate='tanh').",
    ),
    Spec(
        "swish_beta",
        "Swish with a slope parameter: x*sigmoid(beta*x).",
        lambda x, beta: x / (1 + sp.exp(-beta * x)),
        params=(Param("beta", 1.0, low=0.0, low_open=True, doc="slope (learnable)"),),
        reference="Ramachandran et al. 2017 (Searching for activation functions).",
    ),
    Spec(
        "mish",
        "Mish: x*tanh(softplus(x)).",
        lambda x: x * sp.tanh(sp.log(1 + sp.exp(x))),
        reference="Misra 2019; PyTorch torch.nn.Mish.",
    ),
    Spec(
        "log_sigmoid",
        "Log of the sigmoid: -softplus(-x).",
        lambda x: -sp.log(1 + sp.exp(-x)),
        reference="PyTorch torch.nn.LogSigmoid.",
    ),
    Spec(
        "softsign",
        "Softsign: x/(1 + |x|).",
        lambda x: x / (1 + sp.Abs(x)),
        reference="Bergstra et al. 2009; PyTorch torch.nn.Softsign.",
    ),
    Spec(
        "hard_sigmoid",
        "Hard sigmoid: relu6(x + 3)/6.",
        lambda x: _piece((0, x <= -3), (1, x >= 3), (x / 6 + sp.Rational(1, 2), True)),
        conventions="hard_sigmoid'(-3) = hard_sigmoid'(3) = 0 (as PyTorch).",
        reference="Courbariaux et al. 2015; PyTorch torch.nn.Hardsigmoid.",
    ),
    Spec(
        "hard_silu",
        "Hard SiLU (hard swish): x*relu6(x + 3)/6.",
        lambda x: _piece((0, x < -3), (x, x > 3), (x * (x + 3) / 6, True)),
        aliases=("hard_swish",),
        conventions="hard_silu'(-3) = -1/2, hard_silu'(3) = 3/2 (the middle branch, as PyTorch).",
        reference="Howard et al. 2019 (MobileNetV3); PyTorch torch.nn.Hardswish.",
    ),
    Spec(
        "hard_tanh",
        "Hard tanh: x clipped to [min_val, max_val].",
        lambda x, min_val, max_val: _piece(
            (min_val, x <= min_val), (max_val, x >= max_val), (x, True)
        ),
        params=(Param("min_val", -1.0, doc="lower clip"), Param("max_val", 1.0, doc="upper clip")),
        requires=lambda min_val, max_val: min_val < max_val,
        conventions="hard_tanh' = 0 at min_val and max_val (as PyTorch); needs min_val < max_val.",
        reference="Collobert 2004; PyTorch torch.nn.Hardtanh.",
    ),
    Spec(
        "hardshrink",
        "Hard shrinkage: x where |x| > lambd, else 0.",
        lambda x, lambd: _piece((x, sp.Abs(x) > lambd), (0, True)),
        params=(Param("lambd", 0.5, low=0.0, doc="half-width of the zero band"),),
        conventions="hardshrink'(+-lambd) = 0 (as PyTorch).",
        reference="Donoho & Johnstone 1994; PyTorch torch.nn.Hardshrink.",
    ),
    Spec(
        "softshrink",
        "Soft shrinkage: x - lambd for x > lambd, x + lambd for x < -lambd, else 0.",
        lambda x, lambd: _piece((x - lambd, x > lambd), (x + lambd, x < -lambd), (0, True)),
        params=(Param("lambd", 0.5, low=0.0, doc="half-width of the zero band"),),
        conventions="softshrink'(+-lambd) = 0 (as PyTorch).",
        reference="Donoho & Johnstone 1994; PyTorch torch.nn.Softshrink.",
    ),
    Spec(
        "tanhshrink",
        "Tanh shrinkage: x - tanh(x).",
        lambda x: x - sp.tanh(x),
        reference="PyTorch torch.nn.Tanhshrink.",
    ),
    Spec(
        "threshold",
        "Threshold: x where x > threshold, else value.",
        lambda x, threshold, value: _piece((x, x > threshold), (value, True)),
        params=(Param("threshold", 0.0, doc="cut-off"), Param("value", 0.0, doc="replacement")),
        conventions="threshold'(threshold) = 0 (as PyTorch); defaults make it relu.",
        reference="PyTorch torch.nn.Threshold.",
    ),
    Spec(
        "squareplus",
        "Squareplus, an algebraic softplus: (x + sqrt(x^2 + b))/2.",
        lambda x, b: (x + sp.sqrt(x**2 + b)) / 2,
        params=(Param("b", 4.0, low=0.0, low_open=True, doc="smoothness at 0"),),
        reference="Barron 2021 (Squareplus: a softplus-like algebraic rectifier).",
    ),
    Spec(
        "exponential",
        "Exponential: exp(x).",
        lambda x: sp.exp(x),
        reference="Keras keras.activations.exponential.",
    ),
)
