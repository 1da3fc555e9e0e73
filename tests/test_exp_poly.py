"""exp_poly: e^{P(w)} with the polynomial exponent in double-double, against mpmath at 50 digits.

gelu_tanh's e^{-2 sqrt(2/pi)(|x| + 0.044715 |x|^3)} lost 27 ULP near x = -7 when P was rounded
to double first (|P| = 36 multiplies P's rounding error); the helper must not.
"""

from __future__ import annotations

import ctypes
import subprocess

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import cc

from symact.functions import exp_poly
from symact.printing import (
    C_HELPERS,
    C_INLINE,
    NUMPY_HELPERS,
    CPrinter,
    NumpyPrinter,
    double_double,
    helper_closure,
)
from symact.stabilize import exp_polynomials, polynomial_exponent

X = sp.Symbol("x", real=True)
XC = sp.Max(sp.Min(X, 32.0), -32.0)
A = -2 * sp.sqrt(2 / sp.pi)
B = A * sp.Rational(8943, 200000)
COEFFS = [B, sp.S.Zero, A, sp.S.Zero]  # P(w) = B w^3 + A w, highest first
W = np.linspace(0.0, 21.0, 3001)  # e^P from 1 down to 1e-301 (subnormal from w ~ 21.6)


def _exact(w: float) -> mpmath.mpf:
    with mpmath.workdps(50):
        wm = mpmath.mpf(w)
        return mpmath.exp(sum(mpmath.mpf(sp.N(c, 50)) * wm**k
                              for k, c in enumerate(reversed(COEFFS))))


def _ulps(got: np.ndarray) -> np.ndarray:
    out = []
    for w, g in zip(W, got, strict=True):
        want = _exact(float(w))
        out.append(float(abs(mpmath.mpf(float(g)) - want) / np.spacing(float(want))))
    return np.array(out)


def _numpy_helper():
    namespace: dict = {"np": np}
    for name in sorted(helper_closure(["_exp_poly"])):
        exec(NUMPY_HELPERS[name], namespace)  # noqa: S102 -- symact's own helper
    return namespace["_exp_poly"]


def test_recognizes_polynomial_exponents_of_the_clamped_x():
    arg = -sp.sqrt(2) * (sp.Rational(8943, 100000) * XC**2 + 2) * sp.Abs(XC) / sp.sqrt(sp.pi)
    w, coeffs = polynomial_exponent(arg, X)
    assert w == sp.Abs(XC)
    assert all(sp.simplify(a - b) == 0 for a, b in zip(coeffs, COEFFS, strict=True))
    odd = -sp.Abs(sp.Rational(8943, 100000) * sp.sqrt(2) * XC**3 + 2 * sp.sqrt(2) * XC)
    assert polynomial_exponent(odd, X)[0] == sp.Abs(XC)
    assert polynomial_exponent(-X**2, X) is None  # unclamped: the split could overflow
    assert polynomial_exponent(-sp.Abs(XC**3 - XC), X) is None  # mixed signs: |P| is not P(|x|)
    # an exponent that does not round stays a plain exp; one that does becomes exp_poly
    assert exp_polynomials(sp.exp(-sp.Abs(XC)), X) == sp.exp(-sp.Abs(XC))
    assert exp_polynomials(sp.exp(arg), X).has(exp_poly)


def test_numpy_helper_within_2_ulp_where_plain_exp_is_not():
    hi, lo = double_double(COEFFS)
    got = _numpy_helper()(1.0, W, tuple(hi), tuple(lo))
    assert _ulps(got).max() <= 2.0
    naive = np.exp(((hi[0] * W) * W + hi[2]) * W)  # P rounded to double first
    assert _ulps(naive).max() > 8.0  # the failure the helper exists for


def test_c_helper_within_2_ulp(tmp_path):
    compiler = cc()
    if compiler is None:
        pytest.skip("no C compiler")
    printer = CPrinter()
    call = printer.doprint(exp_poly(sp.Symbol("g"), sp.Symbol("w"), *COEFFS))
    helpers = "\n\n".join(C_HELPERS[h] for h in sorted(printer.helpers))
    src = (f"#include <math.h>\n\n{C_INLINE}\n{helpers}\n\n"
           f"double f(double g, double w) {{ return {call}; }}\n")
    (tmp_path / "e.c").write_text(src)
    subprocess.run([compiler, "-std=c99", "-O2", "-fPIC", "-shared", str(tmp_path / "e.c"),
                    "-o", str(tmp_path / "e.so"), "-lm"], check=True)
    f = ctypes.CDLL(str(tmp_path / "e.so")).f
    f.argtypes, f.restype = [ctypes.c_double, ctypes.c_double], ctypes.c_double
    got = np.array([f(1.0, float(w)) for w in W])
    assert _ulps(got).max() <= 2.0


def test_printed_numpy_call_evaluates_the_same_function():
    code = NumpyPrinter().doprint(exp_poly(sp.S.One, sp.Symbol("w"), *COEFFS))
    namespace: dict = {"np": np, "_exp_poly": _numpy_helper(), "w": W}
    got = eval(code, namespace)  # noqa: S307 -- code printed by symact from a fixed expression
    assert _ulps(got).max() <= 2.0


ARG = -sp.sqrt(2) * (sp.Rational(8943, 100000) * XC**2 + 2) * sp.Abs(XC) / sp.sqrt(sp.pi)
E = sp.exp(ARG)  # gelu_tanh's e^(-2|u|): P(|x|) <= 0, every term of one sign


def _plain_exp(expr: sp.Expr) -> bool:
    """A plain e^P and no exp_poly, the same function (at x = -1.5, 0.25, 7)."""
    got = exp_polynomials(expr, X)
    return (got.has(sp.exp) and not got.has(exp_poly)
            and all(abs(sp.N((got - expr).subs(X, v), 30)) < 1e-25 for v in (-1.5, 0.25, 7)))


def test_a_decaying_exponent_beside_one_stays_plain_where_it_is_a_factor():
    plain = 1 / (1 + E)
    assert _plain_exp(plain)
    assert _plain_exp(X / (1 + E) ** 2)
    # by Horner's scheme in |x_c|: w (c3 w^2 + c1), 4 roundings (the bound below)
    horner = exp_polynomials(plain, X).atoms(sp.exp).pop().args[0]
    assert horner.is_Mul and sp.Abs(XC) in horner.args
    # the numerator's e^P is a factor of the result: compensated (|P| = 36 costs 27 ULP)
    value = exp_polynomials(X * E / (1 + E), X)
    assert value.has(exp_poly) and value.has(sp.exp)
    # inside a sum that can cancel (gelu_tanh' next to its root): compensated, both of them
    cancelling = exp_polynomials(1 / (1 + E) - X * E / (1 + E) ** 2, X)
    assert not cancelling.has(sp.exp)
    # plain=False compensates them all, also applied to an earlier result
    assert not exp_polynomials(plain, X, plain=False).has(sp.exp)
    assert not exp_polynomials(value, X, plain=False).has(sp.exp)
    # e^P >= 1 beside 1 (P >= 0): the sum takes P's whole error, so compensated
    growing = 1 / (1 + sp.exp(-ARG))
    assert not exp_polynomials(growing, X).has(sp.exp)
    # beside a constant below 1 the bound does not hold
    assert not exp_polynomials(1 / (sp.Rational(1, 2) + E), X).has(sp.exp)


def _reference(expr: sp.Expr, xs: np.ndarray) -> list[mpmath.mpf]:
    with mpmath.workdps(50):
        f = sp.lambdify(X, expr, "mpmath")
        return [f(mpmath.mpf(float(v))) for v in xs]


def test_plain_denominator_within_its_bound_of_the_exact_value():
    """1/(1 + e^P) with P and e^P each rounded to double: the rounding of P (4 operations,
    terms of one sign) moves the sum by |P| e^P/(1 + e^P) <= 0.28 of 4 units of 2^-53, so the
    result stays within exp's error plus 2 roundings plus that: under 2 ULP, on 4001 points
    of [-24, 24] (where e^P runs from 1 down to 1e-300)."""
    xs = np.linspace(-24.0, 24.0, 4001)
    expr = exp_polynomials(1 / (1 + E), X)
    assert not expr.has(exp_poly)
    code = NumpyPrinter().doprint(expr)
    got = eval(code, {"np": np, "x": xs})  # noqa: S307 -- printed by symact from a fixed expression
    errors = [float(abs(mpmath.mpf(float(g)) - w) / np.spacing(float(w)))
              for g, w in zip(got, _reference(1 / (1 + E), xs), strict=True)]
    assert max(errors) < 2.0
