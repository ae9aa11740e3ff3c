"""Mixed precision ('mixed_float16'): float16 compute, float32 variables, float32 losses, loss scaling.

Each layer is checked against the same layer in float32 with the same weights: outputs in float16 and equal to
float16 rounding, variable gradients in float32 and equal to the float32 ones to float16 rounding."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.autograd.autocast import AutocastScope, get_autocast_scope

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def mixed():
    nerve.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        nerve.mixed_precision.set_global_policy("float32")


def test_policy_names_and_dtypes():
    p = nerve.DTypePolicy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16", "float32")
    assert nerve.dtype_policies.deserialize(nerve.dtype_policies.serialize(p)) == p
    layer = layers.Dense(3, dtype="mixed_float16")
    assert (layer.dtype, layer.compute_dtype, layer.variable_dtype) == ("float32", "float16", "float32")
    assert layer.input_dtype == "float16" and layers.BatchNormalization(dtype="mixed_float16").input_dtype == "float32"
    assert layer.dtype_policy == p and layers.Dense(3, dtype=p).compute_dtype == "float16"
    # the dict Keras writes for a policy in a layer's config
    assert layers.Dense(3, dtype={"module": "keras", "class_name": "DTypePolicy",
                                  "config": {"name": "mixed_float16"}, "registered_name": None}).compute_dtype == \
        "float16"
    with pytest.raises(NotImplementedError, match="Dense.*|DTypePolicy: 'mixed_bfloat16' is not supported"):
        layers.Dense(3, dtype="mixed_bfloat16")


def test_global_policy_applies_to_layers_made_afterwards(mixed):
    assert nerve.config.floatx() == "float32"
    dense = layers.Dense(4)
    y = dense(np.ones((2, 3), "float32"))
    assert dense.kernel.dtype == np.float32 and y.dtype == np.float16
    assert layers.Dense(4, dtype="float32").compute_dtype == "float32"


def _run(make, x, policy, weights=None, training=False):
    nerve.mixed_precision.set_global_policy(policy)
    try:
        layer = make()
    finally:
        nerve.mixed_precision.set_global_policy("float32")
    xs = [nerve.tensor(a, requires_grad=a.dtype.kind == "f") for a in x]
    layer(*[nerve.tensor(a) for a in x])  # build
    if weights is not None:
        for w, v in zip(layer.weights, weights):
            w.assign(v)
    out = layer(*xs, training=training) if training else layer(*xs)
    cot = np.random.default_rng(1).standard_normal(out.shape).astype("float32")
    (nerve.ops.cast(out, "float32") * nerve.tensor(cot)).sum().backward()
    grads = [w.grad for w in layer.trainable_weights]
    return layer, out, grads, [t.grad for t in xs]


LAYERS = {
    "Dense": (lambda: layers.Dense(8, activation="tanh"), [(4, 6)]),
    "Conv2D": (lambda: layers.Conv2D(4, 3, padding="same", activation="relu"), [(2, 8, 8, 3)]),
    "Conv1D": (lambda: layers.Conv1D(4, 3), [(2, 10, 3)]),
    "Conv2DTranspose": (lambda: layers.Conv2DTranspose(3, 3, strides=2), [(2, 5, 5, 2)]),
    "DepthwiseConv2D": (lambda: layers.DepthwiseConv2D(3), [(2, 8, 8, 3)]),
    "SimpleRNN": (lambda: layers.SimpleRNN(5), [(2, 7, 3)]),
    "LSTM": (lambda: layers.LSTM(5, return_sequences=True), [(2, 7, 3)]),
    "GRU": (lambda: layers.GRU(5), [(2, 7, 3)]),
    "RNN(LSTMCell)": (lambda: layers.RNN(layers.LSTMCell(5)), [(2, 7, 3)]),
    "RNN(GRUCell)": (lambda: layers.RNN(layers.GRUCell(4), return_sequences=True), [(2, 6, 3)]),
    "Bidirectional": (lambda: layers.Bidirectional(layers.LSTM(4)), [(2, 7, 3)]),
    "BatchNormalization": (lambda: layers.BatchNormalization(), [(6, 5)]),
    "LayerNormalization": (lambda: layers.LayerNormalization(), [(6, 5)]),
    "GroupNormalization": (lambda: layers.GroupNormalization(2), [(2, 4, 4, 4)]),
    "MultiHeadAttention": (lambda: layers.MultiHeadAttention(2, 4), [(2, 5, 6), (2, 5, 6)]),
    "MaxPooling2D": (lambda: layers.MaxPooling2D(), [(2, 8, 8, 3)]),
    "Embedding": (lambda: layers.Embedding(10, 4), "int"),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_float32_to_float16_rounding(name):
    make, shapes = LAYERS[name]
    rng = np.random.default_rng(0)
    x = [np.arange(12).reshape(3, 4) % 10] if shapes == "int" else \
        [rng.standard_normal(s).astype("float32") for s in shapes]
    training = name == "BatchNormalization"
    ref, y32, g32, gx32 = _run(make, x, "float32", training=training)
    layer, y16, g16, gx16 = _run(make, x, "mixed_float16", [w.numpy() for w in ref.weights], training=training)
    assert layer.compute_dtype == "float16" and all(w.dtype == np.float32 for w in layer.weights)
    assert y16.dtype == np.float16, f"{name}: output {y16.dtype}"
    scale = np.abs(y32.numpy()).max()
    np.testing.assert_allclose(y16.numpy().astype("float32"), y32.numpy(), atol=4e-3 * scale)
    for a, b in zip(g32, g16):
        assert b.dtype == np.float32  # the optimizer sees float32 gradients for float32 variables
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=6e-3 * max(np.abs(g.numpy()).max() for g in g32))
    for a, b in zip(gx32, gx16):
        if a is not None:
            assert b.dtype == np.float32  # the input was float32: its gradient comes back in float32
            np.testing.assert_allclose(b.numpy(), a.numpy(), atol=6e-3 * np.abs(a.numpy()).max())


def test_autocast_scope_casts_each_variable_once_and_nests():
    v = nerve.Variable(np.ones((2, 2), "float32"))
    keep = nerve.Variable(np.ones((2,), "float32"), autocast=False)
    assert get_autocast_scope() is None and v.value is v
    with AutocastScope("float16") as scope:
        c = v.value
        assert c.dtype == np.float16 and v.value is c and keep.value is keep
        assert (v * 2.0).dtype == np.float16  # an op reading the variable gets the copy
        with AutocastScope("float16"):
            assert v.value is c  # same dtype nested: the copies are shared
        with AutocastScope(None):
            assert v.value is v and get_autocast_scope() is None
        assert get_autocast_scope() is scope
    assert get_autocast_scope() is None and (v * 2.0).dtype == np.float32
    with pytest.raises(ValueError, match="AutocastScope: argument 'dtype' expected a float dtype"):
        AutocastScope("int32")


def test_float32_layer_inside_a_mixed_model_reads_float32_variables(mixed):
    inp = nerve.Input((6,))
    hidden = layers.Dense(8, activation="relu")(inp)
    out = layers.Dense(3, activation="softmax", dtype="float32")(hidden)
    model = nerve.Model(inp, out)
    seen = {}
    head = model.layers[-1]
    call = head.call

    def spy(x):
        seen["scope"] = get_autocast_scope()
        seen["x"] = x.dtype
        return call(x)
    head.call = spy
    y = model(np.ones((2, 6), "float32"))
    assert seen == {"scope": None, "x": np.float32} and y.dtype == np.float32
    assert model.layers[1](np.ones((2, 6), "float32")).dtype == np.float16


def _train(policy):
    nerve.mixed_precision.set_global_policy(policy)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 10)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    nerve.set_random_seed(0)
    model = nerve.Sequential([nerve.Input((10,)), layers.Dense(32, activation="relu"), layers.BatchNormalization(),
                              layers.Dense(3), layers.Activation("softmax", dtype="float32")])
    model.compile(nerve.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x, model.fit(x, y, epochs=20, batch_size=32, verbose=0).history


def test_mixed_model_trains_like_float32_with_loss_scaling_and_saves(mixed, tmp_path):
    _, _, ref = _train("float32")
    model, x, hist = _train("mixed_float16")
    assert isinstance(model.optimizer, nerve.optimizers.LossScaleOptimizer)  # Keras: auto_scale_loss=True
    assert hist["loss"][-1] < 0.3 and hist["accuracy"][-1] > 0.9
    assert abs(hist["loss"][-1] - ref["loss"][-1]) < 0.03  # the same training, to float16 rounding
    assert all(w.dtype == np.float32 for w in model.weights)
    assert model.predict(x[:4], verbose=0).dtype == np.float32
    path = str(tmp_path / "m.keras")
    model.save(path)
    nerve.mixed_precision.set_global_policy("float32")
    loaded = nerve.saving.load_model(path)
    assert [layer.dtype_policy.name for layer in loaded.layers] == \
        ["mixed_float16", "mixed_float16", "mixed_float16", "float32"]
    np.testing.assert_array_equal(loaded.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0))
    plain = nerve.Sequential([nerve.Input((10,)), layers.Dense(3, dtype="mixed_float16")])
    plain.compile("sgd", "mse", auto_scale_loss=False)
    assert isinstance(plain.optimizer, nerve.optimizers.SGD)


def test_losses_are_taken_in_float32():
    y_pred = nerve.tensor(np.array([[0.2, 0.8], [0.6, 0.4]], "float16"))
    for loss in (nerve.losses.CategoricalCrossentropy(), nerve.losses.MeanSquaredError()):
        assert loss(np.array([[0.0, 1.0], [1.0, 0.0]]), y_pred).dtype == np.float32


def test_keras_mixed_precision_script(mixed):
    """keras.io's mixed precision guide, its model as published (Dense 4096 made smaller), on synthetic data."""
    from nerve import mixed_precision
    assert mixed_precision.global_policy().name == "mixed_float16"
    inputs = nerve.Input(shape=(784,), name="digits")
    dense1 = layers.Dense(64, activation="relu", name="dense_1")
    x = dense1(inputs)
    dense2 = layers.Dense(64, activation="relu", name="dense_2")
    x = dense2(x)
    x = layers.Dense(10, name="dense_logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    model = nerve.Model(inputs=inputs, outputs=outputs)
    assert dense1.dtype_policy.name == "mixed_float16" and x.dtype == "float16" and outputs.dtype == "float32"
    model.compile(loss="sparse_categorical_crossentropy", optimizer=nerve.optimizers.RMSprop(),
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    y_train = rng.integers(0, 10, 512)
    x_train = (0.5 * rng.random((10, 784))[y_train] + 0.5 * rng.random((512, 784))).astype("float32")
    history = model.fit(x_train, y_train, batch_size=64, epochs=5, validation_split=0.2, verbose=0)
    assert history.history["accuracy"][-1] > 0.8
    loss, acc = model.evaluate(x_train, y_train, verbose=0)
    assert np.isfinite(loss) and acc > 0.8


def test_mixed_dense_on_the_device_stand_in():
    import fakecupy
    with fakecupy.gpu_module() as cp:
        x = np.random.default_rng(3).standard_normal((4, 5)).astype("float32")
        outs = []
        for where in ("cpu", "gpu"):
            nerve.set_random_seed(1)
            with nerve.device(where):
                layer = layers.Dense(3, dtype="mixed_float16")
                y = layer(cp.asarray(x) if where == "gpu" else x)
            assert y.dtype == np.float16 and layer.kernel.dtype == np.float32
            y.astype("float32").sum().backward()
            assert layer.kernel.grad.dtype == np.float32
            outs.append((nerve.ops.convert_to_numpy(y), nerve.ops.convert_to_numpy(layer.kernel.grad)))
        for a, b in zip(*outs):
            np.testing.assert_allclose(b.astype("float32"), a.astype("float32"), rtol=2e-3, atol=2e-3)


def test_float16_overflow_under_loss_scaling_is_handled_quietly(mixed):
    """The scaled loss (2^15) overflows float16 gradients in a CNN's first steps: LossScaleOptimizer skips those
    steps and halves its scale, without NumPy overflow warnings, and training goes on with finite weights."""
    import warnings
    rng = np.random.default_rng(0)
    x = rng.random((64, 12, 12, 1)).astype("float32")
    y = rng.integers(0, 3, 64)
    model = nerve.Sequential([nerve.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu"),
                              layers.BatchNormalization(), layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3),
                              layers.Activation("softmax", dtype="float32")])
    model.compile("adam", "sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0).history
    assert model.optimizer.dynamic_scale < 2.0 ** 15  # at least one overflow was caught and the scale halved
    assert np.all(np.isfinite(hist["loss"])) and all(np.all(np.isfinite(w.numpy())) for w in model.weights)
