"""symact.parse: the grammar, precedence, exact numbers and every class of refusal."""

from __future__ import annotations

import pytest
import sympy as sp

from symact.catalog import X
from symact.errors import ExpressionError
from symact.parse import LIMITS, parse

A = sp.Symbol("a", real=True)
B = sp.Symbol("b", real=True)


def same(got: sp.Expr, want: sp.Expr) -> bool:
    return sp.simplify(got - want) == 0


@pytest.mark.parametrize("text, want", [
    ("1 + 2*3", sp.Integer(7)),
    ("(1 + 2)*3", sp.Integer(9)),
    ("2**3**2", sp.Integer(512)),  # right-associative
    ("2^3^2", sp.Integer(512)),
    ("-2**2", sp.Integer(-4)),  # unary minus binds looser than **
    ("2**-1", sp.Rational(1, 2)),
    ("8/4/2", sp.Integer(1)),  # left-associative
    ("10 - 4 - 3", sp.Integer(3)),
    ("--3", sp.Integer(3)),
    ("+3", sp.Integer(3)),
    ("0.1", sp.Rational(1, 10)),  # exact, not the double nearest 0.1
    (".5", sp.Rational(1, 2)),
    ("5.", sp.Integer(5)),
    ("1e-3", sp.Rational(1, 1000)),
    ("2.5E2", sp.Integer(250)),
    ("123456789012345678901234567890", sp.Integer(123456789012345678901234567890)),
    ("0.1 + 0.2", sp.Rational(3, 10)),
    ("pi", sp.pi),
    ("e", sp.E),
    ("E**2", sp.exp(2)),
])
def test_numbers_and_precedence(text, want):
    got = parse(text)
    assert got == want
    assert not got.has(sp.Float)


@pytest.mark.parametrize("text, want", [
    ("x", X),
    ("x*tanh(x)", X * sp.tanh(X)),
    ("exp(-x)/(1+exp(-x))", sp.exp(-X) / (1 + sp.exp(-X))),
    ("log(1 + exp(x))", sp.log(1 + sp.exp(X))),
    ("ln(x**2 + 1)", sp.log(X**2 + 1)),
    ("log1p(x**2)", sp.log(1 + X**2)),
    ("expm1(x)", sp.exp(X) - 1),
    ("sqrt(x**2 + 1)", sp.sqrt(X**2 + 1)),
    ("x*erf(x/sqrt(2))", X * sp.erf(X / sp.sqrt(2))),
    ("erfc(x)", sp.erfc(X)),
    ("abs(x) + Abs(x)", 2 * sp.Abs(X)),
    ("max(x, 0)", sp.Max(X, 0)),
    ("Min(x, 1, 2*x)", sp.Min(X, 1, 2 * X)),
    ("sign(x)", sp.Piecewise((1, X > 0), (-1, X < 0), (0, True))),
    ("sinh(x) + cosh(x)", sp.sinh(X) + sp.cosh(X)),
    ("atan(x) + arctan(x)", 2 * sp.atan(X)),
    ("asinh(x) - arcsinh(2*x)", sp.asinh(X) - sp.asinh(2 * X)),
    ("Heaviside(x)", sp.Piecewise((1, X >= 0), (0, True))),
    ("sigmoid(x)", 1 / (1 + sp.exp(-X))),  # the catalog's own definitions
    ("softplus(2*x)", sp.log(1 + sp.exp(2 * X))),
    ("x*tanh(softplus(x))", X * sp.tanh(sp.log(1 + sp.exp(X)))),
    ("swish(x)", X / (1 + sp.exp(-X))),  # an alias
    ("relu(x - 1)", sp.Piecewise((X - 1, X - 1 > 0), (0, True))),
    ("leaky_relu(x, 0.2)", sp.Piecewise((X, X > 0), (X / 5, True))),
    ("leaky_relu(x)", sp.Piecewise((X, X > 0), (X / 100, True))),  # default alpha = 0.01
    ("Piecewise((x, x > 0), (a*x, otherwise))", sp.Piecewise((X, X > 0), (A * X, True))),
    ("Piecewise((x, x >= 1), (x**2, x < -1), (0, True))",
     sp.Piecewise((X, X >= 1), (X**2, X < -1), (0, True))),
    ("Piecewise((1, x <= a), (0, True))", sp.Piecewise((1, X <= A), (0, True))),
    ("x*sigmoid(a*x) + b", X / (1 + sp.exp(-A * X)) + B),
    ("  x\t* 2 ", 2 * X),
])
def test_expressions(text, want):
    assert same(parse(text, ["a", "b"]), want)


def test_piecewise_is_piecewise():
    pw = parse("Piecewise((x, x > 0), (0, True))")
    assert isinstance(pw, sp.Piecewise)
    assert pw.subs(X, 2) == 2 and pw.subs(X, -2) == 0 and pw.subs(X, 0) == 0


def test_variable_is_catalog_x():
    assert parse("x") is X  # the real symbol every catalog definition uses


@pytest.mark.parametrize("text, fragment", [
    # characters and tokens outside the grammar
    ("x.real", "attribute access"),
    ("'x'", "strings are not allowed"),
    ("x = 1", "'=' is not allowed"),
    ("x == 1", "'=' is not allowed"),
    ("x; 1", "unexpected character ';'"),
    ("[x]", "unexpected character '['"),
    ("x @ x", "unexpected character '@'"),
    ("x if x else 1", "unexpected 'if'"),
    ("lambda: x", "unexpected character ':'"),
    ("lambda", "unknown name 'lambda'"),
    ("x\n+1", "unexpected character '\\n'"),
    ("2x", "after a number"),
    ("1.2.3", "after a number"),
    ("\u0445", "non-ASCII"),  # Cyrillic kha looks like x
    ("x\u00b2", "non-ASCII"),
    # names
    ("y", "unknown name 'y'"),
    ("__import__(x)", "names starting with '_'"),
    ("_x", "names starting with '_'"),
    ("foo(x)", "unknown function 'foo'"),
    ("eval(x)", "unknown function 'eval'"),
    ("exp", "needs arguments"),
    ("True", "unknown name 'True'"),
    # structure
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("(x", "expected ')'"),
    ("x)", "unexpected ')'"),
    ("x +", "found end of input"),
    ("exp(x, 2)", "takes 1 argument"),
    ("max(x)", "takes 2 to 16 argument"),
    ("Piecewise((x, x > 0))", "last Piecewise condition must be True"),
    ("Piecewise((x, x))", "expected a comparison"),
    ("Piecewise((x, 1 > 0), (0, True))", "condition is constant"),
    ("leaky_relu(x, 1, 2)", "takes 1 to 2 argument"),
    # arithmetic that SymPy would turn into nan/zoo, or blow up
    ("1/0", "division by zero"),
    ("x/(x - x)", "division by zero"),
    ("0**-1", "division by zero"),
    ("log(0)", "undefined or infinite"),
    ("x**10**10", "too large"),
    ("10**10**10", "too large"),
    ("1000**1000", "constant power too large"),
    ("x**(-2000)", "too large"),
    ("1e999", "decimal exponent"),
    ("1" * 61, "more than 60 digits"),
])
def test_refused(text, fragment):
    with pytest.raises(ExpressionError) as info:
        parse(text, ["a"])
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message


def test_error_names_the_column():
    with pytest.raises(ExpressionError, match=r"^column 7: unknown name 'y'"):
        parse("x + 1*y")
    with pytest.raises(ExpressionError, match=r"^column 2: attribute access"):
        parse("x.__class__")


def test_limits():
    with pytest.raises(ExpressionError, match="too long"):
        parse("x" * (LIMITS["length"] + 1))
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("(" * 100 + "x" + ")" * 100)
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("-" * 100 + "x")
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse("exp(" * 100 + "x" + ")" * 100)
    with pytest.raises(ExpressionError, match="too many tokens"):
        parse("+".join(["x"] * 1500))
    with pytest.raises(ExpressionError, match="too large"):
        parse("+".join("sigmoid(" * 20 + f"{i}*x" + ")" * 20 for i in range(1, 21)))
    # within the limits
    assert parse("(" * 60 + "x" + ")" * 60) is X
    assert parse("x**1000") == X**1000


def test_parse_never_evaluates(tmp_path, monkeypatch):
    import builtins

    def boom(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    monkeypatch.setattr(sp, "sympify", boom)
    assert same(parse("x*sigmoid(2*x) + Piecewise((x, x > 0), (0, True))"),
                X / (1 + sp.exp(-2 * X)) + sp.Piecewise((X, X > 0), (0, True)))
