"""3-D layers (nerve/layers/layers_3d.py): Keras-style layer checks with float64 gradchecks (output shapes as
Keras 3.15 gives them), PyTorch parity with copied weights in float64 and float32, Keras parameter counts,
a Conv3D model that learns, save/load, errors, and training on the device (CuPy's rules) as on the CPU."""
import os
import re
import sys

import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.ops import jit
from nerve.autograd.tensor import tensor

from harness import layer_test

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


def _distinct(shape, seed=0):
    """Tie-free inputs (max pooling is not differentiable at ties)."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / np.prod(shape)).astype("float64")


def _cf(a):
    """(N, D, H, W, C) -> torch (N, C, D, H, W)."""
    return torch.tensor(np.moveaxis(a, -1, 1).copy())


def _cl(t):
    return np.moveaxis(t.detach().numpy(), 1, -1)


# ----------------------------------------------------------------------------------------- Keras-style checks
@pytest.mark.parametrize("kw, shape, out", [  # shapes as keras 3.15 computes them
    ({"filters": 4, "kernel_size": 3}, (2, 4, 5, 4, 2), (2, 2, 3, 2, 4)),
    ({"filters": 3, "kernel_size": (2, 3, 1), "strides": 2, "padding": "same", "use_bias": False},
     (2, 5, 4, 3, 2), (2, 3, 2, 2, 3)),
    ({"filters": 2, "kernel_size": 3, "dilation_rate": (2, 1, 1), "padding": "same", "activation": "relu"},
     (1, 5, 4, 4, 1), (1, 5, 4, 4, 2)),
    ({"filters": 2, "kernel_size": 2, "activation": "tanh"}, (2, 3, 3, 4, 2), (2, 2, 2, 3, 2)),
])
def test_conv3d_layer(kw, shape, out):
    layer_test(L.Conv3D, kw, input_shape=shape, expected_output_shape=out,
               expected_num_trainable_weights=1 + kw.get("use_bias", True), parts=("core",))


@pytest.mark.parametrize("kw, shape, out", [
    ({"filters": 2, "kernel_size": 3}, (2, 2, 3, 2, 2), (2, 4, 5, 4, 2)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
     (2, 2, 3, 2, 2), (2, 4, 6, 4, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1}, (1, 2, 2, 2, 2), (1, 6, 6, 6, 3)),
    ({"filters": 2, "kernel_size": (2, 3, 2), "strides": (2, 1, 3), "padding": "same",
      "output_padding": (1, 0, 2), "use_bias": False}, (1, 2, 2, 2, 1), (1, 3, 2, 5, 2)),
])
def test_conv3d_transpose_layer(kw, shape, out):
    layer_test(L.Conv3DTranspose, kw, input_shape=shape, expected_output_shape=out,
               expected_num_trainable_weights=1 + kw.get("use_bias", True), parts=("core",))


@pytest.mark.parametrize("cls, kw, shape, out", [
    (L.MaxPooling3D, {}, (2, 4, 5, 4, 2), (2, 2, 2, 2, 2)),
    (L.MaxPooling3D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 4, 3, 2), (2, 3, 2, 2, 2)),
    (L.AveragePooling3D, {"pool_size": 2}, (2, 4, 5, 4, 2), (2, 2, 2, 2, 2)),
    (L.AveragePooling3D, {"pool_size": (2, 3, 2), "strides": 1, "padding": "same"}, (2, 3, 4, 3, 2),
     (2, 3, 4, 3, 2)),
    (L.GlobalMaxPooling3D, {}, (2, 3, 4, 3, 5), (2, 5)),
    (L.GlobalMaxPooling3D, {"keepdims": True}, (2, 3, 4, 3, 5), (2, 1, 1, 1, 5)),
    (L.GlobalAveragePooling3D, {}, (2, 3, 4, 3, 5), (2, 5)),
    (L.GlobalAveragePooling3D, {"keepdims": True}, (2, 3, 4, 3, 5), (2, 1, 1, 1, 5)),
])
def test_pooling_3d_layers(cls, kw, shape, out):
    layer_test(cls, kw, input_data=_distinct(shape).astype("float32"), expected_output_shape=out, parts=("core",),
               run_gradcheck=False)
    layer_test(cls, kw, input_shape=shape, parts=("core",))  # gradcheck on normals: ties have probability 0


@pytest.mark.parametrize("cls, kw, shape, out", [
    (L.UpSampling3D, {}, (2, 2, 3, 2, 2), (2, 4, 6, 4, 2)),
    (L.UpSampling3D, {"size": (2, 1, 3)}, (2, 2, 3, 2, 2), (2, 4, 3, 6, 2)),
    (L.ZeroPadding3D, {}, (2, 2, 3, 2, 2), (2, 4, 5, 4, 2)),
    (L.ZeroPadding3D, {"padding": (1, 2, 0)}, (2, 2, 3, 2, 2), (2, 4, 7, 2, 2)),
    (L.ZeroPadding3D, {"padding": ((1, 0), (0, 2), (3, 1))}, (2, 2, 3, 2, 2), (2, 3, 5, 6, 2)),
    (L.Cropping3D, {}, (2, 4, 5, 6, 2), (2, 2, 3, 4, 2)),
    (L.Cropping3D, {"cropping": ((1, 0), (0, 2), (3, 1))}, (2, 4, 5, 6, 2), (2, 3, 3, 2, 2)),
    (L.Cropping3D, {"cropping": 1}, (2, 3, 4, 3, 2), (2, 1, 2, 1, 2)),
])
def test_spatial_3d_layers(cls, kw, shape, out):
    layer_test(cls, kw, input_shape=shape, expected_output_shape=out, parts=("core",))


def test_spatial_dropout3d_drops_whole_channels():
    shape = (8, 3, 4, 2, 16)
    x = np.ones(shape, "float32")
    layer = L.SpatialDropout3D(0.5, seed=1)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    per_channel = y.reshape(shape[0], -1, shape[-1])
    assert np.all(per_channel.min(1) == per_channel.max(1))  # one draw per (sample, channel)
    assert set(np.unique(y)) == {0.0, 2.0}
    layer_test(L.SpatialDropout3D, {"rate": 0.3}, input_shape=(2, 2, 3, 2, 4), parts=("core",),
               gradcheck_training=True)
    assert layer.get_config()["data_format"] == "channels_last" and "noise_shape" not in layer.get_config()


def test_save_and_fit(tmp_path):
    for cls, kw, shape in ((L.Conv3D, {"filters": 2, "kernel_size": 2, "activation": "relu"}, (4, 3, 4, 3, 2)),
                           (L.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2}, (4, 2, 2, 2, 2)),
                           (L.AveragePooling3D, {"pool_size": 2, "padding": "same"}, (4, 3, 4, 3, 2)),
                           (L.ZeroPadding3D, {"padding": (1, 0, 2)}, (4, 2, 2, 2, 1))):
        n_weights = 2 if cls in (L.Conv3D, L.Conv3DTranspose) else 0
        layer_test(cls, kw, input_shape=shape, parts=("save", "fit"), tmp_path=tmp_path, fit_epochs=1,
                   expected_num_trainable_weights=n_weights)


# ----------------------------------------------------------------------------------------- Keras parameter counts
def test_parameter_counts_and_weights_as_keras():
    """Golden numbers from keras 3.15 (count_params, weight shapes in order, output shapes)."""
    def built(layer, shape):
        layer(L.Input(shape))
        return layer
    c = built(L.Conv3D(4, 3), (6, 7, 8, 2))
    assert c.count_params() == 220 and [(w.name, tuple(w.shape)) for w in c.weights] == \
        [("kernel", (3, 3, 3, 2, 4)), ("bias", (4,))]
    assert built(L.Conv3D(5, (2, 3, 1), strides=2, padding="same", use_bias=False), (7, 6, 5, 3)).count_params() == 90
    t = built(L.Conv3DTranspose(3, 3, strides=2, output_padding=1), (3, 3, 3, 2))
    assert t.count_params() == 165 and [tuple(w.shape) for w in t.weights] == [(3, 3, 3, 3, 2), (3,)]
    t = built(L.Conv3DTranspose(3, (2, 3, 4), strides=(2, 1, 3), padding="same", output_padding=(1, 0, 2)),
              (3, 3, 3, 2))
    assert t.count_params() == 147 and t.compute_output_shape((None, 3, 3, 3, 2)) == (None, 5, 3, 8, 3)
    m = nerve.Sequential([L.Input((8, 8, 8, 1)), L.Conv3D(4, 3, activation="relu", padding="same"), L.MaxPooling3D(),
                          L.Conv3D(8, 3, activation="relu"), L.GlobalAveragePooling3D(), L.Dense(3)])
    assert m.count_params() == 1011 and [layer.count_params() for layer in m.layers] == [112, 0, 872, 0, 27]
    m = nerve.Sequential([L.Input((4, 4, 4, 2)), L.Conv3DTranspose(6, 3, strides=2, padding="same"), L.Conv3D(1, 1)])
    assert m.count_params() == 337 and m.output_shape == (None, 8, 8, 8, 1)


def test_names_aliases_and_configs():
    assert re.fullmatch(r"conv3d(_\d+)?", L.Conv3D(2, 2).name)
    assert re.fullmatch(r"conv3d_transpose(_\d+)?", L.Conv3DTranspose(2, 2).name)
    assert re.fullmatch(r"max_pooling3d(_\d+)?", L.MaxPooling3D().name)
    assert re.fullmatch(r"up_sampling3d(_\d+)?", L.UpSampling3D().name)
    assert (L.Convolution3D, L.Convolution3DTranspose) == (L.Conv3D, L.Conv3DTranspose)
    assert (L.MaxPool3D, L.AvgPool3D, L.GlobalMaxPool3D, L.GlobalAvgPool3D) == \
        (L.MaxPooling3D, L.AveragePooling3D, L.GlobalMaxPooling3D, L.GlobalAveragePooling3D)
    import nerve.layers.layers_3d as mod
    assert all(getattr(L, name) is getattr(mod, name) for name in mod.__all__) and len(mod.__all__) == 16
    cfg = L.Conv3D(8, 3).get_config()
    assert cfg["kernel_size"] == [3, 3, 3] and cfg["strides"] == [1, 1, 1] and cfg["dilation_rate"] == [1, 1, 1]
    assert cfg["groups"] == 1 and cfg["data_format"] == "channels_last"
    cfg = L.Conv3DTranspose(2, 3, strides=2, output_padding=(1, 0, 1)).get_config()
    assert cfg["output_padding"] == [1, 0, 1] and "groups" not in cfg
    assert L.MaxPooling3D().get_config()["pool_size"] == [2, 2, 2]
    assert L.ZeroPadding3D(2).get_config()["padding"] == [[2, 2]] * 3
    assert L.Cropping3D().get_config()["cropping"] == [[1, 1]] * 3
    assert L.UpSampling3D((1, 2, 3)).get_config()["size"] == [1, 2, 3]
    assert "interpolation" not in L.UpSampling3D().get_config()
    assert L.Conv3D(4, 3, strides=2, padding="same")(L.Input((None, 9, 16, 1))).shape == (None, None, 5, 8, 4)
    assert L.GlobalMaxPooling3D()(L.Input((None, None, None, 3))).shape == (None, 3)


# ----------------------------------------------------------------------------------------- PyTorch parity
def _run(layer, x, g):
    xt = tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(tensor(g))
    return y.numpy(), xt.grad.numpy(), [w.grad.numpy() for w in layer.trainable_weights]


def _torch_run(mod, x, g):
    xt = _cf(x).requires_grad_(True)
    y = mod(xt)
    y.backward(_cf(g))
    return _cl(y), _cl(xt.grad)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note on its own copy
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("padding, strides, dilation", [("valid", 1, 1), ("same", 1, 1), ("valid", (2, 1, 2), 1),
                                                        ("same", 1, (2, 1, 1)), ("valid", 1, 2)])
def test_conv3d_matches_torch(padding, strides, dilation, dtype, tol):
    rng = np.random.default_rng(0)
    with nerve.backend.precision(dtype):
        layer = L.Conv3D(4, (3, 2, 3), strides=strides, padding=padding, dilation_rate=dilation, dtype=dtype)
        x = rng.standard_normal((2, 7, 6, 7, 3)).astype(dtype)
        layer(x)
        layer.set_weights([rng.standard_normal(w.shape).astype(dtype) for w in layer.weights])
        g = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(dtype)
        y, gx, (gw, gb) = _run(layer, x, g)
    assert y.dtype == np.dtype(dtype)
    kernel, bias = (w.astype("float64") for w in layer.get_weights())
    conv = torch.nn.Conv3d(3, 4, (3, 2, 3), stride=strides, padding="same" if padding == "same" else 0,
                           dilation=dilation).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(kernel.transpose(4, 3, 0, 1, 2)))
        conv.bias.copy_(torch.tensor(bias))
    ty, tgx = _torch_run(conv, x.astype("float64"), g.astype("float64"))
    np.testing.assert_allclose(y, ty, rtol=tol, atol=tol)
    np.testing.assert_allclose(gx, tgx, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, conv.weight.grad.numpy().transpose(2, 3, 4, 1, 0), rtol=tol, atol=tol)
    np.testing.assert_allclose(gb, conv.bias.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("strides, padding, output_padding", [(1, "valid", None), (2, "valid", None),
                                                              (2, "same", None), ((2, 1, 2), "valid", (1, 0, 1))])
def test_conv3d_transpose_matches_torch(strides, padding, output_padding, dtype, tol):
    rng = np.random.default_rng(2)
    k = 3 if padding == "valid" else 4  # torch padding 1 with k = 4, stride 2 gives 2n, as Keras 'same'
    with nerve.backend.precision(dtype):
        layer = L.Conv3DTranspose(3, k, strides=strides, padding=padding, output_padding=output_padding, dtype=dtype)
        x = rng.standard_normal((2, 3, 4, 3, 2)).astype(dtype)
        layer(x)
        layer.set_weights([rng.standard_normal(w.shape).astype(dtype) for w in layer.weights])
        g = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(dtype)
        y, gx, (gw, gb) = _run(layer, x, g)
    kernel, bias = (w.astype("float64") for w in layer.get_weights())  # (kd, kh, kw, out, in)
    conv = torch.nn.ConvTranspose3d(2, 3, k, stride=strides, padding=1 if padding == "same" else 0,
                                    output_padding=output_padding or 0).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(kernel.transpose(4, 3, 0, 1, 2)))
        conv.bias.copy_(torch.tensor(bias))
    ty, tgx = _torch_run(conv, x.astype("float64"), g.astype("float64"))
    assert y.shape == ty.shape
    np.testing.assert_allclose(y, ty, rtol=tol, atol=tol)
    np.testing.assert_allclose(gx, tgx, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, conv.weight.grad.numpy().transpose(2, 3, 4, 1, 0), rtol=tol, atol=tol)
    np.testing.assert_allclose(gb, conv.bias.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("kind, pool, stride, padding", [
    ("max", 2, None, "valid"), ("max", 3, 2, "valid"), ("max", (2, 3, 2), 1, "valid"), ("max", 3, 2, "same"),
    ("avg", 2, None, "valid"), ("avg", (3, 2, 2), (1, 2, 1), "valid"), ("avg", 3, 2, "same"), ("avg", 3, 1, "same")])
def test_pool3d_matches_torch(kind, pool, stride, padding):
    """Odd sizes with k = 3: TF's 'same' padding is 1 on each side, torch's padding=1; Keras averages over the
    real elements only (count_include_pad=False)."""
    x = _distinct((2, 7, 5, 7, 3), 1)
    cls = L.MaxPooling3D if kind == "max" else L.AveragePooling3D
    with nerve.backend.precision("float64"):
        layer = cls(pool, strides=stride, padding=padding, dtype="float64")
        xt = tensor(x, requires_grad=True)
        y = layer(xt)
        gy = np.random.default_rng(2).standard_normal(y.shape)
        y.backward(tensor(gy))
    p = 1 if padding == "same" else 0
    mod = torch.nn.MaxPool3d(pool, stride, padding=p) if kind == "max" else \
        torch.nn.AvgPool3d(pool, stride, padding=p, count_include_pad=False)
    ty, tgx = _torch_run(mod, x, gy)
    np.testing.assert_allclose(y.numpy(), ty, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tgx, atol=1e-12)
    y32 = cls(pool, strides=stride, padding=padding)(x.astype("float32"))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.numpy(), ty, atol=1e-6)


def test_global_pooling_and_spatial_values():
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 2, 5)).astype("float32")
    np.testing.assert_allclose(L.GlobalMaxPooling3D()(x).numpy(), x.max(axis=(1, 2, 3)))
    np.testing.assert_allclose(L.GlobalAveragePooling3D(keepdims=True)(x).numpy(),
                               x.mean(axis=(1, 2, 3), keepdims=True), rtol=1e-6)
    ref = torch.nn.functional.interpolate(_cf(x), scale_factor=(2, 1, 3), mode="nearest")
    np.testing.assert_array_equal(L.UpSampling3D((2, 1, 3))(x).numpy(), _cl(ref))
    pad = ((1, 0), (0, 2), (3, 1))
    ref = torch.nn.functional.pad(_cf(x), (3, 1, 0, 2, 1, 0))
    np.testing.assert_array_equal(L.ZeroPadding3D(pad)(x).numpy(), _cl(ref))
    np.testing.assert_array_equal(L.ZeroPadding3D(pad)(x).numpy(), np.pad(x, ((0, 0),) + pad + ((0, 0),)))
    np.testing.assert_array_equal(L.Cropping3D(((1, 0), (1, 2), (0, 1)))(x).numpy(), x[:, 1:, 1:2, :1])


# ----------------------------------------------------------------------------------------- training and saving
def _blobs(n=64, seed=0):
    """(n, 6, 6, 6, 1) noise volumes with a bright 2x2x2 cube; label 1 when it lies in the back half (depth)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 6, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    for i in range(n):
        d = rng.integers(0, 2) + 3 * y[i]
        h, w = rng.integers(0, 5, 2)
        x[i, d:d + 2, h:h + 2, w:w + 2] += 1.0
    return x, y


def _tiny_model():
    return nerve.Sequential([L.Input((6, 6, 6, 1)), L.Conv3D(4, 3, activation="relu"), L.MaxPooling3D(),
                             L.Flatten(), L.Dense(2)])


def test_tiny_conv3d_model_learns():
    nerve.set_random_seed(0)
    x, y = _blobs()
    m = _tiny_model()
    m.compile(optimizer=nerve.optimizers.Adam(0.02),
              loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    hist = m.fit(x, y, batch_size=16, epochs=25, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.3 * loss[0], loss
    xt, yt = _blobs(32, seed=1)
    assert m.evaluate(xt, yt, verbose=0)[1] >= 0.9


def test_model_with_every_3d_layer_saves_and_loads(tmp_path):
    nerve.set_random_seed(1)
    inp = L.Input((4, 4, 4, 2))
    h = L.Conv3D(3, 3, padding="same", activation="relu")(inp)
    h = L.Conv3DTranspose(3, 2, strides=2)(h)                     # (8, 8, 8, 3)
    h = L.MaxPooling3D()(h)                                       # (4, 4, 4, 3)
    h = L.AveragePooling3D(2, strides=1, padding="same")(h)
    h = L.ZeroPadding3D(1)(h)                                     # (6, 6, 6, 3)
    h = L.Cropping3D(((2, 0), (1, 1), (0, 2)))(h)                 # (4, 4, 4, 3)
    h = L.UpSampling3D((1, 2, 1))(h)                              # (4, 8, 4, 3)
    h = L.SpatialDropout3D(0.2)(h)
    out = L.Concatenate()([L.GlobalMaxPooling3D()(h), L.GlobalAveragePooling3D()(h)])
    m = nerve.Model(inp, L.Dense(2)(out))
    x = np.random.default_rng(0).standard_normal((3, 4, 4, 4, 2)).astype("float32")
    before = m.predict(x, verbose=0)
    path = str(tmp_path / "m3d.keras")
    m.save(path)
    loaded = nerve.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in m.layers]
    assert loaded.layers[2].get_config() == m.layers[2].get_config()


# ----------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, match", [
    (lambda: L.Conv3D(2, 3, data_format="channels_first", name="cv"), r"Conv3D 'cv': data_format='channels_first'"),
    (lambda: L.Conv3D(2, (3, 3), name="cv"), r"Conv3D 'cv': argument 'kernel_size' expected .*tuple of 3 .*"
                                              r"got \(3, 3\)"),
    (lambda: L.Conv3D(2, 3, groups=2), r"argument 'groups' expected 1.*got 2"),
    (lambda: L.Conv3D(2, 3, strides=2, dilation_rate=2), r"strides > 1 is not supported together with dilation"),
    (lambda: L.Conv3D(2, 3, name="cv")(np.zeros((1, 4, 4, 2), "float32")),
     r"Conv3D 'cv': expected input of rank 5 \(batch, depth, rows, cols, channels\), got shape \(1, 4, 4, 2\)"),
    (lambda: L.Conv3D(2, 3, name="cv")(L.Input((2, 8, 8, 1))),
     r"Conv3D 'cv': input spatial size \(2, 8, 8\) is too small for kernel \(3, 3, 3\)"),
    (lambda: L.Conv3DTranspose(2, 3, strides=(2, 2, 1), output_padding=(1, 1, 1), name="ct"),
     r"Conv3DTranspose 'ct': argument 'output_padding' \(1, 1, 1\) must be smaller than the strides \(2, 2, 1\)"),
    (lambda: L.Conv3DTranspose(2, 3, output_padding=(1, 1)), r"argument 'output_padding' expected .*tuple of 3"),
    (lambda: L.MaxPooling3D(name="mp")(np.zeros((2, 4, 4, 4), "float32")), r"MaxPooling3D 'mp': expected input of "
                                                                            r"rank 5"),
    (lambda: L.AveragePooling3D((0, 2, 2), name="ap"), r"AveragePooling3D 'ap': argument 'pool_size' .*\(0, 2, 2\)"),
    (lambda: L.MaxPooling3D(4)(L.Input((3, 8, 8, 1))), r"input spatial size \(3, 8, 8\) is smaller than pool_size"),
    (lambda: L.MaxPooling3D(padding="full"), r"argument 'padding' expected one of \('valid', 'same'\), got 'full'"),
    (lambda: L.GlobalAveragePooling3D(data_format="channels_first"), r"GlobalAveragePooling3D .*channels_first"),
    (lambda: L.UpSampling3D((2, 2), name="up"), r"UpSampling3D 'up': argument 'size' expected .*tuple of 3"),
    (lambda: L.ZeroPadding3D(((1, 2), (1, 1)), name="zp"),
     r"ZeroPadding3D 'zp': argument 'padding' expected an int, a tuple of 3 ints or 3 pairs .*got \(\(1, 2\), "
     r"\(1, 1\)\)"),
    (lambda: L.Cropping3D(-1, name="cr"), r"Cropping3D 'cr': argument 'cropping' expected .*non-negative"),
    (lambda: L.Cropping3D(2, name="cr")(np.zeros((1, 4, 5, 6, 1), "float32")),
     r"Cropping3D 'cr': cropping .* removes everything from an input of spatial size \(4, 5, 6\)"),
    (lambda: L.SpatialDropout3D(0.2, data_format="channels_first"), r"SpatialDropout3D .*channels_first"),
])
def test_errors_name_layer_argument_and_values(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------------------- the device
def test_3d_model_trains_on_the_device_as_on_the_cpu():
    """Every 3-D layer under nerve.device("gpu") (the strict CuPy stand-in without a GPU: bit-identical to the
    CPU; a real GPU: to float32 tolerance), pattern of tests/autograd/test_device_training.py."""
    r = np.random.default_rng(0)
    x = r.standard_normal((32, 6, 6, 6, 2)).astype("float32")
    y = r.integers(0, 3, len(x))

    def make():
        inp = L.Input(x.shape[1:])
        h = L.Conv3D(3, 3, padding="same", strides=2, activation="relu")(inp)   # (3, 3, 3, 3)
        h = L.Conv3DTranspose(3, 2, strides=2)(h)                               # (6, 6, 6, 3)
        h = L.MaxPooling3D()(h)                                                 # (3, 3, 3, 3)
        h = L.AveragePooling3D(2, strides=1, padding="same")(h)
        h = L.UpSampling3D()(h)                                                 # (6, 6, 6, 3)
        h = L.ZeroPadding3D(1)(h)                                               # (8, 8, 8, 3)
        h = L.Cropping3D(2)(h)                                                  # (4, 4, 4, 3)
        h = L.SpatialDropout3D(0.3)(h)
        h = L.Conv3D(4, 3, activation="tanh")(h)                                # (2, 2, 2, 4)
        out = L.Concatenate()([L.GlobalMaxPooling3D()(h), L.GlobalAveragePooling3D()(h)])
        return nerve.Model(inp, L.Dense(3)(out))

    old = jit.set_enabled(False)
    res = []
    try:
        with fakecupy.gpu_module() as cp:
            for where in ("cpu", "gpu"):
                nerve.set_random_seed(1)
                with nerve.device(where):
                    m = make()
                    m.compile(optimizer="rmsprop", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
                assert isinstance(m.layers[1].kernel.data, cp.ndarray) == (where == "gpu")
                h = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
                res.append([h.history["loss"], m.evaluate(x, y, verbose=0), m.predict(x[:4], verbose=0)])
    finally:
        jit.set_enabled(old)
    for a, b in zip(*res):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if fakecupy.real_cupy() is None:
            np.testing.assert_array_equal(b, a)
        else:
            np.testing.assert_allclose(b, a, rtol=2e-4, atol=1e-5)
