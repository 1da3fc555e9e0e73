"""Double exponentials g e^{c e^{a u}} with e^{a u} in double-double.

In e^{c E}, E = e^w, an error of E relative to itself, d, moves the result by |c E| d relative:
E rounded to double first (d up to 2^-53) costs |c E|/2 units, and |c E| reaches ~745 before
e^{c E} underflows (Gumbel's e^{-e^{-x}} lost 350 units at x = -6.25). Here E = e^w is computed
to ~2^-67 relative as hi + lo (Tang 1989, in double-double):

- w = a u as hi + lo (a exact to 2^-106 as a pair, the product's rounding by TwoProduct);
- w = n ln2/64 + r, n = rint(64 w/ln2), with ln2/64 in three parts (Cody & Waite: n L1 exact),
  r as a pair, |r| <= ln2/128;
- e^r = 1 + r + r^2 P(r), P the Taylor polynomial of degree 5 (error < 2^-72);
- E = 2^k 2^(j/64) e^r, n = 64 k + j, with 2^(j/64) from a 64-entry table of pairs.

Then c E = v + dv (c as a pair too; v = c hi rounded, dv the rest, |dv| < 2^-40 |v|) and
g e^{cE} = e^v (g (1 + dv)): libm's exp of a double, one product, e^v's subnormal tail kept by
exp_times' scaling. The result is within ~2 ULP wherever the value is finite, against ~|c E|/2.

u is clamped to where the result changes: beyond w = log(1500/|c|), |c E| > 1500 and e^{cE} g
is 0 for every finite g whose own factor did not overflow (the rule runs after
clamp_vanishing_products); below w = log(2^-60/|c|), e^{cE} = 1 to the last bit. The rule that
writes exp_exp_times is stabilize.double_exponents; the printers pass the constants
(printing.exp_dd_constants).
"""

from __future__ import annotations

import math

import mpmath

#: |c e^w| beyond which e^{c e^w} g is 0 for any finite g (e^-1500 g < 2^-1074 for g < 1e300)
VANISH = 1500
#: |c e^w| below which e^{c e^w} is 1 in double (1 - 2^-60 rounds to 1)
NEGLIGIBLE = 2.0**-60

with mpmath.workdps(60):
    _LN2_64 = mpmath.log(2) / 64
    #: ln2/64 to 32 significant bits, so n L1 is exact for |n| < 2^21
    _m, _e = math.frexp(float(_LN2_64))
    _L1 = math.ldexp(math.floor(_m * 2.0**32) / 2.0**32, _e)
    _L2 = float(_LN2_64 - mpmath.mpf(_L1))
    _L3 = float(_LN2_64 - mpmath.mpf(_L1) - mpmath.mpf(_L2))
    _INV = float(64 / mpmath.log(2))
    _TABLE = [(float(t), float(t - mpmath.mpf(float(t))))
              for t in (mpmath.power(2, mpmath.mpf(j) / 64) for j in range(64))]
#: 1.5 * 2^52: w*64/ln2 + SHIFTER rounds to an integer n, held in the low bits of the sum
_SHIFTER = 6755399441055744.0
_SHIFTER_BITS = 0x4338000000000000
#: Taylor coefficients 1/2, 1/6, ..., 1/5040 of (e^r - 1 - r)/r^2
_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(2, 8))


def _poly(r: str) -> str:
    """r^2 (1/2 + r (1/6 + ...)) in Horner form."""
    inner = repr(_TAYLOR[-1])
    for c in reversed(_TAYLOR[:-1]):
        inner = f"{c!r} + {r} * ({inner})"
    return f"{r} * {r} * ({inner})"


def _table(index: int) -> str:
    return ", ".join(repr(pair[index]) for pair in _TABLE)


NUMPY = {
    "_exp_exp_times": f'''_EXP_J64_HI = np.array([{_table(0)}])
_EXP_J64_LO = np.array([{_table(1)}])


def _exp_exp_times(u, g, c, a, bounds, out=None):
    """g e^(c e^(a u)) (into out), c = c[0] + c[1] < 0 and a = a[0] + a[1] as double-double
    pairs; e^w, w = a u, to ~2^-67 relative (Tang's table method in double-double: w = n ln2/64
    + r, e^r = 1 + r + r^2 P(r), times 2^(j/64) from a table of pairs, times 2^k), so the
    exponent's own rounding, multiplied by |c e^w| in the result, costs nothing: only e^v
    (v = c e^w rounded) and two products round. bounds = (B, wlo, whi): |u| <= B keeps a u
    finite; past whi the result is 0 (|c e^w| > {VANISH}), below wlo it is g."""
    b, wlo, whi = bounds
    u = np.clip(u, -b, b)
    wh, wl = _two_prod(a[0], u)
    wl = wl + a[1] * u
    wh = np.clip(wh, wlo, whi)
    t = np.asarray(wh * {_INV!r} + {_SHIFTER!r})
    n = t - {_SHIFTER!r}
    bits = t.view(np.int64) - {_SHIFTER_BITS}  # n (garbage where w is NaN, then discarded)
    j = bits & 63
    scale = (((bits - j) >> 6) + 1023 << 52).view(np.float64)  # 2^k, n = 64 k + j
    p, pe = _two_prod(n, {_L2!r})
    rh, rl = _two_sum(wh - n * {_L1!r}, -p)  # wh - n L1 is exact (Sterbenz)
    rl = ((rl - pe) - n * {_L3!r}) + wl
    r = rh + rl  # P at r, not rh: rl may be a ULP of w, and P'(r) rl = r rl
    s, se = _two_sum(1.0, rh)
    se = se + (rl + {_poly("r")})
    th, tl = _EXP_J64_HI[j], _EXP_J64_LO[j]
    eh, el = _two_prod(th, s)
    el = el + (th * se + tl * s)  # |el| < 2^-16 eh (s carries r^2 P(r) in se): renormalized
    e = eh + el
    el -= e - eh
    e *= scale
    el *= scale
    v, dv = _two_prod(c[0], e)
    dv = dv + (c[0] * el + c[1] * e)
    return _exp_times(v, g + g * dv, out)''',
}

C = {
    "symact_exp_exp_times": f'''/* 2^(j/64) = hi + lo, j = 0..63, to 2^-106 */
static const double symact_exp_j64[64][2] = {{
{chr(10).join(f"    {{{hi!r}, {lo!r}}}," for hi, lo in _TABLE)}
}};

/* g e^(c e^(a u)), c = ch + cl < 0 and a = ah + al as double-double pairs; e^w, w = a u, to
 * ~2^-67 relative (Tang's table method in double-double: w = n ln2/64 + r with ln2/64 in three
 * parts, e^r = 1 + r + r^2 P(r), times 2^(j/64) from a table of pairs, times 2^k), so the
 * exponent's own rounding, multiplied by |c e^w| in the result, costs nothing: only e^v
 * (v = c e^w rounded) and two products round. |u| <= b keeps a u finite; past whi the result
 * is 0 (|c e^w| > {VANISH}), below wlo it is g. */
SYMACT_INLINE double symact_exp_exp_times(double u, double g, double ch, double cl, double ah,
                                          double al, double b, double wlo, double whi)
{{
    u = u > b ? b : (u < -b ? -b : u);
    double wh = ah * u;
    const double wl = fma(ah, u, -wh) + al * u;
    wh = wh > whi ? whi : (wh < wlo ? wlo : wh);
    const double t = (wh == wh ? wh : 0.0) * {_INV!r} + {_SHIFTER!r};  /* a NaN stays in wh */
    const double n = t - {_SHIFTER!r};
    int64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits -= INT64_C({_SHIFTER_BITS});  /* n */
    const int j = (int)(bits & 63);
    const uint64_t scale_bits = (uint64_t)((bits - j) / 64 + 1023) << 52;  /* 2^k */
    double scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    const double r1 = wh - n * {_L1!r};  /* exact (Sterbenz) */
    const double p = n * {_L2!r};
    const double pe = fma(n, {_L2!r}, -p);
    const double rh = r1 - p;
    const double z = rh - r1;
    const double rl = ((((r1 - (rh - z)) + (-p - z)) - pe) - n * {_L3!r}) + wl;
    const double r = rh + rl;  /* P at r, not rh: rl may be a ULP of w, and P'(r) rl = r rl */
    const double s = 1.0 + rh;
    const double se = ((1.0 - (s - (s - 1.0))) + (rh - (s - 1.0))) + (rl + {_poly("r")});
    const double th = symact_exp_j64[j][0], tl = symact_exp_j64[j][1];
    const double eh = th * s;
    const double ehl = fma(th, s, -eh) + (th * se + tl * s);  /* < 2^-16 eh: renormalized */
    const double e0 = eh + ehl;
    const double el = (ehl - (e0 - eh)) * scale;
    const double e = e0 * scale;
    const double v = ch * e;
    const double dv = fma(ch, e, -v) + (ch * el + cl * e);
    const double a = symact_exp_arg(v);
    return symact_exp_times_of(v, g + g * dv, a, exp(a));
}}''',
}
