"""Compile ``generated/activations.c`` for this machine and call its array kernels from NumPy.

    from symact.build import compiled
    k = compiled()                   # C kernels, or the NumPy module (and a warning) without cc
    y = k.sigmoid(np.linspace(-5, 5, 11))          # float64 in, float64 out, same shape
    k.leaky_relu(x32, out=y32, alpha=0.2)          # float32 kernel, written into y32

Kernels are discovered from the prototypes in ``activations.h``; parameter defaults come from
its ``* alpha: default 0.01`` comment lines.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symact.errors import EXIT_BUILD, SymactError


def _source_dir() -> Path:
    """generated/ of the checkout symact runs from (an editable install, the tests), else the
    copy of it installed with the package (symact/generated: activations.c, .h and .py)."""
    checkout = Path(__file__).resolve().parent.parent / "generated"
    if (checkout / "activations.c").is_file():
        return checkout
    return Path(__file__).resolve().parent / "generated"


SOURCE_DIR = _source_dir()
#: Never -ffast-math: gcc then links crtfastmath.o, which sets FTZ/DAZ for the whole process.
#: -fno-semantic-interposition lets -fPIC code inline symact_NAME into symact_NAME_array (an
#: exported function may otherwise be interposed, so gcc keeps the call and cannot vectorize).
#: -mprefer-vector-width=512 (x86-64): gcc otherwise keeps 256-bit vectors on AVX-512 machines;
#: measured 1.1-1.9x on the exp/log1p kernels.
FLAGS = ("-std=c99", "-O3", "-fPIC", "-shared", "-fno-math-errno", "-fopenmp-simd",
         "-fno-semantic-interposition", "-march=native",
         *(("-mprefer-vector-width=512",) if platform.machine() in ("x86_64", "AMD64") else ()))
#: The fast build: glibc's vector libm (libmvec) through `#pragma omp declare simd`; see the
#: generated activations.c and README for the measured error bounds of both builds.
FAST_FLAG = "-DSYMACT_FAST_LIBM"
_ARRAY_RE = re.compile(r"void symact_(\w+)_array\(const double \*x, double \*y, size_t n(.*)\);")
_COMMENT_RE = re.compile(r"/\*(.*?)\*/", re.S)
_DEFAULT_RE = re.compile(r"^\s*\*?\s*(\w+): default (\S+)\s*$", re.M)
_ALIAS_RE = re.compile(r"^/\* (\w+): .*\(alias(?:es)?: ([\w, ]+)\) \*/$", re.M)
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_warned = False


class BuildError(SymactError):
    """The C library cannot be compiled or loaded; the message says how to get a compiler."""

    exit_code = EXIT_BUILD


@dataclass(frozen=True)
class KernelSpec:
    """One kernel as declared in activations.h: its name, parameter names and their defaults."""

    name: str
    params: tuple[str, ...] = ()
    defaults: dict[str, float] = field(default_factory=dict)


def parse_header(header: Path) -> dict[str, KernelSpec]:
    """Every ``symact_NAME_array`` prototype of ``header``, with defaults from its comment."""
    text, specs, start = header.read_text(encoding="utf-8"), {}, 0
    for m in _ARRAY_RE.finditer(text):
        comments = _COMMENT_RE.findall(text, start, m.start())
        defaults = {k: float(v) for k, v in _DEFAULT_RE.findall(comments[-1] if comments else "")}
        params = tuple(p.split()[-1] for p in m.group(2).split(",") if p.strip())
        specs[m.group(1)] = KernelSpec(m.group(1), params, defaults)
        start = m.end()
    return specs


def parse_aliases(header: Path) -> dict[str, str]:
    """alias -> kernel, for both directions of ``/* linear: ... (alias: identity) */`` lines."""
    aliases = {}
    for name, names in _ALIAS_RE.findall(header.read_text(encoding="utf-8")):
        for alias in (a.strip() for a in names.split(",") if a.strip()):
            aliases[alias], aliases[alias + "_prime"] = name, name + "_prime"
    return aliases


def _compiler() -> list[str]:
    """The compiler command: $CC (may carry arguments, e.g. "ccache gcc"), else cc or gcc."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BuildError("no C compiler found (install gcc or set CC)")
    return shlex.split(cc)


@functools.cache
def _fingerprint(cc: tuple[str, ...]) -> str:
    """Compiler version plus CPU identity: a -march=native library is only good for its CPU."""
    try:
        version = subprocess.run([*cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        raise BuildError(f"C compiler {' '.join(cc)!r} not found (install gcc or set CC)") from None
    cpu = platform.machine() + platform.processor()
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu += "".join(re.findall(r"^(?:model name|flags|Features)\s*:.*$", info, re.M)[:2])
    except OSError:
        pass
    return version.stdout + cpu


def cache_root() -> Path:
    """$SYMACT_CACHE_DIR, else $XDG_CACHE_HOME/symact, else ~/.cache/symact."""
    if env := os.environ.get("SYMACT_CACHE_DIR"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "symact"


def build(
    source_dir: Path | None = None, cache_dir: Path | None = None, fast: bool = False
) -> Path:
    """Compile ``source_dir/activations.c`` (cached); return the path of the shared library.

    The cache key hashes the C source and header, the flags, the compiler version and the CPU;
    the library is compiled under a temporary name and renamed into place, so concurrent builds
    never see a partial file. Raises BuildError without a working compiler.
    """
    src = Path(source_dir or SOURCE_DIR)
    cc = _compiler()
    flags = [*FLAGS, FAST_FLAG] if fast else list(FLAGS)
    try:
        code, header = (src / "activations.c").read_bytes(), (src / "activations.h").read_bytes()
    except OSError as e:
        raise BuildError(f"cannot read the generated C in {src} ({e.strerror}; run "
                         "`symact generate` first)") from None
    h = hashlib.sha256()
    for part in (code, header,
                 " ".join(cc + flags).encode(), _fingerprint(tuple(cc)).encode()):
        h.update(part + b"\0")
    out_dir = Path(cache_dir or cache_root()) / h.hexdigest()[:16]
    lib = out_dir / ("libsymact-fast.so" if fast else "libsymact.so")
    if lib.exists():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = str(out_dir / f".{lib.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")  # cc creates it
    try:
        cmd = [*cc, *flags, str(src / "activations.c"), "-o", tmp, "-lm"]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as e:
            msg = f"cannot run C compiler {cc[0]!r} ({e}; install gcc or set CC)"
            raise BuildError(msg) from None
        if run.returncode != 0:
            lines = run.stderr.strip().splitlines() or ["no message"]
            first = next((ln for ln in lines if "error" in ln), lines[-1])
            raise BuildError(f"compiling activations.c with {cc[0]} failed: {first.strip()}")
        os.replace(tmp, lib)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib


class Kernels:
    """Kernel functions by name: ``k.sigmoid(x, out=None, **params)``, also ``k["sigmoid"]``.

    ``path`` is the loaded shared library, or None for the NumPy fallback.
    """

    def __init__(self, functions: dict[str, Callable[..., np.ndarray]], path: Path | None):
        self.functions, self.path = functions, path

    def __getattr__(self, name: str) -> Callable[..., np.ndarray]:
        try:
            return self.__dict__["functions"][name]
        except KeyError:
            raise AttributeError(f"no kernel named {name!r}") from None

    def __getitem__(self, name: str) -> Callable[..., np.ndarray]:
        return self.functions[name]

    def __contains__(self, name: object) -> bool:
        return name in self.functions

    def __iter__(self) -> Iterator[str]:
        return iter(self.functions)

    def __repr__(self) -> str:
        return f"<Kernels {'C ' + str(self.path) if self.path else 'NumPy'}: {len(self.functions)}>"


def _param_values(spec: KernelSpec, params: dict[str, float]) -> list[float]:
    if unknown := set(params) - set(spec.params):
        raise TypeError(f"{spec.name}() got unexpected parameter(s) {sorted(unknown)}")
    try:
        return [float(params[p] if p in params else spec.defaults[p]) for p in spec.params]
    except KeyError as e:
        raise TypeError(f"{spec.name}() missing required parameter {e.args[0]!r}") from None


def _c_kernel(lib: ctypes.CDLL, spec: KernelSpec) -> Callable[..., np.ndarray]:
    fns = {}
    for dtype, suffix, ctype in ((np.float64, "_array", ctypes.c_double),
                                 (np.float32, "_arrayf", ctypes.c_float)):
        fn = getattr(lib, f"symact_{spec.name}{suffix}")
        ptr, size = ctypes.c_void_p, ctypes.c_size_t
        fn.argtypes = [ptr, ptr, size, *([ctype] * len(spec.params))]
        fn.restype = None
        fns[np.dtype(dtype)] = fn

    def kernel(x: object, out: np.ndarray | None = None, **params: float) -> np.ndarray:
        a = np.asarray(x)
        src = a.dtype
        dtype = _F32 if src == _F32 else _F64
        if src != dtype and src.kind not in "fiub":
            raise TypeError(f"expected real numbers, got an array of {src}")
        if src != dtype or not a.flags.c_contiguous:
            a = np.asarray(a, dtype=dtype, order="C")  # ints -> float64; keeps 0-d arrays 0-d
        half = src == np.float16
        values = _param_values(spec, params) if params or spec.params else ()
        if out is not None and out.shape != a.shape:
            raise ValueError(f"out has shape {out.shape}, expected {a.shape}")
        direct = out is not None and out.dtype == dtype and out.flags.c_contiguous
        y = out if direct else np.empty_like(a)
        fns[dtype](a.ctypes.data, y.ctypes.data, a.size, *values)
        if out is not None and not direct:
            np.copyto(out, y, casting="same_kind")  # e.g. a strided or float32 out for float64 x
            return out
        if out is None and half:
            y = y.astype(np.float16)  # float16 via float64, rounded once as the NumPy module
        return y[()] if out is None and y.ndim == 0 else y

    kernel.__name__ = spec.name
    kernel.__doc__ = f"symact_{spec.name}_array(f) on x; parameters {spec.params} {spec.defaults}"
    return kernel


def load(
    source_dir: Path | None = None, cache_dir: Path | None = None, fast: bool = False
) -> Kernels:
    """Build (or reuse) the shared library and wrap every kernel of activations.h."""
    src = Path(source_dir or SOURCE_DIR)
    path = build(src, cache_dir, fast)
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise BuildError(f"cannot load {path}: {e}") from None
    specs = parse_header(src / "activations.h")
    functions = {name: _c_kernel(lib, spec) for name, spec in specs.items()}
    for alias, name in parse_aliases(src / "activations.h").items():
        if name in functions:
            functions.setdefault(alias, functions[name])
    return Kernels(functions, path)


def _numpy_kernels(source_dir: Path) -> Kernels:
    """The generated NumPy module's functions, taking ``out=`` like the compiled ones."""
    path = source_dir / "activations.py"
    if not path.is_file():
        raise BuildError(f"no generated NumPy module in {source_dir} (run `symact generate`)")
    spec = importlib.util.spec_from_file_location("_symact_generated", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def wrap(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        def kernel(x: object, out: np.ndarray | None = None, **params: float) -> np.ndarray:
            r = fn(x, **params)
            if out is None:
                return r
            np.copyto(out, r, casting="same_kind")
            return out

        kernel.__name__, kernel.__doc__ = fn.__name__, fn.__doc__
        return kernel

    return Kernels({name: wrap(getattr(module, name)) for name in module.__all__}, None)


def compiled(fallback: bool = True, source_dir: Path | None = None,
             cache_dir: Path | None = None, fast: bool = False) -> Kernels:
    """Compiled kernels; if the build fails and ``fallback``, the generated NumPy module's
    functions instead, with a one-line warning on stderr (printed once per process)."""
    global _warned
    try:
        return load(source_dir, cache_dir, fast)
    except BuildError as e:
        if not fallback:
            raise
        if not _warned:
            print(f"symact: {e}; using the NumPy module instead", file=sys.stderr)
            _warned = True
        return _numpy_kernels(Path(source_dir or SOURCE_DIR))
