"""Generated NumPy and C kernels against the SymPy definition, evaluated by mpmath.

Foundation bar: error <= 1e-12 * max(|exact|, 1) for |x| <= 20 (grid + hypothesis).
Whole-range bar: <= 4 ULP in float64 over the whole float range (ill-conditioned points next to
an interior root are counted apart), <= 1 ULP in float32; exact at +-0 and +-inf; NaN -> NaN;
no overflow/invalid/divide-by-zero warning from NumPy.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile

import mpmath
import numpy as np
import pytest
from conftest import KERNEL_IDS, KERNELS, c_array_fn, reference
from hypothesis import given, settings
from hypothesis import strategies as st

from symact.verify import FORMATS, Conditioning, measure, round_to, whole_range_points

RAISE = dict(all="raise")  # issue 3: every floating-point warning, underflow included
#: Grid density multiplier; `symact accuracy` runs the full density, CI a lighter one.
#: 0.4 keeps CI under an hour for ~125 kernels x 2 dtypes x 4 implementations (a grid step of
#: 2.5 on [-1000, 1000] and 0.25 on [-40, 40], every 4th power of ten); `symact accuracy`
#: measures at density 4, and the diagnosis notes record density-1 runs.
DENSITY = float(os.environ.get("SYMACT_ACCURACY_DENSITY", "0.4"))
F64_BAR, F32_BAR = 4.0, 1.0
#: Known gaps, measured and tracked in the issue notes (never silently widened). None since
#: session 5: the four of session 4 (mish' 5.88, mish'' 8.22, gelu_tanh' 4.40, gelu_tanh'' 6.87
#: ULP) are evaluated in double-double (ddeval) and measure 1.9 / 2.5 / 2.5 / 3.4.
KNOWN_GAPS: dict[tuple[str, str], float] = {}


#: The fast C build (-DSYMACT_FAST_LIBM: glibc's vector libm; its exp measured 2.7 ULP) has its
#: own measured float64 bound, recorded in README (worst: gelu' 4.37 ULP at x = -6.07, session
#: 12; the grid here does not reach it: test_fast_build_worst_points does).
FAST_F64_BAR = 4.5
#: Where the fast build's gelu' measured over 4 ULP on 21970 points (session 12; x = -37.64,
#: 4.58 before e^v's subnormal window counted exp's error once).
FAST_WORST = {"gelu_prime": (-37.64375, -29.02493565002508, -17.05625, -11.318749999999998,
                             -6.065638549616864, -5.7897393807700865)}


def bar_for(name: str, dtype: str, impl: str = "") -> float:
    bar = KNOWN_GAPS.get((name, dtype), F64_BAR if dtype == "float64" else F32_BAR)
    if impl == "c_fast" and dtype == "float64":
        return max(bar, FAST_F64_BAR)
    return bar


def numpy_fn(gen, name):
    fn = getattr(gen, name)

    def call(x):
        with np.errstate(**RAISE):
            return fn(x)

    return call


def implementations(gen, clib, act, kernel, dtype):
    name = act.name + kernel.suffix
    impls = {"numpy": numpy_fn(gen, name)}
    if clib is not None:
        c = c_array_fn(clib, name, len(act.params), dtype)
        impls["c"] = lambda x: c(x, *act.params.values())
        # symact.build's libraries: production flags (vectorized), accurate and fast builds
        for impl, kernels in _built().items():
            impls[impl] = lambda x, k=kernels[name]: k(np.asarray(x, dtype=dtype))
    return impls


@functools.cache
def _built():
    from symact.build import load

    cache = tempfile.mkdtemp(prefix="symact-acc-")
    return {"c_build": load(cache_dir=cache), "c_fast": load(cache_dir=cache, fast=True)}


@pytest.fixture(scope="module")
def maybe_clib(request):
    try:
        return request.getfixturevalue("clib")
    except pytest.skip.Exception:
        return None


SMALL_GRID = [i / 16 for i in range(-320, 321)] + [1e-300, -1e-300, 5e-324, -5e-324]


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_foundation_bar_small_range(gen, maybe_clib, act, kernel):
    ref = reference(act, kernel)
    for impl, fn in implementations(gen, maybe_clib, act, kernel, "float64").items():
        got = fn(np.array(SMALL_GRID))
        for xv, g in zip(SMALL_GRID, got.tolist(), strict=True):
            exact = ref(xv)
            assert abs(mpmath.mpf(g) - exact) <= 1e-12 * max(abs(exact), 1), (impl, xv, g, exact)


@settings(max_examples=30, deadline=None)
@given(xv=st.floats(min_value=-20, max_value=20))
@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_foundation_bar_hypothesis(gen, maybe_clib, act, kernel, xv):
    ref = reference(act, kernel)
    exact = ref(xv)
    for impl, fn in implementations(gen, maybe_clib, act, kernel, "float64").items():
        g = float(fn(np.array([xv]))[0])
        assert abs(mpmath.mpf(g) - exact) <= 1e-12 * max(abs(exact), 1), (impl, xv, g, exact)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_whole_range_ulps(gen, maybe_clib, act, kernel, dtype):
    ref = reference(act, kernel)
    cond = Conditioning(kernel.exact, act.x, act.defaults)
    points = whole_range_points(DENSITY, dtype)
    for impl, fn in implementations(gen, maybe_clib, act, kernel, dtype).items():
        bar = bar_for(act.name + kernel.suffix, dtype, impl)
        report = measure(act.name + kernel.suffix, fn, ref, points, dtype, cond, bar)
        assert report.max_ulp <= bar, (impl, report)


@settings(max_examples=60, deadline=None)
@given(xv=st.floats(allow_nan=True, allow_infinity=True))
@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_whole_range_hypothesis(gen, maybe_clib, act, kernel, xv):
    ref = reference(act, kernel)
    cond = Conditioning(kernel.exact, act.x, act.defaults)
    for dtype in ("float64", "float32"):
        if dtype == "float32" and math.isfinite(xv) and abs(xv) > float(np.finfo("f4").max):
            continue
        x32 = float(np.float32(xv)) if dtype == "float32" else xv
        for impl, fn in implementations(gen, maybe_clib, act, kernel, dtype).items():
            bar = bar_for(act.name + kernel.suffix, dtype, impl)
            report = measure("k", fn, ref, [x32], dtype, cond, bar)  # ill-conditioned: apart
            assert report.max_ulp <= bar, (impl, dtype, xv, report)


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_edges_exact(gen, maybe_clib, act, kernel):
    ref = reference(act, kernel)
    for impl, fn in implementations(gen, maybe_clib, act, kernel, "float64").items():
        special = [0.0, -0.0, math.inf, -math.inf]
        got = fn(np.array(special + [math.nan]))
        for xv, g in zip(special, got[:-1].tolist(), strict=True):
            want = round_to(ref(xv), FORMATS["float64"])  # the correctly rounded value
            assert g == want, (impl, xv, g, want)
        assert math.isnan(got[-1]), impl


@pytest.mark.parametrize("name", sorted(FAST_WORST))
def test_fast_build_worst_points(maybe_clib, name):
    """The fast build's worst known points, against mpmath, within FAST_F64_BAR."""
    if maybe_clib is None:
        pytest.skip("no C compiler")
    act, kernel = next((a, k) for a, k in KERNELS if a.name + k.suffix == name)
    xs = np.array(FAST_WORST[name])
    report = measure(name, _built()["c_fast"][name], reference(act, kernel), xs, "float64")
    assert report.max_ulp <= FAST_F64_BAR, report


def test_numpy_module_shapes_and_dtypes(gen):
    x32 = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    assert gen.sigmoid(x32).dtype == np.float32 and gen.sigmoid(x32).shape == (3, 4)
    assert gen.silu_prime(np.arange(5)).dtype == np.float64
    assert gen.relu([1, -2, 3]).tolist() == [1.0, 0.0, 3.0]
    assert isinstance(gen.softplus(2.0), float)
    assert gen.leaky_relu(-2.0, alpha=0.5) == -1.0
    assert gen.leaky_relu_prime(0.0) == 0.01
    assert gen.swish is gen.silu
    with pytest.raises(ValueError, match="alpha"):
        gen.leaky_relu(1.0, alpha=-1.0)


def test_numpy_module_imports_numpy_alone():
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "import sys, generated.activations\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sympy', 'symact', 'mpmath')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_c_scalar_and_float_variants(maybe_clib):
    import ctypes

    if maybe_clib is None:
        pytest.skip("no C compiler")
    f = maybe_clib.symact_sigmoid
    f.argtypes, f.restype = [ctypes.c_double], ctypes.c_double
    ff = maybe_clib.symact_leaky_reluf
    ff.argtypes, ff.restype = [ctypes.c_float, ctypes.c_float], ctypes.c_float
    with mpmath.workdps(50):
        exact = 1 / (1 + mpmath.exp(-mpmath.mpf(-740.0)))
    assert f(-740.0) == float(exact) and f(-740.0) > 0  # subnormal, not 0
    assert ff(-2.0, 0.25) == -0.5
