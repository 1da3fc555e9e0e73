"""Parse a user's activation text into SymPy, never evaluating it as Python.

A hand-written tokenizer and a precedence-climbing parser build SymPy objects directly; there is
no ``eval``, ``exec``, ``sympify`` or ``parse_expr`` of user text. The grammar::

    expr      := term (('+' | '-') term)*
    term      := unary (('*' | '/') unary)*
    unary     := ('+' | '-') unary | power
    power     := atom (('**' | '^') unary)?          right-associative: 2**3**2 = 2**9
    atom      := NUMBER | NAME | NAME '(' args ')' | '(' expr ')'
                 | 'Piecewise' '(' pair (',' pair)* ')'
    pair      := '(' expr ',' cond ')'
    cond      := expr ('<' | '<=' | '>' | '>=') expr | 'True' | 'otherwise'

NAME is ``x``, a declared parameter, ``pi``, ``e``/``E``, a function of ``FUNCTIONS`` or a catalog
activation (``sigmoid(u)``, ``leaky_relu(u, 0.1)``: its definition with ``x`` replaced by ``u``;
missing parameters take their defaults). Numbers are exact: ``0.1`` is ``1/10``.

Everything is bounded (``LIMITS``): input length, tokens, nesting depth, digits of a literal,
the magnitude of a numeric exponent and of constant powers, the number of nodes. Any violation
is an :class:`ExpressionError` with a one-line message naming the column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sympy as sp

from .catalog import X
from .errors import ExpressionError

#: The bounds every parse enforces.
LIMITS = {
    "length": 10_000,  # characters of input
    "tokens": 2_000,
    "depth": 64,  # nested parentheses / calls / unary operators / powers
    "digits": 60,  # digits of one numeric literal (mantissa)
    "exp10": 400,  # |scientific exponent| of a literal, 1e400 at most
    "power": 1_000,  # |numeric exponent| in a ** b
    "bits": 4_096,  # bit size of a constant power a ** n with both numbers
    "nodes": 2_000,  # nodes of the resulting SymPy tree
    "args": 16,  # arguments of one call / pairs of one Piecewise
}


def _heaviside(u: sp.Expr) -> sp.Expr:
    """H(u) = 1 for u >= 0, else 0 (numpy.heaviside(u, 1), as binary_step)."""
    return sp.Piecewise((sp.S.One, u >= 0), (sp.S.Zero, True))


#: Function name -> (constructor, min args, max args).
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], int, int]] = {
    "exp": (sp.exp, 1, 1),
    "log": (sp.log, 1, 1),
    "ln": (sp.log, 1, 1),
    "log1p": (lambda u: sp.log(1 + u), 1, 1),
    "expm1": (lambda u: sp.exp(u) - 1, 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "tanh": (sp.tanh, 1, 1),
    "sinh": (sp.sinh, 1, 1),
    "cosh": (sp.cosh, 1, 1),
    "erf": (sp.erf, 1, 1),
    "erfc": (sp.erfc, 1, 1),
    "atan": (sp.atan, 1, 1),
    "arctan": (sp.atan, 1, 1),
    "asinh": (sp.asinh, 1, 1),
    "arcsinh": (sp.asinh, 1, 1),
    "Abs": (sp.Abs, 1, 1),
    "abs": (sp.Abs, 1, 1),
    "Max": (sp.Max, 2, LIMITS["args"]),
    "max": (sp.Max, 2, LIMITS["args"]),
    "Min": (sp.Min, 2, LIMITS["args"]),
    "min": (sp.Min, 2, LIMITS["args"]),
    "sign": (lambda u: sp.Piecewise((1, u > 0), (-1, u < 0), (0, True)), 1, 1),
    "Heaviside": (_heaviside, 1, 1),
}

#: Constant names.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}

#: Words with a meaning of their own in the grammar.
KEYWORDS = frozenset({"x", "Piecewise", "True", "otherwise"})


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    col: int  # 1-based column


_OPS = ("**", "<=", ">=", "+", "-", "*", "/", "^", "(", ")", ",", "<", ">")
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _show(text: str, limit: int = 24) -> str:
    """A short, printable, one-line rendering of a piece of user text."""
    s = text if len(text) <= limit else text[:limit] + "..."
    return ascii(s)


def _error(col: int, message: str) -> ExpressionError:
    return ExpressionError(f"column {col}: {message}")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; refuses any character outside the grammar."""
    if len(text) > LIMITS["length"]:
        raise ExpressionError(
            f"expression too long: {len(text)} characters (limit {LIMITS['length']})"
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch in " \t":
            i += 1
            continue
        if len(tokens) >= LIMITS["tokens"]:
            raise _error(col, f"too many tokens (limit {LIMITS['tokens']})")
        if ch.isascii() and (ch.isdigit() or (ch == "." and text[i + 1:i + 2].isdigit())):
            m = _NUMBER.match(text, i)
            assert m is not None
            tokens.append(Token("num", m.group(0), col))
            i = m.end()
            if i < n and (text[i].isalnum() or text[i] in "._"):
                raise _error(i + 1, f"unexpected {_show(text[i])} after a number")
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            m = _NAME.match(text, i)
            assert m is not None
            tokens.append(Token("name", m.group(0), col))
            i = m.end()
            if i < n and not text[i].isascii() and text[i].isalnum():
                raise _error(i + 1, f"non-ASCII character {_show(text[i])} in a name")
            continue
        for op in _OPS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, col))
                i += len(op)
                break
        else:
            if ch == ".":
                raise _error(col, "attribute access ('.') is not allowed")
            if ch in "\"'":
                raise _error(col, "strings are not allowed")
            if not ch.isascii():
                raise _error(col, f"non-ASCII character {_show(ch)} is not allowed")
            if ch == "=":
                raise _error(col, "'=' is not allowed (comparisons: < <= > >= in Piecewise)")
            raise _error(col, f"unexpected character {_show(ch)}")
    tokens.append(Token("end", "", n + 1))
    return tokens


def _catalog_functions() -> dict[str, tuple[Callable[..., sp.Expr], int, int]]:
    """Catalog activation name/alias -> its definition as a function of (u, params...)."""
    from .activation import all_activations

    out: dict[str, tuple[Callable[..., sp.Expr], int, int]] = {}
    for act in all_activations():
        spec = act.spec
        defaults = [sp.Rational(repr(float(p.default))) for p in spec.params]

        def build(u, *given, _spec=spec, _defaults=defaults):
            return _spec.build(u, *given, *_defaults[len(given):])

        for name in (spec.name, *spec.aliases):
            if name not in FUNCTIONS:
                out[name] = (build, 1, 1 + len(spec.params))
    return out


class _Parser:
    def __init__(self, tokens: list[Token], params: dict[str, sp.Symbol]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.params = params
        self.catalog = _catalog_functions()

    # --- helpers --------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        t = self.tokens[self.pos]
        self.pos += 1
        return t

    def expect(self, text: str) -> Token:
        t = self.tok
        if t.kind != "op" or t.text != text:
            raise _error(t.col, f"expected {text!r}, found {self._describe(t)}")
        return self.advance()

    @staticmethod
    def _describe(t: Token) -> str:
        return "end of input" if t.kind == "end" else _show(t.text)

    def enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > LIMITS["depth"]:
            raise _error(col, f"nested too deeply (limit {LIMITS['depth']})")

    def leave(self) -> None:
        self.depth -= 1

    # --- grammar --------------------------------------------------------------------
    def parse(self) -> sp.Expr:
        e = self.expr()
        if self.tok.kind != "end":
            raise _error(self.tok.col, f"unexpected {self._describe(self.tok)}")
        return e

    def expr(self) -> sp.Expr:
        e = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.advance().text
            rhs = self.term()
            e = e + rhs if op == "+" else e - rhs
        return e

    def term(self) -> sp.Expr:
        e = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            t = self.advance()
            rhs = self.unary()
            if t.text == "/":
                if rhs.is_zero:
                    raise _error(t.col, "division by zero")
                e = e / rhs
            else:
                e = e * rhs
        return e

    def unary(self) -> sp.Expr:
        t = self.tok
        if t.kind == "op" and t.text in "+-":
            self.advance()
            self.enter(t.col)
            e = self.unary()
            self.leave()
            return -e if t.text == "-" else e
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        t = self.tok
        if t.kind == "op" and t.text in ("**", "^"):
            self.advance()
            self.enter(t.col)
            exponent = self.unary()
            self.leave()
            return _pow(base, exponent, t.col)
        return base

    def atom(self) -> sp.Expr:
        t = self.advance()
        if t.kind == "num":
            return _number(t)
        if t.kind == "op" and t.text == "(":
            self.enter(t.col)
            e = self.expr()
            self.expect(")")
            self.leave()
            return e
        if t.kind == "name":
            return self.name(t)
        raise _error(t.col, f"expected a number, a name or '(', found {self._describe(t)}")

    def name(self, t: Token) -> sp.Expr:
        name = t.text
        calling = self.tok.kind == "op" and self.tok.text == "("
        if name.startswith("_"):
            raise _error(t.col, f"names starting with '_' are not allowed: {_show(name)}")
        if not calling:
            if name == "x":
                return X
            if name in self.params:
                return self.params[name]
            if name in CONSTANTS:
                return CONSTANTS[name]
            if name in FUNCTIONS or name in self.catalog or name == "Piecewise":
                raise _error(t.col, f"function {name!r} needs arguments: {name}(...)")
            raise _error(t.col, f"unknown name {_show(name)} (the variable is x"
                         + (f"; parameters: {', '.join(self.params)}" if self.params else "")
                         + ")")
        if name == "Piecewise":
            return self.piecewise(t)
        if name in FUNCTIONS:
            fn, lo, hi = FUNCTIONS[name]
        elif name in self.catalog:
            fn, lo, hi = self.catalog[name]
        else:
            raise _error(t.col, f"unknown function {_show(name)}")
        args = self.call_args(t)
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise _error(t.col, f"{name}() takes {want} argument(s), got {len(args)}")
        return fn(*args)

    def call_args(self, t: Token) -> list[sp.Expr]:
        open_ = self.expect("(")
        self.enter(open_.col)
        args = [self.expr()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.advance()
            if len(args) >= LIMITS["args"]:
                raise _error(self.tok.col, f"too many arguments (limit {LIMITS['args']})")
            args.append(self.expr())
        self.expect(")")
        self.leave()
        return args

    def piecewise(self, t: Token) -> sp.Expr:
        open_ = self.expect("(")
        self.enter(open_.col)
        pairs = []
        while True:
            if len(pairs) >= LIMITS["args"]:
                raise _error(self.tok.col, f"too many Piecewise pieces (limit {LIMITS['args']})")
            p = self.expect("(")
            self.enter(p.col)
            value = self.expr()
            self.expect(",")
            cond, ccol = self.cond()
            self.expect(")")
            self.leave()
            pairs.append((value, cond, ccol))
            if self.tok.kind == "op" and self.tok.text == ",":
                self.advance()
                continue
            break
        self.expect(")")
        self.leave()
        if pairs[-1][1] is not sp.true:
            raise _error(pairs[-1][2], "the last Piecewise condition must be True (or otherwise)")
        return sp.Piecewise(*[(v, c) for v, c, _ in pairs])

    def cond(self) -> tuple[sp.Basic, int]:
        t = self.tok
        if t.kind == "name" and t.text in ("True", "otherwise"):
            self.advance()
            return sp.true, t.col
        lhs = self.expr()
        op = self.tok
        if op.kind != "op" or op.text not in ("<", "<=", ">", ">="):
            raise _error(op.col, f"expected a comparison (< <= > >=), found {self._describe(op)}")
        self.advance()
        rhs = self.expr()
        rel = {"<": sp.Lt, "<=": sp.Le, ">": sp.Gt, ">=": sp.Ge}[op.text](lhs, rhs)
        if rel in (sp.true, sp.false):
            raise _error(op.col, "the condition is constant; write True for the last piece")
        if not isinstance(rel, sp.core.relational.Relational):
            raise _error(op.col, "the condition must compare real expressions")
        return rel, t.col


def _number(t: Token) -> sp.Rational:
    m = _NUMBER.fullmatch(t.text)
    assert m is not None
    mantissa, exp_part = m.group(1), m.group(2)
    digits = mantissa.replace(".", "").lstrip("0")
    if len(digits) > LIMITS["digits"]:
        raise _error(t.col, f"number with more than {LIMITS['digits']} digits")
    if exp_part and abs(int(exp_part[1:])) > LIMITS["exp10"]:
        raise _error(t.col, f"decimal exponent beyond 1e{LIMITS['exp10']}")
    return sp.Rational(t.text)  # exact: "0.1" -> 1/10, "1e-3" -> 1/1000


def _pow(base: sp.Expr, exponent: sp.Expr, col: int) -> sp.Expr:
    """base ** exponent, refusing exponents that would make SymPy (or the result) explode."""
    if exponent.is_number:
        if exponent.is_real is False:
            raise _error(col, "complex exponent")
        try:
            mag = abs(float(exponent))
        except (TypeError, ValueError):
            raise _error(col, "exponent is not a real number") from None
        if mag > LIMITS["power"]:
            raise _error(col, f"exponent {_show(str(exponent))} too large "
                              f"(limit {LIMITS['power']} in magnitude)")
        if base.is_number:
            bits = max(1.0, abs(float(sp.log(abs(base), 2))) if base != 0 else 1.0)
            if bits * mag > LIMITS["bits"]:
                raise _error(col, f"constant power too large (limit 2**{LIMITS['bits']})")
            if base.is_zero and exponent.is_negative:
                raise _error(col, "division by zero (0 to a negative power)")
    return sp.Pow(base, exponent)


def _count_nodes(expr: sp.Basic, limit: int) -> int:
    count = 0
    for _ in sp.preorder_traversal(expr):
        count += 1
        if count > limit:
            break
    return count


def check_size(expr: sp.Basic) -> None:
    """Refuse an expression tree with more than ``LIMITS['nodes']`` nodes."""
    if _count_nodes(expr, LIMITS["nodes"]) > LIMITS["nodes"]:
        raise ExpressionError(f"expression too large (more than {LIMITS['nodes']} nodes)")


def parse(text: str, params: Iterable[str] | dict[str, sp.Symbol] = ()) -> sp.Expr:
    """The SymPy expression of ``text`` in the real variable ``x`` and the given parameters.

    >>> parse("x*sigmoid(a*x)", ["a"])
    x/(1 + exp(-a*x))
    """
    if not isinstance(text, str):
        raise ExpressionError(f"expression must be text, not {type(text).__name__}")
    if isinstance(params, dict):
        symbols = dict(params)
    else:
        symbols = {p: sp.Symbol(p, real=True) for p in params}
    tokens = tokenize(text)
    if len(tokens) == 1:
        raise ExpressionError("empty expression")
    try:
        expr = _Parser(tokens, symbols).parse()
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
    check_size(expr)
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ExpressionError("expression is undefined or infinite (e.g. 1/0, log(0))")
    return expr
