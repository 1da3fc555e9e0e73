"""Double-double evaluation of an arithmetic subexpression, rounded once at the end.

A long formula (mish'' is a sum of two fractions with cubed denominators) rounds at every
operation, and those half-ULPs add up past the accuracy bar even where nothing cancels. Here
the arithmetic (+, *, /, integer powers) of such a subexpression runs on unevaluated sums
hi + lo of two doubles (Dekker 1971; the QD library's sloppy operations, Hida, Li & Bailey
2001), with each rounding error carried in lo: relative error about 2^-104 per operation, so
only the leaves (exp, tanh, ... evaluated once in double) and the final rounding cost ULPs.

The program is a list of statements over named values of two kinds: ``D`` (a double: a leaf, an
exact constant, a power-of-two multiple of a double) and ``DD`` (a pair). Operations are chosen
by kind (two_sum for D + D, dd_add_d for DD + D, ...), so no work is spent on a zero lo part.
``emit.kernel_code`` decides by measurement where a kernel is evaluated this way (see there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from .functions import exp_exp_times, gauss_clip

NUMPY = {
    "_dd": '''def _dd_split(a):
    """a = hi + lo exactly, hi with 26 significant bits: the low 27 bits of a's significand
    cleared (no overflow, unlike Veltkamp's split by 2^27 + 1)."""
    a = np.asarray(a, dtype=np.float64)
    hi = (a.view(np.int64) & -134217728).view(np.float64)
    return hi, a - hi


def _two_sum(a, b):
    """a + b = s + e exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_prod(a, b):
    """a * b = p + e (Dekker; e to 2^-105 relative)."""
    p = a * b
    ah, al = _dd_split(a)
    bh, bl = _dd_split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_norm(s, e):
    """(s, e) renormalized: s + e rounded, and what it lost (|e| small next to |s|)."""
    t = s + e
    return t, e - (t - s)


def _dd_add(a, b):
    """double-double a + b."""
    s, e = _two_sum(a[0], b[0])
    return _dd_norm(s, e + (a[1] + b[1]))


def _dd_add_d(a, b):
    """double-double a + double b."""
    s, e = _two_sum(a[0], b)
    return _dd_norm(s, e + a[1])


def _dd_mul(a, b):
    """double-double a * b."""
    p, e = _two_prod(a[0], b[0])
    return _dd_norm(p, e + (a[0] * b[1] + a[1] * b[0]))


def _dd_mul_d(a, b):
    """double-double a * double b."""
    p, e = _two_prod(a[0], b)
    return _dd_norm(p, e + a[1] * b)


def _dd_div(a, b):
    """double-double a / b: q = a/b rounded, then the remainder a - q b (exact products)
    divided once more."""
    q = a[0] / b[0]
    p, e = _two_prod(q, b[0])
    return _dd_norm(q, (((a[0] - p) - e) + a[1] - q * b[1]) / b[0])


def _dd_div_d(a, b):
    """double-double a / double b."""
    q = a[0] / b
    p, e = _two_prod(q, b)
    return _dd_norm(q, (((a[0] - p) - e) + a[1]) / b)


def _dd_tanh(u):
    """tanh(u) as double-double: m/(m + 2) with m = expm1(2|u|) (|u| <= 40: tanh(40) is 1 to
    2^-115; below 2^-27, u - u^3/3), the sum and quotient exact to 2^-104;
    |d ln tanh / d ln m| = 2/(m + 2) <= 1, so only expm1's rounding is left (libm's tanh may
    be 2 ULP off)."""
    a = np.minimum(np.abs(u), 40.0)
    m = np.expm1(2.0 * a)
    q = _dd_div((m, 0.0 * m), _two_sum(m, 2.0))
    tiny = a < 7.450580596923828e-09  # 2^-27: u - u^3/3 (m would lose a subnormal u's bits)
    v = np.where(tiny, u, 0.0)  # the cube only where it is taken (np.where computes both)
    return (np.where(tiny, u, np.copysign(q[0], u)),
            np.where(tiny, -v * (v * v) / 3.0, np.copysign(1.0, u) * q[1]))


def _dd_scaled(r, g):
    """(r, r g_lo/g_hi) for r = g_hi E rounded, E a factor computed in double by a helper that
    takes g (_exp_exp_times): g E with g's low part kept, to E's own accuracy. The low part is
    0 where g_hi is 0 or it is not finite."""
    ghi = np.asarray(g[0], dtype=np.float64)
    ratio = np.divide(g[1], ghi, out=np.zeros(np.broadcast(r, ghi).shape), where=ghi != 0)
    with np.errstate(invalid="ignore", over="ignore"):
        lo = np.multiply(r, ratio, out=ratio)
    lo[~np.isfinite(lo)] = 0.0
    return r, lo''',
}

C = {
    "symact_dd": '''\
/* Double-double arithmetic: a value is hi + lo, two doubles with |lo| <= ulp(hi)/2 (Dekker
 * 1971; the QD library's sloppy operations, Hida, Li & Bailey 2001). Each operation's rounding
 * error is carried in lo: about 2^-104 relative per operation. fma gives a * b's error exactly. */
typedef struct { double hi, lo; } symact_dd;

SYMACT_INLINE symact_dd symact_dd_norm(double s, double e) /* s + e, renormalized */
{
    const double t = s + e;
    return (symact_dd){t, e - (t - s)};
}

SYMACT_INLINE symact_dd symact_two_sum(double a, double b) /* a + b exactly (Knuth) */
{
    const double s = a + b;
    const double bb = s - a;
    return (symact_dd){s, (a - (s - bb)) + (b - bb)};
}

SYMACT_INLINE symact_dd symact_two_prod(double a, double b) /* a * b exactly */
{
    const double p = a * b;
    return (symact_dd){p, fma(a, b, -p)};
}

SYMACT_INLINE symact_dd symact_dd_add(symact_dd a, symact_dd b)
{
    const symact_dd s = symact_two_sum(a.hi, b.hi);
    return symact_dd_norm(s.hi, s.lo + (a.lo + b.lo));
}

SYMACT_INLINE symact_dd symact_dd_add_d(symact_dd a, double b)
{
    const symact_dd s = symact_two_sum(a.hi, b);
    return symact_dd_norm(s.hi, s.lo + a.lo);
}

SYMACT_INLINE symact_dd symact_dd_mul(symact_dd a, symact_dd b)
{
    const symact_dd p = symact_two_prod(a.hi, b.hi);
    return symact_dd_norm(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

SYMACT_INLINE symact_dd symact_dd_mul_d(symact_dd a, double b)
{
    const symact_dd p = symact_two_prod(a.hi, b);
    return symact_dd_norm(p.hi, p.lo + a.lo * b);
}

/* a / b: q = a/b rounded, then the remainder a - q b (exact products) divided once more. */
SYMACT_INLINE symact_dd symact_dd_div(symact_dd a, symact_dd b)
{
    const double q = a.hi / b.hi;
    const symact_dd p = symact_two_prod(q, b.hi);
    return symact_dd_norm(q, (((a.hi - p.hi) - p.lo) + a.lo - q * b.lo) / b.hi);
}

SYMACT_INLINE symact_dd symact_dd_div_d(symact_dd a, double b)
{
    const double q = a.hi / b;
    const symact_dd p = symact_two_prod(q, b);
    return symact_dd_norm(q, (((a.hi - p.hi) - p.lo) + a.lo) / b);
}

/* tanh(u) as double-double: m/(m + 2) with m = expm1(2|u|) (|u| <= 40: tanh(40) is 1 to
 * 2^-115; below 2^-27, u - u^3/3), the sum and quotient exact to 2^-104;
 * |d ln tanh / d ln m| = 2/(m + 2) <= 1, so only expm1's rounding is left (libm's tanh may
 * be 2 ULP off). Both cases are computed and one selected: no branch, so loops vectorize. */
SYMACT_INLINE symact_dd symact_dd_tanh(double u)
{
    const double a = fabs(u);
    const double m = expm1(2.0 * (a < 40.0 ? a : 40.0)); /* fmin as a select: vectorizes */
    const symact_dd q = symact_dd_div((symact_dd){m, 0.0}, symact_two_sum(m, 2.0));
    const int tiny = fabs(u) < 0x1p-27; /* u - u^3/3 (m would lose a subnormal u's bits) */
    return (symact_dd){tiny ? u : copysign(q.hi, u),
                       tiny ? -u * (u * u) / 3.0 : copysign(1.0, u) * q.lo};
}

/* (r, r g.lo/g.hi) for r = g.hi E rounded, E a factor computed in double by a helper that
 * takes g (symact_exp_exp_times): g E with g's low part kept, to E's own accuracy. The low part
 * is 0 where g.hi is 0 or it is not finite. */
SYMACT_INLINE symact_dd symact_dd_scaled(double r, symact_dd g)
{
    const double lo = r * (g.hi != 0.0 ? g.lo / g.hi : 0.0);
    return (symact_dd){r, isfinite(lo) ? lo : 0.0};
}''',
}


D, DD = "D", "DD"


def _is_arith(e: sp.Expr) -> bool:
    return isinstance(e, (sp.Add, sp.Mul)) or (
        isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp != 1)


#: Leaves whose libm error may pass 1 ULP (glibc documents tanh at 2 ULP on x86_64; NumPy's
#: SIMD tanh and glibc's differ by 2-3 ULP in tanh^2): counted as two roundings, and evaluated
#: as a double-double from expm1 (``_dd_tanh``) wherever they feed arithmetic.
IMPRECISE_LEAVES = (sp.tanh,)


def _roundings(e: sp.Expr) -> int:
    """Rounded operations of e's arithmetic top (leaves not counted, save imprecise ones)."""
    if e.is_Number or not _is_arith(e):
        return 0
    own = len(e.args) - 1 if not isinstance(e, sp.Pow) else abs(int(e.exp))
    return own + sum(2 if isinstance(a, IMPRECISE_LEAVES) else _roundings(a) for a in e.args)


def polynomial(e: sp.Expr) -> bool:
    """Arithmetic on x, numbers and parameters only (clamps and |.| allowed): no leaf that
    costs a libm call, so double-double adds little to a kernel's time."""
    return all(isinstance(f, (sp.Abs, gauss_clip)) for f in e.atoms(sp.Function))


def has_imprecise_leaf(e: sp.Expr) -> bool:
    """Does a target feed an imprecise leaf (tanh) into arithmetic? Then it is evaluated in
    double-double whatever NumPy's error: the C build's libm is not NumPy's."""
    if not _is_arith(e):
        return False
    return any(isinstance(a, IMPRECISE_LEAVES) or has_imprecise_leaf(a) for a in e.args)


def targets(expr: sp.Expr, x: sp.Symbol, min_ops: int = 3) -> list[sp.Expr]:
    """The topmost arithmetic subexpressions of expr (not inside another arithmetic node, nor
    in a Piecewise condition) that depend on x and round at least ``min_ops`` times."""
    found: list[sp.Expr] = []

    def walk(e: sp.Expr) -> None:
        if not e.has(x):
            return
        if _is_arith(e):
            if _roundings(e) >= min_ops and e not in found:
                found.append(e)
            return
        if isinstance(e, sp.Piecewise):
            for branch, _cond in e.args:
                walk(branch)
            return
        for a in e.args:
            if isinstance(a, sp.Basic):
                walk(a)

    walk(expr)
    return found


class dd_call(sp.Function):  # noqa: N801
    """dd_call(k, x): the k-th double-double target of a kernel, computed by the generated NumPy
    code's local function _dd{k}(x) on the elements it is given (emit._print: a target inside
    one arm of a Piecewise is computed on that arm's elements only)."""

    nargs = 2


def _exact_double(v: sp.Expr) -> float | None:
    """v as a double when that is exact, else None."""
    f = float(v)
    return f if sp.Rational(f) == sp.Rational(v) else None


def _split_const(v: sp.Expr) -> tuple[float, float]:
    """v (an irrational-free number) as hi + lo to ~2^-106."""
    q = sp.Rational(v)
    hi = float(q)
    return hi, float(q - sp.Rational(hi))


def _power_of_two(c: float) -> bool:
    import math

    m, _ = math.frexp(abs(c))
    return c != 0 and m == 0.5


@dataclass
class Program:
    """Statements evaluating expressions in double-double; ``target`` is "py" or "c"."""

    target: str
    leaf: callable  # prints a leaf expression (the target's ordinary printer)
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, code)
    memo: dict = field(default_factory=dict)  # expr -> (kind, name or literal)
    emitted: dict = field(default_factory=dict)  # code -> (kind, name): each statement once
    count: int = 0

    def _call(self, fn: str, *args: str) -> str:
        prefix = "_" if self.target == "py" else "symact_"
        return f"{prefix}{fn}({', '.join(args)})"

    def _new(self, kind: str, code: str) -> tuple[str, str]:
        """A statement computing ``code``, or the one already emitted for it: statements are
        pure functions of earlier ones, so the same code is the same value (x e^-|x| formed
        once where two products share it)."""
        if code in self.emitted:
            return self.emitted[code]
        name = f"q{self.count}"
        self.count += 1
        self.lines.append((kind, name, code))
        self.emitted[code] = (kind, name)
        return kind, name

    def _pair(self, hi: float, lo: float) -> str:
        return f"({hi!r}, {lo!r})" if self.target == "py" else f"(symact_dd){{{hi!r}, {lo!r}}}"

    def _lift(self, v: tuple[str, str]) -> str:
        kind, code = v
        if kind == DD:
            return code
        return f"({code}, 0.0)" if self.target == "py" else f"(symact_dd){{{code}, 0.0}}"

    def _hi(self, v: tuple[str, str]) -> str:
        return v[1] if v[0] == D else (f"{v[1]}[0]" if self.target == "py" else f"{v[1]}.hi")

    def number(self, e: sp.Expr) -> tuple[str, str]:
        exact = _exact_double(e)
        if exact is not None:
            return D, repr(exact)
        return DD, self._pair(*_split_const(e))

    def add(self, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
        if a[0] == D and b[0] == D:
            return self._new(DD, self._call("two_sum", a[1], b[1]))
        if a[0] == D:
            a, b = b, a
        return self._new(DD, self._call("dd_add_d" if b[0] == D else "dd_add", a[1], b[1]))

    def mul(self, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
        if a[0] == D and b[0] == D:
            for u, v in ((a, b), (b, a)):  # times a power of two: exact in double
                try:
                    if _power_of_two(float(v[1])):
                        return self._new(D, f"{v[1]}*{u[1]}")
                except ValueError:
                    pass
            return self._new(DD, self._call("two_prod", a[1], b[1]))
        if a[0] == D:
            a, b = b, a
        return self._new(DD, self._call("dd_mul_d" if b[0] == D else "dd_mul", a[1], b[1]))

    def div(self, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
        return self._new(DD, self._call("dd_div_d" if b[0] == D else "dd_div", self._lift(a),
                                        b[1]))

    def neg(self, a: tuple[str, str]) -> tuple[str, str]:
        if a[0] == D:
            return self._new(D, f"-{a[1]}")
        code = f"(-{a[1]}[0], -{a[1]}[1])" if self.target == "py" else \
            f"(symact_dd){{-{a[1]}.hi, -{a[1]}.lo}}"
        return self._new(DD, code)

    def value(self, e: sp.Expr) -> tuple[str, str]:
        """(kind, name) of e, emitting what it needs."""
        if e in self.memo:
            return self.memo[e]
        if e.is_Number:
            out = self.number(e)
        elif isinstance(e, sp.Add):
            terms = list(e.as_ordered_terms())
            out = self.value(terms[0])
            for t in terms[1:]:
                out = self.add(out, self.value(t))
        elif isinstance(e, sp.Mul):
            coeff, rest = e.as_coeff_Mul()
            out = self._mul(coeff, list(sp.Mul.make_args(rest)))
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 1:
            base = self.value(e.base)
            out = base
            for _ in range(int(e.exp) - 1):
                out = self.mul(out, base)
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp < 0:
            out = self._mul(sp.S.One, [e])
        elif isinstance(e, IMPRECISE_LEAVES):
            out = self._new(DD, self._call("dd_tanh", self.leaf(e.args[0])))
        elif isinstance(e, exp_exp_times) and _is_arith(e.args[3]):
            out = self._scaled(e)
        else:
            out = self._new(D, self.leaf(e))
        self.memo[e] = out
        return out

    def _scaled(self, e: exp_exp_times) -> tuple[str, str]:
        """g e^{c e^{a u}} with its cofactor g in double-double: the helper takes g's high
        part, and g's low part scales its result (dd_scaled). TanhExp' = tanh(e^x) +
        x e^x sech^2(e^x) cancels 1.6-fold; its second term's cofactor rounded in double cost
        up to 6.9 ULP."""
        c, a, u, g = e.args
        gv = self.value(g)
        if gv[0] == D:
            return self._new(D, self.leaf(e))
        ghi = self._new(D, self._hi(gv))
        r = self._new(D, self.leaf(exp_exp_times(c, a, u, sp.Symbol(ghi[1]))))
        return self._new(DD, self._call("dd_scaled", r[1], gv[1]))

    def _mul(self, coeff: sp.Expr, factors: list[sp.Expr]) -> tuple[str, str]:
        """coeff * prod(factors): numerator factors first, then one division per denominator
        factor (a product of denominators may overflow where the quotients do not), the
        coefficient last (4 x overflows where x E^2 4 is 0)."""
        num = [f for f in factors if not (f.is_Pow and f.exp.is_Integer and f.exp < 0)]
        den = [f for f in factors if f.is_Pow and f.exp.is_Integer and f.exp < 0]
        out = None
        for f in num:
            v = self.value(f)
            out = v if out is None else self.mul(out, v)
        if out is None:
            out = (D, "1.0")
        for f in den:
            b = self.value(f.base)
            for _ in range(int(-f.exp)):
                out = self.div(out, b)
        if coeff == -1:
            out = self.neg(out)
        elif coeff != 1:
            out = self.mul(out, self.number(coeff))
        return out

    def result(self, e: sp.Expr) -> str:
        """Code for e rounded to a double (after ``value`` emitted its statements)."""
        kind, name = self.value(e)
        if kind == D:
            return name
        return f"({name}[0] + {name}[1])" if self.target == "py" else f"({name}.hi + {name}.lo)"


def program(exprs: list[sp.Expr], leaf, target: str) -> tuple[list[tuple[str, str, str]],
                                                              list[str]]:
    """Statements (kind, name, code) evaluating every expr of ``exprs`` in double-double, and
    each one's rounded result as code; ``leaf`` prints a non-arithmetic subexpression."""
    prog = Program(target, leaf)
    results = [prog.result(e) for e in exprs]
    return prog.lines, results
