"""Helper code for the normal distribution building blocks (Phi, Mills ratio, Gaussian factor),
one string per target; printing.py merges them into its helper tables.

The rational approximations are fdlibm's s_erf.c (coefficients and ranges). The Gaussian factor
e^{-u^2/2} never sees a rounded u*u in its exponent: NumPy splits u = uh + ul with uh^2 exact
(Veltkamp); C takes u^2 = p + e exactly with e = fma(u, u, -p). NumPy's first middle range
(|u|/sqrt 2 < 0.84375) evaluates erf's rational in u^2 with u/(2 sqrt 2) split exactly, so no
rounded u/sqrt 2 enters and no correction for it is needed. NumPy computes Phi's two middle
ranges, its tail and the ones where Phi rounds to 1 (u >= PHI_ONE) each on its own elements
(_by_arms; a kernel's arm that calls Phi takes them as arms of its own, symact.arm_split),
and picks by sign with integer selects on the bits (_pick). C's helpers are inline and
branch-free (every range computed, one selected), so the array loops calling them vectorize
(with glibc's vector exp/expm1 in the fast build); symact_normal_cdf_mid and _tail are Phi's two
forms apart, for the C loops that take each element by its own arm (symact.arm_split).
"""

from __future__ import annotations

import math

import mpmath

FDLIBM_NOTICE = """\
Coefficients and ranges from fdlibm s_erf.c:
Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
Developed at SunSoft, a Sun Microsystems, Inc. business.
Permission to use, copy, modify, and distribute this software is freely granted,
provided that this notice is preserved."""

#: fdlibm s_erf.c coefficients, by name.
ERX = 8.45062911510467529297e-01
PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
      -5.77027029648944159157e-03, -2.37630166566501626084e-05)
QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
      1.32494738004321644526e-04, -3.96022827877536812320e-06)
PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
      3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
      -2.16637559486879084300e-03)
QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
      1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
      -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
      -8.12874355063065934246e+01, -9.81432934416914548592e+00)
SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
      6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
      6.57024977031928170135e+00, -6.04244152148580987438e-02)
RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
      -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
      -4.83519191608651397019e+02)
SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
      3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
      -2.24409524465858183362e+01)

#: Phi switches to the Gaussian-times-Mills form at |u| = T = 1.25 sqrt(2) (erfc argument 1.25).
NORMAL_TAIL = 1.7677669529663689
#: 1/sqrt(2) = R2 + R2_LO; R2 = R2H + R2L with R2H holding 26 bits (Dekker's product).
R2 = 0.7071067811865476
R2_LO = -4.833646656726457e-17
SPLIT = 134217729.0  # 2^27 + 1, Veltkamp's splitter
R2H = R2 * SPLIT - (R2 * SPLIT - R2)
R2L = R2 - R2H
#: 1/(2 sqrt 2) = K + K_LO (R2/2 and R2_LO/2, exactly); K = KH + KL with KH holding 26 bits.
K = 0.5 * R2
K_LO = 0.5 * R2_LO
KH = K * SPLIT - (K * SPLIT - K)
KL = K - KH
#: 1.5 * 2^26: (u + ROUND_26) - ROUND_26 is u rounded to a multiple of 2^-26 (|u| < 2^25).
ROUND_26 = 1.5 * 2.0**26
#: fdlibm's erf rational on [0, 0.84375) in z^2, as a rational in u^2 = 2 z^2: the k-th
#: coefficient times 2^-k, exactly.
PP_U = tuple(c * 2.0**-k for k, c in enumerate(PP))
QQ_U = tuple(c * 2.0**-k for k, c in enumerate(QQ))
INV_SQRT_PI = 0.5641895835477563
SQRT_PI = 1.7724538509055159
INV_SQRT_2PI = 0.3989422804014327
TAIL_K = 0.40289729917086176  # K/sqrt(2 pi) = e^-0.5625/sqrt(2), K = sqrt(pi) e^-0.5625


def _phi_one() -> float:
    """The least double u with 1 - Phi(u) < 2^-54: from it on Phi(u) rounds to 1 (50 digits)."""
    with mpmath.workdps(50):
        half_ulp = mpmath.mpf(2) ** -54
        u = float(mpmath.findroot(lambda t: mpmath.ncdf(-t) - half_ulp, 8.3))
        while mpmath.ncdf(-mpmath.mpf(u)) >= half_ulp:
            u = math.nextafter(u, math.inf)
        while mpmath.ncdf(-mpmath.mpf(math.nextafter(u, 0))) < half_ulp:
            u = math.nextafter(u, 0)
    return u


#: From this u on (8.2923...), Phi(u) is 1 in double: neither form is needed.
PHI_ONE = _phi_one()


def _horner(var: str, coeffs: tuple[float, ...]) -> str:
    out = repr(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        out = f"{c!r} + {var}*({out})"
    return out


def _comment(prefix: str) -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in
                     FDLIBM_NOTICE.splitlines())


def _tuple(coeffs: tuple[float, ...]) -> str:
    return "(" + ", ".join(repr(c) for c in coeffs) + ")"


NUMPY = {
    "_pick": '''def _pick(r, v, cond):
    """r = v where cond (booleans of r's shape), bit-exactly and branch-free, in place:
    r ^= (r ^ v) * cond on the float64 bits (np.where and np.copyto(where=) branch per
    element: 3-4x slower on random conditions). v, an array of r's shape, is overwritten."""
    ri, vi = r.view(np.int64), v.view(np.int64)
    vi ^= ri
    vi *= cond
    ri ^= vi
    return r''',
    "_rational": '''def _rational(v, num, den, out=None, q=None):
    """num(v)/den(v), coefficients lowest degree first, each by Horner in place: the same
    roundings as c0 + v*(c1 + v*(...)), into out (new by default; q: scratch, or new)."""
    p = np.multiply(v, num[-1], out=out)
    for c in num[-2:0:-1]:
        p += c
        p *= v
    p += num[0]
    q = np.multiply(v, den[-1], out=q)
    for c in den[-2:0:-1]:
        q += c
        q *= v
    q += den[0]
    p /= q
    return p''',
    "_gauss_times": f'''def _gauss_times(u, g, w=0.0):
    """e^(-u^2/2 + w) * g, w small. u = uh + ul (Veltkamp split, uh has 26 bits) so
    -u^2/2 = a + b with a = -uh^2/2 exact and b = -(u - uh)(u + uh)/2 small: the result is
    e^a (g + g expm1(b + w)) and never sees a rounded u*u. Where e^a is subnormal (a < -708),
    (e^(a/2) g') e^(a/2) keeps the product's digits. |u| is clamped to 48 (e^-1152 is 0).
    In place: three arrays of u's shape."""
    u, g, w = np.broadcast_arrays(np.asarray(u, dtype=np.float64),
                                  np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64))
    u = np.clip(u, -48.0, 48.0, out=np.empty(u.shape))
    a = np.multiply(u, {SPLIT!r}, out=np.empty(u.shape))
    a -= a - u  # uh
    b = np.subtract(u, a, out=np.empty(u.shape))
    u += a
    b *= u
    b *= -0.5
    b += w
    gb = np.expm1(b, out=b)
    gb *= g
    gb += g
    a *= a
    a *= -0.5
    tail = a < -708.0
    h = np.exp(0.5 * a[tail]) if tail.any() else None
    r = np.exp(a, out=a)
    r *= gb
    if h is not None:
        r[tail] = h * gb[tail] * h
    return r''',
    "_mills_ln": f'''def _mills_ln(t):
    """rho(t) = ln(t M(t)/K), M(t) = Phi(-t)/phi(t) the Mills ratio, K = sqrt(pi) e^-0.5625:
    fdlibm's erfc(z) = e^(-z^2 - 0.5625 + R(s)/S(s))/z with z = t/sqrt(2), s = 1/z^2 = 2/t^2,
    is M(t) = K e^(R/S)/t. t is clamped to [1.25 sqrt(2), 1e100] (the range of the fit, and no
    overflow); s is formed from t, so no rounded t/sqrt(2) enters. Each range runs on its own
    elements only (_by_arms).
{_comment("    ")}
    """
    t = np.clip(np.asarray(t, dtype=np.float64), {NORMAL_TAIL!r}, 1e100)
    s = 2.0 / (t * t)
    rho = np.empty(s.shape)
    _by_arms(rho, (t < {2 ** 0.5 / 0.35!r},),
             (lambda s: _rational(s, {_tuple(RA)},
                                  {_tuple(SA)}), s),
             (lambda s: _rational(s, {_tuple(RB)},
                                  {_tuple(SB)}), s))
    return rho''',
    "_normal_cdf": f'''def _normal_cdf(u):
    """Phi(u) = erfc(-u/sqrt(2))/2. For |u| >= 1.25 sqrt(2): q = Phi(-|u|) =
    e^(-u^2/2 + rho(|u|)) K/(sqrt(2 pi) |u|) (_gauss_times, _mills_ln), Phi = q or 1 - q. For
    |u|/sqrt(2) < 0.84375: 1/2 + u (1 + R(u^2/2))/(2 sqrt 2), fdlibm's erf rational R, with
    u/(2 sqrt 2) split so that no rounded product enters (_normal_cdf_small). Between: w =
    u/sqrt(2) = p + e exactly (Dekker's product), Phi = erfc(-p)/2 (u < 0) or 1/2 + erf(p)/2
    by fdlibm's rational form around 1, plus e e^(-p^2)/sqrt(pi) for the rounding of w
    (_normal_cdf_one). From u = 8.29 on, Phi rounds to 1. Each of the four runs on its own
    elements only (_by_arms, one level).
{_comment("    ")}
    """
    u = np.asarray(u, dtype=np.float64)
    a = np.abs(u)
    phi = np.empty(u.shape)
    _by_arms(phi, (a * {R2!r} < 0.84375, a < {NORMAL_TAIL!r}, u >= {PHI_ONE!r}),
             (_normal_cdf_small, u), (_normal_cdf_one, u),
             (float, 1.0), (_normal_cdf_tail, u, a))
    return phi


def _normal_cdf_tail(u, a=None):
    """Phi(u) for |u| >= 1.25 sqrt(2) (see _normal_cdf); a = |u|."""
    a = np.abs(u) if a is None else a
    g = np.maximum(a, {NORMAL_TAIL!r})
    np.divide({TAIL_K!r}, g, out=g)
    q = _gauss_times(a, g, _mills_ln(a))
    np.subtract(1.0, q, out=g)
    return _pick(g, q, u < 0)


def _normal_cdf_one(u):
    """Phi(u) for 0.84375 <= |u|/sqrt(2) < 1.25 (see _normal_cdf): fdlibm's form around 1
    (_half_erf_one) plus the correction for the rounding of u/sqrt(2), in place."""
    p = np.multiply(u, {R2!r})
    t = np.multiply(u, {SPLIT!r})
    uh = np.subtract(t, u)
    np.subtract(t, uh, out=uh)
    ul = np.subtract(u, uh)
    e = np.multiply(uh, {R2H!r})
    e -= p
    np.multiply(uh, {R2L!r}, out=t)
    e += t
    np.multiply(ul, {R2H!r}, out=t)
    e += t
    np.multiply(ul, {R2L!r}, out=t)
    e += t
    np.multiply(u, {R2_LO!r}, out=t)
    e += t  # ((uh R2H - p) + uh R2L + ul R2H) + ul R2L + u R2_LO
    r = _half_erf_one(np.abs(p, out=uh), u, ul)
    np.multiply(p, p, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)
    e *= t
    e *= {INV_SQRT_PI!r}
    r += e
    return r


def _normal_cdf_small(u):
    """Phi(u) for |u|/sqrt(2) < 0.84375: 1/2 + u K (1 + R(u^2/2)), K = 1/(2 sqrt 2) and R(z^2)
    fdlibm's erf rational on [0, 0.84375) (erf(z) = z + z R(z^2)), its coefficients scaled to
    u^2 exactly. u K = A + B: A = uh KH exact, uh = u rounded to a multiple of 2^-26 (27 bits
    here) and KH = K's high 26 bits, so 1/2 + A is exact too; B = ul KH + u (KL + K_LO) is
    below 2^-27 |u K|. Phi = (1/2 + A) + (B + u K R), rounded once: no rounded u/sqrt(2)
    enters, so no correction for its rounding is needed (34 passes; fdlibm's form in z plus
    that correction took ~60 and an exp).
{_comment("    ")}
    """
    uh = np.add(u, {ROUND_26!r})
    uh -= {ROUND_26!r}
    ul = np.subtract(u, uh)
    a = np.multiply(uh, {KH!r}, out=uh)
    b = np.multiply(ul, {KH!r}, out=ul)
    c = np.multiply(u, {KL + K_LO!r})
    b += c
    np.multiply(u, u, out=c)
    y = _rational(c, {_tuple(PP_U)},
                  {_tuple(QQ_U)})
    np.multiply(u, {K!r}, out=c)
    y *= c
    y += b
    a += 0.5
    a += y
    return a


def _half_erf_one(z, u, s):
    """erfc(-p)/2 or 1/2 + erf(p)/2 for 0.84375 <= z = |p| <= 1.25 (fdlibm's erf around 1);
    s: scratch.
{_comment("    ")}
    """
    np.subtract(z, 1.0, out=s)
    pq = _rational(s, {_tuple(PA)},
                   {_tuple(QA)})
    np.subtract({1 - ERX!r}, pq, out=s)
    s *= 0.5
    pq += {ERX!r}
    pq *= 0.5
    pq += 0.5
    return _pick(pq, s, u < 0)''',
    "_erf": f'''def _erf(w):
    """erf(w) by fdlibm's s_erf.c: w + w R(w^2) on |w| < 0.84375, erx + P(s)/Q(s) with
    s = |w| - 1 to 1.25, 1 - erfc(|w|) (_erfc_tail) to 6, and +-1 beyond, the sign of w.
    Each range runs on its own elements only (_by_arms)."""
    w = np.asarray(w, dtype=np.float64)
    a = np.abs(w)
    r = np.empty(w.shape)
    _by_arms(r, (a < 0.84375, a < 1.25, a < 6.0),
             (_erf_small, w), (_erf_one, w, a), (_erf_tail, w, a), (np.sign, w))
    return r


def _erfc(w):
    """erfc(w) by fdlibm's s_erf.c: 1 - erf(w) on |w| < 1.25 (fdlibm's two forms, exact
    enough that no digit of the difference is lost), e^(-z^2 - 0.5625) e^((z - a)(z + a) + R/S)/a
    with a = |w| and z = a to 21 bits (z^2 exact) to 28, 2 minus that for w < 0, and 0 or 2
    beyond. Each range runs on its own elements only (_by_arms)."""
    w = np.asarray(w, dtype=np.float64)
    a = np.abs(w)
    r = np.empty(w.shape)
    _by_arms(r, (a < 0.84375, a < 1.25, a < 28.0),
             (_erfc_small, w), (_erfc_one, w, a), (_erfc_far, w, a), (_erfc_beyond, w))
    return r


def _erf_ratio(w):
    """fdlibm's R(w^2) = pp(w^2)/qq(w^2), erf(w) = w + w R on |w| < 0.84375.
{_comment("    ")}
    """
    return _rational(w * w, {_tuple(PP)},
                     {_tuple(QQ)})


def _erf_near_one(a):
    """fdlibm's P(s)/Q(s), s = a - 1: erf(a) = erx + P/Q on 0.84375 <= a < 1.25.
{_comment("    ")}
    """
    return _rational(a - 1.0, {_tuple(PA)},
                     {_tuple(QA)})


def _erfc_tail(a):
    """erfc(a) for 1.25 <= a < 28: e^(-z^2 - 0.5625) e^((z - a)(z + a) + R(s)/S(s))/a,
    s = 1/a^2, z = a with its low 32 bits cleared (so z^2 is exact).
{_comment("    ")}
    """
    s = 1.0 / (a * a)
    rs = np.empty(a.shape)
    _by_arms(rs, (a < {1 / 0.35!r},),
             (lambda s: _rational(s, {_tuple(RA)},
                                  {_tuple(SA)}), s),
             (lambda s: _rational(s, {_tuple(RB)},
                                  {_tuple(SB)}), s))
    z = (np.ascontiguousarray(a).view(np.int64) & -4294967296).view(np.float64)
    rs += (z - a) * (z + a)
    r = np.exp(-z * z - 0.5625)
    r *= np.exp(rs)
    r /= a
    return r


def _erf_small(w):
    return w + w * _erf_ratio(w)


def _erf_one(w, a):
    return np.copysign({ERX!r} + _erf_near_one(a), w)


def _erf_tail(w, a):
    return np.copysign(1.0 - _erfc_tail(a), w)


def _erfc_small(w):
    wy = w * _erf_ratio(w)
    return np.where(w < 0.25, 1.0 - (w + wy), 0.5 - ((w - 0.5) + wy))


def _erfc_one(w, a):
    pq = _erf_near_one(a)
    return np.where(w >= 0, {1 - ERX!r} - pq, 1.0 + ({ERX!r} + pq))


def _erfc_far(w, a):
    r = _erfc_tail(a)
    return np.where(w >= 0, r, 2.0 - r)


def _erfc_beyond(w):
    """erfc(w) for |w| >= 28 (0 or 2, as rounded) and NaN."""
    return np.where(w > 0, 0.0, np.where(w < 0, 2.0, w))''',
}

C = {
    "symact_gauss_times": """\
/* e^(-u^2/2 + w) * g, w small. u^2 = p + e exactly (p = u*u rounded, e = fma(u, u, -p)), so
 * -u^2/2 = a + b with a = -p/2 exact and b = -e/2 tiny: the result is e^a (g + g expm1(b + w))
 * and never sees a rounded u*u in its exponent. Where e^a is subnormal (a < -708),
 * (e^(a + C) g') e^-C keeps the product's digits (symact_exp_arg). |u| is clamped to 48
 * (e^-1152 is 0; e^(a + C) stays normal, so no exp call underflows into the vector libm's slow
 * scalar path).
 * Branch-free (selects only), so loops calling it vectorize. */
SYMACT_INLINE double symact_gauss_times(double u, double g, double w)
{
    u = u > 48.0 ? 48.0 : (u < -48.0 ? -48.0 : u);
    const double p = u * u;
    const double a = -0.5 * p;
    const double gb = g + g * expm1(-0.5 * fma(u, u, -p) + w);
    const double ah = symact_exp_arg(a);
    return symact_exp_times_of(a, gb, ah, exp(ah));
}""",
    "symact_mills_ln": f"""\
/* rho(t) = ln(t M(t)/K), M(t) = Phi(-t)/phi(t) the Mills ratio, K = sqrt(pi) e^-0.5625:
 * fdlibm's erfc(z) = e^(-z^2 - 0.5625 + R(s)/S(s))/z with z = t/sqrt(2), s = 1/z^2 = 2/t^2,
 * is M(t) = K e^(R/S)/t. t is clamped to [1.25 sqrt(2), 1e100] (the range of the fit, and no
 * overflow); s is formed from t, so no rounded t/sqrt(2) enters. Both of fdlibm's ranges are
 * evaluated and one is selected (branch-free, so loops calling it vectorize).
{_comment(" * ")}
 */
SYMACT_INLINE double symact_mills_ln(double t)
{{
    t = t < {NORMAL_TAIL!r} ? {NORMAL_TAIL!r} : (t > 1e100 ? 1e100 : t);
    const double s = 2.0 / (t * t);
    const double near = ({_horner("s", RA)}) / ({_horner("s", SA)});
    const double far = ({_horner("s", RB)}) / ({_horner("s", SB)});
    return t < {2 ** 0.5 / 0.35!r} ? near : far;
}}""",
    "symact_normal_cdf": f"""\
/* Phi(u) = erfc(-u/sqrt(2))/2 for |u| >= 1.25 sqrt(2) (|u| clamped there): q = Phi(-|u|) =
 * e^(-u^2/2 + rho(|u|)) K/(sqrt(2 pi) |u|) (symact_gauss_times, symact_mills_ln), Phi = q or
 * 1 - q. */
SYMACT_INLINE double symact_normal_cdf_tail(double u)
{{
    const double a = fabs(u);
    const double at = a < {NORMAL_TAIL!r} ? {NORMAL_TAIL!r} : a;
    const double q = symact_gauss_times(at, {TAIL_K!r} / at, symact_mills_ln(at));
    return u < 0 ? q : 1.0 - q;
}}

/* Phi(u) for |u| < 1.25 sqrt(2) (u clamped to [-2, 2]): w = u/sqrt(2) = p + e exactly
 * (e = fma(u, R2, -p) + u R2_LO), Phi = erfc(-p)/2 (u < 0) or 1/2 + erf(p)/2, each by fdlibm's
 * rational forms on [0, 0.84375) and [0.84375, 1.25], plus e e^(-p^2)/sqrt(pi) for the rounding
 * of w. Both ranges are evaluated (each on an argument clamped into it) and one is selected:
 * branch-free, so loops vectorize.
{_comment(" * ")}
 */
SYMACT_INLINE double symact_normal_cdf_mid(double u)
{{
    const double m = u < -2.0 ? -2.0 : (u > 2.0 ? 2.0 : u);
    const double p = m * {R2!r};
    const double e = fma(m, {R2!r}, -p) + m * {R2_LO!r};
    const double z = fabs(p) < 1.25 ? fabs(p) : 1.25;
    const double zz = z * z;
    const double y = ({_horner("zz", PP)}) / ({_horner("zz", QQ)});
    const double s = z - 1.0;
    const double pq = ({_horner("s", PA)}) / ({_horner("s", QA)});
    const int small = z < 0.84375;
    const double erf = small ? z + z * y : {ERX!r} + pq;
    const double erfc = small ? (z < 0.25 ? 1.0 - (z + z * y) : 0.5 - ((z - 0.5) + z * y))
                              : {1 - ERX!r} - pq;
    return (m < 0 ? 0.5 * erfc : 0.5 + 0.5 * erf) + e * exp(-(p * p)) * {INV_SQRT_PI!r};
}}

/* Phi(u): the middle or the tail form, both evaluated and one selected (branch-free). The C
 * array loops that take a kernel by arm call the two forms apart, each on its own elements. */
SYMACT_INLINE double symact_normal_cdf(double u)
{{
    const double mid = symact_normal_cdf_mid(u);
    const double tail = symact_normal_cdf_tail(u);
    return fabs(u) < {NORMAL_TAIL!r} ? mid : tail;
}}""",
}
