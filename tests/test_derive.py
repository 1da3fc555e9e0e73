"""Derivatives and output forms against independent references (hand derivations, mpmath)."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

import symact
from symact.derive import Y

x = sp.Symbol("x", real=True)
beta = sp.Symbol("beta", positive=True)
alpha = sp.Symbol("alpha", positive=True)

# SELU's constants from Klambauer et al. (2017), eq. 14, to 30 digits.
_SELU_ALPHA = sp.Float("1.67326324235437728481704299167", 30)
_SELU_LAMBDA = sp.Float("1.05070098735548049341933498529", 30)

# The identities the tutorials derive by hand, written independently of symact.
EXPECTED_OUTPUT_FORMS = {
    "sigmoid": Y * (1 - Y),
    "tanh": 1 - Y**2,
    "softplus": 1 - sp.exp(-beta * Y),  # y = log(1 + e^{bx})/b  =>  e^{bx} = e^{by} - 1
    "linear": sp.Integer(1),
    "exponential": Y,
    "log_sigmoid": 1 - sp.exp(Y),  # sigma(-x) = 1 - sigma(x) = 1 - e^y
    # y = alpha (e^x - 1) for x <= 0  =>  e^x = 1 + y/alpha, elu' = alpha e^x = y + alpha
    "elu": sp.Piecewise((1, Y > 0), (Y + alpha, True)),
    "celu": sp.Piecewise((1, Y > 0), (1 + Y / alpha, True)),
    # y = x/(1 + |x|)  =>  1 - |y| = 1/(1 + |x|), softsign' = 1/(1 + |x|)^2
    "softsign": (1 - sp.Abs(Y)) ** 2,
    # 2y - x = sqrt(x^2 + b)  =>  x = y - b/(4y); f' = (1 + x/(2y - x))/2 = y/(2y - x)
    "squareplus": 4 * Y**2 / (4 * Y**2 + sp.Symbol("b", positive=True)),
    # y = lambda alpha (e^x - 1) for x <= 0  =>  selu' = lambda alpha e^x = y + lambda alpha
    "selu": sp.Piecewise((_SELU_LAMBDA, Y > 0), (Y + _SELU_LAMBDA * _SELU_ALPHA, True)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_OUTPUT_FORMS))
def test_output_form_matches_hand_derivation(name):
    act = symact.get(name)
    assert act.output_form is not None
    symbols = {s.name: s for s in act.output_form.free_symbols}
    expected = EXPECTED_OUTPUT_FORMS[name].subs(
        {s: symbols[s.name] for s in EXPECTED_OUTPUT_FORMS[name].free_symbols if s.name in symbols}
    )
    for yv in (-0.75, -0.25, 0.3, 0.6, 2.0):  # inside every range of y involved
        pars = {s: 1.5 for s in act.output_form.free_symbols if s != Y}
        got = act.output_form.subs(pars).subs(Y, yv)
        want = expected.subs(pars).subs(Y, yv)
        if got.is_finite and want.is_finite:
            assert abs(float(got) - float(want)) < 1e-12, (name, yv)


# Mixed forms (no output form in y alone), derived by hand:
# silu = x sigma(x), sigma' = sigma(1 - sigma): silu' = s + x s (1 - s) = s + y (1 - s).
# mish = x tanh(softplus(x)), tanh' = 1 - tanh^2, softplus' = sigma: mish' = s + x sigma (1 - s^2).
# gelu = x Phi(x): gelu' = Phi + x phi, phi(x) = e^{-x^2/2}/sqrt(2 pi).
# gelu_tanh = x (1 + tanh u)/2: gelu_tanh' = (1 + s)/2 + x (1 - s^2) u'/2.
# tanhshrink = x - tanh(x): tanhshrink' = tanh^2 = (x - y)^2.
_SIGMA = 1 / (1 + sp.exp(-x))
_PHI = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
_U = sp.sqrt(2 / sp.pi) * (x + sp.Rational(44715, 1000000) * x**3)


@pytest.mark.parametrize(("name", "sub", "expected"), [
    ("silu", _SIGMA, lambda y, s: y + s * (1 - y)),
    ("swish_beta", 1 / (1 + sp.exp(-beta * x)), lambda y, s: s + beta * y * (1 - s)),
    ("mish", sp.tanh(sp.log(1 + sp.exp(x))), lambda y, s: s + x * _SIGMA * (1 - s**2)),
    ("gelu", (1 + sp.erf(x / sp.sqrt(2))) / 2, lambda y, s: s + x * _PHI),
    ("gelu_tanh", sp.tanh(_U), lambda y, s: (1 + s) / 2 + x * (1 - s**2) * sp.diff(_U, x) / 2),
    ("tanhshrink", sp.tanh(x), lambda y, s: (x - y) ** 2),
])
def test_mixed_form_matches_hand_derivation(name, sub, expected):
    act = symact.get(name)
    assert act.output_form is None
    m = act.mixed_form
    assert m is not None
    assert sp.simplify((m.sub - sub).rewrite(sp.exp).rewrite(sp.erf)) == 0
    syms = {s.name: s for s in m.expr.free_symbols}
    want = expected(Y, m.s)
    want = want.subs({s: syms.get(s.name, s) for s in want.free_symbols})
    assert sp.simplify(sp.expand((m.expr - want).rewrite(sp.exp))) == 0


@pytest.mark.parametrize("name", ["mish", "gelu", "gelu_tanh"])
def test_mixed_form_is_readable(name):
    """Never a function of y or s (mish: no e^{y/s} for e^x), defined at x = 0 (gelu: no y/x)."""
    m = symact.get(name).mixed_form
    assert not any(f.has(Y, m.s) for f in m.expr.atoms(sp.Function))
    at0 = m.expr.subs({Y: 0, m.s: m.sub.subs(x, 0), x: 0})
    assert at0.is_finite


def test_relu_output_form_is_piecewise_in_y():
    g = symact.get("relu").output_form
    assert g.free_symbols == {Y}
    assert g.subs(Y, 2.5) == 1 and g.subs(Y, 0) == 0


def test_leaky_relu_output_form_is_piecewise_in_y():
    act = symact.get("leaky_relu")
    alpha = act.symbols["alpha"]
    g = act.output_form
    assert g.subs(Y, 3) == 1
    assert g.subs(Y, -0.5) == alpha
    assert g.subs(Y, 0) == alpha  # leaky_relu'(0) = alpha, as PyTorch


def test_silu_has_no_output_form():
    # silu is not injective: two inputs share an output but not a slope, so no g(y) exists.
    assert symact.get("silu").output_form is None
    assert symact.get("swish").output_form is None
    f = sp.lambdify(x, symact.get("silu").expr, "mpmath")
    df = sp.lambdify(x, symact.get("silu").derivative, "mpmath")
    with mpmath.workdps(40):
        a = mpmath.mpf(-0.5)
        b = mpmath.findroot(lambda t: f(t) - f(a), -3)
        assert abs(f(a) - f(b)) < 1e-30 and abs(df(a) - df(b)) > 0.1


@pytest.mark.parametrize("act", symact.all_activations(), ids=lambda a: a.name)
def test_derivative_matches_numeric_differentiation(act):
    """Simplified derivative == mpmath's numerical derivative of the definition (50 digits)."""
    expr = act.expr.subs(act.defaults)
    deriv = act.derivative.subs(act.defaults)
    f = sp.lambdify(x, expr, "mpmath")
    df = sp.lambdify(x, deriv, "mpmath")
    with mpmath.workdps(50):
        for p in (-6.5, -2.25, -0.3, 0.4, 1.75, 7.0):  # away from kinks
            exact = mpmath.diff(f, mpmath.mpf(p))
            assert abs(df(mpmath.mpf(p)) - exact) < mpmath.mpf(10) ** -40 * max(1, abs(exact))


@pytest.mark.parametrize("act", symact.all_activations(), ids=lambda a: a.name)
def test_output_form_is_proven(act):
    """Substituting y = f(x) into the output form gives back the derivative, at 50 digits."""
    if act.output_form is None:
        return
    g = sp.lambdify([Y], act.output_form.subs(act.defaults), "mpmath")
    f = sp.lambdify([x], act.expr.subs(act.defaults), "mpmath")
    df = sp.lambdify([x], act.derivative.subs(act.defaults), "mpmath")
    with mpmath.workdps(50):
        for p in (-5.5, -1.0, -0.25, 0.0, 0.5, 3.0, 9.0):
            xp = mpmath.mpf(p)
            assert abs(g(f(xp)) - df(xp)) < mpmath.mpf(10) ** -40


def test_kink_conventions_as_pytorch():
    d = {n: symact.get(n).derivative for n in ("relu", "leaky_relu", "binary_step")}
    assert d["relu"].subs(x, 0) == 0
    alpha = symact.get("leaky_relu").symbols["alpha"]
    assert d["leaky_relu"].subs(x, 0) == alpha
    assert symact.get("binary_step").expr.subs(x, 0) == 1
    assert d["binary_step"] == 0 and not d["binary_step"].has(sp.DiracDelta)


def test_api_shape():
    s = symact.get("swish")
    assert s.name == "silu" and s.params == {}
    assert symact.get("leaky_relu").params == {"alpha": 0.01}
    assert s.expr.free_symbols == {x}
    with pytest.raises(symact.SymactError, match="unknown activation"):
        symact.get("sigmoidd")


def test_user_mixed_form_takes_the_real_inverse():
    """f = x sigma(2x): solve(s = sigma(2x)) also returns a complex branch; the real one gives
    f' = s + 2x s(1 - s) = s + 2y(1 - s) (by hand: sigma(2x)' = 2 sigma(1 - sigma))."""
    m = symact.define("swish2", "x*sigmoid(2*x)").mixed_form
    assert sp.simplify((m.sub - 1 / (1 + sp.exp(-2 * x))).rewrite(sp.exp)) == 0
    syms = {s.name: s for s in m.expr.free_symbols}
    want = m.s + 2 * Y * (1 - m.s)
    assert sp.expand(m.expr.subs({v: syms.get(v.name, v) for v in m.expr.free_symbols}) - want) == 0
