"""keras.ops.nn functions of nerve/autograd/ops/nn_extra.py: values against PyTorch or NumPy formulas in float32
and float64, gradients against torch, the derivative chosen at each kink, float64 gradcheck of every
differentiable function (GRAD), the same numbers through the strict CuPy stand-in, and clear errors."""
import os
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402

import nerve  # noqa: E402
from nerve.autograd.ops import nn_extra as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(11)
KINKS = (-3.0, -1.0, -0.7, -0.5, 0.0, 0.5, 0.7, 1.0, 3.0)


def rnd(*shape):
    return R.standard_normal(shape)


def away(*shape, scale=2.0):
    """Normal draws kept 1e-2 away from every kink of the elementwise functions tested here."""
    x = R.standard_normal(shape) * scale
    for k in KINKS:
        near = np.abs(x - k) < 1e-2
        x[near] = k + 0.05
    return x


def distinct(*shape):  # no ties in max-pooling windows
    return R.permutation(int(np.prod(shape))).reshape(shape) * 0.37 + R.uniform(0, 0.01, shape)


def val(t):
    return np.asarray(t.data if isinstance(t, nerve.Tensor) else t)


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def sparsemax_ref(z, axis=-1):
    """Sparsemax by bisection on tau (sum max(z - tau, 0) = 1 is decreasing in tau): no sorting, so
    independent of the implementation's sorted cumulative sum."""
    z = np.moveaxis(np.asarray(z, np.float64), axis, -1)
    lo, hi = z.max(-1, keepdims=True) - 1, z.max(-1, keepdims=True)
    for _ in range(200):
        mid = (lo + hi) / 2
        big = np.maximum(z - mid, 0).sum(-1, keepdims=True) > 1
        lo, hi = np.where(big, mid, lo), np.where(big, hi, mid)
    return np.moveaxis(np.maximum(z - (lo + hi) / 2, 0), -1, axis)


# ---------------------------------------------------------------------------------------------- activations
ACT = {  # name: (nerve, reference on a torch tensor)
    "celu": (F.celu, TF.celu),
    "celu_alpha": (lambda x: F.celu(x, alpha=0.5), lambda t: TF.celu(t, alpha=0.5)),
    "glu": (F.glu, TF.glu),
    "glu_axis0": (lambda x: F.glu(x, axis=0), lambda t: TF.glu(t, dim=0)),
    "hard_shrink": (F.hard_shrink, TF.hardshrink),
    "hard_shrink_1": (lambda x: F.hard_shrink(x, threshold=1.0), lambda t: TF.hardshrink(t, 1.0)),
    "hard_silu": (F.hard_silu, TF.hardswish),
    "hard_swish": (F.hard_swish, TF.hardswish),
    "hard_tanh": (F.hard_tanh, TF.hardtanh),
    "soft_shrink": (F.soft_shrink, TF.softshrink),
    "soft_shrink_1": (lambda x: F.soft_shrink(x, 1.0), lambda t: TF.softshrink(t, 1.0)),
    "sparse_plus": (F.sparse_plus, lambda t: torch.where(t <= -1, 0 * t, torch.where(t < 1, (t + 1) ** 2 / 4, t))),
    "sparse_sigmoid": (F.sparse_sigmoid, lambda t: (TF.hardtanh(t) + 1) / 2),
    "sparsemax": (F.sparsemax, None),
    "sparsemax_axis0": (lambda x: F.sparsemax(x, axis=0), None),
    "squareplus": (F.squareplus, lambda t: (t + torch.sqrt(t * t + 4)) / 2),
    "squareplus_b": (lambda x: F.squareplus(x, b=0.3), lambda t: (t + torch.sqrt(t * t + 0.3)) / 2),
    "tanh_shrink": (F.tanh_shrink, TF.tanhshrink),
    "threshold": (lambda x: F.threshold(x, 0.7, -2.0), lambda t: TF.threshold(t, 0.7, -2.0)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("key", list(ACT))
def test_activation_values_and_gradients(key, dtype):
    f, ref = ACT[key]
    x = away(4, 6).astype(dtype)
    t = nerve.tensor(x, requires_grad=True)
    y = f(t)
    cot = R.standard_normal(y.shape).astype(dtype)
    (y * cot).sum().backward()
    assert val(y).dtype == dtype and t.grad.dtype == dtype
    if ref is None:  # sparsemax: the bisection reference; its gradient is gradchecked below
        axis = 0 if key.endswith("axis0") else -1
        np.testing.assert_allclose(val(y), sparsemax_ref(x, axis), **tol(dtype))
        return
    tx = torch.tensor(x, requires_grad=True)
    ty = ref(tx)
    (ty * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(val(y), ty.detach().numpy(), **tol(dtype))
    np.testing.assert_allclose(val(t.grad), tx.grad.numpy(), **tol(dtype))


def test_keras_docstring_examples():
    def v(f, x, *a, **k):
        return val(f(np.array(x, np.float32), *a, **k)).tolist()
    np.testing.assert_allclose(v(F.celu, [-1.0, 0.0, 1.0]), [-0.63212056, 0.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(v(F.glu, [-1.0, 0.0, 1.0, 1.0]), [-0.73105858, 0.0], rtol=1e-6)
    assert v(F.hard_shrink, [-0.5, 0.0, 1.0]) == [0, 0, 1]
    assert v(F.hard_tanh, [-2.0, -1.0, 0.0, 1.0, 2.0]) == [-1, -1, 0, 1, 1]
    assert v(F.soft_shrink, [-1.0, 0.0, 1.0]) == [-0.5, 0, 0.5]
    assert v(F.sparse_plus, [-1.0, 0.0, 1.0]) == [0, 0.25, 1]
    assert v(F.sparse_sigmoid, [-6.0, 1.0, 0.0, 1.0, 6.0]) == [0, 1, 0.5, 1, 1]
    assert v(F.sparsemax, [-1.0, 0.0, 1.0]) == [0, 0, 1]
    assert v(F.sparsemax, [-0.5, 0, 1, 2, 3]) == [0, 0, 0, 0, 1]  # Keras' test
    np.testing.assert_allclose(v(F.squareplus, [-1.0, 0.0, 1.0]), [0.618034, 1.0, 1.618034], rtol=1e-6)
    np.testing.assert_allclose(v(F.tanh_shrink, [-1.0, 0.0, 1.0]), [-0.23840584, 0, 0.23840584], rtol=1e-6)
    assert v(F.threshold, [-1.0, 0.0, 1.0, 2.0], 1, 0) == [0, 0, 0, 2]


def test_sparsemax_is_the_simplex_projection():
    x = rnd(5, 7) * 3
    p = val(F.sparsemax(x))
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-12)
    assert (p >= 0).all() and (p == 0).any()
    # [0.5, 0.4, 0]: all three in the support, tau = (0.9 - 1) / 3 (Keras 3.15 gives [0.067, 0, 0] here)
    np.testing.assert_allclose(val(F.sparsemax(np.array([0.5, 0.4, 0.0]))), [16 / 30, 13 / 30, 1 / 30],
                               rtol=1e-6)
    # the Jacobian diag(s) - s s^T / |S| (Martins & Astudillo 2016, eq. 12)
    z = np.array([1.0, 0.8, 0.1, -2.0])
    s = (val(F.sparsemax(z)) > 0).astype(float)
    jac = np.diag(s) - np.outer(s, s) / s.sum()
    for i in range(4):
        t = nerve.tensor(z, requires_grad=True)
        F.sparsemax(t)[i].backward()
        np.testing.assert_allclose(val(t.grad), jac[i], atol=1e-15)
    big = np.array([[1e4, -1e4, 0.0], [3.0, 3.0, 3.0]], np.float32)  # no overflow; ties split evenly
    np.testing.assert_allclose(val(F.sparsemax(big)), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


SUBGRADIENTS = [  # (name, function, points, the derivative taken there)
    ("hard_shrink at |x| = threshold", F.hard_shrink, [-0.5, 0.5], [0, 0]),
    ("soft_shrink at |x| = threshold", F.soft_shrink, [-0.5, 0.5], [0, 0]),
    ("hard_tanh at x = +-1", F.hard_tanh, [-1, 1], [0, 0]),
    ("sparse_sigmoid at x = +-1", F.sparse_sigmoid, [-1, 1], [0, 0]),
    ("hard_silu at x = -3 and 3 (torch: -0.5, 1.5)", F.hard_silu, [-3, 3], [0, 1]),
    ("threshold at x = threshold", lambda x: F.threshold(x, 0.7, -2.0), [0.7], [0]),
    ("squareplus with b = 0 at x = 0", lambda x: F.squareplus(x, b=0), [0], [0.5]),
    ("sparse_plus at x = +-1 (C^1: no choice)", F.sparse_plus, [-1, 1], [0, 1]),
    ("celu at 0 (C^1: no choice)", F.celu, [0], [1]),
]


@pytest.mark.parametrize("name,f,points,slopes", SUBGRADIENTS, ids=[s[0] for s in SUBGRADIENTS])
def test_derivative_at_kinks(name, f, points, slopes):
    t = nerve.tensor(np.array(points, np.float64), requires_grad=True)
    f(t).sum().backward()
    np.testing.assert_array_equal(val(t.grad), slopes)


# ---------------------------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_normalization_matches_torch(dtype):
    x, g, b = (a.astype(dtype) for a in (rnd(3, 4, 5) * 2 + 1, rnd(5), rnd(5)))
    t = lambda a: torch.tensor(a)  # noqa: E731
    ref = TF.layer_norm(t(x), (5,), t(g), t(b), eps=1e-3).numpy()
    y = F.layer_normalization(x, g, b, epsilon=1e-3)
    assert val(y).dtype == dtype
    np.testing.assert_allclose(val(y), ref, **tol(dtype))
    ref = TF.layer_norm(t(x), (4, 5), eps=1e-7).numpy()  # default epsilon: backend.epsilon()
    np.testing.assert_allclose(val(F.layer_normalization(x, axis=(1, 2))), ref, **tol(dtype))
    g2 = rnd(4, 5).astype(dtype)
    ref = TF.layer_norm(t(x), (4, 5), t(g2), eps=1e-7).numpy()
    np.testing.assert_allclose(val(F.layer_normalization(x, gamma=g2, axis=[-2, -1])), ref, **tol(dtype))


def test_layer_normalization_other_axes_and_keras_example():
    x, g, b = rnd(2, 3, 4), rnd(3), rnd(3)
    m, v = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    ref = (x - m) / np.sqrt(v + 1e-5) * g[:, None] + b[:, None]
    np.testing.assert_allclose(val(F.layer_normalization(x, g, b, axis=1, epsilon=1e-5)), ref, rtol=1e-12)
    np.testing.assert_allclose(val(F.layer_normalization(np.arange(5, dtype=np.float32))),
                               [-1.4142135, -0.70710677, 0.0, 0.7071067, 1.4142135], rtol=1e-6, atol=1e-7)
    y = F.layer_normalization(rnd(2, 6).astype(np.float16))  # computed in float32, returned as float16
    assert val(y).dtype == np.float16
    with pytest.warns(UserWarning, match="rms_scaling=True is deprecated"):
        y = F.layer_normalization(x, g[None, :, None], axis=1, rms_scaling=True)
    np.testing.assert_allclose(val(y), x / np.sqrt(v + 1e-7) * g[:, None], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rms_normalization_matches_torch(dtype):
    x, s = (rnd(3, 4, 6) * 2).astype(dtype), rnd(6).astype(dtype)
    ref = TF.rms_norm(torch.tensor(x), (6,), torch.tensor(s), eps=1e-6).numpy()
    y = F.rms_normalization(x, s, epsilon=1e-6)
    assert val(y).dtype == dtype
    np.testing.assert_allclose(val(y), ref, **tol(dtype))
    ref = TF.rms_norm(torch.tensor(x), (4, 6), eps=1e-7).numpy()
    np.testing.assert_allclose(val(F.rms_normalization(x, axis=(1, 2))), ref, **tol(dtype))
    x64 = x.astype(np.float64)
    ref = x64 / np.sqrt((x64 ** 2).mean(0, keepdims=True) + 1e-7)
    np.testing.assert_allclose(val(F.rms_normalization(x, axis=0)), ref, **tol(dtype))


# ---------------------------------------------------------------------------------------------- depth <-> space
def d2s_ref(x, r):
    """TensorFlow's depth_to_space (NHWC), element by element."""
    n, h, w, c = x.shape
    c2 = c // (r * r)
    out = np.zeros((n, h * r, w * r, c2), x.dtype)
    for i in range(h * r):
        for j in range(w * r):
            out[:, i, j] = x[:, i // r, j // r, ((i % r) * r + j % r) * c2:((i % r) * r + j % r + 1) * c2]
    return out


@pytest.mark.parametrize("r", [2, 3])
def test_depth_to_space_and_back(r):
    x = rnd(2, 3, 2, 2 * r * r)
    y = F.depth_to_space(x, r)
    np.testing.assert_array_equal(val(y), d2s_ref(x, r))
    np.testing.assert_array_equal(val(F.space_to_depth(y, r)), x)
    xc = rnd(2, 2 * r * r, 3, 2)  # channels_first: torch's pixel_shuffle / pixel_unshuffle
    yc = F.depth_to_space(xc, r, data_format="channels_first")
    np.testing.assert_array_equal(val(yc), TF.pixel_shuffle(torch.tensor(xc), r).numpy())
    np.testing.assert_array_equal(val(F.space_to_depth(yc, r, data_format="channels_first")),
                                  TF.pixel_unshuffle(torch.tensor(val(yc)), r).numpy())
    assert F.depth_to_space(np.arange(48).reshape(1, 2, 2, 12), 2).shape == (1, 4, 4, 3)  # Keras' examples
    assert val(F.space_to_depth(np.arange(48).reshape(1, 4, 4, 3), 2)).dtype.kind == "i"  # any dtype
    assert F.space_to_depth(rnd(1, 3, 4, 4), 2, data_format="channels_first").shape == (1, 12, 2, 2)


# ---------------------------------------------------------------------------------------------- psnr
def test_psnr():
    x1, x2 = R.uniform(0, 1, (2, 4, 4, 3)), R.uniform(0, 1, (2, 4, 4, 3))
    ref = 20 * np.log10(1.0) - 10 * np.log10(np.mean((x1 - x2) ** 2))
    np.testing.assert_allclose(float(val(F.psnr(x1, x2, 1.0))), ref, rtol=1e-12)
    np.testing.assert_allclose(float(val(F.psnr(x1 * 255, x2 * 255, np.float64(255)))), ref, rtol=1e-12)
    np.testing.assert_allclose(float(val(F.psnr(x1 * 2, x2 * 2, np.array(2.0)))), ref, rtol=1e-12)
    y = F.psnr(x1.astype(np.float32), x2.astype(np.float32), 1.0)
    assert y.shape == () and val(y).dtype == np.float32


# ---------------------------------------------------------------------------------------------- attention
def torch_attention(q, k, v, bias=None, mask=None, scale=None, is_causal=False):
    """torch's scaled_dot_product_attention in Keras' (B, T, N, H) layout, masks combined as Keras does."""
    t = lambda a: torch.tensor(a).permute(0, 2, 1, 3)  # noqa: E731
    T, S = q.shape[1], k.shape[1]
    keep = np.ones((1, 1, T, S), bool) if mask is None else np.broadcast_to(mask, (1,) * (4 - mask.ndim) + mask.shape)
    if is_causal:
        keep = keep & np.tril(np.ones((T, S), bool))
    attn = torch.tensor(np.where(keep, 0.0, -np.inf))
    if bias is not None:
        attn = attn + torch.tensor(bias)
    out = TF.scaled_dot_product_attention(t(q), t(k), t(v), attn_mask=attn.to(torch.tensor(q).dtype), scale=scale,
                                          enable_gqa=True)
    return out.permute(0, 2, 1, 3).numpy()


ATTN = [  # (B, T, S, N, K, H, H', bias shape, mask shape, scale, is_causal)
    (2, 3, 4, 2, 2, 5, 5, None, None, None, False),
    (2, 4, 4, 2, 2, 3, 3, None, None, None, True),
    (1, 3, 5, 4, 2, 3, 2, (1, 4, 3, 5), None, 0.3, False),  # grouped-query, value head dim 2
    (2, 3, 4, 3, 1, 4, 4, (3, 1), (2, 1, 3, 4), None, False),  # multi-query, a mask per batch and query
    (1, 4, 4, 2, 1, 2, 2, None, (4,), None, True),  # mask on keys, and causal
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("B,T,S,N,K,H,Hv,bias,mask,scale,causal", ATTN)
def test_dot_product_attention_matches_torch(B, T, S, N, K, H, Hv, bias, mask, scale, causal, dtype):
    q, k, v = (rnd(*s).astype(dtype) for s in ((B, T, N, H), (B, S, K, H), (B, S, K, Hv)))
    b = None if bias is None else rnd(*bias).astype(dtype)
    m = None
    if mask is not None:
        m = R.uniform(size=mask) > 0.3
        m[..., 0] = True  # no fully masked row (torch gives NaN there)
    y = F.dot_product_attention(q, k, v, bias=b, mask=m, scale=scale, is_causal=causal)
    assert y.shape == (B, T, N, Hv) and val(y).dtype == dtype
    np.testing.assert_allclose(val(y), torch_attention(q, k, v, b, m, scale, causal), **tol(dtype))


def test_dot_product_attention_fully_masked_row_is_uniform():
    q, k, v = rnd(1, 2, 1, 3), rnd(1, 4, 1, 3), rnd(1, 4, 1, 3)
    m = np.array([[False] * 4, [True, True, False, False]])
    y = val(F.dot_product_attention(q, k, v, mask=m))
    np.testing.assert_allclose(y[0, 0, 0], v[0, :, 0].mean(0), rtol=1e-12)  # Keras' large negative, not -inf
    assert F.dot_product_attention(rnd(2, 4, 8, 16), rnd(2, 6, 8, 16), rnd(2, 6, 8, 16)).shape == (2, 4, 8, 16)


# ---------------------------------------------------------------------------------------------- adaptive pooling
TORCH_ADAPTIVE = {("average", 1): TF.adaptive_avg_pool1d, ("average", 2): TF.adaptive_avg_pool2d,
                  ("average", 3): TF.adaptive_avg_pool3d, ("max", 1): TF.adaptive_max_pool1d,
                  ("max", 2): TF.adaptive_max_pool2d, ("max", 3): TF.adaptive_max_pool3d}
ADAPT = [((7,), 3), ((10,), (4,)), ((5,), 7), ((7, 6), (3, 4)), ((8, 8), 4), ((5, 9), (5, 2)), ((3, 4), 6),
         ((5, 4, 6), (2, 3, 4))]


@pytest.mark.parametrize("mode", ["average", "max"])
@pytest.mark.parametrize("spatial,out", ADAPT)
def test_adaptive_pool_matches_torch(spatial, out, mode):
    fn = F.adaptive_average_pool if mode == "average" else F.adaptive_max_pool
    tf = TORCH_ADAPTIVE[mode, len(spatial)]
    x = distinct(2, 3, *spatial)  # channels_first, as torch
    ref = tf(torch.tensor(x), out).numpy()
    np.testing.assert_allclose(val(fn(x, out, data_format="channels_first")), ref, rtol=1e-12)
    y = fn(np.moveaxis(x, 1, -1).astype(np.float32), out)  # channels_last, the default
    assert val(y).dtype == np.float32
    np.testing.assert_allclose(val(y), np.moveaxis(ref, 1, -1), rtol=1e-5)
    # gradients: torch's max routes each window's gradient to its (unique) maximum, as here
    t = nerve.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    cot = R.standard_normal(ref.shape)
    (fn(t, out, data_format="channels_first") * cot).sum().backward()
    (tf(tx, out) * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(val(t.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_adaptive_pool_keras_examples():
    assert F.adaptive_max_pool(R.uniform(size=(2, 64, 64, 3)), (32, 32)).shape == (2, 32, 32, 3)
    assert F.adaptive_average_pool(R.uniform(size=(2, 100, 80, 3)), 7).shape == (2, 7, 7, 3)


# ---------------------------------------------------------------------------------------------- unfold / fold
UNFOLD = [  # (H, W, kernel_size, dilation, padding, stride)
    (5, 6, 2, 1, 0, 1), (5, 6, (3, 2), 1, 1, 2), (7, 7, 3, 2, 1, 1), (6, 5, (2, 3), (2, 1), (0, 2), (1, 2)),
    (4, 4, 2, 1, 0, 2), (3, 3, 1, 1, 0, 1)]


@pytest.mark.parametrize("H,W,k,d,p,s", UNFOLD)
def test_unfold_fold_match_torch(H, W, k, d, p, s):
    x = rnd(2, 3, H, W)
    kw = dict(kernel_size=k, dilation=d, padding=p, stride=s)
    cols = torch.nn.functional.unfold(torch.tensor(x), **kw).numpy()
    np.testing.assert_array_equal(val(F.unfold(x, **kw)), cols)
    c = rnd(*cols.shape)
    np.testing.assert_allclose(val(F.fold(c, (H, W), **kw)), TF.fold(torch.tensor(c), (H, W), **kw).numpy(),
                               rtol=1e-12, atol=1e-14)
    assert val(F.unfold(x.astype(np.float32), **kw)).dtype == np.float32


def test_unfold_keras_example():
    patches = F.unfold(np.ones((1, 2, 4, 4)), kernel_size=2, stride=2)
    assert patches.shape == (1, 8, 4)
    y = F.fold(patches, output_size=(4, 4), kernel_size=2, stride=2)
    np.testing.assert_array_equal(val(y), np.ones((1, 2, 4, 4)))  # non-overlapping blocks: the inverse
    counts = val(F.fold(F.unfold(np.ones((1, 1, 3, 3)), 2), 3, 2))  # overlapping: blocks covering each pixel
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


# ---------------------------------------------------------------------------------------------- float64 gradcheck
def causal_mask_gqa(q, k, v):
    return F.dot_product_attention(q, k, v, mask=np.array([True, False, True, True]), is_causal=True)


def rms_scaled(x, g):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return F.layer_normalization(x, g, axis=-1, rms_scaling=True)


GRAD = [
    ("celu", F.celu, away(3, 4)),
    ("celu_alpha", lambda x: F.celu(x, alpha=2.5), away(3, 4)),
    ("glu", F.glu, rnd(3, 4)),
    ("glu_axis0", lambda x: F.glu(x, axis=0), rnd(4, 3)),
    ("hard_shrink", F.hard_shrink, away(3, 4)),
    ("hard_silu", F.hard_silu, away(3, 5, scale=3.0)),
    ("hard_tanh", F.hard_tanh, away(3, 4)),
    ("soft_shrink", lambda x: F.soft_shrink(x, 0.7), away(3, 4)),
    ("sparse_plus", F.sparse_plus, away(3, 4)),
    ("sparse_sigmoid", F.sparse_sigmoid, away(3, 4)),
    ("sparsemax", F.sparsemax, rnd(3, 5)),
    ("sparsemax_axis0", lambda x: F.sparsemax(x, axis=0), rnd(6, 2)),
    ("squareplus", F.squareplus, rnd(3, 4)),
    ("squareplus_b", lambda x: F.squareplus(x, b=0.1), rnd(3, 4)),
    ("tanh_shrink", F.tanh_shrink, rnd(3, 4)),
    ("threshold", lambda x: F.threshold(x, 0.5, 3.0), away(3, 4)),
    ("layer_normalization", lambda x, g, b: F.layer_normalization(x, g, b, epsilon=1e-3), rnd(3, 5), rnd(5),
     rnd(5)),
    ("layer_normalization_axes", lambda x, g: F.layer_normalization(x, g, axis=(1, 2)), rnd(2, 3, 2, 2),
     rnd(3, 2)),
    ("layer_normalization_axis1", lambda x, b: F.layer_normalization(x, beta=b, axis=1), rnd(2, 3, 2), rnd(3)),
    ("layer_normalization_rms_scaling", rms_scaled, rnd(2, 4), rnd(4)),
    ("rms_normalization", lambda x, s: F.rms_normalization(x, s), rnd(3, 4), rnd(4)),
    ("rms_normalization_axes", lambda x: F.rms_normalization(x, axis=(0, 2), epsilon=1e-3), rnd(2, 3, 2)),
    ("depth_to_space", lambda x: F.depth_to_space(x, 2), rnd(1, 2, 2, 8)),
    ("depth_to_space_first", lambda x: F.depth_to_space(x, 2, data_format="channels_first"), rnd(1, 8, 2, 1)),
    ("space_to_depth", lambda x: F.space_to_depth(x, 2), rnd(1, 4, 2, 2)),
    ("space_to_depth_first", lambda x: F.space_to_depth(x, 2, "channels_first"), rnd(1, 1, 2, 4)),
    ("psnr", lambda a, b: F.psnr(a, b, 2.0), rnd(2, 3), rnd(2, 3)),
    ("psnr_tensor_max_val", F.psnr, rnd(2, 3), rnd(2, 3), np.array(1.5)),
    ("dot_product_attention", F.dot_product_attention, rnd(1, 3, 2, 2), rnd(1, 4, 2, 2), rnd(1, 4, 2, 3)),
    ("dot_product_attention_bias", lambda q, k, v, b: F.dot_product_attention(q, k, v, bias=b, scale=0.7),
     rnd(2, 2, 1, 3), rnd(2, 3, 1, 3), rnd(2, 3, 1, 2), rnd(1, 2, 3)),
    ("dot_product_attention_mask_causal_gqa", causal_mask_gqa, rnd(1, 4, 2, 2), rnd(1, 4, 1, 2), rnd(1, 4, 1, 2)),
    ("adaptive_average_pool_1d", lambda x: F.adaptive_average_pool(x, 3), rnd(2, 7, 2)),
    ("adaptive_average_pool_2d", lambda x: F.adaptive_average_pool(x, (2, 3)), rnd(1, 5, 4, 2)),
    ("adaptive_average_pool_3d_first", lambda x: F.adaptive_average_pool(x, 2, "channels_first"),
     rnd(1, 2, 3, 3, 4)),
    ("adaptive_max_pool_1d", lambda x: F.adaptive_max_pool(x, 4), distinct(2, 6, 2)),
    ("adaptive_max_pool_2d", lambda x: F.adaptive_max_pool(x, (3, 2)), distinct(1, 5, 5, 2)),
    ("unfold", lambda x: F.unfold(x, 2, dilation=(1, 2), padding=1, stride=(2, 1)), rnd(1, 2, 4, 5)),
    ("fold", lambda x: F.fold(x, (4, 5), 2, padding=1, stride=(2, 1)), rnd(1, 8, 18)),
]


@pytest.mark.parametrize("fn,inputs", [pytest.param(c[1], c[2:], id=c[0]) for c in GRAD])
def test_gradcheck(fn, inputs):
    nerve.gradcheck(fn, list(inputs))


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("fn,inputs", [pytest.param(c[1], c[2:], id=c[0]) for c in GRAD])
def test_on_the_device_as_on_the_cpu(cp, fn, inputs):
    """Values and input gradients on device arrays equal the CPU's (host masks and constants moved to the
    device, no implicit conversion)."""
    fakecupy.check_same_on_device(cp, fn, inputs)


# ---------------------------------------------------------------------------------------------- errors
X4 = rnd(1, 4, 4, 8)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: F.celu(X4, alpha=0), ValueError, "celu: argument 'alpha' expected a nonzero number"),
    (lambda: F.celu(X4, alpha="a"), TypeError, "celu: argument 'alpha' expected a real number, got 'a'"),
    (lambda: F.hard_shrink(X4, threshold=None), TypeError, "hard_shrink: argument 'threshold' expected a real"),
    (lambda: F.soft_shrink(X4, threshold=-1), ValueError, "soft_shrink: argument 'threshold' expected a number >= 0"),
    (lambda: F.squareplus(X4, b=-1), ValueError, "squareplus: argument 'b' expected a number >= 0"),
    (lambda: F.squareplus(X4, b=float("nan")), ValueError, "squareplus: argument 'b' expected a finite number"),
    (lambda: F.threshold(X4, "x", 0), TypeError, "threshold: argument 'threshold' expected a real number"),
    (lambda: F.glu(rnd(2, 3)), ValueError, r"glu: argument 'x' expected an even size along axis -1, got shape "
                                           r"\(2, 3\)"),
    (lambda: F.glu(rnd(2, 4), axis=2), ValueError, r"glu: argument 'axis' expected an int in \[-2, 2\)"),
    (lambda: F.sparsemax(rnd(2, 3), axis=2), ValueError, r"sparsemax: argument 'axis' expected an int in \[-2, 2\)"),
    (lambda: F.sparsemax(np.float64(1.0)), ValueError, "sparsemax: argument 'axis'"),
    (lambda: F.layer_normalization(rnd(2, 3), rnd(2)), ValueError,
     r"layer_normalization: argument 'gamma' expected shape \(3,\) .* got shape \(2,\)"),
    (lambda: F.layer_normalization(rnd(2, 3), axis=2), ValueError, "layer_normalization: argument 'axis'"),
    (lambda: F.layer_normalization(rnd(2, 3), scale=1), TypeError,
     r"layer_normalization: unexpected keyword arguments \['scale'\]"),
    (lambda: F.rms_normalization(rnd(2, 3), rnd(3, 1)), ValueError, "rms_normalization: argument 'scale' expected"),
    (lambda: F.depth_to_space(X4, 3), ValueError,
     "depth_to_space: argument 'x' expected channels divisible by block_size\\*\\*2 = 9, got 8 channels"),
    (lambda: F.depth_to_space(X4, 1), ValueError, "depth_to_space: argument 'block_size' expected an int >= 2, got 1"),
    (lambda: F.depth_to_space(rnd(2, 8), 2), ValueError, r"depth_to_space: argument 'x' expected rank 4"),
    (lambda: F.depth_to_space(X4, 2, data_format="NHWC"), ValueError, "depth_to_space: argument 'data_format'"),
    (lambda: F.space_to_depth(rnd(1, 3, 4, 1), 2), ValueError,
     "space_to_depth: argument 'x' expected height and width divisible by block_size 2, got 3 x 4"),
    (lambda: F.psnr(rnd(2, 3), rnd(3, 2), 1.0), ValueError,
     r"psnr: arguments 'x1' and 'x2' must have the same shape, got \(2, 3\) and \(3, 2\)"),
    (lambda: F.psnr(rnd(2, 3), rnd(2, 3), 0.0), ValueError, "psnr: argument 'max_val' expected a number > 0"),
    (lambda: F.psnr(rnd(2, 3), rnd(2, 3), np.ones(2)), ValueError, "psnr: argument 'max_val' expected a scalar"),
    (lambda: F.dot_product_attention(rnd(1, 2, 2, 3), rnd(1, 4, 2, 2), rnd(1, 4, 2, 3)), ValueError,
     "dot_product_attention: arguments 'query' .* inconsistent shapes"),
    (lambda: F.dot_product_attention(rnd(1, 2, 3, 2), rnd(1, 4, 2, 2), rnd(1, 4, 2, 2)), ValueError,
     "dot_product_attention: argument 'key' has 2 heads; the query's 3 heads must be a multiple"),
    (lambda: F.dot_product_attention(rnd(2, 3, 2), rnd(2, 3, 2), rnd(2, 3, 2)), ValueError,
     r"dot_product_attention: argument 'query' expected rank 4 .*got shape \(2, 3, 2\)"),
    (lambda: F.dot_product_attention(rnd(1, 2, 1, 2), rnd(1, 3, 1, 2), rnd(1, 3, 1, 2), mask=np.ones((2, 2), bool)),
     ValueError, r"dot_product_attention: argument 'mask' expected a shape broadcastable to \(B, N, T, S\) = "
                 r"\(1, 1, 2, 3\), got shape \(2, 2\)"),
    (lambda: F.dot_product_attention(rnd(1, 2, 1, 2), rnd(1, 3, 1, 2), rnd(1, 3, 1, 2), bias=rnd(4)), ValueError,
     "dot_product_attention: argument 'bias' expected a shape broadcastable"),
    (lambda: F.dot_product_attention(rnd(1, 2, 1, 2), rnd(1, 3, 1, 2), rnd(1, 3, 1, 2), flash_attention=True),
     ValueError, "dot_product_attention: argument 'flash_attention' expected None or False"),
    (lambda: F.dot_product_attention(rnd(1, 2, 1, 2), rnd(1, 3, 1, 2), rnd(1, 3, 1, 2), attn_logits_soft_cap=5.0),
     ValueError, "dot_product_attention: argument 'attn_logits_soft_cap' expected None"),
    (lambda: F.adaptive_average_pool(rnd(2, 3), 2), ValueError,
     r"adaptive_average_pool: argument 'inputs' expected rank 3 or 4 or 5 .*got shape \(2, 3\)"),
    (lambda: F.adaptive_max_pool(X4, (2, 2, 2)), ValueError,
     "adaptive_max_pool: argument 'output_size' expected an int >= 1 or a tuple of 2 such ints"),
    (lambda: F.adaptive_max_pool(X4, 0), ValueError, "adaptive_max_pool: argument 'output_size'"),
    (lambda: F.adaptive_max_pool(X4, 2, data_format="NCHW"), ValueError, "adaptive_max_pool: argument 'data_format'"),
    (lambda: F.unfold(rnd(2, 3, 4), 2), ValueError, r"unfold: argument 'x' expected rank 4 .*got shape \(2, 3, 4\)"),
    (lambda: F.unfold(rnd(1, 1, 3, 3), 4), ValueError, r"unfold: the padded input \(3, 3\) .* is smaller"),
    (lambda: F.unfold(rnd(1, 1, 3, 3), 2, padding=-1), ValueError, "unfold: argument 'padding' expected an int >= 0"),
    (lambda: F.unfold(rnd(1, 1, 3, 3), 2, stride=0), ValueError, "unfold: argument 'stride' expected an int >= 1"),
    (lambda: F.fold(rnd(1, 8, 5), (4, 4), 2), ValueError,
     r"fold: argument 'x' expected shape \(N, C \* 4, 9\) .* got shape \(1, 8, 5\)"),
    (lambda: F.fold(rnd(1, 6, 9), (4, 4), 2), ValueError, r"fold: argument 'x' expected shape \(N, C \* 4, 9\)"),
    (lambda: F.fold(rnd(1, 8, 9, 1), (4, 4), 2), ValueError, "fold: argument 'x' expected rank 3"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_integer_inputs_become_floatx():
    assert val(F.hard_tanh(np.array([-2, 0, 2]))).dtype == np.float32
    assert val(F.sparsemax(np.array([[1, 2, 3]]))).dtype == np.float32
    assert val(F.unfold(np.ones((1, 1, 2, 2), np.int64), 1)).dtype == np.float32
