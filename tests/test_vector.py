"""Vector activations: the symbolic derivation, and the generated NumPy and C code against mpmath
at 60 digits (ULP errors), conventions at +-inf/NaN, axis handling, out=, float32, warnings."""

from __future__ import annotations

import ctypes
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from symact.vector import vector_activations
from symact.verify import FORMATS, ulp_error

VECS = vector_activations()
NAMES = [v.name for v in VECS]
F64, F32 = FORMATS["float64"], FORMATS["float32"]

HARD_ROWS = [
    [1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0, 0.0], [5.0], [1.0, 2.0, 3.0],
    [0.1, -700.3, 3.0], [1.0, 1.0 + 2.0 ** -52, 1.0 - 2.0 ** -53], [5e-324, 0.0, -5e-324],
    [709.0, 708.0, -745.0], [-1e300, 1e300, 0.0], [30.0, -30.0, 0.5, 1e-8], [0.0, -36.0],
    [-0.5, -0.25, 3.75, 2.0, 1.0, 0.0, -9.0],
]


# --- the symbolic derivation -----------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_closed_forms_proven_for_symbolic_n(name):
    v = dict(zip(NAMES, VECS, strict=False))[name]
    assert v.jacobian.has(sp.KroneckerDelta)  # derived through the Sum, not typed in
    assert v.closed_forms_proven()


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("name", NAMES)
def test_derived_forms_match_explicit_jacobian(name, n):
    v = dict(zip(NAMES, VECS, strict=False))[name]
    assert v.verify(n)


def _mp_softmax(row, sign=1):
    with mpmath.workdps(60):
        xs = [sign * mpmath.mpf(t) for t in row]
        m = max(xs)  # shift only so that a length-1 row gives exactly log 1 = 0
        top = xs.index(m)
        # log z = log1p(rest): at 60 digits log(1 + 1e-47) would keep only ~13 digits
        rest = mpmath.fsum(mpmath.exp(t - m) for k, t in enumerate(xs) if k != top)
        z = 1 + rest
        return [mpmath.exp(t - m) / z for t in xs], [(t - m) - mpmath.log1p(rest) for t in xs]


def _mp_value(name, row):
    s, lg = _mp_softmax(row, -1 if name == "softmin" else 1)
    return lg if name == "log_softmax" else s


def _mp_products(name, row, w):
    """(J w, J^T w) from the explicit Jacobian by mpmath differentiation-free formulas:
    J_ij = d f_i / d x_j computed from the definition, independent of the generated code."""
    n = len(row)
    with mpmath.workdps(60):
        sign = -1 if name == "softmin" else 1
        s, _ = _mp_softmax(row, sign)
        jac = [[(sign if name != "log_softmax" else 1)
                * ((s[i] if name != "log_softmax" else 1) * ((1 if i == j else 0) - s[j]))
                for j in range(n)] for i in range(n)]
        jv = [mpmath.fsum(jac[i][j] * w[j] for j in range(n)) for i in range(n)]
        jtw = [mpmath.fsum(jac[j][i] * w[j] for j in range(n)) for i in range(n)]
    return jv, jtw


def test_mp_jacobian_matches_numeric_differentiation():
    # the mpmath Jacobian above checked by mpmath.diff of the definition itself
    row = [0.3, -1.2, 2.0]
    for name in NAMES:
        for j in range(3):
            e = [0.0] * 3
            e[j] = 1.0
            jv, _ = _mp_products(name, row, e)
            for i in range(3):
                def f(t, i=i, j=j, name=name):
                    r = list(map(mpmath.mpf, row))
                    r[j] += t
                    with mpmath.workdps(60):
                        return _mp_value(name, r)[i]
                with mpmath.workdps(40):
                    assert abs(mpmath.diff(f, 0) - jv[i]) < mpmath.mpf(10) ** -15


# --- NumPy and C against mpmath ----------------------------------------------------------------
def _c_value(clib, name, dtype):
    fn = getattr(clib, f"symact_{name}" + ("f" if dtype == "float32" else ""))
    ctype = ctypes.c_float if dtype == "float32" else ctypes.c_double
    ptr = ctypes.POINTER(ctype)
    fn.argtypes, fn.restype = [ptr, ptr, ctypes.c_size_t], None

    def call(x):
        x = np.ascontiguousarray(x, dtype=dtype)
        y = np.empty_like(x)
        fn(x.ctypes.data_as(ptr), y.ctypes.data_as(ptr), x.size)
        return y
    return call


def _c_prod(clib, name, kind, dtype):
    fn = getattr(clib, f"symact_{name}_{kind}" + ("f" if dtype == "float32" else ""))
    ctype = ctypes.c_float if dtype == "float32" else ctypes.c_double
    ptr = ctypes.POINTER(ctype)
    fn.argtypes, fn.restype = [ptr, ptr, ptr, ctypes.c_size_t], None

    def call(x, w):
        x = np.ascontiguousarray(x, dtype=dtype)
        w = np.ascontiguousarray(w, dtype=dtype)
        y = np.empty_like(x)
        fn(x.ctypes.data_as(ptr), w.ctypes.data_as(ptr), y.ctypes.data_as(ptr), x.size)
        return y
    return call


def _max_ulp(got, want, fmt):
    return max(ulp_error(float(g), w, fmt) for g, w in zip(got, want, strict=False))


def _impls(gen, clib, name, dtype):
    return {"numpy": lambda x: getattr(gen, name)(np.asarray(x, dtype=dtype)),
            "c": _c_value(clib, name, dtype)}


@pytest.mark.parametrize("name", NAMES)
def test_hard_rows_float64_within_4_ulp(gen, clib, name):
    for impl, fn in _impls(gen, clib, name, "float64").items():
        for row in HARD_ROWS:
            with np.errstate(all="raise"):
                got = fn(row)
            err = _max_ulp(got, _mp_value(name, row), F64)
            assert err <= 4, (impl, row, err)


@pytest.mark.parametrize("name", NAMES)
def test_hard_rows_float32_within_1_ulp(gen, clib, name):
    for impl, fn in _impls(gen, clib, name, "float32").items():
        for row in HARD_ROWS:
            if max(abs(t) for t in row) > 3e38:
                continue  # not representable in float32
            row32 = [float(np.float32(t)) for t in row]
            with np.errstate(all="raise"):
                got = fn(row32)
            assert got.dtype == np.float32
            err = _max_ulp(got, _mp_value(name, row32), F32)
            assert err <= 1, (impl, row32, err)


rows = st.lists(st.floats(-800, 800, allow_nan=False, width=64), min_size=1, max_size=8)


@given(rows)
def test_random_rows_numpy_and_c(gen, clib, row):
    for name in NAMES:
        want = _mp_value(name, row)
        for impl, fn in _impls(gen, clib, name, "float64").items():
            err = _max_ulp(fn(row), want, F64)
            assert err <= 4, (name, impl, row, err)


def _prod_ok(got, want, s_scale, w):
    """Products: error within a few ULP of the terms' magnitude (the closed forms subtract)."""
    wmax = max(abs(float(t)) for t in w) or 1.0
    for g, e, sc in zip(got, want, s_scale, strict=False):
        tol = 8 * 2.0 ** -52 * (float(sc) + 1e-300) * wmax
        assert abs(float(g) - float(e)) <= tol + 4 * 2.0 ** -52 * abs(float(e)), (g, e)


@given(rows, st.randoms(use_true_random=False))
def test_jvp_vjp_against_mpmath(gen, clib, row, rnd):
    w = [rnd.uniform(-2, 2) for _ in row]
    for name in NAMES:
        jv, jtw = _mp_products(name, row, w)
        s, _ = _mp_softmax(row, -1 if name == "softmin" else 1)
        scale = [1.0] * len(row) if name == "log_softmax" else s
        for kind, want in (("jvp", jv), ("vjp", jtw)):
            with np.errstate(all="raise"):
                got_np = getattr(gen, f"{name}_{kind}")(np.array(row), np.array(w))
            got_c = _c_prod(clib, name, kind, "float64")(row, w)
            _prod_ok(got_np, want, scale, w)
            _prod_ok(got_c, want, scale, w)


def test_softmax_vjp_formula_on_known_case(gen):
    # independent: uniform softmax of length 2, J = [[1/4, -1/4], [-1/4, 1/4]]
    np.testing.assert_allclose(gen.softmax_vjp([0.0, 0.0], [1.0, 0.0]), [0.25, -0.25], rtol=0)
    np.testing.assert_allclose(gen.log_softmax_vjp([0.0, 0.0], [1.0, 0.0]), [0.5, -0.5], rtol=0)


# --- conventions, axis, out=, errors ------------------------------------------------------------
INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("impl", ["numpy", "c"])
def test_conventions(gen, clib, impl):
    def val(name, row):
        if impl == "numpy":
            with np.errstate(all="raise"):
                return getattr(gen, name)(np.array(row))
        return _c_value(clib, name, "float64")(row)

    # +inf maximum: the limit, equal shares among the +inf entries
    assert list(val("softmax", [INF, 0.0])) == [1.0, 0.0]
    assert list(val("softmax", [INF, -1.0, INF])) == [0.5, 0.0, 0.5]
    assert list(val("softmin", [-INF, 3.0])) == [1.0, 0.0]
    np.testing.assert_array_equal(val("log_softmax", [INF, 2.0, INF]), [-math.log(2), -INF,
                                                                       -math.log(2)])
    # -inf entries get 0 / -inf; all -inf is NaN; NaN spreads over the row
    assert list(val("softmax", [-INF, 0.0])) == [0.0, 1.0]
    assert list(val("log_softmax", [-INF, 0.0])) == [-INF, 0.0]
    for name in NAMES:
        assert np.isnan(val(name, [-INF, -INF] if name != "softmin" else [INF, INF])).all()
        assert np.isnan(val(name, [1.0, NAN, 2.0])).all()
        assert np.isnan(val(name, [INF, NAN])).all()


@pytest.mark.parametrize("name", NAMES)
def test_axis_on_3d_array_against_mpmath(gen, name):
    x = np.random.default_rng(1).normal(scale=20, size=(2, 3, 4))
    for axis in (0, 1, 2, -1, -3):
        got = getattr(gen, name)(x, axis=axis)
        moved_got = np.moveaxis(got, axis, -1).reshape(-1, x.shape[axis])
        moved_x = np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
        for r, g in zip(moved_x, moved_got, strict=False):
            assert _max_ulp(g, _mp_value(name, list(r)), F64) <= 4
        gv = getattr(gen, name + "_vjp")(x, np.ones_like(x), axis=axis)
        if name != "log_softmax":
            np.testing.assert_allclose(gv, 0.0, atol=1e-15)  # rows of J sum to 0 for softmax


def test_out_scalar_empty_and_errors(gen):
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    out = np.empty_like(x)
    assert gen.softmax(x, axis=0, out=out) is out
    np.testing.assert_array_equal(out, gen.softmax(x, axis=0))
    assert gen.softmax(3.0) == 1.0
    assert gen.log_softmax(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(ValueError, match="out of bounds"):
        gen.softmax(x, axis=2)
    with pytest.raises(TypeError, match="axis"):
        gen.softmax(x, axis=0.5)
    with pytest.raises(ValueError, match="shape"):
        gen.softmax_jvp(x, np.ones(3))
    with pytest.raises(ValueError, match="out"):
        gen.softmax(x, out=np.empty(3))


def test_cli_show_knows_vectors(capsys):
    from symact import cli

    assert cli.main(["show", "softmax"]) == 0
    text = capsys.readouterr().out
    assert "KroneckerDelta" in text and "s_i * (g_i - <g, s>)" in text
