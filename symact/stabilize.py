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

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from .functions import (
    MILLS_K,
    exp_times,
    gauss_clip,
    gauss_times,
    logistic_density,
    mills_ln,
    normal_cdf,
    normal_pdf,
    sigmoid,
    softplus,
    to_elementary,
)

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


def _normal_arg(w: sp.Expr) -> sp.Expr | None:
    """v = sqrt(2) w when that is free of sqrt(2) (erf(v/sqrt2) is a normal distribution), else
    None: Phi(v) is then evaluated at v itself, with no rounded v/sqrt(2) to amplify."""
    v = sp.expand_mul(sp.sqrt(2) * w)
    return None if v.has(sp.sqrt(2)) else v


def _rule_erf(terms: list[sp.Expr]) -> sp.Expr | None:
    """k +- k erf(v/sqrt2) -> 2k Phi(+-v), for any constant k (the 1/2 + erf/2 of a derivative)."""
    consts = [t for t in terms if t.is_number]
    if len(consts) != 1:
        return None
    (k,) = consts
    for t in terms:
        c, f = t.as_coeff_Mul()
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
    e^w - 1 -> expm1(w); k +- k erf(v/sqrt2) -> 2k Phi(+-v)."""
    normal = _rule_erf(terms)
    if normal is not None:
        return normal
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
            elif c == -sign and isinstance(f, sp.erf):
                replacement = sign * sp.erfc(f.args[0])
            elif c == sign and isinstance(f, sp.erf):
                replacement = sign * sp.erfc(-f.args[0])
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
    elif isinstance(node, sp.log):
        new = _rule_log(node.args[0])
    elif isinstance(node, sp.exp):
        new = _rule_exp(node.args[0])
    elif isinstance(node, sp.erfc) and (v := _normal_arg(node.args[0])) is not None:
        new = 2 * normal_cdf(-v)
    if new is None or new == node:
        return node
    return recognize(new)


# ----------------------------------------------------------------------------- pass 2


#: |u| above this is clamped before scaling, so c*|u| cannot overflow; e^(-c*1e300) is 0 anyway.
_CLAMP = sp.Float(1e300)


def _decay(u: sp.Expr) -> sp.Expr:
    """E = e^{-|u|}; for u = c*v with c > 1, e^{-c*min(|v|, 1e300)} so c*|v| never overflows."""
    c, v = u.as_coeff_Mul()
    if abs(c) > 1:
        return sp.exp(-abs(c) * sp.Min(sp.Abs(v), _CLAMP))
    return sp.exp(-sp.Abs(u))


#: Below u = -T, Phi(u) is taken as the Gaussian times the Mills ratio; T = 1.25 sqrt(2), where
#: the erfc argument reaches fdlibm's exponential-form range.
_NORMAL_TAIL = sp.Float("1.7677669529663689", 30)  # prints with every digit
_INV_SQRT_2PI = (1 / sp.sqrt(2 * sp.pi)).evalf(50)
_TAIL_K = (MILLS_K / sp.sqrt(2 * sp.pi)).evalf(50)


def lower(expr: sp.Expr) -> sp.Expr:
    """Pass 2: building blocks into elementary code that is finite for every finite input."""

    def lower_sigmoid(v):
        u, s = _canonical(v)
        e = _decay(u)
        # sigma(u) = (u >= 0 ? 1 : E)/(1+E); sigma(-u) = (u >= 0 ? E : 1)/(1+E)
        hi, lo = (1, e) if s == 1 else (e, 1)
        return sp.Piecewise((hi / (1 + e), u >= 0), (lo / (1 + e), True))

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


def _scale_branch(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    decays = [e for e in expr.atoms(sp.exp) if e.args[0].could_extract_minus_sign()
              and e.args[0].has(sp.Abs)]
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
    if not g.subs(e, 0).has(x):
        return expr  # bounded cofactor: the plain product already keeps its digits
    return exp_times(k * decay.args[0], g.subs(e, decay))


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
            if t.has(x) and inv in sp.Mul.make_args(t):
                u = t * (1 + e)
                terms += [u, -u * e * inv]
            else:
                terms.append(t)
        return sp.Add(*terms)

    return g.replace(lambda n: n.is_Add, split)


#: Beyond |u| = 64, e^{-u^2/2} = e^{-2048} underflows to 0 with any cofactor of moderate growth.
_GAUSS_CLIP = 64


def _gather_gauss(expr: sp.Expr, x: sp.Symbol, cond: sp.Basic = sp.true) -> sp.Expr:
    """A branch linear in Gaussian factors of one argument u, sum_i c_i e^{-u^2/2} g_i, becomes
    one e^{-u^2/2} (sum_i c_i g_i): the cofactor rides inside (subnormal results keep their
    digits). When u = k x, the cofactor reads x clamped to the branch (|u| <= 64), so it never
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


def _expand_exp_products(expr: sp.Expr) -> sp.Expr:
    """Distribute products over sums that hold exponentials, so each term can be recognized
    (``(x + e^x + 1) e^x/(e^x+1)^2`` -> ``x e^x/(..) + e^{2x}/(..) + ...``)."""
    return expr.replace(
        lambda e: e.is_Mul and any(a.is_Add and a.has(sp.exp) for a in e.args),
        lambda e: sp.expand_mul(e),
    )


def stabilize(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The numerically sound equivalent of ``expr`` (a function of ``x``), ready to print."""
    if isinstance(expr, sp.Piecewise):
        expr = sp.Piecewise(*[(stabilize(e, x), c) for e, c in expr.args])
        return sp.piecewise_fold(expr)
    recognized = recognize(_expand_exp_products(expr))
    return scale_tails(lower(recognized), x)


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
    (or both below 10^-900, where the reference itself settles to 0)."""
    from .verify import Reference  # verify depends on nothing here; imported late to stay light

    params = params or {}
    a = to_elementary(rewritten)
    try:
        if sp.simplify(a - original) == 0:
            return True
    except Exception:  # noqa: BLE001 -- SymPy may fail on Piecewise/Abs; fall back to numbers
        pass
    ra, rb = Reference(a, x, params), Reference(original, x, params)
    tiny = mpmath.mpf(10) ** -900  # the reference settles to 0 below 10^-960: no digits to compare
    for p in PROOF_SAMPLE:
        va, vb = ra(p), rb(p)
        if abs(va) < tiny and abs(vb) < tiny:
            continue
        if abs(va - vb) > abs(vb) * mpmath.mpf(10) ** -30:
            return False
    return True
