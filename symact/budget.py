"""Run a piece of SymPy work under a time and memory budget, in a forked child process.

SymPy can hang or eat memory on some inputs (inside big-integer arithmetic, where no signal
handler runs), so the work runs in a ``fork``ed child: the parent waits at most ``timeout``
seconds for its pickled result and kills it (SIGKILL) otherwise; the child's address space is
capped with ``RLIMIT_AS`` (its size at fork plus ``memory_mb``). A :class:`SymactError` raised in
the child is raised again in the parent; any other failure becomes an :class:`ExpressionError`.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import traceback
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from . import errors
from .errors import ExpressionError, SymactError

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0  # seconds: a parameterized activation with patches takes ~20 s
DEFAULT_MEMORY_MB = 2048  # on top of the process size at fork


def _vm_size() -> int:
    """Current address-space size of this process in bytes (0 if unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit] + "..."


def _child(conn, fn: Callable[..., Any], args: tuple, memory_mb: int) -> None:
    if not os.environ.get("SYMACT_DEBUG"):  # the parent reports; stray warnings stay quiet
        warnings.simplefilter("ignore")
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        size = _vm_size()
        if size and memory_mb > 0:
            cap = size + memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        result: tuple = ("ok", fn(*args))
    except SymactError as exc:
        result = ("symact", type(exc).__name__, str(exc), exc.exit_code)
    except MemoryError:
        result = ("symact", "ExpressionError",
                  f"derivation exceeded the memory budget ({memory_mb} MB)", errors.EXIT_USER_ERROR)
    except RecursionError:
        result = ("symact", "ExpressionError", "expression nested too deeply to derive",
                  errors.EXIT_USER_ERROR)
    except Exception as exc:  # noqa: BLE001 -- any SymPy failure is reported as one line
        if os.environ.get("SYMACT_DEBUG"):
            traceback.print_exc()
        result = ("symact", "ExpressionError",
                  f"symact cannot handle this expression ({type(exc).__name__}: "
                  f"{_one_line(exc)})", errors.EXIT_USER_ERROR)
    try:
        conn.send(result)
    except Exception as exc:  # noqa: BLE001 -- e.g. an unpicklable result
        conn.send(("symact", "ExpressionError", f"result not transferable: {_one_line(exc)}",
                   errors.EXIT_USER_ERROR))
    finally:
        conn.close()
        os._exit(0)  # skip atexit handlers and buffered output inherited from the parent


def run_bounded(fn: Callable[..., T], *args: Any, timeout: float = DEFAULT_TIMEOUT,
                memory_mb: int = DEFAULT_MEMORY_MB, what: str = "derivation") -> T:
    """``fn(*args)`` in a forked child, stopped after ``timeout`` s; its result (pickled)."""
    if not 0 < timeout <= 86_400:
        raise ExpressionError(f"timeout must be in (0, 86400] seconds, got {timeout!r}")
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, memory_mb), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            raise ExpressionError(f"{what} exceeded the time budget of {timeout:g} s")
        try:
            result = recv.recv()
        except EOFError:
            proc.join(1)
            raise ExpressionError(
                f"{what} stopped (exit status {proc.exitcode}); memory budget exceeded?"
            ) from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()
    if result[0] == "ok":
        return result[1]
    _, kind, message, code = result
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, SymactError)):
        cls = ExpressionError
    exc = cls(message)
    exc.exit_code = code
    raise exc
