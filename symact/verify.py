"""Evaluate any callable against a SymPy expression at high precision; errors in ULPs.

The reference is the expression itself, evaluated by mpmath at the exact input float with
adaptive precision: starting at 60 digits and doubling until two successive precisions agree
to 40 digits (a zero must persist up to 960 digits, so cancellation cannot fake a zero).
Limits at +-inf come from ``sympy.limit``; NaN in gives NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from sympy.codegen.cfunctions import log1p

from .bound import magnitude
from .functions import to_elementary

START_DIGITS = 60
MAX_DIGITS = 3840
ZERO_DIGITS = 960
#: Below this a value is 0 in every floating-point format (float64's least subnormal ~4.9e-324).
NEGLIGIBLE = mpmath.mpf(10) ** -400


@dataclass(frozen=True)
class FloatFormat:
    """Binary floating-point format: precision p (bits, with the hidden one) and exponent range."""

    name: str
    p: int
    emin: int
    emax: int

    @property
    def max(self) -> mpmath.mpf:
        return mpmath.ldexp(2 - mpmath.ldexp(1, 1 - self.p), self.emax)


FORMATS = {
    "float64": FloatFormat("float64", 53, -1022, 1023),
    "float32": FloatFormat("float32", 24, -126, 127),
}


#: At most this many extra starting digits for a wide exponent span (see Reference).
SPAN_DIGITS = 700
#: Reference.value_in tries interval arithmetic first where the span costs more digits than
#: this (below, settling is as cheap as the bound).
CERTIFY_FROM_DIGITS = 40
#: ... and stops trying after this many points where the bound could not certify (value_in).
CERTIFY_MISSES = 8


class ReferenceError_(ArithmeticError):
    """The high-precision reference did not settle (should never happen for catalog kernels)."""


def complemented(rules: Callable[[sp.Expr, sp.Expr], sp.Expr | None], *funcs) -> Callable:
    """expr -> expr with each term t of a sum k + ... + t replaced by rules(t, k) where that is
    not None (k: the sum's one constant)."""

    def fix(node: sp.Expr) -> sp.Expr:
        consts = [t for t in node.args if t.is_number]
        if len(consts) != 1:
            return node
        (k,) = consts
        for t in node.args:
            new = rules(t, k)
            if new is not None:
                rest = [o for o in node.args if o is not t and o is not k]
                return sp.Add(new, *rest)
        return node

    def apply(expr: sp.Expr) -> sp.Expr:
        if not expr.has(*funcs):
            return expr
        return expr.replace(lambda n: n.is_Add and n.has(*funcs), fix)

    return apply


def _erf_rule(term: sp.Expr, k: sp.Expr) -> sp.Expr | None:
    c, f = term.as_coeff_Mul()
    if isinstance(f, sp.erf) and c in (k, -k):
        return k * sp.erfc(-f.args[0] if c == k else f.args[0], evaluate=False)
    if isinstance(f, sp.erfc) and 2 * c == -k:  # SymPy's own erfc(-w) = 2 - erfc(w)
        return -c * sp.erfc(-f.args[0], evaluate=False)
    return None


def _tanh_rule(term: sp.Expr, k: sp.Expr) -> sp.Expr | None:
    c, f = term.as_coeff_Mul()
    if isinstance(f, sp.tanh) and c in (k, -k):
        u = f.args[0] if c == k else -f.args[0]
        return 2 * k / (1 + sp.exp(-2 * u))
    if f.is_Pow and f.exp == 2 and isinstance(f.base, sp.tanh) and c == -k:
        return k / sp.cosh(f.base.args[0]) ** 2
    return None


#: k + k erf(w) -> k erfc(-w) and k - k erf(w) -> k erfc(w) (exact identities): at any working
#: precision mpmath's erf(w) saturates to +-1 where erfc(-+w) still has every digit, so the
#: sum would settle to a wrong value (only x phi(x) of 1/2 + erf/2 + x phi(x) survives).
#: Likewise 2k - k erfc(w) -> k erfc(-w), which SymPy writes for erfc(-w) (x erfc(-x) as
#: x (2 - erfc(x)): 40 digits left nothing of it below x = -9.5, and the adaptive reference
#: took 130 s per kernel there).
erf_complements = complemented(_erf_rule, sp.erf, sp.erfc)
#: k + k tanh(u) -> 2k/(1 + e^(-2u)), k - k tanh(u) -> 2k/(1 + e^(2u)), k - k tanh(u)^2 ->
#: k/cosh(u)^2 (exact): tanh(u) rounds to +-1 in the tails, so gelu_tanh's 1 + tanh(u) settles
#: only at hundreds of digits, and interval arithmetic cannot bound it at all. Reference
#: evaluates with these (its ``expr`` keeps tanh), and so do float cores (emit._float_core).
tanh_complements = complemented(_tanh_rule, sp.tanh)


def log1p_complements(expr: sp.Expr) -> sp.Expr:
    """log(1 + t) -> log1p(t) (exact): softplus's log(1 + e^x) at x = -100 is e^-100, which
    log(1 + e^-100) resolves only past 44 digits (and interval arithmetic not at all), while
    log1p(e^-100) has every digit at any precision."""
    if not expr.has(sp.log):
        return expr
    return expr.replace(lambda n: isinstance(n, sp.log) and n.args[0].is_Add
                        and sp.S.One in n.args[0].args,
                        lambda n: log1p(n.args[0] - 1))


def _erfc(z):
    """mpmath.erfc, with the asymptotic series where mpmath's own overflows (|z| > 1e10):
    erfc(z) = e^{-z^2}/(z sqrt(pi)) (1 - 1/(2z^2) + 3/(4z^4)), relative error < 1e-50; and
    erfc(z) = 2 - erfc(-z) for z < 0, no cancellation (erfc(-z) <= 1), where mpmath sums erf's
    series (erfc(-30) at 200 digits: 4.5 ms against 0.26). Complex z (root patches' Cauchy
    integrals) goes to mpmath as it is."""
    if isinstance(z, mpmath.mpc):
        return mpmath.erfc(z)
    z = mpmath.mpf(z) if not isinstance(z, mpmath.mpf) else z
    if z < 0:
        return 2 - _erfc(-z)
    if abs(z) <= 10**10:
        return mpmath.erfc(z)
    a = abs(z)
    tail = mpmath.exp(-a * a) / (a * mpmath.sqrt(mpmath.pi)) * (1 - 1 / (2 * a * a)
                                                                  + 3 / (4 * a**4))
    return tail


def _erf(z):
    """mpmath.erf; for |z| > 1 as sign(z) (1 - erfc(|z|)), with no cancellation (erfc(|z|) <
    0.16) and faster (erf(30) at 200 digits: 4.7 ms against 0.16). Complex z as it is."""
    if isinstance(z, mpmath.mpc):
        return mpmath.erf(z)
    z = mpmath.mpf(z) if not isinstance(z, mpmath.mpf) else z
    if abs(z) <= 1:
        return mpmath.erf(z)
    r = 1 - _erfc(abs(z))
    return r if z > 0 else -r


#: mpmath function results by (function, exact argument, working precision, rounding): an
#: expression evaluates the same call many times (mish'' has exp(x) seven times, and at
#: x = DBL_MAX each costs ~20 ms), and a pure function of those gives the same mpf again.
_CALLS: dict[tuple, object] = {}
_CALLS_SIZE = 1 << 13


def _memoized(name: str, fn: Callable) -> Callable:
    def call(z, *rest):
        if type(z) in (int, float):  # sqrt(2) of a printed constant: recomputed every call
            exact = (type(z), z)
        else:
            exact = getattr(z, "_mpf_", None) or getattr(z, "_mpc_", None)
        if rest or exact is None:
            return fn(z, *rest)
        key = (name, exact, *mpmath.mp._prec_rounding)
        try:
            return _CALLS[key]
        except KeyError:
            pass
        value = fn(z)
        if len(_CALLS) >= _CALLS_SIZE:
            _CALLS.clear()
        _CALLS[key] = value
        return value

    return call


#: Past this |z|, e^z is beyond every float format by more than the whole double range
#: (e^(-1e320) < 10^(-4e319)): inf or 0.
_EXP_BEYOND = mpmath.mpf("1e320")


def _exp(z):
    """mpmath.exp, but inf or 0 past |z| = 1e320: a double exponential e^(-e^(-x)) at
    x = -3.4e38 made mpmath shift an integer by ~1e38 bits (MemoryError)."""
    if not isinstance(z, mpmath.mpc) and abs(z) > _EXP_BEYOND:
        return mpmath.inf if z > 0 else mpmath.mpf(0)
    return mpmath.exp(z)


#: Past this |z|, tanh, sinh and cosh are taken from e^{-2|z|} or e^{|z|} (_exp): mpmath's own
#: shift an integer by |z|'s magnitude in bits (tanh(e^x) at x = 1e300: MemoryError).
_HYPERBOLIC_BEYOND = mpmath.mpf("1e6")


def _tanh(z):
    """tanh z; past |z| = 1e6, sign(z) (1 - 2t/(1 + t)) with t = e^{-2|z|} (0 past 5e319)."""
    if isinstance(z, mpmath.mpc) or abs(z) <= _HYPERBOLIC_BEYOND:
        return mpmath.tanh(z)
    t = _exp(-2 * abs(z))
    return mpmath.sign(z) * (1 - 2 * t / (1 + t))


def _cosh(z):
    """cosh z; past |z| = 1e6, e^{|z|}/2 (e^{-|z|}/2 is below its last digit)."""
    if isinstance(z, mpmath.mpc) or abs(z) <= _HYPERBOLIC_BEYOND:
        return mpmath.cosh(z)
    return _exp(abs(z)) / 2


def _sinh(z):
    """sinh z; past |z| = 1e6, sign(z) e^{|z|}/2."""
    if isinstance(z, mpmath.mpc) or abs(z) <= _HYPERBOLIC_BEYOND:
        return mpmath.sinh(z)
    return mpmath.sign(z) * _exp(abs(z)) / 2


#: The lambdify namespace of every reference: mpmath, with the costly one-argument
#: functions memoized, erfc extended past |z| = 1e10 and exp capped (_exp).
_MPMATH = {name: _memoized(name, getattr(mpmath, name))
           for name in ("log", "sqrt", "expm1", "log1p")}
_MPMATH.update({name: _memoized(name, fn)
                for name, fn in (("tanh", _tanh), ("sinh", _sinh), ("cosh", _cosh))})
_MPMATH["exp"] = _memoized("exp", _exp)
_MPMATH["erfc"] = _memoized("erfc", _erfc)
_MPMATH["erf"] = _memoized("erf", _erf)


class Reference:
    """f(x) for one SymPy expression, exact to far beyond double precision."""

    def __init__(self, expr: sp.Expr, x: sp.Symbol, params: Mapping[sp.Symbol, float] = {}):
        self.expr = erf_complements(to_elementary(expr))
        self.x = x
        self.params = dict(params)
        bound = tanh_complements(self.expr.subs(self.params))
        # evaluated with log1p (SymPy's limits keep log: gruntz does not know log1p)
        self._evaluated = log1p_complements(bound)
        self._f = sp.lambdify([x], self._evaluated, modules=[_MPMATH, "mpmath"])
        self._limits: dict[float, mpmath.mpf] = {}
        self._bound = bound
        self._cache: dict[float, mpmath.mpf] = {}
        self._at40: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._tiny40: dict[bytes, dict[int, mpmath.mpf]] = {}  # at40's values below TINY_DD
        self._fast40 = None
        self._bounds: dict[float, mpmath.mpf] = {}  # value_in's certified bounds on |f|
        self._misses = 0  # and the times it could not certify
        # Arguments of exponentials: e^{-700} next to 1 is absorbed at every precision below
        # ~304 digits, and two such evaluations agree while both are wrong; the start precision
        # covers the exponent span (up to SPAN_DIGITS: results below 1e-330 are 0 in any
        # float format and intermediates above 1e308 overflow, so wider spans cannot matter).
        growth = [a.args[0] for a in bound.atoms(sp.exp, sp.tanh, sp.sinh, sp.cosh, sp.erf,
                                                  sp.erfc)]
        self._spans = [sp.lambdify([x], 2 * g if not isinstance(a, sp.exp) else g,
                                   modules=[_MPMATH, "mpmath"])
                       for a, g in zip(bound.atoms(sp.exp, sp.tanh, sp.sinh, sp.cosh, sp.erf,
                                                   sp.erfc), growth, strict=True)]

    def _limit(self, direction: float) -> mpmath.mpf:
        if direction not in self._limits:
            lim = _limit(self._bound, self.x, sp.oo if direction > 0 else -sp.oo)
            if lim is sp.oo:
                value = mpmath.inf
            elif lim is sp.S.NegativeInfinity:
                value = -mpmath.inf
            elif lim.is_finite and lim.is_real:  # a number or a constant such as -log(2)
                value = mpmath.mpf(sp.Float(sp.N(lim, 80), 80))
            else:
                value = mpmath.nan
            self._limits[direction] = value
        return self._limits[direction]

    def __call__(self, xv: float) -> mpmath.mpf:
        xv = float(xv)
        if math.isnan(xv):
            return mpmath.nan
        if math.isinf(xv):
            return self._limit(xv)
        if xv in self._cache:
            return self._cache[xv]
        value = self._settle(mpmath.mpf(xv))
        self._cache[xv] = value
        return value

    def value_in(self, xv: float, fmt: FloatFormat) -> mpmath.mpf:
        """self(xv), or 0 where interval arithmetic (bound.magnitude) certifies |f(xv)| below
        2^-64 of fmt's least subnormal: fmt rounds both to +-0, and an ULP error against 0 is
        off by less than 2^-64 ULP. Settling there costs the exponent span's digits (gelu' at
        x = -40: 75 ms of erfc at 700 digits, against 0.3 ms for the bound). The bound is tried
        where a rough value (20 digits, maybe wrong) is that small too, and no more after
        CERTIFY_MISSES failures (a cancelling formula, like gelu_tanh's 1 + tanh(u) in its
        tail, is beyond interval arithmetic at any precision the bound can afford)."""
        xv = float(xv)
        if not math.isfinite(xv) or xv in self._cache:
            return self(xv)
        tiny = mpmath.ldexp(1, fmt.emin - fmt.p + 1 - 64)
        bound = self._bounds.get(xv)
        if bound is None and self._misses < CERTIFY_MISSES:
            xm = mpmath.mpf(xv)
            if (self._span_digits(xm) > CERTIFY_FROM_DIGITS
                    and not abs(self._eval(xm, 20)) > tiny):
                bound = magnitude(self._evaluated, self.x, xv)
                if bound is not None:
                    self._bounds[xv] = bound
                if bound is None or bound >= tiny:
                    self._misses += 1
        if bound is not None and bound < tiny:
            return mpmath.mpf(0)
        return self(xv)

    def at40(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The exact formula at 40 digits (not adaptive: a cancelling form can be wrong here,
        which the caller checks against __call__) at each of xs, as double-doubles (hi, lo);
        lo is NaN where it cannot be evaluated or |value| < TINY_DD (use __call__ there).
        Cached per point set: a kernel's measurements share their grids."""
        key = xs.tobytes()
        cached = self._at40.get(key)
        if cached is None:
            if self._fast40 is None:
                self._fast40 = sp.lambdify([self.x], self._evaluated,
                                           modules=[{"exp": _exp, "tanh": _tanh, "sinh": _sinh,
                                                     "cosh": _cosh}, "mpmath"])
            hi, lo = np.empty(xs.size), np.empty(xs.size)
            tiny = self._tiny40[key] = {}
            with mpmath.workdps(40):
                for i, v in enumerate(xs.tolist()):
                    try:
                        value = mpmath.mpf(self._fast40(mpmath.mpf(v)))
                        hi[i] = float(value)
                        lo[i] = float(value - hi[i]) if math.isfinite(hi[i]) else 0.0
                        if abs(hi[i]) < TINY_DD:  # lo would round by a sizable part of an ULP
                            lo[i] = math.nan
                            if value != 0 and mpmath.isfinite(value):
                                tiny[i] = value
                    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
                        hi[i], lo[i] = math.nan, math.nan  # lo NaN: failed
            cached = self._at40[key] = (hi, lo)
        return cached

    def errors40(self, computed: np.ndarray, xs: np.ndarray, fmt: FloatFormat) -> np.ndarray:
        """ulp_errors of ``computed`` against at40(xs); below TINY_DD against the 40-digit value
        itself (one mpmath operation, where the adaptive reference would settle at the exponent
        span's digits: 1500 points of exp(-x^2) erf(x)' on 26 < |x| < 30 took 60 s of erf at
        ~900 digits). inf where at40 has no value (failed, or exactly 0: a 40-digit
        cancellation can be 0 where the value is not); callers check errors over their bar
        against the adaptive reference, so a cancelling exact form never invents an error."""
        errs = ulp_errors(computed, *self.at40(xs), fmt)
        for i, value in self._tiny40[xs.tobytes()].items():
            errs[i] = ulp_error(float(computed[i]), value, fmt)
        return errs

    def _eval(self, xm: mpmath.mpf, dps: int) -> mpmath.mpf:
        with mpmath.workdps(dps):
            try:
                return +mpmath.mpf(self._f(xm))
            except ZeroDivisionError:
                return mpmath.nan

    def _span_digits(self, xm: mpmath.mpf) -> int:
        span = mpmath.mpf(0)
        with mpmath.workdps(30):
            for f in self._spans:
                try:
                    v = abs(mpmath.mpf(f(xm)))
                except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                    continue
                if mpmath.isfinite(v):
                    span = max(span, v)
        return int(min(span * mpmath.mpf("0.4343") * 1.1, SPAN_DIGITS))

    def _settle(self, xm: mpmath.mpf) -> mpmath.mpf:
        dps = START_DIGITS + self._span_digits(xm)
        prev = self._eval(xm, dps)
        while dps < MAX_DIGITS:
            dps *= 2
            cur = self._eval(xm, dps)
            if cur == 0 and prev == 0:
                if dps >= ZERO_DIGITS:
                    return cur
            elif dps >= ZERO_DIGITS and max(abs(cur), abs(prev)) < NEGLIGIBLE:
                # terms near 1 cancelling to e^-100000: what is left at these precisions is
                # rounding noise below 1e-400, and the value is 0 in every float format
                return mpmath.mpf(0)
            elif mpmath.isfinite(cur) and mpmath.isfinite(prev):
                if abs(cur - prev) <= abs(cur) * mpmath.mpf(10) ** -40:
                    return cur
            elif cur == prev or (mpmath.isnan(cur) and mpmath.isnan(prev)):
                return cur
            prev = cur
        raise ReferenceError_(f"reference for {self.expr} did not settle at x = {float(xm)!r}")


def _limit(expr: sp.Expr, x: sp.Symbol, at: sp.Expr) -> sp.Expr:
    """lim expr as x -> at (+-oo); a Piecewise takes the branch that owns the far end."""
    expr = sp.piecewise_fold(expr) if expr.has(sp.Piecewise) else expr
    if isinstance(expr, sp.Piecewise):
        for e, c in expr.args:
            if c is sp.true or bool(c.subs(x, at)):
                return _limit(e, x, at)
    try:
        return sp.limit(expr, x, at)
    except (TypeError, ValueError, NotImplementedError):
        # gruntz fails on some nests of Min and Max (Min(6, Max(0, x)) at +oo): as arms
        minmax = expr.atoms(sp.Min, sp.Max)
        if not minmax:
            raise
        return _limit(expr.xreplace({m: m.rewrite(sp.Piecewise) for m in minmax}), x, at)


def ulp_error(computed: float, exact: mpmath.mpf, fmt: FloatFormat) -> float:
    """|computed - exact| in units of the last place of ``exact`` in ``fmt`` (0 when both are the
    same infinity or both NaN; inf for a NaN or infinity where the other is not)."""
    if mpmath.isnan(exact) or math.isnan(computed):
        return 0.0 if (mpmath.isnan(exact) and math.isnan(computed)) else math.inf
    if mpmath.isinf(exact):
        return 0.0 if computed == float(exact) else math.inf
    max_f = fmt.max
    half_ulp_max = mpmath.ldexp(1, fmt.emax - fmt.p)
    if abs(exact) >= max_f + half_ulp_max:  # correctly rounded result is an infinity
        return 0.0 if math.isinf(computed) and (computed > 0) == (exact > 0) else math.inf
    if math.isinf(computed):
        return math.inf
    if exact == 0:
        e = fmt.emin
    else:
        _, e2 = mpmath.frexp(exact)
        e = max(int(e2) - 1, fmt.emin)
    ulp = mpmath.ldexp(1, e - fmt.p + 1)
    with mpmath.workdps(40):
        return float(abs(mpmath.mpf(computed) - exact) / ulp)


#: Below this a double-double's lo, itself rounded to 2^-1074, is off by up to 2^-30 of the
#: value's ULP: at40 gives no fast value there.
TINY_DD = 2.0**-990


def ulp_errors(computed: np.ndarray, hi: np.ndarray, lo: np.ndarray,
               fmt: FloatFormat) -> np.ndarray:
    """ulp_error for arrays, the exact values given as double-doubles hi + lo (hi = the exact
    value rounded to a double, |hi| >= TINY_DD or 0): |computed - exact| in ULPs of the exact
    value in ``fmt`` (of the binade below hi when hi is a power of 2 and lo < 0 pulls the
    exact value under it; 2^(emin - p + 1) for subnormal and zero values). Where the exact
    value rounds to an infinity in ``fmt``, 0 for that infinity and inf for anything else; 0
    where both are NaN, inf where one is NaN or infinite and the other not; inf where lo is NaN
    (no exact value)."""
    computed = np.asarray(computed, dtype=float)
    big = float(fmt.max) + math.ldexp(1.0, fmt.emax - fmt.p)  # rounds to inf from here on
    with np.errstate(all="ignore"):
        mant, exp2 = np.frexp(hi)
        below = (np.abs(mant) == 0.5) & (lo != 0) & (np.sign(lo) != np.sign(hi))
        e = np.where(hi == 0, fmt.emin, np.maximum(exp2 - 1 - below, fmt.emin))
        ulp = np.ldexp(1.0, e - (fmt.p - 1))
        err = np.abs((computed - hi) - lo) / ulp
        rounded = np.where(np.abs(hi) >= big, np.copysign(np.inf, hi), hi)
    special = ~np.isfinite(rounded) | ~np.isfinite(computed)
    same = (computed == rounded) | (np.isnan(computed) & np.isnan(rounded))
    return np.where(np.isnan(lo), np.inf, np.where(special, np.where(same, 0.0, np.inf), err))


def round_to(exact: mpmath.mpf, fmt: FloatFormat) -> float:
    """The correctly rounded value of ``exact`` in ``fmt`` (as a Python float)."""
    if fmt.name == "float64":
        with mpmath.workprec(53):
            return float(+exact)
    return float(np.float32(float(exact)))  # double rounding is harmless for a 1-ULP bar


@dataclass
class Report:
    """Accuracy of one kernel for one dtype over a set of points."""

    kernel: str
    dtype: str
    points: int = 0
    max_ulp: float = 0.0
    worst_x: float = 0.0
    ill_points: int = 0
    ill_max_ulp: float = 0.0
    errors: list[float] = field(default_factory=list, repr=False)
    failure: str = ""  # why the kernel could not be measured (an exception), if it could not

    def add(self, xv: float, err: float, ill: bool) -> None:
        self.points += 1
        self.errors.append(err)
        if ill:
            self.ill_points += 1
            self.ill_max_ulp = max(self.ill_max_ulp, err)
        elif err > self.max_ulp or (self.points == 1 and err == 0):
            self.max_ulp, self.worst_x = err, xv


class Conditioning:
    """The condition number |x g'(x) / g(x)| of a kernel g, at high precision. Where it exceeds
    100 (next to an interior root; in gelu_tanh's tail, where e^{-c x^3} turns one rounding of
    the cubic into hundreds of ULPs) the function itself is ill-conditioned: a point there whose
    error is over the bar is reported in its own column instead of failing the kernel."""

    LIMIT = 100.0

    def __init__(self, expr: sp.Expr, x: sp.Symbol, params: Mapping[sp.Symbol, float] = {}):
        g = to_elementary(expr)
        dg = sp.diff(g, x).replace(sp.DiracDelta, lambda *a: sp.S.Zero)  # a.e. derivative
        self._g = Reference(g, x, params)
        self._dg = Reference(dg, x, params)

    def number(self, xv: float) -> float:
        """|x g'(x)/g(x)| (0 at an exact zero of g, or where it cannot be evaluated)."""
        if not math.isfinite(xv):
            return 0.0
        try:
            g = self._g(xv)
            if g == 0 or not mpmath.isfinite(g):
                return 0.0
            return float(abs(mpmath.mpf(xv) * self._dg(xv) / g))
        except (ArithmeticError, TypeError, ValueError):
            return 0.0

    def ill(self, xv: float, limit: float = LIMIT) -> bool:
        return self.number(xv) > limit


def measure(
    kernel: str,
    fn: Callable[[np.ndarray], np.ndarray],
    reference: Reference,
    xs: Sequence[float],
    dtype: str = "float64",
    conditioning: Conditioning | None = None,
    bar: float | None = None,
) -> Report:
    """Run ``fn`` on ``xs`` (as an array of ``dtype``) and measure every result against
    ``reference`` in ULPs of ``dtype``. With ``conditioning``, a point whose error is over
    ``bar`` (default: 4 ULP in float64, 1 in float32) where the function is ill-conditioned
    counts in the report's ill-conditioned column instead."""
    bar = (4.0 if dtype == "float64" else 1.0) if bar is None else bar
    fmt = FORMATS[dtype]
    arr = np.asarray(xs, dtype=dtype)
    out = np.asarray(fn(arr))
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"{kernel}: {dtype} input gave {out.dtype} output")
    report = Report(kernel, dtype)
    for xv, got in zip(arr.tolist(), out.tolist(), strict=True):
        err = ulp_error(got, reference.value_in(xv, fmt), fmt)
        ill = err > bar and conditioning is not None and conditioning.ill(xv)
        report.add(xv, err, ill)
    return report


def whole_range_points(density: float = 1, dtype: str = "float64") -> list[float]:
    """Points across the whole float range: a grid on [-1000, 1000], +-10^k over the exponent
    range, subnormals, +-max, +-0, +-inf, NaN. ``density`` multiplies the grid sizes (a
    fraction thins them; the exponents keep at least every 4th power of ten)."""
    pts: set[float] = set()
    n = max(2, int(2000 * density))
    pts.update(-1000 + 2000 * i / n for i in range(n + 1))
    n_fine = max(2, int(800 * density))
    pts.update(-40 + 80 * i / n_fine for i in range(n_fine + 1))
    lo = -45 if dtype == "float32" else -323
    hi = 38 if dtype == "float32" else 308
    step = max(1, int(4 // max(density, 1)))
    for k in range(lo, hi + 1, step):
        for m in (1.0, 3.7):
            v = m * 10.0**k if k > -300 else float(mpmath.mpf(m) * mpmath.mpf(10) ** k)
            pts.update((v, -v))
    max_f = float(np.finfo(dtype).max)
    tiny = float(np.finfo(dtype).smallest_subnormal)
    pts.update((max_f, -max_f, tiny, -tiny, 0.0, -0.0, math.inf, -math.inf))
    finite = [p for p in pts if math.isfinite(p) and abs(p) <= max_f]
    out = {float(np.asarray(p, dtype=dtype)) for p in finite} | {math.inf, -math.inf}
    return sorted(out, key=lambda v: (v, math.copysign(1, v))) + [math.nan]
