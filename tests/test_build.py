"""symact.build: the compiled C kernels agree with the generated NumPy module; the fallback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from symact import build as symbuild
from symact.build import BuildError, Kernels, build, compiled, load, parse_header

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "generated" / "activations.h"
SPECS = parse_header(HEADER)
NAMES = sorted(SPECS)

needs_cc = pytest.mark.skipif(
    not (os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")), reason="no C compiler"
)

BIG = [0.0, -0.0, 1e-300, -1e-300, 5e-324, 88.0, -88.0, 100.0, -100.0, 700.0, -700.0, 710.0,
       -710.0, 745.0, -745.0, 1e5, -1e5, 1e300, -1e300, 1.7976931348623157e308, np.inf, -np.inf,
       np.nan]
SAMPLE = np.concatenate([np.linspace(-50, 50, 1001), BIG])


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place between same-dtype arrays (NaN = NaN, -0 = +0)."""
    assert a.dtype == b.dtype
    itype = np.int64 if a.dtype == np.float64 else np.int32
    low = np.iinfo(itype).min

    def ordered(v: np.ndarray) -> np.ndarray:
        i = v.view(itype)
        return np.where(i < 0, low - i, i).astype(object)  # monotone in v; object: no overflow

    d = np.abs(ordered(a) - ordered(b))
    both_nan = np.isnan(a) & np.isnan(b)
    one_nan = np.isnan(a) ^ np.isnan(b)
    return np.where(both_nan, 0, np.where(one_nan, 2**64, d)).astype(float)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Kernels:
    if not (os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler")
    return load(cache_dir=tmp_path_factory.mktemp("symact-cache"))


@pytest.fixture(scope="module")
def gen():
    import generated.activations as module

    return module


def param_sets(name: str) -> list[dict[str, float]]:
    """Defaults (when every parameter has one) plus one explicit non-default choice."""
    spec = SPECS[name]
    sets = [{}] if set(spec.params) <= set(spec.defaults) else []
    if spec.params:
        sets.append({p: 0.25 for p in spec.params})
    return sets


def test_header_parsed():
    assert {"sigmoid", "sigmoid_prime", "leaky_relu", "silu_prime"} <= set(SPECS)
    assert SPECS["leaky_relu"].params == ("alpha",)
    assert SPECS["leaky_relu_prime"].defaults == {"alpha": 0.01}
    assert SPECS["sigmoid"].params == ()


@needs_cc
@pytest.mark.parametrize("name", NAMES)
def test_float64_within_4_ulp(kernels, gen, name):
    for params in param_sets(name):
        want = gen.__dict__[name](SAMPLE, **params)
        got = kernels[name](SAMPLE, **params)
        assert got.dtype == np.float64 and got.shape == SAMPLE.shape
        err = ulps(got, want)
        # each is within 4 ULP of the exact value (tests/test_accuracy.py), so within 8 of each
        # other, except where the kernel itself is ill-conditioned (gelu_tanh's tail)
        over = [i for i in np.flatnonzero(err > 8) if not _ill(name, float(SAMPLE[i]), params)]
        worst = max(over, key=lambda i: err[i], default=None)
        assert worst is None, f"{name}({SAMPLE[worst]!r}, {params}) = {got[worst]!r}, " \
                              f"NumPy module {want[worst]!r}: {err[worst]:.0f} ULP"


def _ill(name: str, xv: float, params: dict[str, float]) -> bool:
    """Is kernel ``name`` ill-conditioned at xv (|x g'/g| > 100)? verify.Conditioning."""
    import symact
    from symact.verify import Conditioning

    for act in symact.all_activations():
        for kernel in act.kernels:
            if act.name + kernel.suffix == name:
                values = dict(act.defaults)
                values.update({act.symbols[k]: v for k, v in params.items()})
                return Conditioning(kernel.exact, act.x, values).ill(xv)
    return False


@needs_cc
@pytest.mark.parametrize("name", NAMES)
def test_float32_within_1_ulp(kernels, gen, name):
    with np.errstate(over="ignore"):
        x = SAMPLE.astype(np.float32)
    for params in param_sets(name):
        want = gen.__dict__[name](x, **params)
        got = kernels[name](x, **params)
        assert got.dtype == np.float32 and want.dtype == np.float32
        err = ulps(got, want)
        worst = int(np.argmax(err))
        assert err[worst] <= 1, f"{name}({x[worst]!r}, {params}) = {got[worst]!r}, " \
                                f"NumPy module {want[worst]!r}: {err[worst]:.0f} ULP"


@needs_cc
def test_shapes_dtypes_and_out(kernels, gen):
    x = np.linspace(-4, 4, 24).reshape(2, 3, 4)
    for dtype in (np.float64, np.float32):
        xd = x.astype(dtype)
        y = kernels.sigmoid(xd)
        assert y.shape == x.shape and y.dtype == dtype
        out = np.empty_like(xd)
        assert kernels.sigmoid(xd, out=out) is out
        np.testing.assert_array_equal(out, y)
    strided = x.reshape(-1)[::3]  # not contiguous: converted, same values
    np.testing.assert_allclose(kernels.silu(strided), gen.silu(strided), rtol=1e-15)
    out_t = np.empty((4, 3, 2)).T  # Fortran-ordered out: filled through a copy
    assert kernels.tanh(x, out=out_t) is out_t
    np.testing.assert_allclose(out_t, gen.tanh(x), rtol=1e-15)
    ints = kernels.relu(np.arange(-3, 4))
    assert ints.dtype == np.float64 and ints.tolist() == [0, 0, 0, 0, 1, 2, 3]
    assert kernels.sigmoid([0.0, 0.0]).tolist() == [0.5, 0.5]
    assert np.ndim(kernels.sigmoid(0.0)) == 0 and kernels.sigmoid(0.0) == 0.5
    half = kernels.softplus(x.astype(np.float16))
    assert half.dtype == np.float16
    np.testing.assert_array_equal(half, gen.softplus(x.astype(np.float16)))
    with pytest.raises(ValueError, match="shape"):
        kernels.sigmoid(x, out=np.empty(3))
    with pytest.raises(TypeError):
        kernels.sigmoid(np.array(["a"]))


@needs_cc
def test_parameters(kernels):
    x = np.array([-2.0, 3.0])
    assert kernels.leaky_relu(x).tolist() == [-0.02, 3.0]
    assert kernels.leaky_relu(x, alpha=0.5).tolist() == [-1.0, 3.0]
    with pytest.raises(TypeError, match="beta"):
        kernels.leaky_relu(x, beta=1.0)
    assert kernels.swish is kernels.silu  # aliases from the header comments


@needs_cc
def test_no_ftz_after_loading(kernels):
    """The library must not switch on flush-to-zero / denormals-are-zero for the process."""
    kernels.sigmoid(np.ones(4))
    tiny = np.array([2.2250738585072014e-308])
    assert (tiny / 4)[0] > 0
    assert (np.array([1e-310]) * 1.0)[0] == 1e-310


@needs_cc
def test_cache_reused_and_keyed(tmp_path):
    lib = build(cache_dir=tmp_path)
    stamp = lib.stat().st_mtime_ns
    assert build(cache_dir=tmp_path) == lib and lib.stat().st_mtime_ns == stamp
    fast = build(cache_dir=tmp_path, fast=True)
    assert fast != lib and fast.exists()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


@needs_cc
def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path / "env-cache"))
    assert build().is_relative_to(tmp_path / "env-cache")


@needs_cc
def test_compile_error_is_a_build_error(tmp_path):
    shutil.copy(HEADER, tmp_path / "activations.h")
    (tmp_path / "activations.c").write_text("#include \"activations.h\"\nint broken( {\n")
    with pytest.raises(BuildError, match="compiling activations.c"):
        build(source_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_no_compiler_falls_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CC", "/nonexistent")
    with pytest.raises(BuildError, match=r"install gcc or set CC") as info:
        build(cache_dir=tmp_path)
    assert "\n" not in str(info.value) and "/nonexistent" in str(info.value)
    with pytest.raises(BuildError):
        compiled(fallback=False, cache_dir=tmp_path)

    monkeypatch.setattr(symbuild, "_warned", False)
    k = compiled(cache_dir=tmp_path)
    k2 = compiled(cache_dir=tmp_path)
    err = capsys.readouterr().err
    assert err.count("using the NumPy module instead") == 1 and "install gcc or set CC" in err
    assert k.path is None and k2.path is None and "sigmoid" in k
    x = np.linspace(-5, 5, 11, dtype=np.float32)
    out = np.empty_like(x)
    assert k.sigmoid(x, out=out) is out and out.dtype == np.float32
    assert k.leaky_relu(np.array([-1.0]), alpha=0.5).tolist() == [-0.5]
    assert not list(tmp_path.iterdir())


def test_cli_build(tmp_path, monkeypatch, capsys):
    """`symact build` prints the library path (exit 0); without a compiler or without generated
    C, one line on stderr and exit code 6 (README)."""
    from symact.cli import main
    from symact.errors import EXIT_BUILD

    monkeypatch.setenv("SYMACT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", "/nonexistent")
    assert main(["build", "--source", str(ROOT / "generated")]) == EXIT_BUILD
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "install gcc or set CC" in err
    monkeypatch.delenv("CC")
    assert main(["build", "--source", str(tmp_path)]) == EXIT_BUILD
    assert "symact generate" in capsys.readouterr().err
    if not shutil.which("cc") and not shutil.which("gcc"):
        return
    assert main(["build", "--source", str(ROOT / "generated")]) == 0
    lib = Path(capsys.readouterr().out.split()[0])
    assert lib.exists() and lib.is_relative_to(tmp_path / "cache")


@needs_cc
def test_fast_build_calls_vector_libm(tmp_path):
    """The fast build links glibc's vector exp (libmvec) on x86-64 glibc >= 2.35; the accurate
    build only the scalar one. Checked in the compiled library's undefined symbols with nm."""
    import platform
    import subprocess

    if platform.machine() != "x86_64" or not shutil.which("nm"):
        pytest.skip("libmvec check needs x86-64 and nm")
    libc = platform.libc_ver()
    if libc[0] != "glibc" or tuple(int(v) for v in libc[1].split(".")[:2]) < (2, 35):
        pytest.skip("libmvec exp/log1p need glibc >= 2.35")

    def undefined(lib: Path) -> str:
        return subprocess.run(["nm", "-D", "--undefined-only", str(lib)], capture_output=True,
                              text=True, check=True).stdout

    assert "_ZGV" in undefined(build(cache_dir=tmp_path, fast=True))
    assert "_ZGV" not in undefined(build(cache_dir=tmp_path))


def _installed_layout(site: Path) -> None:
    """symact as pip installs it (pyproject's packages and package data): symact/, its
    templates, and the generated sources as symact/generated, with no checkout around."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    conf = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert conf["package-dir"]["symact.generated"] == "generated"
    shutil.copytree(root / "symact", site / "symact",
                    ignore=shutil.ignore_patterns("__pycache__", "templates", "generated"))
    shutil.copytree(root / "templates", site / "symact" / "templates")
    gen = site / "symact" / "generated"
    gen.mkdir()
    for name in ["__init__.py", "activations.py", *conf["package-data"]["symact.generated"]]:
        shutil.copy(root / "generated" / name, gen / name)


def test_installed_package_builds_outside_a_checkout(tmp_path):
    """After `pip install .` (no checkout on the path), compiled() and `symact build` find the
    generated sources installed with the package; sigmoid(0) = 1/2 and sigmoid(2) against
    1/(1 + e^-2) from math, in C."""
    import subprocess
    import sys

    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler")
    site, work = tmp_path / "site", tmp_path / "work"
    _installed_layout(site)
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "SYMACT_CACHE_DIR": str(tmp_path / "cache")}
    code = ("import math; from symact.build import compiled, SOURCE_DIR; k = compiled("
            "fallback=False); y = k.sigmoid([0.0, 2.0]); print(SOURCE_DIR); "
            "assert y[0] == 0.5 and abs(y[1] - 1 / (1 + math.exp(-2))) < 1e-15, y")
    out = subprocess.run([sys.executable, "-c", code], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == site / "symact" / "generated"
    cli = subprocess.run([sys.executable, "-m", "symact", "build"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert cli.returncode == 0 and "kernels, accurate build" in cli.stdout, cli.stderr
