"""Render the catalog through the printers and the Jinja2 templates into ``generated/``.

Templates lay out prepared data (names, signatures, docstrings, printed expressions); every
formula comes from stabilize via a printer. Output is deterministic: sorted helpers, catalog
order, no timestamps, no hash-ordered iteration.
"""

from __future__ import annotations

import errno
import math
import os
import stat
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
import sympy as sp

from . import __version__
from .activation import Activation, Kernel, all_activations
from .catalog import X
from .errors import OutputError
from .patch import RootPatch, find_patches
from .printing import C_HELPERS, NUMPY_HELPERS, CPrinter, NumpyPrinter, c_horner
from .verify import Reference

REGENERATE = "symact generate"

#: Template -> output file name, per target folder.
TARGETS = {
    "numpy": {"__init__.py.j2": "__init__.py", "activations.py.j2": "activations.py"},
    "c": {"activations.h.j2": "activations.h", "activations.c.j2": "activations.c"},
}


def templates_dir() -> Path:
    """templates/ of a checkout, else the copy installed inside the package."""
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if (checkout / "numpy").is_dir():
        return checkout
    return Path(str(resources.files("symact") / "templates"))


@dataclass(frozen=True)
class Param:
    name: str
    default: str
    low: str
    high: str
    low_open: bool
    high_open: bool


@dataclass(frozen=True)
class KernelCode:
    """One kernel, printed for every target."""

    name: str  # e.g. "sigmoid_prime"
    title: str
    formula: str  # one-line formula for comments and docstrings
    output_form: str
    params: tuple[Param, ...]
    constant: bool
    guard_inf: bool
    guard_nan: bool
    limit_pos: float
    limit_neg: float
    py_lines: tuple[tuple[str, str], ...]
    py_result: str
    c_lines: tuple[tuple[str, str], ...]
    c_result: str
    patches: tuple[RootPatch, ...] = ()

    @property
    def c_patches(self) -> list[tuple[str, str, str, str]]:
        return [(repr(p.x0_hi), repr(p.x0_lo), repr(p.radius), c_horner("d", p.coeffs))
                for p in self.patches]

    @property
    def py_limit_pos(self) -> str:
        return _py_float(self.limit_pos)

    @property
    def py_limit_neg(self) -> str:
        return _py_float(self.limit_neg)

    @property
    def c_limit_pos(self) -> str:
        return _c_float(self.limit_pos)

    @property
    def c_limit_neg(self) -> str:
        return _c_float(self.limit_neg)


def _py_float(v: float) -> str:
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return "np.nan" if math.isnan(v) else repr(float(v))


def _c_float(v: float) -> str:
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return "NAN" if math.isnan(v) else repr(float(v))


def _fmt_bound(v: float | None) -> str:
    return "None" if v is None else repr(float(v))


def _cse(expr: sp.Expr, printer) -> tuple[tuple[tuple[str, str], ...], str]:
    subs, (reduced,) = sp.cse([expr], symbols=sp.numbered_symbols("t"), optimizations=None)
    lines = tuple((str(s), printer.doprint(e)) for s, e in subs)
    return lines, printer.doprint(reduced)


def _numpy_callable(lines, result, params, helpers):
    """The printed NumPy kernel as a function, to probe its edges at generation time."""
    src = "def _k(x, {}):\n".format(", ".join(params) or "_unused=None")
    src += "".join(f"    {v} = {code}\n" for v, code in lines)
    src += f"    return {result}\n"
    namespace: dict = {"np": np}
    for h in sorted(helpers):
        exec(NUMPY_HELPERS[h], namespace)  # noqa: S102 -- symact's own printed code
    exec(src, namespace)  # noqa: S102 -- symact's own printed code, never user text
    return namespace["_k"]


def _edges(fn, defaults: list[float], ref: Reference) -> tuple[bool, bool, float, float]:
    """Which guards the kernel needs: does it give the exact limit at +-inf without a
    floating-point warning, and NaN for NaN?"""
    limit_pos, limit_neg = float(ref(math.inf)), float(ref(-math.inf))
    guard_inf = False
    for xv, want in ((math.inf, limit_pos), (-math.inf, limit_neg)):
        try:
            with np.errstate(all="raise"):
                got = float(np.asarray(fn(np.array([xv]), *defaults))[0])
        except FloatingPointError:
            guard_inf = True
            continue
        if not (got == want or (math.isnan(got) and math.isnan(want))):
            guard_inf = True
    with np.errstate(all="ignore"):
        got_nan = float(np.asarray(fn(np.array([math.nan]), *defaults))[0])
    return guard_inf, not math.isnan(got_nan), limit_pos, limit_neg


def kernel_code(act: Activation, kernel: Kernel) -> tuple[KernelCode, set[str], set[str]]:
    """Print one kernel for NumPy and C; returns the code and the helpers each target needs."""
    stable = kernel.stable
    constant = not stable.has(X)
    npp, cp = NumpyPrinter(), CPrinter()
    py_lines, py_result = _cse(stable, npp)
    c_lines, c_result = _cse(stable, cp)
    pnames = list(act.params)
    fn = _numpy_callable(py_lines, py_result if not constant else
                         f"np.where(np.isnan(x), x, {py_result})", pnames, npp.helpers)
    ref = Reference(kernel.exact, X, act.defaults)
    defaults = list(act.params.values())
    guard_inf, guard_nan, lp, ln = _edges(fn, defaults, ref)
    patches: tuple[RootPatch, ...] = ()
    if not act.params and not constant:  # a root that moves with a parameter is not patched
        with np.errstate(all="ignore"):
            patches = tuple(find_patches(lambda a: np.asarray(fn(a), dtype=float), ref))
    if patches:
        py_helpers_extra = {"_root_patch"}
    else:
        py_helpers_extra = set()
    params = tuple(
        Param(p.name, repr(float(p.default)), _fmt_bound(p.low), _fmt_bound(p.high),
              p.low_open, p.high_open)
        for p in act.spec.params
    )
    formula = f"{act.name}{_prime_mark(kernel)}(x) = {sp.sstr(kernel.display)}"
    out_form = ""
    if kernel.suffix == "_prime" and act.output_form is not None:
        out_form = f"{act.name}'(x) = {sp.sstr(act.output_form)}  with y = {act.name}(x)"
    code = KernelCode(
        name=act.name + kernel.suffix, title=kernel.title, formula=formula,
        output_form=out_form, params=params, constant=constant,
        guard_inf=guard_inf, guard_nan=guard_nan, limit_pos=lp, limit_neg=ln,
        py_lines=py_lines, py_result=py_result, c_lines=c_lines, c_result=c_result,
        patches=patches,
    )
    return code, npp.helpers | py_helpers_extra, cp.helpers


def _prime_mark(kernel: Kernel) -> str:
    return {"": "", "_prime": "'"}[kernel.suffix]


@dataclass(frozen=True)
class ActivationCode:
    name: str
    description: str
    aliases: tuple[str, ...]
    conventions: str
    reference: str
    kernels: tuple[KernelCode, ...]


def render_all() -> dict[str, str]:
    """File name -> content, for every generated file."""
    acts, py_helpers, c_helpers = [], set(), set()
    for act in all_activations():
        kcodes = []
        for kernel in act.kernels:
            code, ph, ch = kernel_code(act, kernel)
            kcodes.append(code)
            py_helpers |= ph
            c_helpers |= ch
        acts.append(ActivationCode(act.name, act.description, act.aliases, act.conventions,
                                   act.reference, tuple(kcodes)))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )
    context = {
        "version": __version__,
        "command": REGENERATE,
        "activations": acts,
        "py_helpers": [NUMPY_HELPERS[h] for h in sorted(py_helpers)],
        "c_helpers": [C_HELPERS[h] for h in sorted(c_helpers)],
    }
    files = {}
    for folder, mapping in TARGETS.items():
        for template, out in mapping.items():
            files[out] = env.get_template(f"{folder}/{template}").render(context)
    return files


#: Prefix of the temporary files write_atomic creates next to their target; a run killed
#: between creating one and renaming it leaves it behind, and the next generate removes it.
TMP_PREFIX = ".symact-tmp-"


def _new_file_mode(path: Path) -> int:
    """The mode a rewritten file keeps: the old file's, else 0o666 minus the umask (what
    open() would give), not mkstemp's 0o600."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    """Make the renames in ``directory`` durable (best effort: not every platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same directory, fsync it,
    then rename it over ``path``: a reader, or a run killed at any moment, sees the old file or
    the new one, never a partial one. If ``path`` is a symbolic link, the link itself is
    replaced by a regular file; its target is never written.

    The directory is resolved first: tempfile normalises ``..`` lexically, the kernel
    physically, and through a symlinked parent (``link/../out``) the two differ."""
    path = Path(os.path.realpath(path.parent)) / path.name
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)
            fh.flush()
            os.fchmod(fh.fileno(), _new_file_mode(path))
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete the temporary files a killed run left in ``out_dir`` (names starting with
    TMP_PREFIX, which symact alone uses); returns them."""
    stale = sorted(p for p in out_dir.iterdir() if p.name.startswith(TMP_PREFIX))
    for p in stale:
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
    return stale


def owned_files() -> list[str]:
    """The fixed file names ``generate`` writes; it touches nothing else in its directory."""
    return [out for mapping in TARGETS.values() for out in mapping.values()]


def _prepare(out_dir: Path) -> None:
    """Create ``out_dir``, remove a killed run's temporaries and prove the directory writable,
    before the (slow) rendering: an unusable directory fails at once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)
    fd, probe = tempfile.mkstemp(dir=os.path.realpath(out_dir), prefix=TMP_PREFIX, suffix=".tmp")
    os.close(fd)
    os.unlink(probe)
    for name in owned_files():
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(errno.EISDIR, f"{name} is a directory")


def generate(out_dir: Path) -> list[Path]:
    """Write every generated file into ``out_dir`` (created if missing); only the files symact
    owns (``owned_files()``) are touched, plus leftover temporaries of a killed run. Each file
    is replaced atomically (``write_atomic``). Returns the paths written."""
    try:
        _prepare(out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    files = render_all()
    try:
        written = []
        for name, content in files.items():
            path = out_dir / name
            if (not path.is_symlink() and path.is_file()
                    and path.read_bytes() == content.encode("utf-8")):
                continue
            write_atomic(path, content)
            written.append(path)
        if written:
            _fsync_dir(out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return written


def check(out_dir: Path) -> list[str]:
    """Names of generated files in ``out_dir`` that are missing or differ from a fresh render."""
    stale = []
    for name, content in render_all().items():
        path = out_dir / name
        try:
            same = path.read_text(encoding="utf-8") == content
        except OSError:
            same = False
        if not same:
            stale.append(str(path))
    return stale
