"""The generated NumPy module's out= argument, blocked evaluation and thread safety.

Reference values: mpmath at 50 digits (through conftest.reference), and the module's own
allocating call only where the claim is "out= changes nothing" (bit-identical results)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import KERNEL_IDS, KERNELS, reference

from symact.verify import FORMATS, round_to

RAISE = dict(all="raise")  # issue 3: every floating-point warning, underflow included


@pytest.fixture(scope="module")
def gen():
    import generated.activations as module

    return module


@pytest.mark.parametrize(("act", "kernel"), KERNELS, ids=KERNEL_IDS)
def test_out_is_filled_and_returned(gen, act, kernel):
    fn = getattr(gen, act.name + kernel.suffix)
    # more than one block (the module works in blocks of 2**15), odd length, a 2-d shape
    x = np.linspace(-30, 30, 2 * 3 * 11001).reshape(6, 11001)
    with np.errstate(**RAISE):
        want = fn(x)
        for dtype in (np.float64, np.float32):
            xd = x.astype(dtype)
            out = np.full_like(xd, np.nan)
            assert fn(xd, out=out) is out
            np.testing.assert_array_equal(out, fn(xd))
        strided_out = np.empty((11001, 6)).T  # not contiguous: filled through a copy
        assert fn(x, out=strided_out) is strided_out
        np.testing.assert_array_equal(strided_out, want)
        inplace = x.copy()  # out overlapping x: computed aside, then copied
        assert fn(inplace, out=inplace) is inplace
        np.testing.assert_array_equal(inplace, want)


def test_values_across_blocks_match_mpmath(gen):
    """Points on both sides of each block boundary, against the 50-digit reference."""
    act, kernel = next((a, k) for a, k in KERNELS if a.name + k.suffix == "sigmoid")
    ref = reference(act, kernel)
    n = 3 * 2**15 + 5
    x = np.linspace(-40, 40, n)
    y = np.empty_like(x)
    gen.sigmoid(x, out=y)
    for i in (0, 2**15 - 1, 2**15, 2**16 - 1, 2**16, 3 * 2**15, n - 1):
        want = round_to(ref(float(x[i])), FORMATS["float64"])
        assert abs(y[i] - want) <= 4 * np.spacing(abs(want)), (i, x[i], y[i], want)


def test_scalar_out_and_scalar_result(gen):
    out = np.empty(())
    assert gen.sigmoid(0.0, out=out) is out and out[()] == 0.5
    r = gen.sigmoid(np.float32(0.0))
    assert isinstance(r, np.float32) and r == 0.5


def test_threads_share_nothing(gen):
    """Per-thread scratch: concurrent calls give the single-threaded results."""
    xs = [np.linspace(-20 - i, 20 + i, 70001) for i in range(4)]
    want = [gen.silu_prime(x) for x in xs]
    got: list[np.ndarray | None] = [None] * 4

    def work(i: int) -> None:
        for _ in range(5):
            got[i] = gen.silu_prime(xs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g, w)
