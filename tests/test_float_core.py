"""The C float API's float cores (symact.emit._float_core): the formula in double where the
double core pays for digits or range floats never need. Chosen by measurement against mpmath,
with double's overflow seen as C sees it; checked here against mpmath at 50 digits, compiled."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import c_array_fn, reference
from test_accuracy import _built

from symact import get
from symact.catalog import X
from symact.emit import (
    FLOAT_CORE_MAX_ULP,
    FLOAT_CORE_ROOT_ULP,
    _float_core,
    _float_edges,
    _float_error,
    _root_neighbours,
    fold_constants,
)
from symact.verify import FORMATS, ulp_error

F32 = FORMATS["float32"]


def core_of(name: str, index: int = 0):
    act = get(name)
    kernel = act.kernels[index]
    return act, kernel, reference(act, kernel)


def test_overflow_is_measured_as_in_double():
    """e^x/(1 + e^x) is sigmoid, but in double it is inf/inf = NaN past x = 709: the
    measurement evaluates in double and rejects it; 1/(1 + e^-x) (0 where e^-x overflows,
    sigmoid's float value there) passes."""
    _, _, ref = core_of("sigmoid")
    assert _float_error(sp.exp(X) / (1 + sp.exp(X)), ref) > FLOAT_CORE_MAX_ULP
    assert _float_error(1 / (1 + sp.exp(-X)), ref) <= FLOAT_CORE_MAX_ULP


def test_silu_takes_the_formula_sigmoid_keeps_its_core():
    """silu's core halves e^-|x| where it would be subnormal (helpers symact_exp_*): its float
    API is x/(1 + e^-x). sigmoid's core calls no helper: it stays."""
    _, kernel, ref = core_of("silu")
    helpers = {"symact_exp_arg", "symact_exp_of", "symact_exp_times_of"}
    core = _float_core(ref, helpers, kernel.stable)
    assert core == X / (1 + sp.exp(-X)), core
    _, kernel, ref = core_of("sigmoid")
    assert _float_core(ref, set(), kernel.stable) is None


@pytest.mark.parametrize(("expr", "fixes"), [
    (X / (1 + sp.exp(-X)), ("neg",)),  # -inf/inf at -inf
    (X * sp.erfc(-X / sp.sqrt(2)) / 2, ("neg",)),  # -inf * 0
    ((1 - X**2) * sp.exp(-X**2 / 2), ("pos", "neg")),  # inf * 0 both sides
    (X * sp.exp(-X**2 / 2) + 1 / (1 + sp.exp(-X)), ("pos", "neg")),
])
def test_float_edges(expr, fixes):
    """The float core's guards fix exactly the edges its formula misses in double (its exact
    limits at +-inf from mpmath; NaN propagates through every one of these)."""
    from symact.verify import Reference

    assert _float_edges(expr, Reference(expr, X, {})) == fixes


def test_root_neighbours():
    """The float nearest the root and 8 either side, all distinct float32 values."""
    pts = _root_neighbours((-0.7517915246935645,))
    assert pts.size == 17 and pts.dtype == np.float32
    assert np.all(np.diff(pts.astype(np.float64)) > 0)
    assert np.float32(-0.7517915246935645) in pts


def test_gelu_prime_float_core_next_to_its_root():
    """gelu' = x phi(x) + Phi(x) cancels at its root: the float core is measured there apart,
    within FLOAT_CORE_ROOT_ULP (0.58 when written), and more than FLOAT_CORE_MAX_ULP (else the
    separate bar would not be needed)."""
    act, kernel, ref = core_of("gelu", 1)
    with mpmath.workdps(50):  # gelu' = Phi(x) + x phi(x) = 0
        root = mpmath.findroot(lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t), -0.75)
    roots = (float(root),)
    base = fold_constants(ref.expr)
    stable_erfc = base.xreplace({e: 2 - sp.erfc(-e.args[0], evaluate=False)
                                 for e in base.atoms(sp.erfc)})
    near = _float_error(stable_erfc, ref, _root_neighbours(roots), FLOAT_CORE_ROOT_ULP)
    assert FLOAT_CORE_MAX_ULP < near <= FLOAT_CORE_ROOT_ULP


#: float32 inputs where silu's float result is subnormal or 0 (x in [-110, -85]), where e^-x
#: overflows double (x < -709.8), huge, tiny, and around 0 and 1.
SILU_POINTS = np.concatenate([
    np.linspace(-110, -85, 2001), [-709.0, -709.8, -710.0, -1e5, -3.4e38, 3.4e38, 1e5, 88.7, 89.0],
    np.geomspace(1e-45, 1.0, 200), -np.geomspace(1e-45, 1.0, 200), [0.0, 1.0, -1.0]],
).astype(np.float32)


def float_api(name: str, build: str, clib, gen=None):
    """The float32 kernel ``name`` of one build: "numpy" (the generated module), "clib" (the
    float array kernel compiled by conftest), "c_build" / "c_fast" (symact build's two)."""
    if build == "numpy":
        return getattr(gen, name)
    if build == "clib":
        return c_array_fn(clib, name, 0, "float32")
    lib = _built()[build]
    return lambda x: lib[name](np.asarray(x, dtype=np.float32))


def silu_exact(v: float) -> mpmath.mpf:
    with mpmath.workdps(50):
        x = mpmath.mpf(v)
        return x / (1 + mpmath.exp(-x))


@pytest.mark.parametrize("build", ["clib", "c_build", "c_fast"])
def test_silu_float_api(clib, build):
    """silu's float array kernel against mpmath at 50 digits: within FLOAT_CORE_MAX_ULP
    everywhere, -0 where x e^x is below half the smallest subnormal float."""
    got = float_api("silu", build, clib)(SILU_POINTS)
    for xv, g in zip(SILU_POINTS.tolist(), got.tolist(), strict=True):
        assert ulp_error(g, silu_exact(xv), F32) <= FLOAT_CORE_MAX_ULP, (build, xv, g)


def test_gelu_tanh_float_core_has_one_exp():
    """gelu_tanh's float core is x/(1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3): the tanh
    complement of x (1 + tanh u)/2 (verify.tanh_complements), one exp and no tanh, where the
    double core needs exp_poly's double-double argument."""
    act, kernel, ref = core_of("gelu_tanh")
    core = _float_core(ref, {"symact_exp_poly"}, kernel.stable)
    assert core is not None and not core.has(sp.tanh) and len(core.atoms(sp.exp)) == 1, core
    with mpmath.workdps(60):
        for xv in (-9.0, -1.5, 0.3, 4.0):
            want = gelu_tanh_exact(xv)
            got = sp.lambdify([X], core, modules="mpmath")(mpmath.mpf(xv))
            assert abs(got - want) <= abs(want) * mpmath.mpf(10) ** -30, xv


def gelu_tanh_exact(v: float) -> mpmath.mpf:
    """x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) as written, at 1000 digits: enough for
    1 + tanh(u) ~ 2 e^(2u) down to |x| = 30 (e^-2000)."""
    with mpmath.workdps(1000):
        x = mpmath.mpf(v)
        u = mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x**3)
        return x / 2 * (1 + mpmath.tanh(u))


#: float32 inputs: a grid on [-30, 30] (the float result goes subnormal near x = -10), and
#: tails out to +-FLT_MAX.
GELU_TANH_POINTS = np.unique(np.concatenate([
    np.linspace(-30, 30, 3001), np.linspace(-11, -9, 801), np.geomspace(1e-45, 30.0, 300),
    -np.geomspace(1e-45, 30.0, 300), np.geomspace(30.0, 3.4e38, 100),
    -np.geomspace(30.0, 3.4e38, 100), [0.0]]).astype(np.float32))


@pytest.mark.parametrize("build", ["numpy", "clib", "c_build", "c_fast"])
def test_gelu_tanh_float_api(clib, gen, build):
    """gelu_tanh's float kernels against the formula at 1000 digits: within FLOAT_CORE_MAX_ULP
    on [-30, 30]; past it the float result is x itself (1 + tanh u = 2 - e^-2000) or 0 (below
    |x| e^-2000); and +-inf, NaN."""
    fn = float_api("gelu_tanh", build, clib, gen)
    got = np.asarray(fn(GELU_TANH_POINTS), dtype=np.float32)
    for xv, g in zip(GELU_TANH_POINTS.tolist(), got.tolist(), strict=True):
        if abs(xv) <= 30:
            assert ulp_error(g, gelu_tanh_exact(xv), F32) <= FLOAT_CORE_MAX_ULP, (build, xv, g)
        else:
            assert g == (xv if xv > 0 else 0.0), (build, xv, g)
    edges = np.asarray(fn(np.array([np.inf, -np.inf, np.nan], dtype=np.float32)))
    assert edges[0] == np.inf and edges[1] == 0 and np.isnan(edges[2])


def test_gelu_tanh_prime_float_core_reads_cosh_as_exps():
    """gelu_tanh''s tanh complement holds 1/cosh(u)^2, which the float core reads as
    4/(e^u + e^-u)^2 (cosh is not a float-core function): kept, with no cosh and no tanh, and
    its float results within half a float32 ULP of mpmath at 300 digits next to the root, on
    a grid, in the tails and at +-FLT_MAX (where an exp overflows and the quotient is 0)."""
    act, kernel, ref = core_of("gelu_tanh", 1)
    assert kernel.suffix == "_prime"
    root = np.float32(-0.7524614220710163)
    core = _float_core(ref, {"symact_exp_poly"}, kernel.stable, (float(root),))
    assert core is not None and not core.has(sp.cosh) and not core.has(sp.tanh), core
    side = [root]
    for step in (np.float32(1), np.float32(-1)):
        v = root
        for _ in range(12):
            v = np.nextafter(v, step)
            side.append(v)
    xs = np.concatenate([np.array(side, np.float32), np.linspace(-12, 12, 97, dtype=np.float32),
                         np.array([3.4e38, -3.4e38, 1e30, -1e30, 1e-40], np.float32)])
    f = sp.lambdify([X], kernel.exact, modules="mpmath")
    core_fn = sp.lambdify([X], core, modules="numpy")
    with np.errstate(all="ignore"):
        got = np.asarray(core_fn(xs.astype(np.float64)), dtype=np.float64).astype(np.float32)
    with mpmath.workdps(300):
        for xv, g in zip(xs.tolist(), got.tolist(), strict=True):
            assert ulp_error(g, f(mpmath.mpf(xv)), F32) <= 0.5, (xv, g)
