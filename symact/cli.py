"""The ``symact`` command line. User mistakes end in one line on stderr and an exit code
(see README.md); never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import errors
from .errors import OutputError, SymactError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(errors.EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _out_dir(text: str) -> str:
    """--out: a non-empty path (an empty one would silently mean the current directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty directory name")
    if "\0" in text:
        raise argparse.ArgumentTypeError("directory name contains a NUL character")
    return text


def _positive_int(text: str) -> int:
    """--density: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _cmd_list(args) -> int:
    from .activation import all_activations

    acts = all_activations()
    width = max(len(a.name) for a in acts)
    for a in acts:
        alias = f" (alias: {', '.join(a.aliases)})" if a.aliases else ""
        print(f"{a.name:<{width}}  {a.description}{alias}")
    return 0


def _cmd_show(args) -> int:
    from .activation import get
    from .explain import to_text

    print(to_text(get(args.name)))
    return 0


def _cmd_latex(args) -> int:
    from .activation import get
    from .explain import to_latex

    print(to_latex(get(args.name)))
    return 0


def _cmd_generate(args) -> int:
    from .emit import check, generate

    out = Path(args.out)
    if args.check:
        stale = check(out)
        for path in stale:
            print(f"out of date: {path}", file=sys.stderr)
        if stale:
            print(f"run '{'symact generate'}' to update {len(stale)} file(s)", file=sys.stderr)
            return errors.EXIT_DRIFT
        print(f"{out}: up to date")
        return 0
    written = generate(out)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"{out}: up to date")
    return 0


def _cmd_accuracy(args) -> int:
    from .accuracy import document, run, table
    from .emit import write_atomic

    out = Path(args.out)
    missing = [n for n in ("activations.py", "activations.c") if not (out / n).is_file()]
    if missing:
        raise OutputError(f"no generated code in {out}: {', '.join(missing)} missing "
                          f"(run 'symact generate --out {out}')")
    rows = run(out, density=args.density)
    print(table(rows))
    if args.write:
        try:
            write_atomic(out / "ACCURACY.md", document(rows, args.density))
        except OSError as exc:
            raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from None
        print(f"wrote {out / 'ACCURACY.md'}")
    worst = [r for _, r in rows if r.max_ulp > (4 if r.dtype == "float64" else 1)]
    return 1 if worst else 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="symact", description=__doc__.split("\n")[0])
    from . import __version__

    parser.add_argument("--version", action="version", version=f"symact {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("list", help="one line per activation: name, description, aliases")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="definition, derivative and output form as text")
    p.add_argument("name")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("latex", help="LaTeX of the definition and derivative")
    p.add_argument("name")
    p.set_defaults(func=_cmd_latex)

    p = sub.add_parser("generate", help="regenerate generated/ (NumPy module and C library)")
    p.add_argument("--out", default="generated", metavar="DIR", type=_out_dir,
                   help="output directory (default: generated)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 4 naming each file that differs")
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("accuracy", help="measure every generated kernel in ULPs, whole range")
    p.add_argument("--out", default="generated", metavar="DIR", type=_out_dir,
                   help="generated code to measure")
    p.add_argument("--density", type=_positive_int, default=4,
                   help="grid density multiplier, >= 1 (default 4)")
    p.add_argument("--write", action="store_true", help="also write DIR/ACCURACY.md")
    p.set_defaults(func=_cmd_accuracy)
    return parser


def _tolerant_streams() -> None:
    """A terminal whose encoding lacks a character (LC_ALL=de_DE.ISO-8859-1 and the '⋅' of
    ``show``) gets an escape, not a UnicodeEncodeError traceback."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SymactError as exc:
        print(f"symact: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("symact: interrupted", file=sys.stderr)
        return errors.EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
