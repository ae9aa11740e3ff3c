"""Denormal flushing (nerve/denormals.py): this thread, threads started later, nerve's chain workers, OpenBLAS's
workers, and the training loops' scope."""
import threading

import numpy as np
import pytest

import nerve
from nerve import backend, denormals, layers
from nerve.autograd.ops import chains

needs = pytest.mark.skipif(not denormals.supported(), reason="denormal flushing needs x86-64 and llvmlite")


def product():
    """1e-30 * 1e-10 in float32: the denormal 1e-40 in IEEE arithmetic, 0 when flushed."""
    return float(np.float32(1e-30) * np.float32(1e-10))


@pytest.fixture(autouse=True)
def ieee_after():
    yield
    denormals.set_flush_denormal(False)
    backend.config.flush_denormal = True


@needs
def test_switches_this_thread():
    assert denormals.set_flush_denormal(False) is True
    assert 0 < product() < np.finfo(np.float32).tiny
    assert nerve.set_flush_denormal(True) is True
    assert denormals.thread_flushes() and product() == 0.0
    assert float(np.float32(1e-40) * np.float32(1e6)) == 0.0  # a denormal input reads as zero (DAZ)
    denormals.set_flush_denormal(False)
    assert not denormals.thread_flushes() and product() > 0


@needs
def test_threads_started_later_and_chain_workers_follow():
    chains.parallel([product, product])  # the chain worker exists before the switch
    denormals.set_flush_denormal(True)
    seen = []
    t = threading.Thread(target=lambda: seen.append(product()))
    t.start()
    t.join()
    assert seen == [0.0]
    assert chains.parallel([product, product]) == [0.0, 0.0]
    denormals.set_flush_denormal(False)
    assert all(v > 0 for v in chains.parallel([product, product]))


@needs
def test_openblas_workers_restart_under_the_mode():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    a = np.full((512, 512), 1e-21, np.float32)  # each product 1e-42 and each row sum ~5e-40: denormal
    with threadpoolctl.threadpool_limits(2):  # so that OpenBLAS hands part of the GEMM to a worker thread
        a @ a  # the workers exist, started in IEEE mode
        denormals.set_flush_denormal(True)
        flushed = a @ a
        denormals.set_flush_denormal(False)  # before looking: under DAZ a denormal also compares equal to 0
        assert not flushed.any()  # every block, the workers' too, flushed
        ieee = a @ a
        assert (ieee > 0).all() and (ieee < np.finfo(np.float32).tiny).all()


class Probe(layers.Layer):
    """Records whether the thread flushes denormals each time it is called."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def call(self, x):
        self.seen.append(denormals.thread_flushes())
        return x


def _model():
    probe = Probe()
    model = nerve.Sequential([layers.Input((3,)), layers.Dense(2), probe])
    model.compile(optimizer="sgd", loss="mse")
    probe.seen.clear()  # the symbolic call that built the model
    return model, probe


@needs
def test_training_loops_flush_while_they_run_and_restore():
    model, probe = _model()
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y))
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    model.train_on_batch(x, y)
    model.test_on_batch(x, y)
    model.predict_on_batch(x)
    assert probe.seen and all(probe.seen)
    assert not denormals.thread_flushes() and product() > 0  # the caller's mode is back


@needs
def test_config_switch_keeps_ieee_denormals_in_fit():
    model, probe = _model()
    backend.config.flush_denormal = False
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    assert probe.seen and not any(probe.seen)


@needs
def test_a_flushing_caller_stays_flushing():
    model, probe = _model()
    denormals.set_flush_denormal(True)
    model.predict(np.ones((2, 3), np.float32), verbose=0)
    assert all(probe.seen) and denormals.thread_flushes()


def test_unsupported_is_a_no_op(monkeypatch):
    monkeypatch.setattr(denormals, "_mxcsr", False)  # as off x86-64 or without llvmlite
    assert denormals.set_flush_denormal(True) is False
    assert not denormals.supported() and not denormals.thread_flushes()
    model, probe = _model()
    model.predict(np.ones((2, 3), np.float32), verbose=0)
    assert probe.seen == [False]


def test_mode_must_be_a_bool():
    with pytest.raises(TypeError, match=r"set_flush_denormal: argument 'mode' expected a bool, got int 1"):
        denormals.set_flush_denormal(1)
