"""Properties of every kernel over all floats (hypothesis: NaN, +-inf, +-0, subnormals, huge).

Nothing here is keyed by activation name: each kernel's facts are derived from its exact SymPy
expression, evaluated with mpmath (40 digits) on a dense sample plus limits at +-inf:

- range [inf, sup]: a bound that is a limit at +-inf (sigmoid < 1) must hold exactly for the
  rounded result (rounding is monotone, so a correctly rounded result never crosses it); a bound
  attained at an interior extremum (silu's minimum) may be crossed by the kernel's ULP bar;
- monotonic pieces: where the exact function is nondecreasing (nonincreasing) between turning
  points, so are the kernel's outputs on sorted inputs (also runs of adjacent floats): float32
  exactly; float64 up to the 8 ULP its 4 ULP bar allows (libm's tanh itself steps back 1 ULP);
- NaN exactly for NaN input; no floating-point warning from the NumPy module;
- NumPy float64 and C double agree within 4 ULP; C float equals C double rounded to float within
  1 ULP; NumPy float32 and C float within 1 ULP.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import KERNEL_IDS, KERNELS, c_array_fn, reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_accuracy import bar_for

from symact.functions import to_elementary

BAR = {"float64": 4, "float32": 1}
RAISE = {"all": "raise"}  # issue 3: every floating-point warning, underflow included
DPS = 40


def floats(width: int = 64):
    """Any float of the width, weighted towards the region where activations bend."""
    return st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True, width=width),
        st.floats(min_value=-40.0, max_value=40.0, width=width),
    )


def arrays(width: int = 64):
    dtype = np.float64 if width == 64 else np.float32
    return st.lists(floats(width), min_size=1, max_size=24).map(lambda v: np.array(v, dtype))


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ULP distance of same-dtype arrays (-0 = +0; NaN = NaN; NaN vs number = huge)."""
    itype = np.int64 if a.dtype == np.float64 else np.int32
    low = np.iinfo(itype).min

    def ordered(v: np.ndarray) -> np.ndarray:
        i = v.view(itype)
        return np.where(i < 0, low - i, i).astype(object)

    d = np.abs(ordered(a) - ordered(b)).astype(float)
    return np.where(np.isnan(a) & np.isnan(b), 0.0,
                    np.where(np.isnan(a) ^ np.isnan(b), np.inf, d))


# --- facts derived from the exact expression ---------------------------------------------

SAMPLE = sorted(
    {i / 64 for i in range(-64 * 60, 64 * 60 + 1)}
    | {s * 10.0**k for k in range(-300, 301, 2) for s in (1, -1)}
    | {s * v for v in (5e-324, 2.2250738585072014e-308, 1e308, 1.7976931348623157e308)
       for s in (1, -1)}
)


@dataclass(frozen=True)
class Bound:
    value: float  # the bound rounded to float64 (mpmath value below)
    exact: mpmath.mpf
    interior: bool  # attained at an interior extremum (tolerance: the ULP bar)


@dataclass(frozen=True)
class Facts:
    low: Bound | None  # None: unbounded below
    high: Bound | None
    pieces: tuple[tuple[float, float, int], ...]  # (x_lo, x_hi, +1 / -1 / 0) monotonic pieces


@functools.cache
def facts(act, kernel) -> Facts:
    x = act.x
    expr = to_elementary(kernel.exact).subs(act.defaults)
    f = sp.lambdify([x], expr, modules="mpmath")
    df = sp.lambdify([x], sp.diff(expr, x).replace(sp.DiracDelta, lambda *a: sp.S.Zero),
                     modules="mpmath")  # almost everywhere: softsign'' has sign(x)
    ref = reference(act, kernel)
    with mpmath.workdps(DPS):
        values = [_value(f, ref, v) for v in SAMPLE]
        lim = (ref(-math.inf), ref(math.inf))
        low = _bound(min, values, lim, df, f)
        high = _bound(max, values, lim, df, f)
        pieces = _pieces(values)
    return Facts(low, high, pieces)


def _value(f, ref, v: float) -> mpmath.mpf:
    """f(v) at DPS digits where that agrees with 3*DPS digits to DPS/2; the adaptive reference
    (slow) where it does not: mish'' near x = 46 cancels 40 digits, softsign'' at 1e300 300."""
    low = f(mpmath.mpf(v))
    with mpmath.workdps(3 * DPS):
        high = f(mpmath.mpf(v))
    if mpmath.isfinite(high) and abs(high - low) <= mpmath.mpf(10) ** (-DPS // 2) * abs(high):
        return +high
    return ref(v)


def _bound(pick, values, lim, df, f) -> Bound | None:
    """inf (pick=min) or sup (pick=max): a limit at +-inf, or an extremum inside."""
    finite_lim = [v for v in lim if not mpmath.isinf(v)]
    if any(mpmath.isinf(v) and (v < 0) == (pick is min) for v in lim):
        return None
    i = values.index(pick(values))
    best_lim = pick(finite_lim) if finite_lim else None
    if best_lim is not None and pick(best_lim, values[i]) == best_lim:
        return Bound(float(best_lim), best_lim, interior=False)
    v = values[i]
    if 0 < i < len(values) - 1:
        a, b = mpmath.mpf(SAMPLE[i - 1]), mpmath.mpf(SAMPLE[i + 1])
        try:
            if df(a) * df(b) < 0:  # a smooth extremum between the neighbours: refine it
                root = mpmath.findroot(df, (a, b), solver="anderson")
                v = pick(v, f(root))
        except (ZeroDivisionError, ValueError, TypeError):
            pass
    return Bound(float(v), v, interior=True)


def _pieces(values) -> tuple[tuple[float, float, int], ...]:
    """Maximal runs of SAMPLE on which the exact values never change direction."""
    rel = mpmath.mpf(10) ** (-DPS + 8)  # below this relative change, flat at any precision
    pieces, start, direction = [], 0, 0
    for i in range(1, len(values)):
        d = values[i] - values[i - 1]
        step = 0 if abs(d) <= rel * max(abs(values[i]), abs(values[i - 1])) else (
            1 if d > 0 else -1)
        if step == 0 or step == direction or direction == 0:
            direction = direction or step
            continue
        # the turn lies in (SAMPLE[i-2], SAMPLE[i]): neither piece includes that span
        pieces.append((SAMPLE[start], SAMPLE[i - 2], direction))
        start, direction = i, 0
    pieces.append((SAMPLE[start], SAMPLE[-1], direction))
    pieces[0] = (-math.inf, *pieces[0][1:])
    pieces[-1] = (pieces[-1][0], math.inf, pieces[-1][2])
    return tuple(pieces)


def test_derived_facts_are_the_known_mathematics():
    """The derivation itself, on facts everyone knows (sigmoid in (0, 1), tanh in (-1, 1),
    monotonic; silu decreasing then increasing, minimum -0.278464542761074 at x = -1.278)."""
    by_name = {a.name + k.suffix: (a, k) for a, k in KERNELS}
    sig = facts(*by_name["sigmoid"])
    assert (sig.low.value, sig.high.value, sig.low.interior) == (0.0, 1.0, False)
    assert sig.pieces == ((-math.inf, math.inf, 1),)
    th = facts(*by_name["tanh"])
    assert (th.low.value, th.high.value) == (-1.0, 1.0)
    assert facts(*by_name["sigmoid_prime"]).high.value == 0.25
    silu = facts(*by_name["silu"])
    assert silu.high is None and silu.low.interior
    assert abs(silu.low.value - -0.2784645427610738) < 1e-15
    (a0, a1, d0), (b0, b1, d1) = silu.pieces
    assert (d0, d1) == (-1, 1) and -1.3 < a1 < -1.2785 < b0 < -1.26


# --- the implementations -----------------------------------------------------------------

def impls(gen, clib, act, kernel, dtype):
    name = act.name + kernel.suffix
    fn = getattr(gen, name)
    out = {"numpy": lambda x: _numpy(fn, x)}
    if clib is not None:
        c = c_array_fn(clib, name, len(act.params), dtype)
        pv = list(act.params.values())
        out["C"] = lambda x: c(x, *pv)
    return out


def _numpy(fn, x):
    with np.errstate(**RAISE):  # a floating-point warning fails the test
        return np.asarray(fn(x))


@pytest.fixture(scope="module")
def maybe_clib(request):
    try:
        return request.getfixturevalue("clib")
    except pytest.skip.Exception:
        return None


def _round(bound: Bound, dtype: str) -> float:
    if dtype == "float64":
        return bound.value
    with mpmath.workprec(24):
        return float(+bound.exact)


def _check_range(y: np.ndarray, fct: Facts, dtype: str, label: str) -> None:
    t = np.dtype(dtype).type
    for bound, side in ((fct.low, -1), (fct.high, 1)):
        if bound is None:
            continue
        limit = t(_round(bound, dtype))
        if bound.interior:  # the kernel's own ULP bar around an attained extremum
            for _ in range(BAR[dtype]):
                limit = np.nextafter(limit, t(side * np.inf))
        bad = y[(y > limit) if side > 0 else (y < limit)]
        assert bad.size == 0, f"{label}: {bad[:3]} beyond {'sup' if side > 0 else 'inf'} {limit}"


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
@given(x64=arrays(64), x32=arrays(32))
@settings(deadline=None)  # the first example derives the facts (mpmath, ~1 s)
def test_nan_iff_nan_and_range(gen, maybe_clib, act, kernel, x64, x32):
    fct = facts(act, kernel)
    for x, dtype in ((x64, "float64"), (x32, "float32")):
        for impl, fn in impls(gen, maybe_clib, act, kernel, dtype).items():
            y = fn(x)
            label = f"{impl} {dtype} {act.name}{kernel.suffix}"
            assert y.dtype == x.dtype and y.shape == x.shape, label
            assert np.array_equal(np.isnan(y), np.isnan(x)), (label, x, y)
            _check_range(y[~np.isnan(y)], fct, dtype, label)


#: Where stable formulas switch branches or exp over/underflows: bases for runs of adjacent
#: floats (besides any float and each kernel's turning points).
SEAMS = [s * v for v in (0.0, 0.5, 1.0, 2.0, 20.0, 36.7, 44.4, 87.3, 88.8, 103.3, 708.0, 709.78,
                         745.13) for s in (1, -1)]


def runs(width: int):
    """A float and its next floats at steps of 1 to 2^e ULPs: where a kernel built from
    branches and rounded operations would wiggle."""
    dtype, itype = (np.float64, np.int64) if width == 64 else (np.float32, np.int32)
    low = int(np.iinfo(itype).min)
    base = st.one_of(st.sampled_from(SEAMS), floats(width))
    steps = st.integers(0, 44 if width == 64 else 20).flatmap(
        lambda e: st.lists(st.integers(1, 2**e), min_size=1, max_size=40))

    def build(args):
        b, st_ = args
        i = int(np.array([b], dtype).view(itype)[0])
        o = i if i >= 0 else low - i
        out = []
        for k in np.cumsum([0, *st_]).tolist():
            oo = o + k
            ii = oo if oo >= 0 else low - oo
            if np.iinfo(itype).min <= ii <= np.iinfo(itype).max:
                out.append(ii)
        x = np.array(out, itype).view(dtype)
        return x[~np.isnan(x)]

    return st.tuples(base, steps).map(build)


def _ordered(y: np.ndarray) -> np.ndarray:
    itype = np.int64 if y.dtype == np.float64 else np.int32
    i = y.view(itype).astype(object)
    return np.where(i < 0, int(np.iinfo(itype).min) - i, i)


#: float32 kernels round a double once: monotonic outright. A float64 kernel within 4 ULP of a
#: monotonic function may step back by at most 2 * 4 ULP (f(a) <= f(b), each result 4 off).
MONOTONIC_SLACK = {"float64": 2 * BAR["float64"], "float32": 0}


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
@given(x64=st.one_of(runs(64), arrays(64)), x32=st.one_of(runs(32), arrays(32)))
@settings(deadline=None, max_examples=200)  # the first example derives the facts (~1 s)
def test_monotonic_on_sorted_inputs(gen, maybe_clib, act, kernel, x64, x32):
    _check_monotonic(gen, maybe_clib, act, kernel, [(x64, "float64"), (x32, "float32")])


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_monotonic_across_seams(gen, maybe_clib, act, kernel):
    """Deterministic: 4000 adjacent floats around every seam and turning point, both dtypes."""
    fct = facts(act, kernel)
    ends = [e for lo, hi, _ in fct.pieces for e in (lo, hi) if math.isfinite(e)]
    cases = []
    for dtype, itype in ((np.float64, np.int64), (np.float32, np.int32)):
        for base in SEAMS + ends:
            if abs(base) > float(np.finfo(dtype).max):
                continue  # not a float of this width
            b = np.array([base], dtype)
            i = b.view(itype)[0].astype(np.int64)
            sign = 1 if base >= 0 else -1  # bit patterns grow away from zero on both sides
            ints = (i + sign * np.arange(-2000, 2000)).astype(itype)
            x = ints.view(dtype)
            cases.append((x[np.isfinite(x)], np.dtype(dtype).name))
    _check_monotonic(gen, maybe_clib, act, kernel, cases)


def _check_monotonic(gen, maybe_clib, act, kernel, cases) -> None:
    fct = facts(act, kernel)
    for x, dtype in cases:
        x = np.sort(x[~np.isnan(x)])
        wide = x.astype(np.float64)  # piece ends are doubles: -1e-308 is -0.0 in float32
        for lo, hi, direction in fct.pieces:
            xs = x[(wide >= lo) & (wide <= hi)]
            if direction == 0 or xs.size < 2:
                continue
            for impl, fn in impls(gen, maybe_clib, act, kernel, dtype).items():
                y = fn(xs)
                o = _ordered(y) * direction
                back = np.maximum.accumulate(o) - o  # how far each result falls behind
                worst = int(back.max())
                slack = MONOTONIC_SLACK[dtype] if dtype == "float32" else (
                    2 * bar_for(act.name + kernel.suffix, dtype))  # a known gap's bar
                assert worst <= slack, (
                    f"{impl} {dtype} {act.name}{kernel.suffix} not "
                    f"{'non-decreasing' if direction > 0 else 'non-increasing'} on [{lo}, {hi}]: "
                    f"steps back {worst} ULP at x={xs[int(np.argmax(back))]!r}")


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
@given(x64=arrays(64), x32=arrays(32))
@settings(deadline=None)  # the first example derives the facts (mpmath, ~1 s)
def test_numpy_c_double_c_float_agree(gen, maybe_clib, act, kernel, x64, x32):
    if maybe_clib is None:
        pytest.skip("no C compiler")
    d = impls(gen, maybe_clib, act, kernel, "float64")
    f = impls(gen, maybe_clib, act, kernel, "float32")
    name = act.name + kernel.suffix
    err = ulps(d["numpy"](x64), d["C"](x64))
    assert err.max() <= BAR["float64"], (name, x64[err.argmax()], err.max())
    c32 = f["C"](x32)
    with np.errstate(over="ignore"):  # a double past FLT_MAX rounds to the float inf
        via_double = d["C"](x32.astype(np.float64)).astype(np.float32)
    err = ulps(c32, via_double)
    assert err.max() <= BAR["float32"], (name, x32[err.argmax()], err.max())
    err = ulps(f["numpy"](x32), c32)
    assert err.max() <= BAR["float32"], (name, x32[err.argmax()], err.max())
