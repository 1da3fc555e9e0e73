"""Vector activations (softmax, log_softmax, softmin): defined along an axis of length n.

Each is defined once in SymPy as its i-th component, with an ``IndexedBase`` x[i] and a symbolic
length n. The Jacobian entry d f_i / d x_j is *derived* by SymPy (``diff`` through the ``Sum``,
giving ``KroneckerDelta``); the JVP sum_j J_ij v_j and the VJP sum_j g_j J_ji are derived from it by
summing symbolically (``Sum(...).doit()`` eliminates the KroneckerDelta). The closed forms used by
the generated code (e.g. softmax VJP = s*(g - <g, s>)) are then *proven equal* to those derived
sums: symbolically by ``simplify`` of the difference, and for n = 1..4 against the explicit
``sympy.Matrix`` Jacobian of the explicit definition (``verify``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

N = sp.Symbol("n", integer=True, positive=True)
I, J, K = sp.symbols("i j k", integer=True, positive=True)  # noqa: E741
XV, VV, GV = sp.IndexedBase("x"), sp.IndexedBase("v"), sp.IndexedBase("g")


def _strip_range(e: sp.Expr) -> sp.Expr:
    """Sum(delta(j,k) a_k, (k,1,n)).doit() gives Piecewise((a_j, j <= n), (0, True)); the
    indices are in 1..n by construction, so keep the first branch."""
    return e.replace(lambda t: isinstance(t, sp.Piecewise), lambda t: t.args[0][0])


@dataclass(frozen=True)
class VectorSpec:
    """A vector activation: f_i(x) as a function of (x, i, n, k) with k a free summation index."""

    name: str
    description: str
    reference: str
    conventions: str
    build: Callable[[sp.IndexedBase, sp.Symbol, sp.Symbol, sp.Symbol], sp.Expr]
    # closed forms in s = softmax(x) (or softmin for softmin), used by the generated code
    jvp_text: str
    vjp_text: str
    value_text: str


def _softmax(x, i, n, k):
    return sp.exp(x[i]) / sp.Sum(sp.exp(x[k]), (k, 1, n))


def _log_softmax(x, i, n, k):
    return x[i] - sp.log(sp.Sum(sp.exp(x[k]), (k, 1, n)))


def _softmin(x, i, n, k):
    return sp.exp(-x[i]) / sp.Sum(sp.exp(-x[k]), (k, 1, n))


_CONV_SOFTMAX = (
    "stable: shifted by the row maximum m. A row whose maximum is +inf gives the limit: the "
    "+inf entries share the mass equally, the rest 0 (PyTorch gives NaN). A row of all -inf "
    "gives NaN (as PyTorch). Any NaN in a row makes that whole row NaN. Length-1 rows give 1."
)

SPECS: tuple[VectorSpec, ...] = (
    VectorSpec(
        "softmax", "Softmax along an axis: exponentials normalized to sum to 1.",
        "Bridle, 'Probabilistic interpretation of feedforward classification network outputs' "
        "(1990); torch.nn.functional.softmax (dim -> axis)",
        _CONV_SOFTMAX, _softmax,
        value_text="s_i = exp(x_i - m) / sum_k exp(x_k - m),  m = max_k x_k",
        jvp_text="(J v)_i = s_i * (v_i - <s, v>)",
        vjp_text="(J^T g)_i = s_i * (g_i - <g, s>)",
    ),
    VectorSpec(
        "log_softmax", "Log-softmax along an axis: x - logsumexp(x).",
        "torch.nn.functional.log_softmax; logsumexp as in Blanchard, Higham, Higham, "
        "'Accurately computing the log-sum-exp and softmax functions' (IMA J. Numer. Anal. 2021)",
        "stable: x_i - m - log1p(sum_{k != argmax} exp(x_k - m)). A row whose maximum is +inf "
        "gives -log(c) at its c entries equal to +inf (the log of their equal share) and -inf "
        "elsewhere; all -inf gives NaN (as PyTorch); any NaN makes the row NaN.",
        _log_softmax,
        value_text="l_i = x_i - m - log1p(sum_{k != argmax} exp(x_k - m)),  m = max_k x_k",
        jvp_text="(J v)_i = v_i - <s, v>,  s = softmax(x)",
        vjp_text="(J^T g)_i = g_i - s_i * sum_k g_k,  s = softmax(x)",
    ),
    VectorSpec(
        "softmin", "Softmin along an axis: softmax(-x).",
        "torch.nn.functional.softmin (dim -> axis)",
        "softmin(x) = softmax(-x); conventions as softmax with the roles of +inf and -inf swapped.",
        _softmin,
        value_text="s_i = softmax(-x)_i",
        jvp_text="(J v)_i = -s_i * (v_i - <s, v>),  s = softmin(x)",
        vjp_text="(J^T g)_i = -s_i * (g_i - <g, s>),  s = softmin(x)",
    ),
)


class VectorActivation:
    """A vector activation and its derived Jacobian, JVP and VJP."""

    def __init__(self, spec: VectorSpec):
        self.spec = spec

    name = property(lambda self: self.spec.name)
    description = property(lambda self: self.spec.description)
    reference = property(lambda self: self.spec.reference)
    conventions = property(lambda self: self.spec.conventions)
    aliases: tuple[str, ...] = ()
    params: dict[str, float] = {}

    def component(self, i: sp.Expr) -> sp.Expr:
        """f_i(x) for symbolic n."""
        return self.spec.build(XV, i, N, K)

    @cached_property
    def expr(self) -> sp.Expr:
        return self.component(I)

    def jacobian_entry(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        """d f_a / d x_b, derived by SymPy through the Sum (KroneckerDelta)."""
        return sp.simplify(_strip_range(sp.diff(self.component(a), XV[b]).doit()))

    @cached_property
    def jacobian(self) -> sp.Expr:
        return self.jacobian_entry(I, J)

    @cached_property
    def jvp_derived(self) -> sp.Expr:
        """(J v)_i = sum_j J_ij v_j, summed symbolically."""
        return _strip_range(sp.Sum(self.jacobian_entry(I, J) * VV[J], (J, 1, N)).doit())

    @cached_property
    def vjp_derived(self) -> sp.Expr:
        """(J^T g)_i = sum_j g_j J_ji, summed symbolically."""
        return _strip_range(sp.Sum(GV[J] * self.jacobian_entry(J, I), (J, 1, N)).doit())

    # closed forms, in terms of the component s_i (softmax / softmin) or softmax for log_softmax
    def _s(self, i: sp.Expr) -> sp.Expr:
        if self.name == "log_softmax":
            return _softmax(XV, i, N, K)
        return self.component(i)

    @cached_property
    def jvp_closed(self) -> sp.Expr:
        s = self._s
        dot = sp.Sum(s(J) * VV[J], (J, 1, N))
        if self.name == "softmax":
            return s(I) * (VV[I] - dot)
        if self.name == "softmin":
            return -s(I) * (VV[I] - dot)
        return VV[I] - dot

    @cached_property
    def vjp_closed(self) -> sp.Expr:
        s = self._s
        dot = sp.Sum(GV[J] * s(J), (J, 1, N))
        if self.name == "softmax":
            return s(I) * (GV[I] - dot)
        if self.name == "softmin":
            return -s(I) * (GV[I] - dot)
        return GV[I] - s(I) * sp.Sum(GV[J], (J, 1, N))

    def closed_forms_proven(self) -> bool:
        """Symbolic proof, for symbolic n, that the closed forms equal the derived sums."""
        ok = True
        for derived, closed in ((self.jvp_derived, self.jvp_closed),
                                (self.vjp_derived, self.vjp_closed)):
            diff = sp.expand(derived - closed)
            diff = sp.simplify(sp.factor_terms(diff))
            ok = ok and diff == 0
        return ok

    def explicit(self, n: int) -> tuple[list[sp.Symbol], sp.Matrix, sp.Matrix]:
        """(x symbols, value vector, full Jacobian) of the explicit definition at length n."""
        xs = list(sp.symbols(f"x1:{n + 1}", real=True))
        if self.name == "softmax":
            z = sum(sp.exp(t) for t in xs)
            f = [sp.exp(t) / z for t in xs]
        elif self.name == "softmin":
            z = sum(sp.exp(-t) for t in xs)
            f = [sp.exp(-t) / z for t in xs]
        else:
            z = sum(sp.exp(t) for t in xs)
            f = [t - sp.log(z) for t in xs]
        fv = sp.Matrix(f)
        return xs, fv, fv.jacobian(xs)

    def at_length(self, expr: sp.Expr, n: int, xs, vs, gs, i: int) -> sp.Expr:
        """A symbolic-n formula evaluated at a concrete n and index i (1-based)."""
        e = expr.subs(N, n).subs(I, i).doit()
        rep = {}
        for t in range(1, n + 1):
            rep[XV[t]] = xs[t - 1]
            rep[VV[t]] = vs[t - 1]
            rep[GV[t]] = gs[t - 1]
        return e.xreplace(rep)

    def verify(self, n: int) -> bool:
        """For length n: the derived Jacobian entries, JVP and VJP (and the closed forms) equal
        the explicit Jacobian of the explicit definition, symbolically."""
        xs, _, jac = self.explicit(n)
        vs = list(sp.symbols(f"v1:{n + 1}", real=True))
        gs = list(sp.symbols(f"g1:{n + 1}", real=True))
        jv = jac * sp.Matrix(vs)
        jtg = jac.T * sp.Matrix(gs)
        for a in range(1, n + 1):
            for b in range(1, n + 1):
                e = self.jacobian.subs({I: a, J: b}).subs(N, n).doit()
                e = e.xreplace({XV[t]: xs[t - 1] for t in range(1, n + 1)})
                if sp.simplify(e - jac[a - 1, b - 1]) != 0:
                    return False
            for form, want in ((self.jvp_derived, jv), (self.jvp_closed, jv),
                               (self.vjp_derived, jtg), (self.vjp_closed, jtg)):
                got = self.at_length(form, n, xs, vs, gs, a)
                if sp.simplify(got - want[a - 1]) != 0:
                    return False
        return True

    def __repr__(self) -> str:
        return f"VectorActivation({self.name!r})"

    def __str__(self) -> str:
        return to_text(self)


def to_text(v: VectorActivation) -> str:
    """Plain-text description for ``symact show``."""
    s = v.spec
    return "\n".join([
        f"{v.name} (vector, along an axis): {s.description}",
        f"  definition  f_i(x) = {sp.sstr(v.expr)}",
        f"  Jacobian    df_i/dx_j = {sp.sstr(v.jacobian)}",
        f"  JVP         {s.jvp_text}",
        f"  VJP         {s.vjp_text}",
        f"  stable      {s.value_text}",
        f"  convention  {s.conventions}",
        f"  reference   {s.reference}",
    ])


def to_latex(v: VectorActivation) -> str:
    """LaTeX of the definition and the derived Jacobian entry."""
    return (f"{v.name}(x)_i = {sp.latex(v.expr)}, \\quad "
            f"\\frac{{\\partial f_i}}{{\\partial x_j}} = {sp.latex(v.jacobian)}")


_REGISTRY: dict[str, VectorActivation] = {s.name: VectorActivation(s) for s in SPECS}


def vector_activations() -> list[VectorActivation]:
    """Every vector activation, in order."""
    return list(_REGISTRY.values())


def vector_code(v: VectorActivation) -> dict:
    """What the templates need for one vector activation (sign -1: computed on -x)."""
    s = v.spec
    return {"name": v.name, "description": s.description, "reference": s.reference,
            "conventions": s.conventions, "value_text": s.value_text, "jvp_text": s.jvp_text,
            "vjp_text": s.vjp_text, "sign": -1 if v.name == "softmin" else 1,
            "log": v.name == "log_softmax"}


def get_vector(name: str) -> VectorActivation | None:
    return _REGISTRY.get(name)
