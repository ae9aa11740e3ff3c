"""ONNX export of the newer activations (celu ... sparsemax, with keyword arguments through functools.partial)
and layers (depthwise / separable / transposed convolutions, group / unit / RMS normalisation, EinsumDense,
SpectralNormalization): onnxruntime's outputs against nerve's predict."""
import functools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install nerve[onnx])")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install nerve[onnx])")

import nerve  # noqa: E402
from nerve import activations  # noqa: E402
from nerve import layers as L  # noqa: E402


def _check(model, x, tmp_path, tol=1e-5):
    path = tmp_path / "m.onnx"
    model.export(str(path), format="onnx", verbose=False)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    want = model.predict(x, verbose=0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _x(*shape, seed=0, scale=2.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype("float32")


def _seq(*layers, shape):
    nerve.set_random_seed(0)
    return nerve.Sequential([nerve.Input(shape)] + list(layers))


def _randomize(layer, seed=1):
    """Non-trivial values for every weight (biases, gammas and betas start at 0 / 1)."""
    rng = np.random.default_rng(seed)
    for w in layer.weights:
        w.assign(rng.normal(size=w.shape).astype("float32") * 0.5 + (1.0 if "scale" in w.name else 0.0))


ACTS = ["celu", "glu", "hard_shrink", "hard_tanh", "soft_shrink", "sparse_plus", "sparse_sigmoid", "squareplus",
        "tanh_shrink", "hard_silu", "hard_swish", "sparsemax",
        functools.partial(activations.celu, alpha=0.5), functools.partial(activations.hard_shrink, threshold=1.0),
        functools.partial(activations.soft_shrink, threshold=0.3), functools.partial(activations.squareplus, b=1),
        functools.partial(activations.threshold, threshold=0.2, default_value=-1.5),
        functools.partial(activations.glu, axis=1), functools.partial(activations.sparsemax, axis=1),
        functools.partial(activations.leaky_relu, negative_slope=0.05), functools.partial(activations.gelu,
                                                                                           approximate=True)]


@pytest.mark.parametrize("act", ACTS, ids=lambda a: a if isinstance(a, str) else
                         f"{a.func.__name__}({','.join(f'{k}={v}' for k, v in a.keywords.items())})")
def test_activations(act, tmp_path):
    # (3, 4, 6): glu splits an even axis (the last or axis 1); sparsemax along the last axis or axis 1
    m = _seq(L.Activation(act), shape=(4, 6))
    _check(m, _x(3, 4, 6), tmp_path)


def test_sparsemax_is_exact_on_sparse_and_dense_rows(tmp_path):
    x = np.array([[[3.0, 0.1, -2.0, 0.2], [0.1, 0.2, 0.3, 0.25], [5.0, 5.0, -1.0, 4.5]]], "float32")
    _check(_seq(L.Activation("sparsemax"), shape=(3, 4)), x, tmp_path)


def test_dense_with_a_new_activation(tmp_path):
    _check(_seq(L.Dense(6, activation="squareplus"), L.Dense(4, activation="sparse_plus"), shape=(5,)),
           _x(3, 5), tmp_path)


def test_unconvertible_activations_are_clear_errors(tmp_path):
    m = _seq(L.Activation(lambda t: t * 2), shape=(3,))
    with pytest.raises(NotImplementedError, match="custom activation"):
        m.export(str(tmp_path / "a.onnx"), verbose=False)
    m = _seq(L.Activation(functools.partial(activations.relu, max_value=2.0)), shape=(3,))
    with pytest.raises(NotImplementedError, match=r"activation 'relu' with arguments \['max_value'\]"):
        m.export(str(tmp_path / "b.onnx"), verbose=False)


@pytest.mark.parametrize("padding,strides,dilation,mult", [("valid", 1, 1, 1), ("same", 2, 1, 2), ("same", 1, 2, 3),
                                                           ("valid", 2, 1, 1)])
def test_depthwise_conv(padding, strides, dilation, mult, tmp_path):
    layer2 = L.DepthwiseConv2D((3, 2), strides=strides, padding=padding, depth_multiplier=mult,
                               dilation_rate=dilation if strides == 1 else 1, activation="relu")
    m = _seq(layer2, shape=(9, 8, 3))
    _randomize(layer2)
    _check(m, _x(2, 9, 8, 3), tmp_path)
    layer1 = L.DepthwiseConv1D(3, strides=strides, padding=padding, depth_multiplier=mult,
                               dilation_rate=dilation if strides == 1 else 1)
    m = _seq(layer1, shape=(11, 4))
    _randomize(layer1)
    _check(m, _x(2, 11, 4), tmp_path)


@pytest.mark.parametrize("padding,strides,mult,bias", [("valid", 1, 1, True), ("same", 2, 2, True),
                                                       ("same", 1, 1, False)])
def test_separable_conv(padding, strides, mult, bias, tmp_path):
    layer2 = L.SeparableConv2D(5, 3, strides=strides, padding=padding, depth_multiplier=mult, use_bias=bias,
                               activation="tanh")
    m = _seq(layer2, shape=(8, 7, 3))
    _randomize(layer2)
    _check(m, _x(2, 8, 7, 3), tmp_path)
    layer1 = L.SeparableConv1D(4, 3, strides=strides, padding=padding, depth_multiplier=mult, use_bias=bias)
    m = _seq(layer1, shape=(10, 2))
    _randomize(layer1)
    _check(m, _x(2, 10, 2), tmp_path)


@pytest.mark.parametrize("k,padding,strides,dilation,out_pad", [
    (3, "valid", 1, 1, None), (3, "same", 2, 1, None), (4, "same", 2, 1, None), (2, "valid", 3, 1, None),
    (3, "valid", 2, 1, 1), (3, "same", 2, 1, 1), (4, "same", 3, 1, 2), (3, "same", 1, 2, None),
    (5, "valid", 2, 1, 0)])
def test_conv_transpose(k, padding, strides, dilation, out_pad, tmp_path):
    layer = L.Conv1DTranspose(4, k, strides=strides, padding=padding, dilation_rate=dilation,
                              output_padding=out_pad, activation="relu")
    m = _seq(layer, shape=(7, 3))
    _randomize(layer)
    _check(m, _x(2, 7, 3), tmp_path)
    op2 = None if out_pad is None else (out_pad, out_pad)
    layer = L.Conv2DTranspose(3, (k, 2), strides=(strides, 1), padding=padding, output_padding=op2 and
                              (out_pad, 0), dilation_rate=(dilation, 1))
    m = _seq(layer, shape=(5, 4, 2))
    _randomize(layer)
    _check(m, _x(2, 5, 4, 2), tmp_path)


@pytest.mark.parametrize("groups,axis,shape", [(2, -1, (5, 4, 6)), (3, -1, (7, 6)), (-1, -1, (5, 4)),
                                               (1, -1, (4, 4)), (2, 1, (4, 5, 3))])
def test_group_normalization(groups, axis, shape, tmp_path):
    layer = L.GroupNormalization(groups=groups, axis=axis, epsilon=1e-3)
    m = _seq(layer, shape=shape)
    _randomize(layer)
    _check(m, _x(3, *shape) + 1.0, tmp_path, tol=2e-5)
    plain = L.GroupNormalization(groups=groups, axis=axis, center=False, scale=False)
    _check(_seq(plain, shape=shape), _x(3, *shape, seed=2), tmp_path, tol=2e-5)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_unit_and_rms_normalization(axis, tmp_path):
    _check(_seq(L.UnitNormalization(axis=axis), shape=(4, 5)), _x(3, 4, 5), tmp_path)
    _check(_seq(L.UnitNormalization(), shape=(3,)), np.zeros((2, 3), "float32"), tmp_path)  # norm 0: stays 0
    rms = L.RMSNormalization(axis=axis, epsilon=1e-4)
    m = _seq(rms, shape=(4, 5))
    _randomize(rms)
    _check(m, _x(3, 4, 5), tmp_path)


@pytest.mark.parametrize("equation,out_shape,bias_axes,in_shape", [
    ("ab,bc->ac", (6,), "c", (5,)), ("abc,cde->abde", (4, 2, 3), "de", (4, 5)),
    ("...b,bc->...c", (3,), "c", (4, 2, 5)), ("abc,cd->abd", (4, 6), None, (4, 5)),
    ("abcd,cde->abe", (3, 2), "e", (3, 4, 5)), ("bc...,cd->bd...", (4,), "d", (5, 3))])
def test_einsum_dense(equation, out_shape, bias_axes, in_shape, tmp_path):
    layer = L.EinsumDense(equation, out_shape, bias_axes=bias_axes, activation="tanh")
    m = _seq(layer, shape=in_shape)
    _randomize(layer)
    _check(m, _x(2, *in_shape, scale=1.0), tmp_path)


def test_spectral_normalization_exports_its_layer(tmp_path):
    layer = L.SpectralNormalization(L.Dense(4, activation="relu"))
    m = _seq(L.Dense(5), layer, L.RMSNormalization(), shape=(3,))
    _check(m, _x(4, 3), tmp_path)


def test_mobile_style_pipeline(tmp_path):
    """A small MobileNet-like stack: separable and depthwise convolutions, group normalisation, hard_swish."""
    m = _seq(L.Conv2D(8, 3, padding="same", activation="hard_swish"), L.DepthwiseConv2D(3, padding="same"),
             L.GroupNormalization(groups=4), L.Activation("hard_swish"), L.SeparableConv2D(6, 3, strides=2),
             L.UnitNormalization(), L.GlobalAveragePooling2D(), L.Dense(3, activation="sparsemax"),
             shape=(10, 10, 3))
    for layer in m.layers:
        _randomize(layer, seed=3)
    _check(m, _x(2, 10, 10, 3), tmp_path, tol=2e-5)
