"""Training on the GPU path: models built under ``nerve.device("gpu")`` keep every weight and optimizer slot
on the device, take NumPy or device batches in fit / evaluate / predict / *_on_batch, and compute what the
CPU computes.

Without a GPU the device is tests/fakecupy.py: CuPy's rules where host and device meet (no implicit
conversion, no mixing with host arrays), NumPy's arithmetic, so every loss must equal the CPU NumPy path's
bit for bit. With a real CuPy and GPU (the `device` machine) the same tests run on it, to a float32
tolerance (cuBLAS sums in another order)."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.ops import jit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


REAL = fakecupy.real_cupy()


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


def _check(a, b, exact=True):
    if REAL is None and exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=2e-4 if REAL is not None else 1e-5, atol=1e-5)


def _mlp():
    return nerve.Sequential([L.Input((6, 5)), L.Flatten(), L.Dense(16, activation="relu"), L.Dense(3)])


def _cnn():
    return nerve.Sequential([L.Input((10, 10, 2)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(),
                             L.Conv2D(8, 3, activation="relu", padding="same"), L.MaxPooling2D(),
                             L.Flatten(), L.Dense(3)])


def _lstm():
    return nerve.Sequential([L.Input((7, 5)), L.LSTM(6, return_sequences=True), L.GRU(4), L.Dense(3)])


def _text():
    return nerve.Sequential([L.Input((9,), dtype="int64"), L.Embedding(20, 4), L.SimpleRNN(5), L.Dense(3)])


MODELS = {"mlp": (_mlp, (6, 5)), "cnn": (_cnn, (10, 10, 2)), "rnn": (_lstm, (7, 5)), "text": (_text, (9,))}


def _data(name, n=48):
    r = np.random.default_rng(1)
    shape = MODELS[name][1]
    x = r.integers(0, 20, (n,) + shape) if name == "text" else r.standard_normal((n,) + shape).astype("float32")
    return x, r.integers(0, 3, n)


def _run(name, where, x, y, to_device=None):
    """train_on_batch, two fit epochs (shuffled), evaluate, predict: their numbers, on the CPU or the device."""
    nerve.set_random_seed(3)
    with nerve.device(where):
        m = MODELS[name][0]()
        m.compile(optimizer=nerve.optimizers.Adam(1e-2), loss=nerve.losses.SparseCategoricalCrossentropy(
            from_logits=True), metrics=["accuracy"])
    xd, yd = (x, y) if to_device is None else (to_device(x), to_device(y))
    out = [m.train_on_batch(x[:16], y[:16])]
    out += [m.fit(xd, yd, batch_size=16, epochs=2, verbose=0, shuffle=True).history["loss"]]
    out += [m.evaluate(x, y, batch_size=20, verbose=0), m.predict(xd, batch_size=20, verbose=0)]
    return m, out


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("device_data", [False, True], ids=["host_batches", "device_arrays"])
def test_training_on_the_device_matches_the_cpu(cp, name, device_data):
    x, y = _data(name)
    old = jit.set_enabled(False)  # the CPU reference takes the NumPy path (the device cannot run numba kernels)
    try:
        _, ref = _run(name, "cpu", x, y)
        m, got = _run(name, "gpu", x, y, cp.asarray if device_data else None)
    finally:
        jit.set_enabled(old)
    for w in m.weights:
        assert isinstance(w.data, cp.ndarray), w.path
    for s in m.optimizer.variables:  # slots: arrays, or Variables holding them
        assert isinstance(s if isinstance(s, cp.ndarray) else s.data, cp.ndarray)
    assert isinstance(got[3], np.ndarray)  # predict hands back host arrays
    for a, b in zip(got, ref):  # Embedding's gradient is a scatter-add on the device: other summation order
        _check(np.asarray(a, dtype=float), np.asarray(b, dtype=float), exact=name != "text")


def test_weights_follow_the_scope_of_the_layer_not_of_the_build(cp):
    with nerve.device("gpu"):
        d = L.Dense(3)
    d.build((None, 4))  # built outside the scope: still on the device where the layer was made
    assert isinstance(d.kernel.data, cp.ndarray)
    assert isinstance(L.Dense(2)(np.ones((1, 3), "float32")).data, np.ndarray)


def test_a_model_built_at_its_first_batch_still_gets_device_batches(cp):
    """No Input: the weights are made in the first fit step, outside the scope; the batches must follow them."""
    x, y = _data("mlp")
    with nerve.device("gpu"):
        m = nerve.Sequential([L.Flatten(), L.Dense(4, activation="relu"), L.Dense(3)])
        m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert all(isinstance(w.data, cp.ndarray) for w in m.weights)
    assert isinstance(m.predict(x[:3], verbose=0), np.ndarray)


def test_device_name_errors_are_clear():
    with pytest.raises(ValueError, match="device: argument 'device_name'"):
        with nerve.device("tpu"):
            pass
    with pytest.raises(ValueError, match="device_name"):
        with nerve.device("gpu:x"):
            pass


def test_gpu_without_cupy_says_what_to_install(monkeypatch):
    if REAL is not None:
        pytest.skip("CuPy is installed here")
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(RuntimeError, match="needs CuPy"):
        with nerve.device("gpu"):
            pass


def test_the_stand_in_is_strict(cp):
    """The fake must refuse what CuPy refuses, or the tests above would prove nothing."""
    if REAL is not None:
        pytest.skip("the real CuPy is here")
    a = cp.ones(3)
    with pytest.raises(TypeError):
        np.asarray(a)
    with pytest.raises(TypeError):
        a + np.ones(3)
    with pytest.raises(TypeError):
        a * np.asarray(2.0, "float32")  # a 0-d NumPy array too
    assert isinstance(a * np.float32(2.0), cp.ndarray)  # a NumPy scalar is fine
    assert isinstance(np.exp(a), cp.ndarray) and isinstance(a.sum(), cp.ndarray)


@pytest.mark.skipif(REAL is None, reason="the fused CuPy kernels need a real GPU (the stand-in cannot compile CUDA)")
def test_fused_gpu_kernels_match_the_numpy_expressions():
    from nerve.autograd.ops import gpu
    cp = REAL
    r = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        z, b = r.standard_normal((7, 5)).astype(dt), r.standard_normal(5).astype(dt)
        z[0, 0] = np.nan
        K = gpu.kernels(cp.asarray(z))
        assert K is not None
        zg = cp.asarray(z)
        K.bias_relu(cp.asarray(b), zg)
        np.testing.assert_array_equal(cp.asnumpy(zg), np.maximum(z + b, 0))
        g = r.standard_normal((7, 5)).astype(dt)
        np.testing.assert_array_equal(cp.asnumpy(K.relu_grad(cp.asarray(g), zg)), g * (cp.asnumpy(zg) > 0))
        w, gr, m, v = (r.standard_normal(11).astype(dt) for _ in range(4))
        v = np.abs(v)
        wg, mg, vg = cp.asarray(w), cp.asarray(m), cp.asarray(v)
        c = [dt(0.1), dt(0.001), dt(0.01), dt(1e-7)]
        K.adam(cp.asarray(gr), *c, wg, mg, vg)
        m2 = m + (gr - m) * c[0]
        v2 = v + (gr * gr - v) * c[1]
        w2 = w - m2 / (np.sqrt(v2) + c[3]) * c[2]
        tol = 1e-6 if dt == np.float32 else 1e-14
        for got, want in ((mg, m2), (vg, v2), (wg, w2)):
            np.testing.assert_allclose(cp.asnumpy(got), want, rtol=tol, atol=tol)


@pytest.mark.skipif(REAL is None, reason="the fused CuPy kernels need a real GPU (the stand-in cannot compile CUDA)")
@pytest.mark.parametrize("case", ["maxpool", "conv", "xent", "lstm", "gru"])
def test_fused_gpu_ops_match_the_generic_device_path(case):
    """Each op's forward and backward with the fused kernels equal those of its generic CuPy path."""
    from nerve.autograd.ops import gpu
    from nerve.autograd.ops.conv import Conv2DFn
    from nerve.autograd.ops.loss import SoftmaxCrossEntropy
    from nerve.autograd.ops.pool import MaxPool2DFn
    cp = REAL
    r = np.random.default_rng(5)
    if case == "maxpool":
        x = r.standard_normal((3, 7, 6, 4))
        x[0, 0, 0, 0] = x[0, 0, 1, 0]  # a tie: the first maximum wins on both paths
        fn, args = (lambda a: MaxPool2DFn.apply(a, pool_size=(2, 2))), [x]
    elif case == "conv":
        x, w, b = r.standard_normal((2, 9, 8, 5)), r.standard_normal((3, 3, 5, 4)), r.standard_normal(4)
        fn = lambda a, k, c: Conv2DFn.apply(a, k, c, strides=(2, 1), padding="same", activation="relu")  # noqa
        args = [x, w, b]
    elif case == "xent":
        x, lab = r.standard_normal((6, 5)), cp.asarray(r.integers(0, 5, 6))
        fn, args = (lambda a: SoftmaxCrossEntropy.apply(a, lab, axis=-1, sparse=True, mean=True)), [x]
    else:  # the whole sequence out, so that every step's output gradient enters the backward loop
        from nerve.autograd.ops.recurrent import GRUFn, LSTMFn
        k = 4 if case == "lstm" else 3
        x, w, u = r.standard_normal((3, 5, 4)), r.standard_normal((4, k * 6)), r.standard_normal((6, k * 6))
        b = r.standard_normal(k * 6) if case == "lstm" else r.standard_normal((2, 18))
        if case == "lstm":
            fn = lambda a, ww, uu, bb: LSTMFn.apply(a, ww, uu, bb, None, None, None, return_sequences=True)[0]  # noqa
        else:
            fn = lambda a, ww, uu, bb: GRUFn.apply(a, ww, uu, bb, None, None, return_sequences=True)[0]  # noqa
        args = [x, w, u, b]
    outs = []
    for on in (True, False):
        old = gpu.set_enabled(on)
        try:
            ts = [nerve.tensor(cp.asarray(a), requires_grad=True) for a in args]
            y = fn(*ts)
            y.backward(cp.asarray(np.random.default_rng(7).standard_normal(y.shape)))
            outs.append([cp.asnumpy(y.data)] + [cp.asnumpy(t.grad.data) for t in ts])
        finally:
            gpu.set_enabled(old)
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _layer_cases():
    r = np.random.default_rng(0)
    img = r.standard_normal((32, 8, 8, 3)).astype("float32")
    seq = r.standard_normal((32, 6, 4)).astype("float32")
    tok = r.integers(0, 12, (32, 7))
    tok[:, -2:] = 0
    vec = r.standard_normal((32, 10)).astype("float32")
    return {
        "dropout_noise": (vec, lambda: [L.Dense(8, activation="relu"), L.Dropout(0.5), L.GaussianNoise(0.1),
                                        L.GaussianDropout(0.2), L.Dense(3)]),
        "batch_layer_norm": (vec, lambda: [L.Dense(8), L.BatchNormalization(), L.Activation("relu"),
                                           L.LayerNormalization(), L.Dense(3, kernel_regularizer="l2")]),
        "conv_same_avg_transpose": (img, lambda: [L.Conv2D(4, 3, padding="same", strides=2), L.AveragePooling2D(),
                                                  L.Conv2DTranspose(4, 3, strides=2), L.UpSampling2D(),
                                                  L.MaxPooling2D(3, padding="same"), L.GlobalAveragePooling2D(),
                                                  L.Dense(3)]),
        "conv1d_bidirectional": (seq, lambda: [L.Conv1D(5, 3, activation="relu", padding="same"),
                                               L.Bidirectional(L.LSTM(4, dropout=0.2, return_sequences=True)),
                                               L.SimpleRNN(4, go_backwards=True), L.RepeatVector(2), L.Flatten(),
                                               L.Dense(3)]),
        "masked_rnn": (tok, lambda: [L.Embedding(12, 4, mask_zero=True), L.LSTM(5, return_sequences=True),
                                     L.GRU(4), L.Dense(3)]),
    }


@pytest.mark.parametrize("case", sorted(_layer_cases()))
def test_more_layers_train_on_the_device_as_on_the_cpu(cp, case):
    """Stochastic layers draw on the host from the one Generator and move the draw to the device: same numbers."""
    x, make = _layer_cases()[case]
    y = np.random.default_rng(1).integers(0, 3, len(x))
    old = jit.set_enabled(False)
    res = []
    try:
        for where in ("cpu", "gpu"):
            nerve.set_random_seed(1)
            with nerve.device(where):
                m = nerve.Sequential([L.Input(x.shape[1:], dtype=x.dtype)] + make())
                m.compile(optimizer="rmsprop", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
            h = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
            res.append([h.history["loss"], m.evaluate(x, y, verbose=0), m.predict(x[:4], verbose=0)])
    finally:
        jit.set_enabled(old)
    for a, b in zip(*res):
        _check(np.asarray(b, dtype=float), np.asarray(a, dtype=float), exact=case != "masked_rnn")


def test_python_numbers_mix_with_device_tensors(cp):
    """Python numbers become NumPy scalars, which CuPy accepts (a 0-d NumPy array it refuses)."""
    from nerve import ops
    r = np.random.default_rng(2)
    x = r.random((2, 3)).astype("float32") + 0.5
    outs = []
    for a in (x, cp.asarray(x)):
        t = nerve.tensor(a, requires_grad=True)
        y = ops.sum(1.0 / (t + 1) + 2.0 * t - 1 + t ** 2 + ops.maximum(t, 0.7) + ops.clip(t, 0.6, 0.9) +
                    ops.multiply(t, 0.5) + ops.where(a > 1.0, t, 0.0))
        y.backward()
        outs.append([y.data, t.grad.data])
    for got, want in zip(outs[1], outs[0]):
        _check(cp.asnumpy(got) if isinstance(got, cp.ndarray) else np.asarray(got), want)


def _host_input_cases():
    r = np.random.default_rng(3)
    img = (r.random((4, 6, 6, 3)) * 255).astype("float32")
    seq = r.standard_normal((4, 5, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]], bool)
    return {
        "rescaling": (lambda: L.Rescaling(1 / 255.0, offset=-0.5), img, {}),
        "rescaling_per_channel": (lambda: L.Rescaling(np.array([0.5, 1.0, 2.0], "float32")), img, {}),
        "resizing_bilinear": (lambda: L.Resizing(4, 5), img, {}),
        "resizing_nearest": (lambda: L.Resizing(9, 4, interpolation="nearest"), img, {}),
        "upsampling_bilinear": (lambda: L.UpSampling2D(2, interpolation="bilinear"), img, {}),
        "random_flip": (lambda: L.RandomFlip(), img, {"training": True}),
        "random_contrast": (lambda: L.RandomContrast(0.3), img, {"training": True}),
        "random_rotation": (lambda: L.RandomRotation(0.2), img, {"training": True}),
        "softmax_mask": (lambda: L.Softmax(), seq, {"mask": mask[..., None].repeat(3, -1)}),
        "average_pooling_mask": (lambda: L.GlobalAveragePooling1D(), seq, {"mask": mask}),
        "lstm_mask": (lambda: L.LSTM(4, return_sequences=True), seq, {"mask": mask}),
        "embedding_host_indices": (lambda: L.Embedding(10, 3), r.integers(0, 10, (4, 5)), {}),
    }


@pytest.mark.parametrize("case", sorted(_host_input_cases()))
def test_layers_on_the_device_take_host_inputs_and_masks(cp, case):
    """A layer made under nerve.device("gpu") called directly with host data (arrays, constant tensors, masks)."""
    make, x, kw = _host_input_cases()[case]
    outs = []
    for where in ("cpu", "gpu"):
        nerve.set_random_seed(5)
        with nerve.device(where):
            layer = make()
        outs.append(layer(x, **kw).numpy())
        if where == "gpu":  # a constant host Tensor is copied over too
            nerve.set_random_seed(5)
            with nerve.device(where):
                layer = make()
            np.testing.assert_array_equal(layer(nerve.tensor(x), **kw).numpy(), outs[-1])
    _check(outs[1], outs[0], exact=True)


def test_a_host_tensor_that_requires_grad_is_a_clear_error_on_the_device(cp):
    with nerve.device("gpu"):
        d = L.Dense(2)
    with pytest.raises(ValueError, match="Dense '.*': the input is a NumPy tensor that requires grad.*GPU"):
        d(nerve.tensor(np.ones((1, 3), "float32"), requires_grad=True))


@pytest.mark.parametrize("metric", ["AUC", "Precision", "Recall", "F1Score", "R2Score", "MeanSquaredError",
                                    "CategoricalAccuracy"])
def test_metrics_made_under_the_device_scope_take_device_values(cp, metric):
    """Metric state stays on the host (also under nerve.device("gpu")); device y_true / y_pred are read from there."""
    r = np.random.default_rng(8)
    yt, yp = np.eye(3, dtype="float32")[r.integers(0, 3, 40)], r.random((40, 3)).astype("float32")
    vals = []
    for where, conv in (("cpu", np.asarray), ("gpu", cp.asarray)):
        with nerve.device(where):
            m = getattr(nerve.metrics, metric)()
        m.update_state(conv(yt), conv(yp))
        m.update_state(conv(yt[:7]), conv(yp[:7]))
        vals.append(np.asarray(m.result(), dtype=float))
        assert all(type(v.data) is np.ndarray for v in m.variables)
    _check(vals[1], vals[0], exact=True)


def test_device_one_hot_targets_take_the_categorical_accuracy(cp):
    """compile's 'accuracy' is resolved from the shapes of the first batch; a device array's own ``.data`` is a
    memory pointer, so one-hot device targets must not look like rank-0 (sparse) labels. Integer device data
    for a float Input is cast as host data is."""
    r = np.random.default_rng(5)
    x, y = r.integers(0, 4, (40, 6)), np.eye(3, dtype="float32")[r.integers(0, 3, 40)]
    hist = []
    for where, conv in (("cpu", np.asarray), ("gpu", cp.asarray)):
        nerve.set_random_seed(2)
        with nerve.device(where):
            inp = L.Input((6,))
            m = nerve.Model(inp, L.Dense(3, activation="softmax")(inp))
            m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        hist.append(m.fit(conv(x), conv(y), batch_size=8, epochs=2, verbose=0, shuffle=False).history)
    for k in hist[0]:
        _check(np.asarray(hist[1][k], dtype=float), np.asarray(hist[0][k], dtype=float))
    d = cp.asarray(x)
    assert nerve.backend.unwrap(d) is d and nerve.backend.unwrap(nerve.tensor(d)) is d


def _attention_model():
    inp = L.Input((6,), dtype="int64")
    x = L.Embedding(12, 8, mask_zero=True)(inp)
    x = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1, seed=3)(x, x, use_causal_mask=True)
    a = L.Attention(use_scale=True)([x, x])
    x = L.Normalization(mean=0.1, variance=2.0)(L.GlobalAveragePooling1D()(L.Concatenate()([x, a])))
    return nerve.Model(inp, L.Dense(3)(x))


def test_attention_layers_train_on_the_device_as_on_the_cpu(cp):
    """MultiHeadAttention (masks, causal mask, dropout), Attention and Normalization: same numbers on both."""
    r = np.random.default_rng(2)
    x = r.integers(0, 12, (32, 6))
    x[:, -2:] = 0
    y = r.integers(0, 3, 32)
    res = []
    for where in ("cpu", "gpu"):
        nerve.set_random_seed(4)
        with nerve.device(where):
            m = _attention_model()
            m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
        h = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
        res.append([h.history["loss"], m.evaluate(x, y, verbose=0), m.predict(x[:4], verbose=0)])
        if where == "gpu":
            assert all(isinstance(w.data, cp.ndarray) for w in m.weights)
    for a, b in zip(*res):
        _check(np.asarray(b, dtype=float), np.asarray(a, dtype=float), exact=False)


def _op_cases():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_numpy_ops import GRADS
    from test_ops_nn_functional import GRAD
    return [(g[0], g[1], list(g[2])) for g in GRADS] + [(g[0], g[1], list(g[2:])) for g in GRAD]


@pytest.mark.parametrize("name, fn, inputs", _op_cases(), ids=[c[0] for c in _op_cases()])
def test_keras_ops_on_the_device_as_on_the_cpu(cp, name, fn, inputs):
    """Every gradchecked keras.ops function of numpy_ops.py / nn_functional.py: values and input gradients on
    device arrays equal the CPU's (masks, indices and draws moved to the device, no implicit conversion)."""
    fakecupy.check_same_on_device(cp, fn, inputs)
