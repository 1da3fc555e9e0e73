"""One exp per element where a C kernel needs e^v and e^v g of the same v.

exp_times(v, g) computes h = e^a with a = v, or a = v + C where e^v would be subnormal (C =
printing.EXP_SHIFT, about 708.08), and then h g or (h g) e^-C. A kernel such as silu,
x/(1 + e^v) and e^v x/(1 + e^v) for v = -|x|, also needs e^v itself: printed apart, that is
two exp calls per element. Here both are written through the same a and h (e^v = h, or
h e^-C), so the printer's CSE computes a and h once. The NumPy printer shares e^v its own way
(inplace._exp_times_e).
"""

from __future__ import annotations

from collections import Counter

import sympy as sp

from .functions import exp_times


class exp_arg(sp.Function):  # noqa: N801
    """a = v, or v + C where e^v would be subnormal (v < -708): C's symact_exp_arg(v)."""

    nargs = 1


class exp_of(sp.Function):  # noqa: N801
    """e^v from (v, a, h), h = e^a: h, or h e^-C where a = v + C (C's symact_exp_of)."""

    nargs = 3


class exp_times_of(sp.Function):  # noqa: N801
    """e^v g from (v, g, a, h), h = e^a: h g, or (h g) e^-C where a = v + C (C's
    symact_exp_times_of)."""

    nargs = 4


def share_exp(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every exp_times(v, g) and exp(v) of a v that occurs in two or more of them
    (one exp_times at least) written through one a = exp_arg(v) and h = e^a."""
    uses = Counter(t.args[0] for t in expr.atoms(exp_times, sp.exp))
    shared = {t.args[0] for t in expr.atoms(exp_times) if uses[t.args[0]] > 1}
    if not shared:
        return expr

    def arg_and_exp(v: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
        a = exp_arg(v)
        return a, sp.exp(a)

    expr = expr.replace(lambda e: isinstance(e, sp.exp) and e.args[0] in shared,
                        lambda e: exp_of(e.args[0], *arg_and_exp(e.args[0])))
    return expr.replace(lambda e: isinstance(e, exp_times) and e.args[0] in shared,
                        lambda e: exp_times_of(*e.args, *arg_and_exp(e.args[0])))
