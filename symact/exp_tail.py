"""Subnormal exponential tails: where E = e^{Q(x)} is subnormal (Q < -708), f = G(x, E) is
c(x) E to ~2^-1000 relative (c = dG/dE at E = 0), computed so that E never rounds to a subnormal
before it is scaled: exp_times(x, c) = (e^{x/2} c) e^{x/2}, or exp_poly(c, x, Q's coefficients),
which also compensates Q's own rounding.

mish lost 353 ULP at x = -711 (e^x rounded to a subnormal, then times x), x erf(log(1 + e^x))
486 at -730, log(1 + e^{-x^2})'' 1400 at x = 27.3 (three subnormal terms rounded apart, then
summed). Q is a polynomial of degree 1 or 2 (x, 1.5x, -x, -x^2, -x^2/2) that tends to -inf on
the tail's side, after |x| = side*x and sign(x) = side (e^{-|x|}); e^{-x} counts as a base
where only e^x is written (G is then a rational function of E). G(x, 0) may be nonzero as
long as it is negligible there (x Phi(x) beside x sigma(x)); an exponential left in c must
not grow on that side. Each tail is checked at 60+ digits at Q = -708, -720, -745 and -1000
before it is used."""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import sympy as sp

from .derive import SIMPLIFY_MAX_OPS
from .functions import exp_poly, exp_times, gauss_times

#: Below Q = -708, e^Q is subnormal (e^-708 = 3.3e-308 is normal, DBL_MIN = 2.2e-308).
SUBNORMAL_EXP_START = -708
#: Past Q = -2048 the tail is 0 for any c of moderate growth: c reads x clamped there.
_VANISHED = -2048
_CHECKS = (-708, -720, -745, -1000)
#: Forms that keep a subnormal product's digits (they scale by e^{Q/2} twice).
_SAFE = (exp_times, exp_poly, gauss_times)


def _small_simplify(v: sp.Expr) -> sp.Expr:
    """simplify, but not on big expressions (slow there)."""
    return sp.simplify(v) if sp.count_ops(v) <= SIMPLIFY_MAX_OPS else v


def _side_roots(q: sp.Poly, value: int, side: int) -> float | None:
    """The outermost real x on ``side`` (-1 left, +1 right) where Q(x) = value."""
    roots = [complex(r) for r in (q - value).nroots(n=30)]
    real = sorted(r.real for r in roots if abs(r.imag) < 1e-12)
    if not real:
        return None
    return real[0] if side < 0 else real[-1]


def _sides(q: sp.Poly) -> list[int]:
    """The sides where Q -> -inf."""
    lc, deg = float(q.LC()), q.degree()
    if deg == 1:
        return [-1] if lc > 0 else [1]
    return [-1, 1] if deg == 2 and lc < 0 else []


def _arm_at(expr: sp.Expr, x: sp.Symbol, at: float) -> sp.Expr | None:
    """``expr`` with each Piecewise replaced by its arm taken at x = ``at`` (None where a
    condition does not decide there)."""
    def taken(pw: sp.Piecewise) -> sp.Expr:
        for e, c in pw.args:
            decided = c.subs(x, at)
            if decided not in (sp.true, sp.false):
                raise ValueError(c)
            if decided is sp.true:
                return e
        raise ValueError(pw)

    try:
        return expr.replace(lambda e: isinstance(e, sp.Piecewise), taken)
    except ValueError:
        return None


def _safe_arm(stable: sp.Expr, x: sp.Symbol, at: float) -> bool:
    """Does the arm of ``stable`` taken at x = ``at`` already scale its subnormal product by
    halves (exp_times, exp_poly, gauss_times on the outside), or not depend on x?"""
    arm = _arm_at(stable, x, at)
    if arm is None:
        return False
    _, core = arm.as_coeff_Mul()
    return not arm.has(x) or isinstance(core, _SAFE)


def _tail_form(c: sp.Expr, q: sp.Poly, x: sp.Symbol, lo: float, hi: float,
               stabilize: Callable[[sp.Expr, sp.Symbol], sp.Expr]) -> sp.Expr:
    """c(x) e^{Q(x)} on [lo, hi] (x clamped there: no overflow on another arm's elements)."""
    if q.as_expr() == x:  # e^x is exact: its halves need no compensation
        return exp_times(x, c.xreplace({x: sp.Max(x, _VANISHED)}))
    xc = sp.Max(sp.Float(lo), sp.Min(sp.Float(hi), x))
    g = stabilize(c, x).xreplace({x: xc}) if c.has(x) else c
    return exp_poly(g, xc, *q.all_coeffs())


def subnormal_tails(expr: sp.Expr, x: sp.Symbol, stable: sp.Expr,
                    stabilize: Callable[[sp.Expr, sp.Symbol], sp.Expr]
                    ) -> list[tuple[sp.Expr, sp.Expr]]:
    """(tail, condition) arms to put in front of ``stable`` (the stable form of ``expr``): one
    per side where some e^{Q(x)} goes subnormal, f = G(x, e^Q) there is c(x) e^Q and
    ``stable``'s own arm does not keep that product's digits. c constant is left alone (e^Q's
    one rounding is then the result's)."""
    if expr.free_symbols != {x}:
        return []
    arms: list[tuple[sp.Expr, sp.Expr]] = []
    done: set[int] = set()
    # e^{-x} is a base too where only e^x appears: x e^x/(1 + e^x)^2 = x E/(1 + E)^2, E = e^-x
    found = {t.args[0] for t in expr.atoms(sp.exp) if t.has(x)}
    exponents = sorted(found | {-q for q in found}, key=sp.default_sort_key)
    for side in (-1, 1):
        # on one side |x| is side*x and sign(x) is side: x e^{-|x|}' = (1 - |x|) e^{-|x|}
        sided = {sp.Abs(x): side * x, sp.sign(x): sp.Integer(side)}
        expr_side = expr.xreplace(sided)
        for q_expr in exponents:
            try:
                q = sp.Poly(q_expr.xreplace(sided), x)
            except sp.PolynomialError:
                continue
            if side in done or side not in _sides(q) or not all(
                    cf.is_number and cf.is_real for cf in q.all_coeffs()):
                continue
            tail = _side_tail(expr_side, x, q, side, stable, stabilize)
            if tail is not None:
                arms.append(tail)
                done.add(side)
    return arms


def _side_tail(expr: sp.Expr, x: sp.Symbol, q: sp.Poly, side: int, stable: sp.Expr,
               stabilize: Callable[[sp.Expr, sp.Symbol], sp.Expr]
               ) -> tuple[sp.Expr, sp.Expr] | None:
    points = [_side_roots(q, v, side) for v in (*_CHECKS, _VANISHED)]
    if any(p is None for p in points) or _safe_arm(stable, x, points[1]):
        return None
    e = sp.Dummy("E", positive=True)
    q_expr = q.as_expr()
    powers = {t: t.args[0] / q_expr for t in expr.atoms(sp.exp)}
    # 1.5x/(1.5x) is the Float 1.0: an integer all the same
    powers = {t: int(k) for t, k in powers.items()
              if k.is_number and k.is_real and k != 0 and float(k).is_integer()}
    if not powers:
        return None
    g = expr.xreplace({t: e ** k for t, k in powers.items()})
    # an exponential left in c must not grow on this side (e^x in c(x) e^{-2x}: inf * 0); one
    # that decays (gelu's e^{-x^2/2} beside silu's e^-x) is negligible or kept exactly
    for t in g.atoms(sp.exp):
        if t.has(x) and not all(float(t.args[0].subs(x, p)) <= 0 for p in points):
            return None
    try:
        if any(k < 0 for k in powers.values()):  # 1/E: only a rational function in E has c
            if sp.count_ops(g) > 4 * SIMPLIFY_MAX_OPS or not g.is_rational_function(e):
                return None
            g = sp.cancel(sp.together(g), e)
        c = _arm_at(sp.expand(_small_simplify(sp.diff(g, e).subs(e, 0))), x, points[1])
    except (TypeError, ValueError, NotImplementedError, ZeroDivisionError,
            sp.PolynomialError):
        return None
    if c is None:
        return None
    if c == 0 or not c.has(x) or c.has(e, sp.nan, sp.zoo, sp.oo, -sp.oo):
        return None
    fn, cfn, qfn = (sp.lambdify([x], f, modules="mpmath") for f in (expr, c, q_expr))
    for v, at in zip(_CHECKS, points[:-1], strict=True):
        with mpmath.workdps(60 - v // 2):  # 1 + e^Q keeps e^Q's digits
            try:
                exact = fn(mpmath.mpf(at))
                lead = cfn(mpmath.mpf(at)) * mpmath.exp(qfn(mpmath.mpf(at)))
            except (ValueError, ZeroDivisionError, OverflowError, NameError, TypeError):
                return None  # NameError: a function of symact's own (an inner arm's Phi)
            if exact == 0 or abs(lead / exact - 1) > mpmath.mpf(2) ** -80:
                return None
    start = points[0]
    lo, hi = (points[-1], start) if side < 0 else (start, points[-1])
    cond = x < sp.Float(start) if side < 0 else x > sp.Float(start)
    if q.as_expr() == x:
        cond = x < SUBNORMAL_EXP_START
    return _tail_form(c, q, x, lo, hi, stabilize), cond
