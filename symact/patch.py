"""Root patches: near an interior root of a kernel, where any working-precision formula cancels,
evaluate a Taylor polynomial in d = x - x0 instead, with x0 split into hi + lo parts.

A general mechanism, driven by measurement: every sign change of the kernel on [-10, 10] is
located at high precision; if the printed double-precision formula loses more than
``MAX_FORMULA_ULP`` near it, a patch is built whose radius covers every point where it does, and
whose degree makes the truncation error below 2^-60 relative. Patches are checked against the
high-precision reference on a dense sample before they are used.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np

from .verify import FORMATS, Reference, ulp_error

MAX_FORMULA_ULP = 2.0
MAX_PATCH_ULP = 2.5
#: The patch's high-order terms run by plain Horner while that part's rounding bound, gamma_2m
#: times sum |c_k| |d|^k (Higham, Accuracy and Stability, 5.1), stays below this share of
#: 2^-53 |f(d)| everywhere on the patch: an eighth of an ULP at most. Only the low-order steps,
#: where the terms cancel next to the root, are compensated.
PLAIN_SHARE = 2.0**-3
SCAN = (-10.0, 10.0, 0.01)


@dataclass(frozen=True)
class RootPatch:
    """f(x) = sum c_k d^k for |x - x0_hi| < radius, d = (x - x0_hi) - x0_lo."""

    x0_hi: float
    x0_lo: float
    radius: float
    coeffs: tuple[float, ...]
    side: int = 0  # -1: only x < x0_hi (a root at a branch's end, 0 beyond it); +1: x > x0_hi
    exact: int = -1  # Horner steps compensated (the lowest-order ones); -1: every step

    def covers(self, x: np.ndarray) -> np.ndarray:
        """Where the generated code takes the patch: |x - x0_hi| < radius (on its side)."""
        x = np.asarray(x, dtype=np.float64)
        near = np.abs(x - self.x0_hi) < self.radius
        if self.side:
            near &= (x < self.x0_hi) if self.side < 0 else (x > self.x0_hi)
        return near

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The patch exactly as the generated NumPy code evaluates it (Horner, its last
        ``steps`` steps compensated)."""
        from .printing import NUMPY_HELPERS, helper_closure

        namespace: dict = {"np": np}
        for h in sorted(helper_closure(["_root_patch"])):
            exec(NUMPY_HELPERS[h], namespace)  # noqa: S102 -- symact's own code
        return namespace["_root_patch"](np.asarray(x, dtype=np.float64), self.x0_hi, self.x0_lo,
                                        self.coeffs, self.steps)

    @property
    def steps(self) -> int:
        """How many of the lowest-order Horner steps are compensated."""
        return len(self.coeffs) - 1 if self.exact < 0 else self.exact


def _roots(ref: Reference) -> list[tuple[mpmath.mpf, int]]:
    """(root, side): side 0 for a root inside a smooth piece, -1 / +1 for a root at the end of
    a branch that is identically 0 on the other side (celu_dalpha at 0)."""
    lo, hi, step = SCAN
    n = int(round((hi - lo) / step))
    xs = [lo + i * step for i in range(n + 1)]
    vals = [ref(v) for v in xs]
    roots = []
    for i in range(1, n):  # a root exactly on the grid (tanhshrink at 0)
        if vals[i] == 0 and vals[i - 1] != 0 and vals[i + 1] != 0:
            roots.append((mpmath.mpf(xs[i]), 0))
        elif vals[i] == 0 and (vals[i - 1] == 0) != (vals[i + 1] == 0):
            roots.append((mpmath.mpf(xs[i]), -1 if vals[i - 1] != 0 else 1))
    for a, b, fa, fb in zip(xs, xs[1:], vals, vals[1:], strict=False):
        if fa == 0 or fb == 0 or (fa > 0) == (fb > 0):
            continue
        with mpmath.workdps(60):
            try:
                r = mpmath.findroot(lambda t: ref._eval(t, 60), (mpmath.mpf(a), mpmath.mpf(b)),
                                    solver="anderson")
            except (ValueError, ZeroDivisionError):
                r = _bisected_root(ref, mpmath.mpf(a), mpmath.mpf(b))
        if r is not None:
            roots.append((r, 0))
    return roots


def _bisected_root(ref: Reference, a: mpmath.mpf, b: mpmath.mpf) -> mpmath.mpf | None:
    """The root in [a, b], where ref changes sign, by bisection (the secant-like solver found
    none); None where the sign changes across a jump instead (the kink of |1.5x - 0.2| in
    (x e^{-|1.5x - 0.2|})'', whose values stay near +-1.5 on both sides): no root to patch."""
    fa = ref._eval(a, 60)
    size = max(abs(fa), abs(ref._eval(b, 60)))
    for _ in range(190):  # [a, b] = 2^-190 of a scan step: below 60 digits' resolution
        m = (a + b) / 2
        fm = ref._eval(m, 60)
        if fm == 0:
            return m
        if (fm > 0) == (fa > 0):
            a, fa = m, fm
        else:
            b = m
    m = (a + b) / 2
    return m if abs(ref._eval(m, 60)) < size * mpmath.mpf(10) ** -40 else None


def _formula_error(fn: Callable, ref: Reference, xs: np.ndarray) -> np.ndarray:
    got = fn(xs)
    return np.array([ulp_error(g, ref(v), FORMATS["float64"])
                     for v, g in zip(xs.tolist(), got.tolist(), strict=True)])


def find_patches(fn: Callable[[np.ndarray], np.ndarray], ref: Reference) -> list[RootPatch]:
    """Patches for the kernel ``fn`` (float64 array -> array) whose exact values are ``ref``."""
    patches = []
    roots = _roots(ref)
    kinks = _kinks(ref) if roots else []
    for x0, side in roots:
        x0_hi = float(x0)
        x0_lo = float(x0 - mpmath.mpf(x0_hi))
        # Where does the formula lose digits? Sample out to |x0| (at least 1). A rounded d costs
        # only its own half ULP, so the patch need not stay where x - x0_hi is exact.
        reach = max(abs(x0_hi), 1.0)
        steps = np.geomspace(1e-12, reach, 400)
        offsets = {0: np.concatenate([-steps[::-1], steps]), -1: -steps[::-1], 1: steps}[side]
        xs = x0_hi + offsets
        err = _formula_error(fn, ref, xs)
        bad = np.abs(offsets[err > MAX_FORMULA_ULP])
        if bad.size == 0:
            continue
        need = float(min(bad.max() * 1.25, reach))
        # not past the middle to a neighbouring root, which has patches of its own: tiles from
        # one root toward the next shrank to nothing where the other cancels (x^2 erfc(2x)'
        # at 0 and 0.421: 400 Taylor builds, 290 s)
        gaps = [abs(float(r - x0)) for r, _ in roots if r != x0]
        need = min([need, *(0.55 * g for g in gaps)])
        # nor across a kink or jump, where the Taylor series of one side is wrong on the other
        # (x e^{-|1.5x - 0.2|}': tiles from the root at 2/3 shrank toward the kink at 2/15,
        # 79 Taylor builds, 150 s)
        need = min([need, *(0.95 * abs(b - x0_hi) for b in kinks if b != x0_hi)])
        try:
            if side:  # the branch's own expression continues analytically past its end
                branch = _branch(ref, x0_hi, side)
                patches.extend(_tile(branch, x0, x0_hi, x0_lo, need, side, check=ref))
            else:
                patches.extend(_tile(ref, x0, x0_hi, x0_lo, need, kinks=kinks))
        except ArithmeticError:
            continue  # no accurate patch: the kernel keeps its formula (the accuracy tests tell)
    return patches


def _kinks(ref: Reference) -> list[float]:
    """Where ``ref`` may not be smooth: the real zeros of polynomial arguments of |.|, sign,
    Heaviside, of differences of Max/Min arguments and of Piecewise conditions."""
    import sympy as sp

    x = ref.x
    found: set[float] = set()
    for node in sp.preorder_traversal(ref._bound):
        if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta)):
            candidates = [node.args[0]]
        elif isinstance(node, (sp.Max, sp.Min)):
            candidates = [a - b for i, a in enumerate(node.args) for b in node.args[i + 1:]]
        elif isinstance(node, sp.Piecewise):
            candidates = [r.lhs - r.rhs for _, c in node.args
                          for r in c.atoms(sp.core.relational.Relational)]
        else:
            continue
        for g in candidates:
            if g.free_symbols == {x} and g.is_polynomial(x) and 0 < sp.degree(g, x) <= 4:
                found.update(float(sp.re(r)) for r in sp.Poly(g, x).nroots(n=30)
                             if abs(sp.im(r)) < 1e-20)
    return sorted(found)


def _local(ref: Reference, at: float, kinks: list[float]) -> Reference:
    """ref with each |g|, sign(g), Heaviside(g), Max, Min and Piecewise replaced by its branch
    at x = ``at`` (ref itself where there are no kinks, or a branch is undecided there): analytic
    around ``at``, so Cauchy's integral gives its Taylor series (|g| of a complex argument is
    not analytic: taylor fell back to numerical differentiation, 11 s a patch)."""
    import sympy as sp

    if not kinks:
        return ref
    x, point = ref.x, sp.Float(at, 30)

    def value(e: sp.Expr):
        v = e.subs(x, point).evalf(30)
        if not v.is_real or v == 0:
            raise ArithmeticError("undecided")
        return v

    def branch(e: sp.Expr) -> sp.Expr:
        if isinstance(e, sp.Abs):
            return e.args[0] if value(e.args[0]) > 0 else -e.args[0]
        if isinstance(e, (sp.sign, sp.Heaviside)):
            return sp.S.One if value(e.args[0]) > 0 else (
                -sp.S.One if isinstance(e, sp.sign) else sp.S.Zero)
        if isinstance(e, (sp.Max, sp.Min)):
            ranked = sorted(e.args, key=lambda a: float(a.subs(x, point).evalf(30)))
            top = ranked[-1] if isinstance(e, sp.Max) else ranked[0]
            if any(a is not top and a.subs(x, point).evalf(30) == top.subs(x, point).evalf(30)
                   for a in e.args):
                raise ArithmeticError("undecided")
            return top
        if isinstance(e, sp.Piecewise):
            for arm, cond in e.args:
                if cond is sp.true or bool(cond.subs(x, point)):
                    return arm
        return e

    nodes = (sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min, sp.Piecewise)
    try:
        expr = ref._bound
        while expr.has(*nodes):
            local = expr.replace(lambda e: isinstance(e, nodes), branch)
            if local == expr:
                return ref
            expr = local
        return Reference(expr, x)
    except (ArithmeticError, TypeError):
        return ref


def _branch(ref: Reference, x0: float, side: int) -> Reference:
    """The reference of the Piecewise branch taken just on ``side`` of x0."""
    import sympy as sp

    expr = sp.piecewise_fold(ref._bound)
    if not isinstance(expr, sp.Piecewise):
        raise ArithmeticError("a one-sided root outside a Piecewise")
    probe = sp.Float(x0 + side * 1e-9, 30)
    for e, c in expr.args:
        if c is sp.true or bool(c.subs(ref.x, probe)):
            return Reference(e, ref.x)
    raise ArithmeticError("no branch")


def _tile(ref: Reference, x0, x0_hi: float, x0_lo: float, need: float, side: int = 0,
          check: Reference | None = None, kinks: list[float] = ()) -> list[RootPatch]:
    """Patches covering [x0 - need, x0 + need] (only the ``side`` half when side != 0): one at
    the root, and where its Taylor series converges too slowly to reach (a singularity nearby
    in the complex plane, as tanh's at +-i*pi/2), more patches at centres further out, none
    across a kink (``kinks``); each from the expression's branch at its centre (_local), checked
    against ``check`` (default ref)."""
    check = check or ref
    first = _build(_local(ref, x0_hi, kinks), x0, x0_hi, x0_lo, need, side, check)
    out = [first]
    for direction in ((1.0, -1.0) if side == 0 else (float(side),)):
        edge = first.radius
        ahead = [direction * (k - x0_hi) for k in kinks if direction * (k - x0_hi) > edge]
        while edge < need:
            radius = min(0.5 * need, need - edge + 0.05)
            if ahead:  # the tile's far end, edge + 1.9 radius, short of the kink
                radius = min(radius, 0.95 * (min(ahead) - edge) / 1.9)
            for _ in range(8):
                centre = float(mpmath.mpf(x0_hi) + direction * (edge + 0.9 * radius))
                patch = _build(_local(ref, centre, kinks), mpmath.mpf(centre), centre, 0.0,
                               radius, check=check)
                if patch.radius >= radius:
                    break
                radius = patch.radius
            out.append(patch)
            edge = edge + 0.9 * radius + patch.radius
    return out


def _convergence_radius(coeffs) -> float:
    """Root-test estimate of the Taylor series' radius of convergence, from its tail."""
    tail = [(k, abs(c)) for k, c in enumerate(coeffs) if k >= 20 and c != 0]
    if not tail:
        return math.inf
    return float(min(c ** (-mpmath.mpf(1) / k) for k, c in tail[-10:]))


def _build(ref: Reference, x0, x0_hi: float, x0_lo: float, radius: float, side: int = 0,
           check: Reference | None = None) -> RootPatch:
    """A Taylor patch at x0 of at most ``radius``: shrunk to half the series' radius of
    convergence (so degree <= 60 reaches 2^-60), and halved while Horner's rounding at the
    window's edge costs more than MAX_PATCH_ULP (measured against ``check``, default ref)."""
    coeffs = taylor(ref._f, x0, 60)
    radius = min(radius, 0.5 * _convergence_radius(coeffs))
    while radius >= 1e-3:
        patch = dataclasses.replace(_truncate(coeffs, x0_hi, x0_lo, radius), side=side)
        if _check(patch, check or ref) <= MAX_PATCH_ULP:
            return patch
        radius /= 2
    raise ArithmeticError(f"no accurate Taylor patch at {x0_hi}")


def _cauchy(f: Callable, x0, n: int, r: float, points: int = 128) -> list[mpmath.mpf]:
    """c_k = (1/2 pi i) \\oint f(z) (z - x0)^(-k-1) dz on |z - x0| = r, by the trapezoid rule
    (exact up to aliasing c_(k+points) r^points: geometric convergence for analytic f)."""
    with mpmath.workdps(110):
        unit = [mpmath.expjpi(mpmath.mpf(2 * j) / points) for j in range(points)]
        vals = [mpmath.mpc(f(x0 + r * u)) for u in unit]
        return [(mpmath.fsum(v * mpmath.conj(unit[(j * k) % points]) for j, v in enumerate(vals))
                 / points / mpmath.mpf(r) ** k).real for k in range(n + 1)]


def taylor(f: Callable, x0, n: int) -> list[mpmath.mpf]:
    """Taylor coefficients c_0..c_n of f at x0. By Cauchy's integral on circles of radius r and
    r/2 (r = 1/2, 1/4, 1/8) where the two agree (f analytic in the disc: ~0.3 s); else by
    mpmath's numerical differentiation at 80 digits (~11 s for n = 60)."""
    for r in (0.5, 0.25, 0.125):
        try:
            a, b = _cauchy(f, x0, n, r), _cauchy(f, x0, n, r / 2)
        except (TypeError, ValueError, ZeroDivisionError, ArithmeticError):
            break  # not evaluable off the real line (Piecewise, comparisons)
        scale = max(abs(c) * (r / 2) ** k for k, c in enumerate(b))
        if scale > 0 and all(abs(p - q) * (r / 2) ** k <= scale * mpmath.mpf(10) ** -45
                             for k, (p, q) in enumerate(zip(a, b, strict=True))):
            return a
    with mpmath.workdps(80):
        return mpmath.taylor(f, x0, n)


def _truncate(coeffs, x0_hi: float, x0_lo: float, radius: float) -> RootPatch:
    scale = max(abs(c) * radius**k for k, c in enumerate(coeffs[:4]))
    # Numerical differentiation leaves ~1e-70 where a coefficient is 0 (odd functions).
    kept = [c if abs(c) * radius**k > scale * mpmath.mpf(10) ** -40 else mpmath.mpf(0)
            for k, c in enumerate(coeffs)]
    degree = max([2] + [k for k, c in enumerate(kept) if abs(c) * radius**k > scale * 2.0**-60])
    # Re-expand around x0_hi + x0_lo == x0 (to double-double accuracy): same coefficients.
    rounded = tuple(float(c) for c in kept[: degree + 1])
    return RootPatch(x0_hi, x0_lo, radius, rounded, exact=compensated_steps(rounded, radius))


def compensated_steps(coeffs: tuple[float, ...], radius: float) -> int:
    """The least K >= 1 such that evaluating sum_{k >= K} c_k d^k by plain Horner (m steps) keeps
    its rounding bound gamma_(2m+1) sum_{k >= K} |c_k| |d|^k within PLAIN_SHARE 2^-53 |f(d)|
    for every |d| <= radius on 2001 points (both sides, also for a one-sided patch);
    len(coeffs) - 1 (every step compensated) if none does. f is evaluated in double: only its
    size matters."""
    n = len(coeffs)
    d = np.linspace(-radius, radius, 2001)
    d = d[d != 0]
    c = np.array(coeffs)
    terms = np.abs(c)[None, :] * np.abs(d)[:, None] ** np.arange(n)[None, :]
    size = np.abs(np.polyval(c[::-1], d))
    tail = np.cumsum(terms[:, ::-1], axis=1)[:, ::-1]  # tail[:, K] = sum_{k >= K} |c_k| |d|^k
    eps = 2.0**-53
    for k in range(1, n - 1):
        m = n - 1 - k
        gamma = (2 * m + 1) * eps / (1 - (2 * m + 1) * eps)
        if np.all(gamma * tail[:, k] <= PLAIN_SHARE * eps * size):
            return k
    return n - 1


def _check(patch: RootPatch, ref: Reference) -> float:
    """The patch's largest error in ULP on 301 points across its window."""
    lo, hi = {0: (-1, 1), -1: (-1, 0), 1: (0, 1)}[patch.side]
    xs = patch.x0_hi + np.linspace(lo * patch.radius, hi * patch.radius, 301)
    err = _formula_error(patch, ref, xs)
    return float(err.max()) if math.isfinite(err.max()) else math.inf


@dataclass(frozen=True)
class Scaling:
    """kernel(x; p) = factor(p) * G(scale(p) * x) with G free of parameters (swish_beta' is
    G(beta x), celu_dalpha is G(x / alpha)): a root of G is fixed in t = scale * x, so a patch
    in t serves every parameter value."""

    scale: object  # sympy expression in the parameters
    factor: object


def scaling(expr, x, params: dict) -> Scaling | None:
    """The Scaling of ``expr`` in ``x`` for the parameters ``params`` (symbol -> default), or
    None when x does not enter only through one product with the parameters."""
    import sympy as sp

    used = [p for p in params if expr.has(p)]
    if not used:
        return None
    if isinstance(expr, sp.Piecewise):
        return _piecewise_scaling(expr, x, params)
    t = sp.Dummy("t")
    for p in sorted(used, key=sp.default_sort_key):
        for k in (p, 1 / p):
            f = expr.subs(x, t / k)
            base = f.subs(params)
            if base == 0 or base.has(*used):
                continue
            try:
                factor = sp.simplify(f / base)
            except Exception:  # noqa: BLE001 -- SymPy may fail on Piecewise; not scalable
                continue
            if factor.has(t) or factor.free_symbols - set(used):
                continue
            return Scaling(k, factor)
    return None


def _piecewise_scaling(expr, x, params: dict) -> Scaling | None:
    """A Piecewise scales when its one branch with parameters does, its other branches are 0,
    and each condition ``x rel 0`` keeps its meaning in t (a positive scale)."""
    import sympy as sp

    live = [e for e, _ in expr.args if e != 0]
    if len(live) != 1:
        return None
    found = scaling(live[0], x, params)
    if found is None or found.scale.is_positive is not True:
        return None
    for _, c in expr.args:
        if c is sp.true:
            continue
        if not (isinstance(c, sp.core.relational.Relational) and c.lhs == x and c.rhs == 0):
            return None
    return found
