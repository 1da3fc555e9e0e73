"""SymPy printers for the targets: one method per construct, no formulas decided here.

Each printer records the helper functions an expression needs (``helpers``); a helper's code
lives next to the printer method that calls it, and the template only lays helpers out.
"""

from __future__ import annotations

import math

import mpmath
import sympy as sp
from sympy.core.sorting import default_sort_key
from sympy.printing.c import C99CodePrinter
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from . import ddeval, exp_dd, float_erfc, normal_helpers

#: C's e^v helpers take a v below -708 (e^v subnormal) to a = v + EXP_SHIFT and scale e^a by
#: EXP_SHIFT_SCALE = e^-EXP_SHIFT (a normal double). EXP_SHIFT = 708 + 82/1024: of the doubles
#: 708 + k/1024 up to 708.39 (where e^-C stays normal), the one whose e^-C lies nearest a double
#: (0.0007 of an ULP off), so the scale adds no rounding of its own.
EXP_SHIFT = 708.080078125
with mpmath.workdps(40):
    EXP_SHIFT_SCALE = float(mpmath.exp(-mpmath.mpf(EXP_SHIFT)))

# Helper code per target, by name. Each is the numerically careful evaluation of one construct.
NUMPY_HELPERS = {
    "_exp_times": '''def _exp_times(v, g, out=None, ev=None):
    """e^v * g (into out; ev: e^v if already computed); where e^v would be subnormal
    (v < -708), (e^(v/2) * g) * e^(v/2) instead, so the product keeps its digits."""
    r = np.multiply(np.exp(v, out=out) if ev is None else ev, g, out=out)
    tail = v < -708.0
    if np.any(tail):
        v, g = np.broadcast_arrays(v, g)
        h = np.exp(0.5 * v[tail])
        r[tail] = h * g[tail] * h
    return r''',
    "_exp_poly": '''def _exp_poly(g, w, hi, lo):
    """g e^P, P = sum (hi[k] + lo[k]) w^(n-1-k) (double-double coefficients, highest first), by
    compensated Horner (Graillat, Langlois & Louvet 2005): P = s + e, the products' and sums'
    rounding errors (Dekker's TwoProduct by Veltkamp split, Knuth's TwoSum) and the
    coefficients' low parts carried in e. Then e^s (1 + e) = e^P to within e^2: the rounding of
    P costs no digits however large |P| is. Where e^s is subnormal (s < -708),
    (e^(s/2) g (1 + e)) e^(s/2) keeps the product's digits. |w| must be small (clamped)."""
    g, w = np.broadcast_arrays(np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64))
    c = np.multiply(w, 134217729.0)
    wh = np.subtract(c, w)
    np.subtract(c, wh, out=wh)  # wh = c - (c - w)
    wl = np.subtract(w, wh)
    # s = hi[0] to start with: a constant, split once; in place below, with the same roundings
    # (and the same bits) as s*w, pe = ((sh*wh - p) + sh*wl + sl*wh) + sl*wl, t = p + h, ...
    s0 = hi[0]
    c0 = s0 * 134217729.0
    sh0 = c0 - (c0 - s0)
    sl0 = s0 - sh0
    s = e = None
    p, pe, u = np.empty(w.shape), np.empty(w.shape), np.empty(w.shape)
    for h, lk in zip(hi[1:], lo[1:]):
        if s is None:
            np.multiply(w, s0, out=p)
            np.multiply(wh, sh0, out=pe)
            pe -= p
            np.multiply(wl, sh0, out=u)
            pe += u
            np.multiply(wh, sl0, out=u)
            pe += u
            np.multiply(wl, sl0, out=u)
            pe += u
            e = np.multiply(w, lo[0])
        else:
            _eft_prod(s, w, wh, wl, p, pe, c, u)
            e *= w
        if h == 0.0 and lk == 0.0:  # t = p + 0 = p exactly and TwoSum's error is 0
            e += pe
            s, p = p, (np.empty(w.shape) if s is None else s)
        else:
            t = np.empty(w.shape) if s is None else s
            _eft_sum(p, h, t, c, u)
            np.add(pe, u, out=u)
            u += lk
            e += u
            s = t
    if s is None:
        s, e = np.full_like(w, hi[0]), np.full_like(w, lo[0])
    # |e| > 1/2 only where |P| > 2^51, where e^s is 0 or inf anyway: kept there, g e would
    # overflow into inf * 0 (x sigma(1.702 x) at x = -1e300: e ~ 1e284)
    np.clip(e, -0.5, 0.5, out=e)
    e += 1.0
    gb = np.multiply(g, e, out=e)
    r = np.exp(s)
    r *= gb
    tail = s < -708.0
    if np.any(tail):
        hs = np.exp(0.5 * s[tail])
        r[tail] = hs * gb[tail] * hs
    return r''',
    "_eft": '''def _eft_prod(s, d, dh, dl, p, pe, sh, sl):
    """p = s d rounded and pe = s d - p exactly, in place: Dekker's TwoProduct, s split by
    Veltkamp into sh + sl (27 + 26 bits), d = dh + dl split by the caller; sh, sl: scratch."""
    np.multiply(s, d, out=p)
    np.multiply(s, 134217729.0, out=sh)
    np.subtract(sh, s, out=sl)
    np.subtract(sh, sl, out=sh)  # sh = c - (c - s), c = s (2^27 + 1)
    np.subtract(s, sh, out=sl)
    np.multiply(sh, dh, out=pe)
    pe -= p
    sh *= dl
    pe += sh
    np.multiply(sl, dh, out=sh)
    pe += sh
    sl *= dl
    pe += sl  # pe = ((sh dh - p) + sh dl + sl dh) + sl dl


def _eft_sum(p, h, t, z, w):
    """t = p + h rounded and w = p + h - t exactly, in place: Knuth's TwoSum; z: scratch."""
    np.add(p, h, out=t)
    np.subtract(t, p, out=z)
    np.subtract(t, z, out=w)
    np.subtract(p, w, out=w)
    np.subtract(h, z, out=z)
    w += z  # w = (p - (t - z)) + (h - z)''',
    "_select": '''def _select(r, v, mask, ti):
    """r = v where mask (int64 0/1), bit-exactly, as integer operations on the float64 bits:
    r ^= (r ^ v) * mask. (np.copyto with where= branches per element: 4x slower on random
    signs.) ti is int64 scratch."""
    ri = r.view(np.int64)
    np.bitwise_xor(ri, np.asarray(v, dtype=np.float64).view(np.int64), out=ti)
    np.multiply(ti, mask, out=ti)
    np.bitwise_xor(ri, ti, out=ri)''',
    "_by_arms": '''def _by_arms(r, conds, *arms):
    """r = f(*args) of the first arm (f, *args) whose condition conds[k] holds (the last arm
    where none does), each arm computed on its own elements only (args: arrays of r's shape,
    gathered by index: 4x faster than by a boolean mask; or scalars): an arm that costs tens
    of passes is never evaluated where another one is taken. r must be contiguous."""
    flat = r.reshape(-1)
    todo = None  # the elements no arm has taken yet (None: all)
    for k, (f, *args) in enumerate(arms):
        if k < len(conds):
            take = np.reshape(conds[k], -1)
            take = take if todo is None else take & todo
        else:
            take = todo
        idx = np.arange(flat.size) if take is None else np.flatnonzero(take)
        if idx.size == flat.size:
            np.copyto(r, f(*args))
            return
        if idx.size:
            flat[idx] = f(*(np.take(a, idx) if np.ndim(a) else a for a in args))
        if take is not None:
            todo = ~take if todo is None else np.logical_xor(todo, take, out=todo)''',
    "_root_patch": '''def _root_patch(x, x0_hi, x0_lo, coeffs, exact):
    """sum c_k d^k, d = (x - x0_hi) - x0_lo: the Taylor patch at an interior root. The terms
    from c_exact up by Horner in place; the last ``exact`` steps by compensated Horner
    (Graillat, Langlois & Louvet 2005): each step's product and sum errors, found exactly by
    Dekker's TwoProduct (Veltkamp split) and Knuth's TwoSum, are carried in a second Horner sum,
    as accurate as Horner in twice the precision where the terms cancel. ``exact`` is the least
    number of steps for which the plain part's rounding bound stays below an eighth of an ULP
    of f on the patch (symact.patch.compensated_steps). In place in twelve arrays of x's
    shape (0-d for a scalar x)."""
    d = np.empty(np.shape(x))
    s, c, dh, dl, q, p, sh, sl, pe, t, z, w = (np.empty_like(d) for _ in range(12))
    np.subtract(x, x0_hi, out=d)
    d -= x0_lo
    s.fill(coeffs[-1])
    for ck in coeffs[-2:exact - 1:-1]:
        s *= d
        s += ck
    np.multiply(d, 134217729.0, out=c)
    np.subtract(c, d, out=dh)
    np.subtract(c, dh, out=dh)  # c - (c - d)
    np.subtract(d, dh, out=dl)
    q.fill(0.0)
    for ck in coeffs[exact - 1::-1]:
        _eft_prod(s, d, dh, dl, p, pe, sh, sl)
        _eft_sum(p, ck, t, z, w)
        s, t = t, s
        q *= d
        pe += w
        q += pe
    s += q
    return s''',
}

#: Defines SYMACT_INLINE, which every static helper, core and eval function of the generated C
#: is declared with (in a file this size gcc stops inlining at its unit-growth limit, and a call
#: left in an array loop keeps that loop scalar), and SYMACT_NO_THREADING (see its comment).
C_INLINE = """\
/* The helpers, cores and evals are inlined into the array loops, so that they vectorize: in a
 * file this size gcc stops inlining at its unit-growth limit, and a call left in a loop keeps it
 * scalar. */
#if defined(__GNUC__)
#define SYMACT_INLINE static inline __attribute__((always_inline))
#else
#define SYMACT_INLINE static inline
#endif
/* gcc's jump threading copies the code after a select on a constant (a clamp) once per side, and
 * in a vectorized loop every copy runs: the loops calling the normal-distribution helpers turn it
 * off (gelu: 5 vector exp calls per element instead of 9). It never changes a result. */
#if defined(__GNUC__) && !defined(__clang__)
#define SYMACT_NO_THREADING __attribute__((optimize("no-thread-jumps")))
#else
#define SYMACT_NO_THREADING
#endif"""

C_HELPERS = {
    "symact_root_patch": '''\
/* sum c[k] d^k (k < n), d = (x - x0_hi) - x0_lo: the Taylor patch at an interior root. The terms
 * from c[exact] up by Horner; the last ``exact`` steps by compensated Horner (Graillat, Langlois
 * & Louvet 2005): each step's product and sum errors, found exactly by fma (TwoProduct) and
 * Knuth's TwoSum, are carried in a second Horner sum, as accurate as Horner in twice the
 * precision where the terms cancel. ``exact`` is the least number of steps for which the plain
 * part's rounding bound stays below an eighth of an ULP of f on the patch
 * (symact.patch.compensated_steps). Inline: the array kernels run it in a vector loop over the
 * elements inside the patch's window. */
SYMACT_INLINE double symact_root_patch(double x, double x0_hi, double x0_lo, const double *c,
                                       int n, int exact)
{
    const double d = (x - x0_hi) - x0_lo;
    double s = c[n - 1];
    int k = n - 2;
    for (; k >= exact; --k)
        s = s * d + c[k];
    double q = 0.0;
    for (; k >= 0; --k) {
        const double p = s * d;
        const double pe = fma(s, d, -p);
        const double t = p + c[k];
        const double z = t - p;
        const double se = (p - (t - z)) + (c[k] - z);
        s = t;
        q = q * d + (pe + se);
    }
    return s + q;
}''',
    "symact_exp_poly": '''\
/* g e^P, P = sum (hi[k] + lo[k]) w^(n-1-k) (double-double coefficients, highest first), by
 * compensated Horner (Graillat, Langlois & Louvet 2005): P = s + e, the products' rounding
 * errors (fma) and the sums' (Knuth's TwoSum) and the coefficients' low parts carried in e.
 * Then e^s (1 + e) = e^P to within e^2: the rounding of P costs no digits however large |P| is.
 * Where e^s is subnormal (s < -708), (e^(s + C) g (1 + e)) e^-C keeps the product's digits. */
SYMACT_INLINE double symact_exp_poly(double g, double w, const double *hi, const double *lo,
                                     int n)
{
    double s = hi[0];
    double e = lo[0];
    for (int k = 1; k < n; ++k) {
        const double p = s * w;
        const double pe = fma(s, w, -p);
        const double t = p + hi[k];
        const double z = t - p;
        e = e * w + (pe + ((p - (t - z)) + (hi[k] - z)) + lo[k]);
        s = t;
    }
    /* |e| > 1/2 only where |P| > 2^51, where e^s is 0 or inf anyway: kept there, g e would
     * overflow into inf * 0 (x sigma(1.702 x) at x = -1e300: e ~ 1e284) */
    e = e > 0.5 ? 0.5 : (e < -0.5 ? -0.5 : e);
    const double gb = g * (1.0 + e);
    const double a = symact_exp_arg(s);
    return symact_exp_times_of(s, gb, a, exp(a));
}''',
    "symact_exp_times": '''/* e^v * g; where e^v would be subnormal (v < -708),
 * (e^(v + C) * g) * e^-C instead (symact_exp_arg), so the product keeps its digits.
 * Branch-free, one exp. */
SYMACT_INLINE double symact_exp_times(double v, double g)
{
    const double a = symact_exp_arg(v);
    return symact_exp_times_of(v, g, a, exp(a));
}''',
    "symact_exp_arg": f'''/* The argument a whose exp gives e^v to the e^v helpers: v, or v + C
 * where e^v would be subnormal (v < -708), C = {EXP_SHIFT!r} (v + C is exact, by Sterbenz's
 * lemma, for v in [-2C, -708), and e^(v + C) normal). h = e^a is then shared by every e^v and
 * e^v * g of a kernel. */
SYMACT_INLINE double symact_exp_arg(double v)
{{
    return v < -708.0 ? v + {EXP_SHIFT!r} : v;
}}

/* e^v from h = e^a, a = symact_exp_arg(v): h, or h e^-C where a = v + C (e^-C =
 * {EXP_SHIFT_SCALE!r} to within 0.001 ULP: the product's rounding is the only one). The
 * test is a != v, not v < -708 again: gcc threads a repeated test through the exp call and
 * calls exp twice. */
SYMACT_INLINE double symact_exp_of(double v, double a, double h)
{{
    return a != v ? h * {EXP_SHIFT_SCALE!r} : h;
}}

/* e^v * g from h = e^a, a = symact_exp_arg(v): h*g, or (h*g) e^-C where a = v + C, so the
 * product keeps its digits where e^v alone would be subnormal, and exp's error counts once
 * (e^(v/2) squared would count it twice). */
SYMACT_INLINE double symact_exp_times_of(double v, double g, double a, double h)
{{
    return a != v ? (h * g) * {EXP_SHIFT_SCALE!r} : h * g;
}}''',
}

#: libm functions (name, parameter list) that glibc's libmvec vectorizes on x86-64 (glibc >=
#: 2.35); the fast C build declares them ``#pragma omp declare simd``. A name missing here only
#: means that function stays scalar.
C_VECTOR_LIBM = tuple((f, "double") for f in (
    "atan", "cosh", "erf", "erfc", "exp", "expm1", "log", "log1p", "sinh", "tanh")) + (
    ("hypot", "double, double"),)


def _rational_division(printer, expr) -> str | None:
    """(p/q)*rest printed as (p*rest)/q: one rounding (a division), not two (p/q, then *)."""
    c, rest = expr.as_coeff_Mul()
    if not (c.is_Rational and c.q != 1 and rest != 1):
        return None
    num = rest if c.p == 1 else sp.Mul(c.p, rest, evaluate=False) if c.p != -1 else -rest
    return f"{printer.parenthesize(num, PRECEDENCE['Mul'])}/{c.q}"


def varying_denominator(expr: sp.Expr) -> tuple[list[sp.Expr], list[sp.Expr]] | None:
    """(numerator factors, denominator bases, one per power) of a product whose denominator has
    two or more distinct varying bases, or the square or a higher power of an unbounded one
    (1/(1+|x|)^3), else None: such a product is printed as n/a/b (n/b/b/b), never as n/(a*b),
    whose denominator may overflow where the quotient is merely small."""
    num, den = [], []
    for f in sp.Mul.make_args(expr):
        if f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.free_symbols:
            den.extend([f.base] * int(-f.exp))
        else:
            num.append(f)
    many = len(set(den)) >= 2
    power = any(den.count(b) >= 2 and unbounded(b) for b in set(den))
    return (num, den) if many or power else None


def _coefficient_last(printer, expr) -> str | None:
    """k*rest printed as rest*k for an integer |k| > 1: k*x overflows at |x| > DBL_MAX/k where
    rest may be tiny (mish' = 4 x (1+E) E^2/Q^2 at x = 1.8e308); x*k is evaluated after."""
    c, rest = expr.as_coeff_Mul()
    if not (c.is_Integer and abs(c) > 1 and rest.free_symbols and rest.is_Mul):
        return None
    body = f"{printer.parenthesize(rest, PRECEDENCE['Mul'])}*{abs(c)}"
    return f"-{body}" if c < 0 else body


def _print_scaled(printer, expr) -> str:
    """scaled(v, n): (v)*2^n, the power of two as its exact double (repr round-trips)."""
    v, n = expr.args
    return f"({printer._print(v)})*{float(sp.Integer(2) ** n)!r}"


def _sequential_division(printer, expr) -> str | None:
    """n/(a b) printed as n/a/b when a and b both vary: a*b may overflow where the quotients
    do not (squareplus' = b/(2 (h - x) h) for x < -1e154), and the roundings are as many."""
    split = varying_denominator(expr)
    if split is None:
        return None
    num, den = split
    out = printer.parenthesize(sp.Mul(*num), PRECEDENCE["Mul"])
    for b in den:
        out += f"/{printer.parenthesize(b, PRECEDENCE['Pow'])}"
    return out


def double_double(coeffs) -> tuple[list[float], list[float]]:
    """Each exact coefficient c as hi + lo: hi = c rounded to double, lo = c - hi rounded."""
    hi = [float(sp.N(c, 40)) for c in coeffs]
    lo = [float(sp.N(c - sp.Rational(h), 40)) for c, h in zip(coeffs, hi, strict=True)]
    return hi, lo


def exp_dd_constants(expr) -> tuple[tuple[float, float], tuple[float, float],
                                     tuple[float, float, float]]:
    """(c pair, a pair, (B, wlo, whi)) of exp_exp_times(c, a, u, g), as its helpers take them
    (symact.exp_dd): wlo = log(2^-60/|c|) and whi = log(VANISH/|c|) rounded outward, and
    B = max(|wlo|, |whi|)/|a|, so a u stays finite."""
    (ch, ah), (cl, al) = double_double(expr.args[:2])
    wlo = math.floor(math.log(exp_dd.NEGLIGIBLE / abs(ch)))
    whi = math.ceil(math.log(exp_dd.VANISH / abs(ch)))
    return (ch, cl), (ah, al), (max(-wlo, whi) / abs(ah), float(wlo), float(whi))


def unbounded(base: sp.Expr) -> bool:
    """Can ``base`` grow without bound? (1 + e^{-|x|}) cannot; 1 + |x| can."""
    return bool(base.free_symbols) and bool(
        base.replace(lambda e: isinstance(e, sp.exp), lambda e: sp.S.Zero).free_symbols)


NUMPY_HELPERS.update(normal_helpers.NUMPY)
C_HELPERS.update(normal_helpers.C)
NUMPY_HELPERS.update(ddeval.NUMPY)
C_HELPERS.update(ddeval.C)
C_HELPERS.update(float_erfc.C)
NUMPY_HELPERS.update(float_erfc.NUMPY)
C_HELPERS.update(exp_dd.C)
NUMPY_HELPERS.update(exp_dd.NUMPY)

#: Helpers a helper calls, so a printer records everything its code needs.
_NEEDS = {
    "_normal_cdf": ("_gauss_times", "_mills_ln", "_rational", "_by_arms", "_pick"),
    "_erfc_float": ("_pick",),
    "_exp_poly": ("_eft",),
    "_root_patch": ("_eft",),
    "_mills_ln": ("_rational", "_by_arms"),
    "_erf": ("_rational", "_by_arms"),
    "symact_normal_cdf": ("symact_gauss_times", "symact_mills_ln"),
    "symact_gauss_times": ("symact_exp_arg",),
    "symact_exp_times": ("symact_exp_arg",),
    "symact_exp_poly": ("symact_exp_arg",),
    "_exp_exp_times": ("_exp_times", "_dd"),
    "symact_exp_exp_times": ("symact_exp_arg",),
}


def exp_dd_call(printer, expr, u: str | None = None, g: str | None = None,
                out: str | None = None) -> str:
    """The NumPy call _exp_exp_times(u, g, c, a, bounds[, out]) of exp_exp_times(c, a, u, g);
    u and g printed by ``printer`` unless given (buffers of the in-place printer)."""
    _need(printer, "_exp_exp_times")
    c, a, bounds = exp_dd_constants(expr)
    u = printer._print(expr.args[2]) if u is None else u
    g = printer._print(expr.args[3]) if g is None else g
    tail = "" if out is None else f", {out}"
    return f"_exp_exp_times({u}, {g}, {c!r}, {a!r}, {bounds!r}{tail})"


def helper_closure(helpers) -> set[str]:
    """``helpers`` and every helper they call, transitively. Sorted by name, they are in an
    order C can define them in (a helper's name sorts after those it calls)."""
    out: set[str] = set()
    todo = list(helpers)
    while todo:
        h = todo.pop()
        if h not in out:
            out.add(h)
            todo.extend(_NEEDS.get(h, ()))
    return out


def _need(printer, helper: str) -> None:
    """Record ``helper`` and the helpers it calls."""
    printer.helpers.update(helper_closure([helper]))


def _call(printer, fn: str, args, helper: str | None = None) -> str:
    """``fn(args...)``, recording the helper that defines fn (fn itself by default) and what
    it needs."""
    _need(printer, helper or fn)
    return f"{fn}({', '.join(printer._print(a) for a in args)})"


class NumpyPrinter(NumPyPrinter):
    """Prints into code for ``import numpy as np``; Piecewise as nested ``np.where``."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self.helpers: set[str] = set()

    def _module_format(self, fqn, register=True):
        return super()._module_format(fqn, register).replace("numpy.", "np.")

    def _print_Abs(self, expr):
        return f"np.abs({self._print(expr.args[0])})"

    def _print_Mul(self, expr):
        return (_coefficient_last(self, expr) or _sequential_division(self, expr)
                or _rational_division(self, expr) or super()._print_Mul(expr))

    def _fold(self, fn, args):
        out = self._print(args[0])
        for a in args[1:]:
            out = f"{fn}({out}, {self._print(a)})"
        return out

    def _print_Max(self, expr):  # np.maximum propagates NaN
        return self._fold("np.maximum", sorted(expr.args, key=lambda a: a.is_number))

    def _print_Min(self, expr):
        return self._fold("np.minimum", sorted(expr.args, key=lambda a: a.is_number))

    def _print_Piecewise(self, expr):
        *pairs, (last, cond) = expr.args
        if cond is not sp.true:
            raise ValueError("Piecewise without a default branch")
        out = self._print(last)
        for e, c in reversed(pairs):
            out = f"np.where({self._print(c)}, {self._print(e)}, {out})"
        return out

    def _print_Relational(self, expr):
        return f"({self._print(expr.lhs)} {expr.rel_op} {self._print(expr.rhs)})"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == -1:
            return f"1/{self.parenthesize(expr.base, 1000)}"
        if expr.exp.is_Integer and expr.exp < -1:  # (1/b)^n: b^n may overflow where 1/b^n is 0
            return f"(1/{self.parenthesize(expr.base, 1000)})**{-expr.exp}"
        return super()._print_Pow(expr, rational=rational)

    def _print_hypot(self, expr):
        return f"np.hypot({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_recip(self, expr):
        return f"(1/{self.parenthesize(expr.args[0], 1000)})"

    def _print_scaled(self, expr):
        return _print_scaled(self, expr)

    def _print_exp_times(self, expr):
        self.helpers.add("_exp_times")
        return f"_exp_times({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_exp_exp_times(self, expr):
        return exp_dd_call(self, expr)

    def _print_exp_poly(self, expr):
        _need(self, "_exp_poly")
        g, w, *coeffs = expr.args
        hi, lo = double_double(coeffs)
        return (f"_exp_poly({self._print(g)}, {self._print(w)}, "
                f"({', '.join(map(repr, hi))},), ({', '.join(map(repr, lo))},))")

    def _print_normal_cdf(self, expr):
        return _call(self, "_normal_cdf", expr.args)

    # Phi's forms apart, for the arms of a kernel split at its ranges (arm_split, by_range)
    def _print_normal_cdf_small(self, expr):
        return _call(self, "_normal_cdf_small", expr.args, helper="_normal_cdf")

    def _print_normal_cdf_one(self, expr):
        return _call(self, "_normal_cdf_one", expr.args, helper="_normal_cdf")

    def _print_normal_cdf_tail(self, expr):
        return _call(self, "_normal_cdf_tail", expr.args, helper="_normal_cdf")

    def _print_mills_ln(self, expr):
        return _call(self, "_mills_ln", expr.args)

    def _print_erf(self, expr):  # NumPy has no erf: fdlibm's, as C's libm
        return _call(self, "_erf", expr.args)

    def _print_erfc(self, expr):
        return _call(self, "_erfc", expr.args, helper="_erf")

    def _print_erfc_kept(self, expr):
        return _call(self, "_erfc", expr.args, helper="_erf")

    def _print_gauss_times(self, expr):
        return _call(self, "_gauss_times", expr.args)

    def _print_dd_call(self, expr):
        return f"_dd{int(expr.args[0])}({self._print(expr.args[1])})"

    def _print_gauss_clip(self, expr):
        u, lo, hi = (self._print(a) for a in expr.args)
        return f"np.clip({u}, {float(expr.args[1])!r}, {float(expr.args[2])!r})"


class CPrinter(C99CodePrinter):
    """C99 printer with symact's helpers; doubles throughout."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self.helpers: set[str] = set()

    def _print_Mul(self, expr):
        return (_coefficient_last(self, expr) or _sequential_division(self, expr)
                or _rational_division(self, expr) or super()._print_Mul(expr))

    def _print_exp_times(self, expr):
        return _call(self, "symact_exp_times", expr.args)

    def _print_exp_arg(self, expr):
        return _call(self, "symact_exp_arg", expr.args)

    def _print_exp_of(self, expr):
        return _call(self, "symact_exp_of", expr.args, helper="symact_exp_arg")

    def _print_exp_times_of(self, expr):
        return _call(self, "symact_exp_times_of", expr.args, helper="symact_exp_arg")

    def _print_hypot(self, expr):
        return f"hypot({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_recip(self, expr):
        return f"(1.0/{self.parenthesize(expr.args[0], 1000)})"

    def _print_erfc_kept(self, expr):
        return f"erfc({self._print(expr.args[0])})"

    def _print_scaled(self, expr):
        return _print_scaled(self, expr)

    def _print_exp_exp_times(self, expr):
        _need(self, "symact_exp_exp_times")
        (ch, cl), (ah, al), bounds = exp_dd_constants(expr)
        u, g = (self._print(a) for a in expr.args[2:])
        return (f"symact_exp_exp_times({u}, {g}, {ch!r}, {cl!r}, {ah!r}, {al!r}, "
                f"{', '.join(map(repr, bounds))})")

    def _print_exp_poly(self, expr):
        _need(self, "symact_exp_poly")
        g, w, *coeffs = expr.args
        hi, lo = double_double(coeffs)
        return (f"symact_exp_poly({self._print(g)}, {self._print(w)}, "
                f"(const double[]){{{', '.join(map(repr, hi))}}}, "
                f"(const double[]){{{', '.join(map(repr, lo))}}}, {len(hi)})")

    def _print_normal_cdf(self, expr):
        return _call(self, "symact_normal_cdf", expr.args)

    def _print_normal_cdf_mid(self, expr):
        return _call(self, "symact_normal_cdf_mid", expr.args, helper="symact_normal_cdf")

    def _print_normal_cdf_tail(self, expr):
        return _call(self, "symact_normal_cdf_tail", expr.args, helper="symact_normal_cdf")

    def _print_mills_ln(self, expr):
        return _call(self, "symact_mills_ln", expr.args)

    def _print_erfc_float(self, expr):
        return _call(self, "symact_erfc_float", expr.args)

    def _print_gauss_times(self, expr):
        args = expr.args if len(expr.args) == 3 else (*expr.args, sp.Float(0.0))
        return _call(self, "symact_gauss_times", args)

    def _print_gauss_clip(self, expr):
        """u clamped to [lo, hi] as two selects (a call to fmin/fmax would not vectorize)."""
        u = self._print(expr.args[0])
        lo, hi = (repr(float(a)) for a in expr.args[1:])
        return f"(({u}) < {lo} ? {lo} : (({u}) > {hi} ? {hi} : ({u})))"

    def _print_Pow(self, expr):
        if expr.exp in (2, 3):  # exact-enough and far cheaper than pow(), which never vectorizes
            base = self.parenthesize(expr.base, 1000)
            return f"({'*'.join([base] * int(expr.exp))})"
        if expr.exp == -2:  # (1/b)^2: b^2 may overflow where 1/b^2 is 0
            inv = f"(1.0/{self.parenthesize(expr.base, 1000)})"
            return f"({inv}*{inv})"
        if expr.exp.is_Integer and expr.exp < -1:
            return f"pow(1.0/{self.parenthesize(expr.base, 1000)}, {-expr.exp})"
        return super()._print_Pow(expr)

    def _print_Max(self, expr):
        return self._select_fold("<", expr.args)

    def _print_Min(self, expr):
        return self._select_fold(">", expr.args)

    def _select_fold(self, op, args):
        """Max/Min as selects, ``(a < b ? b : a)``: a NaN in the first (non-constant) argument
        propagates, and unlike a call to fmax/fmin the select vectorizes."""
        args = sorted(args, key=lambda a: a.is_number)
        out = self._print(args[0])
        for a in args[1:]:
            b = self._print(a)
            out = f"(({out}) {op} {b} ? {b} : ({out}))"
        return out

    def _print_sign(self, expr):
        """sign(u) as selects (1, -1, else 0: 0 and NaN give 0, as sympy's C printer's
        (u > 0) - (u < 0) does), which vectorize where the int subtraction does not."""
        u = self._print(expr.args[0])
        return f"(({u}) > 0 ? 1.0 : (({u}) < 0 ? -1.0 : 0.0))"

    def _print_BooleanTrue(self, expr):  # C99 without <stdbool.h>: a comparison's int
        return "1"

    def _print_BooleanFalse(self, expr):
        return "0"

    def _print_Or(self, expr):
        """Bitwise on the 0/1 comparisons: no short-circuit branch, so the loop vectorizes
        (every operand is a side-effect-free comparison)."""
        return " | ".join(f"({self._print(a)})" for a in sorted(expr.args, key=default_sort_key))

    def _print_And(self, expr):
        """Bitwise, like _print_Or."""
        return " & ".join(f"({self._print(a)})" for a in sorted(expr.args, key=default_sort_key))

    def _print_Piecewise(self, expr):
        *pairs, (last, cond) = expr.args
        if cond is not sp.true:
            raise ValueError("Piecewise without a default branch")
        out = self._print(last)
        for e, c in reversed(pairs):
            out = f"(({self._print(c)}) ? {self._print(e)} : {out})"
        return out


def c_horner(var: str, coeffs: tuple[float, ...]) -> str:
    """c0 + var*(c1 + var*(c2 + ...)) with round-trip exact constants."""
    out = repr(coeffs[-1])
    for c in reversed(coeffs[:-1]):
        out = f"{c!r} + {var}*({out})"
    return out
