"""Where e^Q is subnormal (Q < -708): f = G(x, e^Q) is c(x) e^Q there (symact.exp_tail), so
a subnormal e^Q is never rounded first and then scaled by c(x), nor summed with another
rounded subnormal. References: mpmath at 400 digits from the definitions; the leading terms
by hand."""

from __future__ import annotations

import ctypes

import mpmath
import numpy as np
import pytest
import sympy as sp

from symact.catalog import X
from symact.exp_tail import subnormal_tails
from symact.functions import exp_poly, exp_times
from symact.stabilize import _stable_part


def _tails(text: str) -> list[tuple[sp.Expr, sp.Expr]]:
    """The tails of TEXT, or of its second derivative for "TEXT (f'')"."""
    second = text.endswith(" (f'')")
    f = sp.sympify(text.removesuffix(" (f'')"), locals={"x": X})
    f = sp.diff(f, X, 2) if second else f
    return subnormal_tails(f, X, _stable_part(f, X), _stable_part)


def test_leading_term_of_e_x_inside_functions():
    """d/dE of x tanh(E), x tanh(log(1 + E)), x erf(log(1 + E)) at E = 0: x, x, 2x/sqrt(pi)
    (by hand); the polynomial reads x clamped at -2048, where e^x is long 0."""
    xc = sp.Max(X, -2048)
    assert _tails("x*tanh(exp(x))") == [(exp_times(X, xc), X < -708)]
    assert _tails("x*tanh(log(1+exp(x)))") == [(exp_times(X, xc), X < -708)]
    assert _tails("x*erf(log(1+exp(x)))") == [(exp_times(X, 2 * xc / sp.sqrt(sp.pi)), X < -708)]


def _tail_value(tail: sp.Expr, at: float) -> mpmath.mpf:
    with mpmath.workdps(60):
        return sp.lambdify([X], tail.rewrite(sp.exp), modules="mpmath")(mpmath.mpf(at))


@pytest.mark.parametrize("text,lead,q,sides", [
    # e^-x where only e^x is written: x e^x/(1 + e^x)^2 = x E/(1 + E)^2, E = e^-x
    ("x*exp(x)/(1+exp(x))**2 (f'')", lambda x: x - 2, lambda x: -x, [1]),
    ("x*tanh(exp(-x))", lambda x: x, lambda x: -x, [1]),
    # e^{x/2}: exp_poly compensates x/2's exponent (exact here, but not for 1.5 x)
    ("x*tanh(exp(x/2))", lambda x: x, lambda x: x / 2, [-1]),
    ("x*tanh(exp(1.5*x))", lambda x: x, lambda x: 1.5 * x, [-1]),
    # three terms in E = e^{-x^2}: -2E/(1 + E) + 4x^2 E/(1 + E)^2 -> (4x^2 - 2) E, both sides
    ("2*(2*x**2*exp(-x**2)/(1+exp(-x**2)) - exp(-x**2))/(1+exp(-x**2))",
     lambda x: 4 * x * x - 2, lambda x: -x * x, [-1, 1]),
])
def test_tail_is_leading_term(text, lead, q, sides):
    """On each side where e^Q -> 0, one tail arm holds where e^Q is subnormal (Q = -720) and
    none where it is not (Q = -700); there it is c(x) e^Q with c by hand."""
    tails = _tails(text)
    for side in sides:
        start = 30.0 * side if "x**2" in text else 720.0 * side / abs(q(1.0))
        at = float(mpmath.findroot(lambda v: q(v) + 720, start))
        near = float(mpmath.findroot(lambda v: q(v) + 700, at))
        taken = [tail for tail, cond in tails if cond.subs(X, at) is sp.true]
        assert len(taken) == 1 and all(cond.subs(X, near) is sp.false for _, cond in tails)
        assert isinstance(taken[0], (exp_poly, exp_times))
        with mpmath.workdps(60):
            want = lead(mpmath.mpf(at)) * mpmath.exp(q(mpmath.mpf(at)))
            assert abs(_tail_value(taken[0], at) / want - 1) < mpmath.mpf(2) ** -60


@pytest.mark.parametrize("text", [
    "x/(1+exp(-x))",        # its own arm is exp_times already: keeps the digits
    "log(1+exp(x))",        # c = 1: e^x's one rounding is the result's
    "exp(x) - 1 + x",       # G(x, 0) = x - 1 dominates: e^x's rounding does not show
    "x*tanh(exp(x**3))",    # Q of degree 3: not handled
])
def test_no_tail_where_it_does_not_apply(text):
    assert _tails(text) == []


def test_no_expansion_in_one_over_e():
    """x atan(e^x) past x = 708: atan(1/E) has no expansion at E = 0 that the rule takes, so
    no right-hand tail (the left one, x e^x, stays)."""
    assert all(cond.subs(X, 1e4) is sp.false for _, cond in _tails("x*atan(exp(x))"))


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
