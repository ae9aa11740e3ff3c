"""ops/chains.py: batch slices, concurrent runs with single-threaded BLAS, the step scope."""
import threading

import numpy as np
import pytest

pytest.importorskip("threadpoolctl", reason="batch chains need threadpoolctl")
from nerve.autograd.ops import chains  # noqa: E402


@pytest.fixture
def two_chains():
    old = chains.set_count(2)
    yield
    chains.set_count(old)


def test_plan_slices_the_batch(two_chains):
    assert chains.plan(128) == [(0, 64), (64, 128)]
    assert chains.plan(3) == [(0, 2), (2, 3)]
    assert chains.plan(1) is None
    chains.set_count(1)
    assert chains.plan(128) is None


def test_auto_mode_needs_rows_and_can_be_switched_off(monkeypatch):
    old = chains.set_count(None)
    try:
        monkeypatch.setattr(chains, "blas_threads", lambda: 2)
        monkeypatch.setattr(chains.jit, "kernels", lambda: object())
        assert chains.plan(128) == [(0, 64), (64, 128)]
        assert chains.plan(20) is None                      # fewer than MIN_ROWS rows per chain
        monkeypatch.setenv("NERVE_CHAINS", "0")
        assert chains.plan(128) is None
        monkeypatch.delenv("NERVE_CHAINS")
        monkeypatch.setattr(chains.jit, "kernels", lambda: None)  # no compiled kernels: no chains
        assert chains.plan(128) is None
    finally:
        chains.set_count(old)


def test_run_is_concurrent_ordered_single_threaded_and_not_nested(two_chains):
    seen = []
    barrier = threading.Barrier(2, timeout=10)  # both tasks must be running at the same time

    def task(k):
        barrier.wait()
        seen.append((k, chains.blas_threads(), chains.in_chain(), chains.plan(128)))
        return k * 10
    assert chains.run([lambda: task(0), lambda: task(1)]) == [0, 10]
    assert sorted(k for k, *_ in seen) == [0, 1]
    assert all(threads == 1 and inside and nested is None for _, threads, inside, nested in seen)
    assert not chains.in_chain()


def test_run_waits_for_every_chain_before_raising(two_chains):
    done = []

    def slow():
        import time
        time.sleep(0.2)
        done.append(1)

    def bad():
        raise ValueError("boom")
    before = chains.blas_threads()
    with pytest.raises(ValueError, match="boom"):
        chains.run([bad, slow])
    assert done == [1] and chains.blas_threads() == before


def test_each_passes_serial_inside_chains(two_chains):
    out = chains.each(10, lambda lo, hi, serial: (lo, hi, serial))
    assert out == [(0, 5, True), (5, 10, True)]
    chains.set_count(1)
    assert chains.each(10, lambda lo, hi, serial: (lo, hi, serial)) == [(0, 10, False)]


def test_scope_keeps_blas_single_threaded_and_restores_it(two_chains):
    before = chains.blas_threads()
    with chains.scope():
        assert chains.blas_threads() == 1
        assert chains.plan(128) == [(0, 64), (64, 128)]
        x = np.ones(4)
        assert chains.run([lambda: x.sum(), lambda: x.sum()]) == [4.0, 4.0]
    assert chains.blas_threads() == before
