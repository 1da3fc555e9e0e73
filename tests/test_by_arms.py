"""The NumPy helper that evaluates each branch of a Piecewise on its own elements (_by_arms)
agrees with evaluating every branch everywhere and selecting (np.select), and never calls an
arm on an element it does not take; the in-place printer uses it for a Piecewise with a costly
helper in an arm."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from symact.functions import normal_cdf
from symact.inplace import inplace_lines
from symact.printing import NUMPY_HELPERS, NumpyPrinter, helper_closure


@pytest.fixture(scope="module")
def helpers():
    namespace = {"np": np}
    exec(NUMPY_HELPERS["_by_arms"], namespace)  # noqa: S102 -- symact's own helper code
    return namespace


def _recording(fn, seen):
    def arm(*args):
        seen.append(args[0].copy())
        return fn(*args)
    return arm


floats = arrays(np.float64, st.integers(0, 40),
                elements=st.floats(allow_nan=True, allow_infinity=True, width=64))


@settings(max_examples=200, deadline=None)
@given(x=floats)
def test_by_arms_is_a_first_true_select(helpers, x):
    conds = (x < -1.0, (x > 2.0) | (x < -3.0))  # overlapping: the first true one wins
    arms = (lambda v: v * 3.0, lambda v, w: v - w, lambda v: np.sqrt(np.abs(v)) + 1.0)
    with np.errstate(all="ignore"):
        expected = np.select(list(conds), [arms[0](x), arms[1](x, 0.5)], arms[2](x))
        seen: list[np.ndarray] = []
        r = np.full(x.shape, 7.0)
        helpers["_by_arms"](r, conds, (_recording(arms[0], seen), x),
                            (_recording(arms[1], seen), x, 0.5), (_recording(arms[2], seen), x))
    assert np.array_equal(r.view(np.int64), expected.view(np.int64))
    # each arm saw exactly its own elements (NaN: no condition holds, the last arm)
    taken = [conds[0], ~conds[0] & conds[1], ~conds[0] & ~conds[1]]
    seen_iter = iter([s for s in seen if s.size])
    for mask in taken:
        if mask.any():
            assert np.array_equal(next(seen_iter), x[mask], equal_nan=True)
    assert next(seen_iter, None) is None


@settings(max_examples=100, deadline=None)
@given(x=arrays(np.float64, st.tuples(st.integers(0, 5), st.integers(0, 5)),
                elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_by_arms_on_a_2d_array(helpers, x):
    """As _normal_cdf calls it: any shape, args of that shape, the result in a fresh array."""
    mask = x >= 0
    with np.errstate(all="ignore"):
        expected = np.where(mask, np.log1p(x), -x * 2.0)
        r = np.empty(x.shape)
        helpers["_by_arms"](r, (mask,), (np.log1p, x), (lambda v, w: -v * w, x, 2.0))
    assert np.array_equal(r.view(np.int64), expected.view(np.int64))


def test_costly_arm_is_printed_by_arms_and_cheap_ones_as_selects():
    x = sp.Symbol("x", real=True)
    costly = sp.Piecewise((sp.exp(x), x < -2), (x * normal_cdf(x), True))
    cheap = sp.Piecewise((sp.exp(x), x < -2), (x, True))
    lines, _ = inplace_lines(costly, x, NumpyPrinter())
    # Phi's forms are arms of their own (arm_split, by_range): one level of _by_arms
    assert any(line.startswith("_by_arms(r, (take0, take1, take2, take3), ") for line in lines)
    assert not any("_select" in line or "_normal_cdf(" in line for line in lines)
    lines, _ = inplace_lines(cheap, x, NumpyPrinter())
    assert any(line.startswith("_select(") for line in lines)
    assert not any("_by_arms" in line for line in lines)


def _phi_kernel():
    """An arm with Phi of a computed argument, split at Phi's ranges of u = 1 - 2x (not x)."""
    x = sp.Symbol("x", real=True)
    expr = sp.Piecewise((sp.exp(x), x > 3), (x * normal_cdf(1 - 2 * x), True))
    printer = NumpyPrinter()
    lines, scratch = inplace_lines(expr, x, printer)
    namespace = {"np": np}
    for h in helper_closure(sorted(printer.helpers)):
        exec(NUMPY_HELPERS[h], namespace)  # noqa: S102 -- symact's own helper code
    return lines, scratch, namespace


@settings(max_examples=60, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 30), elements=st.floats(-30, 30, width=64)))
def test_phi_split_by_range_matches_mpmath(x):
    """Each element takes its own range of Phi(1 - 2x), and the value is mpmath's (50 digits)
    within 4 ULP: a wrong range's rational form is off by far more."""
    import mpmath

    lines, scratch, namespace = _phi_kernel()
    r = np.empty_like(x)
    namespace.update(x=x, r=r, n=x.size, s=[np.empty(x.size) for _ in range(scratch)])
    exec("\n".join(lines), namespace)  # noqa: S102 -- symact's own printed code
    with mpmath.workdps(50):
        for xv, got in zip(x.tolist(), r.tolist(), strict=True):
            xm = mpmath.mpf(xv)
            want = mpmath.exp(xm) if xv > 3 else xm * mpmath.ncdf(1 - 2 * xm)
            if want == 0:
                assert got == 0
                continue
            ulp = np.spacing(abs(float(want)))
            assert abs(mpmath.mpf(got) - want) <= 4 * ulp, (xv, got, want)
