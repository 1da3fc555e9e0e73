"""Human-readable derivations: Unicode text and LaTeX of definitions and derivatives."""

from __future__ import annotations

import sympy as sp

from .activation import Activation


def _fname(act: Activation) -> str:
    return act.name


def _latex_name(act: Activation) -> str:
    special = {"sigmoid": r"\sigma", "tanh": r"\tanh", "softplus": r"\operatorname{softplus}"}
    return special.get(act.name, r"\operatorname{{{}}}".format(act.name.replace("_", r"\_")))


def to_text(act: Activation) -> str:
    """Definition, simplified derivative and output form as readable Unicode text."""
    f = _fname(act)
    lines = [f"{f}: {act.description}"]
    if act.aliases:
        lines.append(f"aliases: {', '.join(act.aliases)}")
    if act.params:
        lines.append("parameters: " + ", ".join(f"{k} = {v!r}" for k, v in act.params.items()))
    lines.append("")
    lines.append(_block(f"{f}(x) = ", act.expr))
    lines.append("")
    lines.append(_block(f"{f}'(x) = ", act.derivative))
    lines.append("")
    if act.output_form is not None:
        lines.append(_block(f"{f}'(x) = ", act.output_form) + f"   where y = {f}(x)")
        lines.append(f"  (proof: {act.output_form_proof})")
    else:
        lines.append(f"{f}' has no form in terms of the output y = {f}(x) alone.")
        mixed = act.mixed_form
        if mixed is not None:
            sub = sp.pretty(_greek(_named(mixed.sub)), use_unicode=True, wrap_line=False)
            lines.append(_block(f"{f}'(x) = ", _greek(mixed.expr))
                         + f"   where y = {f}(x), s = {sub}")
            lines.append(f"  (proof: {mixed.proof})")
    if act.conventions:
        lines.append("")
        lines.append(f"convention: {act.conventions}")
    return "\n".join(lines)


def _named(sub: sp.Expr) -> sp.Expr:
    """A sub-activation with its building blocks named (1/(1 + e^-x) -> sigmoid(x))."""
    from .stabilize import recognize

    return recognize(sub)


def _greek(expr: sp.Expr) -> sp.Expr:
    """Named building blocks under their usual letters for text: sigmoid -> σ, normal_pdf -> φ,
    normal_cdf -> Φ (display only)."""
    from .functions import normal_cdf, normal_pdf, sigmoid

    for func, letter in ((sigmoid, "σ"), (normal_pdf, "φ"), (normal_cdf, "Φ")):
        expr = expr.replace(func, sp.Function(letter))
    return expr


def _block(prefix: str, expr: sp.Expr) -> str:
    """``prefix`` followed by a pretty-printed expression, aligned over several lines."""
    art = sp.pretty(expr, use_unicode=True, wrap_line=False).split("\n")
    if len(art) == 1:
        return prefix + art[0]
    base = _baseline(expr, len(art))
    pad = " " * len(prefix)
    return "\n".join((prefix if i == base else pad) + row for i, row in enumerate(art))


def _baseline(expr: sp.Expr, height: int) -> int:
    from sympy.printing.pretty.pretty import PrettyPrinter

    return PrettyPrinter({"use_unicode": True, "wrap_line": False})._print(expr).baseline


def to_latex(act: Activation, display: bool = True, env: str = "align*") -> str:
    """LaTeX of the definition and derivative; the output-form identity where one exists.

    With ``display`` the equations are wrapped in ``env`` (``align*``; ``aligned`` for use
    inside ``$$ ... $$``), else they are one line joined by ``\\``."""
    name = _latex_name(act)
    rows = [
        rf"{name}(x) &= {sp.latex(act.expr)}",
        rf"{name}'(x) &= {sp.latex(act.derivative)}",
    ]
    y_as_f = sp.Symbol(f"{name}(x)")
    if act.output_form is not None:
        rows.append(rf"{name}'(x) &= {sp.latex(act.output_form.subs(act.y, y_as_f))}")
    elif act.mixed_form is not None:
        m = act.mixed_form
        rows.append(rf"{name}'(x) &= {sp.latex(m.expr.subs(act.y, y_as_f))}, \quad "
                    + rf"{sp.latex(m.s)} = {sp.latex(_named(m.sub))}")
    if not display:
        return r" \\ ".join(r.replace("&", "") for r in rows)
    return f"\\begin{{{env}}}\n" + " \\\\\n".join(rows) + f"\n\\end{{{env}}}"


def _show_y(expr: sp.Expr, shown: str) -> sp.Expr:
    from .derive import Y

    return expr.subs(Y, sp.Symbol(shown)) if expr.has(Y) else expr


def steps_to_latex(d, env: str = "align*") -> str:
    r"""A derivation (symact.steps.Derivation) as LaTeX: ``f'(x) &= ... && \text{rule}`` rows
    inside ``env`` (``align*`` for a document, ``aligned`` inside ``$$ ... $$``)."""
    shown = f"{d.latex_name}(x)"
    if not d.steps:
        rows = [rf"{d.latex_name}'(x) &= 0"]
    else:
        rows = [rf"{d.latex_name}'(x) &= {sp.latex(d.steps[0].before)}"]
    for s in d.steps:
        rows.append(rf"&= {sp.latex(_show_y(s.after, shown))} && {s.latex_note}")
    return f"\\begin{{{env}}}\n" + " \\\\\n".join(rows) + f"\n\\end{{{env}}}"


def steps_to_text(d) -> str:
    """A derivation as readable Unicode text, one step per block, its rule on the right."""
    shown = f"{d.name}(x)"
    head = f"{d.name}'(x) = "
    if not d.steps:
        return head + "0"
    out = [_block(head, d.steps[0].before)]
    pad = " " * (len(head) - 2) + "= "
    for s in d.steps:
        block = _block(pad, _show_y(s.after, shown)).split("\n")
        base = next(i for i, row in enumerate(block) if row.startswith(pad))
        width = max(len(r) for r in block)
        block = [r.ljust(width) for r in block]
        block[base] += f"    [{s.text_note}]"
        out.append("\n".join(r.rstrip() for r in block))
    return "\n".join(out)
