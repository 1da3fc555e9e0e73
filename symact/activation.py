"""An activation with everything derived from its definition: derivative, output form, kernels.

Derivations are computed on first use and cached on the object (each is done once a process).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from .catalog import SPECS, Spec, X
from .derive import MixedForm, OutputForm, Y, derivative, mixed_form, output_form
from .errors import ParameterError, UnknownActivationError
from .stabilize import prove, stabilize


@dataclass(frozen=True)
class Kernel:
    """One generated function: its public suffix, exact expression and stable expression."""

    suffix: str  # "" for the value, "_prime" for d/dx, "_prime2", "_d<param>"
    title: str
    mark: str  # how the formula names it: "", "'", "''", "_d<param>"
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
        return _branchwise_diff(self.expr, X)

    @cached_property
    def derivative(self) -> sp.Expr:
        """d/dx f, simplified."""
        return derivative(self.expr, X)

    @cached_property
    def raw_second_derivative(self) -> sp.Expr:
        """d^2/dx^2 f, branch by branch, unsimplified."""
        return _branchwise_diff(self.raw_derivative, X)

    @cached_property
    def second_derivative(self) -> sp.Expr:
        """d^2/dx^2 f, simplified (0 almost everywhere for piecewise-linear activations)."""
        return derivative(self.expr, X, order=2)

    @cached_property
    def param_derivatives(self) -> dict[str, tuple[sp.Expr, sp.Expr]]:
        """Parameter name -> (d f/d param branch by branch, simplified), for each parameter
        the definition depends on. At a kink that moves with the parameter the derivative is
        the branch's (no Dirac delta)."""
        out = {}
        for name, sym in self.symbols.items():
            if self.expr.has(sym):
                out[name] = (_branchwise_diff(self.expr, sym), derivative(self.expr, sym))
        return out

    @cached_property
    def _output(self) -> OutputForm | None:
        return output_form(self.expr, self.derivative, X, self.defaults, self.param_samples())

    def param_samples(self) -> list[dict[sp.Symbol, float]]:
        """Parameter values spread over the valid ranges (defaults first), for proofs that
        must hold for every parameter value, not only the defaults."""
        samples = [self.defaults]
        for p in self.spec.params:
            for v in (-2.5, -0.5, 0.001, 0.75, 3.0, 40.0):
                if p.contains(v) and v != p.default:
                    trial = dict(self.defaults)
                    trial[self.symbols[p.name]] = v
                    values = {s.name: val for s, val in trial.items()}
                    req = self.requirement
                    if req is None or bool(req.subs(
                            {self.symbols[k]: val for k, val in values.items()})):
                        samples.append(trial)
        return samples

    @property
    def output_form(self) -> sp.Expr | None:
        """f'(x) as an expression in y = f(x), proven; None when there is none."""
        return None if self._output is None else self._output.expr

    @cached_property
    def mixed_form(self) -> MixedForm | None:
        """Where no output form exists: f' in terms of y = f(x) and a sub-activation s(x)
        (silu' = y + s(1 - y) with s = sigmoid(x)), proven; else None."""
        if self.output_form is not None:
            return None
        return mixed_form(self.expr, self.derivative, X, self.defaults)

    @property
    def output_form_proof(self) -> str | None:
        return None if self._output is None else self._output.proof

    @property
    def y(self) -> sp.Symbol:
        return Y

    # --- kernels --------------------------------------------------------------------
    @cached_property
    def kernels(self) -> tuple[Kernel, ...]:
        """The value, d/dx, d^2/dx^2 and d/d<param>, each stabilized and proven equal."""
        todo = [
            ("", "value", "", self.expr, self.expr),
            ("_prime", "derivative with respect to x", "'", self.raw_derivative,
             self.derivative),
            ("_prime2", "second derivative with respect to x", "''",
             self.raw_second_derivative, self.second_derivative),
        ]
        for name, (exact, display) in self.param_derivatives.items():
            todo.append((f"_d{name}", f"derivative with respect to {name}", f"_d{name}",
                         exact, display))
        out = []
        for suffix, title, mark, exact, display in todo:
            stable = stabilize(exact, X)
            if not prove(exact, stable, X, self.defaults):
                raise AssertionError(f"{self.name}{suffix}: stabilized form is not equal")
            out.append(Kernel(suffix, title, mark, exact, display, stable))
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
        req = self.requirement
        if req is not None and not bool(req.subs({self.symbols[k]: v for k, v in out.items()})):
            raise ParameterError(f"{self.name} needs {req} (got {out})")
        return out

    @cached_property
    def requirement(self) -> sp.Basic | None:
        """The condition across parameters, if any (e.g. min_val < max_val)."""
        if self.spec.requires is None:
            return None
        return self.spec.requires(*self.symbols.values())

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __str__(self) -> str:
        from .explain import to_text

        return to_text(self)

    def _repr_latex_(self) -> str:
        from .explain import to_latex

        return "$$" + to_latex(self, env="aligned") + "$$"

    @cached_property
    def steps(self):
        """The checked step-by-step derivation of f' (a symact.steps.Derivation)."""
        from .steps import derivation_steps

        return derivation_steps(self)


def _branchwise_diff(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """d expr/d var, branch by branch for Piecewise (each branch keeps its condition, which
    sets the convention at a kink); branches that agree are folded into one expression."""
    if isinstance(expr, sp.Piecewise):
        d = sp.Piecewise(*[(_diff_ae(b, var), c) for b, c in expr.args])
        values = {b for b, _ in d.args}
        return values.pop() if len(values) == 1 else d
    return _diff_ae(expr, var)


def _diff_ae(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """d expr/d var almost everywhere: the Dirac delta of d sign(x)/dx is dropped (the same
    convention as a step's derivative, 0)."""
    return sp.diff(expr, var).replace(sp.DiracDelta, lambda *args: sp.S.Zero)


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
