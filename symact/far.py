"""Rational functions of x, and their logarithms, where |x| is large: in t = 1/x.

P(x)/Q(x) with deg P = m, deg Q = n overflows in x^m or x^n where its value is finite
(1/(1 + x^2) was 0 at x = 2.1e158, where it is 2.2e-317; log(1 + x^2) was inf at 1e300, where
it is 1381.6). Past T, a power of two 2^24 times beyond the Cauchy bound of every root of P and
Q, it reads

    P/Q = x^(m-n) P~(t)/Q~(t),  t = 1/x,  P~(t) = t^m P(1/t) (P's coefficients reversed),

where P~(t) is its leading coefficient to within 2^-23 relative: t's rounding costs nothing and
nothing overflows. x^k (k = m - n) is (2^64 t)^-k (or (2^-64 x)^k) times the rest, scaled by
2^(64 k) last (``scaled``), so a subnormal result is rounded once. log(P/Q) reads
k log|x| + log(P~/Q~), and log1p((P~ - Q~)/Q~) when the leading coefficients are equal.
Each far form is checked equal to its input by exact rational arithmetic.
"""

from __future__ import annotations

import math

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import log1p

from .functions import recip, scaled

#: bits between the roots' Cauchy bound and T: past T, P~(t) = lc (1 + d) with |d| < 2^-23
GUARD = 24
#: x^k scaled by 2^(SHIFT k) last: (2^64 t)^|k| stays normal where x^k's result is subnormal
SHIFT = 64
#: largest |m - n| and largest T handled (past these the near form could overflow first)
MAX_POWER = 12
MAX_BITS = 120


def _fraction(r: sp.Expr, x: sp.Symbol) -> tuple[sp.Poly, sp.Poly] | None:
    """(P, Q) with r = P/Q in lowest terms, real numeric coefficients; None otherwise."""
    num, den = sp.fraction(sp.cancel(sp.together(r)))
    try:
        p, q = sp.Poly(num, x), sp.Poly(den, x)
    except sp.PolynomialError:
        return None
    coeffs = p.coeffs() + q.coeffs()
    if not all(c.is_number and c.is_real for c in coeffs):
        return None
    return p, q


def _threshold(p: sp.Poly, q: sp.Poly) -> int | None:
    """log2 T: 2^GUARD times the Cauchy bound 1 + max |c_i/c_lead| of P's and Q's roots."""
    ratios = [abs(float(c / f.LC())) for f in (p, q) for c in f.all_coeffs()[1:]]
    bound = 1.0 + max(ratios, default=0.0)
    bits = math.ceil(math.log2(bound)) + GUARD
    return bits if bits <= MAX_BITS else None


def _reversed(p: sp.Poly, t: sp.Symbol) -> sp.Expr:
    """P~(t) = t^m P(1/t): sum_j c_j t^j over P's coefficients, highest first."""
    return sp.Add(*[c * t**j for j, c in enumerate(p.all_coeffs())])


#: probes of the plain form: |x| = 2^k
_PROBES = (64, 128, 256, 512, 768, 1000, 1023)
_HUGE, _TINY = 1.7976931348623157e308, 2.2250738585072014e-308  # DBL_MAX, DBL_MIN


def _magnitudes(expr: sp.Expr, x: sp.Symbol, v: float) -> tuple[float, list[float]]:
    """|expr| and |node| of every node holding x (but x itself) at x = v, in 30 digits."""
    at = {x: sp.Float(v, 30)}
    whole = abs(complex(expr.xreplace(at).evalf(30)))
    nodes = [abs(complex(n.xreplace(at).evalf(30))) for n in sp.preorder_traversal(expr)
             if n.has(x) and n is not expr and not n.is_Symbol]
    return whole, nodes


def overflows(expr: sp.Expr, x: sp.Symbol) -> bool:
    """Does the plain form of ``expr`` leave the double range where its value does not? At
    |x| = 2^k, some subexpression's magnitude past DBL_MAX with the value's below, or a
    nonzero one below DBL_MIN with the value's above (1/(1 + x^2): 1 + x^2 overflows;
    1/(1 + x)^2, one node with the value's magnitude, does not)."""
    for k in _PROBES:
        for v in (2.0**k, -(2.0**k)):
            try:
                whole, nodes = _magnitudes(expr, x, v)
            except (TypeError, ValueError, ZeroDivisionError):
                return True
            if whole < _HUGE and any(not n < _HUGE for n in nodes):
                return True
            if whole > _TINY and any(0 < n < _TINY for n in nodes):
                return True
    return False


def _near_is_finite(expr: sp.Expr, x: sp.Symbol, edge: float) -> bool:
    """Is every subexpression of ``expr`` below 1e300 at x = +-edge? (The plain form runs for
    |x| <= edge.)"""
    try:
        return all(max(_magnitudes(expr, x, v)[1], default=0.0) < 1e300 for v in (edge, -edge))
    except (TypeError, ValueError, ZeroDivisionError):
        return False


def far_form(expr: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Float] | None:
    """(form, T): ``expr`` for |x| > T as above, when expr is a rational function of x that is
    not a polynomial, or c log(R) + d for a rational R of degree >= 1 (c, d constants), and
    its plain form overflows (``overflows``); None otherwise."""
    if expr.free_symbols != {x}:
        return None
    is_log = False
    if expr.is_rational_function(x):
        if expr.is_polynomial(x):
            return None
        r, c, d = expr, sp.S.One, sp.S.Zero
    else:
        d, rest = expr.as_independent(x, as_Add=True)
        c, lg = rest.as_independent(x, as_Add=False)
        if not isinstance(lg, sp.log) or not lg.args[0].is_rational_function(x):
            return None
        r, is_log = lg.args[0], True
    parts = _fraction(r, x)
    if parts is None:
        return None
    p, q = parts
    k = p.degree() - q.degree()
    if (is_log and max(p.degree(), q.degree()) < 1) or abs(k) > MAX_POWER:
        return None
    if not overflows(expr, x):
        return None
    bits = _threshold(p, q)
    if bits is None or not _near_is_finite(expr, x, 2.0**bits):
        return None
    t = sp.Dummy("t")
    pt, qt = _reversed(p, t), _reversed(q, t)
    # x^k P~(1/x)/Q~(1/x) is r identically (exact rational arithmetic)
    if sp.cancel(x**k * pt.subs(t, 1 / x) / qt.subs(t, 1 / x) - r) != 0:
        return None
    if is_log:
        lead = p.LC() / q.LC()
        if k % 2 or not lead.is_positive:  # r < 0 for one sign of a large x: not real there
            return None
        # log(x^k P~/Q~) = k log|x| + log(P~/Q~): k even, P~/Q~ -> lead > 0
        tail = log1p(sp.cancel((pt - qt) / qt)) if lead == 1 else sp.log(pt / qt)
        form = d + c * (k * sp.log(sp.Abs(x)) + tail)
    elif k == 0:
        form = d + c * pt / qt
    else:
        form = d + c * _times_power(pt / qt, x, k)
    return form.xreplace({t: recip(x)}), sp.Float(2.0**bits)


def _times_power(f: sp.Expr, u: sp.Expr, k: int) -> sp.Expr:
    """f u^k as (f (2^-64 u)^k) 2^(64 k), k != 0 (for k < 0, 2^-64 u inverted: 2^64 t): the
    power stays in range where u^k alone would overflow or be subnormal, and only the last
    scaling rounds into the subnormals."""
    base = recip(scaled(u, -SHIFT)) if k < 0 else scaled(u, -SHIFT)
    return scaled(f * base ** abs(k), SHIFT * k)


def small_powers(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """x^j g with j >= 2 (a factored rational function) as (g (2^64 x)^j) 2^(-64 j): where
    x^j alone is subnormal and g large, x^j rounded first loses g/2 of the result's units
    ((x^5 + 2x)/(1 + 2x^4)'' = 12 x^3 (6x^4 - 5)/(2x^4 + 1)^3 was 67 ULP off at x = 1e-104);
    scaled, only the last multiplication rounds into the subnormals. (2^64 x)^j cannot
    overflow for |x| <= 2^(1000/j - 64) with g of moderate size: only up to j = MAX_POWER."""
    coeff, factors = expr.as_coeff_mul()
    powers = [f for f in factors if f.is_Pow and f.base == x and f.exp.is_Integer
              and 2 <= f.exp <= MAX_POWER]
    if len(powers) != 1:
        return expr
    j = int(powers[0].exp)
    rest = coeff * sp.Mul(*[f for f in factors if f is not powers[0]])
    return scaled(rest * scaled(x, SHIFT) ** j, -SHIFT * j)


def _radicals(expr: sp.Expr) -> list[sp.Pow]:
    return [p for p in expr.atoms(sp.Pow) if p.exp.is_Rational and not p.exp.is_Integer]


def _side(expr: sp.Expr, x: sp.Symbol, s: int, t: sp.Symbol) -> tuple[int, sp.Expr] | None:
    """(m, F) with expr(s/t) = t^m F(t) for t > 0, F(0) finite and nonzero: each B(x)^e (B a
    polynomial of degree d, B's leading coefficient times s^d positive) is t^(-d e) B~(t)^e with
    B~(t) = t^d B(s/t), and F is the rest's quotient with the lowest powers of t taken out of
    its numerator and denominator. None where that coefficient is 0 at t = 0 (the leading
    terms cancel) or a radicand is not a polynomial."""
    subs = {}
    for p in _radicals(expr):
        if not p.base.is_polynomial(x):
            return None
        poly = sp.Poly(p.base, x)
        d = poly.degree()
        rev = sp.expand(p.base.xreplace({x: s / t}) * t**d)
        lead = rev.subs(t, 0)
        if not lead.is_positive:
            return None
        subs[p] = t ** (-d * p.exp) * rev ** p.exp
    g = expr.xreplace(subs).xreplace({x: s / t})
    # B^(k/d) = B^floor(k/d) r^(k mod d), r = B^(1/d) a symbol: the rational function in t and r
    # cancels what the radicals share (-3x^2 (1 + 3x^2)^(-3/2) + (1 + 3x^2)^(-1/2): t^3 r/q^2)
    roots: dict[tuple[sp.Expr, int], sp.Dummy] = {}

    def split(p: sp.Pow) -> sp.Expr:
        k, d = int(p.exp.p), int(p.exp.q)
        r = roots.setdefault((p.base, d), sp.Dummy("r"))
        return p.base ** (k // d) * r ** (k % d)

    g = g.replace(lambda e: e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer, split)
    at0 = {r: b.subs(t, 0) ** sp.Rational(1, d) for (b, d), r in roots.items()}
    num, den = sp.fraction(sp.cancel(sp.together(g)))
    m, parts = 0, []
    for poly, sign in ((num, 1), (den, -1)):
        try:
            p = sp.Poly(sp.expand(poly), t)
        except sp.PolynomialError:
            return None
        terms = dict(p.terms())
        low = min(k[0] for k in terms)
        if sp.simplify(terms[(low,)].xreplace(at0)) == 0:
            return None
        m += sign * low
        parts.append(sp.factor(sp.Add(*[c * t ** (k[0] - low) for k, c in terms.items()])))
    inverse = {r: b ** sp.Rational(1, d) for (b, d), r in roots.items()}
    return m, (parts[0] / parts[1]).xreplace(inverse)


def _t_bound(f: sp.Expr, t: sp.Symbol) -> float:
    """max over the polynomials in t of F (numerator, denominator, radicands, radicals at t =
    0) of max_j (|c_j/c_0|)^(1/j): past 1/t = 2^GUARD times it, each is its constant term to
    within 2^-23 relative."""
    rads = _radicals(f)
    at0 = {r: r.base.subs(t, 0) ** r.exp for r in rads}
    polys = [r.base for r in rads] + list(sp.fraction(sp.together(f.xreplace(at0))))
    worst = 0.0
    for q in polys:
        coeffs = sp.Poly(sp.expand(q), t).all_coeffs()[::-1]
        c0 = abs(float(coeffs[0]))
        for j, c in enumerate(coeffs[1:], start=1):
            if c != 0:
                worst = max(worst, (abs(float(c)) / c0) ** (1.0 / j))
    return worst


def algebraic_far_form(expr: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Float] | None:
    """(form for x > T, form for x < -T, T) for an algebraic ``expr`` (x and numbers by + * /
    and rational powers of polynomials: x/sqrt(1 + 3x^2), its derivatives, sqrt(1 + x^2) - 1)
    whose plain form overflows where its value does not (``overflows``): on each side s,
    expr = |x|^-m F(t) with t = 1/|x| (``_side``), printed as (2^64 t)^m F(t) 2^(-64 m), so
    neither x^2 nor a subnormal t^m is formed. Checked against expr at |x| = 2^30 ... 2^1000
    to 40 digits (mpmath). None when expr is not of this kind or nothing overflows."""
    if expr.free_symbols != {x} or expr.atoms(sp.Function) or not _radicals(expr):
        return None
    if not overflows(expr, x):
        return None
    t = sp.Dummy("t", positive=True)
    forms, bound = [], 0.0
    for s in (1, -1):
        side = _side(expr, x, s, t)
        if side is None or abs(side[0]) > MAX_POWER:
            return None
        m, f = side
        for k in (30, 100, 500, 1000):
            with mpmath.workdps(60):
                want = mpmath.mpf(sp.N(expr.xreplace({x: s * sp.Integer(2) ** k}), 60))
                got = mpmath.mpf(sp.N((t**m * f).xreplace({t: sp.Integer(2) ** -k}), 60))
                if abs(got - want) > abs(want) * mpmath.mpf(10) ** -40:
                    return None
        bound = max(bound, _t_bound(f, t))
        u = s * x  # |x| on this side
        if m != 0:
            f = _times_power(f, u, -m)
        forms.append(f.xreplace({t: recip(u)}))
    bits = math.ceil(math.log2(1.0 + bound)) + GUARD
    if bits > MAX_BITS or not _near_is_finite(expr, x, 2.0**bits):
        return None
    return forms[0], forms[1], sp.Float(2.0**bits)
