"""Where e^x is subnormal (x < -708): f = G(x, e^x) with e^x inside tanh, log or erf is
c(x) e^x there (stabilize.subnormal_exp_tail), so a subnormal e^x is never rounded first and
then scaled by c(x). References: mpmath at 400 digits from the definitions."""

from __future__ import annotations

import ctypes

import mpmath
import numpy as np
import pytest
import sympy as sp

from symact.catalog import X
from symact.functions import exp_times
from symact.stabilize import subnormal_exp_tail


def _tail(text: str) -> sp.Expr | None:
    return subnormal_exp_tail(sp.sympify(text, locals={"x": X}), X)


def test_leading_term_of_e_x_inside_functions():
    """d/dE of x tanh(E), x tanh(log(1 + E)), x erf(log(1 + E)) at E = 0: x, x, 2x/sqrt(pi)
    (by hand); the polynomial reads x clamped at -2048, where e^x is long 0."""
    xc = sp.Max(X, -2048)
    assert _tail("x*tanh(exp(x))") == exp_times(X, xc)
    assert _tail("x*tanh(log(1+exp(x)))") == exp_times(X, xc)
    assert _tail("x*erf(log(1+exp(x)))") == exp_times(X, 2 * xc / sp.sqrt(sp.pi))


@pytest.mark.parametrize("text", [
    "x/(1+exp(-x))",        # rational in e^x: its exp_times keeps the digits already
    "log(1+exp(x))",        # c = 1: e^x's one rounding is the result's
    "exp(x) - 1 + x",       # G(x, 0) = x - 1 != 0
    "x*tanh(exp(-x))",      # e^-x: no expansion at e^x = 0
    "x*tanh(exp(x/2))",     # not an integer power of e^x
])
def test_no_tail_where_it_does_not_apply(text):
    assert _tail(text) is None


def _mish(x):
    return x * mpmath.tanh(mpmath.log1p(mpmath.exp(x)))


def _mish_prime(x):
    t = mpmath.tanh(mpmath.log1p(mpmath.exp(x)))
    return t + x * (1 - t * t) / (1 + mpmath.exp(-x))


def _mish_prime2(x):
    """(mish')' by hand: with s = sigma(x), t = tanh(softplus(x)), t' = (1 - t^2) s and
    s' = s (1 - s): 2 t' + x ((1 - t^2) s' - 2 t t' s)."""
    t = mpmath.tanh(mpmath.log1p(mpmath.exp(x)))
    s = 1 / (1 + mpmath.exp(-x))
    tp = (1 - t * t) * s
    return 2 * tp + x * ((1 - t * t) * s * (1 - s) - 2 * t * tp * s)


POINTS = np.concatenate([np.linspace(-760.0, -690.0, 351), [-1e3, -1e300, -1.7e308]])


def _ulps(got: np.ndarray, ref) -> float:
    worst = 0.0
    with mpmath.workdps(400):  # 1 + e^x keeps e^x's digits down to x = -760
        for g, v in zip(got.tolist(), POINTS.tolist(), strict=True):
            exact = ref(mpmath.mpf(v))
            e = float(exact)
            worst = max(worst, float(abs(g - exact)) / np.spacing(abs(e) if e else 5e-324))
    return worst


@pytest.mark.parametrize("suffix,ref", [("", _mish), ("_prime", _mish_prime),
                                        ("_prime2", _mish_prime2)])
def test_catalog_mish_where_e_x_is_subnormal(gen, clib, suffix, ref):
    """mish, mish', mish'' within 4 ULP below x = -708 (353 ULP at x = -711 and 370 at -742
    before, e^x rounded to a subnormal first), in NumPy under errstate(raise) and in C."""
    with np.errstate(all="raise"):
        got = getattr(gen, "mish" + suffix)(POINTS)
    assert _ulps(got, ref) <= 4.0
    fn = getattr(clib, "symact_mish" + suffix)
    fn.argtypes, fn.restype = [ctypes.c_double], ctypes.c_double
    assert _ulps(np.array([fn(v) for v in POINTS.tolist()]), ref) <= 4.0
