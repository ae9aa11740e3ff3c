"""Dropout / GaussianNoise / GaussianDropout statistics and ActivityRegularization losses."""
import numpy as np
import pytest

import nerve
from nerve import backend, layers as L


def test_dropout_statistics_in_training():
    x = np.ones((400, 250), "float32")
    y = L.Dropout(0.3)(x, training=True).numpy()
    zero = (y == 0).mean()
    assert abs(zero - 0.3) < 0.01, zero
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)  # inverted dropout scaling
    assert abs(y.mean() - 1.0) < 0.02  # mean preserved


def test_dropout_noop_at_inference_and_by_default():
    x = np.random.default_rng(0).standard_normal((8, 5)).astype("float32")
    layer = L.Dropout(0.5)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    with backend.training_mode(True):
        assert (layer(x).numpy() == 0).any()
    np.testing.assert_array_equal(L.Dropout(0.0)(x, training=True).numpy(), x)


def test_dropout_gradient_is_the_mask():
    x = nerve.tensor(np.ones((50, 20), "float32"), requires_grad=True)
    y = L.Dropout(0.5)(x, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())


def test_dropout_uses_global_rng_and_seed():
    x = np.ones((6, 7), "float32")
    nerve.set_random_seed(5)
    a = L.Dropout(0.5)(x, training=True).numpy()
    nerve.set_random_seed(5)
    b = L.Dropout(0.5)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    c = L.Dropout(0.5, seed=3)(x, training=True).numpy()
    d = L.Dropout(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(c, d)


def test_dropout_noise_shape_shares_mask():
    x = np.ones((10, 6, 4), "float32")
    y = L.Dropout(0.5, noise_shape=(None, 1, 4))(x, training=True).numpy()
    assert np.all(y == y[:, :1, :])
    with pytest.raises(ValueError, match="Dropout .*noise_shape"):
        L.Dropout(0.5, noise_shape=(None, 3, 4))(x, training=True)


def test_rate_validation():
    for cls in (L.Dropout, L.GaussianDropout):
        with pytest.raises(ValueError, match=f"{cls.__name__} .*'rate'.*between 0 and 1"):
            cls(1.5)
    with pytest.raises(ValueError, match="GaussianNoise .*stddev"):
        L.GaussianNoise(-0.1)


def test_gaussian_noise_statistics():
    x = np.zeros((300, 300), "float32")
    layer = L.GaussianNoise(0.4)
    y = layer(x, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 0.4) < 0.01
    np.testing.assert_array_equal(layer(x).numpy(), x)


def test_gaussian_dropout_statistics():
    x = np.ones((300, 300), "float32")
    layer = L.GaussianDropout(0.2)
    y = layer(x, training=True).numpy()
    assert abs(y.mean() - 1.0) < 0.01 and abs(y.std() - np.sqrt(0.2 / 0.8)) < 0.01
    np.testing.assert_array_equal(layer(x).numpy(), x)


def test_activity_regularization_loss_value():
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    layer = L.ActivityRegularization(l1=0.01, l2=0.02)
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), x)
    assert len(layer.losses) == 1
    expected = 0.01 * np.abs(x).sum() + 0.02 * (x ** 2).sum()
    np.testing.assert_allclose(float(layer.losses[0].numpy()), expected, rtol=1e-5)
    cfg = layer.get_config()
    assert cfg["l1"] == 0.01 and cfg["l2"] == 0.02 and "activity_regularizer" not in cfg
    layer(x)
    assert len(layer.losses) == 1  # losses of the last call only


@pytest.mark.parametrize("rate", [0.1, 1 / 3, 0.5, 0.9])
def test_keep_masks_hold_the_rate(rate):
    """Masks are 16-bit integers against round(rate * 2**16): the kept fraction is 1 - rate to within 2**-17
    plus sampling error (4 sigma over 2M draws); rates 0 and 1 keep everything / nothing."""
    keep = backend.keep_mask(np.random.default_rng(4), (1000, 2000), rate)
    assert keep.dtype == bool and keep.shape == (1000, 2000)
    assert abs(keep.mean() - (1 - rate)) < 4 * np.sqrt(rate * (1 - rate) / keep.size) + 2 ** -17
    assert backend.keep_mask(np.random.default_rng(0), (3,), 0.0).all()
    assert not backend.keep_mask(np.random.default_rng(0), (3,), 1.0).any()
    m = backend.dropout_mask(np.random.default_rng(4), (4, 5), rate, np.zeros(1, np.float32))
    assert m.dtype == np.float32 and set(np.unique(m)) <= {0.0, np.float32(1 / (1 - rate))}
