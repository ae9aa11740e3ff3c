"""SwapEMAWeights (with the optimizers' use_ema), RemoteMonitor (against a loopback http.server) and the fit-loop
callbacks that nerve.callbacks re-exports from nerve.training."""
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse

import numpy as np
import pytest

import nerve
from nerve import callbacks, optimizers
from nerve import layers as L
from nerve.autograd.ops import jit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


def _model(optimizer=None, seed=0):
    nerve.set_random_seed(seed)
    m = nerve.Sequential([L.Input((3,)), L.Dense(6, activation="tanh"), L.Dense(1)])
    m.compile(optimizer=optimizer or optimizers.SGD(0.05, momentum=0.9, use_ema=True, ema_momentum=0.8), loss="mse")
    return m


def _copies(arrays):
    return [np.array(a) for a in arrays]


class Snapshots(callbacks.Callback):
    """At each epoch end: the model's weights and the optimizer's moving averages, as they are at that moment."""

    def __init__(self):
        super().__init__()
        self.weights, self.averages = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(_copies(self.model.get_weights()))
        self.averages.append(_copies(self.model.optimizer._ema_averages))


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------ SwapEMAWeights
def test_evaluate_and_predict_use_the_ema_weights_then_swap_back(data):
    x, y = data
    m = _model()
    for _ in range(6):
        m.train_on_batch(x, y)
    raw, ema = _copies(m.get_weights()), _copies(m.optimizer._ema_averages)
    assert not _same(raw, ema)
    swap = callbacks.SwapEMAWeights()
    loss = m.evaluate(x, y, verbose=0, callbacks=[swap])
    pred = m.predict(x, verbose=0, callbacks=[swap])
    assert _same(m.get_weights(), raw) and _same(m.optimizer._ema_averages, ema)  # both swapped back
    m.set_weights(ema)
    assert loss == m.evaluate(x, y, verbose=0)
    assert np.array_equal(pred, m.predict(x, verbose=0))  # (Keras 3.15 leaves the EMA weights in after predict)


def test_fit_validates_with_the_ema_weights_and_trains_as_without(data):
    x, y = data
    snaps = Snapshots()
    fit = dict(batch_size=8, epochs=3, validation_data=(x, y), verbose=0, shuffle=False)
    m = _model()
    h = m.fit(x, y, callbacks=[callbacks.SwapEMAWeights(), snaps], **fit).history
    ref = _model().fit(x, y, **fit).history
    assert h["loss"] == ref["loss"]          # the swaps are exact copies: training is unchanged
    assert h["val_loss"] != ref["val_loss"]
    probe = _model()
    for epoch, averages in enumerate(snaps.averages):
        probe.set_weights(averages)
        assert probe.evaluate(x, y, batch_size=8, verbose=0) == pytest.approx(h["val_loss"][epoch], rel=1e-6)
    assert _same(m.get_weights(), snaps.averages[-1])  # fit ends with the EMA weights (finalize_variable_values)


def test_swap_on_epoch_shows_the_ema_weights_to_the_next_callbacks(data):
    x, y = data
    fit = dict(batch_size=8, epochs=3, verbose=0, shuffle=False)
    m, ref = _model(), _model()
    snaps, ref_snaps = Snapshots(), Snapshots()
    h = m.fit(x, y, callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True), snaps], **fit).history
    h_ref = ref.fit(x, y, callbacks=[ref_snaps], **fit).history
    assert h["loss"] == h_ref["loss"]        # swapped back at each epoch begin
    for epoch in range(3):
        assert _same(snaps.weights[epoch], ref_snaps.averages[epoch])   # the model holds the EMA weights
        raw = ref_snaps.weights[epoch] if epoch < 2 else ref_snaps.averages[epoch]  # last epoch: finalized
        assert _same(snaps.averages[epoch], raw)
    assert _same(m.get_weights(), ref.get_weights())


def test_loss_scale_optimizer_and_unbuilt_optimizers(data):
    x, y = data
    m = _model(optimizers.LossScaleOptimizer(optimizers.Adam(0.01, use_ema=True), initial_scale=4.0))
    before = m.evaluate(x, y, verbose=0)
    assert m.evaluate(x, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()]) == before  # nothing averaged yet
    rng = np.random.default_rng(0)
    for _ in range(3):
        m.optimizer.apply([rng.normal(size=w.shape).astype("float32") for w in m.trainable_weights],
                          m.trainable_weights)
    raw, ema = _copies(m.get_weights()), _copies(m.optimizer.inner_optimizer._ema_averages)
    loss = m.evaluate(x, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    assert _same(m.get_weights(), raw)
    m.set_weights(ema)
    assert loss == m.evaluate(x, y, verbose=0)


def test_swap_ema_weights_needs_use_ema_and_keeps_its_state(data):
    x, y = data
    m = _model(optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="use_ema=True"):
        m.evaluate(x, y, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    swap = callbacks.SwapEMAWeights(swap_on_epoch=True)
    swap._ema_weights_in_model = True
    again = callbacks.SwapEMAWeights(swap_on_epoch=True)
    again.set_state(json.loads(json.dumps(swap.get_state())))  # a backup taken with the EMA weights in the model
    assert again._ema_weights_in_model and callbacks.SwapEMAWeights().get_state() == {"ema_weights_in_model": False}


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


def test_swap_ema_weights_on_the_device_matches_the_cpu(cp, data):
    x, y = data
    fit = dict(batch_size=8, epochs=2, validation_data=(x, y), verbose=0, shuffle=False)
    old = jit.set_enabled(False)  # the CPU reference takes the NumPy path, as the device does
    try:
        ref = _model().fit(x, y, callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True)], **fit).history
        with nerve.device("gpu"):
            m = _model()
        h = m.fit(x, y, callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True)], **fit).history
    finally:
        jit.set_enabled(old)
    assert all(isinstance(a, cp.ndarray) for a in m.optimizer._ema_averages)
    for key in ("loss", "val_loss"):
        if fakecupy.real_cupy() is None:
            assert h[key] == ref[key]
        else:
            np.testing.assert_allclose(h[key], ref[key], rtol=1e-4)


# ------------------------------------------------------------------ RemoteMonitor
class _Server:
    """A loopback HTTP server recording each POST (path, headers, body) and answering ``status``."""

    def __init__(self, status=200):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)


def test_remote_monitor_posts_each_epoch_as_a_form(data, make_model):
    x, y = data
    with _Server() as server:
        h = make_model().fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25,
                             callbacks=[callbacks.RemoteMonitor(root=server.root)]).history
    assert [r[0] for r in server.received] == ["/publish/epoch/end/"] * 2
    for epoch, (_, headers, body) in enumerate(server.received):
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        sent = json.loads(urllib.parse.parse_qs(body.decode())["data"][0])
        assert sent == {"epoch": epoch, "loss": h["loss"][epoch], "val_loss": h["val_loss"][epoch]}


def test_remote_monitor_as_json_with_headers_and_numpy_values():
    with _Server() as server:
        monitor = callbacks.RemoteMonitor(root=server.root, path="/logs", headers={"X-Run": "7"}, send_as_json=True)
        monitor.on_epoch_end(3, {"loss": np.float32(0.5), "acc": np.array(0.25), "lr": 0.1})
    path, headers, body = server.received[0]
    assert path == "/logs" and headers["Content-Type"] == "application/json" and headers["X-Run"] == "7"
    assert json.loads(body) == {"epoch": 3, "loss": 0.5, "acc": 0.25, "lr": 0.1}


def test_remote_monitor_warns_and_goes_on_when_the_server_fails():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        root = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        callbacks.RemoteMonitor(root=root).on_epoch_end(0, {"loss": 1.0})
    with _Server(status=500) as server, pytest.warns(UserWarning, match="answered HTTP 500"):
        callbacks.RemoteMonitor(root=server.root).on_epoch_end(0, {"loss": 1.0})
    assert len(server.received) == 1


# ------------------------------------------------------------------ exports
def test_fit_loop_callbacks_are_exported():
    from nerve import training
    assert callbacks.History is training.History and callbacks.ProgbarLogger is training.ProgbarLogger
    assert callbacks.CallbackList is training.CallbackList
    for name in ("SwapEMAWeights", "RemoteMonitor", "History", "ProgbarLogger", "CallbackList", "TensorBoard"):
        assert name in callbacks.__all__ and issubclass(getattr(callbacks, name), object)
    assert issubclass(callbacks.History, callbacks.Callback)
    assert nerve.saving.get_registered_object("SwapEMAWeights", kind="callbacks") is callbacks.SwapEMAWeights
