#!/usr/bin/env python
"""Time symact's kernels against the usual alternatives; print a Markdown table.

    python benchmarks/bench.py                  # n = 1e3, 1e5, 1e7; float32 and float64
    python benchmarks/bench.py --quick          # smaller and fewer: a smoke run in < 30 s
    python benchmarks/bench.py --sizes 1e4,1e6 --reps 9 --kernels sigmoid,tanh_prime
    python benchmarks/bench.py --kernels silu_prime,gelu_prime --inputs normal

Implementations, all timed in one process, interleaved (each repetition runs every
implementation once, in a rotating order) and reported as the median over repetitions:

  generated  generated/activations.py (the NumPy module; float32 is computed in float64),
             allocating its result
  gen out=   the same, writing into a preallocated array (out=)
  C          the compiled array kernels via symact.build (ctypes), accurate build, allocating
  C fast     the fast build (-DSYMACT_FAST_LIBM: glibc's vector libm), allocating
  Cfast out= the fast build writing into a preallocated array
  naive      the textbook NumPy formula, e.g. 1/(1+np.exp(-x)), in the input's dtype
  scipy      scipy.special (expit, log_expit, ndtr) where it has the function
  torch      PyTorch, one thread (only if `import torch` works)
  memcpy     np.copyto into a preallocated array: the memory-traffic floor

Inputs are uniform on [-20, 20] with a fixed seed, or with --inputs normal standard normal (what
a layer's pre-activations look like: most elements within 2 of 0, where a derivative's root
patch window lies, e.g. silu' at -1.28). Numbers are ns per element; ratios above 1
mean the first-named implementation is slower.
"""

from __future__ import annotations

import argparse
import gc
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import generated.activations as gen  # noqa: E402
from symact.build import BuildError, Kernels, load  # noqa: E402

DEFAULT_KERNELS = ("sigmoid", "sigmoid_prime", "softplus", "silu", "gelu")
COLUMNS = ("generated", "gen out=", "C", "C fast", "Cfast out=", "naive", "scipy", "torch",
           "memcpy")
Fn = Callable[[np.ndarray], object]


def _sig(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


NAIVE: dict[str, Fn] = {
    "sigmoid": _sig,
    "sigmoid_prime": lambda x: (s := _sig(x)) * (1 - s),
    "softplus": lambda x: np.log(1 + np.exp(x)),
    "softplus_prime": _sig,
    "silu": lambda x: x / (1 + np.exp(-x)),
    "silu_prime": lambda x: (s := _sig(x)) * (1 + x * (1 - s)),
    "tanh": np.tanh,
    "tanh_prime": lambda x: 1 - np.tanh(x) ** 2,
}


def scipy_impls() -> dict[str, Fn]:
    """scipy.special versions (gelu's "naive" form needs erf, so it is added to NAIVE here)."""
    try:
        from scipy import special as sp
    except ImportError:
        return {}

    def softplus(x: np.ndarray) -> np.ndarray:  # softplus(x) = -log(sigmoid(-x))
        r = sp.log_expit(-x)
        return np.negative(r, out=r)

    NAIVE.setdefault("gelu", lambda x: 0.5 * x * (1 + sp.erf(x / np.sqrt(2))))
    return {
        "sigmoid": sp.expit,
        "sigmoid_prime": lambda x: (s := sp.expit(x)) * (1 - s),
        "softplus": softplus,
        "softplus_prime": sp.expit,
        "silu": lambda x: x * sp.expit(x),
        "silu_prime": lambda x: (s := sp.expit(x)) * (1 + x * (1 - s)),
        "gelu": lambda x: x * sp.ndtr(x),
    }


def torch_impls() -> dict[str, Fn]:
    """PyTorch versions on one thread, taking and returning tensors; {} without torch."""
    try:
        import torch
        import torch.nn.functional as F  # noqa: N812
    except ImportError:
        return {}
    torch.set_num_threads(1)
    return {
        "sigmoid": torch.sigmoid,
        "sigmoid_prime": lambda t: (s := torch.sigmoid(t)) * (1 - s),
        "softplus": F.softplus,
        "softplus_prime": torch.sigmoid,
        "silu": F.silu,
        "silu_prime": lambda t: (s := torch.sigmoid(t)) * (1 + t * (1 - s)),
        "gelu": F.gelu,
        "tanh": torch.tanh,
        "tanh_prime": lambda t: 1 - torch.tanh(t) ** 2,
    }


def per_call(fn: Callable[[], object], number: int) -> float:
    """Seconds per call of fn, over `number` calls, garbage collector off (as timeit)."""
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def run_case(impls: dict[str, Callable[[], object]], reps: int, target: float) -> dict[str, float]:
    """Median seconds per call of each implementation, timed interleaved."""
    numbers = {}
    for name, fn in impls.items():
        t = max(per_call(fn, 1), per_call(fn, 1))  # warm-up and first estimate
        numbers[name] = max(1, int(target / max(t, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in impls}
    order = list(impls)
    for rep in range(reps):
        for name in order[rep % len(order):] + order[: rep % len(order)]:
            samples[name].append(per_call(impls[name], numbers[name]))
    return {name: statistics.median(s) for name, s in samples.items()}


def check(name: str, col: str, got: object, want: np.ndarray) -> None:
    """Warn on stderr if an implementation computes something else (a wrong benchmark formula)."""
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    tol = 1e-4 if want.dtype == np.float32 else 1e-9
    if not np.allclose(got, want.astype(np.float64), rtol=tol, atol=tol):
        err = np.max(np.abs(got - want))
        print(f"warning: {col} {name} differs from generated by up to {err:.3g}", file=sys.stderr)


def fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.2f}"


def libmvec_symbols(lib: Path) -> str:
    """The libmvec (_ZGV...) functions the library calls, per nm -D, or why unknown."""
    if not shutil.which("nm"):
        return "unknown (no nm)"
    out = subprocess.run(["nm", "-D", str(lib)], capture_output=True, text=True).stdout
    syms = sorted({ln.split()[-1].split("@")[0] for ln in out.splitlines() if "_ZGV" in ln})
    return ", ".join(syms) if syms else "none (scalar libm calls only)"


def make_impls(name: str, x: np.ndarray, ckern: Kernels | None, cfast: Kernels | None,
               scipy: dict[str, Fn], torch: dict[str, Fn]) -> dict[str, Callable[[], object]]:
    """Zero-argument callables, one per implementation of `name` on x; checked against generated."""
    buf = np.empty_like(x)
    g = getattr(gen, name)
    impls: dict[str, Callable[[], object]] = {"generated": lambda: g(x),
                                              "gen out=": lambda: g(x, out=buf)}
    if ckern is not None and name in ckern:
        c = ckern[name]
        impls["C"] = lambda: c(x)
    if cfast is not None and name in cfast:
        cf = cfast[name]
        impls["C fast"] = lambda: cf(x)
        impls["Cfast out="] = lambda: cf(x, out=buf)
    for col, table in (("naive", NAIVE), ("scipy", scipy)):
        if name in table:
            impls[col] = lambda f=table[name]: f(x)
    if name in torch:
        import torch as th

        t = th.from_numpy(x)
        impls["torch"] = lambda: torch[name](t)
    impls["memcpy"] = lambda: np.copyto(buf, x)
    want = g(x)
    with np.errstate(all="ignore"):  # the naive formulas overflow; that is their problem
        for col, fn in impls.items():
            if col != "memcpy":
                check(name, col, fn(), want)
    return impls


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", help="comma-separated element counts (default 1e3,1e5,1e7)")
    p.add_argument("--reps", type=int, help="repetitions per case, median reported (default 5)")
    p.add_argument("--quick", action="store_true", help="n = 1e3,1e5,1e6, 3 reps, short samples")
    p.add_argument("--kernels", help=f"comma-separated (default {','.join(DEFAULT_KERNELS)})")
    p.add_argument("--source", type=Path, help="directory of activations.c/.h (default generated/)")
    p.add_argument("--inputs", choices=("uniform", "normal"), default="uniform",
                   help="uniform on [-20, 20] (default) or standard normal")
    a = p.parse_args(argv)
    a.sizes = [int(float(s)) for s in (a.sizes or ("1e3,1e5,1e6" if a.quick else "1e3,1e5,1e7"))
               .split(",")]
    a.reps = a.reps or (3 if a.quick else 5)
    a.target = 0.002 if a.quick else 0.01  # seconds per timing sample, at least one call
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = args.kernels.split(",") if args.kernels else DEFAULT_KERNELS
    try:
        ckern, cfast = load(args.source), load(args.source, fast=True)
    except BuildError as e:
        print(f"warning: {e}; no C columns", file=sys.stderr)
        ckern = cfast = None
    scipy, torch = scipy_impls(), torch_impls()
    names = [n for n in wanted if n in gen.__all__]  # gelu etc. only if generated
    if missing := [n for n in wanted if n not in names and args.kernels]:
        print(f"warning: not in the generated module: {', '.join(missing)}", file=sys.stderr)

    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}, "
          f"scipy: {'yes' if scipy else 'no'}, torch: {'yes (1 thread)' if torch else 'no'}")
    if ckern is not None and cfast is not None:
        print(f"C library: {ckern.path}; libmvec calls: {libmvec_symbols(ckern.path)}")
        print(f"C fast library: {cfast.path}; libmvec calls: {libmvec_symbols(cfast.path)}")
    inputs = "uniform on [-20, 20]" if args.inputs == "uniform" else "standard normal"
    print(f"median of {args.reps} interleaved repetitions; ns/element; inputs {inputs}\n")
    heads = ("kernel", "dtype", "n", *COLUMNS, "gen out=/naive", "gen out=/scipy", "C/torch",
             "C fast/torch")
    print("| " + " | ".join(heads) + " |")
    print("|" + "|".join("---" if h in ("kernel", "dtype") else "---:" for h in heads) + "|")

    rng = np.random.default_rng(20240601)
    t0 = time.perf_counter()
    for name in names:
        for dtype in (np.float32, np.float64):
            for n in args.sizes:
                x = (rng.uniform(-20, 20, n) if args.inputs == "uniform"
                     else rng.standard_normal(n)).astype(dtype)
                impls = make_impls(name, x, ckern, cfast, scipy, torch)
                times = run_case(impls, args.reps, args.target)
                ns = {col: times[col] / n * 1e9 if col in times else None for col in COLUMNS}
                row = [name, np.dtype(dtype).name, f"{n:.0e}".replace("e+0", "e"),
                       *(fmt(ns[c]) for c in COLUMNS),
                       ratio(ns["gen out="], ns["naive"]), ratio(ns["gen out="], ns["scipy"]),
                       ratio(ns["C"], ns["torch"]), ratio(ns["C fast"], ns["torch"])]
                print("| " + " | ".join(row) + " |", flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
