"""Double-double evaluation (symact.ddeval): the helpers against exact rational arithmetic, and a
printed program against mpmath at 50 digits where plain double evaluation loses ULPs."""

from __future__ import annotations

import ctypes
import math
import subprocess
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import cc

from symact import ddeval
from symact.printing import C_HELPERS, C_INLINE, NUMPY_HELPERS, CPrinter, NumpyPrinter

RNG = np.random.default_rng(20261123)
N = 2000
REL = 2.0**-100  # QD's sloppy operations: ~2^-104 each; some slack for the bound


def _helpers() -> dict:
    namespace: dict = {"np": np}
    exec(NUMPY_HELPERS["_dd"], namespace)  # noqa: S102 -- symact's own helper code
    return namespace


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random normalized double-doubles over a wide range of magnitudes and both signs."""
    hi = RNG.uniform(1.0, 2.0, n) * 2.0 ** RNG.integers(-200, 200, n) * RNG.choice([-1, 1], n)
    lo = hi * RNG.uniform(-1.0, 1.0, n) * 2.0**-54
    s = hi + lo  # renormalize: s + (lo - (s - hi)) is exact
    return s, lo - (s - hi)


def _exact(hi, lo) -> Fraction:
    return Fraction(float(hi)) + Fraction(float(lo))


def _check(op, got_hi, got_lo, a, b, scale) -> None:
    for i in range(len(got_hi)):
        want = op(_exact(a[0][i], a[1][i]), _exact(b[0][i], b[1][i]))
        err = abs(_exact(got_hi[i], got_lo[i]) - want)
        assert err <= REL * scale(i, want), (op, i)


OPS = {
    "add": (lambda p, q: p + q, "dd_add"),
    "mul": (lambda p, q: p * q, "dd_mul"),
    "div": (lambda p, q: p / q, "dd_div"),
}


def _bound(a, b, name):
    """Relative to |a| + |b| for a sum (a sloppy add is not relative to a cancelled result),
    to the result otherwise."""
    if name == "add":
        return lambda i, want: abs(_exact(a[0][i], a[1][i])) + abs(_exact(b[0][i], b[1][i]))
    return lambda i, want: abs(want)


@pytest.mark.parametrize("name", sorted(OPS))
def test_numpy_dd_operations_to_2_pow_100(name):
    h = _helpers()
    a, b = _pairs(N), _pairs(N)
    if name == "add":  # same magnitudes too, where the hi parts cancel
        even = np.arange(N) % 2 == 0
        b = (np.where(even, -a[0] * 0.75, b[0]), np.where(even, a[1] * 0.5, b[1]))
    op, fn = OPS[name]
    got = h[f"_{fn}"](a, b)
    _check(op, got[0], got[1], a, b, _bound(a, b, name))
    d = h[f"_{fn}_d"](a, b[0])  # the double-operand form
    bd = (b[0], np.zeros(N))
    _check(op, d[0], d[1], a, bd, _bound(a, bd, name))


def test_numpy_error_free_transformations():
    h = _helpers()
    a, b = _pairs(N)[0], _pairs(N)[0]
    s, e = h["_two_sum"](a, b)
    assert all(Fraction(float(x)) + Fraction(float(y)) == Fraction(float(p)) + Fraction(float(q))
               for x, y, p, q in zip(s, e, a, b, strict=True))
    p, e = h["_two_prod"](a, b)
    for pv, ev, av, bv in zip(p, e, a, b, strict=True):
        want = Fraction(float(av)) * Fraction(float(bv))
        assert abs(Fraction(float(pv)) + Fraction(float(ev)) - want) <= 2.0**-104 * abs(want)
    # the split never overflows (Veltkamp's 2^27 + 1 multiplier would at 1e300)
    with np.errstate(all="raise"):
        hi, lo = h["_dd_split"](np.array([1.7e308, -1e300, 5e-324]))
    assert list(hi + lo) == [1.7e308, -1e300, 5e-324]


C_TEST = """
#include <math.h>
{inline}
{helpers}
#define OP(name, expr) void name(const double *a, const double *b, double *r, int n) {{ \\
    for (int i = 0; i < n; ++i) {{ \\
        symact_dd x = {{a[2 * i], a[2 * i + 1]}}, y = {{b[2 * i], b[2 * i + 1]}}; \\
        symact_dd z = expr; r[2 * i] = z.hi; r[2 * i + 1] = z.lo; }} }}
OP(c_add, symact_dd_add(x, y))
OP(c_mul, symact_dd_mul(x, y))
OP(c_div, symact_dd_div(x, y))
OP(c_add_d, symact_dd_add_d(x, y.hi))
OP(c_mul_d, symact_dd_mul_d(x, y.hi))
OP(c_div_d, symact_dd_div_d(x, y.hi))
"""


@pytest.fixture(scope="module")
def c_dd(tmp_path_factory):
    compiler = cc()
    if compiler is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("dd")
    (d / "dd.c").write_text(C_TEST.format(inline=C_INLINE, helpers=C_HELPERS["symact_dd"]))
    subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC",
                    "-shared", str(d / "dd.c"), "-o", str(d / "dd.so"), "-lm"], check=True)
    return ctypes.CDLL(str(d / "dd.so"))


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("double_operand", [False, True])
def test_c_dd_operations_to_2_pow_100(c_dd, name, double_operand):
    a, b = _pairs(N), _pairs(N)
    if double_operand:
        b = (b[0], np.zeros(N))
    fn = getattr(c_dd, f"c_{name}" + ("_d" if double_operand else ""))
    pa, pb = np.ascontiguousarray(np.stack(a, 1)), np.ascontiguousarray(np.stack(b, 1))
    r = np.empty((N, 2))
    ptr = ctypes.POINTER(ctypes.c_double)
    fn(pa.ctypes.data_as(ptr), pb.ctypes.data_as(ptr), r.ctypes.data_as(ptr), N)
    _check(OPS[name][0], r[:, 0], r[:, 1], a, b, _bound(a, b, name))


# A long sum that rounds at every step and cancels mildly for x < 0 (e^x by its Taylor
# polynomial): plain double evaluation loses several ULPs, double-double only the final rounding.
X = sp.Symbol("x", real=True)
TAYLOR = sp.Add(*[X**k / sp.factorial(k) for k in range(18)])
XS = np.linspace(-1.0, 1.0, 401)


def _ulps(got: np.ndarray) -> np.ndarray:
    out = []
    for xv, g in zip(XS.tolist(), got.tolist(), strict=True):
        with mpmath.workdps(50):
            want = sum(mpmath.mpf(xv) ** k / mpmath.factorial(k) for k in range(18))
            out.append(float(abs(mpmath.mpf(g) - want) / mpmath.mpf(math.ulp(float(want)))))
    return np.array(out)


def _run_program(expr: sp.Expr) -> np.ndarray:
    printer = NumpyPrinter()
    lines, (result,) = ddeval.program([expr], printer.doprint, "py")
    namespace = {**_helpers(), "x": XS}
    for _kind, name, code in lines:
        namespace[name] = eval(code, namespace)  # noqa: S307 -- code symact printed itself
    return eval(result, namespace)  # noqa: S307


def test_program_rounds_once_where_plain_double_does_not():
    plain = eval(NumpyPrinter().doprint(TAYLOR), {"np": np, "x": XS})  # noqa: S307
    assert _ulps(plain).max() > 1.0  # what double-double is for (can fail: keeps the test honest)
    assert _ulps(_run_program(TAYLOR)).max() <= 0.5 + 1e-6


def test_targets_are_the_topmost_long_arithmetic_of_each_branch():
    e = sp.exp(-sp.Abs(X))
    long = e / (1 + e) ** 2 + X * e
    pw = sp.Piecewise((long, X >= 0), (1 + e, True))
    assert ddeval.targets(pw, X) == [long]  # 1 + e rounds once: not worth it
    assert ddeval.targets(sp.tanh(long), X) == [long]  # inside a function too


def test_c_program_rounds_once(tmp_path):
    compiler = cc()
    if compiler is None:
        pytest.skip("no C compiler")
    lines, (result,) = ddeval.program([TAYLOR], CPrinter().doprint, "c")
    assert {kind for kind, _, _ in lines} == {ddeval.D, ddeval.DD}
    body = "".join(f"    const {'symact_dd' if k == ddeval.DD else 'double'} {v} = {c};\n"
                   for k, v, c in lines)
    src = (f"#include <math.h>\n{C_INLINE}\n{C_HELPERS['symact_dd']}\n"
           f"double f(double x)\n{{\n{body}    return {result};\n}}\n")
    (tmp_path / "p.c").write_text(src)
    subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC",
                    "-shared", str(tmp_path / "p.c"), "-o", str(tmp_path / "p.so"), "-lm"],
                   check=True)
    f = ctypes.CDLL(str(tmp_path / "p.so")).f
    f.argtypes, f.restype = [ctypes.c_double], ctypes.c_double
    assert _ulps(np.array([f(float(v)) for v in XS])).max() <= 0.5 + 1e-6


def test_program_emits_each_statement_once():
    """x e times two different factors: the product x e is formed once (silu'' had it twice),
    and the values are those of the expressions (against mpmath at 50 digits)."""
    e, e2 = sp.exp(-sp.Abs(X)), sp.exp(-2 * sp.Abs(X))
    exprs = [X * e * e2 + 2 * e, -X * e * e2 + 3 * e]
    printer = NumpyPrinter()
    lines, results = ddeval.program(exprs, printer.doprint, "py")
    codes = [code for _, _, code in lines]
    assert len(codes) == len(set(codes))
    apart = sum(len(ddeval.program([ex], printer.doprint, "py")[0]) for ex in exprs)
    assert len(lines) <= apart - 3  # the leaves e, e2 and the product x e e2, shared
    namespace = {**_helpers(), "x": XS}
    for _kind, name, code in lines:
        namespace[name] = eval(code, namespace)  # noqa: S307 -- code symact printed itself
    for expr, result in zip(exprs, results, strict=True):
        got = eval(result, namespace)  # noqa: S307
        f = sp.lambdify(X, expr, "mpmath")
        with mpmath.workdps(50):
            worst = max(float(abs(mpmath.mpf(g) - f(mpmath.mpf(v))) / math.ulp(float(f(v))))
                        for v, g in zip(XS.tolist(), got.tolist(), strict=True)
                        if f(v) != 0)
        assert worst <= 2.0  # the leaves e, e2 each rounded once by np.exp, and the result


@pytest.mark.parametrize("name", ["silu_prime2", "gelu_tanh_prime", "mish_prime2"])
def test_per_arm_targets_equal_every_element_evaluation(name):
    """A kernel whose double-double targets each sit in one arm computes them on that arm's
    elements only (local _dd{k}(x) called through _by_arms): bit for bit what computing every
    target on every element and selecting gives (the printed formula, emit's fn)."""
    from symact import emit
    from symact.activation import all_activations

    act = next(a for a in all_activations() if name.startswith(a.name + "_prime"))
    kernel = next(k for k in act.kernels if act.name + k.suffix == name)
    printed = emit._print(emit.fold_constants(kernel.stable), list(act.params),
                          double_double=True)
    assert any(line.startswith("def _dd0(x):") for line in printed.py_inplace)
    assert any("_by_arms(" in line and "_dd0(" in line for line in printed.py_inplace)
    by_arm = emit._inplace_callable(printed, list(act.params))
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.uniform(-40, 40, 20000), rng.uniform(-3, 3, 20000)])
    with np.errstate(all="ignore"):
        a = np.asarray(by_arm(xs), dtype=float)
        b = np.asarray(printed.fn(xs), dtype=float)
    assert np.array_equal(a.view(np.int64), b.view(np.int64))


def test_targets_whose_arm_is_fine_in_double_go_back_to_double(monkeypatch):
    """gelu_tanh' in double-double everywhere costs ~250 ns/el in NumPy; its x >= 0 arm has no
    cancellation, so _plain_targets prints that arm's targets in double. The kernel it keeps
    is within 4 ULP of gelu_tanh' evaluated by mpmath at 200 digits, and a slack no kernel can
    meet keeps every target in double-double."""
    from symact import emit
    from symact.activation import get
    from symact.catalog import X
    from symact.stabilize import exp_polynomials
    from symact.verify import Reference

    act = get("gelu_tanh")
    kernel = next(k for k in act.kernels if k.suffix == "_prime")
    stable = emit.fold_constants(exp_polynomials(kernel.stable, X, plain=False))
    ref = Reference(kernel.exact, X, act.defaults)
    dd = emit._print(stable, [], double_double=True)
    patches = emit._patches(act, kernel, dd.fn, ref, False, None)
    dd_err = emit._measured_error(emit._patched(emit._inplace_callable(dd, []), patches, act,
                                                None), [], ref, True)

    def dd_functions(printed) -> int:
        return sum(line.startswith("def _dd") for line in printed.py_inplace)

    printed, kept = emit._plain_targets(act, kernel, stable, ref, None, dd_err, True, dd,
                                        patches)
    assert 0 < dd_functions(printed) < dd_functions(dd)
    fn = emit._patched(emit._inplace_callable(printed, []), kept, act, None)
    xs = np.concatenate([np.linspace(-10.0, 10.0, 1601), np.geomspace(1e-8, 30.0, 200)])
    got = np.asarray(fn(xs), dtype=float)
    f = sp.lambdify(X, kernel.exact, "mpmath")
    with mpmath.workdps(200):
        worst = max(float(abs(mpmath.mpf(g) - f(mpmath.mpf(v))) / math.ulp(float(f(v))))
                    for v, g in zip(xs.tolist(), got.tolist(), strict=True))
    assert worst <= 4.0

    monkeypatch.setattr(emit, "PLAIN_TARGET_SLACK", -100.0)
    same, _ = emit._plain_targets(act, kernel, stable, ref, None, dd_err, True, dd, patches)
    assert same is dd
