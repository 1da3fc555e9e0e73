"""Derivatives, simplification, and the derivative written in terms of the output.

``output_form(f)`` looks for g with f'(x) = g(f(x)): it inverts y = f(x) (branch by branch for a
``Piecewise``), substitutes into f', and keeps a candidate only once it is proven, symbolically
and numerically at high precision.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import mpmath
import sympy as sp

#: The symbol standing for the activation's output in output forms.
Y = sp.Symbol("y", real=True)

#: Sample points for the numeric half of every proof.
PROOF_POINTS = (-7.25, -3.0, -1.5, -0.75, -0.125, 0.0, 0.3, 1.0, 2.5, 6.0, 11.0)
PROOF_DIGITS = 50
#: Expressions larger than this (in sp.count_ops) are not put through sp.simplify.
SIMPLIFY_MAX_OPS = 40


#: Seconds SymPy's solve may spend inverting y = f(x) before symact gives up on a form.
SOLVE_SECONDS = 10
#: An inverse x(y) larger than this is not searched for an output form: the catalog's are at
#: most 8 operations, while Cardano's roots of y = x^3/(1 + x^2) (45-61) sent the
#: simplifications past 300 s, to a form nobody could read anyway.
INVERSE_MAX_OPS = 20


class _OutOfTime(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise _OutOfTime inside the block after ``seconds`` (main thread only; elsewhere no
    limit). SymPy's solve can run for minutes on a transcendental equation."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expire(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class OutputForm:
    """f'(x) = expr(y) with y = f(x), and how that was proven."""

    expr: sp.Expr
    proof: str


def simplify_derivative(expr: sp.Expr) -> sp.Expr:
    """A readable simplified form, keeping Piecewise branches apart."""
    if isinstance(expr, sp.Piecewise):
        pieces = [(simplify_derivative(e), c) for e, c in expr.args]
        return sp.Piecewise(*pieces)
    kinds = _function_kinds(expr)
    if sp.count_ops(expr) > SIMPLIFY_MAX_OPS:  # blanket simplify is slow on big expressions
        return tidy(expr)
    candidates = [expr, sp.simplify(expr), sp.factor(sp.simplify(expr)), sp.factor(expr)]
    # Keep to the functions the expression already uses (no cosh(x/2) for a sigmoid).
    candidates = [c for c in candidates if _function_kinds(c) <= kinds] or [expr]
    return tidy(min(candidates, key=sp.count_ops))


def _function_kinds(expr: sp.Expr) -> set[type]:
    return {type(f) for f in expr.atoms(sp.Function)}


def tidy(expr: sp.Expr) -> sp.Expr:
    """Absorb a leading minus sign into a factor: -y*(y - 1) -> y*(1 - y)."""
    if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
        adds = [f for f in expr.args if isinstance(f, sp.Add)]
        if adds:
            rest = [f for f in expr.args if f is not adds[0]]
            return sp.Mul(*rest, -1) * sp.expand(-adds[0])
    if isinstance(expr, sp.Add):
        return sp.Add(*[tidy(a) for a in expr.args])
    if (expr.is_Pow and expr.exp.is_even and isinstance(expr.base, sp.Add)
            and expr.base.as_coeff_Add()[0] < 0):  # (|y| - 1)^2 -> (1 - |y|)^2
        return sp.Pow(sp.expand(-expr.base), expr.exp, evaluate=False)
    return expr


def derivative(expr: sp.Expr, x: sp.Symbol, order: int = 1) -> sp.Expr:
    """d^order expr / dx^order, branch by branch for Piecewise, simplified.

    Differentiating a Piecewise branch-wise keeps each branch's condition, which is what sets
    the convention at a kink; a constant result is folded (so a step has derivative 0, never
    a Dirac delta).
    """
    result = expr
    for _ in range(order):
        if isinstance(result, sp.Piecewise):
            result = sp.Piecewise(*[(sp.diff(e, x), c) for e, c in result.args])
        else:
            result = sp.diff(result, x)
        result = _fold_piecewise(result.replace(sp.DiracDelta, lambda *a: sp.S.Zero))
    return simplify_derivative(result)


def _fold_piecewise(expr: sp.Expr) -> sp.Expr:
    if isinstance(expr, sp.Piecewise):
        values = {sp.simplify(e) for e, _ in expr.args}
        if len(values) == 1:
            return values.pop()
    return expr


def numerically_equal(
    a: sp.Expr, b: sp.Expr, symbols: dict[sp.Symbol, float], points=PROOF_POINTS, var=None
) -> bool:
    """a == b at every sample point, evaluated with mpmath at PROOF_DIGITS digits."""
    free = (a.free_symbols | b.free_symbols) - set(symbols)
    (xs,) = free if len(free) == 1 else (var,)
    fa = sp.lambdify([xs, *symbols], a, modules="mpmath")
    fb = sp.lambdify([xs, *symbols], b, modules="mpmath")
    vals = [mpmath.mpf(v) for v in symbols.values()]
    with mpmath.workdps(PROOF_DIGITS):
        for p in points:
            try:
                va, vb = fa(mpmath.mpf(p), *vals), fb(mpmath.mpf(p), *vals)
            except (ZeroDivisionError, ValueError):
                continue
            if abs(va - vb) > mpmath.mpf(10) ** (-PROOF_DIGITS + 8) * max(1, abs(vb)):
                return False
    return True


#: _symbolically_zero's answers (or the exception it raised) by expression: output_form's
#: candidates repeat (deriv and deriv.rewrite(exp) often give the same g(y)), and a failing
#: check costs seconds of simplify (squareplus: four repeats, ~9 s).
_ZERO_MEMO: dict[str, bool | Exception] = {}
_ZERO_MEMO_SIZE = 256


def _symbolically_zero(expr: sp.Expr) -> bool:
    """Is expr identically 0? Each attempt is an identity transformation, so any order is sound;
    cheapest-first: on tanh-type kernels a plain simplify spends ~7 s failing where the
    exp-rewritten one succeeds in < 1 s. Memoized (a pure function of the expression), by
    srepr: == would let x + 2.0 stand for x + 2."""
    key = sp.srepr(expr)
    known = _ZERO_MEMO.get(key)
    if known is None:
        try:
            known = _symbolically_zero_now(expr)
        except (_OutOfTime, MemoryError, RecursionError):  # circumstances, not the expression
            raise
        except Exception as exc:  # noqa: BLE001 -- remembered and raised again, as before
            known = exc
        if len(_ZERO_MEMO) >= _ZERO_MEMO_SIZE:
            _ZERO_MEMO.clear()
        _ZERO_MEMO[key] = known
    if isinstance(known, Exception):
        raise known
    return known


def _symbolically_zero_now(expr: sp.Expr) -> bool:
    for attempt in (
        lambda e: e,
        lambda e: sp.simplify(e.rewrite(sp.exp)),
        sp.simplify,
        lambda e: sp.simplify(sp.powsimp(sp.expand(e.rewrite(sp.exp)), force=True)),
        _erfc_as_erf,
    ):
        if attempt(expr) == 0:
            return True
    return False


def _erfc_as_erf(expr: sp.Expr) -> sp.Expr:
    """Phi(x) = erfc(-x/sqrt 2)/2 against 1/2 + erf(x/sqrt 2)/2: both in erf."""
    e = expr.rewrite(sp.exp)
    return sp.simplify(e.rewrite(sp.erf)) if e.has(sp.erfc) else e


def _candidates(expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol, y: sp.Symbol = Y):
    """Candidate g(y), cheapest transformations first (a generator: callers stop early).
    ``y`` may carry a sign (positive for squareplus), which lets sqrt((b + 4y^2)^2) simplify;
    candidates come back in Y."""
    try:
        with time_limit(SOLVE_SECONDS):
            solutions = sp.solve(sp.Eq(y, expr), x)
    except (NotImplementedError, ValueError, TypeError, _OutOfTime):
        return
    for sol in solutions:
        if sol.has(x) or sol.has(sp.LambertW) or sp.count_ops(sol) > INVERSE_MAX_OPS:
            continue
        for form in (deriv, deriv.rewrite(sp.exp)):
            raw = form.subs(x, sol)
            for step in (
                lambda e: sp.factor(sp.powsimp(sp.expand(e), force=True)),
                lambda e: sp.expand(sp.powsimp(sp.expand(e), force=True)),
                sp.simplify,
                lambda e: sp.factor(sp.simplify(e)),
                lambda e: sp.factor(sp.simplify(_factor_radicands(sp.simplify(e)))),
            ):
                cand = step(raw).xreplace({y: Y})
                if not cand.has(x):
                    yield cand


def _factor_radicands(expr: sp.Expr) -> sp.Expr:
    """sqrt(P) -> sqrt(factor(P)): sqrt(b^2 + 8 b y^2 + 16 y^4) = b + 4 y^2 for b > 0."""
    return expr.replace(lambda t: t.is_Pow and t.exp.is_Rational and t.exp.q == 2,
                        lambda t: sp.Pow(sp.factor(t.base), t.exp))


def _changes_sign(deriv: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float]) -> bool:
    """Does f' take both signs on the proof sample? Then f is not injective and y = f(x)
    cannot be inverted (and SymPy's solve may take minutes to find that out)."""
    fn = sp.lambdify([x], deriv.subs(params), modules="mpmath")
    signs = set()
    with mpmath.workdps(30):
        for p in PROOF_POINTS:
            try:
                v = fn(mpmath.mpf(p))
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if v != 0:
                signs.add(v > 0)
    return len(signs) > 1


def _signed_y(expr: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float]) -> sp.Symbol:
    """A y symbol with the sign f takes on every proof point (squareplus: positive), else Y.
    Only a simplification aid: every candidate is proven afterwards with y = f(x)."""
    fn = sp.lambdify([x], expr.subs(params), modules="mpmath")
    signs = set()
    with mpmath.workdps(30):
        for p in PROOF_POINTS:
            try:
                signs.add(mpmath.sign(fn(mpmath.mpf(p))))
            except (ZeroDivisionError, ValueError, TypeError):
                return Y
    if signs == {1}:
        return sp.Symbol("y", positive=True)
    if signs == {-1}:
        return sp.Symbol("y", negative=True)
    return Y


def _smooth_output_form(
    expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float]
) -> OutputForm | None:
    if _changes_sign(deriv, x, params):
        return None
    best = None
    for cand in _candidates(expr, deriv, x, _signed_y(expr, x, params)):
        if best is not None and sp.count_ops(cand) >= sp.count_ops(best):
            continue
        if _symbolically_zero(cand.subs(Y, expr) - deriv) and numerically_equal(
            cand.subs(Y, expr), deriv, params, var=x
        ):
            best = cand
            if cand.is_polynomial(Y):  # nothing simpler is worth the search
                break
    if best is None:
        return None
    if best.is_polynomial(Y):
        best = min((tidy(sp.factor(best)), sp.expand(best)), key=sp.count_ops)
    return OutputForm(tidy(best), "symbolic and numeric (50 digits)")


def _piecewise_output_form(
    expr: sp.Piecewise, x: sp.Symbol, samples: list[dict[sp.Symbol, float]]
) -> OutputForm | None:
    """Branch by branch: a non-constant branch e_i(x) is inverted, its derivative written in y
    and its condition mapped to y; constant branches become y == c. Proven symbolically per
    branch and numerically (50 digits) on both sides of every kink, for several parameter
    values across their ranges. SymPy failures mean "no form", never an error."""
    try:
        for constants_first in (False, True):
            g = _piecewise_candidate(expr, x, constants_first)
            if g is not None and _piecewise_proof(expr, g, x, samples):
                return OutputForm(_merge_mirror_branches(g),
                                  "symbolic by branch and numeric (50 digits)")
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        pass
    return None


def _piecewise_candidate(expr: sp.Piecewise, x: sp.Symbol, constants_first: bool):
    pieces: list[tuple[sp.Expr, object]] = []
    constant_values: list[tuple[sp.Expr, sp.Expr]] = []
    for branch, cond in expr.args:
        d = sp.diff(branch, x)
        if not branch.has(x):
            constant_values.append((branch, d))
            continue
        sols = sp.solve(sp.Eq(Y, branch), x)
        if len(sols) != 1:
            return None
        g = sp.factor(sp.simplify(d.subs(x, sols[0])))
        pieces.append((g, _condition_in_y(cond, branch, d, sols[0], x)))
    consts: list[tuple[sp.Expr, object]] = []
    derivs = {d for _, d in constant_values}
    if len(derivs) == 1 and not constants_first:
        consts.append((derivs.pop(), sp.true))
    else:
        for d in sorted(derivs, key=sp.default_sort_key):
            values = [c for c, dd in constant_values if dd == d]
            consts.append((d, sp.Or(*[sp.Eq(Y, c) for c in values])))
    pieces = consts + pieces if constants_first else pieces + consts
    if pieces and pieces[-1][1] is not sp.true:
        pieces.append((sp.nan, sp.true))
    return sp.Piecewise(*pieces)


def _condition_in_y(cond, branch: sp.Expr, d: sp.Expr, inverse: sp.Expr, x: sp.Symbol):
    """A branch condition on x as one on y. ``x op c`` on a branch with f' of one sign (every
    proof point) maps to ``y op f(c)`` (flipped where f decreases); else x -> f^-1(y)."""
    if cond is sp.true:
        return sp.true
    if isinstance(cond, sp.Rel) and cond.lhs == x and not cond.rhs.has(x):
        signs = {sp.sign(d.subs(x, p)) for p in PROOF_POINTS} - {0}
        if signs == {1}:
            return cond.func(Y, branch.subs(x, cond.rhs))
        if signs == {-1}:
            return cond.reversed.func(branch.subs(x, cond.rhs), Y).reversed
    return sp.simplify(cond.subs(x, inverse))


def _merge_mirror_branches(g: sp.Expr) -> sp.Expr:
    """Piecewise((h(y), y >= 0), (h(-y), True)) -> h(|y|): softsign' = (1 - |y|)^2."""
    if not isinstance(g, sp.Piecewise) or len(g.args) != 2 or g.args[1][1] is not sp.true:
        return g
    (h, cond), (other, _) = g.args
    if not (isinstance(cond, (sp.Ge, sp.Gt)) and cond.lhs == Y and cond.rhs == 0):
        return g
    if sp.expand(h.subs(Y, -Y) - other) != 0:
        return g
    return tidy(sp.factor(h.subs(Y, sp.Abs(Y))))


def _piecewise_proof(expr, g, x, samples) -> bool:
    # Symbolic: each non-constant branch's own piece, composed with the branch, is its derivative.
    for branch, _ in expr.args:
        if not branch.has(x):
            continue
        piece = [e for e, c in g.args if e.has(Y) or not e.has(x)]
        if not any(_symbolically_zero(e.subs(Y, branch) - sp.diff(branch, x)) for e in piece):
            return False
    # Numeric: the whole folded form on a sample that straddles every kink.
    folded = sp.piecewise_fold(g.subs(Y, expr))
    deriv = derivative(expr, x)
    for params in samples:
        kinks = _kinks(expr, x, params)
        points = list(PROOF_POINTS) + [k + d for k in kinks for d in (-0.25, 0.0, 0.25)]
        if not numerically_equal(folded.subs(params), deriv.subs(params), {},
                                 points=points, var=x):
            return False
    return True


def _kinks(expr: sp.Piecewise, x: sp.Symbol, params) -> list[float]:
    out = []
    for _, cond in expr.args:
        for rel in cond.atoms(sp.Rel):
            for side in (rel.lhs, rel.rhs):
                v = side.subs(params)
                if v.is_number and v.is_finite:
                    out.append(float(v))
    return sorted(set(out))


def output_form(
    expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float],
    samples: list[dict[sp.Symbol, float]] | None = None,
) -> OutputForm | None:
    """g with f'(x) = g(y), y = f(x), proven; None when none is found. ``samples`` are
    parameter values across their ranges that the numeric proof covers (default: params)."""
    samples = samples or [params]
    if not deriv.has(x):
        return OutputForm(deriv, "constant derivative")
    constants = sorted((f for f in expr.atoms(sp.Float) if f != 0), key=float)
    if not constants:
        return _output_form(expr, deriv, x, params, samples)
    # SELU's 40-digit constants: derive with symbols in their place, so that the symbolic
    # proof is exact (no rounding residue), then put the values back.
    names = {f: sp.Dummy(f"c{i}", positive=True) if f > 0 else sp.Dummy(f"c{i}", negative=True)
             for i, f in enumerate(constants)}
    values = {d: float(f) for f, d in names.items()}
    abstract = expr.xreplace(names)
    form = _output_form(abstract, derivative(abstract, x), x, {**params, **values},
                        [{**s, **values} for s in samples])
    if form is None:
        return None
    return OutputForm(form.expr.xreplace({d: f for f, d in names.items()}), form.proof)


def _output_form(expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol, params: dict[sp.Symbol, float],
                 samples: list[dict[sp.Symbol, float]]) -> OutputForm | None:
    if isinstance(expr, sp.Piecewise):
        return _piecewise_output_form(expr, x, samples)
    if any(a.has(x) for a in expr.atoms(sp.Abs)):  # softsign: by the sign of Abs's argument
        branches = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
        if isinstance(branches, sp.Piecewise):
            return _piecewise_output_form(branches, x, samples)
    try:
        return _smooth_output_form(expr, deriv, x, params)
    except (NotImplementedError, TypeError, ValueError, KeyError, sp.PolynomialError,
            _OutOfTime):
        return None  # SymPy could not invert or simplify: no form, not an error


@dataclass(frozen=True)
class MixedForm:
    """f'(x) = expr(y, s, x) with y = f(x) and s = sub(x), a sub-activation of f."""

    expr: sp.Expr
    s: sp.Symbol
    sub: sp.Expr
    proof: str


#: The symbol standing for the sub-activation in a mixed form.
S = sp.Symbol("s", real=True)


def _linear_solve(eq: sp.Expr, var: sp.Symbol) -> sp.Expr | None:
    """var from eq == 0 when eq is linear in var (no general solve: it can take minutes)."""
    if not eq.is_polynomial(var) or sp.degree(eq, var) != 1:
        return None
    a, b = sp.Poly(eq, var).all_coeffs()
    return sp.simplify(-b / a)


def _inverts(sol: sp.Expr, sub: sp.Expr, x: sp.Symbol) -> bool:
    """x = sol(s) gives back x from s = sub(x) on the real line (checked at x = 0.7 and -1.3):
    solve also returns complex branches (log(-sqrt(s/(1 - s))) for s = sigmoid(2x))."""
    free = sub.free_symbols - {x}
    pars = {p: sp.Rational(3, 2) for p in free}
    for x0 in (sp.Rational(7, 10), sp.Rational(-13, 10)):
        back = sol.subs(pars).subs(S, sub.subs(pars).subs(x, x0)).evalf(30)
        try:
            if not back.is_number or abs(complex(back) - float(x0)) > 1e-20:
                return False
        except TypeError:  # a number SymPy cannot evaluate (erfinv of an inexact argument)
            return False
    return True


def _in_terms_of_s(expr: sp.Expr, sub: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Replace ``sub`` by S, and each transcendental atom that is rational in S (e^-x for a
    sigmoid s: (1 - s)/s) by that rational form."""
    out = expr.subs(sub, S)
    if not any(a.has(x) for a in out.atoms(sp.exp, sp.tanh, sp.log)):
        return out
    try:
        with time_limit(SOLVE_SECONDS):
            inverse = sp.solve(sp.Eq(S, sub), x)
    except (NotImplementedError, ValueError, TypeError, _OutOfTime):
        return out
    inverse = [sol for sol in inverse if _inverts(sol, sub, x)]
    if len(inverse) != 1:
        return out
    for atom in out.atoms(sp.exp, sp.tanh, sp.log):
        if atom.has(x):
            r = sp.simplify(atom.subs(x, inverse[0]))
            if not r.has(x) and r.is_rational_function(S):
                out = out.subs(atom, r)
    return out


def mixed_form(expr: sp.Expr, deriv: sp.Expr, x: sp.Symbol,
               params: dict[sp.Symbol, float]) -> MixedForm | None:
    """f' in terms of y = f(x) and one sub-activation s(x) of f, for f with no output form.

    Sub-activations are the function applications (and reciprocals) inside f, as written and
    with symact's building blocks named (gelu = x Phi(x): s = Phi(x)). For each, f' is written
    in s and x, then x is eliminated through y = G(x, s) when G is linear in x (silu' =
    y + s(1 - y), s = sigmoid(x)), or s through y. Readability decides: fewest operations,
    never a function of y or s (mish' = s + x sigma(x)(1 - s^2), not e^{y/s}), x and a missing
    y cost a little, and the form must be defined wherever f' is (gelu' = s + x phi(x), not
    y/x + x phi(x), which is 0/0 at x = 0). Proven symbolically where SymPy can and
    numerically at 50 digits."""
    if isinstance(expr, sp.Piecewise) or not deriv.has(x):
        return None
    from .stabilize import recognize

    pairs = [(expr, deriv)]
    named = (recognize(expr), recognize(deriv))
    if named != pairs[0]:
        pairs.append(named)
    best: tuple[int, int, sp.Expr, sp.Expr] | None = None
    for order, (e, d) in enumerate(pairs):
        for sub in _sub_activations(e, x):
            for cand in _mixed_candidates(e, d, sub, x):
                cand = recognize(cand)
                score = _mixed_score(cand, x)
                if score is None or (best is not None and (score, -order) >= best[:2]):
                    continue
                back = cand.subs({Y: e, S: sub}).rewrite(sp.exp)
                if (_defined_on_proof_points(cand, e, sub, params, x)
                        and numerically_equal(back, deriv, params, var=x)):
                    best = (score, -order, cand, sub)
    if best is None:
        return None
    *_, cand, sub = best
    collected = (sp.collect(sp.expand(cand), S), sp.collect(sp.expand(cand), Y))
    forms = (*(_factor_terms(c) for c in collected), *collected, cand)
    cand = min(forms, key=lambda e: (sp.count_ops(e), forms.index(e)))
    proof = ("symbolic and numeric (50 digits)"
             if _symbolically_zero(cand.subs({Y: expr, S: sub}) - deriv)
             else "numeric (50 digits)")
    return MixedForm(tidy(cand), S, recognize(sub), proof)


def _factor_terms(expr: sp.Expr) -> sp.Expr:
    """Each term factored, its sign absorbed: s + y(beta - beta s) -> s + beta y (1 - s)."""
    if not isinstance(expr, sp.Add):
        return expr
    return sp.Add(*[tidy(sp.factor(t)) for t in expr.args])


def _sub_activations(expr: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """Function applications and reciprocals of f that depend on x (not x or f itself)."""
    subs = {a for a in sp.preorder_traversal(expr)
            if a.has(x) and a != x and a != expr
            and (isinstance(a, sp.Function) or (a.is_Pow and a.exp.is_negative))}
    return sorted(subs, key=sp.default_sort_key)


def _mixed_candidates(expr: sp.Expr, deriv: sp.Expr, sub: sp.Expr, x: sp.Symbol):
    """f' in s and x; then with x eliminated through y; then with s eliminated through y."""
    g = expr.subs(sub, S)
    if not g.has(S) or not g.has(x):
        return
    f = _in_terms_of_s(deriv, sub, x)
    if f.has(S):
        yield f
    xs = _linear_solve(Y - g, x)
    if xs is not None:
        yield sp.factor(sp.simplify(f.subs(x, xs)))
    ss = _linear_solve(Y - g, S)
    if ss is not None and f.has(S):
        yield sp.simplify(f.subs(S, ss))


def _mixed_score(cand: sp.Expr, x: sp.Symbol) -> int | None:
    """Operations, plus 2 for using x and 5 for not using y (tanhshrink' = (x - y)^2 over
    s^2, s = tanh(x)); None for an unreadable form (a function of y or s, or neither)."""
    if not cand.has(Y, S) or cand.has(sp.nan, sp.zoo, sp.oo):
        return None
    if any(f.has(Y, S) for f in cand.atoms(sp.Function)):
        return None
    return sp.count_ops(cand) + 2 * cand.has(x) + 5 * (not cand.has(Y))


def _defined_on_proof_points(cand: sp.Expr, expr: sp.Expr, sub: sp.Expr,
                             params: dict[sp.Symbol, float], x: sp.Symbol) -> bool:
    """cand(x, y, s) is finite at every proof point, given the values of y = expr and s = sub
    there (gelu' = y/x + x phi(x) is 0/0 at x = 0)."""
    names = [x, Y, S, *params]
    fn = sp.lambdify(names, cand.rewrite(sp.exp), modules="mpmath")
    fy = sp.lambdify([x, *params], expr.rewrite(sp.exp), modules="mpmath")
    fs = sp.lambdify([x, *params], sub.rewrite(sp.exp), modules="mpmath")
    vals = [mpmath.mpf(v) for v in params.values()]
    with mpmath.workdps(30):
        for p in PROOF_POINTS:
            xv = mpmath.mpf(p)
            try:
                v = fn(xv, fy(xv, *vals), fs(xv, *vals), *vals)
            except (ZeroDivisionError, ValueError, OverflowError):
                return False
            if not mpmath.isfinite(v):
                return False
    return True
