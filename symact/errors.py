"""The one exception type a user can cause, with the CLI exit code it maps to."""

from __future__ import annotations

#: Exit codes of the ``symact`` command (also listed in README.md).
EXIT_OK = 0
EXIT_USAGE = 2  # bad flag or missing argument (argparse's own code)
EXIT_USER_ERROR = 3  # unknown activation, bad expression, bad parameter value
EXIT_DRIFT = 4  # ``generate --check`` found files that differ
EXIT_IO = 5  # output directory not writable, file system error
EXIT_BUILD = 6  # ``build``: no C compiler, or the generated C failed to compile or load
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell convention)


class SymactError(Exception):
    """An error caused by the user's input; its message is one line, fit to print as is."""

    exit_code = EXIT_USER_ERROR


class UnknownActivationError(SymactError, KeyError):
    """No activation (or alias) of that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(SymactError, ValueError):
    """A parameter value outside its valid range, or an unknown parameter."""


class ExpressionError(SymactError, ValueError):
    """A user expression outside the allowed grammar, too large, or too slow to derive."""


class InvalidNameError(SymactError, ValueError):
    """An activation or parameter name that cannot become a safe Python and C identifier."""


class OutputError(SymactError, OSError):
    """The output directory cannot be written."""

    exit_code = EXIT_IO
