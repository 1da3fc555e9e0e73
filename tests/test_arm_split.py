"""symact.arm_split: a piecewise kernel's arms split at Phi's middle/tail switch take each x to
an arm of the same value as the original's arm."""

from __future__ import annotations

import math

import mpmath
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from symact.activation import get
from symact.arm_split import (
    NORMAL_TAIL,
    PHI_ONE,
    normal_cdf_mid,
    normal_cdf_one,
    normal_cdf_small,
    normal_cdf_tail,
    split_arms,
)
from symact.catalog import X
from symact.functions import normal_cdf


def first_true(arms, xv: float) -> int:
    return next(i for i, (_, cond) in enumerate(arms) if bool(cond.subs(X, xv)))


def gelu_kernels():
    return [k.stable for k in get("gelu").kernels if isinstance(k.stable, sp.Piecewise)]


def test_gelu_arm_splits():
    """gelu: x < -1.77 (Gaussian tail), then x Phi(x) as the middle form, as x where Phi(x)
    rounds to 1, and as the tail form."""
    arms = split_arms(gelu_kernels()[0].args)
    assert len(arms) == 4
    assert not arms[0][0].has(normal_cdf)
    assert arms[1][0].has(normal_cdf_mid) and arms[2][0] == X and arms[3][0].has(normal_cdf_tail)


def test_gelu_arm_splits_by_range():
    """NumPy: the middle form's two ranges are arms of their own, split where fdlibm's
    |x|/sqrt 2 reaches 0.84375."""
    arms = split_arms(gelu_kernels()[0].args, by_range=True)
    assert len(arms) == 5
    assert arms[1][0].has(normal_cdf_small) and arms[2][0].has(normal_cdf_one)
    assert arms[3][0] == X and arms[4][0].has(normal_cdf_tail)
    edge = 0.84375 * math.sqrt(2)  # |x| R2 < 0.84375 from here down (within an ULP)
    assert first_true(arms, math.nextafter(edge, 0) * (1 - 1e-15)) == 1
    assert first_true(arms, -edge * (1 + 1e-15)) == 2


def test_phi_one_is_where_phi_rounds_to_one():
    """1 - Phi(u) = erfc(u/sqrt 2)/2 is below half an ULP of 1 (2^-54) from PHI_ONE on, and not
    at the double before it."""
    u = float(PHI_ONE)
    with mpmath.workdps(60):
        q = [mpmath.erfc(mpmath.mpf(v) / mpmath.sqrt(2)) / 2 for v in (u, math.nextafter(u, 0))]
        assert q[0] < mpmath.mpf(2) ** -54 <= q[1]


def test_arm_without_phi_is_kept():
    arms = ((X**2, X < 0), (X, sp.true))
    assert split_arms(arms) == list(arms)


@settings(max_examples=200, deadline=None)
@given(xv=st.floats(min_value=-60, max_value=60), by_range=st.booleans())
def test_same_value_as_the_original_arm(xv, by_range):
    for stable in gelu_kernels():
        split = split_arms(stable.args, by_range=by_range)
        k = first_true(split, xv)
        arm = split[k][0]
        if arm.has(normal_cdf_mid) or arm.has(normal_cdf_one):
            assert abs(xv) < NORMAL_TAIL
        if arm.has(normal_cdf_small):
            assert abs(xv) < 0.84375 * math.sqrt(2) * (1 + 1e-15)
        if arm.has(normal_cdf_one):
            assert abs(xv) >= 0.84375 * math.sqrt(2) * (1 - 1e-15)
        if arm.has(normal_cdf_tail):
            assert abs(xv) >= NORMAL_TAIL
        original = stable.args[first_true(stable.args, xv)][0]
        with mpmath.workdps(30):
            got, want = (sp.N(e.subs(X, sp.Float(xv, 30)), 25) for e in (arm, original))
        # the same value, but where Phi(x) is taken as 1: within 1 - Phi(x) < 2^-54
        assert abs(got - want) <= sp.Float(2.0**-54) * abs(want), (xv, got, want)
