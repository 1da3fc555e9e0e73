"""Root patches: near an interior root of a kernel, where any working-precision formula cancels,
evaluate a Taylor polynomial in d = x - x0 instead, with x0 split into hi + lo parts.

A general mechanism, driven by measurement: every sign change of the kernel on [-10, 10] is
located at high precision; if the printed double-precision formula loses more than
``MAX_FORMULA_ULP`` near it, a patch is built whose radius covers every point where it does, and
whose degree makes the truncation error below 2^-60 relative. Patches are checked against the
high-precision reference on a dense sample before they are used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np

from .verify import FORMATS, Reference, ulp_error

MAX_FORMULA_ULP = 2.0
SCAN = (-10.0, 10.0, 0.01)


@dataclass(frozen=True)
class RootPatch:
    """f(x) = sum c_k d^k for |x - x0_hi| < radius, d = (x - x0_hi) - x0_lo."""

    x0_hi: float
    x0_lo: float
    radius: float
    coeffs: tuple[float, ...]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The patch exactly as the generated code evaluates it (compensated Horner)."""
        from .printing import NUMPY_HELPERS

        namespace: dict = {"np": np}
        exec(NUMPY_HELPERS["_root_patch"], namespace)  # noqa: S102 -- symact's own code
        return namespace["_root_patch"](np.asarray(x, dtype=np.float64), self.x0_hi, self.x0_lo,
                                        self.coeffs)


def _roots(ref: Reference) -> list[mpmath.mpf]:
    lo, hi, step = SCAN
    n = int(round((hi - lo) / step))
    xs = [lo + i * step for i in range(n + 1)]
    vals = [ref(v) for v in xs]
    roots = []
    for a, b, fa, fb in zip(xs, xs[1:], vals, vals[1:], strict=False):
        if fa == 0 or fb == 0 or (fa > 0) == (fb > 0):
            continue
        with mpmath.workdps(60):
            r = mpmath.findroot(lambda t: ref._eval(t, 60), (mpmath.mpf(a), mpmath.mpf(b)),
                                solver="anderson")
        roots.append(r)
    return roots


def _formula_error(fn: Callable, ref: Reference, xs: np.ndarray) -> np.ndarray:
    got = fn(xs)
    return np.array([ulp_error(g, ref(v), FORMATS["float64"])
                     for v, g in zip(xs.tolist(), got.tolist(), strict=True)])


def find_patches(fn: Callable[[np.ndarray], np.ndarray], ref: Reference) -> list[RootPatch]:
    """Patches for the kernel ``fn`` (float64 array -> array) whose exact values are ``ref``."""
    patches = []
    for x0 in _roots(ref):
        x0_hi = float(x0)
        x0_lo = float(x0 - mpmath.mpf(x0_hi))
        # Where does the formula lose digits? Sample out to |x0| (at least 1). A rounded d costs
        # only its own half ULP, so the patch need not stay where x - x0_hi is exact.
        reach = max(abs(x0_hi), 1.0)
        side = np.geomspace(1e-12, reach, 400)
        offsets = np.concatenate([-side[::-1], side])
        xs = x0_hi + offsets
        err = _formula_error(fn, ref, xs)
        bad = np.abs(offsets[err > MAX_FORMULA_ULP])
        if bad.size == 0:
            continue
        radius = float(min(bad.max() * 1.25, reach))
        patches.append(_build(ref, x0, x0_hi, x0_lo, radius))
    return patches


def _build(ref: Reference, x0, x0_hi: float, x0_lo: float, radius: float) -> RootPatch:
    with mpmath.workdps(80):
        coeffs = mpmath.taylor(ref._f, x0, 60)
    c1 = abs(coeffs[1]) if coeffs[1] != 0 else max(abs(c) for c in coeffs[1:4])
    # The highest order whose term still matters (a single vanishing coefficient, as c3 of an
    # odd-symmetric kernel, must not end the series early).
    degree = max([k for k in range(2, 61) if abs(coeffs[k]) * radius ** (k - 1) > c1 * 2.0**-60],
                 default=1) + 1
    # Re-expand around x0_hi + x0_lo == x0 (to double-double accuracy): same coefficients.
    patch = RootPatch(x0_hi, x0_lo, radius, tuple(float(c) for c in coeffs[: degree + 1]))
    _check(patch, ref)
    return patch


def _check(patch: RootPatch, ref: Reference) -> None:
    xs = patch.x0_hi + np.linspace(-patch.radius, patch.radius, 301)
    err = _formula_error(patch, ref, xs)
    if not math.isfinite(err.max()) or err.max() > 2.5:
        raise ArithmeticError(f"root patch at {patch.x0_hi} is off by {err.max():.3g} ULP")
