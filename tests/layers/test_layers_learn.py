"""Tiny trainings that prove the layers learn inside models (skipped until nerve.models can fit)."""
import numpy as np
import pytest

import nerve
from nerve import layers as L


def _models():
    try:
        import nerve.models as models
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"nerve.models cannot be imported yet ({e})")
    if not hasattr(models, "Sequential") or not hasattr(models.Sequential, "fit"):
        pytest.skip("nerve.models.Sequential.fit does not exist yet")
    return models


def _blobs(n=256, seed=0):
    rs = np.random.default_rng(seed)
    x = rs.standard_normal((n, 4)).astype("float32") * 3 + 5  # off-centre, badly scaled: BN helps
    y = ((x[:, 0] - 5) * (x[:, 1] - 5) > 0).astype("int64")  # XOR-like: needs a hidden layer
    return x, y


def test_sequential_with_norm_dropout_activation_layers_learns():
    models = _models()
    nerve.set_random_seed(1)
    x, y = _blobs()
    model = models.Sequential([
        L.Input((4,)), L.BatchNormalization(), L.Dense(32), L.LeakyReLU(), L.Dropout(0.1),
        L.Dense(32), L.PReLU(), L.LayerNormalization(), L.GaussianNoise(0.05), L.Dense(2), L.Softmax()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    acc = (model.predict(x, verbose=0).argmax(-1) == y).mean()
    assert acc > 0.9, acc
    bn = model.layers[0]
    assert abs(bn.moving_mean.numpy() - x.mean(0)).max() < 1.0  # moving stats tracked the data


def test_functional_merge_model_learns():
    models = _models()
    nerve.set_random_seed(2)
    rs = np.random.default_rng(0)
    a, b = rs.standard_normal((256, 3)).astype("float32"), rs.standard_normal((256, 3)).astype("float32")
    target = (a * b).sum(1, keepdims=True)  # a dot product: Dot learns it exactly from two projections
    ia, ib = L.Input((3,)), L.Input((3,))
    ha, hb = L.Dense(8)(ia), L.Dense(8)(ib)
    merged = L.Concatenate()([L.Dot(axes=1)([ha, hb]), L.Add()([ha, hb]), L.Multiply()([ha, hb])])
    model = models.Model([ia, ib], L.Dense(1)(merged))
    from nerve.optimizers import Adam
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    hist = model.fit([a, b], target, epochs=40, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.1 * hist.history["loss"][0]
