"""DepthwiseConv1D/2D, SeparableConv1D/2D, Conv1DTranspose, EinsumDense, the Wrapper base and
layers.serialize / deserialize: Keras-style layer checks (float64 gradcheck w.r.t. input and weights, config
and registry round trips), values and gradients against torch, Keras 3.15 parameter counts and weight shapes
(golden numbers checked with Keras 3.15), errors, training, save / load, and training on the device stand-in.
The normalisation layers of the same batch are in test_layers_extra_norm.py."""
import os
import re
import sys

import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.tensor import tensor

from harness import layer_test

torch = pytest.importorskip("torch")
F = torch.nn.functional


# ----------------------------------------------------------------------------------------- layer checks
@pytest.mark.parametrize("cls, kw, shape, out", [
    (L.DepthwiseConv2D, {"kernel_size": 3}, (2, 6, 5, 2), (2, 4, 3, 2)),
    (L.DepthwiseConv2D, {"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 2,
                         "activation": "relu"}, (2, 5, 6, 3), (2, 3, 3, 6)),
    (L.DepthwiseConv2D, {"kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (1, 6, 6, 2), (1, 4, 4, 2)),
    (L.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 3}, (2, 7, 2), (2, 5, 6)),
    (L.DepthwiseConv1D, {"kernel_size": 2, "strides": 2, "padding": "same", "activation": "tanh"}, (2, 7, 3),
     (2, 4, 3)),
    (L.SeparableConv2D, {"filters": 3, "kernel_size": 3}, (2, 6, 5, 2), (2, 4, 3, 3)),
    (L.SeparableConv2D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same", "depth_multiplier": 2,
                         "activation": "relu"}, (2, 5, 5, 3), (2, 3, 3, 2)),
    (L.SeparableConv1D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (2, 8, 2),
     (2, 4, 4)),
    (L.SeparableConv1D, {"filters": 2, "kernel_size": 3, "padding": "same", "activation": "sigmoid"}, (2, 5, 3),
     (2, 5, 2)),
    (L.Conv1DTranspose, {"filters": 3, "kernel_size": 3}, (2, 5, 2), (2, 7, 3)),
    (L.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
     (2, 4, 3), (2, 8, 2)),
    (L.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1, "use_bias": False},
     (1, 4, 2), (1, 10, 2)),
    (L.EinsumDense, {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (3, 5), (3, 4)),
    (L.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de",
                     "activation": "tanh"}, (2, 4, 3), (2, 4, 2, 3)),
    (L.EinsumDense, {"equation": "...b,bc->...c", "output_shape": 3}, (2, 3, 4, 2), (2, 3, 4, 3)),
    (L.EinsumDense, {"equation": "ab...,bc->ac...", "output_shape": 3, "bias_axes": "c"}, (2, 4, 5), (2, 3, 5)),
    (L.EinsumDense, {"equation": "abc,cd->abd", "output_shape": (4, 2), "bias_axes": "b"}, (2, 4, 3), (2, 4, 2)),
])
def test_layer_checks(cls, kw, shape, out):
    n_weights = {"SeparableConv1D": 3, "SeparableConv2D": 3}.get(cls.__name__, 2)
    if kw.get("use_bias") is False or (cls is L.EinsumDense and "bias_axes" not in kw):
        n_weights -= 1
    layer = layer_test(cls, kw, input_shape=shape, expected_output_shape=out,
                       expected_num_trainable_weights=n_weights, supports_masking=False, parts=("core",))
    assert not layer.losses


# ----------------------------------------------------------------------------------------- Keras 3.15 goldens
@pytest.mark.parametrize("make, shape, params, weights, out", [
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=2), (8, 8, 3), 60,
     [("kernel", (3, 3, 3, 2)), ("bias", (6,))], (6, 6, 6)),
    (lambda: L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", strides=2), (9, 3), 24,
     [("kernel", (3, 3, 2)), ("bias", (6,))], (5, 6)),
    (lambda: L.SeparableConv2D(5, 3, depth_multiplier=2), (8, 8, 3), 89,
     [("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 5)), ("bias", (5,))], (6, 6, 5)),
    (lambda: L.SeparableConv1D(5, 3, use_bias=False), (9, 3), 24,
     [("depthwise_kernel", (3, 3, 1)), ("pointwise_kernel", (1, 3, 5))], (7, 5)),
    (lambda: L.Conv1DTranspose(4, 3, strides=2), (9, 3), 40, [("kernel", (3, 4, 3)), ("bias", (4,))], (19, 4)),
    (lambda: L.Conv1DTranspose(4, 3, strides=2, padding="same", output_padding=1), (9, 3), 40,
     [("kernel", (3, 4, 3)), ("bias", (4,))], (18, 4)),
    (lambda: L.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c"), (3,), 16,
     [("kernel", (3, 4)), ("bias", (4,))], (4,)),
    (lambda: L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de"), (5, 3), 32,
     [("kernel", (3, 2, 4)), ("bias", (2, 4))], (5, 2, 4)),
    (lambda: L.EinsumDense("...b,bc->...c", output_shape=4, bias_axes="c"), (5, 6, 3), 16,
     [("kernel", (3, 4)), ("bias", (4,))], (5, 6, 4)),  # Keras 3.15 reports (6, 5, 4) symbolically; eager is this
    (lambda: L.EinsumDense("abc,cd->abd", output_shape=(5, 4), bias_axes="b"), (5, 3), 17,
     [("kernel", (3, 4)), ("bias", (5, 1))], (5, 4)),
    (lambda: L.EinsumDense("abcd,cde->abe", output_shape=(6, 4)), (6, 3, 2), 24, [("kernel", (3, 2, 4))], (6, 4)),
])
def test_keras_parameter_counts_and_weights(make, shape, params, weights, out):
    layer = make()
    y = layer(nerve.layers.Input(shape))
    assert layer.count_params() == params
    assert [(w.name, w.shape) for w in layer.weights] == weights
    assert tuple(y.shape) == (None,) + out
    assert layer.compute_output_shape((None,) + shape) == (None,) + out


def _image_stack():
    return [L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), L.GroupNormalization(groups=3),
            L.SeparableConv2D(8, 3, activation="relu"), L.UnitNormalization(), L.GlobalAveragePooling2D(),
            L.SpectralNormalization(L.Dense(6)), L.AlphaDropout(0.1), L.RMSNormalization(),
            L.EinsumDense("ab,bc->ac", 3, bias_axes="c")]


def _sequence_stack():
    return [L.DepthwiseConv1D(3, padding="same", depth_multiplier=2), L.SeparableConv1D(6, 3, strides=2),
            L.Conv1DTranspose(4, 3, strides=2), L.EinsumDense("abc,cde->abde", (9, 2, 3), bias_axes="de"),
            L.Reshape((-1,)), L.Dense(3)]


def test_keras_model_parameter_counts():
    """The same two models in Keras 3.15: 269 and 381 parameters, these weight shapes in get_weights order."""
    m = nerve.Sequential([L.Input((8, 8, 3))] + _image_stack())
    assert m.count_params() == 269
    assert [layer.count_params() for layer in m.layers] == [60, 12, 110, 0, 0, 60, 0, 6, 21]
    assert [w.shape for w in m.get_weights()] == [(3, 3, 3, 2), (6,), (6,), (6,), (3, 3, 6, 1), (1, 1, 6, 8), (8,),
                                                  (8, 6), (1, 6), (6,), (6,), (6, 3), (3,)]
    m = nerve.Sequential([L.Input((10, 4))] + _sequence_stack())
    assert m.count_params() == 381 and m.output_shape == (None, 3)
    assert [w.shape for w in m.get_weights()] == [(3, 4, 2), (8,), (3, 8, 1), (1, 8, 6), (6,), (3, 4, 6), (4,),
                                                  (4, 2, 3), (2, 3), (54, 3), (3,)]


# ----------------------------------------------------------------------------------------- torch parity
def _run(layer, x, g):
    """nerve output, input gradient and weight gradients (in layer.weights order) for the cotangent g."""
    xt = tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(tensor(g))
    return y.numpy(), xt.grad.numpy(), [w.grad.numpy() for w in layer.weights]


def _same_pad(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _torch_depthwise(xt, w, strides, padding, dilation):
    """Keras depthwise (kernel (k..., C, M), output channel c*M + m) as a torch grouped conv on NC(H)W."""
    rank = xt.ndim - 2
    c, m = w.shape[-2:]
    wt = w.permute(*range(rank, rank + 2), *range(rank)).reshape(c * m, 1, *w.shape[:rank])
    if padding == "same":
        pads = []
        for n, k, s, d in reversed(list(zip(xt.shape[2:], w.shape[:rank], strides, dilation))):
            pads += list(_same_pad(n, k, s, d))
        xt = F.pad(xt, pads)
    conv = F.conv1d if rank == 1 else F.conv2d
    return conv(xt, wt, stride=strides, dilation=dilation, groups=c)


@pytest.mark.parametrize("rank, kw", [
    (2, {"kernel_size": 3}), (2, {"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 2}),
    (2, {"kernel_size": 3, "dilation_rate": 2, "padding": "same", "depth_multiplier": 3}),
    (2, {"kernel_size": 3, "strides": 2, "dilation_rate": 2}),
    (1, {"kernel_size": 3, "depth_multiplier": 2}), (1, {"kernel_size": 4, "strides": 3, "padding": "same"}),
    (1, {"kernel_size": 2, "dilation_rate": 3, "depth_multiplier": 2}),
])
@pytest.mark.parametrize("separable", [False, True])
def test_depthwise_and_separable_match_torch(rank, kw, separable):
    r = np.random.default_rng(0)
    shape = (2, 9, 8, 3) if rank == 2 else (2, 11, 3)
    x = r.standard_normal(shape).astype("float32")
    cls = {(2, False): L.DepthwiseConv2D, (1, False): L.DepthwiseConv1D, (2, True): L.SeparableConv2D,
           (1, True): L.SeparableConv1D}[rank, separable]
    layer = cls(filters=4, **kw, dtype="float64") if separable else cls(**kw, dtype="float64")
    layer(x.astype("float64"))
    layer.set_weights([r.standard_normal(w.shape) for w in layer.get_weights()])
    y = layer(x.astype("float64"))
    g = r.standard_normal(y.shape)
    y, gx, gws = _run(layer, x.astype("float64"), g)
    ws = [torch.tensor(w, requires_grad=True) for w in layer.get_weights()]
    xt = torch.tensor(x.astype("float64")).movedim(-1, 1).requires_grad_(True)
    strides = layer.strides
    yt = _torch_depthwise(xt, ws[0], strides, layer.padding, layer.dilation_rate)
    if separable:  # 1x1 conv: (N, C*M, ...) -> (N, F, ...)
        pw = ws[1].reshape(ws[1].shape[-2:])
        yt = torch.einsum("nc...,cf->nf...", yt, pw)
    yt = yt + ws[-1].reshape(-1, *([1] * rank))
    yt = yt.movedim(1, -1)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx, xt.grad.movedim(1, -1).numpy(), rtol=1e-10, atol=1e-10)
    for a, b in zip(gws, ws):
        np.testing.assert_allclose(a, b.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k, s, padding, op, d", [
    (3, 1, "valid", None, 1), (3, 2, "valid", None, 1), (4, 3, "valid", 2, 1), (3, 2, "same", 1, 1),
    (5, 2, "same", None, 1), (4, 3, "same", None, 1), (4, 2, "same", 1, 1), (3, 1, "valid", None, 2),
    (1, 2, "valid", 1, 1)])
def test_conv1d_transpose_matches_torch(k, s, padding, op, d):
    """torch's full transposed convolution (no padding), cropped as Keras 3 does: Keras pads the stride-dilated
    input by (left, right) = (ke - 1, ke - 1 + op) for 'valid' and, for 'same', pad_len = s + ke - 2 (no op) or
    ke + ke % 2 - 2 + op, left = min(ceil(pad_len / 2), ke - 1); so the output starts ke - 1 - left into the
    full one, and runs for Keras' deconv_output_length (zeros past the full output's end)."""
    r = np.random.default_rng(1)
    x = r.standard_normal((2, 6, 3)).astype("float32")
    layer = L.Conv1DTranspose(4, k, strides=s, padding=padding, output_padding=op, dilation_rate=d)
    layer(x)
    layer.set_weights([r.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    y = layer(x)
    g = r.standard_normal(y.shape).astype("float32")
    y, gx, (gk, gb) = _run(layer, x, g)
    ke = (k - 1) * d + 1
    if padding == "valid":
        left, n_out = ke - 1, 5 * s + ke + (op if op is not None else max(s - ke, 0))
    else:
        pad_len = s + ke - 2 if op is None else ke + ke % 2 - 2 + op
        left, n_out = min(pad_len // 2 + pad_len % 2, ke - 1), 6 * s if op is None else 5 * s + ke - 2 * (ke // 2) + op
    crop = ke - 1 - left
    kt = torch.tensor(layer.get_weights()[0]).permute(2, 1, 0).requires_grad_(True)  # (k, F, C) -> (C, F, k)
    bt = torch.tensor(layer.get_weights()[1]).requires_grad_(True)
    xt = torch.tensor(x).movedim(-1, 1).requires_grad_(True)
    full = F.conv_transpose1d(xt, kt, stride=s, dilation=d)
    full = F.pad(full, (0, max(0, crop + n_out - full.shape[-1])))
    yt = (full[..., crop:crop + n_out] + bt[:, None]).movedim(1, -1)
    assert tuple(yt.shape) == y.shape == layer.compute_output_shape(x.shape)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx, xt.grad.movedim(1, -1).numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gk, kt.grad.permute(2, 1, 0).numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("equation, out, bias_axes, shape", [
    ("ab,bc->ac", 4, "c", (3, 5)), ("abc,cde->abde", (None, 2, 3), "de", (2, 4, 3)),
    ("abc,cd->abd", (4, 2), "b", (2, 4, 3)), ("...b,bc->...c", 3, None, (2, 3, 4, 2)),
    ("ab...,bc->ac...", 3, "c", (2, 4, 5)), ("abcd,cde->abe", (4, 3), "e", (2, 4, 3, 2)),
    ("...ab,bc->...ac", (5, 4), "ac", (2, 5, 3))])
def test_einsum_dense_matches_torch_einsum(equation, out, bias_axes, shape):
    r = np.random.default_rng(2)
    x = r.standard_normal(shape)
    layer = L.EinsumDense(equation, out, bias_axes=bias_axes, activation="relu", dtype="float64")
    layer(x)
    layer.set_weights([r.standard_normal(w.shape) for w in layer.get_weights()])
    y = layer(x)
    g = r.standard_normal(y.shape)
    y, gx, gws = _run(layer, x, g)
    ws = [torch.tensor(w, requires_grad=True) for w in layer.get_weights()]
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.einsum(equation, xt, ws[0])
    if bias_axes:
        yt = yt + ws[1]
    yt = torch.relu(yt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip(gws, ws):
        np.testing.assert_allclose(a, b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_einsum_dense_initializer_counts_fans_over_the_equations_axes():
    """glorot_uniform on kernel (64, 8, 16) of 'abc,cde->abde': fan_in 64, fan_out 128 (Keras), so the limit is
    sqrt(6 / 192) = 0.177, not the conv-style sqrt(6 / (512 + 1024)) = 0.0625."""
    nerve.set_random_seed(0)
    layer = L.EinsumDense("abc,cde->abde", (None, 8, 16))
    layer(np.zeros((1, 2, 64), "float32"))
    w = layer.kernel.numpy()
    assert w.shape == (64, 8, 16)
    assert 0.17 < np.abs(w).max() <= np.sqrt(6 / 192)
    ortho = L.EinsumDense("ab,bc->ac", 4, kernel_initializer="orthogonal")  # other initialisers: the kernel shape
    ortho(np.zeros((1, 4), "float32"))
    np.testing.assert_allclose(ortho.kernel.numpy().T @ ortho.kernel.numpy(), np.eye(4), atol=1e-5)


# ----------------------------------------------------------------------------------------- Wrapper, serialize
def test_wrapper_base_builds_forwards_and_round_trips():
    inner = L.Dense(3, activation="relu")
    w = L.Wrapper(inner, name="wrap")
    y = w(np.ones((2, 4), "float32"))
    assert w.built and inner.built and w.layers == [inner] and y.shape == (2, 3)
    assert [v.name for v in w.weights] == ["kernel", "bias"]
    np.testing.assert_allclose(y.numpy(), inner(np.ones((2, 4), "float32")).numpy())
    cfg = w.get_config()
    assert cfg["layer"]["class_name"] == "Dense" and cfg["name"] == "wrap"
    clone = L.Wrapper.from_config(cfg)
    assert isinstance(clone.layer, L.Dense) and clone.layer.units == 3 and clone.get_config() == cfg
    with pytest.raises(ValueError, match=r"Wrapper: argument 'layer' expected a Layer instance, got 'dense'"):
        L.Wrapper("dense")


def test_layers_serialize_and_deserialize():
    layers = [L.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"), L.SeparableConv1D(4, 2, strides=2),
              L.Conv1DTranspose(3, 2, output_padding=None), L.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d"),
              L.GroupNormalization(groups=4), L.SpectralNormalization(L.Conv1D(2, 3), power_iterations=2),
              L.RMSNormalization(axis=[1, 2]), L.UnitNormalization(axis=[-1]), L.AlphaDropout(0.2, seed=3)]
    for layer in layers:
        d = L.serialize(layer)
        assert d["class_name"] == type(layer).__name__
        back = L.deserialize(d)
        assert type(back) is type(layer) and back.get_config() == layer.get_config()
    # a Keras-style dict (module, registered_name None) and an alias class name
    gn = L.deserialize({"module": "keras.layers", "class_name": "GroupNormalization",
                        "config": {"groups": 2, "name": "gn"}, "registered_name": None})
    assert isinstance(gn, L.GroupNormalization) and gn.groups == 2 and gn.name == "gn"
    assert L.SeparableConvolution2D is L.SeparableConv2D and L.SeparableConvolution1D is L.SeparableConv1D
    assert L.Convolution1DTranspose is L.Conv1DTranspose
    with pytest.raises(ValueError, match="unknown layers 'NoSuchLayer'"):
        L.deserialize({"class_name": "NoSuchLayer", "config": {}})
    with pytest.raises(ValueError, match="layers.deserialize: the config describes a Zeros, not a Layer"):
        L.deserialize({"class_name": "Z", "config": {}}, custom_objects={"Z": nerve.initializers.Zeros})
    with pytest.raises(TypeError, match="layers.serialize: argument 'layer' expected a Layer instance"):
        L.serialize("dense")


# ----------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, err, msg", [
    (lambda: L.DepthwiseConv2D(3, depth_multiplier=0), ValueError,
     "DepthwiseConv2D '.*': argument 'depth_multiplier' expected a positive integer, got 0"),
    (lambda: L.DepthwiseConv1D(3, padding="causal"), ValueError,
     r"DepthwiseConv1D '.*': argument 'padding' expected one of \('valid', 'same'\), got 'causal'"),
    (lambda: L.DepthwiseConv2D((3, 3, 3)), ValueError,
     "DepthwiseConv2D '.*': argument 'kernel_size' expected a positive int or a tuple of 2"),
    (lambda: L.SeparableConv2D(0, 3), ValueError, "SeparableConv2D '.*': argument 'filters' expected a positive"),
    (lambda: L.SeparableConv1D(2, 3, data_format="channels_first"), ValueError,
     "SeparableConv1D '.*': data_format='channels_first' is not supported"),
    (lambda: L.Conv1DTranspose(2, 3, strides=2, output_padding=2), ValueError,
     r"Conv1DTranspose '.*': argument 'output_padding' \(2,\) must be smaller than the strides \(2,\)"),
    (lambda: L.EinsumDense("ab,bc", 3), ValueError, "EinsumDense '.*': argument 'equation' expected the form"),
    (lambda: L.EinsumDense("ab,bc->ac", 3, lora_rank=2), ValueError, "EinsumDense '.*': LoRA and quantization"),
    (lambda: L.EinsumDense("ab,bc->ac", "x"), TypeError, "EinsumDense '.*': argument 'output_shape' expected"),
    (lambda: L.EinsumDense("ab,bc->ac", 3, bias_axes=1), TypeError, "EinsumDense '.*': argument 'bias_axes'"),
])
def test_constructor_errors(make, err, msg):
    with pytest.raises(err, match=msg):
        make()


@pytest.mark.parametrize("make, shape, msg", [
    (lambda: L.DepthwiseConv2D(5), (1, 4, 4, 2),
     r"DepthwiseConv2D '.*': input spatial size \(4, 4\) is too small for kernel \(5, 5\)"),
    (lambda: L.DepthwiseConv2D(3), (1, 6, 2), r"DepthwiseConv2D '.*': expected input of rank 4 \(batch, rows, "
                                              r"cols, channels\), got shape \(1, 6, 2\)"),
    (lambda: L.SeparableConv1D(2, 3), (1, 6, 6, 2), r"SeparableConv1D '.*': expected input of rank 3"),
    (lambda: L.EinsumDense("ab,bc->ac", 3), (2, 3, 4), r"EinsumDense '.*': equation 'ab,bc->ac' names 2 input axes, "
                                                        r"got an input of shape \(2, 3, 4\) \(rank 3\)"),
    (lambda: L.EinsumDense("abc,cd->abd", 4), (2, 3, 4), r"EinsumDense '.*': argument 'output_shape' \(4,\) "
                                                         r"expected 2 sizes"),
    (lambda: L.EinsumDense("ab,bd->ac", 4), (2, 3), "EinsumDense '.*': output axis 'c' of equation 'ab,bd->ac' is in "
                                                    "neither the input nor the kernel"),
    (lambda: L.EinsumDense("ab,bcd->ac", 4), (2, 3), "EinsumDense '.*': kernel axis 'd' of equation 'ab,bcd->ac' is "
                                                     "in neither the input nor the output"),
    (lambda: L.EinsumDense("ab,bc->ac", 4, bias_axes="d"), (2, 3),
     "EinsumDense '.*': argument 'bias_axes' 'd' must name axes of the output 'ac'"),
    (lambda: L.EinsumDense("abc,cd->abd", (5, 4)), (2, 3, 4),
     r"EinsumDense '.*': axis 'b' is 3 in the input of shape \(2, 3, 4\) but 5 in output_shape \(5, 4\)"),
])
def test_build_errors(make, shape, msg):
    with pytest.raises(ValueError, match=msg):
        make()(np.zeros(shape, "float32"))


def test_wrong_channel_count_after_build_is_a_clear_error():
    layer = L.SeparableConv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=re.escape("expected last axis 3, got input of shape (1, 5, 5, 4)")):
        layer(np.zeros((1, 5, 5, 4), "float32"))


# ----------------------------------------------------------------------------------------- training, saving
def _image_data(n=96, seed=0):
    """Horizontal vs vertical vs diagonal stripes: a task a 3x3 depthwise filter bank solves."""
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    i, j = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    patterns = np.stack([np.sin(i * 1.6), np.sin(j * 1.6), np.sin((i + j) * 1.6)])
    x = patterns[y][..., None] * r.uniform(0.5, 1.5, (n, 1, 1, 1)) + 0.3 * r.standard_normal((n, 8, 8, 3))
    return x.astype("float32"), y


def test_a_small_image_model_with_the_new_layers_learns():
    nerve.set_random_seed(0)
    x, y = _image_data()
    m = nerve.Sequential([L.Input((8, 8, 3))] + _image_stack())
    m.compile(optimizer=nerve.optimizers.Adam(0.02),
              loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    hist = m.fit(x, y, epochs=25, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    xv, yv = _image_data(60, seed=1)
    assert m.evaluate(xv, yv, verbose=0)[1] > 0.85


def test_a_small_sequence_model_with_the_new_layers_learns():
    """Regress the sum of each sequence's first channel (needs the whole sequence)."""
    nerve.set_random_seed(1)
    r = np.random.default_rng(1)
    x = r.standard_normal((128, 10, 4)).astype("float32")
    y = np.stack([x[:, :, 0].sum(1), x[:, :5, 1].mean(1), x[:, -3:, 2].sum(1)], -1).astype("float32")
    m = nerve.Sequential([L.Input((10, 4))] + _sequence_stack())
    m.compile(optimizer=nerve.optimizers.Adam(0.01), loss="mse")
    hist = m.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.1 * hist.history["loss"][0]


@pytest.mark.parametrize("stack, shape", [(_image_stack, (8, 8, 3)), (_sequence_stack, (10, 4))])
def test_save_and_load_round_trip(tmp_path, stack, shape):
    nerve.set_random_seed(2)
    x = np.random.default_rng(3).standard_normal((5,) + shape).astype("float32")
    m = nerve.Sequential([L.Input(shape)] + stack())
    m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, np.array([0, 1, 2, 0, 1]), epochs=1, verbose=0)  # moves vector_u too (training power iteration)
    path = str(tmp_path / "extra.keras")
    m.save(path)
    loaded = nerve.models.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in m.layers]
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in m.layers]
    for a, b in zip(loaded.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_layer_save_and_fit_through_the_harness(tmp_path):
    for cls, kw, shape in [(L.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (4, 5, 5, 2)),
                           (L.SeparableConv1D, {"filters": 3, "kernel_size": 2}, (4, 6, 2)),
                           (L.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (4, 3, 2)),
                           (L.EinsumDense, {"equation": "abc,cd->abd", "output_shape": (None, 3),
                                            "bias_axes": "d"}, (4, 5, 2))]:
        layer_test(cls, kw, input_shape=shape, parts=("save", "fit"), tmp_path=tmp_path,
                   expected_num_trainable_weights=2)


# ----------------------------------------------------------------------------------------- the device
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


@pytest.mark.parametrize("stack, shape", [("image", (8, 8, 3)), ("sequence", (10, 4))])
def test_the_new_layers_train_on_the_device_as_on_the_cpu(stack, shape):
    """nerve.device("gpu") on the strict CuPy stand-in (the real CuPy where there is a GPU) computes what the
    CPU does: losses, evaluation and predictions (AlphaDropout's mask is drawn on the host, SpectralNormalization's
    power iteration runs on the device)."""
    from nerve.autograd.ops import jit
    make = _image_stack if stack == "image" else _sequence_stack
    r = np.random.default_rng(4)
    x = r.standard_normal((32,) + shape).astype("float32")
    y = r.integers(0, 3, 32)
    res = []
    with fakecupy.gpu_module():
        old = jit.set_enabled(False)
        try:
            for where in ("cpu", "gpu"):
                nerve.set_random_seed(1)
                with nerve.device(where):
                    m = nerve.Sequential([L.Input(shape)] + make())
                    m.compile(optimizer="rmsprop", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
                h = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
                res.append([h.history["loss"], m.evaluate(x, y, verbose=0), m.predict(x[:4], verbose=0)])
        finally:
            jit.set_enabled(old)
    exact = fakecupy.real_cupy() is None
    for a, b in zip(*res):
        if exact:
            np.testing.assert_array_equal(np.asarray(b, dtype=float), np.asarray(a, dtype=float))
        else:
            np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=2e-4, atol=1e-5)
