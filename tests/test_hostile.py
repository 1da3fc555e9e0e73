"""Hostile expressions through ``symact.define`` and ``symact derive``: each ends in a one-line
error, a documented exit code, bounded time and memory, and nothing is executed (a canary file
that every code-running payload would create stays absent)."""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import pytest
from conftest import ROOT

import symact
from symact.errors import EXIT_USER_ERROR, SymactError

CANARY = "/tmp/symact-hostile-canary"  # every payload that runs code would create this file

#: (id, payload). ``{c}`` is replaced by the canary path.
CORPUS: list[tuple[str, str]] = [
    ("import-system", "__import__('os').system('touch {c}')"),
    ("import-bare", "__import__"),
    ("import-call-noquote", "__import__(x)"),
    ("import-stmt", "import os; os.system('touch {c}')"),
    ("open", "open('{c}', 'w')"),
    ("open-noquote", "open(x)"),
    ("exec", "exec(\"open('{c}','w')\")"),
    ("eval", "eval(\"open('{c}','w')\")"),
    ("attribute", "x.__class__"),
    ("attribute-chain", "x.__class__.__base__.__subclasses__()"),
    ("tuple-mro", "().__class__.__bases__[0].__subclasses__()"),
    ("getattr", "getattr(x, '__class__')"),
    ("dunder-builtins", "__builtins__"),
    ("dunder-name", "__name__ + x"),
    ("lambda", "lambda: open('{c}', 'w')"),
    ("lambda-called", "(lambda: open('{c}', 'w'))()"),
    ("list-comprehension", "[open('{c}', 'w') for i in range(1)]"),
    ("set-display", "{{open('{c}', 'w')}}"),
    ("generator", "sum(open('{c}', 'w') for i in [1])"),
    ("conditional", "x if open('{c}', 'w') else 0"),
    ("walrus", "(y := open('{c}', 'w'))"),
    ("fstring", "f\"{{open('{c}','w')}}\""),
    ("hex-escape", "'\\x5f\\x5fimport\\x5f\\x5f'"),
    ("unicode-escape", "\\u005f\\u005fimport\\u005f\\u005f('os')"),
    ("sympy-Symbol-string", "Symbol('y')"),
    ("sympy-sympify", "sympify(\"open('{c}','w')\")"),
    ("semicolon", "x; open('{c}', 'w')"),
    ("subscript", "sigmoid(x)[0]"),
    ("matmul", "x @ x"),
    ("keyword-arg", "exp(x=1)"),
    ("piecewise-payload", "Piecewise((open('{c}', 'w'), True))"),
    ("huge-exponent", "x**10**10"),
    ("huge-power-tower", "10**10**10**10"),
    ("huge-base", "9999999999**9999"),
    ("huge-literal-exponent", "1e100000"),
    ("long-number", "1" * 5000),
    ("deep-parentheses", "(" * 10000 + "x" + ")" * 10000),
    ("deep-unary", "-" * 5000 + "x"),
    ("deep-calls", "exp(" * 500 + "x" + ")" * 500),
    ("deep-power", "x" + "**x" * 500),
    ("many-arguments", "Max(" + "x, " * 5000 + "x)"),
    ("many-nodes", "+".join("sigmoid(" * 20 + f"{i}*x" + ")" * 20 for i in range(1, 21))),
    ("one-megabyte-sum", "x+" * 500_000 + "x"),
    ("one-megabyte-spaces", " " * 1_000_000 + "x"),
    ("unknown-function", "foo(x)"),
    ("unknown-system", "system(x)"),
    ("unknown-name", "y"),
    ("cyrillic-x", "\u0445 + 1"),  # looks like x
    ("ukrainian-i", "s\u0456gmoid(x)"),  # looks like sigmoid
    ("fullwidth-x", "\uff58"),
    ("zero-width-space", "x\u200b+1"),
    ("rtl-override", "x\u202e+1"),
    ("nul-byte", "x\x00+1"),
    ("newline-injection", "x\nimport os"),
    ("division-by-zero", "1/(x-x)"),
    ("comparison-outside-piecewise", "x < 1"),
]


def _payloads() -> list[tuple[str, str]]:
    return [(i, p.replace("{c}", CANARY).replace("{{", "{").replace("}}", "}"))
            for i, p in CORPUS]


IDS = [i for i, _ in CORPUS]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30 and len(set(IDS)) == len(IDS)


@pytest.fixture(autouse=True)
def _no_canary():
    import os

    if os.path.exists(CANARY):
        os.unlink(CANARY)
    yield
    assert not os.path.exists(CANARY), "a payload was executed"


@pytest.mark.parametrize("payload", [p for _, p in _payloads()], ids=IDS)
def test_define_refuses(payload):
    t = time.monotonic()
    with pytest.raises(SymactError) as info:
        symact.define("hostile", payload, timeout=5)
    assert time.monotonic() - t < 10
    message = str(info.value)
    assert message and "\n" not in message and len(message) < 400
    assert info.value.exit_code == EXIT_USER_ERROR


@pytest.mark.parametrize("payload", [p for _, p in _payloads()], ids=IDS)
def test_cli_refuses(payload):
    # long payloads, and those with a NUL byte (not allowed in argv), go through standard input
    via_stdin = len(payload) > 100_000 or "\x00" in payload
    args = [sys.executable, "-m", "symact", "derive", "--name", "hostile", "--timeout", "5",
            "--", "-" if via_stdin else payload]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, input=payload if via_stdin else None,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - t
    assert proc.returncode == EXIT_USER_ERROR, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("symact: error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert elapsed < 30  # python + sympy start-up included
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over children
    assert max(peak, before) < 1_000_000


def test_slow_derivation_stops_within_budget():
    """A valid expression whose derivation is slow: stopped at the time budget, in both paths."""
    expr = "x*tanh(softplus(x))"
    t = time.monotonic()
    with pytest.raises(SymactError, match="time budget of 1 s"):
        symact.define("slow", expr, timeout=1)
    assert time.monotonic() - t < 5
    proc = subprocess.run([sys.executable, "-m", "symact", "derive", expr, "--timeout", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_USER_ERROR
    assert proc.stderr.count("\n") == 1 and "time budget" in proc.stderr


def _allocate_gigabytes(n: int) -> int:
    return len(bytearray(n * 2**30))


def test_memory_budget_stops_the_child():
    from symact.budget import run_bounded

    t = time.monotonic()
    with pytest.raises(SymactError, match="memory budget"):
        run_bounded(_allocate_gigabytes, 4, timeout=20, memory_mb=256)
    assert time.monotonic() - t < 20
    assert run_bounded(_allocate_gigabytes, 0, timeout=20) == 0  # and the parent lives on
