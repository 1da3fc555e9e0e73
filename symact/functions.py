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


class exp_exp_times(sp.Function):  # noqa: N801
    r"""g e^{c e^{a u}} (c < 0 and a numbers): exp_exp_times(c, a, u, g). Printed with e^{a u}
    in double-double (symact.exp_dd), since an error d in it moves the result by |c e^{a u}| d
    relative."""

    nargs = 4

    def _eval_rewrite_as_exp(self, c, a, u, g, **kwargs):
        return g * sp.exp(c * sp.exp(a * u))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[2].is_real and self.args[3].is_real

    def _latex(self, printer, exp=None):
        s = printer._print(self.rewrite(sp.exp))
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"


class exp_poly(sp.Function):  # noqa: N801
    r"""g e^{P(w)}, P(w) = \sum_k c_k w^k: exp_poly(g, w, c_n, ..., c_1, c_0) (highest first).
    Printed as compensated Horner for P in twice double precision (coefficients as double-double
    pairs), then e^s (1 + e): a large |P| (gelu_tanh's -2 sqrt(2/pi)(x + 0.044715 x^3) near
    x = -7) costs no digits to its own rounding."""

    def _eval_rewrite_as_exp(self, g, w, *coeffs, **kwargs):
        return g * sp.exp(sum(c * w**k for k, c in enumerate(reversed(coeffs))))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = printer._print(self.rewrite(sp.exp))
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"


class normal_pdf(sp.Function):  # noqa: N801
    r"""\varphi(u) = e^{-u^2/2} / \sqrt{2\pi}, the standard normal density."""

    nargs = 1

    def fdiff(self, argindex=1):
        u = self.args[0]
        return -u * normal_pdf(u)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.exp(-u**2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\varphi\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class normal_cdf(sp.Function):  # noqa: N801
    r"""\Phi(u) = \tfrac12 \operatorname{erfc}(-u/\sqrt2), the standard normal distribution."""

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
        return normal_pdf(self.args[0])

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.erfc(-u / sp.sqrt(2), evaluate=False) / 2  # not 2 - erfc(u/sqrt2): cancels

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\Phi\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


#: K = sqrt(pi) e^{-9/16}: the Mills ratio is K e^{rho(t)}/t with rho small (fdlibm's erfc form).
MILLS_K = sp.sqrt(sp.pi) * sp.exp(-sp.Rational(9, 16))


class mills_ln(sp.Function):  # noqa: N801
    r"""\rho(t) = \ln(t M(t)/K) with M(t) = \Phi(-t)/\varphi(t) the Mills ratio and
    K = \sqrt\pi e^{-9/16}: so \Phi(-t) = \varphi(t) K e^{\rho(t)}/t. Small and smooth for
    t >= 1.25 sqrt(2) (-0.03 < rho < -0.0098): fdlibm's R(s)/S(s), s = 2/t^2."""

    nargs = 1

    def _eval_rewrite_as_exp(self, t, **kwargs):
        m = sp.sqrt(sp.pi / 2) * sp.exp(t**2 / 2) * sp.erfc(t / sp.sqrt(2), evaluate=False)
        return sp.log(t * m / MILLS_K)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)


class gauss_times(sp.Function):  # noqa: N801
    r"""e^{-u^2/2 + w} g (w = 0 when omitted; w small), with -u^2/2 computed exactly enough (u
    split so its square is exact) and, where the exponential is subnormal,
    (e^{-u^2/4} g') e^{-u^2/4} so the product keeps its digits."""

    nargs = (2, 3)

    def _eval_rewrite_as_exp(self, u, g, w=0, **kwargs):
        return sp.exp(-u**2 / 2 + w) * g

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)


class gauss_clip(sp.Function):  # noqa: N801
    r"""u, read only inside e^{-u^2/2} g(u) on a branch lo < u < hi: printed as u clamped to
    [lo, hi] (each within [-48, 48]); outside [-48, 48] e^{-u^2/2} g(u) underflows to 0 for any g
    of moderate growth, so g can never overflow nor divide by 0 on the unused side of a branch.
    Mathematically the identity on the branch (its rewrite and its value are u)."""

    nargs = 3

    @classmethod
    def eval(cls, u, lo, hi):
        # at an infinite end the printed clamp is what is read: a clamp of it (Max, Min) stays
        # comparable, and a limit of the code there is finite
        if u is sp.S.Infinity:
            return hi
        if u is sp.S.NegativeInfinity:
            return lo
        return None

    def _eval_rewrite_as_exp(self, u, lo, hi, **kwargs):
        return u

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.args[0]._eval_evalf(prec)


class erfc_float(sp.Function):  # noqa: N801
    r"""erfc(w) to 2^{-32} relative (symact.float_erfc): for float results, where libm's
    correctly rounded double is more than they can show."""

    nargs = 1

    def _eval_rewrite_as_erfc(self, w, **kwargs):
        return sp.erfc(w)

    def _eval_rewrite_as_exp(self, w, **kwargs):
        return sp.erfc(w)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return sp.erfc(self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\operatorname{{erfc}}\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


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


class erfc_kept(sp.Function):  # noqa: N801
    r"""\operatorname{erfc}(w) as written: SymPy turns erfc(-x) into 2 - erfc(x), which cancels
    to nothing for x < -6 (x erfc(-x) was -0 at x = -24.7, for -6e-266)."""

    nargs = 1

    def _eval_rewrite_as_exp(self, w, **kwargs):
        return sp.erfc(w)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return sp.erfc(self.args[0], evaluate=False)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\operatorname{{erfc}}\left({printer._print(self.args[0])}\right)"
        return s if exp is None else rf"{s}^{{{exp}}}"


class recip(sp.Function):  # noqa: N801
    r"""1/u, computed first: to SymPy an opaque node, so t = 1/x stays one division
    (x^{-2}/(1 + x^{-2}) is never recombined into 1/(x^2 + 1), where x^2 overflows)."""

    nargs = 1

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return 1 / u

    def _eval_is_real(self):
        return self.args[0].is_real and self.args[0].is_nonzero

    def _eval_evalf(self, prec):
        return (1 / self.args[0])._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        s = rf"\frac{{1}}{{{printer._print(self.args[0])}}}"
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"


class scaled(sp.Function):  # noqa: N801
    r"""v 2^n (n an integer): v computed first, then scaled, so a result in the subnormal
    range is rounded once, at the end (t^2 c as (2^64 t)^2 c 2^{-128}: t^2 rounded to a
    subnormal first would be off by c/2 of its units)."""

    nargs = 2

    def _eval_rewrite_as_exp(self, v, n, **kwargs):
        return v * sp.Integer(2) ** n

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        v, n = (printer._print(a) for a in self.args)
        s = rf"\left({v}\right) 2^{{{n}}}"
        return s if exp is None else rf"\left({s}\right)^{{{exp}}}"


#: Every symact building block (what ``to_elementary`` rewrites away).
BLOCKS = (sigmoid, logistic_density, softplus, exp_times, exp_exp_times, exp_poly, normal_pdf,
          normal_cdf, mills_ln, gauss_times, gauss_clip, hypot, erfc_float, erfc_kept, recip,
          scaled)


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """Replace every symact building block by its definition in exp/log/erfc, and nothing
    else (a blanket ``rewrite(exp)`` also turns x^2 into e^{2 log x}, complex for x < 0)."""
    while expr.has(*BLOCKS):
        expr = expr.replace(lambda e: isinstance(e, BLOCKS),
                            lambda e: e.rewrite(sp.exp, deep=False))
    return expr
