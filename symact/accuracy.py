"""``symact accuracy``: measure every generated kernel over the whole float range, in ULPs.

Runs the generated NumPy module and (when a C compiler is present) the generated C, float64 and
float32, against the mpmath reference; prints a table and can write ``generated/ACCURACY.md``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .activation import all_activations
from .verify import Conditioning, Reference, Report, measure, whole_range_points


def _load_numpy(gen_dir: Path):
    spec = importlib.util.spec_from_file_location("_symact_generated", gen_dir / "activations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_c(gen_dir: Path, tmp: Path):
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    lib = tmp / "libsymact_accuracy.so"
    subprocess.run([compiler, "-std=c99", "-O2", "-fPIC", "-shared",
                    str(gen_dir / "activations.c"), "-o", str(lib), "-lm"], check=True)
    return ctypes.CDLL(str(lib))


def _c_fn(lib, name: str, params: list[float], dtype: str):
    ctype = ctypes.c_double if dtype == "float64" else ctypes.c_float
    fn = getattr(lib, f"symact_{name}_array" + ("" if dtype == "float64" else "f"))
    ptr = ctypes.POINTER(ctype)
    fn.argtypes = [ptr, ptr, ctypes.c_size_t] + [ctype] * len(params)

    def call(x):
        x = np.ascontiguousarray(x, dtype=dtype)
        y = np.empty_like(x)
        fn(x.ctypes.data_as(ptr), y.ctypes.data_as(ptr), x.size, *params)
        return y

    return call


def run(gen_dir: Path = Path("generated"), density: int = 4) -> list[tuple[str, Report]]:
    """(implementation, report) for every kernel, dtype and implementation."""
    module = _load_numpy(gen_dir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = _load_c(gen_dir, Path(tmp))
        for act in all_activations():
            for kernel in act.kernels:
                name = act.name + kernel.suffix
                ref = Reference(kernel.exact, act.x, act.defaults)
                cond = Conditioning(kernel.exact, act.x, act.defaults)
                for dtype in ("float64", "float32"):
                    pts = whole_range_points(density, dtype)
                    fn = getattr(module, name)

                    def np_fn(x, fn=fn):
                        with np.errstate(over="raise", invalid="raise", divide="raise"):
                            return fn(x)

                    impls = [("numpy", np_fn)]
                    if lib is not None:
                        impls.append(("C", _c_fn(lib, name, list(act.params.values()), dtype)))
                    for impl, f in impls:
                        try:
                            report = measure(name, f, ref, pts, dtype, cond)
                        except (ArithmeticError, FloatingPointError) as exc:  # a failure row
                            report = Report(name, dtype, max_ulp=float("inf"),
                                            worst_x=float("nan"),
                                            failure=f"{type(exc).__name__}: {exc}")
                        rows.append((impl, report))
    return rows


def table(rows: list[tuple[str, Report]]) -> str:
    """A Markdown table of the reports."""
    out = ["| kernel | impl | dtype | max ULP | at x | points "
           "| ill-conditioned over the bar (max ULP) |",
           "|---|---|---|---|---|---|---|"]
    for impl, r in rows:
        ill = f"{r.ill_points} ({r.ill_max_ulp:.2f})" if r.ill_points else "0"
        at = r.failure.splitlines()[0][:60] if r.failure else f"{r.worst_x:.6g}"
        out.append(f"| {r.kernel} | {impl} | {r.dtype} | {r.max_ulp:.3f} | {at} | "
                   f"{r.points} | {ill} |")
    return "\n".join(out)


def document(rows: list[tuple[str, Report]], density: int) -> str:
    from . import __version__

    return (
        f"# Accuracy of the generated kernels\n\n"
        f"Written by `symact accuracy --write` (symact {__version__}, density {density}); every "
        f"number below comes from that run.\n\n"
        f"Error is in ULPs of the correctly rounded result (mpmath reference, 60+ digits, "
        f"adaptive; 0 where interval arithmetic certifies |f(x)| below 2^-64 of the format's "
        f"least subnormal, which the format rounds to 0), over a dense grid on [-1000, 1000], "
        f"a fine grid on [-40, 40], +-m*10^k "
        f"across the whole exponent range, subnormals, +-max, +-0, +-inf and NaN. Bars: float64 "
        f"<= 4 ULP, float32 <= 1 ULP. A point over its bar where the kernel g is "
        f"ill-conditioned (|x g'(x)/g(x)| > 100: next to an interior root, or where a rounded "
        f"intermediate is amplified, as in the tails of mish below x = -708) is counted in its "
        f"own column, with its largest error, instead of in max ULP.\n\n" + table(rows) + "\n"
    )
