"""stabilize.sign_conditions: a sign test of an odd polynomial whose coefficients share a sign
is the test of its variable's sign (gelu_tanh' had two arms for one condition)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from symact.stabilize import sign_conditions

X = sp.Symbol("x", real=True)
XC = sp.Max(sp.Min(X, 32.0), -32.0)
A, B, C = sp.symbols("a b c")


def test_one_condition_in_two_forms_becomes_one_arm():
    u = sp.sqrt(2) * XC * (sp.Rational(8943, 100000) * XC**2 + 2) / sp.sqrt(sp.pi)
    q = sp.Rational(8943, 100000) * sp.sqrt(2) * XC**3 / sp.sqrt(sp.pi) + 2 * XC
    pw = sp.Piecewise((A, u >= 0), (B, q >= 0), (C, True))
    assert sign_conditions(pw, X) == sp.Piecewise((A, XC >= 0), (C, True))


def test_negative_coefficients_flip_the_variable():
    pw = sp.Piecewise((A, -X**3 - 2 * X > 0), (B, True))
    assert sign_conditions(pw, X) == sp.Piecewise((A, -X > 0), (B, True))


def test_other_conditions_stay():
    for cond in (X**3 - X >= 0, X**2 + 1 >= 0, X + 1 >= 0, sp.exp(X) - 2 >= 0, X**3 < 5):
        pw = sp.Piecewise((A, cond), (B, True))
        assert sign_conditions(pw, X) == pw


def test_rewritten_conditions_agree_on_floats():
    """Against the original test evaluated at 60 digits (so no underflow decides it)."""
    xs = np.concatenate([np.linspace(-40, 40, 801), [-1e-300, 1e-300, -0.0, 0.0]])
    for rel in (sp.GreaterThan, sp.StrictGreaterThan, sp.LessThan, sp.StrictLessThan):
        original = rel(-3 * XC**5 - XC**3 - XC / 7, 0)
        new = sign_conditions(sp.Piecewise((A, original), (B, True)), X).args[0].cond
        assert new != original
        for v in xs.tolist():
            want = bool(original.subs(X, sp.Float(v, 60)))
            assert bool(new.subs(X, sp.Float(v, 60))) == want
