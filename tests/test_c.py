"""The generated C library: warning-free under gcc and clang, clean under ASan + UBSan and
valgrind memcheck (tests/c/test_activations.c, driven over every kernel in activations.h).

Locally a missing compiler or valgrind skips; in CI (CI=true) it fails: .ci/run installs them.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, STRICT, need

from symact.build import parse_header

GEN = ROOT / "generated"
DRIVER = ROOT / "tests" / "c" / "test_activations.c"


def c_float(v: float) -> str:
    return repr(float(v))


def write_kernels_inc(header: Path, out: Path) -> int:
    """kernels.inc for the driver: one wrapper set per kernel of ``header``, passing each
    parameter's default (from the header's ``name: default v`` comments). Returns the count."""
    specs = parse_header(header)
    lines = []
    for name, spec in specs.items():
        d_args = "".join(f", {c_float(spec.defaults[p])}" for p in spec.params)
        f_args = "".join(f", {c_float(spec.defaults[p])}f" for p in spec.params)
        lines += [
            f"static double d_{name}(double x) {{ return symact_{name}(x{d_args}); }}",
            f"static float f_{name}(float x) {{ return symact_{name}f(x{f_args}); }}",
            f"static void ad_{name}(const double *x, double *y, size_t n) "
            f"{{ symact_{name}_array(x, y, n{d_args}); }}",
            f"static void af_{name}(const float *x, float *y, size_t n) "
            f"{{ symact_{name}_arrayf(x, y, n{f_args}); }}",
        ]
    lines.append("static const struct kernel KERNELS[] = {")
    lines += [f'    {{"{n}", d_{n}, f_{n}, ad_{n}, af_{n}}},' for n in specs]
    lines += ["};", "#define N_KERNELS (sizeof KERNELS / sizeof KERNELS[0])", ""]
    out.write_text("\n".join(lines), encoding="utf-8")
    return len(specs)


@pytest.fixture(scope="module")
def inc_dir(tmp_path_factory) -> tuple[Path, int]:
    d = tmp_path_factory.mktemp("driver")
    return d, write_kernels_inc(GEN / "activations.h", d / "kernels.inc")


def build_driver(compiler: str, inc: Path, exe: Path, *flags: str) -> None:
    cmd = [compiler, "-std=c99", "-g", *flags, f"-I{inc}", f"-I{GEN}", str(DRIVER),
           str(GEN / "activations.c"), "-o", str(exe), "-lm"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def check_driver_output(out: subprocess.CompletedProcess, n_kernels: int) -> None:
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith(f"kernels={n_kernels} ") and last.endswith(" failures=0"), last
    assert int(last.split()[1].split("=")[1]) > 1000 * n_kernels  # it checked something


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
@pytest.mark.parametrize("opt", ["-O0", "-O2"])
@pytest.mark.parametrize("source", ["activations.c", "activations.h"])
def test_strict_compile(tmp_path, compiler, opt, source):
    """No warning under -Wall -Wextra -Wpedantic -Wconversion -Werror (the header alone too)."""
    cc = need(compiler)
    lang = ["-x", "c"] if source.endswith(".h") else []
    out = subprocess.run([cc, *STRICT, opt, *lang, "-c", str(GEN / source),
                          "-o", str(tmp_path / "a.o")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


def test_kernels_inc_covers_every_kernel(inc_dir):
    """The driver's kernel table is the header's: every activation and its derivative."""
    import symact

    _, n = inc_dir
    assert n == sum(len(a.kernels) for a in symact.all_activations())


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_driver_under_asan_ubsan(tmp_path, inc_dir, compiler):
    cc = need(compiler)
    inc, n = inc_dir
    exe = tmp_path / "driver"
    build_driver(cc, inc, exe, "-O1", "-fno-omit-frame-pointer",
                 "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                 "-Wall", "-Wextra", "-Werror")
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600, env=env)
    assert "runtime error" not in out.stderr and "Sanitizer" not in out.stderr, out.stderr[-3000:]
    check_driver_output(out, n)


def test_driver_under_valgrind(tmp_path, inc_dir):
    valgrind = need("valgrind")
    cc = need("gcc")
    inc, n = inc_dir
    exe = tmp_path / "driver"
    build_driver(cc, inc, exe, "-O2")
    out = subprocess.run([valgrind, "-q", "--error-exitcode=1", "--leak-check=full",
                          "--errors-for-leak-kinds=all", "--show-leak-kinds=all", str(exe)],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    # (Debian's valgrind is a shell script: run from a directory that surely exists)
    assert out.stderr.strip() == "", out.stderr[-3000:]
    check_driver_output(out, n)


def test_driver_detects_a_broken_kernel(tmp_path, inc_dir):
    """The driver can fail: an _array that writes one element too far is reported."""
    cc = need("gcc")
    inc, _ = inc_dir
    broken = tmp_path / "kernels.inc"
    text = (inc / "kernels.inc").read_text(encoding="utf-8")
    first = parse_header(GEN / "activations.h")
    name = next(iter(first))
    text = text.replace(
        f"static void ad_{name}(const double *x, double *y, size_t n) {{",
        f"static void ad_{name}(const double *x, double *y, size_t n) {{ if (n) y[n] = 0.0;", 1)
    broken.write_text(text, encoding="utf-8")
    exe = tmp_path / "driver"
    build_driver(cc, tmp_path, exe, "-O1")
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 1
    assert f"FAIL {name}: _array wrote past y[n-1]" in out.stdout
