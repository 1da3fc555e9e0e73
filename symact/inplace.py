"""Print an expression as NumPy statements that write into preallocated buffers.

``y = e^{-|x|}; r = x >= 0 ? 1/(1+y) : y/(1+y)`` becomes ``np.abs(x, out=b0)``,
``np.negative(b0, out=b0)``, ``np.exp(b0, out=b0)``, ... : every ufunc writes into a buffer
(``out=``), a consumed temporary is reused for its parent's result, and a Piecewise is the
default branch in the destination plus a bit-exact select (``_select``) per branch (instead of
``np.where`` temporaries); a Piecewise with a costly helper in an arm (MANY_PASSES) instead
computes each arm on its own elements only (``_by_arms``). The root writes into ``r``, which
the template provides (the caller's ``out=`` when it can be written directly). Anything without
an in-place rule (a function NumPy lacks, a helper) is printed by the ordinary printer into a
buffer, so the math is the printer's either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.codegen.cfunctions import expm1
from sympy.logic.boolalg import Boolean

from .arm_split import split_arms
from .ddeval import dd_call
from .functions import (
    erfc_float,
    exp_exp_times,
    exp_poly,
    exp_times,
    gauss_times,
    mills_ln,
    normal_cdf,
    recip,
)
from .printing import NumpyPrinter, _need, exp_dd_call, varying_denominator

_UFUNC1 = {sp.exp: "np.exp", sp.log: "np.log", sp.tanh: "np.tanh", sp.Abs: "np.abs",
           sp.sin: "np.sin", sp.cos: "np.cos", sp.atan: "np.arctan", sp.sinh: "np.sinh",
           sp.cosh: "np.cosh"}
#: Helpers that cost tens of NumPy passes (or several vector-libm calls) per element: a Piecewise
#: with one in an arm computes each arm on its own elements only (NumPy: _by_arms; the C array
#: loops: by_arms), instead of every arm everywhere and a select.
MANY_PASSES = (normal_cdf, mills_ln, gauss_times, exp_poly, exp_exp_times, dd_call)
#: What a Piecewise computes on each arm's own elements: costly helpers, and 1/x (recip) of a
#: far form (symact.far), which is inf at x = 0 where the near arm is taken.
OWN_ELEMENTS = (*MANY_PASSES, recip)


def costly_arms(e: sp.Expr, costly: tuple = MANY_PASSES) -> bool:
    """Is ``e`` a Piecewise with a costly helper (MANY_PASSES, or ``costly``) in an arm?"""
    return isinstance(e, sp.Piecewise) and any(arm.has(*costly) for arm, _ in e.args)
_REL = {">": "np.greater", ">=": "np.greater_equal", "<": "np.less", "<=": "np.less_equal",
        "==": "np.equal", "!=": "np.not_equal"}


class _exp_times_e(sp.Function):  # noqa: N801
    """exp_times(v, g) with e^v as a third argument, so that CSE shares it with the kernel's
    other e^v (silu: x/(1 + e^v) and e^v x/(1 + e^v)): one exp per element, not two."""

    nargs = 3

    def _numpycode(self, printer) -> str:
        """In an arm of _by_arms (the ordinary printer): _exp_times with e^v given."""
        printer.helpers.add("_exp_times")
        v, g, ev = (printer._print(a) for a in self.args)
        return f"_exp_times({v}, {g}, None, {ev})"


def _share_exp(expr: sp.Expr) -> sp.Expr:
    return expr.replace(exp_times, lambda v, g: _exp_times_e(v, g, sp.exp(v)))


@dataclass
class _Emitter:
    x: sp.Symbol
    printer: NumpyPrinter
    names: dict[sp.Symbol, str]  # CSE symbol -> the buffer holding it
    lines: list[str] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    count: int = 0
    owned: set[str] = field(default_factory=set)  # temporaries (not x, not CSE values)
    mask: str | None = None  # int64 scratch for a Piecewise condition
    tmp: str | None = None  # int64 scratch of _select

    def _slot(self, prefix: str, view: str = "") -> str:
        """A fresh scratch slot: ``s[k]`` (block-sized float64, from the caller), as ``view``."""
        name = f"{prefix}{self.count}"
        self.lines.append(f"{name} = s[{self.count}]{view}[:n]")
        self.count += 1
        return name

    def _new(self) -> str:
        return self.free.pop() if self.free else self._slot("b")

    def _release(self, *operands: str) -> None:
        for op in operands:
            if op in self.owned and op not in self.free:
                self.free.append(op)

    def _is_array(self, e: sp.Expr) -> bool:
        return e.has(self.x) or any(e.has(s) for s in self.names)

    def _dest(self, dest: str | None, *operands: str) -> str:
        """Where an op on ``operands`` writes: the given destination, else a consumed
        temporary, else a fresh buffer."""
        if dest is not None:
            return dest
        for op in operands:
            if op in self.owned:
                return op
        name = self._new()
        self.owned.add(name)
        return name

    def _ufunc(self, fn: str, args: list[str], dest: str | None) -> str:
        out = self._dest(dest, *args)
        self.lines.append(f"{fn}({', '.join(args)}, out={out})")
        self._release(*(a for a in args if a != out))
        return out

    def scalar(self, e: sp.Expr) -> str:
        return f"({self.printer.doprint(e)})"

    def emit(self, e: sp.Expr, dest: str | None = None) -> str:
        """Operand string holding e: x, a CSE buffer, a scalar, or a buffer written here."""
        if e == self.x or e in self.names:
            name = self.x.name if e == self.x else self.names[e]
            if dest is None:
                return name
            self.lines.append(f"np.copyto({dest}, {name})")
            return dest
        if not self._is_array(e):
            if dest is None:
                return self.scalar(e)
            self.lines.append(f"np.copyto({dest}, {self.scalar(e)})")
            return dest
        if isinstance(e, sp.Add):
            return self._fold("np.add", e.as_ordered_terms(), dest)
        if isinstance(e, sp.Mul):
            return self._mul(e, dest)
        if isinstance(e, sp.Pow):
            return self._pow(e, dest)
        if isinstance(e, sp.Piecewise):
            return self._piecewise(e, dest)
        if isinstance(e, (sp.Max, sp.Min)):
            fn = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
            return self._fold(fn, sorted(e.args, key=lambda a: a.is_number), dest)
        if isinstance(e, _exp_times_e):
            self.printer.helpers.add("_exp_times")
            start = len(self.lines)
            v = self.emit(e.args[0])
            if e.args[0].free_symbols - {self.x}:
                self._quiet_overflow(start)
            g, ev = (self.emit(a) for a in e.args[1:])
            out = self._dest(dest)
            self.lines.append(f"_exp_times({v}, {g}, {out}, {ev})")
            self._release(v, g, ev)
            return out
        if isinstance(e, exp_exp_times):
            u, g = (self.emit(a) for a in e.args[2:])
            out = self._dest(dest, u, g)  # the helper reads both before it writes out
            self.lines.append(exp_dd_call(self.printer, e, u, g, out))
            self._release(*(b for b in (u, g) if b != out))
            return out
        if isinstance(e, erfc_float):  # in place, with four scratch buffers of its own
            _need(self.printer, "_erfc_float")  # and _pick
            w = self.emit(e.args[0])
            out = self._dest(dest, w)
            scratch = [self._new() for _ in range(4)]
            self.lines.append(f"_erfc_float({w}, {out}, {', '.join(scratch)})")
            self.owned.update(scratch)
            self._release(*(b for b in (w, *scratch) if b != out))
            return out
        if isinstance(e, sp.Function) and len(e.args) == 1:
            fn = _UFUNC1.get(e.func) or {"log1p": "np.log1p", "expm1": "np.expm1"}.get(
                type(e).__name__)
            if fn is not None:
                start = len(self.lines)
                arg = self.emit(e.args[0])
                if isinstance(e, sp.exp) and e.args[0].free_symbols - {self.x}:
                    self._quiet_overflow(start)
                return self._ufunc(fn, [arg], dest)
        # no in-place rule: the ordinary printer, CSE symbols as their buffer names
        code = self.printer.doprint(e.xreplace({s: sp.Symbol(n) for s, n in self.names.items()}))
        out = self._dest(dest)
        self.lines.append(f"np.copyto({out}, {code})")
        return out

    def _quiet_overflow(self, start: int, why: str = "e^(+-inf) is exact") -> None:
        """The statements from ``start`` on (an exponent with parameters: beta |x| at
        x = 1e308 with beta = 3) under errstate(over="ignore"): an exponent past the largest
        double gives e^-inf = 0 or e^inf = inf, the correctly rounded value of the exponential
        either way, so that overflow is no error (an inf reaching an invalid operation still
        raises). Likewise for the sides of a comparison with a finite other side."""
        if len(self.lines) > start:
            body = [f"    {line}" for line in self.lines[start:]]
            self.lines[start:] = [f'with np.errstate(over="ignore"):  # {why}', *body]

    def _fold(self, fn: str, args, dest: str | None) -> str:
        """Left fold of a binary ufunc over args, in printing order; the last op writes dest."""
        ops = [self.emit(a) for a in args]
        acc = ops[0]
        for i, op in enumerate(ops[1:], start=2):
            acc = self._ufunc(fn, [acc, op], dest if i == len(ops) else None)
        return acc

    def _mul(self, e: sp.Mul, dest: str | None) -> str:
        factors = list(e.as_ordered_factors())
        negate = factors[0] == -1
        if negate and len(factors) == 2 and isinstance(factors[1], sp.Abs):
            # -|u| in one pass, the sign bit set on the integer view (e^-|x|: sigmoid, sigmoid',
            # softplus, ...): the same bits as np.abs then np.negative (np.copysign is no
            # faster than those two: it has no SIMD loop)
            u = self.emit(factors[1].args[0])
            out = self._dest(dest, u)
            self.lines.append(f"np.bitwise_or({u}.view(np.int64), {-2 ** 63}, "
                              f"out={out}.view(np.int64))  # -|u|")
            self._release(*(b for b in (u,) if b != out))
            return out
        if negate:
            factors = factors[1:]
            # the sign goes into a numeric coefficient (exact, the same roundings): one pass
            # fewer than np.negative after the product
            k = next((i for i, f in enumerate(factors) if f.is_Number), None)
            if k is not None:
                factors[k], negate = -factors[k], False
        # an integer coefficient multiplies last: 4*x overflows where x*E^2*4 is 0 (mish')
        factors = sorted(factors, key=lambda f: f.is_Integer)
        num = [f for f in factors if not (f.is_Pow and f.exp.is_Integer and f.exp < 0)]
        den = [sp.Pow(f.base, -f.exp) for f in factors if f.is_Pow and f.exp.is_Integer
               and f.exp < 0]
        split = varying_denominator(sp.Mul(*factors))
        if split is not None:  # n/a/b: a*b may overflow where the quotients do not
            top = self._fold("np.multiply", split[0], None) if split[0] else "1.0"
            bases = split[1]
            # a base divided by more than once (n/b^2 = n/b/b) is computed once and kept
            # (pinned: no division writes into it) until the last division by it
            held = {b: self.emit(b) for b in dict.fromkeys(bases) if bases.count(b) > 1}
            pinned = [op for op in held.values() if op in self.owned]
            self.owned.difference_update(pinned)
            out = top
            for i, b in enumerate(bases):
                last = i == len(bases) - 1 and not negate
                op = held[b] if b in held else self.emit(b)
                out = self._ufunc("np.divide", [out, op], dest if last else None)
            self.owned.update(pinned)
            self._release(*pinned)
        elif den:
            top = self._fold("np.multiply", num, None) if num else "1.0"
            bottom = self._fold("np.multiply", den, None)
            out = self._ufunc("np.divide", [top, bottom], None if negate else dest)
        elif len(num) == 1:
            out = self.emit(num[0], None if negate else dest)
        else:
            out = self._fold("np.multiply", num, None if negate else dest)
        if negate:
            out = self._ufunc("np.negative", [out], dest)
        return out

    def _pow(self, e: sp.Pow, dest: str | None) -> str:
        base, ex = e.base, e.exp
        if ex == -1:
            return self._ufunc("np.divide", ["1.0", self.emit(base)], dest)
        if ex == 2:
            return self._ufunc("np.square", [self.emit(base)], dest)
        if ex == 3 and (base == self.x or base in self.names):  # np.power(b, 3): libm's pow
            b = self.emit(base)  # per element, 57 ns/el against 0.4 for b^2 b
            return self._ufunc("np.multiply", [self._ufunc("np.square", [b], None), b], dest)
        if ex == sp.Rational(1, 2):
            return self._ufunc("np.sqrt", [self.emit(base)], dest)
        if ex.is_Integer and ex < 0:  # (1/b)^n: b^n may overflow where 1/b^n is tiny
            inv = self._ufunc("np.divide", ["1.0", self.emit(base)], None)
            if ex == -2:
                return self._ufunc("np.square", [inv], dest)
            return self._ufunc("np.power", [inv, f"{float(-ex)!r}"], dest)
        return self._ufunc("np.power", [self.emit(base), self.emit(ex)], dest)

    def _piecewise(self, e: sp.Piecewise, dest: str | None) -> str:
        *pairs, (last, cond) = e.args
        if cond is not sp.true:
            raise ValueError("Piecewise without a default branch")
        if costly_arms(e, OWN_ELEMENTS):
            return self._piecewise_by_arms(e, dest)
        out = self._dest(dest)
        self.emit(last, out)
        self.printer.helpers.add("_select")
        for branch, c in reversed(pairs):  # the first true condition wins: applied last
            value = self.emit(branch)  # first: a Piecewise inside uses the mask slot too
            mask = self._mask(c)
            if self.tmp is None:
                self.tmp = self._slot("i", ".view(np.int64)")
            self.lines.append(f"_select({out}, {value}, {mask}, {self.tmp})")
            self._release(value)
        return out

    def _piecewise_by_arms(self, e: sp.Piecewise, dest: str | None) -> str:
        """``_by_arms(out, (cond, ...), (lambda x, t0: arm, ...), x, t0)``: conditions and arms
        by the ordinary printer, CSE symbols as their buffer names, each arm evaluated on the
        elements where it is taken only."""
        names = {s: sp.Symbol(n) for s, n in self.names.items()}
        e = sp.Piecewise(*split_arms(e.args, by_range=True), evaluate=False)
        start, conds = len(self.lines), []
        for k, (_, c) in enumerate(e.args[:-1]):
            self.lines.append(f"take{k} = {self.printer.doprint(c.xreplace(names))}")
            conds.append(f"take{k}")
        if any(c.free_symbols - {self.x} for _, c in e.args[:-1]):
            self._quiet_overflow(start, "a side past the largest double compares the same")
        arms = []
        for arm, _ in e.args:
            used = sorted({self.x.name} & {s.name for s in arm.free_symbols}
                          | {n for s, n in self.names.items() if arm.has(s)},
                          key=lambda n: (n != self.x.name, _natural(n)))
            code = self.printer.doprint(arm.xreplace(names))
            arms.append(f"(lambda {', '.join(used)}: {code}, {', '.join(used)})" if used
                        else f"(lambda: {code},)")
        self.printer.helpers.add("_by_arms")
        out = self._dest(dest)
        conds_tuple = f"({conds[0]},)" if len(conds) == 1 else f"({', '.join(conds)})"
        self.lines.append(f"_by_arms({out}, {conds_tuple}, {', '.join(arms)})")
        return out

    def _mask(self, c) -> str:
        """The condition as int64 0/1 (what _select multiplies by)."""
        if self.mask is None:
            self.mask = self._slot("m", ".view(np.int64)")
        if isinstance(c, sp.Rel):
            start = len(self.lines)
            a, b = self.emit(c.lhs), self.emit(c.rhs)
            if c.free_symbols - {self.x}:  # beta x >= 0: an overflowed side compares the same
                self._quiet_overflow(start, "a side past the largest double compares the same")
            self.lines.append(f"{_REL[c.rel_op]}({a}, {b}, out={self.mask})")
            self._release(a, b)
        else:  # And/Or/...: the ordinary printer's boolean array, cast
            names = {s: sp.Symbol(n) for s, n in self.names.items()}
            code = self.printer.doprint(c.xreplace(names))
            # a condition CSE shared is held in a float64 buffer as 0.0/1.0: cast exactly
            cast = ', casting="unsafe"' if c.is_Symbol else ""
            self.lines.append(f"np.copyto({self.mask}, {code}{cast})")
        return self.mask


def _natural(name: str) -> tuple[str, int]:
    """t2 before t10."""
    head = name.rstrip("0123456789")
    return head, int(name[len(head):] or -1)


def _hide_far_arms(expr: sp.Expr) -> tuple[sp.Expr, dict[sp.Dummy, sp.Expr]]:
    """Each arm of a Piecewise with a far form (recip, symact.far) as a placeholder, so CSE
    cannot hoist its parts out of the arm: 1/x and its powers overflow or divide by zero
    where the far arm is not taken, the near arm's x^2 where it is (each arm runs on its own
    elements, _by_arms)."""
    far: dict[sp.Dummy, sp.Expr] = {}

    def hide(pw: sp.Piecewise) -> sp.Piecewise:
        if not any(arm.has(recip) for arm, _ in pw.args):
            return pw
        pairs = []
        for arm, cond in pw.args:
            far[holder := sp.Dummy("arm")] = arm
            pairs.append((holder, cond))
        return sp.Piecewise(*pairs)

    if not expr.has(recip):
        return expr, far
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), hide), far


def inplace_lines(expr: sp.Expr, x: sp.Symbol, printer: NumpyPrinter, result: str = "r",
                  arrays: dict[sp.Symbol, str] | None = None) -> tuple[list[str], int]:
    """Statements computing ``expr`` of the 1-d array ``x`` (``n`` elements) into the existing
    buffer ``result``, with scratch arrays taken from the list ``s``; and how many of ``s``
    they use. ``arrays``: symbols already holding arrays (computed before these statements),
    with their variable names."""
    hidden, far = _hide_far_arms(expr)
    subs, (reduced,) = sp.cse([_share_exp(hidden)], symbols=sp.numbered_symbols("t"),
                              optimizations=None)
    if far:
        subs = [(sym, sub.xreplace(far)) for sym, sub in subs]
        reduced = reduced.xreplace(far)
    em = _Emitter(x, printer, dict(arrays or {}))
    exponents = {f.args[0] for e in [reduced, *(sub for _, sub in subs)]
                 for f in e.atoms(sp.exp, _exp_times_e, expm1)}
    for sym, sub in subs:
        if isinstance(sub, Boolean):  # a condition arms share: a boolean array, not a float
            # buffer (_by_arms combines conditions with &, which a float array does not take)
            code = printer.doprint(sub.xreplace({s: sp.Symbol(n) for s, n in em.names.items()}))
            em.lines.append(f"{sym} = {code}")
            em.names[sym] = str(sym)
            continue
        if not em._is_array(sub):
            em.lines.append(f"{sym} = {printer.doprint(sub)}")
            em.names[sym] = str(sym)
            continue
        start = len(em.lines)
        operand = em.emit(sub)
        if sym in exponents and sub.free_symbols - {x}:  # -beta |x| shared by exp and exp_times
            em._quiet_overflow(start)
        if operand in em.owned:  # the buffer now belongs to the CSE value, never reused
            em.owned.discard(operand)
            em.lines.append(f"{sym} = {operand}")
        elif operand == x.name or operand in em.names.values():
            em.lines.append(f"{sym} = {operand}")
        else:  # a scalar expression
            em.lines.append(f"{sym} = {operand}")
        em.names[sym] = str(sym)
    em.emit(reduced, result)
    return em.lines, em.count
