"""Quick forms (symact.quick): the formula as written, run on blocks whose inputs all lie in its
measured interval.

References: mpmath at 50 digits (conftest.reference) for every value; for the intervals, facts
derived by hand: e^x overflows a double above x = 709.78, and 1 - tanh(x)^2 rounds to 0 in
double for x > 19.1 while sech(x)^2 does not."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import reference

from symact.activation import all_activations
from symact.quick import QUICK_MAX_ULP, QUICK_MIN_REACH, quick_form
from symact.verify import FORMATS, Conditioning, Reference, round_to, ulp_error

X = sp.Symbol("x", real=True)
EXP_OVERFLOW = 709.79  # log(DBL_MAX) = 709.78...: e^x is inf above it


def _quick_kernels():
    """(activation, kernel, quick function) for every _NAME_quick in the generated module."""
    import generated.activations as module

    found = []
    for act in all_activations():
        for kernel in act.kernels:
            fn = getattr(module, f"_{act.name}{kernel.suffix}_quick", None)
            if fn is not None:
                found.append((act, kernel, fn))
    return found


QUICK = _quick_kernels()
QUICK_IDS = [a.name + k.suffix for a, k, _ in QUICK]


def _geom(a: float, b: float, n: int) -> np.ndarray:
    """n points from a to b, geometrically (np.geomspace overflows on the way to DBL_MAX)."""
    with np.errstate(over="ignore"):
        pts = np.exp(np.linspace(math.log(a), math.log(b), n))
    return np.minimum(pts, b)


def _inside(low: float, high: float) -> np.ndarray:
    """Points of [low, high] (infinite ends: out to +-DBL_MAX): a grid on [-30, 30], both ends
    exactly, geometric tails and tiny |x|; fewer than one block (2**15)."""
    big = float(np.finfo(np.float64).max)
    lo, hi = max(low, -big), min(high, big)
    tails_hi = _geom(30.0, hi, 300)
    tails_lo = -_geom(30.0, -lo, 300)
    tiny = np.geomspace(5e-324, 1e-3, 100)
    xs = np.concatenate([np.linspace(-30, 30, 6001), tails_hi, tails_lo, tiny, -tiny,
                         [lo, hi, 0.0]])
    return np.unique(xs[(xs >= lo) & (xs <= hi)])


def test_some_catalog_kernels_have_quick_forms():
    names = set(QUICK_IDS)
    assert {"sigmoid", "silu", "softplus"} <= names, names


@pytest.mark.parametrize(("act", "kernel", "quick"), QUICK, ids=QUICK_IDS)
def test_quick_path_matches_mpmath(gen, act, kernel, quick):
    """Inside its interval (one block: the quick path runs) the public function is within the
    bars against 50 digits, float64 and float32, and is the quick function's output."""
    assert quick.low <= -QUICK_MIN_REACH and quick.high >= QUICK_MIN_REACH
    ref = reference(act, kernel)
    fn = getattr(gen, act.name + kernel.suffix)
    xs = _inside(quick.low, quick.high)
    with np.errstate(all="raise", under="ignore"):
        got = fn(xs)
    direct = np.empty_like(xs)
    scratch = [np.empty(xs.size) for _ in range(8)]
    with np.errstate(all="ignore"):
        quick(xs, direct, scratch)
    np.testing.assert_array_equal(got, direct)  # the quick path is what ran
    f64, f32 = FORMATS["float64"], FORMATS["float32"]
    worst = max(ulp_error(g, ref(v), f64) for v, g in zip(xs.tolist(), got.tolist(), strict=True))
    assert worst <= 4.0, worst
    with np.errstate(over="ignore"):  # past FLT_MAX: inf, dropped unless inside
        x32 = np.unique(xs.astype(np.float32))
    wide = x32.astype(np.float64)
    x32 = x32[(wide >= quick.low) & (wide <= quick.high)]
    with np.errstate(over="ignore"):
        got32 = fn(x32)
    worst32 = max(ulp_error(float(g), ref(float(v)), f32) for v, g in zip(x32, got32, strict=True))
    assert worst32 <= 1.0, worst32


@pytest.mark.parametrize(("act", "kernel", "quick"), QUICK, ids=QUICK_IDS)
def test_blocks_outside_take_the_stable_form(gen, act, kernel, quick):
    """One point outside the interval (past a finite end, NaN, +-inf) sends its block to the
    stable form: every value still correct."""
    ref = reference(act, kernel)
    fn = getattr(gen, act.name + kernel.suffix)
    extra = [math.nan, math.inf, -math.inf]
    extra += [2 * quick.low, -1e300] if math.isfinite(quick.low) else []
    extra += [2 * quick.high, 1e300] if math.isfinite(quick.high) else []
    xs = np.concatenate([np.linspace(-30, 30, 1001), extra])
    with np.errstate(all="raise", under="ignore"):
        got = fn(xs)
    for v, g in zip(xs.tolist(), got.tolist(), strict=True):
        if math.isnan(v):
            assert math.isnan(g)
            continue
        want = ref(v)
        assert ulp_error(g, want, FORMATS["float64"]) <= 4.0, (v, g, want)


def test_parameters_off_their_defaults_take_the_stable_form(gen):
    """softplus's quick form is measured at beta = 1: beta = 2 (where e^{2x} overflows from
    x = 355 on) and an array beta must still give the exact values."""
    xs = np.linspace(-400, 400, 4001)
    for b in (2.0, np.array(2.0)):
        got = gen.softplus(xs, beta=b)
        with mpmath.workdps(50):
            for v, g in zip(xs[::50].tolist(), got[::50].tolist(), strict=True):
                want = mpmath.log1p(mpmath.exp(2 * mpmath.mpf(v))) / 2
                assert ulp_error(g, want, FORMATS["float64"]) <= 4.0, (b, v, g)


def test_measured_interval_stops_where_the_formula_overflows():
    """1/(1 + e^{-x}) and its rewrite e^x/(e^x + 1): whichever is kept, its interval must not
    reach past the overflow of its exponential (x < -709.78 or x > 709.78 respectively)."""
    exact = 1 / (1 + sp.exp(-X))
    q = quick_form(exact, X, Reference(exact, X), 100, lambda fn: True)
    assert q is not None
    assert q.max_ulp <= QUICK_MAX_ULP
    assert q.low <= -QUICK_MIN_REACH and q.high >= QUICK_MIN_REACH
    if "exp(-x)" in q.formula:
        assert q.low >= -EXP_OVERFLOW
    else:
        assert q.high <= EXP_OVERFLOW


def test_cancelling_formula_is_rejected():
    """1 - tanh(x)^2 is 0 in double from x = 19.1 on, where sech(x)^2 is ~1e-16: no quick form
    (its interval would miss [-30, 30])."""
    exact = 1 - sp.tanh(X) ** 2
    assert quick_form(exact, X, Reference(exact, X), 100, lambda fn: True) is None


def test_quick_form_is_not_kept_when_not_shorter():
    exact = 1 / (1 + sp.exp(-X))
    assert quick_form(exact, X, Reference(exact, X), 4, lambda fn: True) is None


def test_sigmoid_quick_against_hand_values(gen):
    """Hand check near the interval's ends: sigmoid(-745) = e^-745/(1 + e^-745) is the
    smallest subnormal, sigmoid(700) = 1/(1 + e^-700) rounds to 1."""
    got = gen.sigmoid(np.array([-745.0, 700.0, -20.0]))
    with mpmath.workdps(60):
        want = [1 / (1 + mpmath.exp(745)), 1 / (1 + mpmath.exp(-700)), 1 / (1 + mpmath.exp(20))]
    assert got[0] == round_to(want[0], FORMATS["float64"]) == 5e-324
    assert got[1] == 1.0
    assert ulp_error(float(got[2]), want[2], FORMATS["float64"]) <= 4.0


@pytest.mark.parametrize(("act", "kernel", "quick"), QUICK, ids=QUICK_IDS)
def test_each_point_alone_across_the_line(gen, act, kernel, quick):
    """One element per call (its block is quick whenever the generated bounds admit it): a
    sweep of both tails, ratio 1.006 from 30 to 1e4 and coarser out to DBL_MAX, against 50
    digits. A bound in the generated module past where its formula holds fails here. Where
    the kernel is ill-conditioned (|x g'/g| > 100), the error may be that of x rounded once:
    cond * 4 ULP."""
    ref = reference(act, kernel)
    cond = Conditioning(kernel.exact, act.x, act.defaults)
    fn = getattr(gen, act.name + kernel.suffix)
    big = float(np.finfo(np.float64).max)
    tail = np.concatenate([_geom(30.0, 1e4, 1000), _geom(1e4, big, 100)])
    for v in np.concatenate([tail, -tail]).tolist():
        with np.errstate(all="raise", under="ignore"):
            got = float(fn(np.array([v]))[0])
        err = ulp_error(got, ref(v), FORMATS["float64"])
        if err > 4.0 and cond.ill(v):  # as test_accuracy: apart, but only a rounding of x
            assert err <= 4.0 * cond.number(v), (v, got)  # amplified (mish below -708)
        else:
            assert err <= 4.0, (v, got)
