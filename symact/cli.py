"""The ``symact`` command line. User mistakes end in one line on stderr and an exit code
(see README.md); never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import errors
from .budget import DEFAULT_TIMEOUT
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
    from .vector import vector_activations

    for v in vector_activations():
        print(f"{v.name:<{width}}  {v.description} (vector: axis)")
    return 0


def _cmd_show(args) -> int:
    from .activation import get
    from .explain import steps_to_text, to_text
    from .vector import get_vector

    vec = get_vector(args.name)
    if vec is not None:
        print(str(vec))
        return 0
    act = get(args.name)
    print(steps_to_text(act.steps) if args.steps else to_text(act))
    return 0


def _cmd_latex(args) -> int:
    from .activation import get
    from .explain import steps_to_latex, to_latex
    from .vector import get_vector
    from .vector import to_latex as vector_latex

    vec = get_vector(args.name)
    if vec is not None:
        body = vector_latex(vec)
    else:
        act = get(args.name)
        body = steps_to_latex(act.steps) if args.steps else to_latex(act)
    if args.document:
        body = ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
                "\\usepackage[landscape,margin=1.5cm]{geometry}\n\\pagestyle{empty}\n"
                "\\begin{document}\n" + body + "\n\\end{document}")
    print(body)
    return 0


def _cmd_plot(args) -> int:
    from .activation import get
    from .plot import plot

    out = Path(args.output or f"{get(args.name).name}.png")
    plot(get(args.name), out)
    print(f"wrote {out}")
    return 0


def _cmd_docs(args) -> int:
    from .docs import check_docs, write_docs

    out = Path(args.out)
    if args.check:
        stale = check_docs(out)
        for path in stale:
            print(f"out of date: {path}", file=sys.stderr)
        if stale:
            print(f"run 'symact docs' to update {len(stale)} file(s)", file=sys.stderr)
            return errors.EXIT_DRIFT
        print(f"{out}: up to date")
        return 0
    for line in write_docs(out):
        print(line)
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


def _read_expression(text: str) -> str:
    """EXPR itself, or (for '-') standard input, read no further than the parser's limit."""
    from .parse import LIMITS

    if text != "-":
        return text
    data = sys.stdin.read(LIMITS["length"] + 1)
    return data.strip()


def _derive_job(name: str, text: str, params: dict, latex: bool, files: bool, command: str):
    """Runs in the budgeted child: parse, derive, show (text or LaTeX) and render the files."""
    from .emit import render_all
    from .explain import to_latex, to_text
    from .user import build, check_real

    act = build(name, text, params)
    check_real(act)
    act.kernels  # noqa: B018 -- derive and stabilize
    shown = to_latex(act) if latex else to_text(act)
    return shown, (render_all([act], command) if files else None)


def _cmd_derive(args) -> int:
    import shlex

    from .budget import run_bounded
    from .emit import check_writable, remove_created, write_files
    from .errors import ParameterError
    from .user import prepare

    text = _read_expression(args.expr)
    params = {}
    for item in args.param:
        pname, sep, value = item.partition("=")
        if not sep:
            raise ParameterError(f"--param {ascii(item[:40])}: expected NAME=VALUE")
        if pname in params:
            raise ParameterError(f"--param {ascii(pname[:40])} given twice")
        params[pname] = value
    name, objs = prepare(args.name, params)
    out = Path(args.out) if args.out else None
    created = check_writable(out) if out is not None else []
    command = "symact derive EXPR"
    if len(text) <= 200:
        command = "symact derive " + shlex.quote(text)
    command += f" --name {name}" + "".join(f" --param {p.name}={p.default!r}" for p in objs)
    try:
        shown, files = run_bounded(_derive_job, name, text, params, args.latex, out is not None,
                                   command, timeout=args.timeout)
    except BaseException:
        remove_created(created)  # a failed derive changes nothing
        raise
    written = write_files(out, files) if out is not None else []
    print(shown)
    for path in written:
        print(f"wrote {path}")
def _cmd_build(args) -> int:
    from .build import load

    source = args.source
    if source is None and Path("generated/activations.c").is_file():
        source = "generated"
    kernels = load(source and Path(source), fast=args.fast)  # compiles (cached) and loads
    kind = "fast" if args.fast else "accurate"
    print(f"{kernels.path}  ({len(kernels.functions)} kernels, {kind} build)")
    return 0


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
    p.add_argument("--steps", action="store_true", help="the derivation step by step")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("latex", help="LaTeX of the definition and derivative")
    p.add_argument("name")
    p.add_argument("--steps", action="store_true", help="the derivation step by step (align*)")
    p.add_argument("--document", action="store_true",
                   help="a whole LaTeX document (pdflatex-ready), not just the align* block")
    p.set_defaults(func=_cmd_latex)

    p = sub.add_parser("plot", help="draw f, f' and f'' on one figure (needs matplotlib)")
    p.add_argument("name")
    p.add_argument("-o", "--output", metavar="FILE", help="image file (default: NAME.png)")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("docs", help="write DIR/README.md (formulas) and DIR/plots/*.png")
    p.add_argument("--out", default="generated", metavar="DIR",
                   help="output directory (default: generated)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 4 naming each file that differs")
    p.set_defaults(func=_cmd_docs)

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

    p = sub.add_parser("derive", help="derive, show and generate code for your own expression")
    p.add_argument("expr", metavar="EXPR", help="expression in x, e.g. 'x*sigmoid(a*x)'; "
                   "'-' reads it from standard input")
    p.add_argument("--name", default="custom", help="activation name (default: custom)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a parameter and its default value (repeatable)")
    p.add_argument("--latex", action="store_true", help="show LaTeX instead of text")
    p.add_argument("--out", metavar="DIR", help="write NumPy and C code for it into DIR")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time budget for deriving and generating (default {DEFAULT_TIMEOUT:g})")
    p.set_defaults(func=_cmd_derive)
    p = sub.add_parser("build", help="compile the generated C for this machine; print the library")
    p.add_argument("--source", default=None, metavar="DIR",
                   help="directory with activations.c/.h (default: ./generated if it has them, "
                        "else the copy installed with symact)")
    p.add_argument("--fast", action="store_true",
                   help="vector libm build (-DSYMACT_FAST_LIBM); see README for its error bound")
    p.set_defaults(func=_cmd_build)
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
