"""The user's own activations: ``symact.define(name, expr, params)`` and name validation.

A user activation is an :class:`Activation` like the catalog's, built from a SymPy expression or
from text parsed by :mod:`symact.parse` (never evaluated as Python). Its derivative, output form
and stabilized kernels are computed eagerly in a child process under a time and memory budget
(:mod:`symact.budget`). It is not added to the catalog.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Mapping

import sympy as sp
from sympy.core.function import AppliedUndef

from .activation import Activation, all_activations
from .budget import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, run_bounded
from .catalog import Param, Spec, X
from .errors import ExpressionError, InvalidNameError, ParameterError
from .parse import CONSTANTS, FUNCTIONS, KEYWORDS, check_size, parse

#: Accepted names: lower-case ASCII letter, then lower-case letters, digits and '_', <= 32 chars.
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")

C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic
    _Generic _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr false nullptr
    static_assert thread_local true typeof typeof_unqual asm fortran
""".split())

#: Identifiers of libm and <stddef.h>/<math.h> macros a parameter would shadow in the C code.
C_LIBRARY = frozenset("""
    acos acosh asin asinh atan atan2 atanh cbrt ceil copysign cos cosh erf erfc exp exp2 expm1
    fabs fdim floor fma fmax fmin fmod frexp hypot ilogb isfinite isinf isnan isnormal ldexp
    lgamma llrint llround log log10 log1p log2 logb lrint lround modf nan nearbyint nextafter
    nexttoward pow remainder remquo rint round scalbln scalbn signbit sin sinh sqrt tan tanh
    tgamma trunc size_t ptrdiff_t offsetof NULL errno main printf malloc free
    infinity nan huge_val
""".split())

#: Identifiers the generated code uses itself (module names, locals, loop variables).
GENERATED = frozenset("""
    x y n i d r np math dtype scalar at_inf positive near out result value s g inf_seen x_in
""".split())

#: the generated code's numbered locals: common subexpressions t0, t1, ..., NumPy scratch
#: buffers b0, masks m2, int scratch i3, Piecewise conditions take0, double-double q0 and dd0
_TEMP = re.compile(r"(?:t|b|m|i|q|dd|take)\d+")


def _catalog_symbols() -> set[str]:
    """Every public name the catalog's generated code defines, without the symact_ prefix."""
    out = set()
    for act in all_activations():
        for base in (act.spec.name, *act.spec.aliases):
            for k in ("", "_prime"):
                out |= {base + k, base + k + "f", base + k + "_array", base + k + "_arrayf"}
    return out


def _generated_symbols(name: str) -> set[str]:
    return {name + k + s for k in ("", "_prime") for s in ("", "f", "_array", "_arrayf")}


def _check_identifier(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be text, not {type(name).__name__}")
    shown = ascii(name if len(name) <= 40 else name[:40] + "...")
    if not name.isascii():
        raise InvalidNameError(f"{what} {shown} contains non-ASCII characters "
                               "(allowed: a-z, 0-9, '_', starting with a letter)")
    if not NAME_RE.fullmatch(name):
        raise InvalidNameError(f"{what} {shown} is not allowed: use 1 to 32 characters "
                               "a-z, 0-9, '_', starting with a lower-case letter")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise InvalidNameError(f"{what} {shown} is a Python keyword")
    if name in C_KEYWORDS:
        raise InvalidNameError(f"{what} {shown} is a C keyword")
    if name.startswith("symact"):
        raise InvalidNameError(f"{what} {shown} is reserved (names starting with 'symact')")
    return name


def validate_name(name: object) -> str:
    """``name`` if it can name a user activation in Python and C; else a one-line error."""
    name = _check_identifier(name, "activation name")
    reserved = set(FUNCTIONS) | set(CONSTANTS) | KEYWORDS | GENERATED
    if name in reserved or name in C_LIBRARY or name in dir(builtins) or _TEMP.fullmatch(name):
        raise InvalidNameError(f"activation name {name!r} is reserved")
    catalog = {n for a in all_activations() for n in (a.spec.name, *a.spec.aliases)}
    if name in catalog:
        raise InvalidNameError(f"activation name {name!r} is already a catalog activation")
    clash = _generated_symbols(name) & _catalog_symbols()
    if clash:
        raise InvalidNameError(f"activation name {name!r} clashes with the catalog's "
                         f"{sorted(clash)[0]!r}")
    return name


def validate_param_name(pname: object, activation: str) -> str:
    """``pname`` if it can be a parameter of ``activation`` in Python and C."""
    pname = _check_identifier(pname, "parameter name")
    catalog = {n for a in all_activations() for n in (a.spec.name, *a.spec.aliases)}
    if (pname in FUNCTIONS or pname in CONSTANTS or pname in KEYWORDS or pname in GENERATED
            or pname in C_LIBRARY or pname in dir(builtins) or _TEMP.fullmatch(pname)
            or pname in catalog):
        raise InvalidNameError(f"parameter name {pname!r} is reserved")
    if pname == activation or pname in _generated_symbols(activation):
        raise InvalidNameError(f"parameter name {pname!r} clashes with the activation's name")
    return pname


def _param_value(pname: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, sp.Number)):
        raise ParameterError(f"parameter {pname}: value must be a number, "
                             f"not {type(value).__name__}")
    try:
        v = float(value)  # a string here is a number literal only: float() never evaluates
    except (ValueError, OverflowError):
        raise ParameterError(f"parameter {pname}: {ascii(str(value)[:40])} is not a number") \
            from None
    if not math.isfinite(v):
        raise ParameterError(f"parameter {pname}: value must be finite, got {value!r}")
    return v


def _from_sympy(expr: sp.Basic, params: dict[str, sp.Symbol]) -> sp.Expr:
    """A user-supplied SymPy expression, its symbols mapped to symact's x and parameters."""
    if not isinstance(expr, sp.Expr):
        raise ExpressionError(f"expression must be text or a SymPy expression, "
                              f"not {type(expr).__name__}")
    check_size(expr)
    undefined = expr.atoms(AppliedUndef)
    if undefined:
        raise ExpressionError(f"undefined function {sorted(map(str, undefined))[0][:40]!r}")
    mapping = {}
    for s in expr.free_symbols:
        if s.name == "x":
            mapping[s] = X
        elif s.name in params:
            mapping[s] = params[s.name]
        else:
            raise ExpressionError(f"unknown symbol {s.name!r} (the variable is x"
                                  + (f"; parameters: {', '.join(params)}" if params else "")
                                  + ")")
    return expr.xreplace(mapping)


#: A description goes into docstrings and C comments: printable ASCII without quotes,
#: backslashes or comment delimiters.
_DESCRIPTION = re.compile(r"[A-Za-z0-9 .,;:!?()+\-*/^=<>'_%&|\[\]{}]{0,200}")


def _description(text: object) -> str:
    if not isinstance(text, str):
        raise ExpressionError(f"description must be text, not {type(text).__name__}")
    if not _DESCRIPTION.fullmatch(text) or "*/" in text or "/*" in text:
        raise ExpressionError("description: at most 200 printable ASCII characters, "
                              "no quotes, backslashes or comment delimiters")
    return text.strip()


def _derive(act: Activation) -> dict:
    """The cached derivations of ``act`` (run in the child)."""
    act.kernels  # noqa: B018 -- computes derivative and stabilized kernels
    return {"raw_derivative": act.raw_derivative, "derivative": act.derivative,
            "_output": act._output, "kernels": act.kernels}


def prepare(name: str, params: Mapping[str, object] | None = None
            ) -> tuple[str, tuple[Param, ...]]:
    """The validated name and parameters (with float defaults); one-line errors otherwise."""
    name = validate_name(name)
    params = dict(params or {})
    if len(params) > 8:
        raise ParameterError(f"too many parameters ({len(params)}, limit 8)")
    objs = tuple(Param(validate_param_name(p, name), _param_value(p, v))
                 for p, v in params.items())
    return name, objs


def build(name: str, expr: sp.Basic | str, params: Mapping[str, object] | None = None,
          description: str = "") -> Activation:
    """Validate, parse and build the activation, deriving nothing. Parsing is bounded in size
    (:data:`symact.parse.LIMITS`) but not in time: :func:`define` runs it under the budget."""
    name, objs = prepare(name, params)
    symbols = {p.name: p.symbol() for p in objs}
    e = parse(expr, symbols) if isinstance(expr, str) else _from_sympy(expr, symbols)
    desc = _description(description) or f"User activation: {sp.sstr(e)[:120]}"
    syms = tuple(symbols.values())

    def definition(x, *ps, _e=e, _syms=syms):
        return _e.xreplace({X: x, **dict(zip(_syms, ps, strict=True))})

    return Activation(Spec(name, desc, definition, params=objs))


def check_real(act: Activation) -> None:
    """Refuse a definition that is not real on the real line (log(x), sqrt(x) for x < 0),
    probed at a few points with the default parameters."""
    e = act.expr.xreplace({s: sp.Rational(repr(v)) for s, v in act.defaults.items()})
    for xv in (-10, -1, sp.Rational(-1, 2), 0, sp.Rational(1, 2), 1, 10):
        try:
            value = complex(e.xreplace({X: xv}).evalf(30))
        except (TypeError, ValueError):
            continue  # undefined at this one point (0*log(0)): left to the derivation
        if value.imag != 0 and not (math.isnan(value.imag) or math.isinf(value.imag)):
            raise ExpressionError(f"{act.name}({xv}) is not real: an activation must be real "
                                  "for every real x (log or sqrt of a negative number?)")
    poles = _poles(e)
    if poles:
        raise ExpressionError(f"{act.name} has a pole at x = {poles[0]}: an activation must "
                              "be finite for every real x")


def _poles(e: sp.Expr) -> list[sp.Expr]:
    """The real roots of a rational function's denominator, in lowest terms (x^3/(2 + 3x):
    -2/3); [] for anything else."""
    if e.free_symbols != {X} or not e.is_rational_function(X):
        return []
    den = sp.Poly(sp.fraction(sp.cancel(sp.together(e)))[1], X)
    if den.degree() < 1:
        return []
    if den.domain.is_QQ or den.domain.is_ZZ:
        return list(den.real_roots())
    return [sp.Float(r.evalf(17), 17) for r in den.nroots() if r.is_real]


def _define_job(name, expr, params, description) -> tuple[sp.Expr, dict]:
    """Runs in the budgeted child: parse, check, derive and stabilize."""
    act = build(name, expr, params, description)
    check_real(act)
    return act.expr, _derive(act)


def define(name: str, expr: sp.Basic | str, params: Mapping[str, object] | None = None,
           description: str = "", *, timeout: float = DEFAULT_TIMEOUT,
           memory_mb: int = DEFAULT_MEMORY_MB) -> Activation:
    """A user activation ``name(x) = expr`` with parameters ``{name: default}``.

    ``expr`` is a SymPy expression in ``x`` or text in symact's grammar (:mod:`symact.parse`):
    ``define("mish", "x*tanh(softplus(x))")``, ``define("swish_b", "x*sigmoid(b*x)", {"b": 1.5})``.
    Parsing, the derivative and the stable kernels are done at once, in a forked child process
    stopped after ``timeout`` seconds and capped at ``memory_mb`` MB more than this process;
    any problem is a :class:`SymactError` with a one-line message.
    The activation is not registered in the catalog.
    """
    prepare(name, params)  # bad names and values fail here, before any fork
    _description(description)
    e, derived = run_bounded(_define_job, name, expr, params, description, timeout=timeout,
                             memory_mb=memory_mb)
    act = build(name, e, params, description)
    act.__dict__.update(derived)  # fill the cached properties with the child's results
    return act
