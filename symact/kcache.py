"""On-disk cache of printed kernels, so regenerating an unchanged catalog takes seconds.

Deriving, stabilizing, proving and patching every kernel costs minutes of SymPy and mpmath; the
printed result depends only on the activation's definition and on symact's own source. The key
is a SHA-256 of both (every module that takes part in deriving and printing a kernel), so any
change to either misses the cache and recomputes. Entries are JSON (never pickle), written
atomically, under ``$SYMACT_CACHE_DIR`` / ``$XDG_CACHE_HOME/symact`` / ``~/.cache/symact``;
``SYMACT_NO_CACHE=1`` turns the cache off. A corrupt or unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import sympy as sp

PACKAGE = Path(__file__).resolve().parent
FORMAT = 3


def cache_dir() -> Path:
    """Where entries live: $SYMACT_CACHE_DIR, else $XDG_CACHE_HOME/symact, else ~/.cache."""
    if os.environ.get("SYMACT_CACHE_DIR"):
        return Path(os.environ["SYMACT_CACHE_DIR"]) / "kernels"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "symact" / "kernels"


def enabled() -> bool:
    return os.environ.get("SYMACT_NO_CACHE", "") not in ("1", "true", "yes")


def _source_digest() -> str:
    """SHA-256 over symact's modules, read when this module is imported (with the others), so
    the key describes the code that is running even if files change afterwards."""
    return _DIGEST


#: Modules that never influence a printed kernel (the CLI, documentation, plots, steps, the
#: parser, the build, vector activations): editing them keeps the cache warm. The catalog is
#: left out too: each entry's whole definition is in its own key (see ``key``), so adding or
#: editing one activation recomputes that activation only.
NOT_IN_KEY = frozenset({
    "__main__.py", "accuracy.py", "budget.py", "build.py", "catalog.py", "cli.py", "docs.py",
    "explain.py", "kcache.py", "parse.py", "plot.py", "steps.py", "user.py", "vector.py",
})


def _digest_now() -> str:
    h = hashlib.sha256(f"format {FORMAT}".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in NOT_IN_KEY:
            continue
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    h.update(sp.__version__.encode())
    return h.hexdigest()


_DIGEST = _digest_now()


def key(act: Any) -> str:
    """The cache key of one activation: everything its catalog entry says (name, definition,
    parameters with ranges, the cross-parameter condition, texts) and symact's source."""
    spec = act.spec
    h = hashlib.sha256(_source_digest().encode())
    h.update(act.name.encode())
    h.update(sp.srepr(act.expr).encode())
    h.update(repr(sorted(act.params.items())).encode())
    h.update(repr([dataclasses.astuple(p) for p in spec.params]).encode())
    h.update(sp.srepr(act.requirement).encode())
    h.update(repr((spec.description, spec.aliases, spec.conventions, spec.reference,
                   sorted(spec.extra.items()))).encode())
    return h.hexdigest()


def load(act: Any) -> Any | None:
    """The cached JSON payload for ``act``, or None."""
    if not enabled():
        return None
    path = cache_dir() / f"{key(act)}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(act: Any, payload: Any) -> None:
    """Save ``payload`` (JSON-able) for ``act``; failures to write are ignored (a cache)."""
    if not enabled():
        return
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{key(act)}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
        os.replace(tmp, directory / f"{key(act)}.json")
    except OSError:
        pass
