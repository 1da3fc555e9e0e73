"""erfc to 2^-32 relative in double: what a float result needs, inline and vectorizable.

For a = |w| < A_MAX:  erfc(a) = e^(-a^2) t P(u),  t = 1/(1 + T_SCALE a),  u = U_SCALE t + U_SHIFT,
where u runs over [-1, 1] as a runs over [0, A_MAX] and P (degree 12) is a least-squares
Chebyshev fit of erfcx(a)/t at Chebyshev nodes (``fit``). e^(-a^2) is computed inline:
2^k e^r, k = rint(-a^2/ln 2), r = -a^2 - k ln 2 (|r| <= ln(2)/2), e^r by its Taylor polynomial
of degree 9 (remainder < 2^-37), 2^k put into the exponent bits (a^2 <= 702.25: 2^k stays
normal). erfc(-a) = 2 - erfc(a) (no cancellation: erfc(a) <= 1). For a >= A_MAX, erfc(a) <
1e-306 and the helper gives 0 (and 2 for w <= -A_MAX).

No libm call: the array loops vectorize in both builds (gelu's float loop, 1e7 floats on a Zen 4
core: 2.7 ns/element with glibc's vector erfc, 15 with its scalar erfc, 1.8 with this). Float
cores (symact.emit._float_core) try it in place of erfc and keep it only where the float results
measure within the bar with it. The measurement (emit._float_error) evaluates ``erfc_float_np``:
the NumPy helper the generated module runs on float input, the same steps in place with np.exp
for the inline exp (the two agree within 2^-35). gelu's float core keeps it; gelu' (terms
cancelling next to its root, where 2^-32 of erfc is thousands of float ULPs of the sum) keeps
libm's erfc.
"""

from __future__ import annotations

import mpmath
import numpy as np

from . import normal_helpers

#: erfc(a) below 1e-306 from here on: e^(-a^2) stays a normal double below it.
A_MAX = 26.5
T_SCALE = 0.375
T_MIN = 1.0 / (1.0 + T_SCALE * A_MAX)
U_SCALE = 2.0 / (1.0 - T_MIN)
U_SHIFT = -1.0 - U_SCALE * T_MIN
DEGREE = 12
#: |erfc_float(w) / erfc(w) - 1| over w < A_MAX, measured against 50-digit mpmath
#: (tests/test_float_erfc.py): 2^-33.2 for P, 2^-37 for e^r, a few double roundings.
REL_BOUND = 2.0 ** -32
#: P's coefficients in u, highest power first (``fit()``, rounded to double).
P = (1.372963669376622e-06, -1.0780776813562239e-06, -1.4880149886543649e-05,
     1.4355914347811052e-05, 0.00013079982545485661, -9.22196638360172e-05,
     -0.0013463531252796647, -0.0009693416926052847, 0.013929194986507772, 0.06713908040387329,
     0.17525434223961697, 0.31756129154366164, 0.42839343483277326)
#: ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 trailing zero bits: k LN2_HI is exact (fdlibm).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
#: 1.5 * 2^52: adding it rounds to an integer and leaves the integer in the low bits.
ROUND_SHIFT = 6755399441055744.0
#: e^r's Taylor coefficients 1/k!, k = 0..9, as doubles (remainder < 2^-37).
EXP_TAYLOR = tuple(float(1 / mpmath.factorial(k)) for k in range(10))


def fit(nodes: int = 300, degree: int = DEGREE) -> tuple[float, ...]:
    """P again: erfcx(a)/t, weighted by t/erfcx(a) (relative error), fitted by least squares
    at ``nodes`` Chebyshev nodes of u; coefficients in u, highest power first."""
    k = np.arange(nodes)
    u = np.cos(np.pi * (k + 0.5) / nodes)
    t = (u - U_SHIFT) / U_SCALE
    a = (1.0 / t - 1.0) / T_SCALE
    with mpmath.workdps(30):
        f = np.array([float(mpmath.erfc(mpmath.mpf(ai)) * mpmath.exp(mpmath.mpf(ai) ** 2) / ti)
                      for ai, ti in zip(a.tolist(), t.tolist(), strict=True)])
    cheb = np.polynomial.chebyshev.Chebyshev.fit(u, f, degree, domain=[-1, 1], w=1 / f)
    return tuple(float(c) for c in cheb.convert(kind=np.polynomial.Polynomial).coef[::-1])


def _numpy_horner(coeffs, var: str, out: str) -> list[str]:
    """Statements writing c0 var^n + ... + cn into ``out`` in place, highest power first."""
    lines = [f"np.multiply({var}, {coeffs[0]!r}, out={out})", f"{out} += {coeffs[1]!r}"]
    for c in coeffs[2:]:
        lines += [f"{out} *= {var}", f"{out} += {c!r}"]
    return lines


_NUMPY_BODY = "\n".join(f"    {line}" for line in [
    "neg = m.view(np.int64)[:w.size]",
    "np.less(w, 0.0, out=neg)  # 0/1 as int64: the select at the end",
    "np.abs(w, out=a)",
    f"np.minimum(a, {A_MAX!r}, out=a)  # NaN stays NaN",
    f"np.multiply(a, {T_SCALE!r}, out=t)",
    "t += 1.0",
    "np.reciprocal(t, out=t)",
    f"np.multiply(t, {U_SCALE!r}, out=u)",
    f"u += {U_SHIFT!r}",
    *_numpy_horner(P, "u", "out"),
    "np.multiply(a, a, out=u)",
    "np.negative(u, out=u)",
    "np.exp(u, out=u)",
    "u *= t",
    "np.multiply(u, out, out=out)",
    "far = t.view(np.bool_)[:w.size]",
    f"np.equal(a, {A_MAX!r}, out=far)",
    "np.copyto(out, 0.0, where=far)",
    "np.subtract(2.0, out, out=a)",
    "_pick(out, a, neg)  # 2 - erfc(|w|) where w < 0, bit-exactly and branch-free",
    "return out",
])

#: The NumPy helper (printing.NUMPY_HELPERS): symact_erfc_float's steps in place, with np.exp
#: for its inline exp (the two differ by < 2^-36 relative, far below what float results show).
NUMPY_HELPER = f'''def _erfc_float(w, out, a, t, u, m):
    """erfc(w) to 2^-32 relative into out (may be w), as symact_erfc_float in C: e^(-a^2) t
    P(u), a = |w|, t = 1/(1 + {T_SCALE!r} a), u in [-1, 1], P of degree {DEGREE}; 2 - erfc(|w|)
    for w < 0; 0 for |w| >= {A_MAX!r}. a, t, u, m: float64 scratch of w's size."""
{_NUMPY_BODY}'''

#: The NumPy helper by name (printing.NUMPY_HELPERS).
NUMPY = {"_erfc_float": NUMPY_HELPER}
_namespace: dict = {"np": np}
for _code in (normal_helpers.NUMPY["_pick"], NUMPY_HELPER):
    exec(_code, _namespace)  # noqa: S102 -- symact's own printed code, no user text


def erfc_float_np(w: np.ndarray) -> np.ndarray:
    """erfc_float of an array, by the NumPy helper the generated module runs (a new array;
    NaN for NaN)."""
    w = np.array(w, dtype=np.float64, ndmin=1)
    scratch = [np.empty_like(w) for _ in range(4)]
    with np.errstate(under="ignore"):
        return _namespace["_erfc_float"](w, np.empty_like(w), *scratch)


def _horner(coeffs, var: str) -> str:
    """c0 var^n + ... + cn by multiply-adds (SYMACT_MADD), highest power first. (Horner's
    scheme measured 12% faster than Estrin's here: fewer operations, and a streaming loop's
    vectors overlap.)"""
    out = repr(coeffs[0])
    for c in coeffs[1:]:
        out = f"SYMACT_MADD({out}, {var}, {c!r})"
    return out


C_HELPER = f"""\
/* erfc(w) to 2^-32 relative, for float results (symact.float_erfc): no libm call, so it
 * vectorizes in both builds. a = |w|: erfc(a) = e^(-a^2) t P(u), t = 1/(1 + {T_SCALE!r} a),
 * u = {U_SCALE!r} t - {-U_SHIFT!r} in [-1, 1] (P: degree {DEGREE}, fitted to erfcx(a)/t);
 * e^(-a^2) = 2^k e^r, r = -a^2 - k ln 2, e^r by Taylor to degree 9, 2^k added to the exponent
 * bits (a^2 <= {A_MAX * A_MAX!r}: normal). erfc(-a) = 2 - erfc(a); 0 for a >= {A_MAX!r}
 * (erfc < 1e-306). */
#if defined(FP_FAST_FMA) /* fma in hardware (-mfma, -march=native) */
#define SYMACT_MADD(a, b, c) fma(a, b, c)
#else /* else a libm call each: a multiply and an add instead (the same to 2^-32) */
#define SYMACT_MADD(a, b, c) ((a)*(b) + (c))
#endif
SYMACT_INLINE double symact_erfc_float(double w)
{{
    const double a0 = fabs(w);
    const double a = a0 < {A_MAX!r} ? a0 : {A_MAX!r};
    const double t = 1.0/(1.0 + {T_SCALE!r}*a);
    const double u = SYMACT_MADD(t, {U_SCALE!r}, {U_SHIFT!r});
    const double v = -(a*a);
    double kd = SYMACT_MADD(v, {INV_LN2!r}, {ROUND_SHIFT!r});
    uint64_t kbits, ebits;
    memcpy(&kbits, &kd, sizeof kbits);
    kd -= {ROUND_SHIFT!r};
    const double r = SYMACT_MADD(kd, -{LN2_LO!r}, SYMACT_MADD(kd, -{LN2_HI!r}, v));
    double e = {_horner(EXP_TAYLOR[::-1], "r")};
    memcpy(&ebits, &e, sizeof ebits);
    ebits += kbits << 52;
    memcpy(&e, &ebits, sizeof e);
    const double q = a0 < {A_MAX!r} ? e*t*{_horner(P, "u")} : 0.0;
    return w < 0 ? 2.0 - q : (w >= 0 ? q : w); /* w: NaN */
}}"""

#: The C helper by name (printing.C_HELPERS).
C = {"symact_erfc_float": C_HELPER}
