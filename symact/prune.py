"""Keep only the helper definitions a generated file calls (tree shaking, as a linker drops
dead code).

A helper group (printing.C_HELPERS, printing.NUMPY_HELPERS) defines several functions, tables
and types; a kernel calls some of them. In C an unused static function is a warning under
clang -Wall (``static inline`` too, in a .c file), so a user's build with -Werror failed on it;
in Python it is dead code to read. A unit is one top-level definition with the comments above
it; it is kept when the rest of the file (the roots) or a kept unit names what it defines.
With every unit kept, a group's text is unchanged."""

from __future__ import annotations

import ast
import re

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_IDENT = re.compile(r"[A-Za-z_]\w*")


def _c_code(text: str) -> str:
    """C ``text`` without its comments."""
    return _COMMENT.sub(" ", text)


def _c_closed(text: str) -> bool:
    """Are the braces and the #if/#endif lines of C ``text`` (comments removed) closed?"""
    lines = _c_code(text).splitlines()
    opened = sum(1 for line in lines if re.match(r"\s*#\s*if", line))
    closed = sum(1 for line in lines if re.match(r"\s*#\s*endif\b", line))
    code = "\n".join(lines)
    return code.count("{") == code.count("}") and opened == closed


def c_defined(unit: str) -> str | None:
    """The name a C unit defines: the last identifier before the first ``(``, ``[`` or ``;``
    outside braces and directives (a function, a table, a typedef); None for comments or
    directives alone."""
    code = "\n".join(line for line in _c_code(unit).splitlines()
                     if not line.lstrip().startswith("#"))
    depth, start = 0, 0
    for i, ch in enumerate(code):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            start = i + 1 if depth == 0 else start
        elif depth == 0 and ch in "([;":
            names = _IDENT.findall(code[start:i])
            return names[-1] if names else None
    return None


def c_units(text: str) -> list[str]:
    """C ``text`` split at blank lines between top-level definitions (joined by blank lines
    again, it is ``text``); a comment or directive that defines nothing joins the next."""
    out: list[str] = []
    pending = ""
    for piece in text.split("\n\n"):
        pending = piece if not pending else pending + "\n\n" + piece
        if _c_closed(pending) and c_defined(pending) is not None:
            out.append(pending)
            pending = ""
    if pending:
        out.append(pending)
    return out


def c_names(code: str) -> set[str]:
    """Identifiers C ``code`` uses (outside comments)."""
    return set(_IDENT.findall(_c_code(code)))


def py_units(text: str) -> list[str]:
    """Python ``text`` split before each top-level statement's leading blank and comment
    lines (joined by newlines again, it is ``text``)."""
    lines = text.split("\n")
    ends = [s.end_lineno for s in ast.parse(text).body]
    starts = [0, *ends[:-1]]
    ends[-1] = len(lines)
    return ["\n".join(lines[a:b]) for a, b in zip(starts, ends, strict=True)]


def py_defined(unit: str) -> str | None:
    """The name a Python unit defines: a function's or an assignment's (None otherwise)."""
    (stmt,) = ast.parse(unit.strip("\n")).body
    if isinstance(stmt, ast.FunctionDef):
        return stmt.name
    if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return None


def py_names(code: str) -> set[str]:
    """Names Python ``code`` reads (docstrings and comments do not count)."""
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


_LANGS = {"c": (c_units, c_defined, c_names, "\n\n"),
          "py": (py_units, py_defined, py_names, "\n")}


def called(helpers: list[str], roots: str, lang: str) -> list[str]:
    """``helpers`` (each a group's text, in ``lang``: "c" or "py") with only the units that
    ``roots`` (the rest of the file) reaches through the names it uses, directly or through
    kept units; a group with nothing left is dropped."""
    split, defined, names, sep = _LANGS[lang]
    groups = [split(h) for h in helpers]
    by_name: dict[str | None, str] = {}
    for unit in (u for g in groups for u in g):
        name = defined(unit)
        if name is not None and by_name.setdefault(name, unit) != unit:
            raise ValueError(f"two helpers define {name}")  # one would replace the other
    keep: set[str | None] = {None}
    todo = list(names(roots))
    while todo:
        name = todo.pop()
        if name in by_name and name not in keep:
            keep.add(name)
            todo.extend(names(by_name[name]))
    out = []
    for g in groups:
        kept = [u for u in g if defined(u) in keep]
        if kept:
            out.append(sep.join(kept).lstrip("\n"))
    return out
