"""Shared fixtures: the generated module, the compiled C library, cached references."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI must not be flaky: hypothesis draws the same examples on every run (a database-free,
# derandomized profile); run with HYPOTHESIS_PROFILE=explore locally to search afresh.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import symact  # noqa: E402
from symact.verify import Reference  # noqa: E402

KERNELS = [(a, k) for a in symact.all_activations() for k in a.kernels]
KERNEL_IDS = [a.name + k.suffix for a, k in KERNELS]


#: Warnings that fail a C build in the tests: generated C must compile clean under them.
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Werror"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(tool: str) -> str:
    """Path of ``tool``; skip without it, except in CI where it must be installed."""
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} is required in CI (.ci/run installs it with apt-get)")
        pytest.skip(f"{tool} not installed")
    return path


def cc() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


@pytest.fixture(scope="session")
def gen():
    import generated.activations as module

    return module


@pytest.fixture(scope="session")
def clib(tmp_path_factory):
    """generated/activations.c compiled with the system compiler, loaded with ctypes."""
    compiler = cc()
    if compiler is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("clib") / "libsymact.so"
    subprocess.run(
        [compiler, "-std=c99", "-O2", "-fPIC", "-shared", str(ROOT / "generated/activations.c"),
         "-o", str(out), "-lm"],
        check=True,
    )
    return ctypes.CDLL(str(out))


_REFS: dict[str, Reference] = {}


def reference(act, kernel) -> Reference:
    """The high-precision reference of a kernel, shared by every test of the session."""
    key = act.name + kernel.suffix
    if key not in _REFS:
        _REFS[key] = Reference(kernel.exact, act.x, act.defaults)
    return _REFS[key]


def c_array_fn(clib, name: str, nparams: int, dtype: str):
    """A NumPy-callable wrapper of symact_NAME_array(f) with the default parameters."""
    suffix = "_array" if dtype == "float64" else "_arrayf"
    cfn = getattr(clib, f"symact_{name}{suffix}")
    ctype = ctypes.c_double if dtype == "float64" else ctypes.c_float
    ptr = ctypes.POINTER(ctype)
    cfn.argtypes = [ptr, ptr, ctypes.c_size_t] + [ctype] * nparams
    cfn.restype = None

    def call(x, *params):
        x = np.ascontiguousarray(x, dtype=dtype)
        y = np.empty_like(x)
        cfn(x.ctypes.data_as(ptr), y.ctypes.data_as(ptr), x.size, *params)
        return y

    return call
