"""f, f' and f'' of an activation on one figure, formulas in the legend (matplotlib, optional).

Curves are the exact SymPy expressions evaluated with mpmath at the default parameters; at a
kink the curve is broken and a dot marks the value the convention gives (relu'(0) = 0).
f'' is drawn where it is not identically zero. matplotlib is imported only here, without
pyplot, so a user's backend is never changed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mpmath
import sympy as sp

from .errors import SymactError

if TYPE_CHECKING:
    from .activation import Activation

X_RANGE = (-5.0, 5.0)
SAMPLES = 801
MISSING = "plotting needs matplotlib: pip install 'symact[plot]'"


class MissingDependencyError(SymactError):
    """An optional dependency (matplotlib) is not installed."""


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError(MISSING) from None
    return matplotlib, Figure, FigureCanvasAgg


def matplotlib_version() -> str | None:
    """The installed matplotlib's version, or None."""
    try:
        import matplotlib
    except ImportError:
        return None
    return matplotlib.__version__


@dataclass(frozen=True)
class Curve:
    label: str
    expr: sp.Expr


def curves(act: Activation) -> list[Curve]:
    """f, f', and f'' unless it is identically zero, each with a legend label."""
    from .derive import derivative
    from .explain import _latex_name

    name = _latex_name(act)
    out = [Curve(_label(f"{name}(x)", act.expr), act.expr),
           Curve(_label(f"{name}'(x)", act.derivative), act.derivative)]
    second = derivative(act.expr, act.x, order=2)
    if second != 0:
        out.append(Curve(_label(f"{name}''(x)", second), second))
    return out


def _label(lhs: str, expr: sp.Expr) -> str:
    """``$lhs = formula$`` in matplotlib's mathtext; Piecewise as 'a if c, else b'; a formula
    mathtext cannot parse, or one too long for a legend, is left out."""
    if isinstance(expr, sp.Piecewise):
        parts = []
        for e, c in expr.args:
            if c is sp.true:
                parts.append(f"else ${sp.latex(e)}$")
            else:
                parts.append(f"${sp.latex(e)}$ if ${sp.latex(c)}$")
        text = f"${lhs}$ = " + ", ".join(parts)
    else:
        text = f"${lhs} = {sp.latex(expr)}$"
    short = len(text) <= 120
    text = text.replace(r"\frac", r"\dfrac")  # legible fractions in a legend
    if not short or not _parses(text):
        return f"${lhs}$"
    return text


def _parses(text: str) -> bool:
    try:
        from matplotlib.mathtext import MathTextParser
    except ImportError:
        return True
    try:
        MathTextParser("path").parse(text)
    except ValueError:
        return False
    return True


def _evaluator(expr: sp.Expr, act: Activation):
    from .steps import _for_mpmath

    fn = sp.lambdify([act.x, *act.defaults], _for_mpmath(expr), modules="mpmath")
    params = [mpmath.mpf(v) for v in act.defaults.values()]

    def f(t: float) -> float:
        try:
            return float(fn(mpmath.mpf(t), *params))
        except (ZeroDivisionError, ValueError, OverflowError):
            return float("nan")

    return f


def kinks(act: Activation) -> list[float]:
    """x where a Piecewise condition or a Max/Min switches, inside the plotted range."""
    x, found = act.x, set()
    for node in sp.preorder_traversal(act.expr):
        eqs = []
        if isinstance(node, sp.Piecewise):
            eqs = [r.lhs - r.rhs for _, c in node.args for r in c.atoms(sp.Rel)]
        elif isinstance(node, (sp.Max, sp.Min)):
            eqs = [a - b for a in node.args for b in node.args if a != b]
        elif isinstance(node, (sp.Heaviside, sp.Abs, sp.sign)):
            eqs = [node.args[0]]
        for eq in eqs:
            try:
                sols = sp.solve(sp.sympify(eq).subs(act.defaults), x)
            except (NotImplementedError, ValueError, TypeError):
                continue
            for s in sols:
                if s.is_real and X_RANGE[0] < float(s) < X_RANGE[1]:
                    found.add(float(s))
    return sorted(found)


def _segments(points: list[float]) -> list[tuple[float, float]]:
    edges = [X_RANGE[0], *points, X_RANGE[1]]
    return list(zip(edges[:-1], edges[1:], strict=False))


def figure(act: Activation):
    """The matplotlib Figure (Agg canvas attached)."""
    _, Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(7.0, 4.4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ks = kinks(act)
    eps = 1e-9
    colors = ("C0", "C1", "C2")
    for curve, color in zip(curves(act), colors, strict=False):
        f = _evaluator(curve.expr, act)
        label = curve.label
        for a, b in _segments(ks):
            n = max(2, int(SAMPLES * (b - a) / (X_RANGE[1] - X_RANGE[0])))
            ts = [a + (b - a) * i / (n - 1) for i in range(n)]
            ts[0], ts[-1] = (a + eps if a in ks else a), (b - eps if b in ks else b)
            ax.plot(ts, [f(t) for t in ts], color=color, label=label, linewidth=1.8)
            label = None
        for k in ks:
            left, right, at = f(k - eps), f(k + eps), f(k)
            if abs(left - right) > 1e-6:
                ax.plot([k], [at], "o", color=color, markersize=5)
                other = right if abs(at - left) < abs(at - right) else left
                ax.plot([k], [other], "o", color=color, markersize=5, markerfacecolor="white")
    ax.axhline(0, color="0.6", linewidth=0.8)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.grid(True, color="0.9")
    ax.set_xlim(*X_RANGE)
    ax.set_xlabel("$x$")
    params = ", ".join(f"{k} = {v!r}" for k, v in act.params.items())
    ax.set_title(act.name + (f"  ({params})" if params else ""))
    ax.legend(loc="best", fontsize=10, framealpha=0.9, labelspacing=0.8)
    fig.tight_layout()
    return fig


def png_bytes(act: Activation) -> bytes:
    """The figure as PNG, without a timestamp or version in its metadata (deterministic)."""
    buf = io.BytesIO()
    figure(act).savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def plot(act: Activation, path: Path) -> None:
    """Draw ``act`` into ``path``; the format follows the suffix (png, pdf, svg)."""
    from .emit import write_atomic
    from .errors import OutputError

    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt == "png":
        data = png_bytes(act)
    else:
        buf = io.BytesIO()
        try:
            figure(act).savefig(buf, format=fmt)
        except ValueError as exc:
            raise SymactError(f"cannot draw {path.name}: {exc}") from None
        data = buf.getvalue()
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
