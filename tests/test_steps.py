"""Step-by-step derivations: every rule against an independent derivative (mpmath's numeric
differentiation at 50 digits), the per-step check that can fail, rendering, and the LaTeX of
every catalog activation compiled by a real LaTeX engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import mpmath
import pytest
import sympy as sp
from conftest import ROOT

import symact
from symact import steps as st
from symact.explain import steps_to_latex, steps_to_text, to_latex
from symact.functions import sigmoid, softplus

x = sp.Symbol("x", real=True)
POINTS = (-2.7, -0.9, -0.3, 0.4, 1.3, 3.1)


def numeric_derivative(expr: sp.Expr, point: float) -> mpmath.mpf:
    """d/dx expr at point by mpmath's numerical differentiation of the expression itself."""
    f = sp.lambdify(x, st._for_mpmath(st.to_elementary(expr)), modules="mpmath")
    with mpmath.workdps(50):
        return mpmath.diff(f, mpmath.mpf(point))


def final(steps: list[st.Step]) -> sp.Expr:
    return steps[-1].after


HAND_MADE = [
    (sp.erf(2 * x), {"chain"}),  # erf through the chain rule
    (sp.erf(x), {"erf"}),
    (sp.erfc(x**2), {"chain"}),
    (sp.tanh(3 * x + 1), {"chain", "sum", "constant multiple"}),
    (sp.sinh(x) * sp.cosh(x), {"product", "hyperbolic"}),
    (sp.log(1 + x**2), {"chain", "sum", "power"}),
    ((x**2 + 1) / (x - 5), {"quotient"}),
    (2**x, {"exp"}),
    (sp.exp(-x**2 / 2), {"chain"}),
    (sp.Abs(x - 1) * x, {"product", "chain"}),
    (x * sp.erf(x / sp.sqrt(2)) / 2, {"constant multiple", "product"}),
    (sigmoid(x) * x, {"product", "sigmoid"}),
    (softplus(2 * x), {"chain"}),
    (sp.Heaviside(x) * x**2, {"product", "Heaviside"}),
    (sp.Piecewise((x**2, x > 1), (sp.exp(x), True)), {"piecewise branch"}),
    (sp.Min(sp.Max(x, 0), 6), {"Max/Min"}),
    (sp.Max(x, 0) + sp.Min(x**3, 1), {"sum", "Max/Min"}),
    (x * sp.Min(sp.Max(x + 3, 0), 6) / 6, {"constant multiple", "product", "Max/Min"}),
    (sp.gamma(x), {"fallback"}),  # no rule: an explicit fallback step
    (x**x, {"fallback"}),
]


@pytest.mark.parametrize(("expr", "rules"), HAND_MADE, ids=[str(e) for e, _ in HAND_MADE])
def test_rules_agree_with_numeric_differentiation(expr, rules):
    steps = st.expand_steps(expr, x, {})
    assert steps[0].before == sp.Derivative(expr, x)
    assert rules <= {s.rule for s in steps} | {s.text_note.split(":")[0].split()[-1]
                                                for s in steps}
    assert all(s.check for s in steps)
    result = final(steps)
    assert not result.has(sp.Derivative)
    f = sp.lambdify(x, st._for_mpmath(st.to_elementary(result)), modules="mpmath")
    for p in POINTS:
        with mpmath.workdps(50):
            got, want = f(mpmath.mpf(p)), numeric_derivative(expr, p)
            assert abs(got - want) < mpmath.mpf(10) ** -30 * max(1, abs(want)), (p, got, want)


def test_kinks_follow_the_tie_convention():
    """max(x, 0)'(0) = 0 and min(x, 6)'(6) = 0, like PyTorch's relu and relu6."""
    relu6 = final(st.expand_steps(sp.Min(sp.Max(x, 0), 6), x, {}))
    assert relu6.subs(x, 0) == 0 and relu6.subs(x, 6) == 0 and relu6.subs(x, 3) == 1
    assert relu6.subs(x, -1) == 0 and relu6.subs(x, 7) == 0


def test_the_check_catches_a_wrong_rule(monkeypatch):
    """A product rule missing a term must not get through."""
    monkeypatch.setattr(st.ProductRule, "expand",
                        lambda self: st._d(self.expr.args[0], self.x) * self.expr.args[1])
    with pytest.raises(st.StepCheckError):
        st.expand_steps(x * sp.exp(x), x, {})
    with pytest.raises(st.StepCheckError):
        st.check_equal(sp.exp(x), sp.exp(x) + sp.Rational(1, 10**30), x, {})


def test_chosen_rules_by_shape():
    assert isinstance(st.diff_rule(sp.Integer(3), x), st.ConstantRule)
    assert isinstance(st.diff_rule(x**3, x), st.PowerRule)
    assert isinstance(st.diff_rule(x * sp.exp(x), x), st.ProductRule)
    assert isinstance(st.diff_rule(x / (1 + x), x), st.QuotientRule)
    assert isinstance(st.diff_rule(3 * sp.exp(x), x), st.ConstantMultipleRule)
    assert isinstance(st.diff_rule(sp.tanh(2 * x), x), st.ChainRule)
    assert isinstance(st.diff_rule(sp.tanh(x), x), st.FunctionRule)
    assert isinstance(st.diff_rule(sp.gamma(x), x), st.FallbackRule)


def test_rule_tree_is_nested_and_right():
    tree = st.rule_tree(x * sp.exp(-x), x)
    assert tree.rule == "product" and len(tree.substeps) == 2
    assert sp.simplify(tree.after - sp.diff(x * sp.exp(-x), x)) == 0


@pytest.mark.parametrize("act", symact.all_activations(), ids=symact.names())
def test_every_activation_has_checked_steps(act):
    d = act.steps
    assert d.steps, act.name
    assert d.steps[0].before == sp.Derivative(act.expr, act.x)
    assert all(s.check for s in d.steps)
    # The chain ends in the derivative, then the output form: compare with mpmath's numeric
    # derivative of the definition (independent of every rule).
    derivs = [s.after for s in d.steps if not s.after.has(sp.Derivative)
              and s.rule not in ("output form", "mixed form")]
    expr = derivs[-1] if derivs else sp.S.Zero
    f = sp.lambdify([act.x, *act.defaults], expr, modules="mpmath")
    g = sp.lambdify([act.x, *act.defaults], act.expr, modules="mpmath")
    params = list(act.defaults.values())
    for p in POINTS:
        with mpmath.workdps(50):
            want = mpmath.diff(lambda t: g(t, *params), mpmath.mpf(p))
            assert abs(f(mpmath.mpf(p), *params) - want) < mpmath.mpf(10) ** -30
    if act.output_form is not None and act.output_form.has(act.y):
        assert d.steps[-1].rule == "output form" and d.steps[-1].after == act.output_form
    text = steps_to_text(d)
    assert f"{act.name}'(x) = " in text and "[" in text
    assert str(d) == text
    latex = steps_to_latex(d)
    assert latex.startswith("\\begin{align*}") and latex.endswith("\\end{align*}")
    assert d._repr_latex_().startswith("$$\\begin{aligned}")
    assert act._repr_latex_().startswith("$$\\begin{aligned}")


def test_mixed_form_gets_a_step(monkeypatch):
    """An activation with a mixed form (silu' = y + s(1 - y), s = sigma(x)) gets a checked
    step; a wrong mixed form fails its check."""
    from symact.derive import MixedForm

    act = symact.get("silu")
    y, mf = act.y, act.mixed_form
    assert mf is not None and mf.expr.has(y, mf.s)
    d = st.derivation_steps(act)
    assert d.steps[-1].rule == "mixed form" and d.steps[-1].after == mf.expr
    wrong = MixedForm(y + mf.s * (1 + y), mf.s, mf.sub, "")
    monkeypatch.setitem(act.__dict__, "mixed_form", wrong)
    with pytest.raises(st.StepCheckError):
        st.derivation_steps(act)


def _latex_document() -> str:
    body = []
    for act in symact.all_activations():
        body.append(f"\\section*{{{act.name.replace('_', ' ')}}}")
        body.append(to_latex(act))
        body.append(steps_to_latex(act.steps))
        body.append("$$" + to_latex(act, env="aligned") + "$$")
        body.append(act.steps._repr_latex_())
    from symact.docs import render_readme

    readme = render_readme()
    blocks = readme.split("$$")[1::2]
    body.append("\\section*{generated/README.md}")
    body += [f"\\[{b}\\]" for b in blocks]
    return ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
            "\\usepackage[paperwidth=60cm,paperheight=200cm,margin=1cm]{geometry}\n"
            "\\begin{document}\n" + "\n".join(body) + "\n\\end{document}\n")


def test_latex_compiles_with_pdflatex(tmp_path):
    """Every LaTeX string symact emits, for every activation, through a real LaTeX engine."""
    engine = shutil.which("pdflatex")
    if engine is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex missing in CI (.ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed")
    (tmp_path / "steps.tex").write_text(_latex_document(), encoding="utf-8")
    out = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "steps.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    assert (tmp_path / "steps.pdf").stat().st_size > 1000
    assert "Undefined control sequence" not in out.stdout


def test_cli_steps():
    run = [sys.executable, "-m", "symact"]
    out = subprocess.run([*run, "show", "sigmoid", "--steps"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0
    assert "[chain rule with exp" in out.stdout and "[output form" in out.stdout
    out = subprocess.run([*run, "latex", "relu", "--steps"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0
    assert out.stdout.startswith("\\begin{align*}") and "piecewise branch" in out.stdout
