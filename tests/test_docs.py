"""symact docs (generated/README.md and plots) and symact plot: drift, content, and that the
curves drawn are f, f' and f'' (checked against mpmath's numeric derivatives of f)."""

from __future__ import annotations

import os
import subprocess
import sys

import mpmath
import pytest
import sympy as sp
from conftest import ROOT

import symact
from symact.docs import README, check_docs, render_readme, write_docs


def need_matplotlib():
    """The plot tests need matplotlib (in the test extra); never skipped in CI."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("matplotlib missing in CI (it is in the test extra)")
        pytest.skip("matplotlib not installed")


def test_committed_readme_is_current():
    assert (ROOT / "generated" / README).read_bytes() == render_readme().encode("utf-8")


def test_readme_has_every_activation():
    text = render_readme()
    assert text.count("$$") % 2 == 0
    assert all(b.strip() for b in text.split("$$")[1::2])
    for act in symact.all_activations():
        assert f"\n## {act.name}\n" in text
        assert f"(plots/{act.name}.png)" in text
        assert sp.latex(act.expr) in text and sp.latex(act.derivative) in text
        for p in act.spec.params:
            assert f"| `{p.name}` | {p.default!r} |" in text
        if act.conventions:
            assert act.conventions in text
    assert r"\sigma'(x) = y \left(1 - y\right)" in text


def test_check_reports_missing_and_corrupt(tmp_path):
    stale = check_docs(tmp_path)
    assert str(tmp_path / README) in stale
    assert len(stale) == 1 + len(symact.names())
    committed = ROOT / "generated"
    (tmp_path / "plots").mkdir()
    (tmp_path / README).write_bytes((committed / README).read_bytes())
    for act in symact.all_activations():
        (tmp_path / "plots" / f"{act.name}.png").write_bytes(b"not a png")
    assert len(check_docs(tmp_path)) == len(symact.names())
    assert check_docs(committed) == []


def test_write_then_check(tmp_path):
    need_matplotlib()
    lines = write_docs(tmp_path)
    assert any("README.md" in line for line in lines)
    assert check_docs(tmp_path) == []
    assert write_docs(tmp_path) == [f"{tmp_path}: up to date"]
    png = tmp_path / "plots" / "relu.png"
    png.write_bytes(png.read_bytes()[:-10])
    assert check_docs(tmp_path) == [str(png)]
    (tmp_path / README).write_text("edited\n")
    assert str(tmp_path / README) in check_docs(tmp_path)
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_png_is_deterministic():
    need_matplotlib()
    from symact.plot import png_bytes

    act = symact.get("silu")
    a, b = png_bytes(act), png_bytes(act)
    assert a == b and a.startswith(b"\x89PNG")


@pytest.mark.parametrize("act", symact.all_activations(), ids=symact.names())
def test_plotted_curves_are_f_and_its_derivatives(act):
    """Every drawn point of f' (and f'') is mpmath's numeric derivative of the definition."""
    need_matplotlib()
    from symact.plot import figure, kinks

    fig = figure(act)
    ax = fig.axes[0]
    f = sp.lambdify([act.x, *act.defaults], act.expr, modules="mpmath")
    params = list(act.defaults.values())
    ks = kinks(act)
    by_color: dict[str, list] = {}
    for line in ax.get_lines():
        if line.get_linestyle() != "None" and len(line.get_xdata()) > 2:
            by_color.setdefault(line.get_color(), []).append(line)
    orders = {"C0": 0, "C1": 1, "C2": 2}
    assert set(by_color) <= set(orders) and {"C0", "C1"} <= set(by_color)
    for color, lines in by_color.items():
        n = orders[color]
        for line in lines:
            xs, ys = line.get_xdata(), line.get_ydata()
            for t, v in list(zip(xs, ys, strict=True))[::37]:
                if any(abs(t - k) < 1e-3 for k in ks):
                    continue
                with mpmath.workdps(30):
                    want = mpmath.diff(lambda s: f(s, *params), mpmath.mpf(float(t)), n)
                assert abs(v - float(want)) < 1e-9 * max(1, abs(float(want))), (n, t, v, want)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("$") and "(x)" in labels[0]


def test_legend_shows_formula():
    need_matplotlib()
    from symact.plot import figure

    labels = [t.get_text() for t in figure(symact.get("sigmoid")).axes[0].get_legend().get_texts()]
    assert labels[0] == r"$\sigma(x) = \dfrac{1}{1 + e^{- x}}$"
    assert len(labels) == 3  # sigmoid'' is not zero


def test_kink_dot_marks_the_convention():
    """relu'(0) = 0: a filled dot at (0, 0), an open one at (0, 1)."""
    need_matplotlib()
    from symact.plot import figure

    ax = figure(symact.get("relu")).axes[0]
    dots = [(line.get_xdata()[0], line.get_ydata()[0], line.get_markerfacecolor())
            for line in ax.get_lines() if line.get_marker() == "o" and line.get_color() == "C1"]
    assert (0.0, 0.0) in [(x, y) for x, y, face in dots if face != "white"]
    assert (0.0, 1.0) in [(x, y) for x, y, face in dots if face == "white"]


def run(*args, pre=""):
    code = pre + "import sys; from symact.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_without_matplotlib_one_line(tmp_path):
    out = run("plot", "relu", "-o", str(tmp_path / "r.png"),
              pre="import sys; sys.modules['matplotlib'] = None; ")
    assert out.returncode == 3
    assert out.stderr == "symact: error: plotting needs matplotlib: pip install 'symact[plot]'\n"
    out = run("docs", "--out", str(tmp_path), pre="import sys; sys.modules['matplotlib'] = None; ")
    assert out.returncode == 3 and "pip install 'symact[plot]'" in out.stderr
    assert len(out.stderr.splitlines()) == 1
    assert (tmp_path / README).read_bytes() == render_readme().encode("utf-8")


def test_plot_cli(tmp_path):
    need_matplotlib()
    out = run("plot", "tanh", "-o", str(tmp_path / "t.png"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")
    out = run("plot", "tanh", "-o", str(tmp_path / "t.svg"))
    assert out.returncode == 0 and b"<svg" in (tmp_path / "t.svg").read_bytes()
    out = run("plot", "nosuch")
    assert out.returncode == 3 and len(out.stderr.splitlines()) == 1
    out = run("plot", "tanh", "-o", str(tmp_path / "no" / "dir" / "t.png"))
    assert out.returncode == 5 and len(out.stderr.splitlines()) == 1


def test_docs_check_cli():
    out = run("docs", "--check")
    assert out.returncode == 0, out.stderr
