"""Derivatives, simplification, and the derivative written in terms of the output.

``output_form(f)`` looks for g with f'(x) = g(f(x)): it inverts y = f(x) (branch by branch for a
``Piecewise``), substitutes into f', and keeps a candidate only once it is proven, symbolically
and numerically at high precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy as sp

#: The symbol standing for the activation's output in output forms.
Y = sp.Symbol("y", real=True)

#: Sample points for the numeric half of every proof.
PROOF_POINTS = (-7.25, -3.0, -1.5, -0.75, -0.125, 0.0, 0.3, 1.0, 2.5, 6.0, 11.0)
PROOF_DIGITS = 50


@dataclass(frozen=True)
class OutputForm:
    """f'(x) = expr(y) with y = f(x), and how that was proven."""

    expr: sp.Expr
    proof: str


def simplify_derivative(expr: sp.Expr) -> sp.Expr:
    """A readable simplified form, keeping Piecewise branches apart."""
    if isinstance(expr, sp.Piecewise):
        pieces = [(simplify_derivative(e), c) for e, c in expr.args]
        return sp.Piecewise(*pieces)
    kinds = _function_kinds(expr)
    candidates = [expr, sp.simplify(expr), sp.factor(sp.simplify(expr)), sp.factor(expr)]
    # Keep to the functions the expression already uses (no cosh(x/2) for a sigmoid).
    candidates = [c for c in candidates if _function_kinds(c) <= kinds] or [expr]
    return tidy(min(candidates, key=sp.count_ops))


def _function_kinds(expr: sp.Expr) -> set[type]:
    return {type(f) for f in expr.atoms(sp.Function)}


def tidy(expr: sp.Expr) -> sp.Expr:
    """Absorb a leading minus sign into a factor: -y*(y - 1) -> y*(1 - y)."""
    if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
        adds = [f for f in expr.args if isinstance(f, sp.Add)]
        if adds:
            rest = [f for f in expr.args if f is not adds[0]]
            return sp.Mul(*rest, -1) * sp.expand(-adds[0])
    if isinstance(expr, sp.Add):
        return sp.Add(*[tidy(a) for a in expr.args])
    return expr


def derivative(expr: sp.Expr, x: sp.Symbol, order: int = 1) -> sp.Expr:
    """d^order expr / dx^order, branch by branch for Piecewise, simplified.

    Differentiating a Piecewise branch-wise keeps each branch's condition, which is what sets
    the convention at a kink; a constant result is folded (so a step has derivative 0, never
    a Dirac delta).
    """
    result = expr
    for _ in range(order):
        if isinstance(result, sp.Piecewise):
            result = sp.Piecewise(*[(sp.diff(e, x), c) for e, c in result.args])
        else:
            result = sp.diff(result, x)
        result = _fold_piecewise(result)
    return simplify_derivative(result)


def _fold_piecewise(expr: sp.Expr) -> sp.Expr:
    if isinstance(expr, sp.Piecewise):
        values = {sp.simplify(e) for e, _ in expr.args}
        if len(values) == 1:
            return values.pop()
    return expr


def numerically_equal(
    a: sp.Expr, b: sp.Expr, symbols: dict[sp.Symbol, float], points=PROOF_POINTS, var=None
) -> bool:
    """a == b at every sample point, evaluated with mpmath at PROOF_DIGITS digits."""
    free = (a.free_symbols | b.free_symbols) - set(symbols)
    (xs,) = free if len(free) == 1 else (var,)
    fa = sp.lambdify([xs, *symbols], a, modules="mpmath")
    fb = sp.lambdify([xs, *symbols], b, modules="mpmath")
    vals = [mpmath.mpf(v) for v in symbols.values()]
    with mpmath.workdps(PROOF_DIGITS):
        for p in points:
            try:
                va, vb = fa(mpmath.mpf(p), *vals), fb(mpmath.mpf(p), *vals)
            except (ZeroDivisionError, ValueError):
                continue
            if abs(va - vb) > mpmath.mpf(10) ** (-PROOF_DIGITS + 8) * max(1, abs(vb)):
                return False
    return True


def _symbolically_zero(expr: sp.Expr) -> bool:
    """Is expr identically 0? Each attempt is an identity transformation, so any order is sound;
    cheapest-first: on tanh-type kernels a plain simplify spends ~7 s failing where the
    exp-rewritten one succeeds in < 1 s."""
    for attempt in (
        lambda e: e,
        lambda e: sp.simplify(e.rewrite(sp.exp)),
        sp.simplify,
        lambda e: sp.simplify(sp.powsimp(sp.expand(e.rewrite(sp.exp)), force=True)),
    ):
        if attempt(expr) == 0:
            return True
    return False


def _candidates(expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol):
    """Candidate g(y), cheapest transformations first (a generator: callers stop early)."""
    try:
        solutions = sp.solve(sp.Eq(Y, expr), x)
    except (NotImplementedError, ValueError, TypeError):
        return
    for sol in solutions:
        if sol.has(x) or sol.has(sp.LambertW):
            continue
        for form in (deriv, deriv.rewrite(sp.exp)):
            raw = form.subs(x, sol)
            for step in (
                lambda e: sp.factor(sp.powsimp(sp.expand(e), force=True)),
                lambda e: sp.expand(sp.powsimp(sp.expand(e), force=True)),
                sp.simplify,
                lambda e: sp.factor(sp.simplify(e)),
            ):
                cand = step(raw)
                if not cand.has(x):
                    yield cand


def _smooth_output_form(
    expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float]
) -> OutputForm | None:
    best = None
    for cand in _candidates(expr, deriv, x):
        if best is not None and sp.count_ops(cand) >= sp.count_ops(best):
            continue
        if _symbolically_zero(cand.subs(Y, expr) - deriv) and numerically_equal(
            cand.subs(Y, expr), deriv, params, var=x
        ):
            best = cand
            if cand.is_polynomial(Y):  # nothing simpler is worth the search
                break
    if best is None:
        return None
    if best.is_polynomial(Y):
        best = min((tidy(sp.factor(best)), sp.expand(best)), key=sp.count_ops)
    return OutputForm(tidy(best), "symbolic and numeric (50 digits)")


def _piecewise_output_form(
    expr: sp.Piecewise, x: sp.Symbol, params: dict[sp.Symbol, float]
) -> OutputForm | None:
    pieces: list[tuple[sp.Expr, object]] = []
    constant_values: list[sp.Expr] = []
    for branch, cond in expr.args:
        d = sp.diff(branch, x)
        if not branch.has(x):
            constant_values.append((branch, d))
            continue
        sols = sp.solve(sp.Eq(Y, branch), x)
        if len(sols) != 1:
            return None
        g = sp.simplify(d.subs(x, sols[0]))
        y_cond = cond.subs(x, sols[0]) if cond is not sp.true else sp.true
        pieces.append((g, sp.simplify(y_cond)))
    derivs = {d for _, d in constant_values}
    if len(derivs) == 1:
        pieces.append((derivs.pop(), sp.true))
    elif constant_values:
        pieces.extend((d, sp.Eq(Y, c)) for c, d in constant_values)
    if pieces and pieces[-1][1] is not sp.true:
        pieces.append((sp.nan, sp.true))
    g = sp.Piecewise(*pieces)
    # Proof, branch by branch: on branch (e_i, c_i), g(e_i(x)) must equal e_i'(x).
    covered = sp.S.EmptySet
    for branch, cond in expr.args:
        cond_set = sp.S.Reals if cond is sp.true else cond.as_set()
        region = cond_set - covered
        covered = covered | cond_set
        lhs = sp.piecewise_fold(g.subs(Y, branch))
        if lhs.has(sp.Piecewise):
            lhs = _restrict(lhs, region, x)
        if lhs is None or not _symbolically_zero(lhs - sp.diff(branch, x)):
            return None
    folded = sp.piecewise_fold(g.subs(Y, expr))
    points = [p for p in PROOF_POINTS] + [0.0]
    deriv = derivative(expr, x)
    if not numerically_equal(folded, deriv, params, points=points, var=x):
        return None
    return OutputForm(g, "symbolic by branch and numeric (50 digits)")


def _restrict(pw: sp.Expr, region: sp.Set, x: sp.Symbol) -> sp.Expr | None:
    """``pw`` on ``region`` (a set of x), when one sign-assumption dummy decides its branches."""
    t = sp.Dummy("t", nonnegative=True)
    tp = sp.Dummy("t", positive=True)
    if region.is_subset(sp.Interval.open(0, sp.oo)):
        value = pw.subs(x, tp)
    elif region.is_subset(sp.Interval(-sp.oo, 0)):
        value = pw.subs(x, -t)
    else:
        return None
    if value.has(sp.Piecewise):
        return None
    return value.subs({tp: x, t: -x})


def output_form(
    expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float]
) -> OutputForm | None:
    """g with f'(x) = g(y), y = f(x), proven; None when none is found."""
    if not deriv.has(x):
        return OutputForm(deriv, "constant derivative")
    if isinstance(expr, sp.Piecewise):
        return _piecewise_output_form(expr, x, params)
    return _smooth_output_form(expr, deriv, x, params)
