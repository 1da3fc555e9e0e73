"""Certified upper bounds on |f(x)| by interval arithmetic, for references far below a format's
least subnormal.

A Reference settles by comparing evaluations at growing precision, starting above the digits
its exponentials span (e^-5000 beside 1 needs 2200 of them). Where f itself is that small,
gelu'(x) = Phi(x) + x phi(x) ~ e^(-x^2/2) at x = -80, every float format rounds it to 0, yet
settling costs seconds (mpmath's erfc at 1400 digits). An interval evaluation at 30 digits
certifies |f(x)| < tiny in a fraction of a millisecond: each operation's interval contains the
exact result (mpmath.iv rounds outward; monotone functions are evaluated at both ends with
extra guard bits and widened by 2^-prec relative), so the final interval contains f(x).
Anything this cannot bound (Piecewise, an unknown function, a log of an interval reaching 0)
gives None and the caller settles as before.
"""

from __future__ import annotations

import mpmath
import sympy as sp

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


class _Unbounded(Exception):
    """The expression has a part this module cannot bound."""


_FUNCTIONS = {
    sp.exp: lambda v: mpmath.iv.exp(v),
    sp.erfc: _monotone(_erfc, increasing=False),
    sp.erf: _monotone(mpmath.erf, increasing=True),
    sp.tanh: _monotone(mpmath.tanh, increasing=True),
    sp.sinh: _monotone(mpmath.sinh, increasing=True),
    sp.log: _monotone(mpmath.log, increasing=True, low=0),
}


def _eval(node: sp.Expr, x: sp.Symbol, xv):
    if node == x:
        return xv
    if node.is_Integer or node.is_Rational:
        return mpmath.iv.mpf(int(node.p)) / int(node.q)
    if node.is_Float:
        return mpmath.iv.mpf(mpmath.mp.make_mpf(node._mpf_))
    if node is sp.pi:
        return mpmath.iv.pi
    if node is sp.E:
        return mpmath.iv.e
    if node.is_Add:
        total = _eval(node.args[0], x, xv)
        for arg in node.args[1:]:
            total = total + _eval(arg, x, xv)
        return total
    if node.is_Mul:
        total = _eval(node.args[0], x, xv)
        for arg in node.args[1:]:
            total = total * _eval(arg, x, xv)
        return total
    if node.is_Pow:
        base, power = _eval(node.base, x, xv), node.exp
        if power.is_Integer:
            n = int(power)
            if n < 0 and 0 in base:
                raise _Unbounded
            return base ** n
        if power is sp.S.Half or power == sp.Rational(-1, 2):
            root = _monotone(mpmath.sqrt, increasing=True, low=0, closed=True)(base)
            return root if power is sp.S.Half else 1 / root
        raise _Unbounded
    if isinstance(node, sp.Abs):
        a, b = _endpoints(_eval(node.args[0], x, xv))
        if a >= 0:
            return mpmath.iv.mpf([a, b])
        if b <= 0:
            return mpmath.iv.mpf([-b, -a])
        return mpmath.iv.mpf([0, max(-a, b)])
    fn = _FUNCTIONS.get(type(node))
    if fn is None or len(node.args) != 1:
        raise _Unbounded
    return fn(_eval(node.args[0], x, xv))


def magnitude(expr: sp.Expr, x: sp.Symbol, xv: float) -> mpmath.mpf | None:
    """A certified upper bound on |expr| at x = xv (a finite float), or None where ``expr`` has
    something interval arithmetic here cannot bound (then nothing is claimed)."""
    saved = mpmath.iv.prec
    mpmath.iv.prec = PREC
    try:
        _, hi = _endpoints(abs(_eval(expr, x, mpmath.iv.mpf(xv))))
        return hi if mpmath.isfinite(hi) else None
    except (_Unbounded, ValueError, ZeroDivisionError, OverflowError, TypeError,
            mpmath.libmp.NoConvergence):
        return None
    finally:
        mpmath.iv.prec = saved
