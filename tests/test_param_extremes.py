"""Parameterized kernels at non-default parameter values (each activation's own samples) at the
ends of the float range: no floating-point warning, and a finite result (never NaN) wherever
the exact value is finite.

The accuracy tests run the defaults; beta x or x/alpha overflows first at other values
(beta = 3, alpha = 0.001), in an exponent or a comparison (the overflow is exact there: NumPy
computes them under errstate(over="ignore")) or in a product with a decaying exponential (the
cofactor reads x clamped at |c x| = 1500: celu_dalpha, swish_beta', swish_beta'', were NaN or
warned at x = -1e308). softplus at x = 1e308 with beta = 3 was inf (Max(0, beta x)/beta, now
Max(0, x)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from symact.activation import all_activations
from symact.verify import Reference

XS = [1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 1e300, -1e300,
      5e-324, -5e-324, 700.0, -750.0, 0.0]

CASES = [(a, k, params) for a in all_activations() if a.params
         for params in a.param_samples() for k in a.kernels]

#: Known failures (activation + suffix, parameter id), marked xfail(strict): none at present.
KNOWN: set[tuple[str, str]] = set()


def _pid(params) -> str:
    return ",".join(f"{p}={v!r}" for p, v in params.items())


@pytest.mark.parametrize(
    ("act", "kernel", "params"),
    [pytest.param(a, k, p, marks=[pytest.mark.xfail(strict=True, reason="known, see KNOWN")]
                  if (a.name + k.suffix, _pid(p)) in KNOWN else [])
     for a, k, p in CASES],
    ids=[f"{a.name}{k.suffix}[{_pid(p)}]" for a, k, p in CASES])
def test_no_warning_and_finite_where_exact_is_finite(gen, act, kernel, params):
    fn = getattr(gen, act.name + kernel.suffix)
    kw = {str(p): v for p, v in params.items()}
    with np.errstate(all="raise"):
        got = fn(np.array(XS), **kw)
    ref = Reference(kernel.exact, act.x, params)
    for xv, g in zip(XS, got.tolist(), strict=True):
        assert not math.isnan(g), xv
        if math.isinf(g):  # only where the exact value is beyond the largest double
            assert abs(ref(xv)) >= 1.7976931348623157e308, (xv, g, float(ref(xv)))
