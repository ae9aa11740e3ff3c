"""int8 quantization (nerve.quantizers, Dense/Embedding.quantize, Model.quantize, QuantizedDTypePolicy).

Golden values: Keras 3.15.1 (torch backend) on the same weights and inputs: the quantized kernel, its scales
and the int8 Dense output agree to the last bit."""
import numpy as np
import pytest

import nerve
from nerve import layers, quantizers

X = np.array([[0.5, -1.0, 0.25, 0.8], [2.0, 0.1, -0.3, -1.5]], "float32")
W = np.array([[0.2, -0.5, 0.1], [0.7, 0.3, -0.2], [-0.4, 0.6, 0.05], [0.1, -0.1, 0.9]], "float32")
B = np.array([0.1, -0.2, 0.3], "float32")


def test_abs_max_quantize_and_quantizer():
    q, scale = quantizers.abs_max_quantize(W, axis=0)
    want_scale = 127 / (np.abs(W).max(axis=0, keepdims=True) + nerve.config.epsilon())
    np.testing.assert_allclose(scale.numpy(), want_scale, rtol=1e-7)
    assert q.dtype == np.int8
    np.testing.assert_array_equal(q.numpy(), np.clip(np.round(W * want_scale), -127, 127).astype(np.int8))
    qz = quantizers.AbsMaxQuantizer()
    q2, s2 = qz(X)  # axis -1: one scale per row
    assert s2.shape == (2, 1) and np.abs(q2.numpy()).max() == 127
    assert quantizers.deserialize(quantizers.serialize(qz)).get_config() == qz.get_config()
    back = quantizers.quantize_and_dequantize(X, s2)
    np.testing.assert_allclose(back.numpy(), X, atol=np.abs(X).max() / 127)
    with pytest.raises(ValueError, match="value_range within"):
        quantizers.AbsMaxQuantizer(value_range=(-300, 300))
    with pytest.raises(TypeError, match="expected a float tensor"):
        quantizers.abs_max_quantize(np.arange(3), axis=0)


def test_int8_dense_matches_keras():
    d = layers.Dense(3)
    d.build((None, 4))
    d.set_weights([W, B])
    d.quantize("int8")
    np.testing.assert_array_equal(d.kernel.numpy(), [[36, -106, 14], [127, 63, -28], [-73, 127, 7], [18, -21, 127]])
    np.testing.assert_array_equal(d.kernel_scale.numpy(),
                                  np.array([181.4285430908203, 211.66661071777344, 141.11109924316406], "float32"))
    np.testing.assert_array_equal(d(X).numpy(), np.array(
        [[-0.5232688188552856, -0.6745615601539612, 1.2829749584197998],
         [0.5349557399749756, -1.204551100730896, -0.8816232085227966]], "float32"))
    assert d.dtype_policy.name == "int8_from_float32" and d.quantization_mode == "int8"
    assert [w.name for w in d.trainable_weights] == ["bias"]
    assert isinstance(d.dtype_policy, nerve.dtype_policies.QuantizedDTypePolicy)
    with pytest.raises(ValueError, match="already quantized"):
        d.quantize("int8")
    with pytest.raises(NotImplementedError, match="mode 'int4' is not supported by nerve"):
        layers.Dense(2).quantize("int4")


def test_int8_embedding_matches_keras():
    e = layers.Embedding(4, 3)
    e.build()
    e.set_weights([W[:, :3]])
    e.quantize("int8")
    np.testing.assert_allclose(e(np.array([[0, 3], [2, 1]])).numpy(), np.array(
        [[[0.20078745, -0.5000001, 0.09842522], [0.09921261, -0.09921261, 0.9000001]],
         [[-0.4015749, 0.60000014, 0.05196852], [0.7000001, 0.29763785, -0.19842523]]], "float32"), rtol=1e-6)
    assert [w.name for w in e.weights] == ["embeddings", "embeddings_scale"] and not e.trainable_weights


def _trained_model():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 20)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    nerve.set_random_seed(0)
    model = nerve.Sequential([nerve.Input((20,)), layers.Dense(64, activation="relu"), layers.Dropout(0.1),
                              layers.Dense(3)])
    model.compile(nerve.optimizers.Adam(0.01), nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=10, verbose=0)
    return model, x, y


def test_model_quantize_keeps_accuracy_trains_and_saves(tmp_path):
    import warnings
    model, x, y = _trained_model()
    before = model.predict(x, verbose=0)
    acc = model.evaluate(x, y, verbose=0)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Dropout has nothing to quantize: no warning for it
        model.quantize("int8")
    assert [layer.quantization_mode for layer in model.layers] == ["int8", None, "int8"]
    after = model.predict(x, verbose=0)
    assert np.abs(after - before).max() < 0.02 * np.abs(before).max()
    assert model.evaluate(x, y, verbose=0)[1] >= acc - 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the compiled variable list follows the new weights
        hist = model.fit(x, y, epochs=2, verbose=0).history  # the biases keep training
    assert np.isfinite(hist["loss"]).all()
    path = str(tmp_path / "q.keras")
    model.save(path)
    loaded = nerve.saving.load_model(path)
    assert loaded.layers[0].kernel.dtype == np.int8
    np.testing.assert_array_equal(loaded.predict(x[:16], verbose=0), model.predict(x[:16], verbose=0))
    with pytest.raises(ValueError, match="needs a built model"):
        nerve.Sequential([layers.Dense(2)]).quantize("int8")


def test_quantize_filters_and_unsupported_layers():
    model, x, _ = _trained_model()
    last = model.layers[-1].name
    model.quantize("int8", filters=lambda layer: layer.name == last)
    assert [layer.quantization_mode for layer in model.layers] == [None, None, "int8"]
    model.quantize("int8", filters=[f"^{model.layers[0].name}$"])
    assert [layer.quantization_mode for layer in model.layers] == ["int8", None, "int8"]
    conv = nerve.Sequential([nerve.Input((6, 6, 1)), layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(2)])
    with pytest.warns(UserWarning, match="Conv2D .*quantize is not supported"):
        conv.quantize("int8")
    assert conv.layers[-1].quantization_mode == "int8"


def test_quantized_policy_round_trips_and_names():
    get = nerve.dtype_policies.get
    p = get("int8_from_float32")
    assert (p.name, p.quantization_mode, p.compute_dtype, p.variable_dtype) == \
        ("int8_from_float32", "int8", "float32", "float32")
    config = nerve.dtype_policies.serialize(p)
    assert config["class_name"] == "QuantizedDTypePolicy" and get(config) == p
    assert layers.Dense(2, dtype=config).quantization_mode == "int8"
    with pytest.raises(NotImplementedError, match="float source policy"):
        nerve.dtype_policies.QuantizedDTypePolicy("int8", "mixed_float16")


def test_quantized_model_exports_to_onnx(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = nerve.Sequential([nerve.Input((5,), dtype="int64"), layers.Embedding(50, 8), layers.Flatten(),
                              layers.Dense(16, activation="relu"), layers.Dense(2)])
    model.quantize("int8")
    path = str(tmp_path / "q.onnx")
    model.export(path, verbose=False)
    sess = ort.InferenceSession(path)
    x = np.random.default_rng(0).integers(0, 50, (6, 5))
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_int8_dense_gradient_is_the_straight_through_estimate():
    """d(out)/dx of a quantized Dense is taken through the dequantized kernel q / s (Keras' custom gradient); the
    int8 kernel and its scales get none."""
    d = layers.Dense(3)
    d.build((None, 4))
    d.set_weights([W, B])
    d.quantize("int8")
    x = nerve.tensor(X, requires_grad=True)
    g = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    (d(x) * nerve.tensor(g)).sum().backward()
    w_deq = d.kernel.numpy().astype("float32") / d.kernel_scale.numpy()
    np.testing.assert_allclose(x.grad.numpy(), g @ w_deq.T, rtol=1e-6)
    np.testing.assert_allclose(d.bias.grad.numpy(), g.sum(0), rtol=1e-6)
    assert d.kernel.grad is None and d.kernel_scale.grad is None


def test_int8_layers_on_the_device_match_the_host():
    """Quantized Dense and Embedding on the device (the real CuPy when a GPU is visible, else the stand-in)."""
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fakecupy
    ids = np.array([[0, 3], [2, 1]])
    outs = []
    with fakecupy.gpu_module() as cp:
        for where in ("cpu", "gpu"):
            with nerve.device(where):
                d, e = layers.Dense(3), layers.Embedding(4, 3)
                d.build((None, 4))
                e.build()
            d.set_weights([W, B])
            e.set_weights([W[:, :3]])
            d.quantize("int8")
            e.quantize("int8")
            to = cp.asarray if where == "gpu" else np.asarray
            y, z = d(to(X)), e(to(ids))
            if where == "gpu":
                assert isinstance(y.data, cp.ndarray) and isinstance(z.data, cp.ndarray)
                assert isinstance(d.kernel.data, cp.ndarray) and d.kernel.data.dtype == np.int8
            outs.append([nerve.ops.convert_to_numpy(t) for t in (y, z)])
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-6)
