"""The command line, through a subprocess, error paths included."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

import symact


def run(*args, cwd=ROOT, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "symact", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_list_one_line_per_activation():
    out = run("list")
    assert out.returncode == 0
    lines = out.stdout.strip().splitlines()
    from symact.vector import vector_activations

    assert len(lines) == len(symact.names()) + len(vector_activations())
    assert any(line.startswith("silu") and "swish" in line for line in lines)


def test_show_has_output_form_text():
    out = run("show", "sigmoid")
    assert out.returncode == 0
    assert "y⋅(1 - y)" in out.stdout and "sigmoid'(x)" in out.stdout


def test_latex_identity():
    out = run("latex", "sigmoid")
    assert out.returncode == 0
    assert r"\sigma'(x) &= \sigma(x) \left(1 - \sigma(x)\right)" in out.stdout


def test_alias_accepted():
    assert run("show", "swish").returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("show", "nosuch"), 3, "unknown activation 'nosuch'"),
        (("latex", "sigmod"), 3, "did you mean 'sigmoid'"),
        (("frobnicate",), 2, "invalid choice"),
        (("show",), 2, "required"),
        (("generate", "--bogus"), 2, "unrecognized arguments"),
    ],
)
def test_user_errors_are_one_line(args, code, fragment):
    out = run(*args)
    assert out.returncode == code
    assert fragment in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_generate_out_and_check(tmp_path):
    target = tmp_path / "gen"
    assert run("generate", "--out", str(target)).returncode == 0
    for name in ("activations.py", "activations.h", "activations.c", "__init__.py"):
        assert (target / name).read_bytes() == (ROOT / "generated" / name).read_bytes()
    assert run("generate", "--check", "--out", str(target)).returncode == 0
    (target / "activations.c").write_text("/* stale */\n")
    (target / "activations.py").unlink()
    out = run("generate", "--check", "--out", str(target))
    assert out.returncode == 4
    assert "activations.c" in out.stderr and "activations.py" in out.stderr
    assert (target / "activations.c").read_text() == "/* stale */\n"  # --check writes nothing


def test_generate_leaves_other_files_alone(tmp_path):
    (tmp_path / "mine.txt").write_text("keep")
    assert run("generate", "--out", str(tmp_path)).returncode == 0
    assert (tmp_path / "mine.txt").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_generate_unwritable_output_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = run("generate", "--out", str(blocker / "sub"))
    assert out.returncode == 5
    assert len(out.stderr.strip().splitlines()) == 1 and "cannot write" in out.stderr


#: Derived from scratch (no kernel cache) under each hash seed: a sample of the catalog that
#: exercises every stage (patches, parameters, rational lowering, Gaussian tails, hypot).
SEED_SAMPLE = ["sigmoid", "silu", "mish", "gelu", "hard_tanh", "squareplus", "celu"]
_RENDER = (
    "import sys, symact; from symact.emit import render_all; "
    "files = render_all([symact.get(n) for n in sys.argv[1:]]); "
    "sys.stdout.write(''.join(files[k] for k in sorted(files)))"
)


def test_derivation_is_byte_identical_across_hash_seeds(tmp_path):
    outs = []
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed, LC_ALL="C", SYMACT_NO_CACHE="1",
                   PYTHONPATH=str(ROOT))
        out = subprocess.run([sys.executable, "-c", _RENDER, *SEED_SAMPLE], env=env,
                             capture_output=True, text=True, timeout=900)
        assert out.returncode == 0, out.stderr
        outs.append(out.stdout)
    assert outs[0] == outs[1]


def test_committed_generated_is_up_to_date():
    """Derived from scratch: no kernel cache and no record (generated/kernels.json), so this
    proves the committed files, the record included, are what symact's source produces."""
    out = run("generate", "--check", env=dict(os.environ, SYMACT_NO_CACHE="1"), timeout=1200)
    assert out.returncode == 0, out.stderr
