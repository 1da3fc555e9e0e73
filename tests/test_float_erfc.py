"""symact.float_erfc: erfc to 2^-32 relative for float results, in NumPy (the model the float
cores are measured with) and compiled from generated/activations.c, against mpmath at 50
digits; and where the float cores use it (gelu) and where not (gelu', next to its root)."""

from __future__ import annotations

import ctypes
import subprocess

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import ROOT, cc, reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_float_core import float_api

from symact import float_erfc, get
from symact.emit import (
    FLOAT_CORE_MAX_ULP,
    FLOAT_CORE_ROOT_ULP,
    _float_core,
    _float_error,
    _root_neighbours,
    fold_constants,
)
from symact.functions import erfc_float
from symact.verify import FORMATS, ulp_error

F32 = FORMATS["float32"]
A_MAX = float_erfc.A_MAX
#: w from -8 (erfc = 2 in double) to just below A_MAX, densest where P's error peaks, both
#: sides of 0, the smallest magnitudes, and the doubles next to A_MAX.
GRID = np.unique(np.concatenate([
    np.linspace(-8.0, A_MAX, 20001)[:-1], np.geomspace(1e-300, 1.0, 300),
    -np.geomspace(1e-300, 1.0, 300), [0.0, np.nextafter(A_MAX, 0.0)]]))


def exact_erfc(w: float) -> mpmath.mpf:
    with mpmath.workdps(50):
        return mpmath.erfc(mpmath.mpf(w))


def rel_error(got: float, w: float) -> float:
    exact = exact_erfc(w)
    with mpmath.workdps(50):
        return float(abs(mpmath.mpf(got) / exact - 1))


@pytest.fixture(scope="module")
def c_erfc_float(tmp_path_factory):
    """symact_erfc_float from the generated C, exported by a one-line wrapper, compiled as the
    fast build is (-O3 -march=native: fma in hardware) and plain -O2."""
    compiler = cc()
    if compiler is None:
        pytest.skip("no C compiler")
    out = {}
    for name, flags in (("native", ["-O3", "-march=native", "-fopenmp-simd"]), ("plain", ["-O2"])):
        d = tmp_path_factory.mktemp(f"erfc_{name}")
        src = d / "wrap.c"
        src.write_text(f'#include "{ROOT / "generated" / "activations.c"}"\n'
                       "double erfc_float_c(double w) { return symact_erfc_float(w); }\n")
        lib = d / "liberfc.so"
        subprocess.run([compiler, "-std=c99", *flags, "-fPIC", "-shared", f"-I{ROOT / 'generated'}",
                        str(src), "-o", str(lib), "-lm"], check=True)
        fn = ctypes.CDLL(str(lib)).erfc_float_c
        fn.argtypes, fn.restype = [ctypes.c_double], ctypes.c_double
        out[name] = fn
    return out


def test_numpy_model_within_bound():
    """The NumPy evaluation within REL_BOUND of erfc on the grid (2^-33.2 when written)."""
    got = float_erfc.erfc_float_np(GRID)
    worst = max(rel_error(g, w) for g, w in zip(got.tolist(), GRID.tolist(), strict=True))
    assert worst <= float_erfc.REL_BOUND, worst


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-30.0, max_value=A_MAX, exclude_max=True))
def test_numpy_model_within_bound_anywhere(w):
    assert rel_error(float(float_erfc.erfc_float_np(np.array([w]))[0]), w) <= float_erfc.REL_BOUND


def test_edges():
    """0 from A_MAX on (erfc < 1e-306 there), 2 at and below -A_MAX (erfc(-26.5) rounds to 2),
    NaN for NaN."""
    assert exact_erfc(A_MAX) < 1e-306
    assert float(2 - exact_erfc(A_MAX)) == 2.0
    w = np.array([A_MAX, 30.0, np.inf, -A_MAX, -np.inf, np.nan])
    got = float_erfc.erfc_float_np(w)
    assert got[:5].tolist() == [0.0, 0.0, 0.0, 2.0, 2.0] and np.isnan(got[5])


@pytest.mark.parametrize("build", ["native", "plain"])
def test_c_helper_within_bound(c_erfc_float, build):
    """The compiled helper: within REL_BOUND of erfc on the grid, within 2^-35 relative of the
    NumPy helper the float cores are measured with (C's inline exp, Taylor to degree 9, against
    np.exp), and the same edges."""
    fn = c_erfc_float[build]
    model = float_erfc.erfc_float_np(GRID)
    for w, m in zip(GRID.tolist(), model.tolist(), strict=True):
        g = fn(w)
        assert rel_error(g, w) <= float_erfc.REL_BOUND, (w, g)
        assert abs(g - m) <= 2.0**-35 * abs(m), (w, g, m)
    assert [fn(v) for v in (A_MAX, 1e300, np.inf, -A_MAX, -np.inf)] == [0.0, 0.0, 0.0, 2.0, 2.0]
    assert np.isnan(fn(np.nan))


def test_fit_reproduces_the_coefficients():
    """P is what fit() gives (least squares at Chebyshev nodes, mpmath at 30 digits), up to the
    last digits a different BLAS may change."""
    np.testing.assert_allclose(float_erfc.fit(), float_erfc.P, rtol=1e-7, atol=0)


def test_gelu_float_core_takes_it():
    """gelu's float core is x erfc_float(-x/sqrt 2)/2: a product, so erfc_float's 2^-32 moves
    the float result by 2^-8 ULP at most."""
    act = get("gelu")
    kernel = act.kernels[0]
    ref = reference(act, kernel)
    core = _float_core(ref, {"symact_normal_cdf"}, kernel.stable)
    assert core is not None and core.has(erfc_float) and not core.has(sp.erfc), core


def test_gelu_prime_next_to_its_root_keeps_libm_erfc():
    """gelu' = x phi(x) + Phi(x) cancels at its root: with erfc_float the floats next to it are
    far over the bar (so the float core keeps libm's erfc there)."""
    act = get("gelu")
    kernel = act.kernels[1]
    ref = reference(act, kernel)
    with mpmath.workdps(50):
        root = mpmath.findroot(lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t), -0.75)
    base = fold_constants(ref.expr)
    swapped = base.xreplace({e: 2 - sp.erfc(-e.args[0], evaluate=False)
                             for e in base.atoms(sp.erfc)})
    cheap = swapped.replace(sp.erfc, erfc_float)
    near = _root_neighbours((float(root),))
    assert _float_error(cheap, ref, near, FLOAT_CORE_ROOT_ULP) > FLOAT_CORE_ROOT_ULP


#: float32 inputs for gelu: [-15, 6] (where x Phi(x) is neither x nor 0 in float) densely, the
#: float results near the smallest subnormal (x near -14.3), huge and tiny x, and 0.
GELU_POINTS = np.unique(np.concatenate([
    np.linspace(-15.0, 6.0, 8001), np.linspace(-14.5, -13.5, 1001),
    [-3.4e38, -1e5, -40.0, 40.0, 1e5, 3.4e38, 0.0],
    np.geomspace(1e-45, 1.0, 200), -np.geomspace(1e-45, 1.0, 200)]).astype(np.float32))


def gelu_exact(v: float) -> mpmath.mpf:
    with mpmath.workdps(50):
        x = mpmath.mpf(v)
        return x * mpmath.ncdf(x)


@pytest.mark.parametrize("build", ["numpy", "clib", "c_build", "c_fast"])
def test_gelu_float_api(gen, clib, build):
    """gelu's float kernels (erfc_float inside) against mpmath at 50 digits: within
    FLOAT_CORE_MAX_ULP at every point, in the NumPy module (float32 input) and the three C
    builds (the float array kernel)."""
    got = float_api("gelu", build, clib, gen)(GELU_POINTS)
    assert got.dtype == np.float32
    for xv, g in zip(GELU_POINTS.tolist(), got.tolist(), strict=True):
        assert ulp_error(g, gelu_exact(xv), F32) <= FLOAT_CORE_MAX_ULP, (build, xv, g)


def test_numpy_float_kernels_at_the_edges(gen):
    """The NumPy module's float kernels (gelu, gelu'', silu: float cores without libm's erfc)
    give the exact limits at +-inf and NaN for NaN, in float32 and float16, with no warning
    even under np.errstate(all="raise")."""
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0])
    for name, pos, neg in (("gelu", np.inf, 0.0), ("gelu_prime2", 0.0, 0.0), ("silu", np.inf, 0.0)):
        for dtype in (np.float32, np.float16):
            with np.errstate(all="raise"):
                got = getattr(gen, name)(x.astype(dtype))
            assert got.dtype == dtype
            assert got[0] == pos and got[1] == neg and np.isnan(got[2]), (name, dtype, got)
            assert np.all(np.isfinite(got[3:])), (name, dtype, got)
