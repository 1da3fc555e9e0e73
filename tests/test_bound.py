"""Certified magnitude bounds (symact.bound) and the reference's use of them (value_in): the
bound contains |f(x)| computed independently by mpmath at 80 digits, it is tight where nothing
cancels, it claims nothing it cannot show, and value_in answers 0 only where the format rounds
the exact value to 0."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.codegen.cfunctions import log1p

from symact.activation import all_activations
from symact.bound import magnitude
from symact.verify import FORMATS, NEGLIGIBLE, TINY_DD, Reference, ulp_error

x = sp.Symbol("x", real=True)

#: Expressions with every operation the bound evaluates; none cancels on |x| <= 300.
_PHI = sp.erfc(-sp.sqrt(2) * x / 2, evaluate=False) / 2  # as Reference keeps it: erfc(-w)
EXPRESSIONS = [
    x * _PHI,
    sp.sqrt(2) * x * sp.exp(-x**2 / 2) / (2 * sp.sqrt(sp.pi)) + _PHI,
    sp.exp(x) / (1 + sp.exp(x))**2,
    x * sp.tanh(x / 7) * sp.log(2 + sp.exp(x)),
    sp.sinh(x / 3) * sp.erf(x) + sp.Abs(x) ** sp.Rational(1, 2),
    1 / sp.sqrt(1 + x**2) - sp.Float("0.25") * sp.E ** (-sp.Abs(x)),
    sp.cosh(x / 5 - 1) * sp.Abs(x / 3 - sp.pi),  # endpoints of more than 53 bits
    x * log1p(sp.exp(x / 2)),
]


def _exact(expr: sp.Expr, xv: float) -> mpmath.mpf:
    fn = sp.lambdify([x], expr, modules="mpmath")
    with mpmath.workdps(80):
        return abs(+fn(mpmath.mpf(xv)))


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
@settings(max_examples=60, deadline=None)
@given(xv=st.floats(-300, 300, allow_nan=False))
def test_the_bound_contains_the_exact_magnitude(expr, xv):
    bound = magnitude(expr, x, xv)
    assert bound is not None
    exact = _exact(expr, xv)
    assert exact <= bound
    with mpmath.workdps(80):  # tight: within 2^-64 relative, far from a loose bound
        assert bound <= exact * (1 + mpmath.ldexp(1, -64)), (xv, bound)


def test_far_below_every_float_the_bound_still_holds():
    gelu_prime = EXPRESSIONS[1]
    for xv in (-40.0, -80.0, -120.0, -1e3, -1e30):
        bound = magnitude(gelu_prime, x, xv)
        assert bound is not None and bound < mpmath.ldexp(1, -1074 - 64)
        if abs(xv) <= 1e3:
            assert _exact(gelu_prime, xv) <= bound


@pytest.mark.parametrize("expr", [
    sp.Piecewise((x, x > 0), (0, True)),  # not bounded here
    sp.log(x),  # at x = -1: no real value
    sp.gamma(x),  # a function the bound does not know
    1 / (x + 1),  # at x = -1: division by an interval holding 0
])
def test_nothing_is_claimed_where_nothing_can_be_shown(expr):
    assert magnitude(expr, x, -1.0) is None


def test_value_in_is_zero_only_where_the_format_rounds_to_zero():
    act = next(a for a in all_activations() if a.name == "gelu")
    gelu_prime = act.kernels[1].exact
    ref = Reference(gelu_prime, act.x, act.defaults)
    f64, f32 = FORMATS["float64"], FORMATS["float32"]
    for xv in (-40.0, -80.0, -120.0):
        assert ref.value_in(xv, f64) == 0
    assert ref.value_in(-15.0, f32) != 0  # 1.2e-48: rounds to 0 in float32, but not 2^-64 below
    assert ref.value_in(-20.0, f32) == 0
    assert ref.value_in(-20.0, f64) != 0  # 1.1e-86 is a double
    fresh = Reference(gelu_prime, act.x, act.defaults)
    for xv in (-5.0, -20.0, -40.0):  # the ULP error of 0 is what settling gives
        for fmt in (f64, f32):
            assert abs(ulp_error(0.0, ref.value_in(xv, fmt), fmt)
                       - ulp_error(0.0, fresh(xv), fmt)) < 2.0**-60


def test_value_in_does_not_trust_a_cancelled_rough_value():
    # (1 + e^-700) - 1 = 9.86e-305, a normal double: 0 at 20 digits, at 40 and at 80, and
    # intervals at 100 bits cannot show it is small
    expr = sp.Add(1, sp.exp(-x), -1, evaluate=False)
    ref = Reference(expr, x)
    got = ref.value_in(700.0, FORMATS["float64"])
    assert got != 0
    assert abs(got / mpmath.exp(-700) - 1) < mpmath.mpf(10) ** -30
    assert ulp_error(float(np.exp(-700.0)), got, FORMATS["float64"]) <= 1.0


@pytest.mark.parametrize("expr, xs", [
    (sp.Rational(1, 2) + sp.erf(x) / 2, (-30.0, -5.0, 0.5, 8.0)),
    (3 - 3 * sp.erf(x / 4), (-9.0, 20.0, 100.0)),
    (x * (1 + sp.tanh(x + x**3 / 20)) / 2, (-30.0, -12.0, -1.0, 4.0)),
    (2 - 2 * sp.tanh(3 * x), (-5.0, 0.25, 40.0, 300.0)),
    (1 - sp.tanh(sp.log(1 + sp.exp(x)))**2, (-50.0, 0.0, 30.0, 200.0)),
    (x * (2 - 2 * sp.tanh(x)**2) * sp.tanh(x), (-400.0, -1.0, 3.0, 60.0)),
    (sp.log(1 + sp.exp(x)), (-700.0, -100.0, -5.0, 30.0)),
    (x * sp.tanh(sp.log(sp.exp(x) + 1)), (-600.0, -60.0, 2.0)),
])
def test_complements_keep_the_value_and_drop_the_cancellation(expr, xs):
    """Reference's rewrites (verify.erf_complements, tanh_complements, log1p_complements) are
    exact identities: it agrees with the original formula evaluated by mpmath at 5000 digits
    (where nothing is lost even in the tails), and its plain 40-digit evaluation (at40, no
    settling) is right too, which the original formula is not where erf or tanh saturates or
    1 + e^x rounds to 1."""
    ref = Reference(expr, x)
    raw = sp.lambdify([x], expr, modules="mpmath")
    hi, lo = ref.at40(np.array(xs))
    for i, xv in enumerate(xs):
        with mpmath.workdps(5000):
            want = +raw(mpmath.mpf(xv))
        got = ref(xv)
        with mpmath.workdps(60):  # below 1e-400 (0 in every format) settling may give 0
            assert (abs(got - want) <= abs(want) * mpmath.mpf(10) ** -40
                    or max(abs(got), abs(want)) < NEGLIGIBLE), (xv, got, want)
            if abs(want) > TINY_DD:
                assert abs(hi[i] + mpmath.mpf(lo[i]) - want) <= abs(want) * 2.0**-100, xv
