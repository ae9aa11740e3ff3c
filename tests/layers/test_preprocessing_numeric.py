"""layers.Normalization (keras.layers.Normalization): adapt statistics, axes, invert, given mean/variance,
the Keras-style layer checks (config, gradcheck, save), and the Keras regression-tutorial pattern."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from tests.layers.harness import layer_test


def data(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * np.arange(1, shape[-1] + 1) + 10 * np.arange(shape[-1])).astype(np.float32)


def test_adapt_per_feature_and_output_is_standardised():
    x = data(500, 4)
    norm = L.Normalization()
    norm.adapt(x)
    np.testing.assert_allclose(norm.mean.numpy().ravel(), x.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(norm.variance.numpy().ravel(), x.astype(np.float64).var(0), rtol=1e-5)
    y = norm(x).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-5)


def test_adapt_in_batches_equals_one_pass():
    x = data(300, 3)
    one, many = L.Normalization(), L.Normalization()
    one.adapt(x)
    many.adapt((x[i:i + 64], None) for i in range(0, 300, 64))  # an iterable of (x, y) batches
    np.testing.assert_allclose(many.mean.numpy(), one.mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(many.variance.numpy(), one.variance.numpy(), rtol=1e-6)


def test_axes():
    img = data(20, 5, 5, 3)
    per_channel = L.Normalization(axis=-1)
    per_channel.adapt(img)
    assert per_channel.mean.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(per_channel.mean.numpy().ravel(), img.astype(np.float64).mean((0, 1, 2)), rtol=1e-6)
    scalar = L.Normalization(axis=None)
    scalar.adapt(img)
    assert scalar.mean.shape == (1, 1, 1, 1)
    np.testing.assert_allclose(scalar.variance.numpy().item(), img.astype(np.float64).var(), rtol=1e-6)
    rows = L.Normalization(axis=(1, 2))
    rows.adapt(img)
    assert rows.mean.shape == (1, 5, 5, 1)


def test_given_statistics_invert_and_zero_variance():
    norm = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    x = np.array([[3.0, 2.5]], np.float32)
    y = norm(x).numpy()
    np.testing.assert_allclose(y, [[1.0, 0.5 / nerve.backend.epsilon()]], rtol=1e-6)  # std floored at epsilon
    inv = L.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0], invert=True)
    np.testing.assert_allclose(inv(np.array([[1.0, -1.0]], np.float32)).numpy(), [[3.0, -1.0]])


def test_keras_layer_checks(tmp_path):
    layer_test(L.Normalization, {"mean": [0.5, -1.0, 2.0], "variance": [1.0, 4.0, 0.25]}, input_shape=(4, 3),
               expected_output_shape=(4, 3), expected_num_non_trainable_weights=2, supports_masking=True,
               parts=("core", "save"), tmp_path=tmp_path)


def test_adapted_statistics_are_saved(tmp_path):
    x = data(100, 3)
    norm = L.Normalization()
    norm.adapt(x)
    model = nerve.Sequential([nerve.Input((3,)), norm, L.Dense(1)])
    model.save(tmp_path / "m.keras")
    loaded = nerve.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_regression_tutorial_pattern_learns():
    x = data(400, 3)
    y = (x @ np.array([[0.5], [-0.2], [0.1]], np.float32) + 3).astype(np.float32)
    normalizer = L.Normalization(axis=-1)
    normalizer.adapt(x)
    model = nerve.Sequential([normalizer, L.Dense(16, activation="relu"), L.Dense(1)])
    model.compile(optimizer=nerve.optimizers.Adam(0.01), loss="mean_absolute_error")
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0, validation_split=0.2)
    assert history.history["val_loss"][-1] < 0.2 * history.history["val_loss"][0]


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match=r"Normalization 'n': arguments 'mean' and 'variance' must be given "
                                         r"together"):
        L.Normalization(mean=[1.0], name="n")
    with pytest.raises(TypeError, match=r"Normalization 'n2': argument 'axis' expected an int"):
        L.Normalization(axis="x", name="n2")
    norm = L.Normalization(axis=2, name="n3")
    with pytest.raises(ValueError, match=r"Normalization 'n3': argument 'axis' 2 is out of range"):
        norm.adapt(np.ones((4, 3)))
    norm = L.Normalization(name="n4")
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Normalization 'n4': adapt data of shape \(4, 5\) does not match"):
        norm.adapt(np.ones((4, 5)))
