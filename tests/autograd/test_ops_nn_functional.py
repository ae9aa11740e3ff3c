"""keras.ops neural-network functions (nerve/autograd/ops/nn_functional.py): values against PyTorch (NCHW
layout transposed) or NumPy formulas, float64 gradcheck of every differentiable function, and clear errors."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import nerve  # noqa: E402
from nerve.autograd.ops import nn_functional as F  # noqa: E402

R = np.random.default_rng(7)
EPS = 1e-7  # keras.backend.epsilon()


def rnd(*shape):
    return R.standard_normal(shape)


def val(t):
    return np.asarray(t.data if isinstance(t, nerve.Tensor) else t)


def to_nchw(x):
    return torch.tensor(np.moveaxis(x, -1, 1))


def from_nchw(t):
    return np.moveaxis(t.numpy(), 1, -1)


def tf_pad(n, k, s, d, padding):
    """TensorFlow/Keras 'same' padding (before, after) of one axis, computed here independently."""
    if padding == "valid":
        return 0, 0
    ke = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def torch_conv2d(x, w, s, d, padding, groups=1):
    (ph0, ph1), (pw0, pw1) = (tf_pad(x.shape[i + 1], w.shape[i], s[i], d[i], padding) for i in range(2))
    xt = TF.pad(to_nchw(x), (pw0, pw1, ph0, ph1))
    return from_nchw(TF.conv2d(xt, torch.tensor(w.transpose(3, 2, 0, 1)), stride=s, dilation=d, groups=groups))


# ---------------------------------------------------------------------------------------------- convolution
CONV2D = [  # (N, H, W, C, F, kh, kw, strides, dilation, padding)
    (2, 7, 6, 3, 4, 3, 3, (1, 1), (1, 1), "valid"), (2, 7, 6, 3, 4, 3, 2, (2, 2), (1, 1), "same"),
    (1, 9, 8, 2, 3, 3, 3, (1, 1), (2, 2), "same"), (2, 8, 7, 2, 2, 2, 3, (2, 1), (1, 1), "valid"),
    (1, 9, 10, 2, 3, 3, 2, (2, 2), (2, 1), "valid"),  # strides and dilation together (allowed by keras.ops)
    (1, 5, 5, 1, 2, 4, 4, (3, 3), (1, 1), "same")]


@pytest.mark.usefixtures("kernel_path")
@pytest.mark.parametrize("N,H,W,C,Fo,kh,kw,s,d,pad", CONV2D)
def test_conv2d_matches_torch(N, H, W, C, Fo, kh, kw, s, d, pad):
    x, w = rnd(N, H, W, C), rnd(kh, kw, C, Fo)
    y = F.conv(x, w, strides=s, padding=pad, dilation_rate=d)
    np.testing.assert_allclose(val(y), torch_conv2d(x, w, s, d, pad), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("s,d,pad", [(1, 1, "valid"), (2, 1, "same"), (1, 2, "same"), (3, 1, "valid")])
def test_conv1d_matches_torch(s, d, pad):
    x, w = rnd(2, 11, 3), rnd(3, 3, 4)
    p0, p1 = tf_pad(11, 3, s, d, pad)
    ref = TF.conv1d(TF.pad(torch.tensor(x.transpose(0, 2, 1)), (p0, p1)), torch.tensor(w.transpose(2, 1, 0)),
                    stride=s, dilation=d).numpy().transpose(0, 2, 1)
    y = F.conv(x, w, strides=s, padding=pad, dilation_rate=d)
    assert y.shape == ref.shape
    np.testing.assert_allclose(val(y), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.usefixtures("kernel_path")
@pytest.mark.parametrize("pad", ["valid", "same"])
def test_grouped_conv_matches_torch_groups(pad):
    x, w = rnd(2, 6, 5, 4), rnd(3, 2, 2, 6)  # 4 input channels, kernel in_channels 2: 2 groups of 3 filters
    y = F.conv(x, w, strides=1, padding=pad)
    np.testing.assert_allclose(val(y), torch_conv2d(x, w, (1, 1), (1, 1), pad, groups=2), rtol=1e-10, atol=1e-10)


@pytest.mark.usefixtures("kernel_path")
@pytest.mark.parametrize("s,pad", [(1, "valid"), (2, "same")])
def test_depthwise_conv_matches_torch(s, pad):
    x, w = rnd(2, 7, 6, 3), rnd(3, 3, 3, 2)  # channel multiplier 2: output channel c * 2 + m
    y = F.depthwise_conv(x, w, strides=s, padding=pad)
    ref = torch_conv2d(x, w.reshape(3, 3, 1, 6), (s, s), (1, 1), pad, groups=3)
    np.testing.assert_allclose(val(y), ref, rtol=1e-10, atol=1e-10)


def test_depthwise_conv1d_and_separable_conv():
    x, dw, pw = rnd(2, 9, 3), rnd(3, 3, 2), rnd(1, 6, 4)
    y = F.depthwise_conv(x, dw, padding="same")
    ref = np.stack([F.conv(x[..., c:c + 1], dw[:, c:c + 1, :], padding="same").data for c in range(3)], axis=-2)
    np.testing.assert_allclose(val(y), ref.reshape(2, 9, 6), rtol=1e-12)
    x2, dw2, pw2 = rnd(1, 6, 7, 2), rnd(2, 2, 2, 3), rnd(1, 1, 6, 5)
    y2 = F.separable_conv(x2, dw2, pw2, strides=2, padding="same")
    mid = torch_conv2d(x2, dw2.reshape(2, 2, 1, 6), (2, 2), (1, 1), "same", groups=2)
    np.testing.assert_allclose(val(y2), mid @ pw2[0, 0], rtol=1e-10, atol=1e-10)
    assert F.separable_conv(x, dw, pw).shape == (2, 7, 4)


def keras_conv_transpose_ref(x, w, s, d, padding, output_padding):
    """Keras' definition (jax conv_transpose with compute_conv_transpose_padding_args_for_jax): the full
    transposed convolution, cropped from ke - 1 - left_pad, zero-extended to the Keras output length."""
    out = torch.nn.functional.conv_transpose2d(to_nchw(x), torch.tensor(w.transpose(3, 2, 0, 1)), stride=s,
                                               dilation=d).numpy()
    sl = []
    for i in range(2):
        n, k = x.shape[i + 1], w.shape[i]
        ke = (k - 1) * d[i] + 1
        op = None if output_padding is None else output_padding[i]
        if padding == "valid":
            op_ = max(ke, s[i]) - ke if op is None else op
            left = ke - 1
            length = (n - 1) * s[i] + ke + op_
        else:
            pad_len = s[i] + ke - 2 if op is None else ke + ke % 2 - 2 + op
            left = min(pad_len // 2 + pad_len % 2, ke - 1)
            length = (n - 1) * s[i] + 1 + pad_len - ke + 1
        sl.append((ke - 1 - left, length))
    big = np.zeros(out.shape[:2] + tuple(max(n, a + b) for n, (a, b) in zip(out.shape[2:], sl)))
    big[:, :, :out.shape[2], :out.shape[3]] = out
    (a0, l0), (a1, l1) = sl
    return np.moveaxis(big[:, :, a0:a0 + l0, a1:a1 + l1], 1, -1)


CONVT = [  # (H, W, k, strides, dilation, padding, output_padding)
    (4, 5, (3, 3), (1, 1), (1, 1), "valid", None), (4, 5, (3, 3), (2, 2), (1, 1), "same", None),
    (3, 4, (2, 3), (2, 3), (1, 1), "valid", None), (3, 4, (4, 4), (2, 2), (1, 1), "same", None),
    (4, 3, (3, 2), (1, 1), (2, 2), "same", None), (3, 3, (1, 1), (3, 3), (1, 1), "valid", None),
    (3, 4, (3, 3), (2, 2), (1, 1), "valid", (1, 0)), (3, 4, (3, 3), (2, 2), (1, 1), "same", (1, 1)),
    (3, 4, (4, 2), (3, 2), (1, 1), "same", (2, 1)),
    # 'same', an even (dilated) kernel and an explicit output_padding (TensorFlow rejects these shapes)
    (3, 4, (4, 4), (2, 2), (1, 1), "same", (0, 0)), (4, 3, (2, 4), (1, 2), (1, 1), "same", (0, 1)),
    (3, 3, (2, 2), (2, 2), (2, 2), "same", (1, 0))]


@pytest.mark.parametrize("H,W,k,s,d,pad,op", CONVT)
def test_conv_transpose_matches_keras_definition(H, W, k, s, d, pad, op):
    x, w = rnd(2, H, W, 3), rnd(k[0], k[1], 4, 3)  # kernel (kh, kw, filters, in_channels)
    y = F.conv_transpose(x, w, strides=s, padding=pad, output_padding=op, dilation_rate=d)
    ref = keras_conv_transpose_ref(x, w, s, d, pad, op)
    assert y.shape == ref.shape
    np.testing.assert_allclose(val(y), ref, rtol=1e-10, atol=1e-10)


def test_conv_transpose_1d():
    x, w = rnd(2, 5, 3), rnd(3, 2, 3)
    y = F.conv_transpose(x, w, 2, padding="same")
    ref = keras_conv_transpose_ref(x[:, None], w[None], (1, 2), (1, 1), "same", None)[:, 0]
    assert y.shape == (2, 10, 2)
    np.testing.assert_allclose(val(y), ref, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------------------------------- pooling
def np_pool(x, k, s, padding, kind):
    """Direct loops over the windows of NHWC x; 'same' windows use only real elements (Keras)."""
    n, h, w, c = x.shape
    (p0, _), (q0, _) = tf_pad(h, k[0], s[0], 1, padding), tf_pad(w, k[1], s[1], 1, padding)
    oh = -(-h // s[0]) if padding == "same" else (h - k[0]) // s[0] + 1
    ow = -(-w // s[1]) if padding == "same" else (w - k[1]) // s[1] + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - p0, j * s[1] - q0
            win = x[:, max(r0, 0):r0 + k[0], max(c0, 0):c0 + k[1], :]
            out[:, i, j] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


POOL = [((2, 2), None, "valid"), ((3, 3), (2, 2), "valid"), ((3, 2), (1, 2), "same"), ((2, 2), None, "same"),
        ((3, 3), (3, 3), "same")]


@pytest.mark.usefixtures("kernel_path")
@pytest.mark.parametrize("k,s,pad", POOL)
def test_pool2d_matches_reference(k, s, pad):
    x = rnd(2, 7, 6, 3)
    st = k if s is None else s
    for fn, kind in ((F.max_pool, "max"), (F.average_pool, "avg")):
        np.testing.assert_allclose(val(fn(x, k, s, pad)), np_pool(x, k, st, pad, kind), rtol=1e-12)
    if pad == "valid":  # torch agrees on valid windows
        np.testing.assert_allclose(val(F.max_pool(x, k, s)), from_nchw(TF.max_pool2d(to_nchw(x), k, st)), rtol=1e-12)
        np.testing.assert_allclose(val(F.average_pool(x, k, s)), from_nchw(TF.avg_pool2d(to_nchw(x), k, st)),
                                   rtol=1e-12)


@pytest.mark.parametrize("pad", ["valid", "same"])
def test_pool1d(pad):
    x = rnd(2, 9, 3)
    for fn, kind in ((F.max_pool, "max"), (F.average_pool, "avg")):
        y = fn(x, 3, 2, pad)
        np.testing.assert_allclose(val(y), np_pool(x[:, None], (1, 3), (1, 2), pad, kind)[:, 0], rtol=1e-12)


# ---------------------------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("axes,keepdims", [([0], False), ([0, 1, 2], False), ((1,), True), (-1, False)])
def test_moments(axes, keepdims):
    x = rnd(3, 4, 5) * 2 + 1
    m, v = F.moments(x, axes, keepdims=keepdims)
    ax = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    np.testing.assert_allclose(val(m), x.mean(axis=ax, keepdims=keepdims), rtol=1e-12)
    np.testing.assert_allclose(val(v), x.var(axis=ax, keepdims=keepdims), rtol=1e-12)  # population variance
    m2, v2 = F.moments(x, axes, keepdims=keepdims, synchronized=True)  # one replica: the same statistics
    np.testing.assert_array_equal(val(v2), val(v))


def test_moments_keras_example_and_float16():
    m, v = F.moments(np.array([0, 1, 2, 3, 100], np.float32), axes=[0])
    np.testing.assert_allclose([float(val(m)), float(val(v))], [21.2, 1553.36], rtol=1e-5)
    m, v = F.moments(np.array([1.0, 3.0, 300.0], np.float16), axes=[0])
    assert val(m).dtype == np.float16 and val(v).dtype == np.float16
    np.testing.assert_allclose(float(val(v)), np.var([1.0, 3.0, 300.0]), rtol=1e-3)


def test_batch_normalization():
    x, mean, var, off, sc = rnd(2, 3, 4), rnd(3), R.uniform(0.5, 2, 3), rnd(3), rnd(3)
    y = F.batch_normalization(x, mean, var, axis=1, offset=off, scale=sc, epsilon=1e-3)
    b = (1, 3, 1)
    ref = (x - mean.reshape(b)) / np.sqrt(var.reshape(b) + 1e-3) * sc.reshape(b) + off.reshape(b)
    np.testing.assert_allclose(val(y), ref, rtol=1e-12)
    y = F.batch_normalization(x, rnd(4), var[:1].repeat(4), axis=-1)  # no offset, no scale
    assert y.shape == x.shape
    # the Keras docstring example
    kx = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], np.float32)
    out = val(F.batch_normalization(kx, mean=[0.4, 0.5, 0.6], variance=[0.67, 0.67, 0.67], axis=-1))
    np.testing.assert_allclose(out[0], [-0.36624] * 3, rtol=1e-4)
    np.testing.assert_allclose(out[1], [0, 0, 0], atol=1e-6)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_normalize(order):
    x = rnd(3, 4)
    norm = np.linalg.norm(x, ord=order, axis=-1, keepdims=True)
    np.testing.assert_allclose(val(F.normalize(x, order=order)), x / np.maximum(norm, EPS), rtol=1e-12)
    norm0 = np.linalg.norm(x, ord=order, axis=0, keepdims=True)
    np.testing.assert_allclose(val(F.normalize(x, axis=0, order=order)), x / norm0, rtol=1e-12)
    tiny = np.array([[0.0, 0.0], [1e-9, -2e-9]])  # norms below epsilon: divided by epsilon
    np.testing.assert_allclose(val(F.normalize(tiny, order=order, epsilon=1e-6)), tiny / 1e-6, rtol=1e-10)


def test_normalize_keras_example_scalar_and_axes():
    out = val(F.normalize(np.array([[1, 2, 3], [4, 5, 6]])))
    np.testing.assert_allclose(out, [[0.26726124, 0.5345225, 0.8017837], [0.45584232, 0.5698029, 0.68376344]],
                               rtol=1e-6)
    assert val(F.normalize(np.float64(-3.0))).tolist() == [-1.0]  # a scalar becomes a vector of length 1
    x = rnd(2, 3, 4)
    np.testing.assert_allclose(val(F.normalize(x, axis=(1, 2))),
                               x / np.sqrt((x ** 2).sum(axis=(1, 2), keepdims=True)), rtol=1e-12)


def test_log_sigmoid_matches_torch():
    x = np.concatenate([rnd(20), [-800.0, -40.0, 0.0, 40.0, 800.0]])
    np.testing.assert_allclose(val(F.log_sigmoid(x)), TF.logsigmoid(torch.tensor(x)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(val(F.log_sigmoid(np.array([-0.541391, 0.0, 0.5, 5.0], np.float32))),
                               [-1.0000418, -0.6931472, -0.474077, -0.00671535], rtol=1e-6)


# ---------------------------------------------------------------------------------------------- multi_hot
def keras_multi_hot(x, n, axis):
    """Keras' definition: max over axis 1 (rank > 1) or 0 of one_hot(x, n, axis), out-of-range labels ignored."""
    oh = np.moveaxis((x[..., None] == np.arange(n)).astype(np.float32), -1, axis)
    return oh.max(axis=1 if x.ndim > 1 else 0)


def test_multi_hot():
    lab = np.array([[0, 2, 2], [3, -1, 1]])  # repeats count once, -1 (padding) is ignored
    y = F.multi_hot(lab, num_classes=4)
    np.testing.assert_array_equal(val(y), [[1, 0, 1, 0], [0, 1, 0, 1]])
    assert val(y).dtype == np.float32 and not y.requires_grad
    np.testing.assert_array_equal(val(F.multi_hot([0, 4], 5)), [1, 0, 0, 0, 1])  # the Keras docstring example
    assert val(F.multi_hot(lab, 4, dtype="int32")).dtype == np.int32
    assert val(F.multi_hot(lab, num_tokens=4)).shape == (2, 4)  # Keras' legacy argument name
    lab3 = R.integers(0, 5, (2, 3, 4))
    for axis in (-1, 0, 1, 2, 3):
        np.testing.assert_array_equal(val(F.multi_hot(lab3, 5, axis=axis)), keras_multi_hot(lab3, 5, axis))
    np.testing.assert_array_equal(val(F.multi_hot(lab, 4, axis=0)), keras_multi_hot(lab, 4, 0))


# ---------------------------------------------------------------------------------------------- cross-entropies
def test_binary_crossentropy():
    t = R.integers(0, 2, (3, 4)).astype(float)
    logits = rnd(3, 4) * 3
    ref = TF.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(t), reduction="none").numpy()
    np.testing.assert_allclose(val(F.binary_crossentropy(t, logits, from_logits=True)), ref, rtol=1e-12)
    p = R.uniform(0.01, 0.99, (3, 4))
    p[0, :2] = [0.0, 1.0]  # clipped to [eps, 1 - eps]
    c = np.clip(p, EPS, 1 - EPS)
    ref = -(t * np.log(c) + (1 - t) * np.log(1 - c))
    np.testing.assert_allclose(val(F.binary_crossentropy(t, p)), ref, rtol=1e-10)
    kt, ko = np.array([0, 1, 1, 0], np.float32), np.array([0.1, 0.9, 0.8, 0.2], np.float32)  # Keras docstring
    np.testing.assert_allclose(val(F.binary_crossentropy(kt, ko)), [0.10536054, 0.10536054, 0.22314355, 0.22314355],
                               rtol=1e-5)
    assert F.binary_crossentropy(np.float64(1.0), np.float64(0.3)).shape == ()


def test_categorical_crossentropy():
    t = R.dirichlet(np.ones(5), size=(2, 3))  # soft targets (2, 3, 5)
    logits = rnd(2, 3, 5)
    ref = TF.cross_entropy(torch.tensor(logits).permute(0, 2, 1), torch.tensor(t).permute(0, 2, 1),
                           reduction="none").numpy()
    np.testing.assert_allclose(val(F.categorical_crossentropy(t, logits, from_logits=True)), ref, rtol=1e-12)
    p = R.uniform(0.1, 2.0, (2, 3, 5))  # unnormalised probabilities: Keras divides by their sum
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    np.testing.assert_allclose(val(F.categorical_crossentropy(t, p)), -(t * np.log(q)).sum(-1), rtol=1e-12)
    y = F.categorical_crossentropy(np.moveaxis(t, -1, 1), np.moveaxis(logits, -1, 1), from_logits=True, axis=1)
    np.testing.assert_allclose(val(y), ref, rtol=1e-12)
    kt = np.eye(3, dtype=np.float32)
    ko = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]], np.float32)
    np.testing.assert_allclose(val(F.categorical_crossentropy(kt, ko)), [0.10536054, 0.22314355, 0.6931472],
                               rtol=1e-5)


def test_sparse_categorical_crossentropy():
    lab = R.integers(0, 5, (2, 3))
    logits = rnd(2, 3, 5)
    ref = TF.cross_entropy(torch.tensor(logits).permute(0, 2, 1), torch.tensor(lab), reduction="none").numpy()
    np.testing.assert_allclose(val(F.sparse_categorical_crossentropy(lab, logits, from_logits=True)), ref,
                               rtol=1e-12)
    np.testing.assert_allclose(val(F.sparse_categorical_crossentropy(lab[..., None], logits, from_logits=True)),
                               ref, rtol=1e-12)  # a trailing axis of length 1 is squeezed
    y = F.sparse_categorical_crossentropy(lab, np.moveaxis(logits, -1, 1), from_logits=True, axis=1)
    np.testing.assert_allclose(val(y), ref, rtol=1e-12)
    p = R.uniform(0.1, 2.0, (2, 3, 5))
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    ref = -np.log(np.take_along_axis(q, lab[..., None], -1)[..., 0])
    np.testing.assert_allclose(val(F.sparse_categorical_crossentropy(lab, p)), ref, rtol=1e-12)
    ko = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5]], np.float32)
    np.testing.assert_allclose(val(F.sparse_categorical_crossentropy(np.array([0, 1, 2]), ko)),
                               [0.10536056, 0.22314355, 0.6931472], rtol=1e-5)


# ---------------------------------------------------------------------------------------------- float64 gradcheck
def probs(*shape):
    return R.uniform(0.05, 0.95, shape)


def distinct(*shape):  # no ties in max pooling windows
    return R.permutation(int(np.prod(shape))).reshape(shape) * 0.37 + R.uniform(0, 0.01, shape)


GRAD = [
    ("moments", lambda x: F.moments(x, [0, 2]), rnd(3, 2, 4)),
    ("moments_keepdims", lambda x: F.moments(x, -1, keepdims=True), rnd(2, 5)),
    ("batch_normalization", lambda x, m, v, o, s: F.batch_normalization(x, m, v, 1, offset=o, scale=s),
     rnd(2, 3, 2), rnd(3), R.uniform(0.5, 2, 3), rnd(3), rnd(3)),
    ("batch_normalization_plain", lambda x, m, v: F.batch_normalization(x, m, v, -1, epsilon=0.1),
     rnd(3, 4), rnd(4), R.uniform(0.5, 2, 4)),
    ("normalize_l2", lambda x: F.normalize(x), rnd(3, 4)),
    ("normalize_l2_axes", lambda x: F.normalize(x, axis=(0, 2)), rnd(2, 3, 2)),
    ("normalize_l1", lambda x: F.normalize(x, axis=0, order=1), rnd(3, 4)),
    ("normalize_l3", lambda x: F.normalize(x, order=3), rnd(3, 4)),
    ("normalize_below_eps", lambda x: F.normalize(x, epsilon=1.0), rnd(2, 3) * 0.1),
    ("log_sigmoid", F.log_sigmoid, rnd(3, 4) * 3),
    ("binary_crossentropy_logits", lambda t, x: F.binary_crossentropy(t, x, from_logits=True), probs(3, 4),
     rnd(3, 4)),
    ("binary_crossentropy_probs", F.binary_crossentropy, probs(3, 4), probs(3, 4)),
    ("categorical_crossentropy_logits", lambda t, x: F.categorical_crossentropy(t, x, from_logits=True),
     probs(3, 4), rnd(3, 4)),
    ("categorical_crossentropy_probs_axis0", lambda t, x: F.categorical_crossentropy(t, x, axis=0),
     probs(4, 3), probs(4, 3)),
    ("sparse_categorical_crossentropy_logits",
     lambda x: F.sparse_categorical_crossentropy(np.array([[0, 3], [2, 1]]), x, from_logits=True), rnd(2, 2, 4)),
    ("sparse_categorical_crossentropy_probs",
     lambda x: F.sparse_categorical_crossentropy(np.array([1, 0, 2]), x), probs(3, 4)),
    ("conv2d_valid", lambda x, w: F.conv(x, w), rnd(1, 4, 5, 2), rnd(2, 3, 2, 3)),
    ("conv2d_same_strided", lambda x, w: F.conv(x, w, strides=2, padding="same"), rnd(2, 5, 4, 2), rnd(3, 2, 2, 2)),
    ("conv2d_dilated_strided", lambda x, w: F.conv(x, w, strides=(2, 1), dilation_rate=2), rnd(1, 7, 6, 1),
     rnd(2, 2, 1, 2)),
    ("conv2d_grouped", lambda x, w: F.conv(x, w, padding="same"), rnd(1, 4, 3, 4), rnd(2, 2, 2, 4)),
    ("conv1d", lambda x, w: F.conv(x, w, strides=2, padding="same"), rnd(2, 7, 2), rnd(3, 2, 3)),
    ("depthwise_conv2d", lambda x, w: F.depthwise_conv(x, w, padding="same"), rnd(1, 4, 4, 2), rnd(2, 2, 2, 2)),
    ("depthwise_conv1d", lambda x, w: F.depthwise_conv(x, w), rnd(1, 6, 2), rnd(3, 2, 1)),
    ("separable_conv", lambda x, d, p: F.separable_conv(x, d, p, strides=2), rnd(1, 5, 5, 2), rnd(2, 2, 2, 2),
     rnd(1, 1, 4, 3)),
    ("conv_transpose_same", lambda x, w: F.conv_transpose(x, w, 2, padding="same"), rnd(1, 3, 2, 2),
     rnd(3, 3, 3, 2)),
    ("conv_transpose_output_padding", lambda x, w: F.conv_transpose(x, w, (2, 3), output_padding=(1, 2)),
     rnd(2, 2, 3, 2), rnd(2, 3, 2, 2)),
    ("conv_transpose_1d", lambda x, w: F.conv_transpose(x, w, 2, padding="valid", dilation_rate=2),
     rnd(1, 4, 2), rnd(2, 3, 2)),
    ("max_pool_same", lambda x: F.max_pool(x, 3, 2, padding="same"), distinct(1, 5, 4, 2)),
    ("max_pool_valid", lambda x: F.max_pool(x, (2, 2)), distinct(2, 4, 4, 2)),
    ("max_pool_1d", lambda x: F.max_pool(x, 2, 1), distinct(2, 5, 2)),
    ("average_pool_same", lambda x: F.average_pool(x, (3, 2), (2, 2), padding="same"), rnd(1, 5, 5, 2)),
    ("average_pool_1d", lambda x: F.average_pool(x, 3, padding="same"), rnd(2, 7, 2)),
]


@pytest.mark.parametrize("fn,inputs", [pytest.param(c[1], c[2:], id=c[0]) for c in GRAD])
def test_gradcheck(fn, inputs):
    nerve.gradcheck(fn, list(inputs))


def test_targets_that_require_grad_get_gradients():
    t = nerve.tensor(probs(2, 3), requires_grad=True)
    F.binary_crossentropy(t, rnd(2, 3), from_logits=True).sum().backward()
    assert t.grad is not None and t.grad.shape == (2, 3)


# ---------------------------------------------------------------------------------------------- errors
X4, W4 = rnd(1, 5, 5, 2), rnd(3, 3, 2, 4)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.conv(X4, W4, padding="full"), ValueError, r"conv: argument 'padding' expected 'valid' or 'same', "
                                                          r"got 'full'"),
    (lambda: F.conv(X4, W4, padding="causal"), ValueError, "conv: argument 'padding'"),
    (lambda: F.conv(X4, W4, data_format="channels_first"), ValueError,
     "conv: argument 'data_format' expected 'channels_last'.*got 'channels_first'"),
    (lambda: F.conv(X4, W4, data_format="NHWC"), ValueError, "conv: argument 'data_format'.*got 'NHWC'"),
    (lambda: F.conv(rnd(1, 2, 3, 3, 3, 2), rnd(2, 2, 2, 2, 1)), ValueError,
     r"conv: argument 'inputs' expected rank 3 .*, 4 .* or 5 .*got shape \(1, 2, 3, 3, 3, 2\)"),
    (lambda: F.conv(X4, rnd(3, 2, 4)), ValueError, r"conv: argument 'kernel' expected rank 4"),
    (lambda: F.conv(X4, rnd(3, 3, 3, 4)), ValueError, "conv: argument 'kernel' .*input channels 2"),
    (lambda: F.conv(X4, W4, strides=0), ValueError, "conv: argument 'strides' expected an int >= 1"),
    (lambda: F.conv(X4, W4, strides=(1, 2, 3)), ValueError, "conv: argument 'strides'"),
    (lambda: F.conv(X4, W4, dilation_rate=1.5), ValueError, "conv: argument 'dilation_rate'"),
    (lambda: F.conv(rnd(1, 2, 2, 2), W4), ValueError, r"conv: input spatial size \(2, 2\) is smaller"),
    (lambda: F.depthwise_conv(X4, rnd(3, 3, 3, 1)), ValueError,
     "depthwise_conv: argument 'kernel' expected in_channels .* 2"),
    (lambda: F.depthwise_conv(X4, rnd(3, 3, 2, 1), data_format="channels_first"), ValueError,
     "depthwise_conv: argument 'data_format'"),
    (lambda: F.separable_conv(X4, rnd(3, 3, 2, 2), rnd(1, 1, 3, 5)), ValueError,
     r"separable_conv: argument 'pointwise_kernel' expected shape \(1, 1, 4, 'filters'\)"),
    (lambda: F.separable_conv(X4, rnd(3, 3, 1, 2), rnd(1, 1, 2, 5)), ValueError,
     "separable_conv: argument 'depthwise_kernel'"),
    (lambda: F.conv_transpose(X4, rnd(3, 3, 4, 3), 2), ValueError,
     "conv_transpose: argument 'kernel' expected in_channels .* 2"),
    (lambda: F.conv_transpose(X4, rnd(3, 3, 4, 2), 2, output_padding=2), ValueError,
     "conv_transpose: argument 'output_padding' expected values smaller than strides"),
    (lambda: F.conv_transpose(X4, rnd(3, 3, 4, 2), 2, data_format="channels_first"), ValueError,
     "conv_transpose: argument 'data_format'"),
    (lambda: F.conv_transpose(X4, rnd(3, 3, 4, 2), 2, padding="full"), ValueError,
     "conv_transpose: argument 'padding' expected 'valid' or 'same', got 'full'"),
    (lambda: F.max_pool(X4, 2, data_format="channels_first"), ValueError, "max_pool: argument 'data_format'"),
    (lambda: F.max_pool(X4, 2, padding="full"), ValueError, "max_pool: argument 'padding'"),
    (lambda: F.average_pool(X4, 0), ValueError, "average_pool: argument 'pool_size' expected an int >= 1"),
    (lambda: F.average_pool(X4, 6), ValueError, r"average_pool: input spatial size \(5, 5\) is smaller"),
    (lambda: F.max_pool(rnd(2, 3), 2), ValueError, "max_pool: argument 'inputs' expected rank 3"),
    (lambda: F.multi_hot([1, 2], 4, sparse=True), ValueError, "multi_hot: argument 'sparse' expected False"),
    (lambda: F.multi_hot([1, 2]), ValueError, "multi_hot: argument 'num_classes' expected a positive int, got None"),
    (lambda: F.multi_hot([0.5, 2], 4), TypeError, "multi_hot: argument 'inputs' expected integer labels"),
    (lambda: F.multi_hot([[1, 2]], 4, axis=3), ValueError, r"multi_hot: argument 'axis' expected an int in \[-3, 2\]"),
    (lambda: F.multi_hot(np.int64(1), 4), ValueError, "multi_hot: argument 'inputs' expected labels of rank >= 1"),
    (lambda: F.binary_crossentropy(np.ones((2, 3)), rnd(2, 4)), ValueError,
     r"binary_crossentropy: arguments 'target' and 'output' must have the same shape, got target shape \(2, 3\) "
     r"and output shape \(2, 4\)"),
    (lambda: F.categorical_crossentropy(np.ones((2, 3)), rnd(3, 2)), ValueError,
     "categorical_crossentropy: arguments 'target' and 'output' must have the same shape"),
    (lambda: F.categorical_crossentropy(np.float64(1), np.float64(1)), ValueError,
     "categorical_crossentropy: .*at least rank 1"),
    (lambda: F.categorical_crossentropy(np.ones((2, 3)), rnd(2, 3), axis=2), ValueError,
     "categorical_crossentropy: argument 'axis'"),
    (lambda: F.sparse_categorical_crossentropy(np.array([0, 3]), rnd(2, 3)), ValueError,
     r"sparse_categorical_crossentropy: argument 'target' expected labels in \[0, 3\) .* got labels in \[0, 3\]"),
    (lambda: F.sparse_categorical_crossentropy(np.array([0, 1, 2]), rnd(2, 3)), ValueError,
     r"sparse_categorical_crossentropy: argument 'target' expected integer labels of shape \(2,\)"),
    (lambda: F.sparse_categorical_crossentropy(np.array([0.5, 1.0]), rnd(2, 3)), TypeError,
     "sparse_categorical_crossentropy: argument 'target' expected integer class labels"),
    (lambda: F.sparse_categorical_crossentropy(np.array(0), np.float64(1.0)), ValueError,
     "sparse_categorical_crossentropy: argument 'output' must be at least rank 1"),
    (lambda: F.normalize(rnd(2, 3), order=0), ValueError, "normalize: argument 'order' expected an int >= 1, got 0"),
    (lambda: F.normalize(rnd(2, 3), order=1.5), ValueError, "normalize: argument 'order'"),
    (lambda: F.normalize(rnd(2, 3), axis=2), ValueError, "normalize: argument 'axis'"),
    (lambda: F.normalize(rnd(2, 3, 2), axis=(0, 1), order=1), ValueError,
     "normalize: argument 'axis' expected one int"),
    (lambda: F.batch_normalization(rnd(2, 3), rnd(2), rnd(3), -1), ValueError,
     r"batch_normalization: argument 'mean' expected a vector of shape \(3,\) .* got shape \(2,\)"),
    (lambda: F.batch_normalization(rnd(2, 3), rnd(3), rnd(3), -1, scale=rnd(3, 1)), ValueError,
     "batch_normalization: argument 'scale'"),
    (lambda: F.batch_normalization(rnd(2, 3), rnd(3), rnd(3), 2), ValueError, "batch_normalization: argument 'axis'"),
    (lambda: F.moments(rnd(2, 3), [2]), ValueError, r"moments: argument 'axes' expected ints in \[-2, 2\)"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_float32_dtype_is_kept():
    x, w = rnd(1, 4, 4, 2).astype(np.float32), rnd(2, 2, 2, 3).astype(np.float32)
    assert val(F.conv(x, w)).dtype == np.float32
    assert val(F.max_pool(x, 2)).dtype == np.float32
    assert val(F.normalize(x)).dtype == np.float32
    assert val(F.log_sigmoid(x)).dtype == np.float32
    assert val(F.sparse_categorical_crossentropy(np.array(1), x[0, 0, 0])).dtype == np.float32
    assert math.isfinite(float(val(F.binary_crossentropy(np.float32(1), np.float32(0.0)))))
