"""Render the catalog through the printers and the Jinja2 templates into ``generated/``.

Templates lay out prepared data (names, signatures, docstrings, printed expressions); every
formula comes from stabilize via a printer. Output is deterministic: sorted helpers, catalog
order, no timestamps, no hash-ordered iteration.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.logic.boolalg import Boolean

from . import __version__, ddeval, kcache, prune
from .activation import Activation, Kernel, all_activations
from .arm_split import split_arms
from .catalog import X
from .ddeval import dd_call
from .errors import OutputError
from .exp_share import share_exp
from .float_erfc import erfc_float_np
from .functions import erfc_float, gauss_times, mills_ln, normal_cdf
from .inplace import MANY_PASSES, costly_arms, inplace_lines
from .patch import SCAN, RootPatch, find_patches, scaling
from .printing import (
    C_HELPERS,
    C_INLINE,
    C_VECTOR_LIBM,
    NUMPY_HELPERS,
    CPrinter,
    NumpyPrinter,
    helper_closure,
)
from .quick import quick_form, statements
from .stabilize import exp_polynomials
from .vector import vector_activations, vector_code
from .verify import FORMATS, Reference, tanh_complements, ulp_error

REGENERATE = "symact generate"

#: Template -> output file name, per target folder.
TARGETS = {
    "numpy": {"__init__.py.j2": "__init__.py", "activations.py.j2": "activations.py"},
    "c": {"activations.h.j2": "activations.h", "activations.c.j2": "activations.c"},
}


def templates_dir() -> Path:
    """templates/ of a checkout, else the copy installed inside the package."""
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if (checkout / "numpy").is_dir():
        return checkout
    return Path(str(resources.files("symact") / "templates"))


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    low: str
    high: str
    low_open: bool
    high_open: bool


@dataclass(frozen=True)
class KernelCode:
    """One kernel, printed for every target."""

    name: str  # e.g. "sigmoid_prime"
    title: str
    formula: str  # one-line formula for comments and docstrings
    output_form: str
    params: tuple[Param, ...]
    constant: bool
    guard_inf: bool
    guard_nan: bool
    limit_pos: float
    limit_neg: float
    py_lines: tuple[tuple[str, str], ...]
    py_result: str
    c_lines: tuple[tuple[str, str, str], ...]  # (C type, name, code)
    c_result: str
    py_inplace: tuple[str, ...] = ()  # the kernel as NumPy statements writing into r
    scratch: int = 0  # scratch arrays py_inplace uses (s[0] .. s[scratch - 1])
    patches: tuple[RootPatch, ...] = ()
    reaches_inf: bool = False  # |result| passes the largest double for some finite x
    # patches of a kernel factor(p) * G(scale(p) * x) are in t = scale * x (patch.Scaling)
    patch_scale_py: str = ""
    patch_scale_c: str = ""
    patch_factor_py: str = ""
    patch_factor_c: str = ""
    zero_value: str = ""  # the correctly rounded value at x = +-0, where the formula misses it
    # the same for the C code: also wherever f(0) is not a double (the C formula's constants,
    # M_PI and sqrt(), round apart from NumPy's, and no compiler runs at generation time)
    zero_value_c: str = ""
    double_double: bool = False  # long arithmetic evaluated in double-double (ddeval)
    # the NumPy formula is double-double or calls a helper of many passes per element
    # (inplace.MANY_PASSES: the normal distribution's, exp_poly): where root patches hold a
    # quarter of a block or more, the formula runs on the other elements only (for a cheap
    # formula gathering them costs more than it saves)
    many_passes: bool = False
    # C expression in double for the float API where the core costs more than floats need
    # (_float_core); "" = the float API rounds the core's result
    c_float_result: str = ""
    # which edges the float core gets wrong by itself, so its guards fix them: a subset of
    # ("pos", "neg", "nan") for +inf, -inf and NaN (_float_edges)
    c_float_fixes: tuple[str, ...] = ()
    # the float core as NumPy statements writing r (for float16/float32 input; () = none: the
    # core calls erfc, which NumPy lacks), and the scratch arrays they use
    py_float_lines: tuple[str, ...] = ()
    py_float_scratch: int = 0
    float_formula: str = ""  # the float core, for the generated comments
    # NumPy quick form (symact.quick): statements run on blocks whose x all lie in
    # [quick_low, quick_high], measured within quick_ulp there; () = none
    quick_lines: tuple[str, ...] = ()
    quick_scratch: int = 0
    quick_formula: str = ""
    quick_low: float = 0.0
    quick_high: float = 0.0
    quick_ulp: float = 0.0
    # the C array loops' arms: a top-level Piecewise with a costly helper in an arm
    # (inplace.costly_arms) as (condition, lines, result) per arm, the last condition "" (the
    # default); each element is evaluated by its own arm only. () = one loop over the core.
    c_arms: tuple[tuple[str, tuple[tuple[str, str, str], ...], str], ...] = ()

    @property
    def c_patches(self) -> list[tuple[str, str, str, str, int, int, int]]:
        """(x0_hi, x0_lo, radius, coefficients, their count, side, compensated steps)."""
        return [(repr(p.x0_hi), repr(p.x0_lo), repr(p.radius),
                 ", ".join(repr(c) for c in p.coeffs), len(p.coeffs), p.side, p.steps)
                for p in self.patches]

    @property
    def c_calls_normal_helpers(self) -> bool:
        """Does the C code call the normal-distribution helpers? Their clamps to constants let
        gcc's jump threading copy what follows once per side, and in a vectorized loop every
        copy runs (gelu: 9 vector exp calls per element instead of 5), so the template turns
        threading off for these kernels' array loops (SYMACT_NO_THREADING)."""
        code = self.c_result + "".join(line[2] for line in self.c_lines)
        return any(f"{h}(" in code for h in NORMAL_HELPERS)

    @property
    def c_float_calls_libm(self) -> bool:
        """Does the float core call libm (vectorized only by the fast build's libmvec), or only
        inline code (symact_erfc_float, arithmetic: vectorized in both builds)?"""
        return any(re.search(rf"(?<!\w){name}\(", self.c_float_result)
                   for name, _ in C_VECTOR_LIBM)

    @property
    def py_limit_pos(self) -> str:
        return _py_float(self.limit_pos)

    @property
    def py_limit_neg(self) -> str:
        return _py_float(self.limit_neg)

    @property
    def py_quick_low(self) -> str:
        return _py_float(self.quick_low)

    @property
    def py_quick_high(self) -> str:
        return _py_float(self.quick_high)

    @property
    def quick_statements(self) -> int:
        return statements(self.quick_lines)

    @property
    def stable_statements(self) -> int:
        return statements(self.py_inplace)

    @property
    def c_limit_pos(self) -> str:
        return _c_float(self.limit_pos)

    @property
    def c_limit_neg(self) -> str:
        return _c_float(self.limit_neg)


def _py_float(v: float) -> str:
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return "np.nan" if math.isnan(v) else repr(float(v))


def _c_float(v: float) -> str:
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return "NAN" if math.isnan(v) else repr(float(v))


def _fmt_bound(v: float | None) -> str:
    return "None" if v is None else repr(float(v))


def _cse(expr: sp.Expr, printer) -> tuple[tuple[tuple[str, str, str], ...], str]:
    """Common subexpressions of ``expr`` as (C type, name, code) lines, and the result: a
    condition shared by two selects is an ``int`` (as a double it is an implicit conversion
    that clang -Wconversion rejects)."""
    subs, (reduced,) = sp.cse([expr], symbols=sp.numbered_symbols("t"), optimizations=None)
    lines = tuple(("int" if isinstance(e, Boolean) else "double", str(s), printer.doprint(e))
                  for s, e in subs)
    return lines, printer.doprint(reduced)


def _numpy_callable(lines, result, params, helpers):
    """The printed NumPy kernel as a function, to probe its edges at generation time."""
    src = "def _k(x, {}):\n".format(", ".join(params) or "_unused=None")
    src += "".join(f"    {v} = {code}\n" for v, code in lines)
    src += f"    return {result}\n"
    namespace: dict = {"np": np}
    for h in sorted(helpers):
        exec(NUMPY_HELPERS[h], namespace)  # noqa: S102 -- symact's own printed code
    exec(src, namespace)  # noqa: S102 -- symact's own printed code, never user text
    return namespace["_k"]


def _same(got: float, want: float) -> bool:
    """The same value, NaN counting as equal to NaN."""
    return got == want or (math.isnan(got) and math.isnan(want))


def _edges(fn, defaults: list[float], ref: Reference) -> tuple[bool, bool, float, float]:
    """Which guards the kernel needs: does it give the exact limit at +-inf without a
    floating-point warning, and NaN for NaN?"""
    limit_pos, limit_neg = float(ref(math.inf)), float(ref(-math.inf))
    guard_inf = False
    for xv, want in ((math.inf, limit_pos), (-math.inf, limit_neg)):
        try:
            with np.errstate(all="raise"):
                got = float(np.asarray(fn(np.array([xv]), *defaults))[0])
        except FloatingPointError:
            guard_inf = True
            continue
        if not _same(got, want):
            guard_inf = True
    with np.errstate(all="ignore"):
        got_nan = float(np.asarray(fn(np.array([math.nan]), *defaults))[0])
    return guard_inf, not math.isnan(got_nan), limit_pos, limit_neg


def _zero_value(fn, ref: Reference) -> str:
    """repr of the correctly rounded f(0) when the printed formula gives anything else there
    (gelu_tanh''(0) = 2 sqrt(2/pi) as a product of rounded constants is 1 ULP off), else ""."""
    want = ref(0.0)
    if not mpmath.isfinite(want):
        return ""
    exact = float(want)
    with np.errstate(all="ignore"):
        got = float(np.asarray(fn(np.array([0.0])), dtype=float)[0])
    return "" if got == exact else repr(exact)


def _inexact_zero(ref: Reference) -> str:
    """repr of f(0) rounded when f(0) is finite and not a double (log 2, 2 sqrt(2/pi)), else
    ""."""
    want = ref(0.0)
    if not mpmath.isfinite(want) or mpmath.mpf(float(want)) == want:
        return ""
    return repr(float(want))


def _reaches_inf(act: Activation, kernel: Kernel) -> bool:
    """Does the kernel's exact value pass the largest double at x = +-DBL_MAX, with the
    default parameters or any sampled valid ones
    (prelu with a = 2)? Then +-inf is its correctly rounded result there, and the NumPy code
    lets that overflow happen without a warning."""
    big = float(np.finfo(np.float64).max)
    samples = []  # the defaults come first in param_samples() too: each set once (~0.5 s each)
    for params in [act.defaults, *act.param_samples()]:
        if params not in samples:
            samples.append(params)
    for params in samples:
        ref = Reference(kernel.exact, X, params)
        for xv in (big, -big):
            try:
                value = ref(xv)
            except ArithmeticError:
                continue
            if abs(value) >= big:
                return True
    return False


def fold_constants(expr: sp.Expr) -> sp.Expr:
    """Every irrational constant subexpression (sqrt(2)/sqrt(pi), ...) as one number to 40
    digits: rounded once when printed, and no M_PI (not C99) in the C."""
    if expr.is_number and not (expr.is_Rational or expr.is_Float):
        value = sp.N(expr, 40)
        return value if value.is_Float else expr
    if expr.is_Atom or not expr.args:
        return expr
    args = [fold_constants(a) for a in expr.args]
    return expr.func(*args) if args != list(expr.args) else expr


@dataclass
class _Printed:
    """One kernel expression printed for both targets (see kernel_code)."""

    py_lines: tuple[tuple[str, str], ...]
    py_result: str
    c_lines: tuple[tuple[str, str, str], ...]
    c_result: str
    py_inplace: tuple[str, ...]
    scratch: int
    py_helpers: set[str]
    c_helpers: set[str]
    fn: object  # the NumPy code as a callable (x, *params)
    c_arms: tuple = ()  # see KernelCode.c_arms


def _print(stable: sp.Expr, params: list[str], double_double: bool,
           c_stable: sp.Expr | None = None, plain: frozenset[int] = frozenset()) -> _Printed:
    """Print ``stable``; with ``double_double``, its long arithmetic subexpressions (ddeval
    targets) are evaluated in double-double and rounded once, except the targets numbered in
    ``plain`` (see _plain_targets). ``c_stable``: C's form where it differs (every polynomial
    exponent compensated, see kernel_code)."""
    constant = not stable.has(X)
    c_stable = stable if c_stable is None else c_stable
    npp, cp = NumpyPrinter(), CPrinter()
    py_pre: list[tuple[str, str]] = []
    c_pre: list[tuple[str, str, str]] = []
    holders: dict[sp.Symbol, str] = {}
    quiet: set[str] = set()  # dd leaves whose exponent holds a parameter (beta |x| = inf)
    if double_double:
        found = [t for k, t in enumerate(ddeval.targets(stable, X)) if k not in plain]
        names = [sp.Symbol(f"dd{i}") for i in range(len(found))]

        def py_leaf(e: sp.Expr) -> str:
            code = npp.doprint(e)
            if any(a.args[0].free_symbols - {X} for a in e.atoms(sp.exp, expm1)):
                quiet.add(code)
            return code

        py_prog, py_res = ddeval.program(found, py_leaf, "py")
        c_prog, c_res = ddeval.program(found, cp.doprint, "c")
        py_pre = [(v, code) for _, v, code in py_prog]
        py_pre += [(h.name, r) for h, r in zip(names, py_res, strict=True)]
        c_pre = [("symact_dd" if kind == ddeval.DD else "double", v, code)
                 for kind, v, code in c_prog]
        c_pre += [("double", h.name, r) for h, r in zip(names, c_res, strict=True)]
        by_arm = _per_arm(stable, found)
        stable_by_arm = stable.xreplace({t: dd_call(i, X) for i, t in enumerate(found)})
        stable = stable.xreplace(dict(zip(found, names, strict=True)))
        holders = {h: h.name for h in names}
        npp.helpers.add("_dd")
        cp.helpers.add("symact_dd")
    py_lines, py_result = _cse(stable, npp)
    py_lines = tuple((v, code) for _, v, code in py_lines)
    if double_double:
        c_stable = stable
    c_lines, c_result = _cse(share_exp(c_stable), cp)
    c_arms = ()
    if not double_double and costly_arms(c_stable, _C_ARMS_FOR):
        c_arms = tuple((cp.doprint(cond) if cond is not sp.true else "",
                        *_c_arm(arm, cp)) for arm, cond in split_arms(c_stable.args))
    py_lines = (*py_pre, *py_lines)
    c_lines = (*c_pre, *c_lines)
    if double_double and by_arm:
        # each target a local function _dd{k}(x), called in its arm on that arm's elements
        inplace, scratch = inplace_lines(stable_by_arm, X, npp)
        pre = []
        for k, target in enumerate(found):
            prog, (res,) = ddeval.program([target], py_leaf, "py")
            pre.append(f"def _dd{k}(x):  # double-double target {k}, on its arm's elements only")
            pre += [f"    {line}" for line in _quiet_lines(prog, quiet)]
            pre.append(f"    return {res}")
    else:
        inplace, scratch = inplace_lines(stable, X, npp, arrays=holders)
        pre = []
        if double_double:
            pre = _quiet_lines(py_prog, quiet)
            pre += [f"{h.name} = {r}" for h, r in zip(names, py_res, strict=True)]
    inplace = pre + inplace
    fn = _numpy_callable(py_lines, py_result if not constant else
                         f"np.where(np.isnan(x), x, {py_result})", params, npp.helpers)
    return _Printed(py_lines, py_result, c_lines, c_result, tuple(inplace), scratch,
                    npp.helpers, cp.helpers, fn, c_arms)


#: A double-double target goes back to double if the kernel then measures at most this much
#: worse than with every target in double-double (and within DD_TRIGGER).
PLAIN_TARGET_SLACK = 0.25


def _plain_targets(act: Activation, kernel: Kernel, stable: sp.Expr, ref: Reference,
                   scaled, dd_err: float, dense: bool, printed: _Printed,
                   patches: tuple[RootPatch, ...]) -> tuple[_Printed, tuple[RootPatch, ...]]:
    """With each double-double target in its own arm (_per_arm), the targets whose arm is fine
    in double, printed in double: one at a time, kept plain where the whole kernel still
    measures within PLAIN_TARGET_SLACK of ``dd_err`` (gelu_tanh': x >= 0 has no cancellation,
    and its arm costs ~20 ns/el in double against ~250 in double-double in NumPy)."""
    found = ddeval.targets(stable, X)
    if len(found) < 2 or not _per_arm(stable, found):
        return printed, patches
    names, defaults = list(act.params), list(act.params.values())
    plain: frozenset[int] = frozenset()
    for k in range(len(found)):
        if len(plain) == len(found) - 1:  # all plain is the double form, already rejected
            break
        trial = _print(stable, names, double_double=True, plain=plain | {k})
        trial_patches = _patches(act, kernel, trial.fn, ref, False, scaled)
        fn = _patched(_inplace_callable(trial, names), trial_patches, act, scaled)
        err = _measured_error(fn, defaults, ref, dense)
        if err <= min(dd_err + PLAIN_TARGET_SLACK, DD_TRIGGER):
            plain, printed, patches = plain | {k}, trial, trial_patches
    return printed, patches


def _per_arm(stable: sp.Expr, found: list[sp.Expr]) -> bool:
    """Can each double-double target be computed on its own arm's elements only? (stable a
    Piecewise, every target inside exactly one arm and in no condition.)"""
    if not found or not isinstance(stable, sp.Piecewise):
        return False
    return all(sum(arm.has(t) for arm, _ in stable.args) == 1
               and not any(c.has(t) for _, c in stable.args) for t in found)


def _quiet_lines(prog, quiet: set[str]) -> list[str]:
    """The double-double statements ``prog`` as NumPy lines, those whose exponent holds a
    parameter under errstate(over="ignore")."""
    out: list[str] = []
    for _, v, code in prog:
        if code in quiet:
            out += ['with np.errstate(over="ignore"):  # e^(+-inf) is exact', f"    {v} = {code}"]
        else:
            out.append(f"{v} = {code}")
    return out


#: Helpers for which the C array loops evaluate a Piecewise arm by arm (KernelCode.c_arms):
#: each costs several vector-libm calls, and an element then pays for its own arm only (gelu
#: 13.6 -> 10.0 ns/el, gelu' 23.6 -> 17.6). Not exp_poly: one exp, and gelu_tanh ran 4.4 -> 7.8
#: ns/el listed by arm.
_C_ARMS_FOR = (normal_cdf, mills_ln, gauss_times)


def _c_arm(arm: sp.Expr, cp: CPrinter) -> tuple[tuple[tuple[str, str, str], ...], str]:
    return _cse(share_exp(arm), cp)


def _inplace_callable(printed: _Printed, params: list[str]):
    """The generated NumPy kernel's statements (py_inplace) as a function of finite x."""
    src = "def _k(x, {}):\n".format(", ".join(params) or "_unused=None")
    src += "    n = x.size\n    r = np.empty(n)\n"
    src += f"    s = [np.empty(n) for _ in range({printed.scratch + 2})]\n"
    src += "".join(f"    {line}\n" for line in printed.py_inplace)
    src += "    return r\n"
    namespace: dict = {"np": np}
    for h in sorted(printed.py_helpers):
        exec(NUMPY_HELPERS[h], namespace)  # noqa: S102 -- symact's own printed code
    exec(src, namespace)  # noqa: S102 -- symact's own printed code, never user text
    return namespace["_k"]


#: Kernels whose plain formula errs more than this on the samples below (ULPs; the float64
#: bar is 4, and ULP errors are noisy point to point: gelu'' measured 3.7 on 12001 points and
#: 4.22 on 24001) are printed again with double-double arithmetic (ddeval), kept where it
#: measures better. Double-double costs 3-15x the time in NumPy, so not everywhere (sigmoid'
#: measures 3.72 and stays plain: 2 ns/el against 14 in double-double).
DD_TRIGGER = 3.75


def _sample_error(fn, defaults: list[float], ref: Reference) -> float:
    """Max float64 ULP error of fn on [-10, 10] step 0.01 (the reference is cached there for
    the root search) and +-10..1000 geometrically."""
    lo, hi, step = SCAN
    grid = lo + step * np.arange(int(round((hi - lo) / step)) + 1)
    far = np.geomspace(10.0, 1000.0, 40)
    xs = np.concatenate([grid, far, -far])
    with np.errstate(all="ignore"):
        got = np.asarray(fn(xs, *defaults), dtype=float)
    return max(ulp_error(g, ref.value_in(v, FORMATS["float64"]), FORMATS["float64"])
               for v, g in zip(xs.tolist(), got.tolist(), strict=True))


#: Coarse-sample errors above this are measured again on DENSE: the coarse max of gelu'' was
#: 3.0 where 12001 points on [-30, 30] find 4.22 (x = -9.2), softsign'' 3.4 for 4.11.
DENSE_FROM = 2.5


def _dense_points() -> np.ndarray:
    # not past 30: below -708 mish's tails are ill-conditioned (reported apart by verify)
    small = np.geomspace(1e-6, 30.0, 600)
    return np.unique(np.concatenate([np.linspace(-30.0, 30.0, 12001), small, -small]))


def _dense_error(fn, defaults: list[float], ref: Reference) -> float:
    """Max float64 ULP error of fn on _dense_points(): the exact formula at 40 digits, and
    where that shows more than 3 ULP (or fails) the adaptive reference, so a cancelling exact
    form never invents an error."""
    xs = _dense_points()
    with np.errstate(all="ignore"):
        got = np.asarray(fn(xs, *defaults), dtype=float)
    fmt = FORMATS["float64"]
    errs = ref.errors40(got, xs, fmt)
    suspect = np.flatnonzero(~(errs <= 3.0))
    worst = float(errs[errs <= 3.0].max(initial=0.0))
    return max([worst, *(ulp_error(float(got[i]), ref.value_in(float(xs[i]), fmt), fmt)
                         for i in suspect)])


def _measured_error(fn, defaults: list[float], ref: Reference, dense: bool) -> float:
    """The coarse sample's max error, and the dense one's where asked or near the trigger."""
    err = _sample_error(fn, defaults, ref)
    if dense or DENSE_FROM < err <= DD_TRIGGER:
        err = max(err, _dense_error(fn, defaults, ref))
    return err


def _patches(act: Activation, kernel: Kernel, fn, ref: Reference, constant: bool,
             scaled) -> tuple[RootPatch, ...]:
    """Root patches for the printed kernel ``fn`` (see patch.find_patches); for a
    parameterized kernel factor * G(scale * x), in t = scale * x."""
    defaults = list(act.params.values())
    if not act.params and not constant:
        with np.errstate(all="ignore"):
            return tuple(find_patches(lambda a: np.asarray(fn(a), dtype=float), ref))
    if scaled is not None:  # the roots of G(t) are fixed in t = scale * x: patch in t
        k_def, c_def = (float(e.subs(act.defaults)) for e in (scaled.scale, scaled.factor))
        g = (kernel.exact.subs(X, X / scaled.scale) / scaled.factor).subs(act.defaults)
        with np.errstate(all="ignore"):
            return tuple(find_patches(
                lambda t: np.asarray(fn(t / k_def, *defaults), dtype=float) / c_def,
                Reference(g, X)))
    return ()


def _patched(fn, patches: tuple[RootPatch, ...], act: Activation, scaled):
    """fn with its root patches applied, as the generated code applies them."""
    if not patches:
        return fn
    k_def = c_def = 1.0
    if scaled is not None:
        k_def, c_def = (float(e.subs(act.defaults)) for e in (scaled.scale, scaled.factor))

    def patched(x, *params):
        r = np.array(fn(x, *params), dtype=float)
        t = x * k_def
        for p in patches:
            near = p.covers(t)
            if near.any():
                r[near] = c_def * p(t[near])
        return r

    return patched


#: The normal-distribution C helpers: they vectorize, but cost several exp calls and rational
#: functions, so a float core (one erfc) is preferred for the float API where it is accurate.
NORMAL_HELPERS = frozenset({"symact_gauss_times", "symact_mills_ln", "symact_normal_cdf"})
#: A float core is kept when its float32 results are this close to correctly rounded, and
#: FLOAT_CORE_ROOT_ULP at the floats next to an interior root (the result is small there, so
#: double's rounding of the terms that cancel is a larger part of a float ULP: gelu' 0.577).
FLOAT_CORE_MAX_ULP = 0.52
FLOAT_CORE_ROOT_ULP = 0.75
#: Functions a float core may call: in glibc's libmvec (vectorized in the fast build), or
#: symact's inline erfc_float (vectorized in both).
FLOAT_CORE_FUNCTIONS = (sp.exp, sp.erfc, erfc_float)


def _float_core(ref: Reference, c_helpers: set[str], stable: sp.Expr,
                roots: tuple[float, ...] = ()) -> sp.Expr | None:
    """The formula in elementary functions, evaluated in double, for the float API, where the
    double core calls helpers for digits or range that float results never need: the normal
    helpers (gelu's Phi: several exp calls and rational functions, where x Phi(x) =
    x erfc(-x/sqrt 2)/2 in double is within 2^-40 relative for |x| < 2^128), or, with more
    operations than the formula, any other (silu's e^-|x| kept from subnormal underflow by
    halving, two arms by sign: x/(1 + e^-x) in double is within a few double ULP of silu for
    every float x, and -0 where e^-x overflows, past x = -709, is the float result). A core
    without helpers (sigmoid's e^-|x| and one select) is as cheap as the formula and kept.
    The formula is kept only when measured at <= FLOAT_CORE_MAX_ULP float32 ULP on float inputs
    across the whole range, and FLOAT_CORE_ROOT_ULP next to the interior roots; erfc is tried
    both ways round (2 - erfc(w) = erfc(-w): the cancelling form is never kept), first with
    erfc_float (symact.float_erfc: no libm call, 2^-32 relative, enough for gelu's product, not
    for gelu''s cancelling sum next to its root). None: the float API rounds the core's
    result."""
    base = fold_constants(tanh_complements(ref.expr))  # gelu_tanh: x/(1 + e^(-2u)), one exp
    # tanh's complement 1/cosh(u)^2 (gelu_tanh', tanh') as 4/(e^u + e^-u)^2: where one exp
    # overflows the quotient is 0, the float result; exp is a float-core function, cosh is not
    base = base.replace(sp.cosh, lambda v: (sp.exp(v) + sp.exp(-v)) / 2)
    if not (c_helpers & NORMAL_HELPERS) and not (
            c_helpers and sp.count_ops(base) < sp.count_ops(stable)):
        return None
    swapped = base.xreplace({e: 2 - sp.erfc(-e.args[0], evaluate=False)  # else: back to 2 - erfc(w)
                             for e in base.atoms(sp.erfc)})
    near = _root_neighbours(roots)
    forms = dict.fromkeys((swapped, base))
    cheap = [f.replace(sp.erfc, erfc_float) for f in forms if f.has(sp.erfc)]
    for cand in (*cheap, *forms):
        if (_float_safe(cand)  # the few floats next to a root first: where a cancelling sum fails
                and (near.size == 0
                     or _float_error(cand, ref, near, FLOAT_CORE_ROOT_ULP) <= FLOAT_CORE_ROOT_ULP)
                and _float_error(cand, ref) <= FLOAT_CORE_MAX_ULP):
            return cand
    return None


def _float_edges(expr: sp.Expr, ref: Reference) -> tuple[str, ...]:
    """The edges where ``expr``, evaluated in double as C does, misses the exact result: "pos"
    (+inf: not f's limit there), "neg" (-inf), "nan" (NaN: not NaN). The float core's guards
    fix only these (each is a compare and a select per element: gelu's two cost 7% of its
    float loop). silu: x/(1 + e^-x) is -inf/inf = NaN at -inf, right at +inf and NaN."""
    with np.errstate(all="ignore"):
        got = _in_double(expr)(np.array([math.inf, -math.inf, math.nan]))
    fixes = []
    for name, g, want in (("pos", got[0], float(ref(math.inf))),
                          ("neg", got[1], float(ref(-math.inf)))):
        if not _same(float(g), want):
            fixes.append(name)
    if not math.isnan(got[2]):
        fixes.append("nan")
    return tuple(fixes)


def _float_safe(expr: sp.Expr) -> bool:
    """Only exp and erfc, no Piecewise, polynomial in x of degree <= 7 otherwise: no product of
    float-range powers overflows double (3.4e38^7 < 1e270). An exp that overflows or underflows
    in double is allowed: _float_error evaluates in double, so it sees what C computes there."""
    funcs = expr.atoms(sp.Function)
    if any(not isinstance(f, FLOAT_CORE_FUNCTIONS) for f in funcs) or expr.has(sp.Piecewise):
        return False
    rest = expr.xreplace({f: sp.Integer(1) for f in funcs})
    return rest.is_polynomial(X) and sp.degree(rest, X) <= 7


def _float_points() -> np.ndarray:
    """Float32 inputs: a grid on [-20, 20] and a coarser one on [-120, 120] (where exp's float
    results go subnormal and to 0), both tails geometrically to FLT_MAX and down to the smallest
    subnormal, and 0."""
    with np.errstate(over="ignore"):
        grid = np.linspace(-20, 20, 4001)
        wide = np.linspace(-120, 120, 961)
        tails = np.geomspace(1.4e-45, 3.4e38, 600)
        pts = np.concatenate([grid, wide, tails, -tails, [0.0]]).astype(np.float32)
    return np.unique(pts)


def _root_neighbours(roots: tuple[float, ...], count: int = 8) -> np.ndarray:
    """The float32 nearest each root and the ``count`` floats either side of it."""
    out = []
    for r in roots:
        lo = hi = np.float32(r)
        out.append(lo)
        for _ in range(count):
            lo, hi = np.nextafter(lo, np.float32(-np.inf)), np.nextafter(hi, np.float32(np.inf))
            out += [lo, hi]
    return np.unique(np.array(out, dtype=np.float32))


def _erfc_double(v: np.ndarray) -> np.ndarray:
    """erfc rounded to double, elementwise (NumPy has none; libm's is within a few ULP)."""
    return np.array([float(mpmath.erfc(t)) for t in np.ravel(v).tolist()]).reshape(np.shape(v))


def _in_double(expr: sp.Expr):
    """x -> expr(x) for a float64 array x, evaluated as C does: NumPy float64, every operation
    rounded, exp past double's range inf or 0, erfc rounded to double, erfc_float as the C
    helper computes it, b^2 and b^3 as the printers' products (not pow). The result has x's
    shape."""
    powers = {2: sp.Function("_square"), 3: sp.Function("_cube")}
    expr = expr.replace(lambda e: e.is_Pow and e.exp in (2, 3),
                        lambda e: powers[int(e.exp)](e.base))
    fn = sp.lambdify([X], expr, modules=[{"erfc": _erfc_double, "erfc_float": erfc_float_np,
                                          "_square": lambda b: b * b,
                                          "_cube": lambda b: b * b * b}, "numpy"])
    return lambda xs: np.broadcast_to(np.asarray(fn(xs), dtype=np.float64), np.shape(xs))


def _float_error(expr: sp.Expr, ref: Reference, points: np.ndarray | None = None,
                 bar: float = FLOAT_CORE_MAX_ULP) -> float:
    """Max float32 ULP error of (float)expr(x) evaluated in double as C does: NumPy float64,
    every operation rounded, an exp past double's range inf or 0 (exp and erfc within a few
    double ULPs of correctly rounded, invisible in float), on float32 ``points`` (default:
    _float_points). The reference: the exact formula at 40 digits, and the adaptive Reference
    wherever that shows more than half an ULP (or fails); it stops at the first point over
    ``bar``."""
    fmt = FORMATS["float32"]
    xs = (_float_points() if points is None else points).astype(np.float64)
    with np.errstate(all="ignore"):
        got = _in_double(expr)(xs).astype(np.float32).astype(np.float64)
    errs = ref.errors40(got, xs, fmt)
    for i in np.flatnonzero(~(errs <= 0.5)):
        errs[i] = ulp_error(float(got[i]), ref.value_in(float(xs[i]), fmt), fmt)
        if errs[i] > bar:
            return float(errs[i])
    return float(errs.max())


def kernel_code(act: Activation, kernel: Kernel) -> tuple[KernelCode, set[str], set[str]]:
    """Print one kernel for NumPy and C; returns the code and the helpers each target needs."""
    stable = fold_constants(kernel.stable)
    constant = not stable.has(X)
    pnames = list(act.params)
    # every polynomial exponent compensated (stabilize.exp_polynomials): for C, whose
    # branch-free loop computes every arm, so one compensated e^P serves the arm that needs it
    # and the denominators (a few vector operations) where a plain one would add an exp
    # (gelu_tanh fast build 3.7 -> 4.8 ns/el); and for double-double programs, which exist
    # because their kernel cancels. NumPy computes arms on their own elements and keeps plain
    # e^P where it is safe (the compensated one is ~45 passes: gelu_tanh 32 -> 18 ns/el).
    raw = exp_polynomials(kernel.stable, X, plain=False)
    compensated = stable if raw == kernel.stable else fold_constants(raw)
    printed = _print(stable, pnames, double_double=False, c_stable=compensated)
    ref = Reference(kernel.exact, X, act.defaults)
    defaults = list(act.params.values())
    scaled = scaling(kernel.exact, X, act.defaults) if act.params and not constant else None
    patches = _patches(act, kernel, printed.fn, ref, constant, scaled)
    targets = [] if constant else ddeval.targets(stable, X)
    if targets:
        # tanh feeding arithmetic: always (C's libm tanh is not NumPy's, which is measured here)
        forced = any(ddeval.has_imprecise_leaf(t) for t in targets)
        kernel_fn = _inplace_callable(printed, pnames)
        err = _measured_error(_patched(kernel_fn, patches, act, scaled), defaults, ref, False)
        # polynomial targets (rounded coefficients, no transcendental leaf) are cheap in
        # double-double next to the kernel's exponentials: tried from DENSE_FROM on, kept if
        # they gain half an ULP (gelu'' = phi(x) (c1 - c2 x^2): sampled 3.5, 4.22 at x = -9.2)
        cheap = err > DENSE_FROM and all(ddeval.polynomial(t) for t in targets)
        if forced or cheap or err > DD_TRIGGER:
            dd = _print(compensated, pnames, double_double=True)
            dd_patches = _patches(act, kernel, dd.fn, ref, constant, scaled)
            dd_fn = _inplace_callable(dd, pnames)
            dense = err > DENSE_FROM  # both measured on the same points
            if dense and err > DD_TRIGGER:
                err = max(err, _dense_error(_patched(kernel_fn, patches, act, scaled),
                                            defaults, ref))
            dd_err = _measured_error(_patched(dd_fn, dd_patches, act, scaled), defaults, ref,
                                     dense)
            if (dd_err < err - 0.5 if cheap and err <= DD_TRIGGER and not forced else
                    dd_err < err or (forced and dd_err <= DD_TRIGGER)):
                printed, patches = dd, dd_patches
                if not forced:
                    printed, patches = _plain_targets(act, kernel, compensated, ref, scaled,
                                                      dd_err, dense, printed, patches)
    fn = printed.fn
    double_double = "_dd" in printed.py_helpers
    py_lines, py_result = printed.py_lines, printed.py_result
    c_lines, c_result, c_arms = printed.c_lines, printed.c_result, printed.c_arms
    py_inplace, scratch = printed.py_inplace, printed.scratch
    guard_inf, guard_nan, lp, ln = _edges(fn, defaults, ref)
    reaches_inf = not constant and _reaches_inf(act, kernel)
    zero_value = "" if act.params or constant else _zero_value(fn, ref)
    zero_value_c = "" if act.params or constant else zero_value or _inexact_zero(ref)
    scale_fields = {}
    if patches and scaled is not None:
        npp, cp = NumpyPrinter(), CPrinter()
        scale_fields = dict(
            patch_scale_py=npp.doprint(scaled.scale), patch_scale_c=cp.doprint(scaled.scale),
            patch_factor_py=npp.doprint(scaled.factor), patch_factor_c=cp.doprint(scaled.factor))
    float_core = None if act.params or constant else _float_core(
        ref, printed.c_helpers, stable, tuple(p.x0_hi for p in patches))
    float_printer = CPrinter()
    c_float_result = "" if float_core is None else float_printer.doprint(float_core)
    c_float_fixes = () if float_core is None else _float_edges(float_core, ref)
    float_fields: dict[str, Any] = {}
    float_numpy = NumpyPrinter()
    if float_core is not None and not float_core.has(sp.erfc):  # NumPy has no erfc
        lines, scratch = inplace_lines(float_core, X, float_numpy)
        float_fields = dict(py_float_lines=tuple(lines), py_float_scratch=scratch,
                            float_formula=sp.sstr(float_core.xreplace(
                                {c: sp.Float(c, 17) for c in float_core.atoms(sp.Float)})))
    quick = None
    if not constant:  # at the default parameters (the generated code checks them)
        with np.errstate(all="ignore"):
            stable_neg0 = np.signbit(np.asarray(fn(np.array([-0.0]), *defaults), dtype=float)[0])
        exact_defaults = {p: sp.Integer(int(v)) if float(v).is_integer() else v
                          for p, v in act.defaults.items()}  # beta = 1: no 1.0*x
        quick = quick_form(fold_constants(kernel.exact.subs(exact_defaults)), X, ref,
                           statements(printed.py_inplace),
                           lambda q: np.signbit(q(np.array([-0.0]))[0]) == stable_neg0,
                           lambda a: fn(a, *defaults))
    quick_fields = {} if quick is None else dict(
        quick_lines=quick.lines, quick_scratch=quick.scratch, quick_formula=quick.formula,
        quick_low=quick.low, quick_high=quick.high, quick_ulp=round(quick.max_ulp, 2))
    if patches:
        py_helpers_extra = helper_closure(["_root_patch"])
        c_helpers_extra = helper_closure(["symact_root_patch"])
    else:
        py_helpers_extra, c_helpers_extra = set(), set()
    params = tuple(
        Param(p.name, repr(float(p.default)), _fmt_bound(p.low), _fmt_bound(p.high),
              p.low_open, p.high_open)
        for p in act.spec.params
    )
    formula = f"{act.name}{kernel.mark}(x) = {sp.sstr(kernel.display)}"
    out_form = ""
    if kernel.suffix == "_prime" and act.output_form is not None:
        out_form = f"{act.name}'(x) = {sp.sstr(act.output_form)}  with y = {act.name}(x)"
    code = KernelCode(
        name=act.name + kernel.suffix, title=kernel.title, formula=formula,
        output_form=out_form, params=params, constant=constant,
        guard_inf=guard_inf, guard_nan=guard_nan, limit_pos=lp, limit_neg=ln,
        py_lines=py_lines, py_result=py_result, c_lines=c_lines, c_result=c_result,
        py_inplace=py_inplace, scratch=scratch, patches=patches, reaches_inf=reaches_inf,
        zero_value=zero_value, zero_value_c=zero_value_c, double_double=double_double,
        many_passes=double_double or stable.has(*MANY_PASSES),
        c_float_result=c_float_result, c_float_fixes=c_float_fixes, c_arms=c_arms,
        **scale_fields, **quick_fields, **float_fields,
    )
    return (code, printed.py_helpers | py_helpers_extra | float_numpy.helpers,
            printed.c_helpers | c_helpers_extra | float_printer.helpers)


@dataclass(frozen=True)
class ActivationCode:
    name: str
    description: str
    aliases: tuple[str, ...]
    conventions: str
    reference: str
    kernels: tuple[KernelCode, ...]


def activation_code(act: Activation, record: Mapping[str, Any] | None = None
                    ) -> tuple[tuple[KernelCode, ...], set[str], set[str]]:
    """Every kernel of ``act`` printed, with the helpers each target needs; from the on-disk
    cache, else from ``record`` (kcache.read_record), when neither the definition nor symact's
    source changed (see kcache)."""
    cached = _cached_code(act, record)
    return cached if cached is not None else _fresh_code(act)


def _cached_code(act: Activation, record: Mapping[str, Any] | None = None
                 ) -> tuple[tuple[KernelCode, ...], set[str], set[str]] | None:
    for payload in (kcache.load(act), (record or {}).get(kcache.record_key(act))):
        if payload is not None:
            try:
                return _decode(payload)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass
    return None


def _fresh_code(act: Activation) -> tuple[tuple[KernelCode, ...], set[str], set[str]]:
    kcodes, py_helpers, c_helpers = [], set(), set()
    # mpmath's working precision is global state: pinned, so a caller's mp.dps (a test module
    # set 50) cannot move a patch radius by an ULP; steps that need more raise it locally
    with mpmath.workprec(53):
        for kernel in act.kernels:
            code, ph, ch = kernel_code(act, kernel)
            kcodes.append(code)
            py_helpers |= ph
            c_helpers |= ch
    result = (tuple(kcodes), py_helpers, c_helpers)
    kcache.store(act, _encode(result))
    return result


def jobs() -> int:
    """Worker processes for deriving activations the cache misses: $SYMACT_JOBS, else one per
    CPU this process may use. 1 means in this process, one after the other."""
    value = os.environ.get("SYMACT_JOBS", "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


#: The activations a forked worker derives, by index (inherited through fork, never pickled:
#: a user's activation may hold lambdas).
_WORK: list[Activation] = []


def _work(i: int) -> tuple[tuple[KernelCode, ...], set[str], set[str]]:
    return _fresh_code(_WORK[i])


def _worker_init() -> None:
    """In each worker: Ctrl-C is the parent's to handle (it stops the workers), and a worker
    dies with its parent (Linux), so a killed generate leaves no process behind."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _fresh_codes_parallel(acts: list[Activation], n: int) -> dict[int, tuple] | None:
    """_fresh_code of every activation in ``n`` forked workers, by index; None when workers
    cannot be had (no fork, a daemonic process such as derive's budgeted child) or any of
    them fails: the caller then derives in this process, which raises the same error the
    serial run would. The work is the same as serial; only who does it changes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if multiprocessing.current_process().daemon:
        return None
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        return None
    global _WORK
    _WORK = acts
    # the costly ones first (larger definitions derive longer), so no worker is left with a
    # long one at the end; the results are put back in catalog order by index
    order = sorted(range(len(acts)), key=lambda i: -sp.count_ops(acts[i].expr))
    pool, done = None, None
    try:
        pool = ProcessPoolExecutor(n, mp_context=ctx, initializer=_worker_init)
        pending = {i: pool.submit(_work, i) for i in order}
        done = {i: pending[i].result() for i in range(len(acts))}
    except Exception:  # noqa: BLE001 -- any failure: derive serially (the error comes again)
        done = None
    finally:  # a failure or KeyboardInterrupt stops the workers now, not after their queue
        _WORK = []
        if pool is not None:
            if done is None:
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.kill()
            pool.shutdown(wait=True, cancel_futures=True)
    return done


def activation_codes(activations: list[Activation],
                     record: Mapping[str, Any] | None = None) -> list[tuple]:
    """activation_code of each activation, in order; the cache misses derived in parallel
    worker processes when there are several (see jobs())."""
    results: list[tuple | None] = [_cached_code(act, record) for act in activations]
    todo = [i for i, r in enumerate(results) if r is None]
    n = min(jobs(), len(todo))
    if n > 1:
        done = _fresh_codes_parallel([activations[i] for i in todo], n)
        if done is not None:
            for j, i in enumerate(todo):
                results[i] = done[j]
    return [r if r is not None else activation_code(act)
            for act, r in zip(activations, results, strict=True)]


def _encode(result) -> dict:
    kcodes, ph, ch = result
    return {"kernels": [dataclasses.asdict(k) for k in kcodes],
            "py_helpers": sorted(ph), "c_helpers": sorted(ch)}


def _decode(payload: dict) -> tuple[tuple[KernelCode, ...], set[str], set[str]]:
    def tuples(v):
        return tuple(tuples(i) for i in v) if isinstance(v, list) else v

    kcodes = []
    for k in payload["kernels"]:
        fields = {name: tuples(value) for name, value in k.items()}
        fields["params"] = tuple(Param(**p) for p in k["params"])
        fields["patches"] = tuple(RootPatch(p["x0_hi"], p["x0_lo"], p["radius"],
                                            tuple(p["coeffs"]), p.get("side", 0),
                                            p.get("exact", -1))
                                  for p in k["patches"])
        kcodes.append(KernelCode(**fields))
    return tuple(kcodes), set(payload["py_helpers"]), set(payload["c_helpers"])


def render_all(activations: list[Activation] | None = None,
               command: str = REGENERATE,
               record: Mapping[str, Any] | None = None) -> dict[str, str]:
    """File name -> content, for every generated file (of the catalog, or of ``activations``).
    With ``record`` (kcache.read_record of the output directory, possibly {}): its entries are
    reused like the cache's, and the files include the new record (kcache.RECORD)."""
    acts, py_helpers, c_helpers = [], set(), set()
    activations = all_activations() if activations is None else list(activations)
    codes = activation_codes(activations, record)
    for act, (kcodes, ph, ch) in zip(activations, codes, strict=True):
        py_helpers |= ph
        c_helpers |= ch
        acts.append(ActivationCode(act.name, act.description, act.aliases, act.conventions,
                                   act.reference, kcodes))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )
    context = {
        "version": __version__,
        "command": command,
        "activations": acts,
        "py_helpers": [NUMPY_HELPERS[h] for h in sorted(py_helpers)],
        "c_helpers": [C_HELPERS[h] for h in sorted(c_helpers)],
        "c_inline": C_INLINE,
        "c_vector_libm": C_VECTOR_LIBM,
        "float_core_max_ulp": FLOAT_CORE_MAX_ULP,
        "float_core_root_ulp": FLOAT_CORE_ROOT_ULP,
        "vectors": [vector_code(v) for v in vector_activations()],
    }
    # only the helper units each file calls (an unused static function fails clang -Werror)
    for key, template, lang in (("c_helpers", "c/activations.c.j2", "c"),
                                ("py_helpers", "numpy/activations.py.j2", "py")):
        roots = env.get_template(template).render({**context, key: []})
        context[key] = prune.called(context[key], roots, lang)
    files = {}
    for folder, mapping in TARGETS.items():
        for template, out in mapping.items():
            files[out] = env.get_template(f"{folder}/{template}").render(context)
    if record is not None:
        files[kcache.RECORD] = kcache.record_text(
            [(act, _encode(code)) for act, code in zip(activations, codes, strict=True)])
    return files


#: Prefix of the temporary files write_atomic creates next to their target; a run killed
#: between creating one and renaming it leaves it behind, and the next generate removes it.
TMP_PREFIX = ".symact-tmp-"


def _new_file_mode(path: Path) -> int:
    """The mode a rewritten file keeps: the old file's, else 0o666 minus the umask (what
    open() would give), not mkstemp's 0o600."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    """Make the renames in ``directory`` durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8, or bytes) to ``path`` through a temporary file in the
    same directory, fsync it, then rename it over ``path``: a reader, or a run killed at any
    moment, sees the old file or the new one, never a partial one. If ``path`` is a symbolic
    link, the link itself is replaced by a regular file; its target is never written.

    The directory is resolved first: tempfile normalises ``..`` lexically, the kernel
    physically, and through a symlinked parent (``link/../out``) the two differ."""
    path = Path(os.path.realpath(path.parent)) / path.name
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), _new_file_mode(path))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(out_dir: Path) -> list[Path]:
    """Create ``out_dir`` now and check it is writable; OutputError otherwise. Returns the
    directories it created, innermost first (for ``remove_created`` if the run fails)."""
    created = [d for d in (out_dir, *out_dir.parents) if not d.exists()]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {out_dir}: not a writable directory")
    return created


def remove_created(created: list[Path]) -> None:
    """Remove the directories check_writable created, innermost first, each only if still
    empty: a failed run leaves nothing behind."""
    for d in created:
        try:
            d.rmdir()
        except OSError:
            return


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete the temporary files a killed run left in ``out_dir`` (names starting with
    TMP_PREFIX, which symact alone uses); returns them."""
    stale = sorted(p for p in out_dir.iterdir() if p.name.startswith(TMP_PREFIX))
    for p in stale:
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
    return stale


def owned_files() -> list[str]:
    """The fixed file names ``generate`` writes; it touches nothing else in its directory."""
    return [out for mapping in TARGETS.values() for out in mapping.values()] + [kcache.RECORD]


def _prepare(out_dir: Path, names: list[str]) -> None:
    """Create ``out_dir``, remove a killed run's temporaries and prove the directory writable,
    before the (slow) rendering: an unusable directory fails at once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    fd, probe = tempfile.mkstemp(dir=os.path.realpath(out_dir), prefix=TMP_PREFIX, suffix=".tmp")
    os.close(fd)
    os.unlink(probe)
    for name in names:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(errno.EISDIR, f"{name} is a directory")


def prepare(out_dir: Path, names: list[str] | None = None) -> None:
    """``_prepare`` with an OutputError (one line) for any failure."""
    try:
        _prepare(out_dir, owned_files() if names is None else names)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None


def write_files(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (name -> content) atomically into ``out_dir`` (created if missing),
    skipping those already identical; nothing else in ``out_dir`` is touched. Returns the
    paths written."""
    prepare(out_dir, list(files))
    try:
        written = []
        for name, content in files.items():
            path = out_dir / name
            if path.exists() and path.read_text(encoding="utf-8") == content:
                continue
            write_atomic(path, content)
            written.append(path)
        if written:
            _fsync_dir(out_dir)
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot write to {out_dir}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    return written


def generate(out_dir: Path, activations: list[Activation] | None = None,
             command: str = REGENERATE) -> list[Path]:
    """Write every generated file (of the catalog, or of ``activations``) into ``out_dir``;
    only the files symact owns (``owned_files()``) are touched, plus leftover temporaries of a
    killed run. The directory is checked before the (slow) rendering. Returns the paths
    written."""
    prepare(out_dir)
    return write_files(out_dir, render_all(activations, command, kcache.read_record(out_dir)))


def check(out_dir: Path) -> list[str]:
    """Names of generated files in ``out_dir`` that are missing or differ from a fresh render
    (which reuses the cache and ``out_dir``'s record: SYMACT_NO_CACHE=1 derives everything)."""
    stale = []
    for name, content in render_all(record=kcache.read_record(out_dir)).items():
        path = out_dir / name
        try:
            same = path.read_text(encoding="utf-8") == content
        except OSError:
            same = False
        if not same:
            stale.append(str(path))
    return stale
