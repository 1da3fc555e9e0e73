"""On-disk cache of printed kernels, so regenerating an unchanged catalog takes seconds.

Deriving, stabilizing, proving and patching every kernel costs minutes of SymPy and mpmath; the
printed result depends only on the activation's definition and on symact's own source. The key
is a SHA-256 of both (every module that takes part in deriving and printing a kernel), so any
change to either misses the cache and recomputes. Entries are JSON (never pickle), written
atomically, under ``$SYMACT_CACHE_DIR`` / ``$XDG_CACHE_HOME/symact`` / ``~/.cache/symact``;
``SYMACT_NO_CACHE=1`` turns the cache off. A corrupt or unreadable entry is a miss, never an error.

The record: ``generate`` also writes the entries it rendered into its output directory
(``generated/kernels.json``, committed with the code it produced), and reads them back, from
there and from the checkout's ``generated/``, when the user cache misses, so a fresh clone
regenerates in about a second. Its keys leave the
SymPy version out (the record is what produced the committed files, whichever SymPy reads it);
the user cache's keys keep it. ``SYMACT_NO_CACHE=1`` ignores the record too: a re-derivation
from scratch, which is what ``generate --check`` must match in the test suite.
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


def _code_digest() -> str:
    h = hashlib.sha256(f"format {FORMAT}".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in NOT_IN_KEY:
            continue
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _with_sympy(code_digest: str) -> str:
    return hashlib.sha256(f"{code_digest} sympy {sp.__version__}".encode()).hexdigest()


#: symact's source alone (the record's keys), and with the SymPy version (the user cache's)
_CODE_DIGEST = _code_digest()
_DIGEST = _with_sympy(_CODE_DIGEST)


def key(act: Any) -> str:
    """The cache key of one activation: everything its catalog entry says (name, definition,
    parameters with ranges, the cross-parameter condition, texts), symact's source and the
    SymPy version."""
    return _entry_key(_source_digest(), act)


def record_key(act: Any) -> str:
    """The record's key of one activation: ``key`` without the SymPy version."""
    return _entry_key(_CODE_DIGEST, act)


def _entry_key(digest: str, act: Any) -> str:
    spec = act.spec
    h = hashlib.sha256(digest.encode())
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


#: The record's file name in generate's output directory.
RECORD = "kernels.json"


#: The committed output directory of a checkout (absent from an installed package).
CHECKOUT_OUTPUT = PACKAGE.parent / "generated"


def read_record(out_dir: Path) -> dict[str, Any]:
    """record_key -> payload, from ``out_dir``/kernels.json and the checkout's
    generated/kernels.json (its keys make an entry valid wherever it is read); {} when the
    cache is off. A file missing, unreadable, of another FORMAT or malformed adds nothing: a
    record is only a cache."""
    if not enabled():
        return {}
    entries: dict[str, Any] = {}
    for directory in (CHECKOUT_OUTPUT, out_dir):
        entries.update(_record_entries(directory / RECORD))
    return entries


def _record_entries(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return {}
        return {e["key"]: e["payload"] for e in data["activations"]
                if isinstance(e["key"], str) and isinstance(e["payload"], dict)}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return {}


def record_text(entries: list[tuple[Any, Any]]) -> str:
    """The record of ``entries`` ((activation, payload) in catalog order) as deterministic JSON:
    one key per line, so a diff shows what changed."""
    data = {
        "about": "Written by 'symact generate': the printed kernels of each activation, keyed "
                 "by its definition and symact's source. 'generate' reuses an entry whose key "
                 "matches instead of deriving again (SYMACT_NO_CACHE=1: never). DO NOT EDIT.",
        "format": FORMAT,
        "activations": [{"name": act.name, "key": record_key(act), "payload": payload}
                        for act, payload in entries],
    }
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True) + "\n"
