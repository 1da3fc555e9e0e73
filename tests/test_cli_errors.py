"""Every user error of the ``symact`` command ends in one line on stderr and the exit code the
README's table documents; never a traceback. Run through a subprocess, as a user would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT

import symact
from symact import cli, errors


def readme_exit_codes() -> dict[int, str]:
    """The README's '## Exit codes of `symact`' table: code -> meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(c): m.strip() for c, m in re.findall(r"^\|\s*(\d+)\s*\|(.*)\|\s*$", section, re.M)}


def run(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "symact", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(out, code: int, fragment: str) -> None:
    assert out.returncode == code, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert fragment in lines[0], lines[0]
    assert code in readme_exit_codes(), f"exit code {code} is not in the README's table"


def test_readme_table_matches_errors_module():
    table = readme_exit_codes()
    for code, words in ((errors.EXIT_OK, "success"), (errors.EXIT_USAGE, "command line"),
                        (errors.EXIT_USER_ERROR, "unknown activation"),
                        (errors.EXIT_USER_ERROR, "parameter"), (errors.EXIT_DRIFT, "out of date"),
                        (errors.EXIT_IO, "not writable"), (errors.EXIT_INTERRUPTED, "interrupt")):
        assert words in table[code], (code, table[code])


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        # bad flag, unknown command, missing argument: argparse, exit 2
        (("generate", "--bogus"), 2, "unrecognized arguments: --bogus"),
        (("list", "--frobnicate"), 2, "unrecognized arguments: --frobnicate"),
        (("frobnicate",), 2, "invalid choice"),
        ((), 2, "required"),
        (("latex",), 2, "required: name"),
        (("generate", "--out"), 2, "expected one argument"),
        # bad parameter value of a command
        (("accuracy", "--density", "0"), 2, "--density: must be at least 1"),
        (("accuracy", "--density", "-3"), 2, "--density: must be at least 1"),
        (("accuracy", "--density", "lots"), 2, "--density: invalid int value"),
        (("generate", "--out", ""), 2, "--out: empty directory name"),
        # bad activation name: exit 3
        (("show", "nosuch"), 3, "unknown activation"),
        (("latex", "sigmod"), 3, "did you mean 'sigmoid'"),
        (("show", "../../etc/passwd"), 3, "unknown activation"),
        (("show", "x" * 5000), 3, "unknown activation"),
        # a pole (not among check_real's probe points): exit 3, where x is
        (("derive", "x**3/(2+3*x)"), 3, "pole at x = -2/3"),
        (("derive", "x/(x**2-2)"), 3, "pole at x = -sqrt(2)"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else str(v)[:30],
)
def test_user_error_is_one_line(args, code, fragment):
    assert_one_line_error(run(*args), code, fragment)


def test_output_under_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = run("generate", "--out", str(blocker / "sub"))
    assert_one_line_error(out, errors.EXIT_IO, "cannot write to")
    out = run("generate", "--out", str(blocker))  # an existing file, not a directory
    assert_one_line_error(out, errors.EXIT_IO, "cannot write to")
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_directory_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_one_line_error(run("generate", "--out", str(ro)), errors.EXIT_IO, "cannot write")
    finally:
        ro.chmod(0o755)


def test_failed_derive_leaves_no_directory(tmp_path):
    """A derive that fails (here a parse error, found in the budgeted child) removes the --out
    directories it made, and leaves an existing one as it was."""
    out = tmp_path / "new" / "deeper"
    assert_one_line_error(run("derive", "x*erf(", "--out", str(out)), errors.EXIT_USER_ERROR,
                          "expected")
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    run("derive", "x*erf(", "--out", str(tmp_path / "kept"))
    assert (tmp_path / "kept").is_dir()


def test_owned_name_taken_by_a_directory_is_one_line(tmp_path):
    (tmp_path / "activations.c").mkdir()
    out = run("generate", "--out", str(tmp_path))
    assert_one_line_error(out, errors.EXIT_IO, "cannot write to")
    assert (tmp_path / "activations.c").is_dir()


def test_accuracy_without_generated_code_is_one_line(tmp_path):
    out = run("accuracy", "--density", "1", "--out", str(tmp_path / "missing"))
    assert_one_line_error(out, errors.EXIT_IO, "no generated code in")


def test_interrupt_is_one_line_and_leaves_no_temporary(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "symact", "generate", "--out", str(tmp_path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)  # past the imports, inside the derivations
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("generation finished before the interrupt")
    assert proc.returncode == errors.EXIT_INTERRUPTED, err
    assert err.strip() == "symact: interrupted" and "Traceback" not in err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".symact-tmp-")]


def test_unencodable_output_is_escaped_not_a_traceback():
    """LC_ALL=C with a Latin-1 stdout: 'show' prints an escape for '⋅', exit 0."""
    env = dict(os.environ, PYTHONIOENCODING="latin-1")
    out = run("show", "sigmoid", env=env)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "\\u22c5" in out.stdout


def test_every_symact_error_maps_to_its_exit_code(monkeypatch, capsys):
    """main() turns each SymactError subclass into one stderr line and its own code."""
    cases = [(errors.UnknownActivationError("unknown activation 'q'"), 3),
             (errors.ParameterError("leaky_relu: alpha = -1.0 is outside its valid range"), 3),
             (errors.ExpressionError("bad expression"), 3),
             (errors.OutputError("cannot write to /x: Permission denied"), 5)]
    for exc, code in cases:
        def boom(args, exc=exc):
            raise exc

        monkeypatch.setattr(cli, "_cmd_list", boom)
        assert cli.main(["list"]) == code
        err = capsys.readouterr().err
        assert err == f"symact: error: {exc}\n" and code in readme_exit_codes()


@pytest.mark.parametrize("value", [-1.0, 0.0, float("nan"), float("inf"), "abc", None, "1e999"])
def test_bad_parameter_values_raise_parameter_error(value):
    """Parameter values from a user (text or number): a ParameterError with one line."""
    tested = 0
    for act in symact.all_activations():
        for param in act.spec.params:
            if value in (-1.0, 0.0) and param.contains(float(value)):
                continue  # inside this parameter's range
            with pytest.raises(errors.ParameterError) as info:
                act.check_params({param.name: value})
            assert "\n" not in str(info.value) and param.name in str(info.value)
            tested += 1
    assert tested or value in (-1.0, 0.0)
    with pytest.raises(errors.ParameterError, match="has no parameter"):
        symact.all_activations()[0].check_params({"no_such_parameter": 1.0})
