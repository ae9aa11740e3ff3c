"""Pooling layers (and the spatial helpers UpSampling, ZeroPadding, Cropping, SpatialDropout): layer checks
with float64 gradchecks, PyTorch parity for MaxPool1d/2d and AvgPool1d/2d, Keras 'same' semantics, errors."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.tensor import tensor

from harness import layer_test

torch = pytest.importorskip("torch")


def _distinct(shape, seed=0):
    """Inputs without ties (max pooling's gradient is not differentiable at ties)."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / np.prod(shape)).astype("float64")


@pytest.mark.parametrize("cls, kw, shape, out", [
    (L.MaxPooling2D, {}, (2, 6, 5, 3), (2, 3, 2, 3)),
    (L.MaxPooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 2), (2, 4, 3, 2)),
    (L.AveragePooling2D, {}, (2, 6, 5, 3), (2, 3, 2, 3)),
    (L.AveragePooling2D, {"pool_size": (3, 2), "strides": 1, "padding": "same"}, (2, 4, 5, 2), (2, 4, 5, 2)),
    (L.MaxPooling1D, {}, (2, 7, 3), (2, 3, 3)),
    (L.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 3)),
    (L.AveragePooling1D, {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 5, 2), (2, 5, 2)),
    (L.GlobalMaxPooling2D, {}, (2, 4, 3, 5), (2, 5)),
    (L.GlobalAveragePooling2D, {"keepdims": True}, (2, 4, 3, 5), (2, 1, 1, 5)),
    (L.GlobalMaxPooling1D, {"keepdims": True}, (2, 4, 3), (2, 1, 3)),
    (L.GlobalAveragePooling1D, {}, (2, 4, 3), (2, 3)),
])
def test_pooling_layers(cls, kw, shape, out):
    layer_test(cls, kw, input_data=_distinct(shape).astype("float32"), expected_output_shape=out, parts=("core",),
               run_gradcheck=False)
    layer_test(cls, kw, input_data=_distinct(shape).astype("float32"), parts=("core",), run_gradcheck=False)
    # gradcheck on tie-free data (the harness draws normals, ties have probability 0)
    layer_test(cls, kw, input_shape=shape, parts=("core",))


def test_pooling_save_and_fit(tmp_path):
    for cls, shape in ((L.MaxPooling2D, (4, 4, 4, 2)), (L.GlobalAveragePooling1D, (4, 5, 2))):
        layer_test(cls, {}, input_shape=shape, parts=("save", "fit"), tmp_path=tmp_path, fit_epochs=1)


def _nhwc(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


@pytest.mark.parametrize("kind, pool, stride", [("max", 2, None), ("max", 3, 2), ("max", 2, 1),
                                                ("avg", 2, None), ("avg", 3, 2), ("avg", (2, 3), 1)])
def test_pool2d_matches_torch(kind, pool, stride):
    x = _distinct((2, 7, 8, 3), 1)
    g = np.random.default_rng(2).standard_normal
    cls = L.MaxPooling2D if kind == "max" else L.AveragePooling2D
    with nerve.backend.precision("float64"):
        layer = cls(pool, strides=stride, dtype="float64")
        xt = tensor(x, requires_grad=True)
        y = layer(xt)
        gy = g(y.shape)
        y.backward(tensor(gy))
    tfn = torch.nn.MaxPool2d if kind == "max" else torch.nn.AvgPool2d
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = tfn(pool, stride=stride)(tx)
    ty.backward(torch.tensor(gy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y.numpy(), _nhwc(ty), atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool1d_matches_torch(kind):
    x = _distinct((2, 9, 3), 3)
    cls = L.MaxPooling1D if kind == "max" else L.AveragePooling1D
    with nerve.backend.precision("float64"):
        xt = tensor(x, requires_grad=True)
        y = cls(3, strides=2, dtype="float64")(xt)
        gy = np.random.default_rng(4).standard_normal(y.shape)
        y.backward(tensor(gy))
    tfn = torch.nn.MaxPool1d if kind == "max" else torch.nn.AvgPool1d
    tx = torch.tensor(x.transpose(0, 2, 1), requires_grad=True)
    ty = tfn(3, stride=2)(tx)
    ty.backward(torch.tensor(gy.transpose(0, 2, 1)))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy().transpose(0, 2, 1), atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy().transpose(0, 2, 1), atol=1e-12)


def test_average_same_padding_counts_real_elements_only():
    x = np.ones((1, 3, 3, 1), "float32")
    y = L.AveragePooling2D(2, strides=1, padding="same")(x).numpy()
    np.testing.assert_allclose(y, 1.0)  # Keras divides by the number of unpadded elements
    y = L.MaxPooling2D(2, strides=1, padding="same")(-x).numpy()
    np.testing.assert_allclose(y, -1.0)  # padding never wins a max


def test_global_average_1d_respects_mask():
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[True, True, False], [True, False, False]])
    y = L.GlobalAveragePooling1D()(x, mask=mask).numpy()
    np.testing.assert_allclose(y, [x[0, :2].mean(0), x[1, :1].mean(0)])


def test_pooling_config_and_errors():
    p = L.MaxPooling2D()
    assert p.name.startswith("max_pooling2d")
    assert p.get_config()["pool_size"] == [2, 2] and p.get_config()["strides"] == [2, 2]
    assert L.MaxPooling2D(3, strides=2, padding="same")(L.Input((None, 9, 4))).shape == (None, None, 5, 4)
    assert L.GlobalAveragePooling2D(keepdims=True)(L.Input((5, 5, 4))).shape == (None, 1, 1, 4)
    with pytest.raises(ValueError, match=r"MaxPooling2D 'mp': expected input of rank 4"):
        L.MaxPooling2D(name="mp")(np.zeros((2, 4, 4), "float32"))
    with pytest.raises(ValueError, match="channels_first"):
        L.AveragePooling2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"pool_size.*\(0, 2\)"):
        L.MaxPooling2D((0, 2))
    with pytest.raises(ValueError, match=r"smaller than pool_size"):
        L.MaxPooling2D(4)(L.Input((3, 8, 1)))


# ----------------------------------------------------------------------------------------- spatial helpers
@pytest.mark.parametrize("cls, kw, shape, out", [
    (L.UpSampling2D, {}, (2, 3, 2, 2), (2, 6, 4, 2)),
    (L.UpSampling2D, {"size": (2, 3), "interpolation": "bilinear"}, (1, 3, 2, 2), (1, 6, 6, 2)),
    (L.UpSampling1D, {"size": 3}, (2, 3, 2), (2, 9, 2)),
    (L.ZeroPadding2D, {"padding": ((1, 0), (2, 1))}, (2, 3, 2, 2), (2, 4, 5, 2)),
    (L.ZeroPadding1D, {"padding": (2, 1)}, (2, 3, 2), (2, 6, 2)),
    (L.Cropping2D, {"cropping": ((1, 0), (0, 2))}, (2, 4, 5, 2), (2, 3, 3, 2)),
    (L.Cropping1D, {"cropping": (1, 2)}, (2, 5, 2), (2, 2, 2)),
])
def test_spatial_layers(cls, kw, shape, out):
    layer_test(cls, kw, input_shape=shape, expected_output_shape=out, parts=("core",))


def test_spatial_values():
    x = np.arange(8, dtype="float32").reshape(1, 2, 2, 2)
    np.testing.assert_array_equal(L.UpSampling2D()(x).numpy(), x.repeat(2, 1).repeat(2, 2))
    np.testing.assert_array_equal(L.ZeroPadding2D(1)(x).numpy(), np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))))
    np.testing.assert_array_equal(L.Cropping2D(((1, 0), (0, 1)))(x).numpy(), x[:, 1:, :1])
    # bilinear upsampling = torch's interpolate (align_corners=False), which Keras matches
    xb = np.random.default_rng(0).standard_normal((2, 4, 5, 3)).astype("float32")
    ref = torch.nn.functional.interpolate(torch.tensor(xb.transpose(0, 3, 1, 2)), scale_factor=(2, 3),
                                          mode="bilinear", align_corners=False)
    np.testing.assert_allclose(L.UpSampling2D((2, 3), interpolation="bilinear")(xb).numpy(),
                               ref.numpy().transpose(0, 2, 3, 1), atol=1e-5)
    with pytest.raises(ValueError, match="removes everything"):
        L.Cropping2D(((2, 1), (0, 0)))(x)
    with pytest.raises(ValueError, match=r"ZeroPadding2D .*padding"):
        L.ZeroPadding2D(((1, 2, 3), (1, 1)))


@pytest.mark.parametrize("cls, shape", [(L.SpatialDropout2D, (8, 3, 4, 16)), (L.SpatialDropout1D, (8, 5, 16))])
def test_spatial_dropout_drops_whole_channels(cls, shape):
    x = np.ones(shape, "float32")
    layer = cls(0.5, seed=1)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    per_channel = y.reshape(shape[0], -1, shape[-1])
    assert np.all(per_channel.min(1) == per_channel.max(1))  # one draw per (sample, channel)
    assert set(np.unique(y)) == {0.0, 2.0}
    layer_test(cls, {"rate": 0.3}, input_shape=(2,) + shape[1:], parts=("core",),
               gradcheck_training=True)
    assert "noise_shape" not in layer.get_config()
