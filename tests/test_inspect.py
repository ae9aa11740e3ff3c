"""Looking inside conv nets: conv filters, feature maps through an intermediate-output model, saliency."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.inspect import activation_model, conv_filters, feature_maps, saliency


def _cnn():
    return nerve.Sequential([L.Input((10, 10, 2)), L.Conv2D(4, 3, activation="relu", name="c1"),
                             L.MaxPooling2D(name="p1"), L.Conv2D(6, 3, activation="tanh", name="c2"),
                             L.Flatten(name="f"), L.Dense(3, name="logits")])


def test_conv_filters():
    model = _cnn()
    k = conv_filters(model.get_layer("c1"))
    assert k.shape == (3, 3, 2, 4)
    np.testing.assert_array_equal(k, model.get_layer("c1").kernel.numpy())
    kn = conv_filters(model.get_layer("c2"), normalize=True)
    assert kn.min() == 0 and kn.max() == 1
    np.testing.assert_allclose(kn.reshape(-1, 6).min(0), 0)
    np.testing.assert_allclose(kn.reshape(-1, 6).max(0), 1)
    with pytest.raises(ValueError, match=r"'f'.*no convolution kernel"):
        conv_filters(model.get_layer("f"))


def test_feature_maps_match_a_manual_forward():
    model = _cnn()
    x = np.random.default_rng(0).standard_normal((3, 10, 10, 2)).astype("float32")
    fm = feature_maps(model, "c1", x)
    assert fm.shape == (3, 8, 8, 4) and fm.min() >= 0
    np.testing.assert_allclose(fm, model.get_layer("c1")(x).numpy(), atol=1e-6)
    c2, p1 = feature_maps(model, ["c2", "p1"], x)
    assert c2.shape == (3, 2, 2, 6) and p1.shape == (3, 4, 4, 4)
    np.testing.assert_allclose(c2, model.get_layer("c2")(p1).numpy(), atol=1e-5)
    assert activation_model(model, "p1").output_shape == (None, 4, 4, 4)
    with pytest.raises(ValueError, match="no such layer"):
        feature_maps(model, "nope", x)


def test_saliency_is_the_input_gradient():
    with nerve.backend.precision("float64"):
        model = nerve.Sequential([L.Input((6, 6, 1)), L.Conv2D(3, 3, activation="tanh"), L.Flatten(),
                                  L.Dense(4, dtype="float64")])
        x = np.random.default_rng(1).standard_normal((2, 6, 6, 1))
        s = saliency(model, x, class_index=2)
        assert s.shape == x.shape
        eps = 1e-6
        for idx in [(0, 1, 2, 0), (1, 3, 3, 0), (0, 5, 0, 0)]:
            xp, xm = x.copy(), x.copy()
            xp[idx] += eps
            xm[idx] -= eps
            num = (model(xp).numpy()[:, 2].sum() - model(xm).numpy()[:, 2].sum()) / (2 * eps)
            assert s[idx] == pytest.approx(num, rel=1e-6, abs=1e-9)
        assert np.all(saliency(model, x, 2, absolute=True) >= 0)
        # a linear model's saliency is its weight column
        lin = nerve.Sequential([L.Input((2, 2, 1)), L.Flatten(), L.Dense(3, dtype="float64")])
        s = saliency(lin, np.zeros((1, 2, 2, 1)), 1)
        np.testing.assert_allclose(s.reshape(-1), lin.layers[-1].kernel.numpy()[:, 1])
    with pytest.raises(ValueError, match="class_index"):
        saliency(model, x, 7)
