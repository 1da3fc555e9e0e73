"""Quick forms: a kernel's formula as written, on the inputs where it is measured accurate.

The stable form of sigmoid, ``e = e^{-|x|}; r = (x >= 0 ? 1 : e)/(1 + e)``, is right for every
double but costs NumPy 8 ufunc calls per block; ``e^x/(e^x + 1)`` costs 3 and is just as
accurate until e^x overflows (x > 709.78). A quick form is such a formula with the interval
[low, high] around 0 on which it is measured within QUICK_MAX_ULP: the generated module runs it
on every block whose inputs all lie there (a min and a max decide, an infinite end is not
checked, a NaN fails a finite end's check) and the stable form on any other block. Float32
inputs are computed in double either way, so the float64 interval serves them too.

Candidates: the kernel's exact formula, the same as one fraction in E = e^{+-x} (_in_exp), and
each of those with SymPy's codegen rewrites log(1 + w) -> log1p(w), e^w - 1 -> expm1(w). The
one with the fewest calls is kept that prints to NumPy ufuncs alone, makes more than
QUICK_CHECK_COST calls fewer than the stable form, is exact at +-0, and whose interval holds
all of [-QUICK_MIN_REACH, QUICK_MIN_REACH]. The measurement: ULPs against the Reference (40
digits, adaptive where that shows more than QUICK_MAX_ULP) on [-30, 30] at step 0.005 and
down to the smallest subnormal, then outward on geometric points to the largest double; no
floating-point warning inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.codegen.rewriting import expm1_opt, log1p_opt, optimize

from .inplace import inplace_lines
from .printing import NumpyPrinter
from .verify import FORMATS, Reference, ulp_error

#: A quick form's largest measured error on its interval (float64 ULPs; the bar is 4: a margin
#: of one ULP for inputs between the measured points).
QUICK_MAX_ULP = 3.0
#: Its interval must hold [-QUICK_MIN_REACH, QUICK_MIN_REACH]: where activations' inputs live.
QUICK_MIN_REACH = 30.0
#: Statements the block check costs, counted against the quick form's savings.
QUICK_CHECK_COST = 2


@dataclass(frozen=True)
class Quick:
    """A quick form: NumPy statements writing ``r`` from ``x`` with scratch ``s``."""

    formula: str  # the expression, for the generated comment
    lines: tuple[str, ...]
    scratch: int
    low: float  # every x in [low, high] is within max_ulp
    high: float
    max_ulp: float


def statements(lines) -> int:
    """Calls among printed NumPy lines (ufuncs, helpers): not slot views (b0 = s[0][:n]),
    aliases (t0 = b0) or with-blocks. A helper (double-double op) counts one, a lower bound."""
    return sum(1 for line in lines
               if "(" in line and "= s[" not in line
               and not line.lstrip().startswith(("with ", "#")))


def quick_points() -> np.ndarray:
    """Where a quick form is measured: [-30, 30] at step 0.005, the tails geometrically (ratio
    1.015 out to 1e4, then to the largest double) and tiny |x| down to the smallest subnormal."""
    dense = np.linspace(-30.0, 30.0, 12001)
    big = float(np.finfo(np.float64).max)
    far = np.exp(np.linspace(math.log(1e4), math.log(big), 120)[:-1])
    tails = np.concatenate([np.geomspace(30.0, 1e4, 400), far, [big]])
    tiny = np.geomspace(5e-324, 1e-6, 120)
    return np.unique(np.concatenate([dense, tails, -tails, tiny, -tiny, [0.0]]))


def _callable(lines: list[str], scratch: int):
    src = "def _k(x):\n    n = x.size\n    r = np.empty(n)\n"
    src += f"    s = [np.empty(n) for _ in range({scratch})]\n"
    src += "".join(f"    {line}\n" for line in lines) + "    return r\n"
    namespace: dict = {"np": np, "math": math}
    exec(src, namespace)  # noqa: S102 -- symact's own printed code, never user text
    return namespace["_k"]


def _errors(fn, xs: np.ndarray, ref: Reference, stop_at_first: bool = False) -> np.ndarray:
    """float64 ULP error of fn at each of xs: the exact formula at 40 digits first, the adaptive
    Reference where that shows more than QUICK_MAX_ULP (a cancelling exact form never invents an
    error). With ``stop_at_first``, checking stops at the first point confirmed over (the
    others stay as measured at 40 digits)."""
    with np.errstate(all="ignore"):
        got = np.asarray(fn(xs), dtype=float)
    fmt = FORMATS["float64"]
    errs = ref.errors40(got, xs, fmt)
    for i in np.flatnonzero(errs > QUICK_MAX_ULP):
        try:
            errs[i] = ulp_error(float(got[i]), ref.value_in(float(xs[i]), fmt), fmt)
        except ArithmeticError:
            errs[i] = math.inf
        if stop_at_first and errs[i] > QUICK_MAX_ULP:
            break
    return errs


def _warns(fn, xs: np.ndarray) -> bool:
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            fn(xs)
    except FloatingPointError:
        return True
    return False


def _far_from(fn, stable, xs: np.ndarray) -> bool:
    """Does fn differ from the stable formula by more than QUICK_MAX_ULP + 4 ULP somewhere on
    xs? Where the stable formula is within its 4-ULP bar, fn is then over QUICK_MAX_ULP for
    sure, and no high-precision evaluation is needed. (``stable`` has no root patches: next to
    a root it may be off, and a good candidate rejected; a rejection is never unsafe.)"""
    with np.errstate(all="ignore"):
        a = np.asarray(fn(xs), dtype=float)
        b = np.asarray(stable(xs), dtype=float)
    ulp = np.spacing(np.abs(b))
    return bool(np.any(np.abs(a - b) > (QUICK_MAX_ULP + 4.0) * ulp))


def _measure(fn, ref: Reference, stable=None) -> tuple[float, float, float] | None:
    """(low, high, max error on [low, high]) of fn, or None if fn misses [-30, 30] (an error
    over QUICK_MAX_ULP, a warning) or is not exact at +-0."""
    xs = quick_points()
    core = xs[np.abs(xs) <= QUICK_MIN_REACH]
    if stable is not None and _far_from(fn, stable, core):
        return None
    errs = _errors(fn, core, ref, stop_at_first=True)
    if not (errs <= QUICK_MAX_ULP).all() or _warns(fn, core):
        return None
    try:
        exact0 = float(ref(0.0))
    except ArithmeticError:
        return None
    with np.errstate(all="ignore"):
        at0 = np.asarray(fn(np.array([0.0, -0.0])), dtype=float)
    if not (at0[0] == exact0 and at0[1] == exact0):
        return None
    high, up = _reach(fn, xs[xs > QUICK_MIN_REACH], ref, core[-1])
    low, down = _reach(fn, xs[xs < -QUICK_MIN_REACH][::-1], ref, core[0])
    return (*_to_infinity(fn, ref, low, high, xs[0], xs[-1]), max(float(errs.max()), up, down))


def _reach(fn, outward: np.ndarray, ref: Reference, start: float) -> tuple[float, float]:
    """The last of ``outward`` (points going away from 0) before the first one over
    QUICK_MAX_ULP or warning (``start`` if that is the first), and the max error up to it."""
    errs = _errors(fn, outward, ref, stop_at_first=True)
    bad = errs > QUICK_MAX_ULP
    bad |= np.array([_warns(fn, outward[i:i + 1]) for i in range(outward.size)], dtype=bool)
    first = int(np.argmax(bad)) if bad.any() else outward.size
    if first == 0:
        return start, 0.0
    return float(outward[first - 1]), float(errs[:first].max())


def _to_infinity(fn, ref: Reference, low: float, high: float, first: float,
                 last: float) -> tuple[float, float]:
    """An end at +-DBL_MAX moves to +-inf when fn gives the exact limit there without a warning
    (the block check then skips that side); but one end stays finite unless fn(NaN) is NaN,
    so that a NaN still fails the check."""
    ends = [low, high]
    for side, (end, extreme, inf) in enumerate(((low, first, -math.inf),
                                                (high, last, math.inf))):
        if end != extreme or _warns(fn, np.array([inf])):
            continue
        try:
            want = float(ref(inf))
        except ArithmeticError:
            continue
        if float(fn(np.array([inf]))[0]) == want:
            ends[side] = inf
    if math.isinf(ends[0]) and math.isinf(ends[1]):
        with np.errstate(all="ignore"):
            if not math.isnan(float(fn(np.array([math.nan]))[0])):
                ends[1] = high
    return ends[0], ends[1]


def _in_exp(expr: sp.Expr, x: sp.Symbol, sign: int) -> sp.Expr | None:
    """expr as one fraction of polynomials in E = e^{sign x} when its exponentials are all
    e^{kx}, integer k: sigmoid = 1/(1 + e^{-x}) = E/(E + 1) with E = e^x, one call fewer."""
    e = sp.Dummy("E", positive=True)
    powers = {}
    for f in expr.atoms(sp.exp):
        k = sp.simplify(f.args[0] / (sign * x))
        if not k.is_Integer:
            return None
        powers[f] = e**k
    if not powers:
        return None
    rational = sp.factor(sp.cancel(expr.xreplace(powers)))
    return rational.xreplace({e: sp.exp(sign * x)})


def quick_form(exact: sp.Expr, x: sp.Symbol, ref: Reference, stable_statements: int,
               minus_zero, stable=None) -> Quick | None:
    """The shortest candidate (see the module docstring) measured good on [-30, 30] at least,
    or None. ``minus_zero(fn)``: does fn give the stable kernel's signed zero at x = -0?
    ``stable(x)``: the stable kernel, to reject far-off candidates without mpmath."""
    candidates = []
    rewrites = [exact, *(e for e in (_in_exp(exact, x, sign) for sign in (1, -1)) if e is not None)]
    for expr in [*rewrites, *(optimize(e, [log1p_opt, expm1_opt]) for e in rewrites)]:
        printer = NumpyPrinter()
        try:
            lines, scratch = inplace_lines(expr, x, printer)
        except (TypeError, ValueError, NotImplementedError):
            continue
        if printer.helpers or statements(lines) + QUICK_CHECK_COST >= stable_statements:
            continue
        if all(lines != c[1] for c in candidates):
            candidates.append((expr, lines, scratch))
    for expr, lines, scratch in sorted(candidates, key=lambda c: statements(c[1])):
        fn = _callable(lines, scratch)
        try:
            measured = _measure(fn, ref, stable)
        except (TypeError, ValueError, AttributeError):  # printed math.f: not elementwise
            continue
        if measured is not None and minus_zero(fn):
            low, high, err = measured
            return Quick(sp.sstr(expr), tuple(lines), scratch, low, high, err)
    return None
