"""SymPy functions for the stable building blocks that stabilize recognizes and prints.

Each has an ``exp`` rewrite (for proofs and references), a derivative, and LaTeX.
"""

from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801  (SymPy function names are lower case)
    r"""\sigma(u) = 1 / (1 + e^{-u})."""

    nargs = 1

    @classmethod
    def eval(cls, u):
        if u.is_zero:
            return sp.S.Half
        if u is sp.oo:
            return sp.S.One
        if u is sp.S.NegativeInfinity:
            return sp.S.Zero

    def fdiff(self, argindex=1):
        u = self.args[0]
        return logistic_density(u)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / (1 + sp.exp(-u))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class logistic_density(sp.Function):  # noqa: N801
    r"""\sigma(u)\,\sigma(-u) = e^{-|u|} / (1 + e^{-|u|})^2, the derivative of \sigma."""

    nargs = 1

    def fdiff(self, argindex=1):
        u = self.args[0]
        return logistic_density(u) * (sigmoid(-u) - sigmoid(u))

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.exp(-u) / (1 + sp.exp(-u)) ** 2

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        u = printer._print(self.args[0])
        s = rf"\sigma\left({u}\right)\sigma\left(-{u}\right)"
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"


class softplus(sp.Function):  # noqa: N801
    r"""\operatorname{softplus}(u) = \log(1 + e^{u})."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.log(1 + sp.exp(u))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class exp_times(sp.Function):  # noqa: N801
    r"""e^{v} g; where e^{v} is subnormal, (e^{v/2} g) e^{v/2}, so the product keeps its digits."""

    nargs = 2

    def _eval_rewrite_as_exp(self, v, g, **kwargs):
        return sp.exp(v) * g

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)


class hypot(sp.Function):  # noqa: N801
    r"""\sqrt{a^2 + b^2} without overflow or underflow of the squares (C99 hypot)."""

    nargs = 2

    def _eval_rewrite_as_exp(self, a, b, **kwargs):
        return sp.sqrt(a**2 + b**2)

    def _eval_is_real(self):
        return True

    def _eval_is_positive(self):
        return True if self.args[1].is_nonzero else None

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        a, b = (printer._print(v) for v in self.args)
        s = rf"\sqrt{{{a}^{{2}} + {b}^{{2}}}}"
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """Replace every symact building block by its definition in exp/log."""
    if expr.has(sigmoid, logistic_density, softplus, exp_times, hypot):
        return expr.rewrite(sp.exp)
    return expr
