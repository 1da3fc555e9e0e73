"""C kernels that need e^v and e^v g of one v call exp once (symact.exp_share), and stay within
the accuracy bar where that exp is e^(v/2) squared: the window where e^v is subnormal."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import KERNELS, reference
from test_accuracy import bar_for, implementations

from symact.emit import _cse, fold_constants
from symact.exp_share import share_exp
from symact.printing import CPrinter
from symact.verify import Conditioning, measure

SHARED = [(a, k) for a, k in KERNELS
          if share_exp(fold_constants(k.stable)) != fold_constants(k.stable)]

#: |v| from 600 to 1600 around the switch to e^(v/2) squared at v = -708 (v = -|x| or
#: -beta |x| with beta = 1 by default), both signs of x, and the switch's neighbours.
TAIL = np.concatenate([np.linspace(600, 1600, 4001), np.nextafter(708.0, [0, 1000]), [708.0]])
POINTS = np.concatenate([-TAIL, TAIL])


def exp_calls(expr) -> int:
    """exp calls in the printed C: exp(...) and the one inside each symact_exp_times(...)."""
    lines, result = _cse(expr, CPrinter())
    code = "\n".join([c for _, c in lines] + [result])
    return code.count("exp(") + code.count("symact_exp_times(")


def test_silu_family_shares():
    """silu, silu' and swish_beta need x/(1 + e^v) and e^v x/(1 + e^v): both share."""
    names = {a.name + k.suffix for a, k in SHARED}
    assert {"silu", "silu_prime", "swish_beta"} <= names, names


@pytest.mark.parametrize(("act", "kernel"), SHARED, ids=[a.name + k.suffix for a, k in SHARED])
def test_one_exp_per_shared_argument(act, kernel):
    """The printed C calls exp fewer times once e^v and e^v g share their exp."""
    stable = fold_constants(kernel.stable)
    assert exp_calls(share_exp(stable)) < exp_calls(stable)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("act", "kernel"), SHARED, ids=[a.name + k.suffix for a, k in SHARED])
def test_subnormal_window(gen, clib, act, kernel, dtype):
    ref = reference(act, kernel)
    cond = Conditioning(kernel.exact, act.x, act.defaults)
    points = POINTS.astype(dtype)
    for impl, fn in implementations(gen, clib, act, kernel, dtype).items():
        bar = bar_for(act.name + kernel.suffix, dtype, impl)
        report = measure(act.name + kernel.suffix, fn, ref, points, dtype, cond, bar)
        assert report.max_ulp <= bar, (impl, report)
