"""An activation with everything derived from its definition: derivative, output form, kernels.

Derivations are computed on first use and cached on the object (each is done once a process).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from .catalog import SPECS, Spec, X
from .derive import OutputForm, Y, derivative, output_form
from .errors import ParameterError, UnknownActivationError
from .stabilize import prove, stabilize


@dataclass(frozen=True)
class Kernel:
    """One generated function: its public suffix, exact expression and stable expression."""

    suffix: str  # "" for the value, "_prime" for d/dx
    title: str
    exact: sp.Expr  # the reference: definition or its derivative, elementary functions
    display: sp.Expr  # what the docstring shows
    stable: sp.Expr  # what is printed


class Activation:
    """One activation function: ``f(x; params)`` and what symact derives from it."""

    def __init__(self, spec: Spec):
        self.spec = spec

    # --- identity -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.spec.aliases

    @property
    def conventions(self) -> str:
        return self.spec.conventions

    @property
    def reference(self) -> str:
        return self.spec.reference

    # --- math -----------------------------------------------------------------------
    @property
    def x(self) -> sp.Symbol:
        return X

    @cached_property
    def symbols(self) -> dict[str, sp.Symbol]:
        """Parameter name -> SymPy symbol."""
        return {p.name: p.symbol() for p in self.spec.params}

    @property
    def params(self) -> dict[str, float]:
        """Parameter name -> default value."""
        return {p.name: p.default for p in self.spec.params}

    @property
    def defaults(self) -> dict[sp.Symbol, float]:
        return {self.symbols[p.name]: p.default for p in self.spec.params}

    @cached_property
    def expr(self) -> sp.Expr:
        """f(x) in elementary functions of the real symbol x."""
        return self.spec.build(X, *self.symbols.values())

    @cached_property
    def raw_derivative(self) -> sp.Expr:
        """d/dx f, unsimplified, branch by branch for Piecewise (kink values as the branches)."""
        e = self.expr
        if isinstance(e, sp.Piecewise):
            d = sp.Piecewise(*[(sp.diff(b, X), c) for b, c in e.args])
            values = {b for b, _ in d.args}
            return values.pop() if len(values) == 1 else d
        return sp.diff(e, X)

    @cached_property
    def derivative(self) -> sp.Expr:
        """d/dx f, simplified."""
        return derivative(self.expr, X)

    @cached_property
    def _output(self) -> OutputForm | None:
        return output_form(self.expr, self.derivative, X, self.defaults)

    @property
    def output_form(self) -> sp.Expr | None:
        """f'(x) as an expression in y = f(x), proven; None when there is none."""
        return None if self._output is None else self._output.expr

    @property
    def output_form_proof(self) -> str | None:
        return None if self._output is None else self._output.proof

    @property
    def y(self) -> sp.Symbol:
        return Y

    # --- kernels --------------------------------------------------------------------
    @cached_property
    def kernels(self) -> tuple[Kernel, ...]:
        """The value and the first derivative, each stabilized and proven equal."""
        out = []
        for suffix, title, exact, display in (
            ("", "value", self.expr, self.expr),
            ("_prime", "first derivative", self.raw_derivative, self.derivative),
        ):
            stable = stabilize(exact, X)
            if not prove(exact, stable, X, self.defaults):
                raise AssertionError(f"{self.name}{suffix}: stabilized form is not equal")
            out.append(Kernel(suffix, title, exact, display, stable))
        return tuple(out)

    def check_params(self, values: dict[str, float]) -> dict[str, float]:
        """Validate parameter values against their ranges; returns all values, defaults filled."""
        known = {p.name: p for p in self.spec.params}
        for k in values:
            if k not in known:
                allowed = ", ".join(known) or "none"
                raise ParameterError(f"{self.name} has no parameter {k!r} (parameters: {allowed})")
        out = dict(self.params)
        for k, v in values.items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ParameterError(f"{self.name}: {k} = {v!r} is not a number") from None
            if not math.isfinite(v):
                raise ParameterError(f"{self.name}: {k} = {v!r} is not a finite number")
            if not known[k].contains(v):
                raise ParameterError(
                    f"{self.name}: {k} = {v!r} is outside its valid range "
                    f"{known[k].describe_range()}"
                )
            out[k] = float(v)
        return out

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __str__(self) -> str:
        from .explain import to_text

        return to_text(self)

    def _repr_latex_(self) -> str:
        from .explain import to_latex

        return "$\\displaystyle " + to_latex(self, display=False) + "$"


_REGISTRY: dict[str, Activation] = {spec.name: Activation(spec) for spec in SPECS}
_ALIASES: dict[str, str] = {a: spec.name for spec in SPECS for a in spec.aliases}


def names() -> list[str]:
    """Canonical names of every catalog activation, in catalog order."""
    return list(_REGISTRY)


def get(name: str) -> Activation:
    """The activation called ``name`` (aliases accepted)."""
    key = _ALIASES.get(name, name)
    try:
        return _REGISTRY[key]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, [*_REGISTRY, *_ALIASES], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownActivationError(
            f"unknown activation {name!r}{hint} (run 'symact list' for all)"
        ) from None


def all_activations() -> list[Activation]:
    return list(_REGISTRY.values())
