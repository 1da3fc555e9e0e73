"""The vectorized float64 ULP error (verify.ulp_errors, used at generation time) against the
scalar mpmath one (verify.ulp_error): same values across binades, at powers of 2 from either
side, subnormals, zeros, infinities and NaN."""

from __future__ import annotations

import math

import mpmath
import numpy as np

from symact.verify import FORMATS, TINY_DD, ulp_error, ulp_errors


def _cases() -> list[tuple[float, mpmath.mpf]]:
    """(computed, exact) pairs: a few ULPs either side of 2^e, scattered values, specials."""
    rng = np.random.default_rng(7)
    cases = []
    with mpmath.workdps(40):
        for e in (-1074, -1060, -1022, -1021, -500, -1, 0, 1, 52, 500, 1023):
            base = mpmath.ldexp(1, e)
            for rel in (0, 1e-17, -1e-17, 3e-16, -3e-16, 1e-10, -0.25):
                exact = base * (1 + mpmath.mpf(rel))
                for k in (-3, -1, 0, 1, 2, 5):
                    computed = float(exact)
                    for _ in range(abs(k)):
                        computed = math.nextafter(computed, math.copysign(math.inf, k))
                    cases += [(computed, exact), (-computed, -exact)]
        for _ in range(300):
            scale = mpmath.ldexp(1, int(rng.integers(-1070, 1020)))
            exact = mpmath.mpf(float(rng.standard_normal())) * scale
            exact *= 1 + mpmath.mpf(float(rng.standard_normal())) * mpmath.mpf(10) ** -18
            cases.append((float(exact) * (1 + 4e-16 * float(rng.standard_normal())), exact))
    specials = [(0.0, mpmath.mpf(0)), (5e-324, mpmath.mpf(0)), (math.inf, mpmath.inf),
                (-math.inf, mpmath.inf), (math.nan, mpmath.nan), (1.0, mpmath.nan),
                (math.nan, mpmath.mpf(1)), (math.inf, mpmath.mpf(1)),
                (math.inf, mpmath.mpf("1e400")), (1.7976931348623157e308, mpmath.mpf("1e400"))]
    return cases + specials


def test_matches_the_scalar_ulp_error():
    cases = [(c, e) for c, e in _cases() if not 0 < abs(e) < TINY_DD]  # see TINY_DD
    computed = np.array([c for c, _ in cases])
    with mpmath.workdps(40):
        hi = np.array([float(e) for _, e in cases])
        lo = np.array([float(e - h) if math.isfinite(h) else 0.0
                       for (_, e), h in zip(cases, hi, strict=True)])
    got = ulp_errors(computed, hi, lo, FORMATS["float64"])
    for (c, e), g in zip(cases, got.tolist(), strict=True):
        want = ulp_error(c, e, FORMATS["float64"])
        assert (g == want) or abs(g - want) <= 1e-9 * max(1.0, want), (c, e, g, want)


def test_float32_matches_the_scalar_ulp_error():
    fmt = FORMATS["float32"]
    cases = [(float(np.float32(c)), e) for c, e in _cases()
             if not 0 < abs(e) < TINY_DD and abs(c) < 1e39]
    cases += [(float(np.float32(3.4028235e38)), mpmath.mpf("3.4028235677973366e38")),
              (math.inf, mpmath.mpf("3.40282357e38")), (math.inf, mpmath.mpf("3.4e38"))]
    computed = np.array([c for c, _ in cases])
    with mpmath.workdps(40):
        hi = np.array([float(e) for _, e in cases])
        lo = np.array([float(e - h) if math.isfinite(h) else 0.0
                       for (_, e), h in zip(cases, hi, strict=True)])
    got = ulp_errors(computed, hi, lo, fmt)
    for (c, e), g in zip(cases, got.tolist(), strict=True):
        want = ulp_error(c, e, fmt)
        assert (g == want) or abs(g - want) <= 1e-6 * max(1.0, want), (c, e, g, want)


def test_no_exact_value_is_infinitely_wrong():
    assert ulp_errors(np.array([1.0, math.nan]), np.array([math.nan] * 2),
                      np.array([math.nan] * 2), FORMATS["float64"]).tolist() == [math.inf, math.inf]


def test_errors40_below_tiny_dd():
    """Reference.errors40 measures values below TINY_DD against the 40-digit value itself
    (at40 has no double-double there): x^2 e^{-x^2} on 26 < |x| < 30 (1e-294 .. 1e-388) is
    within half an ULP where correctly rounded (by mpmath at 60 digits, from the definition),
    3 ULP off where moved 3 floats, and inf where at40 has no value."""
    import sympy as sp

    from symact.verify import Reference

    x = sp.Symbol("x", real=True)
    ref = Reference(x**2 * sp.exp(-x**2), x)
    xs = np.concatenate([np.linspace(26.0, 30.0, 41), -np.linspace(26.0, 30.0, 41)])
    with mpmath.workdps(60):
        exact = [mpmath.mpf(v) ** 2 * mpmath.exp(-mpmath.mpf(v) ** 2) for v in xs.tolist()]
    rounded = np.array([float(e) for e in exact])
    fmt = FORMATS["float64"]
    assert ref.errors40(rounded, xs, fmt).max() <= 0.5
    moved = np.array([math.nextafter(math.nextafter(math.nextafter(r, 1), 1), 1)
                      for r in rounded.tolist()])
    tiny = np.abs(rounded) < TINY_DD
    assert tiny.sum() > 40
    errs = ref.errors40(moved, xs, fmt)
    assert np.all((errs[tiny] > 2.5) & (errs[tiny] < 3.5))
    zero = Reference(sp.exp(-x**2) - sp.exp(-x**2) * (1 - sp.exp(-x**2)), x)  # = e^{-2x^2}
    # at 40 digits 1 - e^{-x^2} is 1 at x = 30: the value cancels to exactly 0, no value then
    assert math.isinf(zero.errors40(np.zeros(1), np.array([30.0]), fmt)[0])
