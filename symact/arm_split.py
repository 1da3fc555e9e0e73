"""A piecewise kernel's arms split at the ranges of the helpers they call, for the C array loops
that evaluate each element by its own arm only (KernelCode.c_arms).

Phi(u) (normal_cdf) has two forms, a rational middle for |u| < 1.25 sqrt(2) and a Gaussian tail
beyond, and a call evaluates both, so that one select picks the result without a branch. An arm
that calls Phi(u) becomes two arms here: the middle where |u| < 1.25 sqrt(2), the tail elsewhere.
Each element then pays for one form: gelu's x Phi(x) for x >= -1.77 was the tail's exp, expm1 and
rationals plus the middle's rationals and exp on every element. From u = 8.29 on, where Phi(u)
rounds to 1, a third arm needs neither.
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


class normal_cdf_tail(sp.Function):  # noqa: N801
    """Phi(u) by its tail form, for |u| >= 1.25 sqrt 2 (C's symact_normal_cdf_tail)."""

    nargs = 1

    def _eval_evalf(self, prec):
        return normal_cdf(self.args[0])._eval_evalf(prec)


#: From this u on, Phi(u) is 1 in double (8.2923...): an arm there needs neither form.
PHI_ONE = sp.Float(normal_helpers.PHI_ONE, 30)


def split_arms(arms: Sequence[tuple[sp.Expr, sp.Basic]]) -> list[tuple[sp.Expr, sp.Basic]]:
    """``arms`` ((expression, condition) pairs, the first true condition wins) with each arm that
    calls Phi of one argument u split in three: (middle, condition and |u| < 1.25 sqrt 2),
    (Phi = 1, condition and u >= PHI_ONE), then (tail, condition)."""
    out: list[tuple[sp.Expr, sp.Basic]] = []
    for arm, cond in arms:
        calls = arm.atoms(normal_cdf)
        if len(calls) != 1:
            out.append((arm, cond))
            continue
        (phi,) = calls
        u = phi.args[0]
        out.append((arm.xreplace({phi: normal_cdf_mid(u)}), sp.And(cond, sp.Abs(u) < NORMAL_TAIL)))
        out.append((arm.xreplace({phi: sp.S.One}), sp.And(cond, u >= PHI_ONE)))
        out.append((arm.xreplace({phi: normal_cdf_tail(u)}), cond))
    return out
