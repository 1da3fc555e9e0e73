"""The double-exponential helpers (symact.exp_dd): g e^{c e^{a u}} with e^{a u} in double-double,
NumPy's and C's, against mpmath at 50 digits, over every u where the result is a nonzero
double (its subnormal tail included), for exponents whose constants are not doubles."""

from __future__ import annotations

import ctypes
import math
import subprocess

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import cc

from symact.functions import exp_exp_times
from symact.printing import C_HELPERS, NUMPY_HELPERS, exp_dd_constants, helper_closure

#: (c, a): Gumbel's e^{-e^{-u}}, TanhExp's e^{-2e^u}, and constants that round in double
#: (c = -e^{3/10} from e^{-e^{0.3 - 1.5 u}}, a = 17/10)
CASES = [(-1, -1), (-2, 1), (-sp.exp(sp.Rational(3, 10)), sp.Rational(-3, 2)),
         (sp.Rational(-3, 10), sp.Rational(17, 10))]
#: measured 1.73 (e^v's rounding, the cofactor's and the product's); e^u rounded first: ~490
BAR = 2.5


def _exact(c, a, u: float):
    """e^{c e^{a u}}; past |a u| = 1000 its limit (0 or 1 - e^{-434}: mpmath cannot hold
    e^{-e^{1e300}})."""
    w = mpmath.mpf(sp.N(a, 60)) * u
    if abs(w) > 1000:
        return mpmath.mpf(0) if w > 0 else mpmath.mpf(1)
    return mpmath.exp(mpmath.mpf(sp.N(c, 60)) * mpmath.exp(w))


def _points(c, a) -> np.ndarray:
    """u from where e^{c e^w} = 1 (w = a u, |c e^w| < 2^-60) to where it is 0 (|c e^w| > 745),
    densely, more densely where it is subnormal (|c e^w| in [708, 745]), and beyond on both
    sides."""
    def u_at(size: float) -> float:  # where |c e^{a u}| = size
        return math.log(size / abs(float(sp.N(c)))) / float(sp.N(a))

    u = np.concatenate([np.linspace(u_at(2**-62), u_at(800), 6001),
                        np.linspace(u_at(700), u_at(750), 501)])
    return np.concatenate([u, [0.0, 1e3, -1e3, 1e300, -1e300]])


def _ulps(got: float, exact) -> float:
    want = float(exact)
    unit = math.ulp(want) if want >= 2.2250738585072014e-308 else 5e-324
    return float(abs(mpmath.mpf(got) - exact)) / unit


def _worst(values, c, a, u) -> tuple[float, float]:
    with mpmath.workdps(50):
        return max((_ulps(g, _exact(c, a, v)), v) for g, v in zip(values.tolist(), u.tolist(),
                                                                   strict=True))


def _numpy_helper():
    ns = {"np": np}
    for name in sorted(helper_closure(["_exp_exp_times"])):
        exec(NUMPY_HELPERS[name], ns)  # noqa: S102 -- symact's own helper code
    return ns["_exp_exp_times"]


@pytest.mark.parametrize("c, a", CASES)
def test_numpy_helper(c, a):
    helper = _numpy_helper()
    u = _points(c, a)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = helper(u, np.ones_like(u), *exp_dd_constants(exp_exp_times(c, a, sp.S.One, 1)))
    err, at = _worst(y, c, a, u)
    assert err <= BAR, (err, at)
    subnormal = (y[:-5] > 0) & (y[:-5] < 2.0**-1022)
    assert subnormal.sum() > 100 and (y[:-5] == 1).sum() > 20  # both ends sampled


def test_numpy_helper_specials():
    """NaN stays NaN; +-inf and huge u give the limits, without a warning; a cofactor that is
    large where e^{cE} is subnormal keeps its digits (exp_times' scaling)."""
    helper = _numpy_helper()
    consts = exp_dd_constants(exp_exp_times(-1, -1, sp.S.One, 1))
    u = np.array([np.nan, np.inf, -np.inf, 1e308, -1e308])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = helper(u, np.ones_like(u), *consts)
        big = helper(np.array([-6.6]), np.array([1e10]), *consts)
    assert np.isnan(y[0]) and list(y[1:]) == [1.0, 0.0, 1.0, 0.0]
    with mpmath.workdps(50):
        assert _ulps(big[0], 1e10 * _exact(-1, -1, -6.6)) <= BAR


@pytest.mark.parametrize("flags", [["-O2"], ["-O3", "-march=native", "-fopenmp-simd",
                                            "-fno-math-errno"]], ids=["accurate", "fast"])
def test_c_helper(tmp_path, flags):
    compiler = cc()
    if compiler is None:
        pytest.skip("no C compiler")
    src = ["#include <math.h>", "#include <stdint.h>", "#include <string.h>",
           "#include <stddef.h>", "#define SYMACT_INLINE static inline"]
    src += [C_HELPERS[h] for h in sorted(helper_closure(["symact_exp_exp_times"]))]
    src.append("""void run(const double *u, double *y, size_t n, const double *k)
{
#pragma omp simd
    for (size_t i = 0; i < n; ++i)
        y[i] = symact_exp_exp_times(u[i], 1.0, k[0], k[1], k[2], k[3], k[4], k[5], k[6]);
}""")
    (tmp_path / "t.c").write_text("\n".join(src))
    subprocess.run([compiler, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                    "-Wno-unknown-pragmas", *flags, "-fPIC", "-shared", str(tmp_path / "t.c"),
                    "-o", str(tmp_path / "t.so"), "-lm"], check=True)
    run = ctypes.CDLL(str(tmp_path / "t.so")).run
    ptr = ctypes.POINTER(ctypes.c_double)
    run.argtypes, run.restype = [ptr, ptr, ctypes.c_size_t, ptr], None
    for c, a in CASES:
        (ch, cl), (ah, al), bounds = exp_dd_constants(exp_exp_times(c, a, sp.S.One, 1))
        k = np.array([ch, cl, ah, al, *bounds])
        u = np.concatenate([_points(c, a), [np.nan]])
        y = np.empty_like(u)
        run(u.ctypes.data_as(ptr), y.ctypes.data_as(ptr), u.size, k.ctypes.data_as(ptr))
        assert np.isnan(y[-1])
        err, at = _worst(y[:-1], c, a, u[:-1])
        assert err <= BAR, (c, a, err, at)
