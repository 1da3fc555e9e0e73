"""Certified upper bounds on |f(x)| by interval arithmetic, for references far below a format's
least subnormal.

A Reference settles by comparing evaluations at growing precision, starting above the digits
its exponentials span (e^-5000 beside 1 needs 2200 of them). Where f itself is that small,
gelu'(x) = Phi(x) + x phi(x) ~ e^(-x^2/2) at x = -80, every float format rounds it to 0, yet
settling costs seconds (mpmath's erfc at 1400 digits). An interval evaluation at 100 bits
certifies |f(x)| < tiny in about a millisecond: each operation's interval contains the exact
result (mpmath.iv rounds outward; monotone functions are evaluated at both ends with 30 guard
bits and widened by 2^-100 relative), so the final interval contains f(x). Anything this cannot
bound (Piecewise, an unknown function, a log of an interval reaching 0) gives None and the
caller settles as before. Each expression is compiled once into closures, its constant
subtrees evaluated then. Not thread-safe: it sets mpmath.iv.prec while it runs.
"""

from __future__ import annotations

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import log1p

#: Interval precision (bits): enough that intervals of e^-5000 stay within 2^-90 relative.
PREC = 100
#: Guard bits of the point evaluations of monotone functions, and their relative widening.
GUARD = 30


def _endpoints(v) -> tuple[mpmath.mpf, mpmath.mpf]:
    lo, hi = v._mpi_
    return mpmath.mp.make_mpf(lo), mpmath.mp.make_mpf(hi)


def _widen(value: mpmath.mpf, down: bool) -> mpmath.mpf:
    slack = abs(value) * mpmath.ldexp(1, -PREC)
    return value - slack if down else value + slack


def _monotone(fn, increasing: bool, low: float | None = None, closed: bool = False):
    """Interval extension of a monotone function defined for arguments > ``low`` (>= when
    ``closed``)."""
    def at(v):
        a, b = _endpoints(v)
        if low is not None and (a < low or (a == low and not closed)):
            raise _Unbounded
        with mpmath.workprec(PREC + GUARD):
            fa, fb = fn(a), fn(b)
            if not increasing:
                fa, fb = fb, fa
            lo, hi = _widen(+fa, True), _widen(+fb, False)
        return mpmath.iv.mpf([lo, hi])
    return at


def _erfc(z):
    from .verify import _erfc  # past |z| = 1e10 mpmath's own overflows
    return _erfc(z)


def _cosh(v):
    """cosh(v) = cosh(|v|), increasing on |v| (iv's abs rounds outward; negating an endpoint
    would round to mp's precision)."""
    return _monotone(mpmath.cosh, increasing=True)(abs(v))


class _Unbounded(Exception):
    """The expression has a part this module cannot bound."""


_FUNCTIONS = {
    sp.exp: lambda v: mpmath.iv.exp(v),
    sp.erfc: _monotone(_erfc, increasing=False),
    sp.erf: _monotone(mpmath.erf, increasing=True),
    sp.tanh: _monotone(mpmath.tanh, increasing=True),
    sp.sinh: _monotone(mpmath.sinh, increasing=True),
    sp.cosh: _cosh,
    sp.log: _monotone(mpmath.log, increasing=True, low=0),
    log1p: _monotone(mpmath.log1p, increasing=True, low=-1),
}


def _power(n: int):
    def pw(v):
        if n < 0 and 0 in v:
            raise _Unbounded
        return v ** n
    return pw


_SQRT = _monotone(mpmath.sqrt, increasing=True, low=0, closed=True)


def _compile(node: sp.Expr, x: sp.Symbol):
    """node -> a function of x's interval; a subtree without x is evaluated once, here."""
    if not node.has(x):
        value = _compile_any(node, x)(None)
        return lambda v: value
    return _compile_any(node, x)


def _compile_any(node: sp.Expr, x: sp.Symbol):
    if node == x:
        return lambda v: v
    if node.is_Rational:
        value = mpmath.iv.mpf(int(node.p)) / int(node.q)
        return lambda v: value
    if node.is_Float:
        value = mpmath.iv.mpf(mpmath.mp.make_mpf(node._mpf_))
        return lambda v: value
    if node is sp.pi or node is sp.E:
        value = mpmath.iv.pi if node is sp.pi else mpmath.iv.e
        return lambda v: value
    if node.is_Add or node.is_Mul:
        parts = [_compile(a, x) for a in node.args]
        add = node.is_Add

        def combine(v):
            total = parts[0](v)
            for part in parts[1:]:
                total = total + part(v) if add else total * part(v)
            return total
        return combine
    if node.is_Pow:
        base, power = _compile(node.base, x), node.exp
        if power.is_Integer:
            fn = _power(int(power))
        elif power == sp.S.Half:
            fn = _SQRT
        elif power == -sp.S.Half:
            def fn(v):
                return 1 / _SQRT(v)
        else:
            raise _Unbounded
        return lambda v: fn(base(v))
    fn = abs if isinstance(node, sp.Abs) else _FUNCTIONS.get(type(node))
    if fn is None or len(node.args) != 1:
        raise _Unbounded
    arg = _compile(node.args[0], x)
    return lambda v: fn(arg(v))


_ERRORS = (_Unbounded, ValueError, ZeroDivisionError, OverflowError, TypeError,
           mpmath.libmp.NoConvergence)
#: Compiled expressions (None: cannot be bounded), by (expr, x).
_COMPILED: dict[tuple[sp.Expr, sp.Symbol], object] = {}


def magnitude(expr: sp.Expr, x: sp.Symbol, xv: float) -> mpmath.mpf | None:
    """A certified upper bound on |expr| at x = xv (a finite float), or None where ``expr`` has
    something interval arithmetic here cannot bound (then nothing is claimed)."""
    saved = mpmath.iv.prec
    mpmath.iv.prec = PREC
    try:
        key = (expr, x)
        if key not in _COMPILED:
            if len(_COMPILED) > 256:
                _COMPILED.clear()
            try:
                _COMPILED[key] = _compile(expr, x)
            except _ERRORS:
                _COMPILED[key] = None
        fn = _COMPILED[key]
        if fn is None:
            return None
        _, hi = _endpoints(abs(fn(mpmath.iv.mpf(xv))))
        return hi if mpmath.isfinite(hi) else None
    except _ERRORS:
        return None
    finally:
        mpmath.iv.prec = saved
