"""Optimizer slots never hold subnormal numbers: a moment whose gradient stays 0 decays geometrically into
them, and x86 CPUs compute with subnormals ~100x slower (an MLP's Adam step went 0.1 -> 1 ms by epoch 4)."""
import numpy as np
import pytest

from nerve import optimizers
from nerve.autograd.ops import jit
from nerve.variables import Variable

TINY = np.finfo(np.float32).tiny


def _subnormals(a):
    a = np.asarray(a)
    return int(((np.abs(a) < TINY) & (a != 0)).sum())


@pytest.mark.parametrize("path", ["compiled", "numpy"])
@pytest.mark.parametrize("make", [lambda: optimizers.Adam(1e-3), lambda: optimizers.Nadam(1e-3),
                                  lambda: optimizers.SGD(0.01, momentum=0.9), lambda: optimizers.RMSprop(1e-3),
                                  lambda: optimizers.RMSprop(1e-3, momentum=0.9, centered=True)],
                         ids=["adam", "nadam", "sgd_momentum", "rmsprop", "rmsprop_centered"])
def test_slots_decaying_to_zero_are_flushed(path, make):
    if path == "compiled":
        pytest.importorskip("numba")
    old = jit.set_enabled(path == "compiled")
    try:
        rng = np.random.default_rng(0)
        w = Variable(rng.normal(size=(64, 32)).astype(np.float32))
        opt = make()
        opt.apply([rng.normal(size=(64, 32)).astype(np.float32)], [w])
        flushed = []
        for _ in range(1200):              # 0.9 ** 1200 ~ 1e-55: far below float32's smallest normal number
            g = rng.normal(size=(64, 32)).astype(np.float32)
            g[:, :16] = 0                  # half the weights never get a gradient after the first step
            opt.apply([g], [w])
            if opt.iterations % 8 == 1:  # flushed every 8th update (the compiled Adam: every step)
                flushed.append(sum(_subnormals(a) for a in opt.variables))
        assert len(flushed) >= 150 and max(flushed) == 0
        assert np.isfinite(w.data).all()
    finally:
        jit.set_enabled(old)


def test_without_the_flush_slots_go_subnormal():
    """The scenario above does produce subnormal slots when nothing flushes them (so the test can fail)."""
    rng = np.random.default_rng(0)
    w = Variable(rng.normal(size=(64, 32)).astype(np.float32))
    opt = optimizers.SGD(0.01, momentum=0.9)
    opt._flush_subnormals = lambda: None
    opt.apply([rng.normal(size=(64, 32)).astype(np.float32)], [w])
    counts = []
    for _ in range(900):
        opt.apply([np.zeros((64, 32), np.float32)], [w])
        counts.append(sum(_subnormals(a) for a in opt.variables))
    assert max(counts) > 0


def test_flush_keeps_the_update_and_nan():
    """Flushing changes no weight (the update a subnormal moment carries is < 1e-30) and keeps NaN."""
    pytest.importorskip("numba")
    K = jit.kernels()
    f = np.float32
    w = np.array([1.0, 1.0, 1.0, 1.0], f)
    m = np.array([1e-39, -1e-39, np.nan, 0.5], f)
    v = np.array([1e-39, 1e-39, 1.0, 1e-40], f)
    g = np.zeros(4, f)
    K.adam(w, g, m, v, f(0.1), f(0.001), f(1e-3), f(1e-7), f(TINY))
    assert m[0] == 0 and m[1] == 0 and np.isnan(m[2]) and m[3] == np.float32(0.45)
    assert v[0] == 0 and v[1] == 0 and v[3] == 0
    assert w[0] == 1 and w[1] == 1 and np.isnan(w[2])


def test_variable_data_is_c_contiguous():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    v = Variable(a.T)
    assert v.data.flags.c_contiguous and np.array_equal(v.data, a.T)
