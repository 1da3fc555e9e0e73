"""The in-place NumPy printer (symact.inplace): n/b^2 printed as n/b/b computes b once."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from symact.inplace import inplace_lines
from symact.printing import NumpyPrinter

X = sp.Symbol("x", real=True)
E = sp.exp(-sp.Abs(X))
SIGMOID_PRIME = E / (1 + E) ** 2  # sigmoid'(x), stable form


def run(lines: list[str], scratch: int, x: np.ndarray) -> np.ndarray:
    r = np.empty_like(x)
    namespace = {"np": np, "x": x, "r": r, "n": x.size,
                 "s": [np.empty(x.size) for _ in range(scratch)]}
    exec("\n".join(lines), namespace)  # noqa: S102 -- symact's own printed code
    return r


def test_repeated_denominator_is_computed_once():
    lines, _ = inplace_lines(SIGMOID_PRIME, X, NumpyPrinter())
    assert sum(line.count("np.add(") for line in lines) == 1, lines
    assert sum(line.count("np.divide(") for line in lines) == 2, lines


@settings(max_examples=50, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 50), elements=st.floats(-800, 800)))
def test_repeated_denominator_values(x):
    """The same bits as e/(1 + e)/(1 + e) written out by hand."""
    lines, scratch = inplace_lines(SIGMOID_PRIME, X, NumpyPrinter())
    e = np.exp(-np.abs(x))
    with np.errstate(under="ignore"):
        want = e / (1 + e) / (1 + e)
        got = run(lines, scratch, x)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


@settings(max_examples=50, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 50), elements=st.floats(-1e100, 1e100)))
def test_cube_is_two_multiplies(x):
    """b^3 of x (or of a named subexpression) is (b*b)*b, not np.power (libm's pow per element,
    ~100x slower): the same bits as x*x*x written out, and within 1.5 ULP of x^3 exactly where
    that is a normal double."""
    expr = 3 * X**3 + X
    lines, scratch = inplace_lines(expr, X, NumpyPrinter())
    assert not any("np.power" in line for line in lines), lines
    got = run(lines, scratch, x)
    assert np.array_equal(got, 3 * (x * x * x) + x)
    for v in x.tolist():
        if abs(v) < 1e-100:  # the cube is subnormal or 0: no relative bound
            continue
        exact = Fraction(v) ** 3
        assert abs(Fraction(v * v * v) - exact) <= Fraction(3, 2) * abs(exact) * Fraction(1, 2**52)
