"""ONNX export: every supported layer type, checked with onnxruntime against nerve's predict (1e-5)."""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install nerve[onnx])")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install nerve[onnx])")

import nerve  # noqa: E402
from nerve import layers as L  # noqa: E402


def _check(model, *xs, tmp_path, tol=1e-5):
    path = tmp_path / "m.onnx"
    assert model.export(str(path), format="onnx", verbose=False) == str(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs)}
    got = sess.run(None, feeds)
    want = model.predict(list(xs) if len(xs) > 1 else xs[0], verbose=0)
    want = want if isinstance(want, list) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    return got


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _seq(*layers, shape):
    nerve.set_random_seed(0)
    return nerve.Sequential([nerve.Input(shape)] + list(layers))


@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus",
                                 "softsign", "leaky_relu", "relu6", "hard_sigmoid", "silu", "gelu", "mish",
                                 "exponential", "log_softmax", "log_sigmoid", "hard_silu"])
def test_dense_and_activations(act, tmp_path):
    _check(_seq(L.Dense(7, activation=act), shape=(5,)), _x(3, 5), tmp_path=tmp_path)


def test_activation_layers(tmp_path):
    m = _seq(L.Dense(6), L.ReLU(), L.Dense(6), L.LeakyReLU(negative_slope=0.1), L.ELU(alpha=0.5),
             L.ReLU(max_value=1.0), L.Activation("tanh"), L.Softmax(), shape=(4,))
    _check(m, _x(5, 4), tmp_path=tmp_path)


@pytest.mark.parametrize("padding,strides,dilation", [("valid", 1, 1), ("same", 2, 1), ("same", 1, 2),
                                                      ("causal", 1, 2)])
def test_conv1d(padding, strides, dilation, tmp_path):
    m = _seq(L.Conv1D(4, 3, strides=strides, padding=padding, dilation_rate=dilation, activation="relu"),
             shape=(11, 3))
    _check(m, _x(2, 11, 3), tmp_path=tmp_path)


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2), ("valid", 2), ("same", 1)])
def test_conv2d(padding, strides, tmp_path):
    m = _seq(L.Conv2D(5, (3, 2), strides=strides, padding=padding, activation="tanh"), shape=(9, 8, 3))
    _check(m, _x(2, 9, 8, 3), tmp_path=tmp_path)


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling(pool, padding, tmp_path):
    P2 = L.MaxPooling2D if pool == "max" else L.AveragePooling2D
    P1 = L.MaxPooling1D if pool == "max" else L.AveragePooling1D
    _check(_seq(P2((2, 3), strides=2, padding=padding), shape=(7, 8, 2)), _x(2, 7, 8, 2), tmp_path=tmp_path)
    _check(_seq(P1(3, padding=padding), shape=(10, 4)), _x(2, 10, 4), tmp_path=tmp_path)


def test_global_pooling(tmp_path):
    inp = nerve.Input((6, 5, 3))
    seq = nerve.Input((7, 4))
    outs = [L.GlobalMaxPooling2D()(inp), L.GlobalAveragePooling2D(keepdims=True)(inp),
            L.GlobalMaxPooling1D()(seq), L.GlobalAveragePooling1D()(seq)]
    _check(nerve.Model([inp, seq], outs), _x(2, 6, 5, 3), _x(2, 7, 4, seed=1), tmp_path=tmp_path)


def test_batch_and_layer_normalization(tmp_path):
    m = _seq(L.Dense(6), L.BatchNormalization(), L.LayerNormalization(), shape=(4,))
    bn = m.layers[1]
    rng = np.random.default_rng(3)
    bn.moving_mean.assign(rng.normal(size=6).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.5, 2, size=6).astype("float32"))
    bn.gamma.assign(rng.normal(size=6).astype("float32"))
    _check(m, _x(5, 4), tmp_path=tmp_path)
    conv = _seq(L.Conv2D(3, 2), L.BatchNormalization(), shape=(5, 5, 2))
    _check(conv, _x(2, 5, 5, 2), tmp_path=tmp_path)


def test_dropout_flatten_reshape_permute_repeat(tmp_path):
    m = _seq(L.Dropout(0.5), L.Flatten(), L.GaussianNoise(0.1), L.Reshape((4, -1)), L.Permute((2, 1)),
             L.Flatten(), L.Dense(3), L.RepeatVector(2), shape=(4, 3, 2))
    _check(m, _x(3, 4, 3, 2), tmp_path=tmp_path)


def test_embedding(tmp_path):
    m = _seq(L.Embedding(20, 4), L.Flatten(), L.Dense(2), shape=(6,))
    x = np.random.default_rng(0).integers(0, 20, size=(3, 6)).astype("float32")
    _check(m, x, tmp_path=tmp_path)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("return_sequences,go_backwards", [(False, False), (True, False), (True, True)])
def test_recurrent(kind, return_sequences, go_backwards, tmp_path):
    layer = getattr(L, kind)(5, return_sequences=return_sequences, go_backwards=go_backwards)
    m = _seq(layer, shape=(6, 3))
    b = layer.cell.bias
    b.assign(np.random.default_rng(1).normal(size=b.shape).astype("float32"))  # non-zero biases
    _check(m, _x(2, 6, 3), tmp_path=tmp_path)


def test_gru_reset_before_and_return_state(tmp_path):
    inp = nerve.Input((5, 3))
    out, h = L.GRU(4, reset_after=False, return_state=True)(inp)
    seq, h2, c2 = L.LSTM(3, return_sequences=True, return_state=True)(inp)
    _check(nerve.Model(inp, [out, h, seq, h2, c2]), _x(2, 5, 3), tmp_path=tmp_path)


def test_functional_merge_layers_and_nested_model(tmp_path):
    a, b = nerve.Input((4,)), nerve.Input((4,))
    da, db = L.Dense(4, activation="relu")(a), L.Dense(4)(b)
    merged = [L.Add()([da, db]), L.Subtract()([da, db]), L.Multiply()([da, db]), L.Average()([da, db]),
              L.Maximum()([da, db]), L.Minimum()([da, db])]
    cat = L.Concatenate()(merged)
    inner = nerve.Sequential([nerve.Input((24,)), L.Dense(3, activation="softmax")])
    model = nerve.Model([a, b], [inner(cat), L.Concatenate(axis=1)([da, db])])
    _check(model, _x(3, 4), _x(3, 4, seed=1), tmp_path=tmp_path)


def test_cnn_pipeline_and_dynamic_batch(tmp_path):
    m = _seq(L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(), L.Dropout(0.2), L.Flatten(),
             L.Dense(10, activation="softmax"), shape=(10, 10, 1))
    _check(m, _x(1, 10, 10, 1), tmp_path=tmp_path)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert sess.run(None, {sess.get_inputs()[0].name: _x(7, 10, 10, 1)})[0].shape == (7, 10)


def test_unsupported_layer_and_format_errors(tmp_path):
    m = _seq(L.Lambda(lambda t: t * 2), shape=(3,))
    with pytest.raises(NotImplementedError, match="Lambda"):
        m.export(str(tmp_path / "x.onnx"))
    with pytest.raises(ValueError, match="format"):
        m.export(str(tmp_path / "x"), format="tf_saved_model")
