"""Step-by-step derivatives: differentiation rules as small dataclasses, applied recursively.

``diff_rule(u, x)`` picks the rule for d/dx u (constant, sum, constant multiple, product,
quotient, chain, power, exp, log, hyperbolic, erf, Abs/Max/Min/Heaviside, piecewise branch;
anything else gets an explicit fallback). ``derivation_steps(act)`` turns the rules into a chain
of whole-expression rewrites, starting from d/dx f(x), where each step expands the unevaluated
``Derivative`` nodes one rule at a time, then simplifies, then rewrites into the output form
(and the mixed form, where the activation has one). Every step is checked: the expression
after it equals the one before it, symbolically or at 50 digits at several points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import mpmath
import sympy as sp

from . import functions
from .derive import PROOF_DIGITS, Y
from .functions import exp_times, logistic_density, sigmoid, softplus

if TYPE_CHECKING:
    from .activation import Activation

#: Points for the numeric half of each step's check; off the usual kinks (0, +-3, 6, ...), where
#: conventions, not identities, decide the value.
CHECK_POINTS = (-7.31, -2.93, -1.37, -0.61, -0.17, 0.23, 0.71, 1.9, 3.7, 6.43, 11.3)


def _d(u: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """The unevaluated d/dx u."""
    return sp.Derivative(u, x, evaluate=False)


# --- rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """d/dx ``expr`` by one rule. ``expand`` is one step: the derivative written with
    unevaluated derivatives of sub-expressions; ``children`` are the rules for those."""

    expr: sp.Expr
    x: sp.Symbol

    name: ClassVar[str] = ""
    latex_identity: ClassVar[str] = ""
    text_identity: ClassVar[str] = ""

    def expand(self) -> sp.Expr:
        raise NotImplementedError

    def subexprs(self) -> tuple[sp.Expr, ...]:
        """The expressions whose derivatives ``expand`` leaves unevaluated."""
        return ()

    @property
    def children(self) -> tuple[Rule, ...]:
        return tuple(diff_rule(u, self.x) for u in self.subexprs())

    def eval(self) -> sp.Expr:
        """The full derivative, every sub-derivative done by its own rule."""
        repl = {_d(u, self.x): r.eval() for u, r in zip(self.subexprs(), self.children,
                                                          strict=True)}
        return self.expand().xreplace(repl)


@dataclass(frozen=True)
class ConstantRule(Rule):
    name: ClassVar[str] = "constant"
    latex_identity: ClassVar[str] = r"\frac{d}{dx} c = 0"
    text_identity: ClassVar[str] = "d/dx c = 0"

    def expand(self) -> sp.Expr:
        return sp.S.Zero


@dataclass(frozen=True)
class PowerRule(Rule):
    """x**n with n free of x (x itself is n = 1)."""

    name: ClassVar[str] = "power"
    latex_identity: ClassVar[str] = r"\frac{d}{dx} x^{n} = n x^{n - 1}"
    text_identity: ClassVar[str] = "d/dx x^n = n x^(n-1)"

    def expand(self) -> sp.Expr:
        if self.expr == self.x:
            return sp.S.One
        base, n = self.expr.as_base_exp()
        return n * base ** (n - 1)


@dataclass(frozen=True)
class SumRule(Rule):
    name: ClassVar[str] = "sum"
    latex_identity: ClassVar[str] = r"(u + v)' = u' + v'"
    text_identity: ClassVar[str] = "(u + v)' = u' + v'"

    def subexprs(self):
        return self.expr.args

    def expand(self) -> sp.Expr:
        return sp.Add(*[_d(t, self.x) for t in self.expr.args])


@dataclass(frozen=True)
class ConstantMultipleRule(Rule):
    name: ClassVar[str] = "constant multiple"
    latex_identity: ClassVar[str] = r"(c\,u)' = c\,u'"
    text_identity: ClassVar[str] = "(c u)' = c u'"

    def _split(self):
        return self.expr.as_independent(self.x, as_Add=False)

    def subexprs(self):
        return (self._split()[1],)

    def expand(self) -> sp.Expr:
        c, u = self._split()
        return c * _d(u, self.x)


@dataclass(frozen=True)
class ProductRule(Rule):
    name: ClassVar[str] = "product"
    latex_identity: ClassVar[str] = r"(u v)' = u' v + u v'"
    text_identity: ClassVar[str] = "(u v)' = u' v + u v'"

    def subexprs(self):
        return self.expr.args

    def expand(self) -> sp.Expr:
        fs = self.expr.args
        return sp.Add(*[sp.Mul(*fs[:i], _d(f, self.x), *fs[i + 1:]) for i, f in enumerate(fs)])


def _quotient_parts(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """numerator, denominator: factors with a negative rational exponent form the denominator."""
    num, den = [], []
    for f in sp.Mul.make_args(expr):
        b, e = f.as_base_exp()
        if isinstance(f, sp.Pow) and e.is_Rational and e < 0:
            den.append(b ** -e)
        else:
            num.append(f)
    return sp.Mul(*num), sp.Mul(*den)


@dataclass(frozen=True)
class QuotientRule(Rule):
    name: ClassVar[str] = "quotient"
    latex_identity: ClassVar[str] = r"\left(\frac{u}{v}\right)' = \frac{u' v - u v'}{v^{2}}"
    text_identity: ClassVar[str] = "(u/v)' = (u' v - u v')/v^2"

    def subexprs(self):
        return _quotient_parts(self.expr)

    def expand(self) -> sp.Expr:
        u, v = _quotient_parts(self.expr)
        x = self.x
        return (_d(u, x) * v - u * _d(v, x)) / v**2


#: Outer functions: class -> (rule name, LaTeX identity, text identity); the derivative comes
#: from SymPy's own ``fdiff`` of the function.
_OUTER: dict[type, tuple[str, str, str]] = {
    sp.exp: ("exp", r"\frac{d}{du} e^{u} = e^{u}", "d/du e^u = e^u"),
    sp.log: ("log", r"\frac{d}{du} \log u = \frac{1}{u}", "d/du log u = 1/u"),
    sp.tanh: ("hyperbolic", r"\frac{d}{du} \tanh u = 1 - \tanh^{2} u",
              "d/du tanh u = 1 - tanh(u)^2"),
    sp.sinh: ("hyperbolic", r"\frac{d}{du} \sinh u = \cosh u", "d/du sinh u = cosh u"),
    sp.cosh: ("hyperbolic", r"\frac{d}{du} \cosh u = \sinh u", "d/du cosh u = sinh u"),
    sp.sech: ("hyperbolic", r"\frac{d}{du} \operatorname{sech} u = -\operatorname{sech} u"
              r"\tanh u", "d/du sech u = -sech(u) tanh(u)"),
    sp.coth: ("hyperbolic", r"\frac{d}{du} \coth u = 1 - \coth^{2} u",
              "d/du coth u = 1 - coth(u)^2"),
    sp.asinh: ("hyperbolic", r"\frac{d}{du} \operatorname{asinh} u = \frac{1}{\sqrt{u^{2} + 1}}",
               "d/du asinh u = 1/sqrt(u^2 + 1)"),
    sp.atanh: ("hyperbolic", r"\frac{d}{du} \operatorname{atanh} u = \frac{1}{1 - u^{2}}",
               "d/du atanh u = 1/(1 - u^2)"),
    sp.erf: ("erf", r"\frac{d}{du} \operatorname{erf} u = \frac{2}{\sqrt{\pi}} e^{-u^{2}}",
             "d/du erf u = 2/sqrt(pi) exp(-u^2)"),
    sp.erfc: ("erf", r"\frac{d}{du} \operatorname{erfc} u = -\frac{2}{\sqrt{\pi}} e^{-u^{2}}",
              "d/du erfc u = -2/sqrt(pi) exp(-u^2)"),
    sp.Abs: ("Abs", r"\frac{d}{du} |u| = \operatorname{sign} u", "d/du |u| = sign(u)"),
    sp.sin: ("trigonometric", r"\frac{d}{du} \sin u = \cos u", "d/du sin u = cos u"),
    sp.cos: ("trigonometric", r"\frac{d}{du} \cos u = -\sin u", "d/du cos u = -sin u"),
    sp.atan: ("trigonometric", r"\frac{d}{du} \arctan u = \frac{1}{1 + u^{2}}",
              "d/du atan u = 1/(1 + u^2)"),
    sigmoid: ("sigmoid", r"\sigma'(u) = \sigma(u)\,\sigma(-u)",
              "sigmoid'(u) = sigmoid(u) sigmoid(-u)"),
    softplus: ("softplus", r"\operatorname{softplus}'(u) = \sigma(u)", "softplus'(u) = sigmoid(u)"),
    logistic_density: ("logistic density", r"\frac{d}{du} \sigma(u)\sigma(-u) = "
                       r"\sigma(u)\sigma(-u)\left(\sigma(-u) - \sigma(u)\right)",
                       "d/du s(u)s(-u) = s(u)s(-u)(s(-u) - s(u)), s = sigmoid"),
}


def _outer_derivative(f: sp.Expr) -> sp.Expr:
    """f'(u) at u = the argument of the one-argument function f."""
    if isinstance(f, sp.Abs):
        return sp.sign(f.args[0])
    return f.fdiff(1)


@dataclass(frozen=True)
class FunctionRule(Rule):
    """f(x) for an outer function of _OUTER, applied directly to x."""

    @property
    def outer(self) -> tuple[str, str, str]:
        return _OUTER[type(self.expr)]

    def expand(self) -> sp.Expr:
        return _outer_derivative(self.expr)


@dataclass(frozen=True)
class ExpBaseRule(Rule):
    """b**g with a constant base: b**g = e^{g log b}."""

    name: ClassVar[str] = "exp"
    latex_identity: ClassVar[str] = r"\frac{d}{dx} b^{u} = b^{u} \log b \; u'"
    text_identity: ClassVar[str] = "d/dx b^u = b^u log(b) u'"

    def subexprs(self):
        return (self.expr.exp,)

    def expand(self) -> sp.Expr:
        b, g = self.expr.base, self.expr.exp
        return self.expr * sp.log(b) * _d(g, self.x)


@dataclass(frozen=True)
class ChainRule(Rule):
    """f(g(x)) with g != x: f'(g) g'. ``outer`` names the rule for f."""

    name: ClassVar[str] = "chain"

    @property
    def inner(self) -> sp.Expr:
        if isinstance(self.expr, sp.Pow):
            return self.expr.base
        return self.expr.args[0]

    @property
    def outer(self) -> tuple[str, str, str]:
        if isinstance(self.expr, sp.Pow):
            return (PowerRule.name, r"\frac{d}{du} u^{n} = n u^{n - 1}", "d/du u^n = n u^(n-1)")
        return _OUTER[type(self.expr)]

    def subexprs(self):
        return (self.inner,)

    def expand(self) -> sp.Expr:
        g = self.inner
        if isinstance(self.expr, sp.Pow):
            n = self.expr.exp
            return n * g ** (n - 1) * _d(g, self.x)
        return _outer_derivative(self.expr) * _d(g, self.x)


def _tie_zero(f: sp.Expr, x: sp.Symbol) -> sp.Piecewise:
    """Max/Min as a Piecewise. Two arguments, a strict comparison: at a tie the derivative
    is that of the later argument, and a constant argument is put last, so
    max(x, 0)'(0) = 0 and min(x, 6)'(6) = 0, as PyTorch's relu and relu6."""
    args = sorted(f.args, key=lambda a: (not a.has(x), sp.default_sort_key(a)))
    first, rest = args[0], f.func(*args[1:])
    cmp = first > rest if isinstance(f, sp.Max) else first < rest
    return sp.Piecewise((first, cmp), (rest, True))


@dataclass(frozen=True)
class MaxMinRule(Rule):
    """max(a, b)' = a' where a > b, else b' (min alike), by rewriting into a Piecewise."""

    name: ClassVar[str] = "Max/Min"
    latex_identity: ClassVar[str] = (r"\max(a, b) = a \text{ if } a > b \text{ else } b; "
                                     r"\min(a, b) = a \text{ if } a < b \text{ else } b")
    text_identity: ClassVar[str] = "max(a, b) = a if a > b else b; min(a, b) = a if a < b else b"

    def expand(self) -> sp.Expr:
        pw = _tie_zero(self.expr, self.x)
        return sp.Piecewise(*[(_d(e, self.x), c) for e, c in pw.args])

    def subexprs(self):
        return tuple(e for e, _ in _tie_zero(self.expr, self.x).args)


@dataclass(frozen=True)
class HeavisideRule(Rule):
    """Heaviside(u) and sign(u) are constant on each side of u = 0: derivative 0 there (no
    Dirac delta, the catalog's convention)."""

    name: ClassVar[str] = "Heaviside"
    latex_identity: ClassVar[str] = r"\frac{d}{dx} H(u) = 0 \text{ for } u \ne 0"
    text_identity: ClassVar[str] = "d/dx H(u) = 0 for u != 0 (no Dirac delta)"

    def expand(self) -> sp.Expr:
        return sp.S.Zero


@dataclass(frozen=True)
class PiecewiseRule(Rule):
    """Branch by branch; each branch keeps its condition, which sets the value at a kink."""

    name: ClassVar[str] = "piecewise branch"
    latex_identity: ClassVar[str] = r"\text{each branch on its own interval}"
    text_identity: ClassVar[str] = "each branch differentiated on its own interval"

    def subexprs(self):
        return tuple(e for e, _ in self.expr.args)

    def expand(self) -> sp.Expr:
        return sp.Piecewise(*[(_d(e, self.x), c) for e, c in self.expr.args])


@dataclass(frozen=True)
class FallbackRule(Rule):
    """No rule: SymPy's ``diff`` in one step, said so."""

    name: ClassVar[str] = "fallback"
    latex_identity: ClassVar[str] = r"\text{no rule; SymPy's diff}"
    text_identity: ClassVar[str] = "no rule; SymPy's diff"

    def expand(self) -> sp.Expr:
        return _reference_diff(self.expr, self.x)


def diff_rule(u: sp.Expr, x: sp.Symbol) -> Rule:
    """The rule for d/dx u."""
    if not u.has(x):
        return ConstantRule(u, x)
    if u == x:
        return PowerRule(u, x)
    if isinstance(u, sp.Add):
        return SumRule(u, x)
    if isinstance(u, sp.Mul):
        c, _ = u.as_independent(x, as_Add=False)
        if c != 1:
            return ConstantMultipleRule(u, x)
        num, den = _quotient_parts(u)
        if den != 1 and num != 1:
            return QuotientRule(u, x)
        return ProductRule(u, x)
    if isinstance(u, sp.Pow):
        b, e = u.as_base_exp()
        if not e.has(x):
            return PowerRule(u, x) if b == x else ChainRule(u, x)
        if not b.has(x):
            return ExpBaseRule(u, x)
        return FallbackRule(u, x)
    if isinstance(u, sp.Piecewise):
        return PiecewiseRule(u, x)
    if isinstance(u, (sp.Max, sp.Min)):
        return MaxMinRule(u, x)
    if isinstance(u, (sp.Heaviside, sp.sign)):
        return HeavisideRule(u, x)
    if type(u) in _OUTER and len(u.args) == 1:
        return FunctionRule(u, x) if u.args[0] == x else ChainRule(u, x)
    return FallbackRule(u, x)


def rule_name(rule: Rule) -> str:
    """The rule's name; for the chain rule, the name of the outer function's rule."""
    if isinstance(rule, (FunctionRule, ChainRule)):
        return rule.outer[0]
    return rule.name


def rule_identity(rule: Rule, latex: bool) -> str:
    """The identity a rule uses, in LaTeX or plain text."""
    if isinstance(rule, (FunctionRule, ChainRule)):
        _, lx, tx = rule.outer
        return lx if latex else tx
    return rule.latex_identity if latex else rule.text_identity


# --- the independent reference a check compares with --------------------------------------


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """symact's building blocks (sigmoid, softplus, ...) replaced by their exp/log definitions;
    nothing else rewritten."""
    return expr.replace(
        lambda e: isinstance(e, (sigmoid, softplus, logistic_density, exp_times)),
        lambda e: e.rewrite(sp.exp),
    )


def _reference_diff(u: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """d/dx u by SymPy, not by the rules above: building blocks in exp/log first; Max/Min as
    the same Piecewise the rule states (the tie convention); Dirac deltas dropped."""
    u = to_elementary(u)
    u = u.replace(lambda e: isinstance(e, (sp.Max, sp.Min)), lambda e: _tie_zero(e, x))
    d = sp.diff(u, x)
    return d.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)


def _value(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """``expr`` with every unevaluated derivative done by the reference."""
    derivs = [d for d in sp.preorder_traversal(expr) if isinstance(d, sp.Derivative)]
    return to_elementary(expr.xreplace({d: _reference_diff(d.expr, x) for d in derivs}))


def _for_mpmath(expr: sp.Expr) -> sp.Expr:
    """Every building block in exp/erfc (Phi, phi in a mixed form too); Heaviside with H(0) =
    1/2."""
    expr = functions.to_elementary(expr)
    return expr.replace(
        lambda e: isinstance(e, sp.Heaviside),
        lambda e: sp.Piecewise((0, e.args[0] < 0), (1, e.args[0] > 0), (sp.S.Half, True)),
    )


class StepCheckError(AssertionError):
    """A derivation step whose two sides differ: a bug in symact, never the user's doing."""


def check_equal(a: sp.Expr, b: sp.Expr, x: sp.Symbol, defaults: dict[sp.Symbol, float],
                y_value: sp.Expr | None = None) -> str:
    """How ``a == b`` was established ("symbolic" or "numeric, 50 digits"); raises
    StepCheckError when it is false. Unevaluated derivatives are done by SymPy's diff; ``y``
    stands for ``y_value`` (f(x)), substituted numerically."""
    va, vb = _value(a, x), _value(b, x)
    if y_value is None or not (va.has(Y) or vb.has(Y)):
        diff = va - vb
        try:
            if sp.expand(diff) == 0 or sp.cancel(sp.expand(diff.rewrite(sp.exp))) == 0:
                return "symbolic"
        except (TypeError, ValueError, NotImplementedError):
            pass
    syms = [x, Y, *defaults]
    fa = sp.lambdify(syms, _for_mpmath(va), modules="mpmath")
    fb = sp.lambdify(syms, _for_mpmath(vb), modules="mpmath")
    fy = sp.lambdify(syms, _for_mpmath(to_elementary(y_value if y_value is not None else Y)),
                     modules="mpmath")
    params = [mpmath.mpf(v) for v in defaults.values()]
    checked = 0
    with mpmath.workdps(PROOF_DIGITS):
        for p in CHECK_POINTS:
            xp = mpmath.mpf(p)
            try:
                yp = fy(xp, 0, *params)
                ra, rb = fa(xp, yp, *params), fb(xp, yp, *params)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if abs(ra - rb) > mpmath.mpf(10) ** (-PROOF_DIGITS + 10) * max(1, abs(rb)):
                raise StepCheckError(f"step check failed at x = {p}: {a} != {b}")
            checked += 1
    if checked < 3:
        raise StepCheckError(f"step check: too few points evaluate: {a} vs {b}")
    return f"numeric, {PROOF_DIGITS} digits at {checked} points"


# --- derivations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``before`` = ``after`` by ``rule`` (``identity`` names what
    it uses). ``substeps`` holds the nested rule tree (see ``rule_tree``); ``check`` says how
    the equality was established."""

    rule: str
    before: sp.Expr
    after: sp.Expr
    latex_note: str = ""
    text_note: str = ""
    check: str = ""
    substeps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Derivation:
    """f'(x) from d/dx f(x) to the simplified derivative, then to the output (and mixed) form.

    In ``steps[i].after`` the symbol ``y`` stands for f(x)."""

    name: str
    x: sp.Symbol
    steps: tuple[Step, ...]
    latex_name: str = ""
    definition: sp.Expr = field(default=sp.S.Zero)

    def __str__(self) -> str:
        from .explain import steps_to_text

        return steps_to_text(self)

    def _repr_latex_(self) -> str:
        from .explain import steps_to_latex

        return "$$" + steps_to_latex(self, env="aligned") + "$$"


def _branch_of(expr: sp.Expr, node: sp.Expr) -> sp.Basic | None:
    """The condition of the Piecewise branch holding ``node``, if any."""
    for pw in sp.preorder_traversal(expr):
        if isinstance(pw, sp.Piecewise):
            for e, c in pw.args:
                if e == node or node in sp.preorder_traversal(e):
                    return c
    return None


def expand_steps(expr: sp.Expr, x: sp.Symbol, defaults: dict[sp.Symbol, float],
                 max_steps: int = 200) -> list[Step]:
    """From ``Derivative(expr, x)``: each step applies one rule to every pending derivative it
    matches (the first pending one, in reading order, picks the rule), each checked."""
    state = _d(expr, x)
    steps: list[Step] = []
    for _ in range(max_steps):
        pending = [d for d in sp.preorder_traversal(state) if isinstance(d, sp.Derivative)]
        if not pending:
            break
        rules = {d: diff_rule(d.expr, x) for d in dict.fromkeys(pending)}
        first = rules[pending[0]]
        name = rule_name(first)
        chosen = {d: r for d, r in rules.items()
                  if rule_name(r) == name and rule_identity(r, True) == rule_identity(first, True)}
        after = state.xreplace({d: r.expand() for d, r in chosen.items()})
        branch = _branch_of(state, pending[0]) if len(chosen) == 1 else None
        where_l = where_t = ""
        if branch is not None and branch is not sp.true:
            where_l = rf" \text{{ on }} {sp.latex(branch)}"
            where_t = f" (branch {branch})"
        label = f"chain rule with {name}" if isinstance(first, ChainRule) else name
        steps.append(Step(
            rule=first.name if isinstance(first, ChainRule) else name,
            before=state, after=after,
            latex_note=rf"\text{{{_tex_text(label)}: }} {rule_identity(first, True)}{where_l}",
            text_note=f"{label}: {rule_identity(first, False)}{where_t}",
            check=check_equal(state, after, x, defaults),
        ))
        state = after
    else:  # pragma: no cover - every rule strictly shrinks what is left
        raise StepCheckError(f"derivation of {expr} did not finish in {max_steps} steps")
    return steps


def _tex_text(s: str) -> str:
    return s.replace("_", r"\_")


def rule_tree(expr: sp.Expr, x: sp.Symbol) -> Step:
    """The nested view: d/dx expr = result by a rule, with a sub-step for each part."""
    rule = diff_rule(expr, x)
    return Step(
        rule=rule_name(rule), before=_d(expr, x), after=rule.eval(),
        latex_note=rule_identity(rule, True), text_note=rule_identity(rule, False),
        substeps=tuple(rule_tree(u, x) for u in rule.subexprs()),
    )


def derivation_steps(act: Activation) -> Derivation:
    """The checked chain of steps for ``act``: rules, simplification, output and mixed form."""
    from .explain import _latex_name

    x, defaults = act.x, act.defaults
    steps = expand_steps(act.expr, x, defaults)
    last = steps[-1].after if steps else act.derivative
    if last != act.derivative:
        steps.append(Step(
            rule="simplify", before=last, after=act.derivative,
            latex_note=r"\text{simplify}", text_note="simplify",
            check=check_equal(last, act.derivative, x, defaults),
        ))
    fname = act.name
    lname = _latex_name(act)
    for attr, label in (("output_form", "output form"), ("mixed_form", "mixed form")):
        form = getattr(act, attr, None)
        proof = act.output_form_proof if attr == "output_form" else ""
        inverse_l = inverse_t = ""
        checked, uses_s = form, False
        if form is not None and hasattr(form, "sub"):  # a MixedForm: y and s = sub(x)
            checked = form.expr.xreplace({form.s: form.sub})
            inverse_l = rf",\ {sp.latex(form.s)} = {sp.latex(form.sub)}"
            inverse_t = f", {form.s} = {sp.sstr(form.sub)}"
            proof, form, uses_s = form.proof, form.expr, form.expr.has(form.s)
        if form is None or not (form.has(Y) or uses_s) or form == act.derivative:
            continue
        if attr == "output_form":
            inverse_l, inverse_t = _inverse_note(act)
        steps.append(Step(
            rule=label, before=act.derivative, after=form,
            latex_note=(rf"\text{{{label}, }} y = {lname}(x){inverse_l}"
                        + (rf"\text{{; proven {proof}}}" if proof else "")),
            text_note=(f"{label}, y = {fname}(x){inverse_t}"
                       + (f"; proven {proof}" if proof else "")),
            check=check_equal(act.derivative, checked, x, defaults, y_value=act.expr),
        ))
    return Derivation(act.name, x, tuple(steps), lname, act.expr)


def _inverse_note(act: Activation) -> tuple[str, str]:
    """``x = f^{-1}(y)`` when y = f(x) has one closed-form inverse (the identity used)."""
    expr, x = act.expr, act.x
    if isinstance(expr, sp.Piecewise):
        return r"\text{, branch by branch}", ", branch by branch"
    from .derive import SOLVE_SECONDS, _OutOfTime, time_limit

    try:
        with time_limit(SOLVE_SECONDS):
            sols = [s for s in sp.solve(sp.Eq(Y, expr), x) if not s.has(x, sp.LambertW)]
    except (NotImplementedError, ValueError, TypeError, _OutOfTime):
        return "", ""
    y0 = expr.subs(x, sp.Rational(7, 10)).subs(act.defaults).evalf(30)
    real = [s for s in sols
            if abs(complex(s.subs(act.defaults).subs(Y, y0).evalf(30)) - 0.7) < 1e-12]
    if len(real) != 1:
        return "", ""
    inv = sp.simplify(real[0])
    return rf",\ x = {sp.latex(inv)}", f", x = {sp.sstr(inv)}"
