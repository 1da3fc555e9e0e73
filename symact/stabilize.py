"""Rewrite an expression into a numerically sound equivalent for floating-point evaluation.

Three passes of general rules, each checked equal to its input (``prove``):

1. recognize: exp/log patterns become stable building blocks --
   ``1/(1+e^u) -> sigmoid(-u)``, ``e^u sigmoid(-u) -> sigmoid(u)``,
   ``sigmoid(u) sigmoid(-u) -> logistic_density(u)``, ``1 - sigmoid(u) -> sigmoid(-u)``,
   ``log(1+e^u) -> softplus(u)``, ``1 - tanh(u)^2 -> 4 logistic_density(2u)``,
   ``log(1+w) -> log1p(w)``, ``e^w - 1 -> expm1(w)``, ``1 - erf(w) -> erfc(w)``.
2. lower: each block becomes branch-free-safe elementary code sharing one ``E = e^{-|u|}``:
   ``sigmoid(u) = (u >= 0 ? 1 : E) / (1 + E)``, ``logistic_density(u) = E/(1+E)^2``,
   ``softplus(u) = max(u, 0) + log1p(E)``. Every branch is finite for every finite input,
   so NumPy may evaluate both sides of a select without a floating-point warning.
3. scale tails: a branch ``E^k g(x)`` whose cofactor g grows (``x E/(1+E)`` in SiLU) is
   evaluated as ``(e^{-k|u|/2} g) e^{-k|u|/2}``, so a subnormal result keeps its digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.functions.elementary.piecewise import ExprCondPair

from . import exp_dd
from .derive import SIMPLIFY_MAX_OPS
from .exp_tail import subnormal_tails
from .far import algebraic_far_form, far_form, small_powers
from .functions import (
    MILLS_K,
    erfc_kept,
    exp_exp_times,
    exp_poly,
    exp_times,
    gauss_clip,
    gauss_times,
    hypot,
    logistic_density,
    mills_ln,
    normal_cdf,
    normal_pdf,
    sigmoid,
    softplus,
    to_elementary,
)
from .verify import Reference, complemented

# ----------------------------------------------------------------------------- pass 1


def _canonical(u: sp.Expr) -> tuple[sp.Expr, int]:
    """(v, s) with u = s*v and v the sign-canonical argument (``-x`` -> (x, -1))."""
    return (-u, -1) if u.could_extract_minus_sign() else (u, 1)


def _rule_pow(base: sp.Expr, k: sp.Expr) -> sp.Expr | None:
    # (1 + e^u)^-n -> sigmoid(-u)^n
    if k.is_integer and k.is_negative and isinstance(base, sp.Add) and len(base.args) == 2:
        one, other = sorted(base.args, key=lambda a: a != 1)
        if one == 1 and isinstance(other, sp.exp):
            return sigmoid(-other.args[0]) ** (-k)
    # cosh(u)^-2 -> 4 sigma(2u) sigma(-2u)
    if isinstance(base, sp.cosh) and k == -2:
        return 4 * logistic_density(2 * base.args[0])
    return None


def _rule_mul(factors: list[sp.Expr]) -> sp.Expr | None:
    """e^a sigmoid(-a)^n -> sigmoid(a) sigmoid(-a)^(n-1); sigmoid(u) sigmoid(-u) -> density."""
    powers: dict[sp.Expr, sp.Expr] = {}
    for f in factors:
        b, e = (f, sp.S.One) if isinstance(f, sp.exp) else f.as_base_exp()
        powers[b] = powers.get(b, 0) + e
    changed = True
    touched = False
    while changed:
        changed = False
        for b in list(powers):
            if isinstance(b, sp.exp) and powers[b] != 0:
                a = b.args[0] * powers[b]
                s_neg = sigmoid(-a)
                if powers.get(s_neg, 0) and powers[s_neg].is_positive:
                    del powers[b]
                    powers[s_neg] -= 1
                    powers[sigmoid(a)] = powers.get(sigmoid(a), 0) + 1
                    changed = touched = True
                    break
        for b in list(powers):
            if isinstance(b, sigmoid) and powers.get(b, 0):
                u, _ = _canonical(b.args[0])
                p, m = sigmoid(u), sigmoid(-u)
                n = sp.Min(powers.get(p, 0), powers.get(m, 0))
                if n.is_positive:
                    powers[p] -= n
                    powers[m] -= n
                    powers[logistic_density(u)] = powers.get(logistic_density(u), 0) + n
                    changed = touched = True
                    break
    if not touched:
        return None
    return sp.Mul(*[b**e for b, e in powers.items() if e != 0])


def _rule_scaled_expm1(terms: list[sp.Expr]) -> sp.Expr | None:
    """c e^w - c -> c expm1(w), for any factor c (``alpha e^x - alpha`` in ELU)."""
    for t in terms:
        for f in sp.Mul.make_args(t):
            if isinstance(f, sp.exp):
                c = t / f
                if c != 1 and -c in terms:
                    others = [o for o in terms if o is not t and o != -c]
                    return sp.Add(c * expm1(f.args[0]), *others)
    return None


def _rule_conjugate(terms: list[sp.Expr]) -> sp.Expr | None:
    """A + m sqrt(q) -> (A^2 - m^2 q)/(A - m sqrt(q)) where A and m sqrt(q) have opposite signs
    (and A + m/sqrt(q) -> (A^2 q - m^2)/(sqrt(q) (A sqrt(q) - m))), when the difference of
    squares simplifies to something free of the cancellation (squareplus for x < 0)."""
    if len(terms) != 2:
        return None
    for a, b in (terms, terms[::-1]):
        for f in sp.Mul.make_args(b):
            base, e = f.as_base_exp()
            if not (base.is_Pow and base.exp == sp.S.Half) and not (
                f.is_Pow and f.exp in (sp.S.Half, -sp.S.Half)
            ):
                continue
            q = f.base if f.is_Pow else base.base
            if not q.free_symbols:
                continue  # sqrt(2), 1/sqrt(pi): constants
            root = sp.sqrt(q)
            m = sp.simplify(b / f)
            if f.exp == sp.S.Half:
                diff = sp.expand(a**2 - m**2 * q)
                conj, den = diff, a - m * root
            elif f.exp == -sp.S.Half:
                diff = sp.expand(a**2 * q - m**2)
                conj, den = diff, root * (a * root - m)
            else:
                continue
            if diff.is_Add and diff.has(*q.free_symbols):
                continue  # still a difference: nothing gained
            return sp.Piecewise((conj / den, a * m < 0), (a + b, True))
    return None


def _normal_arg(w: sp.Expr) -> sp.Expr | None:
    """v = sqrt(2) w when that is free of sqrt(2) (erf(v/sqrt2) is a normal distribution), else
    None: Phi(v) is then evaluated at v itself, with no rounded v/sqrt(2) to amplify."""
    v = sp.expand_mul(sp.sqrt(2) * w)
    return None if v.has(sp.sqrt(2)) else v


def _rule_erf(terms: list[sp.Expr]) -> sp.Expr | None:
    """k +- k erf(v/sqrt2) -> 2k Phi(+-v), for any constant k (the 1/2 + erf/2 of a derivative);
    k - k Phi(u) -> k Phi(-u) (gelu written x erfc(-x/sqrt2)/2, which SymPy makes
    x (2 - erfc(x/sqrt2))/2 = x (1 - Phi(-x)): 0 instead of -1e-18 at x = -9)."""
    consts = [t for t in terms if t.is_number]
    if len(consts) != 1:
        return None
    (k,) = consts
    for t in terms:
        c, f = t.as_coeff_Mul()
        if isinstance(f, normal_cdf) and sp.simplify(c + k) == 0:
            return sp.Add(k * normal_cdf(-f.args[0]), *[o for o in terms if o is not t
                                                        and o is not k])
        if not isinstance(f, sp.erf) or (v := _normal_arg(f.args[0])) is None:
            continue
        if sp.simplify(c - k) == 0:
            replacement = 2 * k * normal_cdf(v)
        elif sp.simplify(c + k) == 0:
            replacement = 2 * k * normal_cdf(-v)
        else:
            continue
        return sp.Add(replacement, *[o for o in terms if o is not t and o is not k])
    return None


def _rule_exp(arg: sp.Expr) -> sp.Expr | None:
    """e^{-c v^2} (c > 0) -> sqrt(2 pi) phi(sqrt(2c) v); erfc(v/sqrt2) -> 2 Phi(-v)."""
    c, m = arg.as_coeff_Mul()
    if c.is_negative and m.is_Pow and m.exp == 2 and m.base.free_symbols:
        scale = sp.sqrt(-2 * c)
        if scale.is_rational:  # an irrational scale would be rounded into u: no gain
            return sp.sqrt(2 * sp.pi) * normal_pdf(scale * m.base)
    return None


def _rule_add(terms: list[sp.Expr]) -> sp.Expr | None:
    """1 - sigmoid(u) -> sigmoid(-u); 1 - tanh(u)^2 -> 4 density(2u); 1 -+ erf -> erfc;
    1 +- tanh(u) -> 2 sigmoid(+-2u); k +- k erf(v/sqrt2) -> 2k Phi(+-v); 2k - k erfc(w) ->
    k erfc(-w) (SymPy's own form of erfc(-w), kept as written: erfc_kept);
    e^w - 1 -> expm1(w); c e^w - c -> c expm1(w)."""
    normal = _rule_erf(terms)
    if normal is not None:
        return normal
    for k in [t for t in terms if t.is_number and t != 0]:  # 2k - k erfc(w) = k erfc(-w)
        for t in terms:
            c, f = t.as_coeff_Mul()
            if isinstance(f, sp.erfc) and 2 * c == -k:
                others = [o for o in terms if o is not t and o is not k]
                return sp.Add(-c * erfc_kept(-f.args[0]), *others)
    scaled = _rule_scaled_expm1(terms)
    if scaled is not None:
        return scaled
    for k in [t for t in terms if t.is_number and t != 0]:  # k + k tanh(u) = 2k sigma(2u)
        for t in terms:
            c, f = t.as_coeff_Mul()
            if isinstance(f, sp.tanh) and abs(c) == abs(k):
                others = [o for o in terms if o is not t and o is not k]
                return sp.Add(2 * k * sigmoid(2 * (c / k) * f.args[0]), *others)
    if sp.S.One in terms or sp.S.NegativeOne in terms:
        sign = 1 if sp.S.One in terms else -1
        rest = list(terms)
        rest.remove(sp.S(sign))
        for t in rest:
            c, f = t.as_coeff_Mul()
            replacement = None
            if c == -sign and isinstance(f, sigmoid):
                replacement = sign * sigmoid(-f.args[0])
            elif c == -sign and f.is_Pow and isinstance(f.base, sp.tanh) and f.exp == 2:
                replacement = sign * 4 * logistic_density(2 * f.base.args[0])
            elif abs(c) == 1 and isinstance(f, sp.tanh):  # 1 +- tanh(u) = 2 sigma(+-2u)
                replacement = sign * 2 * sigmoid(2 * c * sign * f.args[0])
            elif c == -sign and isinstance(f, sp.erf):
                replacement = sign * sp.erfc(f.args[0])
            elif c == sign and isinstance(f, sp.erf):
                replacement = sign * erfc_kept(-f.args[0])
            elif c == -sign and isinstance(f, sp.exp) and sign == -1:
                replacement = expm1(f.args[0])
            elif c == sign and isinstance(f, sp.exp) and sign == -1:
                replacement = None
            if replacement is not None:
                others = [o for o in rest if o is not t]
                return sp.Add(replacement, *others)
    return None


def _rule_log(arg: sp.Expr) -> sp.Expr | None:
    if isinstance(arg, sigmoid):  # log sigma(u) = -softplus(-u)
        return -softplus(-arg.args[0])
    if isinstance(arg, sp.Add) and sp.S.One in arg.args:
        w = arg - 1
        if isinstance(w, sp.exp):
            return softplus(w.args[0])
        if w.free_symbols:
            return log1p(w)
    return None


def recognize(expr: sp.Expr) -> sp.Expr:
    """Pass 1, bottom up to a fixed point."""
    if expr.is_Atom:
        return expr
    args = [recognize(a) for a in expr.args]
    node = expr.func(*args) if args != list(expr.args) else expr
    new = None
    if node.is_Pow:
        new = _rule_pow(*node.args)
    elif node.is_Mul:
        new = _rule_mul(list(node.args))
    elif node.is_Add:
        new = _rule_add(list(node.args))
        if new is None:  # 2 - 2 tanh(u)^2: the rules see the primitive part
            content, primitive = node.as_content_primitive()
            if content != 1 and primitive.is_Add:
                inner = _rule_add(list(primitive.args))
                new = None if inner is None else content * inner
    elif isinstance(node, sp.log):
        new = _rule_log(node.args[0])
    elif isinstance(node, sp.exp):
        new = _rule_exp(node.args[0])
    elif isinstance(node, sp.erfc) and (v := _normal_arg(node.args[0])) is not None:
        new = 2 * normal_cdf(-v)
    if new is None or new == node:
        return node
    return recognize(new)


# ----------------------------------------------------------------------------- pass 1b


def _rational_in_w(node: sp.Expr, u: sp.Expr, w: sp.Symbol) -> sp.Expr | None:
    """``node`` as a rational function of w = e^u, or None. Building blocks and tanh are
    rewritten through exp; softplus(u) = log(1 + w), so e^{k softplus(u)} = (1 + w)^k."""
    e = node.replace(softplus, lambda a: sp.log(1 + sp.exp(a)) if a == u else softplus(a))
    e = e.rewrite(sp.exp)
    e = e.replace(lambda t: isinstance(t, sp.exp),
                  lambda t: sp.exp(sp.expand(sp.expand_log(t.args[0], force=True))))
    e = e.subs(sp.exp(u), w)
    e = e.replace(lambda t: isinstance(t, sp.exp), lambda t: _exp_in_w(t, u, w))
    e = sp.powsimp(e)
    if e.has(sp.exp) or e.free_symbols & u.free_symbols or e.has(sp.log):
        return None
    r = sp.cancel(sp.together(e))
    return r if r.is_rational_function(w) else None


def _exp_in_w(t: sp.exp, u: sp.Expr, w: sp.Symbol) -> sp.Expr:
    arg = t.args[0]
    k = sp.simplify(arg / u)
    if k.is_Integer:
        return w**k
    lg = sp.log(1 + w)
    k = sp.simplify(arg / lg) if arg.has(lg) else None
    if k is not None and k.is_Integer:
        return (1 + w) ** k
    return t


def _sign_uniform(poly: sp.Poly) -> bool:
    coeffs = [c for c in poly.all_coeffs() if c != 0]
    return all(c.is_positive for c in coeffs) or all(c.is_negative for c in coeffs)


#: A denominator polynomial in E whose signs differ is kept when sum |c_k| E^k is at most this
#: many times |Q(E)| on [0, 1]: its sum loses under 2 bits (1 - E + E^2: 3)
DENOMINATOR_CONDITION = 4.0


def _well_conditioned(q: sp.Poly) -> bool:
    """Is Q(E) free of roots on [0, 1], each of its factors (printed factored) within
    DENOMINATOR_CONDITION there? ((e^{2x} - e^x + 1)^2 in (e^x - e^-x)/(e^{2x} + e^-x)': rejected,
    its quotient was split into terms that overflow apart, NaN at x = -700.)"""
    if q.count_roots(0, 1) != 0:
        return False
    grid = np.linspace(0.0, 1.0, 1001)
    for factor, _ in q.factor_list()[1]:
        coeffs = [float(c) for c in factor.all_coeffs()[::-1]]
        value = np.polynomial.polynomial.polyval(grid, coeffs)
        size = np.polynomial.polynomial.polyval(grid, np.abs(coeffs))
        if not np.all(size <= DENOMINATOR_CONDITION * np.abs(value)):
            return False
    return True


def _branchwise(r: sp.Expr, u: sp.Expr, w: sp.Symbol, uniform: bool = True) -> sp.Expr | None:
    """R(e^u) = P(E)/Q(E) with E = e^{-|u|} on each side of u = 0: no overflow, and with
    sign-uniform coefficients no cancellation. None where the coefficients change sign."""
    num, den = sp.fraction(r)
    p, q = sp.Poly(num, w), sp.Poly(den, w)
    if p.is_monomial and q.is_monomial:
        return None  # c e^{ku}: one exponential already, nothing to share or cancel
    e = sp.Dummy("E", positive=True)
    n = max(p.degree(), q.degree())
    hi_num = sp.Poly(sp.expand(num.subs(w, 1 / e) * e**n), e)
    hi_den = sp.Poly(sp.expand(den.subs(w, 1 / e) * e**n), e)
    lo_num, lo_den = sp.Poly(num.subs(w, e), e), sp.Poly(den.subs(w, e), e)
    if not all(_sign_uniform(x) for x in (hi_num, hi_den, lo_num, lo_den)) and (
        uniform or not all(_sign_uniform(x) or _well_conditioned(x) for x in (hi_den, lo_den))
    ):
        return None  # (a sum with a root keeps its numerator's signs: uniform=False)
    decay = _decay(u)
    # E - 1 = expm1(-|u|): exact next to u = 0, where E - 1 would keep no digit
    ones = {e - 1: expm1(decay.args[0]), 1 - e: -expm1(decay.args[0])}
    hi = (sp.factor(hi_num.as_expr()) / sp.factor(hi_den.as_expr())).xreplace(ones)
    lo = (sp.factor(lo_num.as_expr()) / sp.factor(lo_den.as_expr())).xreplace(ones)
    if not uniform:
        # (1+E)^-k = e^{-k log1p(E)} for k >= 3: the rounding of 1 + E, cubed, alone costs
        # 1.5 ULP (sigma'' at x = -23.6)
        cubes = {p: sp.exp(p.exp * log1p(e)) for p in (hi.atoms(sp.Pow) | lo.atoms(sp.Pow))
                 if p.base == 1 + e and p.exp.is_Integer and p.exp <= -3}
        hi, lo = hi.xreplace(cubes), lo.xreplace(cubes)
    return sp.Piecewise((hi.subs(e, decay), _clamped(u) >= 0), (lo.subs(e, decay), True))


def _composite_atoms(expr: sp.Expr) -> set[sp.Expr]:
    """Arguments u with tanh(softplus(u)) or a block of k*softplus(u) in expr (mish)."""
    out = set()
    for f in expr.atoms(sp.tanh, logistic_density, sigmoid):
        for sp_ in f.args[0].atoms(softplus):
            out.add(sp_.args[0])
    return out


def _split_rational(term: sp.Expr, u: sp.Expr, w: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """term = rational part (in e^u) * cofactor."""
    rational, other = [], []
    for f in sp.Mul.make_args(term):
        is_rational = bool(f.free_symbols & u.free_symbols) and _rational_in_w(f, u, w) is not None
        (rational if is_rational or not f.free_symbols else other).append(f)
    return sp.Mul(*rational), sp.Mul(*other)


def rationals(expr: sp.Expr) -> sp.Expr:
    """Subexpressions rational in e^u built from tanh(softplus(u)) and the logistic blocks
    (mish: tanh(softplus(x)) = (e^{2x} + 2e^x)/(e^{2x} + 2e^x + 2)) become one quotient of
    polynomials in E = e^{-|u|} per side of u = 0, with one exp instead of exp, log1p and tanh,
    and exact tails."""
    for u in sorted(_composite_atoms(expr), key=sp.default_sort_key):
        w = sp.Dummy("w", positive=True)
        expr = _lower_rationals(expr, u, w)
    return expr


def _has_softplus(node: sp.Expr) -> bool:
    return node.has(softplus)


def _lower_rationals(node: sp.Expr, u: sp.Expr, w: sp.Symbol,
                     hot: Callable[[sp.Expr], bool] = _has_softplus,
                     uniform: bool = True) -> sp.Expr:
    """Lower the subexpressions of ``node`` that are rational in e^u and ``hot`` (hold what
    must go: tanh(softplus(u)) for mish, a raw e^{ku} elsewhere)."""
    if not hot(node):
        return node
    r = _rational_in_w(node, u, w)
    if r is not None:
        lowered = _branchwise(r, u, w, uniform)
        if lowered is not None or uniform:
            return node if lowered is None else lowered
    if node.is_Add:  # x sigma - x t^2 sigma -> x * (sigma (1 - t^2)): group by cofactor
        groups: dict[sp.Expr, list[sp.Expr]] = {}
        for t in node.args:
            rational, other = _split_rational(t, u, w)
            groups.setdefault(other, []).append(rational)
        if len(groups) < len(node.args):
            terms = []
            for cofactor, parts in groups.items():
                total = sp.Add(*parts)
                r = _rational_in_w(total, u, w) if hot(total) else None
                lowered = None if r is None else _branchwise(r, u, w, uniform=False)
                if lowered is None:
                    terms.extend(cofactor * _lower_rationals(p, u, w, hot, uniform)
                                 for p in parts)
                else:
                    terms.append(_lower_rationals(cofactor, u, w, hot, uniform) * lowered)
            return sp.Add(*terms)
    if node.is_Mul:  # group the rational factors of a product (x * sigma(x) * sech^2(...))
        rational, other = [], []
        for f in node.args:
            (rational if hot(f) and _rational_in_w(f, u, w) is not None
             else other).append(f)
        if len(rational) > 1 or (rational and not uniform):
            lowered = _branchwise(_rational_in_w(sp.Mul(*rational), u, w), u, w, uniform)
            if lowered is not None:
                return sp.Mul(lowered, *[_lower_rationals(f, u, w, hot, uniform) for f in other])
    return node.func(*[_lower_rationals(a, u, w, hot, uniform) for a in node.args])


def _raw_exps(expr: sp.Expr) -> list[sp.exp]:
    """Exponentials of an unguarded argument (no |.|, min or max: they may overflow)."""
    return sorted((e for e in expr.atoms(sp.exp) if e.args[0].free_symbols
                   and not e.args[0].has(sp.Abs, sp.Min, sp.Max)), key=sp.default_sort_key)


def exp_rationals(expr: sp.Expr) -> sp.Expr:
    """A raw e^{ku} the recognizer left (2 e^{-2x} sigma(x)^3 in sigma'') lowers with the
    subexpression around it that is rational in e^u: P(E)/Q(E) with E = e^{-|u|} per side of
    u = 0, a factor E - 1 as expm1(-|u|) (sigma'' = E expm1(-x)/(1+E)^3 for x >= 0): no
    overflow, and no cancellation but at a root of P (where a patch takes over)."""
    for e in _raw_exps(expr):
        if e not in expr.atoms(sp.exp):
            continue  # lowered with an earlier one
        k, v = e.args[0].as_coeff_Mul()
        u, _ = _canonical(v)
        if not k.is_Rational:
            continue
        u = _common_unit(expr, u)

        def hot(node: sp.Expr, u=u) -> bool:
            return any((a.args[0] / u).is_Rational for a in node.atoms(sp.exp))

        expr = _lower_rationals(expr, u, sp.Dummy("w", positive=True), hot, uniform=False)
    return expr


def _common_unit(expr: sp.Expr, v: sp.Expr) -> sp.Expr:
    """q v with q the largest rational of which every exponent's multiple of v (written through
    exp) is an integer multiple: in x sigma(1.702 x)'', e^{-3.404 x} and sigma(1.702 x) are
    rational in e^u only for u = 1.702 x (for u = x, e^{1.702 x} is no power of e^x)."""
    ratios = [abs(r) for a in expr.rewrite(sp.exp).atoms(sp.exp)
              if (r := a.args[0] / v).is_Rational and r != 0]  # k v / v is k: no simplify
    if not ratios:
        return v
    return sp.Rational(math.gcd(*[r.p for r in ratios]), math.lcm(*[r.q for r in ratios])) * v


# ----------------------------------------------------------------------------- pass 2


#: |u| above this is clamped before scaling, so c*|u| cannot overflow; e^(-c*1e300) is 0 anyway.
_CLAMP = sp.Float(1e300)


#: Beyond the clamp of a polynomial argument, e^{-|u|} < e^{-SATURATION}: 0 next to anything
#: a cofactor polynomial can reach there.
SATURATION = 1000


def _clamped(u: sp.Expr) -> sp.Expr:
    """u(x) of a polynomial argument of degree >= 2 evaluated at x clamped to [-L, L], where L
    (a power of 2) is past u's last turning point with |u(+-L)| >= SATURATION: the sign of u
    is unchanged and e^{-|u|} is 0 in any case, but u (x^3 in GELU-tanh) cannot overflow."""
    (x,) = u.free_symbols if len(u.free_symbols) == 1 else (None,)
    if x is None or not u.is_polynomial(x) or sp.degree(u, x) < 2:
        return u
    turning = [abs(complex(r)) for r in sp.Poly(sp.diff(u, x), x).nroots()]
    big = max([1.0, *turning])
    limit = 1.0
    while limit <= big or min(abs(float(u.subs(x, limit))), abs(float(u.subs(x, -limit)))) < (
        SATURATION
    ):
        limit *= 2
    return u.subs(x, sp.Max(sp.Min(x, limit), -limit))


def _decay(u: sp.Expr) -> sp.Expr:
    """E = e^{-|u|}; for u = c*v with c > 1, e^{-c*min(|v|, 1e300)} so c*|v| never overflows;
    a polynomial u of degree >= 2 is evaluated at a clamped x (``_clamped``)."""
    clamped = _clamped(u)
    if clamped is not u:
        return sp.exp(-sp.Abs(clamped))
    c, v = u.as_coeff_Mul()
    if abs(c) > 1:
        return sp.exp(-abs(c) * sp.Min(sp.Abs(v), _CLAMP))
    return sp.exp(-sp.Abs(u))


#: Below u = -T, Phi(u) is taken as the Gaussian times the Mills ratio; T = 1.25 sqrt(2), where
#: the erfc argument reaches fdlibm's exponential-form range.
_NORMAL_TAIL = sp.Float("1.7677669529663689", 30)  # prints with every digit
_INV_SQRT_2PI = (1 / sp.sqrt(2 * sp.pi)).evalf(50)
_TAIL_K = (MILLS_K / sp.sqrt(2 * sp.pi)).evalf(50)
#: erfc(w) past w = 1.25 (fdlibm's exponential form; T/sqrt2) as e^{-w^2} K e^{rho}/(sqrt(pi) w)
_ERFC_TAIL = sp.Rational(5, 4)
_ERFC_K = (MILLS_K / sp.sqrt(sp.pi)).evalf(50)


def lower(expr: sp.Expr) -> sp.Expr:
    """Pass 2: building blocks into elementary code that is finite for every finite input."""

    def lower_sigmoid(v):
        u, s = _canonical(v)
        e = _decay(u)
        # sigma(u) = (u >= 0 ? 1 : E)/(1+E); sigma(-u) = (u >= 0 ? E : 1)/(1+E)
        hi, lo = (1, e) if s == 1 else (e, 1)
        return sp.Piecewise((hi / (1 + e), _clamped(u) >= 0), (lo / (1 + e), True))

    def lower_density(v):
        u, _ = _canonical(v)
        e = _decay(u)
        return e / (1 + e) ** 2

    def lower_softplus(v):
        u, s = _canonical(v)
        # softplus(u) = max(u, 0) + log1p(E); softplus(-u) = max(-u, 0) + log1p(E)
        return sp.Max(s * u, 0) + log1p(_decay(u))

    def lower_normal_cdf(u):
        # Phi(u) = e^{-u^2/2} M(-u)/sqrt(2 pi) below -T, Mills ratio M(t) = K e^{rho(t)}/t: the
        # Gaussian factor takes the cofactor along (pass 3), x/(-x) cancels in x Phi(x); the
        # helper for Phi covers the rest.
        tail = gauss_times(u, _TAIL_K * sp.exp(mills_ln(-u)) / (-u))
        return sp.Piecewise((tail, u < -_NORMAL_TAIL), (normal_cdf(u), True))

    def lower_normal_pdf(u):
        return gauss_times(u, _INV_SQRT_2PI)

    out = expr.replace(normal_cdf, lower_normal_cdf)
    out = out.replace(normal_pdf, lower_normal_pdf)
    out = out.replace(sigmoid, lower_sigmoid)
    out = out.replace(logistic_density, lower_density)
    out = out.replace(softplus, lower_softplus)
    return sp.piecewise_fold(out) if out.has(sp.Piecewise) else out


# ----------------------------------------------------------------------------- pass 3


def _clamped_gaussian(arg: sp.Expr, x: sp.Symbol) -> bool:
    """Is ``arg`` a polynomial in x clamped with no |.| (clamp_gaussians' -x_c^2)?"""
    return arg.has(sp.Max) and not arg.has(sp.Abs) and polynomial_exponent(arg, x) is not None


def _scale_branch(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    decays = [e for e in expr.atoms(sp.exp) if e.args[0].could_extract_minus_sign()
              and (e.args[0].has(sp.Abs) or _clamped_gaussian(e.args[0], x))
              and not e.args[0].has(log1p)]
    if len(decays) != 1:
        return expr
    (decay,) = decays
    e = sp.Dummy("E", positive=True)
    body = sp.factor_terms(expr.subs(decay, e))
    coeff, rest = body.as_independent(e, as_Add=False)
    k = sp.Integer(0)
    for f in sp.Mul.make_args(rest):
        b, p = f.as_base_exp()
        if b == e and p.is_Integer and p > 0:
            k += p
    if k == 0:
        return expr
    g = _split_unit_fraction(sp.factor_terms(body / e**k), e, x)
    growth = g.subs(expm1(decay.args[0]), e - 1).subs(e, 0)
    if not growth.has(x):
        return expr  # bounded cofactor: the plain product already keeps its digits
    c = -decay.args[0] / sp.Abs(x)
    if growth.is_polynomial(x) and not c.has(x) and (
            sp.degree(growth, x) >= 2 or (c.free_symbols and sp.degree(growth, x) >= 1)):
        # beyond |k c x| = 1500 the product is 0 (e^-750 underflows): the cofactor reads x
        # clamped there, so x^2 cannot overflow (swish_beta_dbeta = x^2 sigma'(beta x)), nor
        # a parameter times x (beta x + 1 in swish_beta' at x = -1e308 with beta = 3)
        reach = _ZERO_EXPONENT / (k * c)
        # only the polynomial part: expm1(-beta |x|) keeps its argument (shared with E)
        inner = {f: sp.Dummy() for f in g.atoms(sp.Function) if f.has(x)}
        g = g.xreplace(inner).xreplace({x: sp.Max(sp.Min(x, reach), -reach)}).xreplace(
            {d: f for f, d in inner.items()})
    return exp_times(k * decay.args[0], g.subs(e, decay))


#: e^(-x/2) is 0 in double precision for x >= this, so exp_times(-x, g) is 0 for finite g.
_ZERO_EXPONENT = 1500


def _split_unit_fraction(g: sp.Expr, e: sp.Symbol, x: sp.Symbol) -> sp.Expr:
    """In a sum holding a constant, write u/(1+E) as u - u E/(1+E): with E small, the u part
    then meets the constant exactly instead of after the rounding of 1/(1+E)
    (silu' tail: t*x + 1 -> (x + 1) - x E t)."""
    inv = 1 / (1 + e)

    def split(node: sp.Expr) -> sp.Expr:
        if not any(t.is_number for t in node.args):
            return node
        terms = []
        for t in node.args:
            if t.has(x) and inv in sp.Mul.make_args(t) and (t * (1 + e)).is_polynomial(x, e):
                u = t * (1 + e)
                terms += [u, -u * e * inv]
            else:
                terms.append(t)
        return sp.Add(*terms)

    return g.replace(lambda n: n.is_Add, split)


#: Beyond |u| = 48, e^{-u^2/2} = e^{-1152} underflows to 0 with any cofactor below 1e176. Not
#: more: e^{-u^2/4} stays normal, so no exp of a clamped value underflows into libm's slow path.
_GAUSS_CLIP = 48


def _gather_gauss(expr: sp.Expr, x: sp.Symbol, cond: sp.Basic = sp.true) -> sp.Expr:
    """A branch linear in Gaussian factors of one argument u, sum_i c_i e^{-u^2/2} g_i, becomes
    one e^{-u^2/2} (sum_i c_i g_i): the cofactor rides inside (subnormal results keep their
    digits). When u = k x, the cofactor reads x clamped to the branch (|u| <= 48), so it never
    overflows nor divides by zero where the branch is not taken; bounded exponential factors
    e^{rho} of the cofactor join the Gaussian's small exponent part."""
    atoms = expr.atoms(gauss_times)
    if not atoms or len({a.args[0] for a in atoms}) != 1 or any(len(a.args) != 2 for a in atoms):
        return expr
    u = next(iter(atoms)).args[0]
    big_g = sp.Dummy("G")
    body = expr.replace(gauss_times, lambda _u, g: big_g * g)
    cofactor = sp.diff(body, big_g)
    if cofactor.has(big_g):
        return expr
    others = body.subs(big_g, 0)  # terms without a Gaussian factor stay beside it
    if others != 0:
        return others + _gather_gauss(gauss_times(u, cofactor), x, cond)
    cofactor = _fold_constants(cofactor, x)
    k, v = u.as_coeff_Mul()
    if v != x or k == 0:
        return gauss_times(u, cofactor)
    lo, hi = _branch_bounds(cond, x, _GAUSS_CLIP / abs(k))
    clipped = gauss_clip(x, lo, hi)
    cofactor, u = cofactor.subs(x, clipped), k * clipped
    small = [f for f in sp.Mul.make_args(cofactor) if isinstance(f, sp.exp)
             and f.args[0].has(mills_ln)]
    if not small:
        return gauss_times(u, cofactor)
    rest = sp.Mul(*[f for f in sp.Mul.make_args(cofactor) if f not in small])
    return gauss_times(u, rest, sp.Add(*[f.args[0] for f in small]))


def _fold_constants(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Each term's irrational constant factor (sqrt(2) sqrt(pi) 0.3989...) as one 50-digit
    number, so it is rounded once, not multiplied out at run time."""
    terms = []
    for t in sp.Add.make_args(expr):
        num, rest = t.as_independent(x, as_Add=False)
        if num.free_symbols:  # a parameter's factor stays symbolic; its numeric part is folded
            num, param = num.as_independent(*num.free_symbols, as_Add=False)
            rest = param * rest
        value = num if num.is_Rational else num.evalf(50)
        terms.append((sp.S.One if abs(value - 1) < 1e-45 else value) * rest)
    return sp.Add(*terms)


def _branch_bounds(cond: sp.Basic, x: sp.Symbol, reach: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """[lo, hi] of x on a branch ``x < c`` / ``x > c`` / default, within [-reach, reach]."""
    lo, hi = -reach, reach
    if isinstance(cond, sp.core.relational.Relational) and cond.lhs == x and cond.rhs.is_number:
        if cond.rel_op in ("<", "<="):
            hi = sp.Min(hi, cond.rhs)
        elif cond.rel_op in (">", ">="):
            lo = sp.Max(lo, cond.rhs)
    return sp.S(lo), sp.S(hi)


def scale_tails(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Pass 3: products of a decaying exponential and a growing cofactor, per branch."""
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(_scale_one(e, x, c), c) for e, c in expr.args])
    return _scale_one(expr, x, sp.true)


def _scale_one(expr: sp.Expr, x: sp.Symbol, cond: sp.Basic) -> sp.Expr:
    if expr.has(gauss_times):
        return _gather_gauss(expr, x, cond)
    return _scale_branch(expr, x)


# ----------------------------------------------------------------------------- driver


def tanh_square_factors(expr: sp.Expr) -> sp.Expr:
    """A sum that is (1 - T^2) Q(T) as a polynomial in T = tanh(c e^w), exactly, as that
    product: SymPy's second derivative of x tanh(e^x) spreads x e^x (1 - T^2) over terms (x e^x
    - x e^x T^2, inf - inf past x = 709); as a factor, 1 - T^2 is recognized (4 density(2u)),
    a double exponential (clamp_vanishing_products). (Other arguments are other rules': a
    polynomial, gelu_tanh's, exp_poly; softplus, mish's, the rational forms in e^x.)"""
    if not expr.is_Add:
        return expr
    for f in sorted(expr.atoms(sp.tanh), key=sp.default_sort_key):
        if not isinstance(f.args[0].as_coeff_Mul()[1], sp.exp):
            continue
        t = sp.Dummy("T")
        e = expr.xreplace({f: t})
        try:
            poly = sp.Poly(e, t)
        except sp.PolynomialError:
            continue
        if poly.degree() < 2:
            continue
        q, r = sp.div(poly, sp.Poly(1 - t**2, t))
        if r.is_zero:
            return (1 - f**2) * q.as_expr().xreplace({t: f})
    return expr


def _expand_exp_products(expr: sp.Expr) -> sp.Expr:
    """Distribute products over sums that hold exponentials, so each term can be recognized
    (``(x + e^x + 1) e^x/(e^x+1)^2`` -> ``x e^x/(..) + e^{2x}/(..) + ...``). A tanh sum the
    rules recognize whole stays a factor (x e^x (1 - tanh(e^x)^2), TanhExp': distributed, x e^x
    - x e^x tanh(e^x)^2 was inf - inf past x = 709 and cancelled before)."""
    def whole(a: sp.Expr) -> bool:  # 1 - tanh(u)^2 (e^x - 1 is distributed: tanh(x/2))
        return a.is_Add and a.has(sp.tanh) and _rule_add(list(a.args)) is not None

    def expand(e: sp.Mul) -> sp.Expr:
        kept = [a for a in e.args if whole(a)]
        return sp.Mul(*kept) * sp.expand_mul(sp.Mul(*[a for a in e.args if not whole(a)]))

    return expr.replace(
        lambda e: e.is_Mul and any(a.is_Add and a.has(sp.exp) and not whole(a) for a in e.args),
        expand)


def stabilize(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The numerically sound equivalent of ``expr`` (a function of ``x``), ready to print."""
    stable = _stable_part(expr, x)
    tails = subnormal_tails(expr, x, stable, _stable_part)
    if tails:
        # arms in front, after the passes that read each arm's sign from the conditions
        arms = stable.args if isinstance(stable, sp.Piecewise) else ((stable, True),)
        stable = sp.Piecewise(*tails, *arms)
    return stable


def _stable_part(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """stabilize without the subnormal tails (for a tail's own cofactor)."""
    stable = _stabilize(expr, x)
    if stable.has(sp.sinh, sp.cosh):
        stable = _stabilize(hyperbolic_exps(expr, x), x)
    return exp_polynomials(split_square_exponents(
        split_abs_exponents(sign_conditions(stable, x), x), x), x)


def split_abs_exponents(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """e^{c |L|} and exp_times(c |L|, g), L = a x + b linear with numbers whose evaluation
    rounds (clamp_linear_exponent), as a Piecewise on the sign of L: each arm's exponent is
    linear, so exp_polynomials compensates it (x e^{-|1.5x - 0.2|} lost |1.5x - 0.2|/2 ULP:
    22.8 at x = -10.7). The sign of L rounded decides only where |L| is tiny and both arms
    agree."""

    def linear_abs(v: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        c, rest = v.as_coeff_Mul()
        if not (isinstance(rest, sp.Abs) and c.is_number and c.is_real):
            return None
        inner = rest.args[0]
        if clamp_linear_exponent(inner, x) is None:
            return None
        return c, inner

    def split(e: sp.Expr) -> sp.Expr:
        found = linear_abs(e.args[0])
        if found is None:
            return e
        c, inner = found
        arms = [c * inner, -c * inner]
        if isinstance(e, exp_times):
            pos, neg = (exp_times(a, e.args[1]) for a in arms)
        else:
            pos, neg = (sp.exp(a) for a in arms)
        return sp.Piecewise((pos, inner >= 0), (neg, True))

    return expr.replace(lambda e: isinstance(e, (sp.exp, exp_times)), split)


#: The correction exponent c (2 A B + B^2) of split_square_exponents is used only while it stays
#: this small: its rounding (B's own, times 2 A) then costs about that many units at most.
SQUARE_CORRECTION_MAX = 4.0


def _polynomial_in_clamped_x(a: sp.Expr, x: sp.Symbol) -> bool:
    """Is ``a`` a polynomial in x or in x clamped on one side (Max(0, x), Min(0, x))?"""
    clamps = [m for m in a.atoms(sp.Max, sp.Min) if m.has(x)]
    if any(len(m.args) != 2 or x not in m.args or not all(
            v == x or v.is_number for v in m.args) for m in clamps):
        return False
    t = sp.Dummy("t", real=True)
    e = a.xreplace({m: t for m in clamps}) if clamps else a.xreplace({x: t})
    return len(clamps) <= 1 and not e.has(x) and e.is_polynomial(t)


def split_square_exponents(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """e^{c (A + B)^2} (c < 0; A a polynomial in x or one-sided clamped x; B the other terms,
    bounded where it matters: |c (2 A B + B^2)| <= SQUARE_CORRECTION_MAX at every probe) as
    exp_times(c A_L^2, e^{c (2 A_L B + B^2)} g), g the product's other factors and A_L = A at x
    clamped at +-L, the first power of two where c A^2 <= -1500 (e^{c A^2} is 0 beyond, as is
    the true product). The square of a computed u = A + B rounds u first, and e^{c u^2} loses
    |c u^2| times u's rounding: Serf x erf(log(1 + e^x))'' (u = softplus(x) = Max(0, x) +
    log1p(e^{-|x|})) lost 1220 ULP at x = 25.75, and its cofactor x^2 beside e^{-u^2} = 0 made
    NaN past x = 1.3e154. A_L^2 is exact enough for exp_polynomials to compensate, B enters
    only the small correction, and the cofactor reads x clamped (vanishing_cofactor)."""
    if not expr.has(sp.exp):
        return expr
    probes = [float(v) for v in np.linspace(-8, 8, 65)] + [
        s * 2.0**k for k in range(3, 1024, 4) for s in (1, -1)]

    def parts(arg: sp.Expr, side: int):
        c, rest = arg.as_coeff_Mul()
        if not (c.is_number and c.is_real and c < 0 and rest.is_Pow and rest.exp == 2
                and rest.base.is_Add and rest.base.has(x)):
            return None
        terms = rest.base.args
        a = sp.Add(*[t for t in terms if t.has(x) and _polynomial_in_clamped_x(t, x)])
        b = sp.Add(*[t for t in terms if not (t.has(x) and _polynomial_in_clamped_x(t, x))])
        if a == 0 or not b.has(x):
            return None
        if side and not a.xreplace(_ONE_SIDED[side](x)).has(x):
            return None  # A is constant on this arm (Max(0, x) where x < 0): nothing to gain
        bounds = []
        for direction in (1, -1):
            k = next((k for k in range(1024) if float(c) * float(
                a.xreplace({x: sp.Float(direction * 2.0**k, 30)}).evalf(30)) ** 2 <= -1500),
                None)
            bounds.append(None if k is None else sp.Float(2.0**k))
        xc = x if bounds[0] is None else sp.Min(x, bounds[0])
        xc = xc if bounds[1] is None else sp.Max(xc, -bounds[1])
        a_l = a.xreplace({x: xc})
        correction = c * (2 * a_l * b + b**2)
        try:  # in double, as the kernel computes it (evalf of e^{-2^1023} takes minutes)
            with np.errstate(all="ignore"):
                values = sp.lambdify([x], correction, modules="numpy")(np.array(probes))
            if not np.all(np.abs(np.broadcast_to(values, (len(probes),)))
                          <= SQUARE_CORRECTION_MAX):
                return None
        except (TypeError, ValueError, NameError, AttributeError, ZeroDivisionError):
            return None
        return c * a_l**2, sp.exp(correction)

    def split(e: sp.Expr, side: int) -> sp.Expr:
        def fix_mul(m: sp.Expr) -> sp.Expr:
            for f in m.args:
                if isinstance(f, sp.exp) and (found := parts(f.args[0], side)) is not None:
                    rest = sp.Mul(*[g for g in m.args if g is not f])
                    return exp_times(found[0], found[1] * rest)
            return m

        def fix_exp(v: sp.Expr) -> sp.Expr:
            found = parts(v.args[0], side)
            return v if found is None else exp_times(found[0], found[1])

        e = e.replace(lambda m: m.is_Mul and any(
            isinstance(f, sp.exp) and f.args[0].has(x) for f in m.args), fix_mul)
        e = e.replace(lambda v: isinstance(v, sp.exp) and v.args[0].has(x), fix_exp)
        return e.replace(lambda a: a.is_Add and sum(isinstance(t, exp_times)
                                                    for t in a.args) > 1, merge)

    def merge(a: sp.Expr) -> sp.Expr:
        """Terms e^v g_k of one v as e^v (sum g_k): one exponential, one rounding of it (Serf''
        has four such terms)."""
        groups: dict[sp.Expr, list[sp.Expr]] = {}
        rest = []
        for t in a.args:
            if isinstance(t, exp_times):
                groups.setdefault(t.args[0], []).append(t.args[1])
            else:
                rest.append(t)
        return sp.Add(*rest, *(exp_times(v, sp.Add(*gs)) for v, gs in groups.items()))

    if isinstance(expr, sp.Piecewise) and len(expr.args) == 2 and expr.args[1][1] is sp.true \
            and isinstance(expr.args[0][1], (sp.GreaterThan, sp.StrictGreaterThan)) \
            and expr.args[0][1].lhs == x and expr.args[0][1].rhs == 0:
        (a, cond), (b, _) = expr.args  # the arm for x >= 0, the one for x < 0
        return sp.Piecewise((split(a, 1), cond), (split(b, -1), True))
    return split(expr, 0)


#: One-sided clamps of x on an arm where x >= 0 (1) or x < 0 (-1).
_ONE_SIDED = {1: lambda x: {sp.Max(0, x): x, sp.Min(0, x): sp.S.Zero},
              -1: lambda x: {sp.Max(0, x): sp.S.Zero, sp.Min(0, x): x}}


def hyperbolic_exps(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """sinh(u) and cosh(u) of x as (e^u -+ e^-u)/2, for the exponential rules: a sinh or cosh
    that the rules left (none in the catalog) overflows past |u| = 710 where the quotient or
    logarithm holding it is finite (sinh(x)/cosh(x) was inf/inf, log(cosh(x)) inf at 1e300).
    As exponentials, a quotient becomes P(E)/Q(E) with E = e^-|u| (exp_rationals) and
    log(cosh(u)) = softplus(2u) - u - log 2; the root patches take over where such a form
    cancels (log cosh at 0)."""
    return expr.replace(lambda e: isinstance(e, (sp.sinh, sp.cosh)) and e.has(x),
                        lambda e: e.rewrite(sp.exp))


def _sign_of_odd(rel: sp.Basic, x: sp.Symbol) -> sp.Basic:
    """p(v) >= 0 (>, <=, <) -> s v >= 0 when p is an odd polynomial whose coefficients share the
    sign s, in v = x or x clamped (p(v) = v q(v^2) with q of one sign: p has v's sign)."""
    lhs = rel.lhs - rel.rhs
    clamps = [m for m in lhs.atoms(sp.Max, sp.Min) if m.has(x)]
    outer = [m for m in clamps if not any(o != m and o.has(m) for o in clamps)]
    if len(outer) > 1:
        return rel
    v = outer[0] if outer else x
    t = sp.Dummy("t", real=True)
    e = sp.expand(lhs.xreplace({v: t}))
    if e.has(x) or not e.is_polynomial(t) or sp.degree(e, t) < 1:
        return rel
    coeffs = sp.Poly(e, t).all_coeffs()[::-1]  # c_0, c_1, ...
    if not all(c.is_number and c.is_real for c in coeffs) or any(coeffs[0::2]):
        return rel
    signs = {bool(c > 0) for c in coeffs[1::2] if c != 0}
    if len(signs) != 1:
        return rel
    return rel.func(v if signs.pop() else -v, 0)


def sign_conditions(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Each sign test of an odd one-signed polynomial in (clamped) x becomes the test of x's own
    sign (_sign_of_odd): gelu_tanh' split by the sign of sqrt(2/pi) x (0.089 x^2 + 2) and of
    0.071 x^3 + 1.6 x, two arms for one condition; the same conditions merge (Piecewise keeps
    the first arm of a repeated condition) and a test costs one compare."""
    if not expr.has(sp.Piecewise):
        return expr
    relational = (sp.GreaterThan, sp.StrictGreaterThan, sp.LessThan, sp.StrictLessThan)
    return expr.replace(lambda e: isinstance(e, relational) and e.has(x),
                        lambda e: _sign_of_odd(e, x))


def _far_terms(expr: sp.Add, x: sp.Symbol) -> list[sp.Expr]:
    """The terms of ``expr`` with a far form of their own (symact.far), unless all are, or the
    sum cancels as a conjugate (x + sqrt(x^2 + 4) for x < 0: its terms apart lost every digit,
    0 at x = -2e77 where the value is 4e-78; conjugates makes it a quotient)."""
    if conjugates(expr) != expr:
        return []
    found = [t for t in expr.args
             if far_form(t, x) is not None or algebraic_far_form(t, x) is not None]
    return found if len(found) < len(expr.args) else []


def _stabilize(expr: sp.Expr, x: sp.Symbol, far: bool = True) -> sp.Expr:
    if isinstance(expr, sp.Piecewise):
        expr = sp.Piecewise(*[(stabilize(e, x), c) for e, c in expr.args])
        return clamp_branches(sp.piecewise_fold(expr), x)
    if expr.has(sp.erf, sp.erfc) and (tails := erfc_tails(expr, x)) is not expr:
        return _stabilize(tails, x)
    if far and (found := far_form(expr, x)) is not None:
        # a rational function (or its log) past |x| = T in t = 1/x (symact.far); each arm runs
        # on its own elements (inplace.OWN_ELEMENTS), so neither needs a clamp
        form, edge = found
        return sp.Piecewise((form, sp.Abs(x) > edge), (_stabilize(expr, x, far=False), True))
    if far and (sides := algebraic_far_form(expr, x)) is not None:
        # an algebraic function past |x| = T in t = 1/|x|, one arm per side (symact.far)
        high, low, edge = sides
        return sp.Piecewise((high, x > edge), (low, x < -edge),
                            (_stabilize(expr, x, far=False), True))
    if far and expr.is_Add and (farred := _far_terms(expr, x)):
        # a rational or algebraic term beside others (x/(1 + x^2) + atan(x), x atan(x)'): its
        # own far form, the rest as a sum
        rest = sp.Add(*[t for t in expr.args if t not in farred])
        return _stabilize(rest, x) + sp.Add(*[_stabilize(t, x) for t in farred])
    if (split := split_sign(expr, x)) is not None:
        return split
    expr = cancel_in_one_function(expr, x)
    if expr.free_symbols == {x} and expr.is_rational_function(x) and not expr.is_polynomial(x):
        # one factored fraction: terms that cancel for large |x| cancel exactly here
        # (((x^5 + 2x)/(1 + 2x^4))'' as a sum lost 7e10 ULP at x = -3.4e6)
        return small_powers(_tidy(expr, x), x)
    if _small_rational_polynomial(expr, x):
        return sp.factor(expr)  # factored, a polynomial is exact next to its rational roots
    if _algebraic(expr):
        expr = sp.together(expr)  # one fraction: b/(2 (x^2 + b)^(3/2)), not a difference
    recognized = exp_rationals(rationals(conjugates(_canonical_args(recognize(
        clamp_gaussians(_expand_exp_products(tanh_square_factors(expr)), x))))))
    if (sided := decaying_sides(recognized)) is not None:
        recognized = sided
    clamped = clamp_scaled_cofactors(
        clamp_exponents(halve_sums(clamp_branches(_clamp_cofactors(scale_tails(hypots(
            log_exp_factors(lower(recognized))), x), x), x), x), x), x)
    return double_exponents(saturate(clamp_vanishing_products(double_exponentials(
        refine_sides(positive_out_of_max(clamped)), x), x), x), x)


def cancel_in_one_function(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """``expr`` as one factored fraction where x enters through one tanh(u), or through e^{k u}
    with integer k alone, and that is shorter: terms that cancel where the function saturates
    cancel exactly. log(1 + tanh(x))'' = (2t - (t^2 - 1)/(t + 1))(t^2 - 1)/(t + 1) is
    t^2 - 1 (it was 0 past x = -18, where t + 1 and 2t + ... cancel); asinh(e^x)'' =
    (1 - E^2/(E^2 + 1)) E/sqrt(E^2 + 1) is E/(E^2 + 1)^(3/2) (0 past x = 18)."""
    if sp.count_ops(expr) > 4 * SIMPLIFY_MAX_OPS or expr.has(sp.Float, sp.Piecewise):
        return expr
    fns = [f for f in expr.atoms(sp.Function) if f.has(x)]
    if len(fns) == 1 and isinstance(fns[0], sp.tanh):
        t = sp.Dummy("t", real=True)
        sub, back = {fns[0]: t}, {t: fns[0]}
    elif fns and all(isinstance(f, sp.exp) for f in fns):
        unit = _common_unit(expr, fns[0].args[0])
        if not all((f.args[0] / unit).is_Integer for f in fns):
            return expr
        t = sp.Dummy("t", positive=True)
        sub = {f: t ** int(f.args[0] / unit) for f in fns}
        back = {t: sp.exp(unit)}
    else:
        return expr
    r = expr.xreplace(sub)
    if r.has(x):
        return expr
    try:
        new = sp.factor(sp.together(r))
    except (sp.PolynomialError, TypeError, ValueError):
        return expr
    if sp.count_ops(new) >= sp.count_ops(r):
        return expr
    return new.xreplace(back)


#: log(DBL_MAX): a factor past it is inf in double
_LOG_DBL_MAX = 709.78
#: probes of a vanishing product beyond its clamp: |x| = 2^k
_VANISH_PROBES = (1, 2, 4, 8, 16, 64, 256, 1023)


def _log_abs(f: sp.Expr, x: sp.Symbol, v: float) -> float:
    """log|f(v)|, or an upper bound: factor by factor, without forming f(v) when f is e^u or a
    power (e^{1e300} is no float); 0 for functions bounded by 1 (tanh(e^{1e300}) exhausts
    mpmath's memory)."""
    if isinstance(f, (sp.tanh, sp.erf, sigmoid, logistic_density)):
        return 0.0
    if f.is_Mul:
        return sum(_log_abs(a, x, v) for a in f.args)
    if isinstance(f, sp.exp):
        return float(sp.re(f.args[0].xreplace({x: sp.Float(v, 30)}).evalf(30)))
    if f.is_Pow and f.exp.is_number:
        return float(f.exp) * _log_abs(f.base, x, v)
    for g in f.atoms(sp.tanh, sp.erf):  # saturated: +-1 to within e^-200
        w = sp.re(g.args[0].xreplace({x: sp.Float(v, 30)}).evalf(30))
        if abs(w) > 200:
            f = f.xreplace({g: sp.sign(w)})
    value = sp.Abs(f.xreplace({x: sp.Float(v, 30)})).evalf(30)
    if value == 0:
        return -math.inf
    if not isinstance(value, sp.Float):
        raise ValueError(f"not a number: {value}")
    return float(mpmath.log(mpmath.mpf(value._mpf_)))


def clamp_vanishing_products(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """A product g e^v whose exponent v = c e^w (c < 0, a double exponential: elsewhere SymPy
    has merged a cofactor's exponentials into v) -> -oo on one side while a cofactor g overflows
    there (TanhExp' = tanh(e^x) + 4 x e^x e^{-2e^x}/(1 + e^{-2e^x})^2: e^x is inf past x = 709,
    where the product is 0, so inf * 0 = NaN) reads x clamped at L in the whole product: L = 2^k
    the first with v(L) < -1500 (e^v is exactly 0 there, so the product is too) and log|g e^v|
    < -1100 at L and every probe 2^j L up to 2^1023 (the true product rounds to 0 beyond L:
    the value is unchanged)."""

    def factors(m: sp.Expr) -> tuple[sp.Expr, ...]:
        if isinstance(m, exp_times):
            return (sp.exp(m.args[0]), *sp.Mul.make_args(m.args[1]))
        return m.args

    def bound(m: sp.Expr, side: int) -> float | None:
        # the double exponential, and its cofactors (an exponential among them: Gumbel's
        # density e^{-x} e^{-e^{-x}} was inf * 0 past x = -709)
        decays = [f for f in factors(m) if _double_exponential(f, x)]
        rest = [f for f in factors(m) if f.has(x) and not _double_exponential(f, x)]
        if not decays or not rest:
            return None
        try:
            grows = any(_log_abs(f, x, side * 2.0**k) > _LOG_DBL_MAX for f in (*decays, *rest)
                        for k in (10, 64, 1023))
            if not grows:
                return None
            for k in range(-2, 11):
                edge = 2.0**k
                if _log_abs(sp.Mul(*decays), x, side * edge) >= -1500:
                    continue
                if all(sum(_log_abs(f, x, side * 2.0**(k + j)) for f in (*decays, *rest))
                       < -1100 for j in _VANISH_PROBES if k + j <= 1023):
                    return edge
                return None
        except (TypeError, ValueError, OverflowError, ZeroDivisionError, MemoryError):
            return None
        return None

    def fix(m: sp.Mul) -> sp.Expr:
        high, low = bound(m, 1), bound(m, -1)
        if high is None and low is None:
            return m
        xc = x if high is None else sp.Min(x, sp.Float(high))
        xc = xc if low is None else sp.Max(xc, sp.Float(-low))
        return m.xreplace({x: xc})

    def candidate(m: sp.Expr) -> bool:  # a double exponential's product: the only kind seen
        if isinstance(m, exp_times):
            return _double_exponential(sp.exp(m.args[0]), x)
        return m.is_Mul and any(_double_exponential(f, x) for f in m.args)

    return expr.replace(candidate, fix)


#: f(v) -> (the |v| past which f(v) is its limit to within 1e-52: the same double, and the
#: same to the proofs' 50 digits; the sign of v for which it is): tanh(v) = +-1 to 2e^{-2|v|},
#: expm1(v) = -1 to e^{-|v|} (v < 0)
SATURATES = {sp.tanh: (60, 0), expm1: (120, -1)}


def saturate(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """f(c e^u) (c a nonzero number, f in SATURATES, c of the sign that saturates f) as
    f(c e^min(u, U)), U the least integer with |c| e^U >= the bound: the same double (f's limit
    past U), and e^u cannot overflow (TanhExp's tanh(e^x) was tanh(inf), Gompertz's
    1 - e^{-e^x} = -expm1(-e^x) expm1(-inf), each with an overflow warning past x = 709)."""

    def clamp(f: sp.Function) -> sp.Expr:
        bound, sign = SATURATES[f.func]
        c, e = f.args[0].as_coeff_Mul()
        if not (isinstance(e, sp.exp) and e.has(x) and c.is_number and c != 0
                and sign * c >= 0):
            return f
        top = sp.Integer(math.ceil(math.log(bound / abs(float(c)))))
        return f.func(c * sp.exp(sp.Min(e.args[0], top)))

    return expr.replace(lambda f: isinstance(f, tuple(SATURATES)), clamp)


def _double_exponential(f: sp.Expr, x: sp.Symbol) -> bool:
    """Is f e^{c e^w} with c < 0 (e^w maybe clamped: min(e^w, 1e300))?"""
    if not isinstance(f, sp.exp):
        return False
    c, e = f.args[0].as_coeff_Mul()
    if isinstance(e, sp.Min) and len(e.args) == 2 and _CLAMP in e.args:
        e = e.args[0] if e.args[1] == _CLAMP else e.args[1]
    return bool(c.is_negative) and isinstance(e, sp.exp) and e.has(x)


def double_exponentials(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """A product g e^v whose exponent is v = c e^w, c < 0 (e^{-e^{-x}}, Gumbel's distribution)
    as exp_times(v, g): e^v is subnormal where v is past -708 and g may be large
    ((e^{-2x} - e^{-x}) e^{-e^{-x}} at x = -6.6 is 3e-314, and e^v rounded to a subnormal first
    lost 7e4 of its units); exp_times scales by e^{v/2} twice, so only the last product rounds
    there. (Exponents polynomial in x are the clamps' and exp_poly's.)"""

    def fix(m: sp.Mul) -> sp.Expr:
        exps = [f for f in m.args if _double_exponential(f, x)]
        if len(exps) != 1:
            return m
        rest = m / exps[0]
        return exp_times(exps[0].args[0], rest) if rest.has(x) else m

    return expr.replace(lambda m: m.is_Mul and any(_double_exponential(f, x) for f in m.args),
                        fix)


def _double_exponent_parts(v: sp.Expr, x: sp.Symbol
                           ) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    """(c, a, u) with v = c e^{a u + b} (b folded into c: c e^b), c < 0 a number, e^{..} maybe
    clamped (min(e^w, 1e300): exp_exp_times clamps within), or None."""
    c, e = v.as_coeff_Mul()
    if isinstance(e, sp.Min) and len(e.args) == 2 and _CLAMP in e.args:
        e = e.args[0] if e.args[1] == _CLAMP else e.args[1]
    if not (c.is_number and c.is_negative and isinstance(e, sp.exp)):
        return None
    b, rest = e.args[0].as_coeff_Add()
    a, u = rest.as_coeff_Mul()
    if not (u.has(x) and a.is_number and a != 0 and b.is_number):
        return None
    c = c * sp.exp(b)
    size = abs(float(sp.N(c, 20)))
    # the helper's wlo and whi within [-700, 700]: e^w and 2^k stay normal doubles
    if not exp_dd.VANISH * math.exp(-700) < size < exp_dd.NEGLIGIBLE * math.exp(700):
        return None
    return c, a, u


def double_exponents(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Every exp_times(c e^w, g) and e^{c e^w} (c < 0, w linear in some u) as
    exp_exp_times(c, a, u, g): e^w in double-double (symact.exp_dd), since an error d in it
    moves the result by |c e^w| d, up to ~745 d. Except e^{c e^w} as a term of a sum
    k + e^{c e^w}, k >= 1 (TanhExp's 1 + e^{-2e^x}): there its error is e^v |v| d <= d/e
    relative to the sum, whatever |v|."""

    def rewrite(e: sp.Expr, beside_one: bool = False) -> sp.Expr:
        if not e.args:
            return e
        if isinstance(e, exp_times) and (
                found := _double_exponent_parts(e.args[0], x)) is not None:
            return exp_exp_times(*found, rewrite(e.args[1]))
        if isinstance(e, sp.exp) and not beside_one and (
                found := _double_exponent_parts(e.args[0], x)) is not None:
            return exp_exp_times(*found, sp.S.One)
        keep = _beside_one(e)
        args = tuple(rewrite(t, keep) for t in e.args)
        return e.func(*args) if args != e.args else e

    return rewrite(expr)


def erfc_tails(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """erfc(w) of w = c x (c a number; normal arguments are Phi already), also as SymPy's
    2k - k erfc(-w) and as k +- k erf(-+w), past w = 1.25, where fdlibm's erfc takes its
    exponential form, as 2 Phi(-sqrt2 w) in Mills form: e^{-w^2} K e^{rho(sqrt2 w)}/(sqrt(pi) w).
    The Gaussian then takes a cofactor along like any other (x erfc(-x) lost 11 ULP at
    x = -26.65, where erfc alone is subnormal), its exponent is compensated, and rho's
    rounded argument sqrt2 w costs nothing (|t rho'(t)| < 0.02). Below 1.25 erfc(w) stays,
    as written (erfc_kept). The Piecewise is folded to the top, one arm per side."""

    def split(w: sp.Expr) -> sp.Expr | None:
        c, v = w.as_coeff_Mul()
        if v != x or not (c.is_number and c.is_real and c != 0) or _normal_arg(w) is not None:
            return None
        form = sp.exp(-(w**2)) * _ERFC_K * sp.exp(mills_ln(sp.sqrt(2) * w)) / w
        return sp.Piecewise((form, w > _ERFC_TAIL), (erfc_kept(w), True))

    def in_sum(t: sp.Expr, k: sp.Expr) -> sp.Expr | None:
        """k + t (t a term of a sum whose one constant is k) as the tail split of its erfc."""
        c, f = t.as_coeff_Mul()
        if isinstance(f, sp.erfc) and 2 * c == -k:  # 2k - k erfc(w) = k erfc(-w)
            scale, w = -c, -f.args[0]
        elif isinstance(f, sp.erf) and c in (k, -k):  # k +- k erf(w) = k erfc(-+w)
            scale, w = k, (-f.args[0] if c == k else f.args[0])
        else:
            return None
        tail = split(w)
        return None if tail is None else scale * tail  # replaces both t and k

    out = complemented(in_sum, sp.erf, sp.erfc)(expr)
    out = out.replace(lambda n: isinstance(n, sp.erfc), lambda n: split(n.args[0]) or n)
    return sp.piecewise_fold(out) if out != expr else expr


def log_exp_factors(expr: sp.Expr) -> sp.Expr:
    """log(c e^v g) -> log(c) + v + log(g), and log(g) as log1p(g - 1) for g = 1 + ...: e^v
    overflows where the logarithm is merely large (log cosh(x) lowers to
    log((1 + E^2) e^|x|/2), inf past |x| = 710; now |x| + log1p(E^2) - log 2)."""

    def split(node: sp.log) -> sp.Expr:
        factors = sp.Mul.make_args(node.args[0])
        exps = [f for f in factors if isinstance(f, sp.exp)]
        c, g = sp.Mul(*[f for f in factors if f not in exps]).as_coeff_Mul()
        if not exps or not c.is_positive:
            return node
        if g.is_Add and sp.S.One in g.args:
            tail = log1p(g - 1)
        else:
            tail = sp.log(g)
        # a clamp min(|v|, 1e300) is for e^{-k|v|}, 0 past it; the logarithm of a growing
        # e^{k min(|v|, 1e300)} is k|v| (log cosh(2x) read 2e300 at x = 1e301)
        exponent = sp.Add(*[f.args[0] for f in exps]).replace(
            lambda m: isinstance(m, sp.Min) and _CLAMP in m.args,
            lambda m: sp.Min(*[a for a in m.args if a != _CLAMP]))
        return sp.log(c) + exponent + tail

    return expr.replace(lambda n: isinstance(n, sp.log) and n.args[0].is_Mul, split)


def clamp_gaussians(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """e^{P(x)} with P a polynomial of even degree >= 2 and a negative leading coefficient
    (e^{-x^2}) reads x clamped (``_clamped``): past the clamp it is 0 either way. The clamp lets
    exp_polynomials compensate the exponent (e^{-x^2} at x = 26: 450 ULP from x^2's rounding)
    and _clamp_cofactors keep a growing cofactor finite (x^2 e^{-x^2} at 1e300 was inf * 0).
    Normal densities (e^{-c v^2}, sqrt(2c) rational) are left to _rule_exp's phi."""

    def fix(e: sp.exp) -> sp.Expr:
        arg = e.args[0]
        if arg.free_symbols != {x} or not arg.is_polynomial(x) or _rule_exp(arg) is not None:
            return e
        p = sp.Poly(arg, x)
        if p.degree() < 2 or p.degree() % 2 or not p.LC().is_negative:
            return e
        return sp.exp(_clamped(arg))

    return expr.replace(lambda e: isinstance(e, sp.exp) and e.args[0].has(x), fix)


def clamp_scaled_cofactors(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """In a product e^{c w} P(w) with c a parameter coefficient of known sign, w one of x,
    |x|, min(0, x), max(0, x) and P a polynomial of degree <= 2 (in w or x), P reads x clamped
    at |c x| = 1500 on each side where c w -> -inf: e^{c w} is 0 there and so is the product
    (to the last subnormal), but P alone overflows (celu_dalpha's e^t t with t = x/alpha at
    x = -1e308, alpha = 0.75: 0 * -inf)."""
    shapes = (x, sp.Abs(x), sp.Min(0, x), sp.Max(0, x))

    def fix(m: sp.Expr) -> sp.Expr:
        exps = [f for f in m.args if isinstance(f, sp.exp)]
        if len(exps) != 1:
            return m
        u = exps[0].args[0]
        c, w = u.as_independent(x, as_Add=False)
        if w not in shapes or not c.free_symbols or not (c.is_positive or c.is_negative):
            return m
        reach = _ZERO_EXPONENT / abs(c)
        xc = x
        if (u.subs(x, -sp.oo)) == -sp.oo:
            xc = sp.Max(xc, -reach)
        if (u.subs(x, sp.oo)) == -sp.oo:
            xc = sp.Min(xc, reach)
        if xc == x:
            return m

        def polynomial(f: sp.Expr) -> bool:
            t = sp.Dummy("t")
            for v in (x, w):
                g = f.xreplace({v: t})
                if not g.has(x) and g.is_polynomial(t) and sp.degree(g, t) <= 2:
                    return True
            return False

        cofactors = [f for f in m.args if f.has(x) and f is not exps[0]]
        if not cofactors or not all(polynomial(f) for f in cofactors):
            return m
        return sp.Mul(*[f.xreplace({x: xc}) if f in cofactors else f for f in m.args])

    return expr.replace(lambda m: m.is_Mul and m.has(sp.exp) and m.has(x), fix)


def positive_out_of_max(expr: sp.Expr) -> sp.Expr:
    """Max(0, p u) = p Max(0, u) for a positive parameter factor p: softplus's Max(0, beta x)/beta
    is Max(0, x), which beta x overflowed to inf at x = 1e308 with beta = 3."""

    def pull(m: sp.Expr) -> sp.Expr:
        if len(m.args) != 2 or sp.S.Zero not in m.args:
            return m
        e = m.args[0] if m.args[1] == 0 else m.args[1]
        out = [f for f in sp.Mul.make_args(e) if not f.is_number and f.is_positive]
        if not out or not e.is_Mul:
            return m
        p = sp.Mul(*out)
        return p * sp.Max(0, sp.Mul(*[f for f in sp.Mul.make_args(e) if f not in out]))

    if not expr.has(sp.Max):
        return expr
    pulled = expr.replace(lambda n: isinstance(n, sp.Max), pull)
    if pulled == expr:
        return expr
    # (p Max(0, x) + r)/p: distributed, so p cancels (Max(0, x) + r/p)
    return pulled.replace(
        lambda n: n.is_Mul and any(a.is_Add and a.has(sp.Max) for a in n.args),
        lambda n: sp.expand_mul(n, deep=False))


def refine_sides(expr: sp.Expr) -> sp.Expr:
    """In Piecewise((A, w >= 0), (B, True)), Max(0, k w) (k of known sign) is k w in A and 0 in
    B for k > 0, the other way round for k < 0 (but in an exponent): each side computes only
    what it needs, and stays finite where it is not taken (softplus_dbeta's Max(0, beta x)/beta^2,
    from softplus of the other side, overflowed at x = 1e308 with beta < 1, the branch not
    taken)."""
    if not isinstance(expr, sp.Piecewise) or len(expr.args) != 2:
        return expr
    (a, c), (b, last) = expr.args
    if last is not sp.true or not isinstance(c, (sp.GreaterThan, sp.StrictGreaterThan)) \
            or c.rhs != 0:
        return expr
    w = c.lhs

    def side(branch: sp.Expr, nonnegative: bool) -> sp.Expr:
        def fix(m: sp.Expr) -> sp.Expr:
            if len(m.args) != 2 or sp.S.Zero not in m.args:
                return m
            e = m.args[0] if m.args[1] == 0 else m.args[1]
            k = sp.cancel(e / w)
            if not (k.is_positive or k.is_negative):  # of known sign (numbers, parameters)
                return m
            return e if bool(k.is_positive) == nonnegative else sp.S.Zero

        # an exponent keeps its Max: e^{-max(0, x)} as e^{-x} overflows where the arm is not
        # taken but computed (a select), e^{-x} past x = -709
        exps = {f: sp.Dummy("e") for f in branch.atoms(sp.exp, expm1) if f.has(sp.Max)}
        fixed = branch.xreplace(exps).replace(lambda n: isinstance(n, sp.Max), fix)
        return fixed.xreplace({v: k for k, v in exps.items()})

    return sp.Piecewise((side(a, True), c), (side(b, False), True))


def clamp_exponents(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """e^{-k|v|} with k > 1 (SymPy writes E^2 as e^{-2|x|}) as e^{-k min(|v|, 1e300)}: k|v|
    overflows for |v| near 1.8e308, and the value is 0 either way. In a product with such a
    decay, a polynomial factor of degree d reads x clamped to +-1e300^(1/d) (4 x (1+E) E^2 in
    mish' is 0 there, but 4 x alone overflows; x^2 E/(1+E)^2 in (x^2 sigma)' was inf * 0 past
    x = 1.3e154)."""

    def clamped(d: int) -> sp.Expr:
        reach = _CLAMP if d <= 1 else sp.Float(float(f"1e{300 // d}"))
        return sp.Max(sp.Min(x, reach), -reach)

    def decaying(f: sp.Expr) -> bool:
        b = f.base if f.is_Pow and f.exp.is_positive else f
        return isinstance(b, sp.exp) and b.args[0].could_extract_minus_sign() and (
            b.args[0].has(sp.Abs))

    def clamp_factors(m: sp.Expr) -> sp.Expr:
        return sp.Mul(*[f.xreplace({x: clamped(sp.degree(f, x))}) if f.has(x)
                        and not f.has(sp.exp) and f.is_polynomial(x) else f for f in m.args],
                      evaluate=False)

    expr = expr.replace(
        lambda m: m.is_Mul and any(decaying(f) for f in m.args) and any(
            f.has(x) and not f.has(sp.exp) and f.is_polynomial(x) for f in m.args),
        clamp_factors)

    def clamp(e: sp.exp) -> sp.Expr:
        k, rest = e.args[0].as_coeff_Mul()
        if k.is_number and k < -1 and (isinstance(rest, sp.Abs) or rest == sp.Max(0, x)):
            return sp.exp(k * sp.Min(rest, _CLAMP))
        if k.is_number and k > 1 and rest == sp.Min(0, x):
            # e^{2 min(0, x)}, e^{-2 max(0, x)} (asinh(e^x)'): 2x overflows at -DBL_MAX
            return sp.exp(k * sp.Max(rest, -_CLAMP))
        if k.is_number and k.is_real and abs(k) > 1 and rest == x:
            # e^{k x}: k x overflows on the side where e^{k x} is 0 (2x at x = -1e308 in
            # TanhExp''); clamped there only (the other side's overflow is the value's own)
            return sp.exp(k * (sp.Max(x, -_CLAMP) if k > 0 else sp.Min(x, _CLAMP)))
        return e

    return expr.replace(lambda e: isinstance(e, sp.exp), clamp)


def halve_sums(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """A factor a + b of a product, with a and b both unbounded in x, as 2 (a/2 + b/2): a + b
    overflows for |a|, |b| near 2^1023 where the halves do not (squareplus' = (x + h)/(2h) at
    x = 1.8e308, its conjugate b/(2 (x - h)) at -1.8e308). Halving is exact."""

    def unbounded(a: sp.Expr) -> bool:
        return a.is_Add and all(t.has(x) for t in a.args) and not a.has(sp.exp)

    def halve(m: sp.Expr) -> sp.Expr:
        coeff, rest = m.as_coeff_Mul()
        out = []
        for f in sp.Mul.make_args(rest):
            b, k = f.as_base_exp()
            if unbounded(b) and k in (1, -1):
                coeff *= sp.Integer(2) ** k  # a separate 2 would be distributed back
                out.append(sp.Pow(sp.Add(*[t / 2 for t in b.args]), k))
            else:
                out.append(f)
        return coeff * sp.Mul(*out)

    return expr.replace(lambda m: m.is_Mul and any(unbounded(f.as_base_exp()[0])
                                                   for f in m.args), halve)


#: Functions that overflow (or raise) for a large argument outside the branch that uses them.
_GROWING = (sp.exp, expm1, sp.sinh, sp.cosh)


def _fragile(e: sp.Expr, x: sp.Symbol, interval: sp.Interval) -> bool:
    """Can branch ``e`` overflow or divide by zero where it is not taken? An unguarded
    exponential (e^x of ELU's x <= 0 branch), a division by a sum in x (b/(h(x) - x) of
    squareplus's x < 0 branch is b/0 for large x > 0), or a square or higher power on a bounded
    interval (x(x+3)/6 of hard_silu), or a polynomial of degree one there (x/3 + 1/2 of
    hard_silu', printed as (2x + 3)/6: 2x overflows)."""
    if any(g.args[0].has(x) and not g.args[0].has(sp.Abs, sp.Min, sp.Max)
           for g in e.atoms(*_GROWING)):
        return True
    if any(p.exp.is_negative and p.base.is_Add and p.base.has(x)
           and p.base.is_positive is not True and p.base.is_negative is not True
           for p in e.atoms(sp.Pow)):
        return True
    bounded = interval.sup.is_finite and interval.inf.is_finite
    return bounded and e != x and e.is_polynomial(x) and sp.degree(e, x) >= 1


def _tidy(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """A branch of a sign split in its simplest form: one factored fraction when rational."""
    if expr.is_rational_function(x):
        return sp.factor(sp.cancel(expr))
    return expr


def split_sign(expr: sp.Expr, x: sp.Symbol) -> sp.Expr | None:
    """An expression in sign(x) and |x| (softsign' = -x sign(x)/(1+|x|)^2 + 1/(1+|x|)) per side
    of 0, where sign and |x| are plain: each side simplifies (1/(1+x)^2 for x > 0), and an even
    or odd pair folds back into one expression in |x| (1/(1+|x|)^2, evaluated without
    overflow). The value at x = 0 keeps its own branch unless the fold gives it already."""
    if not expr.has(sp.sign(x)):
        return None
    pos = _tidy(expr.xreplace({sp.Abs(x): x, sp.sign(x): sp.S.One}), x)
    neg = _tidy(expr.xreplace({sp.Abs(x): -x, sp.sign(x): sp.S.NegativeOne}), x)
    if pos.has(sp.sign, sp.Abs) or neg.has(sp.sign, sp.Abs):
        return None
    zero = expr.subs(x, 0)
    t = sp.Dummy("t", positive=True)
    a = pos.subs(x, t)
    if sp.simplify(a - neg.subs(x, -t)) == 0 and zero == pos.subs(x, 0):  # even
        return stabilize(pos, x).xreplace({x: sp.Abs(x)})
    if sp.simplify(a + neg.subs(x, -t)) == 0 and zero == 0:  # odd
        return sp.sign(x) * stabilize(pos, x).xreplace({x: sp.Abs(x)})
    return sp.Piecewise((stabilize(pos, x), x > 0), (stabilize(neg, x), x < 0), (zero, True))


def clamp_branches(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Each branch of a Piecewise in x that holds an unguarded exponential is evaluated at x
    clamped to the branch's interval (``alpha expm1(x)`` for x <= 0 in ELU reads min(x, 0)):
    its value is unchanged where it is taken, and finite where it is not (NumPy computes both
    sides of a select). Branches whose conditions are not intervals of x are left alone."""
    if not isinstance(expr, sp.Piecewise):
        return expr
    taken = sp.S.EmptySet
    branches = []
    for e, c in expr.args:
        try:
            here = sp.S.Reals if c is sp.true else c.as_set()
        except (NotImplementedError, ValueError, TypeError, AttributeError):
            return expr
        if c is not sp.true and c.free_symbols != {x}:
            return expr
        interval = here - taken
        taken = taken | here
        if isinstance(interval, sp.Interval) and _fragile(e, x, interval):
            xc = x
            if interval.sup.is_finite:
                xc = sp.Min(xc, interval.sup)
            if interval.inf.is_finite:
                xc = sp.Max(xc, interval.inf)
            # a factored polynomial keeps its form ((2x + 3)/6 exact next to its root -3/2;
            # a plain xreplace would distribute the 1/6)
            e = (sp.Mul(*[a.xreplace({x: xc}) for a in e.args], evaluate=False)
                 if e.is_Mul and e.is_polynomial(x) else e.xreplace({x: xc}))
        branches.append((e, c))
    return sp.Piecewise(*branches)


def _decaying(expr: sp.Expr, u: sp.Expr, side: int) -> sp.Expr:
    """expr with its sigmoid and softplus of +-u in the forms that decay on ``side`` of u = 0:
    for u >= 0, sigma(u) = 1 - sigma(-u) and softplus(u) = u + softplus(-u)."""
    grow = u if side > 0 else -u
    return sp.expand(expr.xreplace({sigmoid(grow): 1 - sigmoid(-grow),
                                    softplus(grow): grow + softplus(-grow)}))


def _free_part(expr: sp.Expr) -> sp.Expr:
    return sp.Add(*[t for t in sp.Add.make_args(expr)
                    if not t.has(sigmoid, softplus, logistic_density)])


def decaying_sides(expr: sp.Expr) -> sp.Expr | None:
    """Where the growing parts of sigmoid(u) and softplus(u) cancel in a sum (softplus_dbeta =
    x sigma(bx)/b - softplus(bx)/b^2: x/b - x/b for large x), the sum per side of u = 0 in the
    forms that decay there, so the cancellation is exact and symbolic: -x sigma(-bx)/b -
    softplus(-bx)/b^2 for bx >= 0. None when no side cancels."""
    if not expr.is_Add:
        return None
    args = {_canonical(b.args[0])[0] for b in expr.atoms(sigmoid, softplus)}
    if len(args) != 1:
        return None
    (u,) = args
    pos, neg = _decaying(expr, u, 1), _decaying(expr, u, -1)
    introduced = [_free_part(_decaying(t, u, side)) for t in expr.args for side in (1, -1)]
    if not any(f != 0 for f in introduced):
        return None
    if _free_part(pos) != 0 and _free_part(neg) != 0:
        return None
    pos = pos if _free_part(pos) == 0 else expr
    neg = neg if _free_part(neg) == 0 else expr
    return sp.Piecewise((pos, _clamped(u) >= 0), (neg, True))


def _canonical_args(expr: sp.Expr) -> sp.Expr:
    """One spelling per argument of a building block, so equal arguments share one E."""
    for block in (sigmoid, logistic_density, softplus):
        expr = expr.replace(block, lambda a, b=block: b(sp.factor_terms(sp.expand(a))))
    return expr


def _clamp_cofactors(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """A product holding a clamped decay e^{-|u(xc)|} (xc = x clamped to [-L, L]) is below
    e^{-SATURATION} beyond L: evaluating its cofactors at xc too keeps them finite (x^3 x E
    would be inf * 0) without changing the value."""

    def clamp_of(e: sp.Expr):
        for m in e.atoms(sp.Max):
            if m.has(x) and isinstance(m.args[0], sp.Min) or isinstance(m.args[1], sp.Min):
                return m
        return None

    def fix(term: sp.Expr) -> sp.Expr:
        if isinstance(term, exp_times) and (xc := clamp_of(term.args[0])) is not None:
            return exp_times(term.args[0], term.args[1].xreplace({x: xc}))
        if term.is_Mul:
            decays = [f for f in term.args if isinstance(f, sp.exp) and clamp_of(f) is not None
                      and f.args[0].could_extract_minus_sign()]
            if decays:
                xc = clamp_of(decays[0])
                return term.xreplace({x: xc}).xreplace({xc.xreplace({x: xc}): xc})
        return term

    if not expr.has(sp.Max):
        return expr
    return expr.replace(lambda t: isinstance(t, exp_times) or t.is_Mul, fix)


def _algebraic(expr: sp.Expr) -> bool:
    return not expr.has(sp.exp, sp.log, sp.tanh, sp.erf, sp.Piecewise) and any(
        p.exp.is_Rational and not p.exp.is_Integer for p in expr.atoms(sp.Pow))


def conjugates(expr: sp.Expr) -> sp.Expr:
    """Bottom up, once: sums of a term and a square root that cancel become quotients."""
    if expr.is_Atom:
        return expr
    args = [conjugates(a) for a in expr.args]
    node = expr.func(*args) if args != list(expr.args) else expr
    if node.is_Add:
        content, primitive = node.as_content_primitive()
        if primitive.is_Add:
            new = _rule_conjugate(list(primitive.args))
            if new is not None:
                return content * new
    return node


def hypots(expr: sp.Expr) -> sp.Expr:
    """sqrt(u^2 + c) with c > 0 -> hypot(u, sqrt(c)): no overflow of u^2 for |u| > 1e154."""

    def rewrite(p: sp.Pow) -> sp.Expr:
        q = p.base
        if not q.is_Add or len(q.args) != 2:
            return p
        for sq, c in (q.args, q.args[::-1]):
            if sq.is_Pow and sq.exp == 2 and c.is_positive:
                h = hypot(sq.base, sp.sqrt(c))
                return h ** (2 * p.exp)
        return p

    return expr.replace(
        lambda e: e.is_Pow and e.exp.is_Rational and e.exp.q == 2, rewrite)


def _small_rational_polynomial(expr: sp.Expr, x: sp.Symbol) -> bool:
    if not expr.has(x) or not expr.is_polynomial(x):
        return False
    poly = sp.Poly(expr, x)
    return poly.degree() <= 4 and all(c.is_Rational for c in poly.coeffs())


#: Dense sample for numeric proofs: both tails, the middle, and points near zero.
PROOF_SAMPLE = tuple(
    [-700.0, -300.0, -80.0, -35.5, -20.0]
    + [i / 8 for i in range(-120, 121, 3)]
    + [1e-9, -1e-9, 20.0, 35.5, 80.0, 300.0, 700.0]
)


def prove(original: sp.Expr, rewritten: sp.Expr, x: sp.Symbol,
          params: dict[sp.Symbol, float] | None = None) -> bool:
    """rewritten == original: symbolically where SymPy can show it, else numerically with the
    adaptive high-precision reference (>= 60 digits) on ``PROOF_SAMPLE``, agreeing to 30 digits
    (or both below 10^-400: 0 in every floating-point format). A Piecewise is compared by
    numbers only: SymPy's piecewise simplification of sigmoid(x) tanh(x)' ran 280 s, in
    factorizations over Q(i), where the numbers take 0.03 s."""
    params = params or {}
    a = to_elementary(rewritten)
    try:
        if sp.count_ops(a) + sp.count_ops(original) <= 2 * SIMPLIFY_MAX_OPS and not a.has(
            sp.Piecewise
        ) and sp.simplify(a - original) == 0:
            return True
    except Exception:  # noqa: BLE001 -- SymPy may fail on Piecewise/Abs; fall back to numbers
        pass
    ra, rb = Reference(a, x, params), Reference(original, x, params)
    for p in PROOF_SAMPLE:
        va, vb = ra(p), rb(p)
        if abs(va - vb) > abs(vb) * mpmath.mpf(10) ** -30:
            # Both far below any float (or the original cancels beyond what the reference
            # evaluates, e.g. 1 - tanh(u)^2 at u = -18000): no difference code could show.
            if max(abs(va), abs(vb)) < _NEGLIGIBLE:
                continue
            return False
    return True


#: Below this both sides are 0 in every floating-point format (a clamped polynomial argument
#: gives e^-1200 where the definition gives e^-12000000): equal as far as code can tell.
_NEGLIGIBLE = mpmath.mpf(10) ** -400


# ------------------------------------------------------------ exponents in double-double


class _NotPolynomial(Exception):
    pass


def _odd_same_sign(q: sp.Expr, t: sp.Symbol, w: sp.Symbol) -> sp.Expr:
    """|q(t)| = s q(w) with w = |t| when q is an odd polynomial whose coefficients share a
    sign s (|a t + b t^3| = |a| w + |b| w^3 for ab > 0)."""
    if not q.is_polynomial(t):
        raise _NotPolynomial
    coeffs = [c for c in sp.Poly(q, t).all_coeffs() if c != 0]
    if not coeffs or not all(c.is_number and c.is_real for c in coeffs):
        raise _NotPolynomial
    if sp.expand(q.xreplace({t: -t}) + q) != 0 or len({c > 0 for c in coeffs}) != 1:
        raise _NotPolynomial
    return (1 if coeffs[0] > 0 else -1) * q.xreplace({t: w})


def polynomial_exponent(arg: sp.Expr, x: sp.Symbol) -> tuple[sp.Expr, list[sp.Expr]] | None:
    """(w, [c_n, ..., c_0]) when ``arg`` = sum c_k w^k with numeric c_k, w = x_c or |x_c|, x_c x
    clamped to a finite interval (so w's Veltkamp split cannot overflow); else None."""
    clamps = [m for m in arg.atoms(sp.Max, sp.Min) if m.has(x)]
    outer = [m for m in clamps if not any(o != m and o.has(m) for o in clamps)]
    if len(outer) != 1 or outer[0].free_symbols != {x}:
        return None
    xc = outer[0]
    if not all(xc.subs(x, end).is_finite for end in (sp.oo, -sp.oo)):
        return None
    t, w = sp.Dummy("t", real=True), sp.Dummy("w", nonnegative=True)
    e = arg.xreplace({xc: t})
    if e.has(x):
        return None
    try:
        e = e.replace(lambda n: isinstance(n, sp.Abs), lambda n: _odd_same_sign(n.args[0], t, w))
    except _NotPolynomial:
        return None
    if e.has(t):
        if not e.is_polynomial(t):
            return None
        if e.has(w) or sp.expand(e.xreplace({t: -t}) - e) == 0:
            if sp.expand(e.xreplace({t: -t}) - e) != 0:
                return None
            e = e.xreplace({t: w})  # even in t: t^2k = |t|^2k
    var, w_expr = (w, sp.Abs(xc)) if e.has(w) else (t, xc)
    if not e.is_polynomial(var):
        return None
    coeffs = sp.Poly(sp.expand(e), var).all_coeffs()
    if not all(c.is_number and c.is_real for c in coeffs):
        return None
    return w_expr, coeffs


#: |a x + b| where a linear exponent is clamped: e^-1500 g is 0 for every finite g (exp_times
#: and exp_poly scale a subnormal product), e^1500 is inf
LINEAR_EXPONENT_END = 1500


def clamp_linear_exponent(arg: sp.Expr, x: sp.Symbol) -> sp.Expr | None:
    """a x_c + b (a, b numbers, x_c = x or x clamped on one side only) whose evaluation rounds
    (b != 0, or a not a power of two) with x_c clamped where |a x_c + b| reaches
    LINEAR_EXPONENT_END: the same doubles, and a finite interval, so exp_poly compensates it.
    e^{0.3 - 1.5x} lost |0.3 - 1.5x|/2 ULP (23 at x = 11.6 as the cofactor of Gumbel's
    e^{-e^{0.3 - 1.5x}}, ~370 where it underflows). None otherwise."""
    clamps = [m for m in arg.atoms(sp.Max, sp.Min) if m.has(x)]
    outer = [m for m in clamps if not any(o != m and o.has(m) for o in clamps)]
    if len(outer) > 1 or (outer and outer[0].free_symbols != {x}):
        return None
    xc = outer[0] if outer else x
    if all(xc.subs(x, end).is_finite for end in (sp.oo, -sp.oo)):
        return None  # polynomial_exponent's, as it is
    t = sp.Dummy("t", real=True)
    e = sp.expand(arg.xreplace({xc: t}))
    if e.has(x) or not e.is_polynomial(t) or sp.degree(e, t) != 1:
        return None
    a, b = sp.Poly(e, t).all_coeffs()
    if not (a.is_number and a.is_real and b.is_number and b.is_real):
        return None
    scale = float(abs(a))
    if b == 0 and scale == 2.0 ** round(math.log2(scale)) and sp.Rational(float(a)) == a:
        return None  # a power of two times x: exact
    ends = sorted(float((sign * LINEAR_EXPONENT_END - b) / a) for sign in (-1, 1))
    bounded = sp.Max(sp.Float(math.floor(ends[0])), sp.Min(sp.Float(math.ceil(ends[1])), xc))
    return arg.xreplace({xc: bounded})


_SAFE_NODES = (sp.exp, exp_times, exp_poly, sp.Min, sp.Max)


def _bare_skeleton(g: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """g's arithmetic on bare x: every function application and clamp (computed safely by its
    own printing) read as 1."""
    if not g.args or g == x:
        return g
    if isinstance(g, _SAFE_NODES) or isinstance(g, sp.Function):
        return sp.S.One
    args = (_bare_skeleton(a, x) for a in g.args)  # unevaluated: (c x + 1)/(E + 1) stays
    return g.func(*args, evaluate=False) if isinstance(g, (sp.Add, sp.Mul, sp.Pow)) \
        else g.func(*args)


def _overflows_inside(g: sp.Expr, x: sp.Symbol, side: int) -> bool:
    """Does g's arithmetic on bare x (``_bare_skeleton``) pass the largest double at
    x = side * 1.99 * 2^1023, evaluated in double (1.702 x is inf there though g itself may be
    finite)?"""
    edge = np.float64(side * 2.0**1023 * 1.99)
    for sub in sp.preorder_traversal(_bare_skeleton(g, x)):
        if sub.has(x) and not sub.is_Symbol:
            try:
                with np.errstate(all="ignore"):
                    value = sp.lambdify([x], sub, modules="numpy")(edge)
            except (TypeError, ValueError, NameError, ZeroDivisionError):
                return False
            if not np.all(np.isfinite(value)):
                return True
    return False


def _mp_log_abs(f: sp.Expr, x: sp.Symbol, v: float) -> float:
    """log|f(v)| by mpmath at 30 digits (its exponents are unbounded: e^{-2^1023} is quick,
    where SymPy's evalf takes minutes); -inf for 0."""
    fn = sp.lambdify([x], f.rewrite(sp.exp), modules=["mpmath"])
    with mpmath.workdps(30):
        value = abs(fn(mpmath.mpf(v)))
        return -math.inf if value == 0 else float(mpmath.log(value))


def _arm_domains(pw: sp.Piecewise, x: sp.Symbol) -> list[tuple[float, float]]:
    """The (lo, hi) bounds on x of each arm of ``pw`` (its condition and not the earlier
    ones'), as floats; (-inf, inf) where a condition is not an interval in x."""
    out, rest = [], sp.S.Reals
    for _, cond in pw.args:
        bounds = (-math.inf, math.inf)
        try:
            own = rest
            if cond.free_symbols == {x}:
                where = cond.as_set()
                own, rest = rest.intersect(where), rest - where
            if own.is_empty is False and own.inf.is_extended_real and own.sup.is_extended_real:
                bounds = (float(own.inf), float(own.sup))
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            pass  # not an interval SymPy can bound: unbounded (rest stays a superset)
        out.append(bounds)
    return out


def vanishing_cofactor(g: sp.Expr, w: sp.Expr, coeffs: list[sp.Expr], x: sp.Symbol,
                       domain: tuple[float, float] = (-math.inf, math.inf)) -> sp.Expr:
    """g of g e^{P(w)} read at x clamped at +-B on each side where a subexpression of g
    overflows (QuickGELU's x sigma(1.702 x): the 1.702 x of its derivative's cofactor is -inf
    past x = -DBL_MAX/1.702, and inf * 0 was NaN where the value is -0) and the product
    vanishes: B = 2^k the first with P(w(+-B)) <= -LINEAR_EXPONENT_END (e^P is exactly 0 from
    there on, whatever g's finite value) and log|g e^P| < -1100 at B and the probes 2^j B up
    to 2^1023 (the true product rounds to 0 beyond B: the value is unchanged).

    In a Piecewise arm whose ``domain`` (lo, hi) bounds x on a side where g overflows, x is
    clamped there too, at a power of two above the bound: no change on the arm's own
    elements, and g stays finite where the code computes it for all elements (a value the
    arms share is hoisted out of them; `x*exp(-abs(1.5*x-0.2))''` warned of overflow in the
    other arm's 15 x from x = 1.2e307 on)."""
    if not g.has(x):
        return g

    def log_decay(v: float) -> float:
        t = mpmath.mpf(float(w.xreplace({x: sp.Float(v, 30)}).evalf(30)))
        return float(mpmath.polyval([mpmath.mpf(float(c)) for c in coeffs], t))

    bounds = {}
    for side in (1, -1):
        if not _overflows_inside(g, x, side):
            continue
        k = next((k for k in range(1024) if log_decay(side * 2.0**k) <= -LINEAR_EXPONENT_END),
                 None)
        if k is None:
            continue
        try:
            if _mp_log_abs(g, x, side * 2.0**k) >= _LOG_DBL_MAX or any(
                    _mp_log_abs(g, x, side * 2.0**(k + j)) + log_decay(side * 2.0**(k + j))
                    >= -1100 for j in (0, *_VANISH_PROBES) if k + j <= 1023):
                continue
        except (TypeError, ValueError, NameError, OverflowError, ZeroDivisionError,
                MemoryError):
            continue
        bounds[side] = sp.Float(2.0**k)
    for side, edge in ((1, domain[1]), (-1, -domain[0])):
        if side not in bounds and math.isfinite(edge) and _overflows_inside(g, x, side):
            bounds[side] = sp.Float(2.0**(math.floor(math.log2(max(edge, 1.0))) + 1))
    if not bounds:
        return g
    xc = sp.Min(x, bounds[1]) if 1 in bounds else x
    xc = sp.Max(xc, -bounds[-1]) if -1 in bounds else xc

    def bare(e: sp.Expr) -> sp.Expr:  # x outside exponentials and clamps (those are safe)
        if e == x:
            return xc
        if not e.args or isinstance(e, _SAFE_NODES):
            return e
        return e.func(*(bare(a) for a in e.args))

    clamped = bare(g)
    if any(_overflows_inside(clamped, x, side) for side in bounds):
        return g
    return clamped


def _rounds(coeffs: list[sp.Expr]) -> bool:
    """Does evaluating sum c_k w^k in double round? (degree >= 2, or a coefficient that is not
    a double)."""
    if len(coeffs) > 2:
        return True
    return any(not (c.is_Rational and sp.Rational(float(c)) == c) for c in coeffs)


def _decays(found: tuple[sp.Expr, list[sp.Expr]]) -> bool:
    """Is P(w) = sum c_k w^k <= 0 with every term of one sign (w = |x_c| >= 0, every c_k <= 0)?
    Then Horner's scheme adds terms of one sign (no cancellation): P's computed value is within
    gamma_2n |P| of P (Higham 5.1)."""
    w, coeffs = found
    return isinstance(w, sp.Abs) and all(bool(c <= 0) for c in coeffs)


def _beside_one(e: sp.Expr) -> bool:
    """Is ``e`` a sum with a constant term >= 1 (the k in k + e^P)?"""
    return e.is_Add and any(a.is_number and a.is_real and bool(a >= 1) for a in e.args)


def exp_polynomials(expr: sp.Expr, x: sp.Symbol, plain: bool = True) -> sp.Expr:
    """e^{P(w)} and exp_times(P(w), g) as exp_poly(g, w, c...) where P is a polynomial in the
    clamped x (or its magnitude) whose evaluation rounds: the exponent is then computed to twice
    double precision, since its rounding error is multiplied by |P| in e^P (gelu_tanh near
    x = -7: |P| = 36, 27 ULP from four roundings of P).

    Except a term e^P of a sum k + e^P with k >= 1, where P <= 0 has terms of one sign
    (``_decays``; gelu_tanh's denominator 1 + e^(-2|u|)): an error dP in P moves k + e^P by
    dP e^P/(k + e^P) relative, and |P| e^P <= 1/e, so P's own roundings (gamma_2n |P|) move the
    sum by under 2n/e units of 2^-53 (and by 0.28 n for gelu_tanh's P): plain e^P costs one
    exponential, the compensated one ~45 NumPy passes. Only where that sum is a factor of the
    result (the path to it passes products, powers and arms only), so its relative error is
    the result's rather than amplified by a cancelling sum."""
    if not expr.has(sp.exp, exp_times):
        return expr

    def fits(v: sp.Expr):
        found = polynomial_exponent(v, x)
        if found is not None and _rounds(found[1]):
            return found
        clamped = clamp_linear_exponent(v, x)
        return None if clamped is None else polynomial_exponent(clamped, x)

    def plain_form(term: sp.Expr) -> sp.Expr | None:
        """e^P by Horner's scheme in w (4 roundings for gelu_tanh's P: the bound above), if
        it may stay plain."""
        if not plain or not isinstance(term, sp.exp):
            return None
        found = fits(term.args[0])
        if found is None or not _decays(found):
            return None
        w, coeffs = found
        horner = sp.S.Zero
        for c in coeffs:
            horner = horner * w + c
        return sp.exp(horner)

    def rewrite(e: sp.Expr, factor: bool = True,
                domain: tuple[float, float] = (-math.inf, math.inf)) -> sp.Expr:
        # factor: e enters the result as a factor (through products, powers, an arm of a
        # Piecewise, exp_times' cofactor), so its relative error is the result's; inside a sum
        # it is not (gelu_tanh' = 1/(1 + E) + x E (..)/(1 + E)^2 cancels next to its root, and
        # one E with two roundings costs ~60 ULP there). domain: the bounds on x of the
        # Piecewise arm e is in.
        if not e.args or not e.has(sp.exp, exp_times):
            return e
        if isinstance(e, sp.Piecewise):
            arms = [ExprCondPair(rewrite(a, factor, d), rewrite(c, False)) for (a, c), d
                    in zip(e.args, _arm_domains(e, x), strict=True)]
            return e if all(a == b for a, b in zip(arms, e.args, strict=True)) \
                else sp.Piecewise(*arms)
        keep = factor and _beside_one(e)
        if isinstance(e, (sp.Mul, sp.Piecewise)):
            inner = [factor] * len(e.args)
        elif isinstance(e, (sp.Pow, ExprCondPair)):
            inner = [factor, False]
        elif isinstance(e, exp_times):
            inner = [False, factor]
        else:
            inner = [False] * len(e.args)
        args = tuple((keep and plain_form(a)) or rewrite(a, f, domain)
                     for a, f in zip(e.args, inner, strict=True))
        if args != e.args:
            e = e.func(*args)
        if isinstance(e, (exp_times, sp.exp)):
            found = fits(e.args[0])
            if found is not None:
                g = e.args[1] if isinstance(e, exp_times) else sp.S.One
                return exp_poly(vanishing_cofactor(g, *found, x, domain), found[0], *found[1])
        return e

    return rewrite(expr)
