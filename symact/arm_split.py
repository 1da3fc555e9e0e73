"""A piecewise kernel's arms split at the ranges of the helpers they call, for the C array loops
that evaluate each element by its own arm only (KernelCode.c_arms), and for NumPy's _by_arms.

Phi(u) (normal_cdf) has two forms, a rational middle for |u| < 1.25 sqrt(2) and a Gaussian tail
beyond, and a call evaluates both, so that one select picks the result without a branch. An arm
that calls Phi(u) becomes two arms here: the middle where |u| < 1.25 sqrt(2), the tail elsewhere.
Each element then pays for one form: gelu's x Phi(x) for x >= -1.77 was the tail's exp, expm1 and
rationals plus the middle's rationals and exp on every element. From u = 8.29 on, where Phi(u)
rounds to 1, a third arm needs neither.

NumPy (``split_arms(arms, by_range=True)``) splits the middle once more, at fdlibm's |u|/sqrt(2) =
0.84375 between its two rational forms, so that every element is gathered once, by the kernel's
own _by_arms: _normal_cdf's inner dispatch (a second gather and scatter, four more index lists)
is gone. gelu on standard normal inputs: 41.8-42.9 -> 36.8-40.5 ns/el at n = 1e5, 41.4-42.5 ->
35.0-37.6 at 1e6 (each module in its own process, medians of 9, three runs), with the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from . import normal_helpers
from .functions import normal_cdf

#: |u| from which Phi(u) takes its tail form (1.25 sqrt 2), the double itself: |u| < it holds
#: for the same doubles in SymPy as in the printed C (a decimal Float would also hold at u = it).
NORMAL_TAIL = sp.Float(normal_helpers.NORMAL_TAIL, 30)


class normal_cdf_mid(sp.Function):  # noqa: N801
    """Phi(u) by its middle form, for |u| < 1.25 sqrt 2 (C's symact_normal_cdf_mid)."""

    nargs = 1

    def _eval_evalf(self, prec):
        return normal_cdf(self.args[0])._eval_evalf(prec)


class normal_cdf_small(sp.Function):  # noqa: N801
    """Phi(u) by its middle form's first range, |u|/sqrt 2 < 0.84375 (NumPy's
    _normal_cdf_small)."""

    nargs = 1

    def _eval_evalf(self, prec):
        return normal_cdf(self.args[0])._eval_evalf(prec)


class normal_cdf_one(sp.Function):  # noqa: N801
    """Phi(u) by its middle form's second range, 0.84375 <= |u|/sqrt 2 < 1.25 (NumPy's
    _normal_cdf_one)."""

    nargs = 1

    def _eval_evalf(self, prec):
        return normal_cdf(self.args[0])._eval_evalf(prec)


class normal_cdf_tail(sp.Function):  # noqa: N801
    """Phi(u) by its tail form, for |u| >= 1.25 sqrt 2 (C's symact_normal_cdf_tail)."""

    nargs = 1

    def _eval_evalf(self, prec):
        return normal_cdf(self.args[0])._eval_evalf(prec)


#: From this u on, Phi(u) is 1 in double (8.2923...): an arm there needs neither form.
PHI_ONE = sp.Float(normal_helpers.PHI_ONE, 30)
#: 1/sqrt(2) and fdlibm's first range end: |u| R2 < SMALL_END is _normal_cdf's own test (the
#: same doubles: R2 is the double itself, and |u| R2 rounds once either way).
R2 = sp.Float(normal_helpers.R2, 30)
SMALL_END = sp.Float(0.84375, 30)


def split_arms(arms: Sequence[tuple[sp.Expr, sp.Basic]], by_range: bool = False
               ) -> list[tuple[sp.Expr, sp.Basic]]:
    """``arms`` ((expression, condition) pairs, the first true condition wins) with each arm that
    calls Phi of one argument u split in three: (middle, condition and |u| < 1.25 sqrt 2),
    (Phi = 1, condition and u >= PHI_ONE), then (tail, condition). ``by_range`` (NumPy): the
    middle as two arms, (first range, condition and |u| R2 < 0.84375) then (second range,
    condition and |u| < 1.25 sqrt 2)."""
    out: list[tuple[sp.Expr, sp.Basic]] = []
    for arm, cond in arms:
        calls = arm.atoms(normal_cdf)
        if len(calls) != 1:
            out.append((arm, cond))
            continue
        (phi,) = calls
        u = phi.args[0]
        if by_range:
            small = sp.StrictLessThan(sp.Mul(R2, sp.Abs(u), evaluate=False), SMALL_END)
            out.append((arm.xreplace({phi: normal_cdf_small(u)}), sp.And(cond, small)))
            out.append((arm.xreplace({phi: normal_cdf_one(u)}),
                        sp.And(cond, sp.Abs(u) < NORMAL_TAIL)))
        else:
            out.append((arm.xreplace({phi: normal_cdf_mid(u)}),
                        sp.And(cond, sp.Abs(u) < NORMAL_TAIL)))
        out.append((arm.xreplace({phi: sp.S.One}), sp.And(cond, u >= PHI_ONE)))
        out.append((arm.xreplace({phi: normal_cdf_tail(u)}), cond))
    return out
