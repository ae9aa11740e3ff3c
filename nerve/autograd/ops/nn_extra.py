"""More of Keras 3's ``keras.ops.nn``: the newer activations, layer / RMS normalisation, attention, adaptive
pooling, im2col, pixel shuffle and PSNR, with Keras' names and signatures.

How the gradients come:
- elementwise activations are fused Functions (``_Pointwise``): forward computes y and dy/dx together,
  backward is g dy/dx. At a kink the derivative is that of the piece the kink belongs to in the forward's
  comparison, stated per function (e.g. hard_shrink at |x| = threshold: 0, as torch);
- sparsemax, unfold and fold are Functions with hand-written backward passes (cited at each);
- the rest (glu, normalisations, attention, adaptive pooling, depth/space, psnr) are compositions of the
  differentiable ops of this package.
Arrays are made with the input's array module (``backend.get_array_module``): NumPy or CuPy.
"""
import math
import warnings

import numpy as np

from ... import backend
from ..function import Function
from .nn_functional import _float_in, _ints, _shape
from .reduce import norm_axis, one_axis

import nerve.autograd.ops as O  # the package's ops (reshape, einsum, ...), looked up at call time

__all__ = ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "soft_shrink", "sparse_plus",
           "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink", "threshold", "layer_normalization",
           "rms_normalization", "depth_to_space", "space_to_depth", "psnr", "dot_product_attention",
           "adaptive_average_pool", "adaptive_max_pool", "unfold", "fold"]


# ----------------------------------------------------------------------- argument checks
def _number(v, arg, who, finite=True):
    """A real number (Python, NumPy or a 0-d array) as a Python float."""
    try:
        if isinstance(v, (bool, str, bytes)):
            raise TypeError
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: argument '{arg}' expected a real number, got {v!r}") from None
    if finite and not math.isfinite(f):
        raise ValueError(f"{who}: argument '{arg}' expected a finite number, got {v!r}")
    return f


def _format(data_format, who):
    df = backend.image_data_format() if data_format is None else data_format
    if df not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last', 'channels_first' or None, "
                         f"got {data_format!r}")
    return df


def _rank(x, ranks, arg, who, desc):
    s = _shape(x)
    if len(s) not in ranks:
        raise ValueError(f"{who}: argument '{arg}' expected rank {' or '.join(map(str, ranks))} {desc}, got shape {s}")
    return s


def _compute_dtype(x):
    """float16 computes in float32, as Keras' normalisations do: (x in the compute dtype, cast back)."""
    if O._data(x).dtype == np.float16:
        return O.cast(x, "float32"), lambda y: O.cast(y, "float16")
    return x, lambda y: y


# ----------------------------------------------------------------------- elementwise activations
class _Pointwise(Function):
    """y = f(x) elementwise; ``f(xp, x, **params)`` returns (y, dy/dx), so backward is g dy/dx."""
    name = "pointwise"

    def forward(self, x, f=None, **params):
        y, self.dydx = f(backend.get_array_module(x), x, **params)
        return y

    def backward(self, g):
        return g * self.dydx


def _celu(xp, x, alpha):
    # alpha (e^(x/alpha) - 1) for x <= 0, x for x > 0 (Barron 2017); slope e^(x/alpha) -> 1 at 0 from both sides
    e = xp.expm1(xp.minimum(x, 0) / alpha)  # 0 for x >= 0, so e + 1 is the slope on both pieces
    return xp.maximum(x, 0) + alpha * e, e + 1


def _hard_silu(xp, x):
    # x relu6(x + 3) / 6; slope 0 (x <= -3), (2x + 3) / 6 (-3 < x < 3), 1 (x >= 3): at x = -3 the subgradient 0
    # and at x = 3 the slope 1 (torch takes -0.5 and 1.5 there, the middle piece's slope)
    y = x * xp.clip(x + 3, 0, 6) / 6
    return y, xp.where(x <= -3, 0, xp.where(x >= 3, 1, (2 * x + 3) / 6))


def _hard_tanh(xp, x):
    # clip(x, -1, 1); slope 1 inside, 0 outside and at x = +-1 (as torch's hardtanh)
    return xp.clip(x, -1, 1), (x > -1) & (x < 1)


def _hard_shrink(xp, x, threshold):
    # x where |x| > threshold, else 0; slope 0 at |x| = threshold (as torch)
    keep = xp.abs(x) > threshold
    return xp.where(keep, x, 0), keep


def _soft_shrink(xp, x, threshold):
    # x - t (x > t), x + t (x < -t), 0 otherwise; slope 0 at |x| = t (as torch)
    y = xp.where(x > threshold, x - threshold, xp.where(x < -threshold, x + threshold, 0))
    return y, xp.abs(x) > threshold


def _sparse_plus(xp, x):
    # 0 (x <= -1), (x + 1)^2 / 4 (-1 < x < 1), x (x >= 1): C^1, slope 0, (x + 1) / 2, 1 (no kink in the slope)
    inner = (x > -1) & (x < 1)
    y = xp.where(x <= -1, 0, xp.where(inner, (x + 1) ** 2 / 4, x))
    return y, xp.where(x <= -1, 0, xp.where(inner, (x + 1) / 2, 1))


def _sparse_sigmoid(xp, x):
    # clip((x + 1) / 2, 0, 1); slope 1/2 on (-1, 1), 0 outside and at x = +-1
    return xp.clip((x + 1) / 2, 0, 1), ((x > -1) & (x < 1)) * x.dtype.type(0.5)


def _squareplus(xp, x, b):
    # (x + sqrt(x^2 + b)) / 2 (So 2021); slope (1 + x / sqrt(x^2 + b)) / 2, taken as 1/2 where b = 0 and x = 0
    r = xp.sqrt(x * x + b)
    return (x + r) / 2, (1 + x / xp.where(r > 0, r, 1)) / 2


def _tanh_shrink(xp, x):
    t = xp.tanh(x)  # x - tanh x; slope 1 - (1 - tanh^2) = tanh^2
    return x - t, t * t


def _threshold(xp, x, threshold, default_value):
    # x where x > threshold, else default_value (as torch.nn.functional.threshold); slope 0 at x = threshold
    keep = x > threshold
    return xp.where(keep, x, x.dtype.type(default_value)), keep


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: max(x, 0) + alpha (e^(min(x, 0) / alpha) - 1)."""
    alpha = _number(alpha, "alpha", "celu")
    if alpha == 0:
        raise ValueError("celu: argument 'alpha' expected a nonzero number (x / alpha is taken), got 0")
    return _Pointwise.apply(_float_in(x, "celu"), f=_celu, alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: a sigmoid(b), where x = [a, b] is split in two halves along ``axis``."""
    who = "glu"
    x = _float_in(x, who)
    s = _shape(x)
    ax = one_axis(axis, len(s), who)
    if s[ax] % 2:
        raise ValueError(f"{who}: argument 'x' expected an even size along axis {axis}, got shape {s}")
    a, b = O.split(x, 2, axis=ax)
    return O.multiply(a, O.sigmoid(b))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, 0 otherwise."""
    t = _number(threshold, "threshold", "hard_shrink")
    return _Pointwise.apply(_float_in(x, "hard_shrink"), f=_hard_shrink, threshold=t)


def hard_silu(x):
    """Hard SiLU / hard swish: x relu6(x + 3) / 6 (Howard et al. 2019)."""
    return _Pointwise.apply(_float_in(x, "hard_silu"), f=_hard_silu)


hard_swish = hard_silu


def hard_tanh(x):
    """-1 for x < -1, x on [-1, 1], 1 for x > 1."""
    return _Pointwise.apply(_float_in(x, "hard_tanh"), f=_hard_tanh)


def soft_shrink(x, threshold=0.5):
    """x - threshold for x > threshold, x + threshold for x < -threshold, 0 otherwise."""
    t = _number(threshold, "threshold", "soft_shrink")
    if t < 0:
        raise ValueError(f"soft_shrink: argument 'threshold' expected a number >= 0, got {threshold!r}")
    return _Pointwise.apply(_float_in(x, "soft_shrink"), f=_soft_shrink, threshold=t)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    return _Pointwise.apply(_float_in(x, "sparse_plus"), f=_sparse_plus)


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 for -1 < x < 1, 1 for x >= 1."""
    return _Pointwise.apply(_float_in(x, "sparse_sigmoid"), f=_sparse_sigmoid)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth ReLU (b >= 0; b = 0 is ReLU)."""
    b = _number(b, "b", "squareplus")
    if b < 0:
        raise ValueError(f"squareplus: argument 'b' expected a number >= 0 (sqrt(x^2 + b) must be real), got {b!r}")
    return _Pointwise.apply(_float_in(x, "squareplus"), f=_squareplus, b=b)


def tanh_shrink(x):
    """x - tanh(x)."""
    return _Pointwise.apply(_float_in(x, "tanh_shrink"), f=_tanh_shrink)


def threshold(x, threshold, default_value):
    """x where x > threshold, default_value otherwise."""
    t = _number(threshold, "threshold", "threshold", finite=False)
    v = _number(default_value, "default_value", "threshold", finite=False)
    return _Pointwise.apply(_float_in(x, "threshold"), f=_threshold, threshold=t, default_value=v)


class Sparsemax(Function):
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection of z onto the probability simplex,
    p = max(z - tau, 0). With z sorted descending, z_(1) >= z_(2) >= ..., the support size is
    k = max{j : 1 + j z_(j) > sum_{i<=j} z_(i)} and tau = (sum_{i<=k} z_(i) - 1) / k, so sum p = 1.
    Jacobian: diag(s) - s s^T / |S| with s the support indicator (p > 0), hence J^T g = s (g - sum_S g / |S|).
    (Keras 3.15 takes tau from the sum of the cumulative sums over the support, which equals this only
    when |S| = 1; this follows the paper.)"""
    name = "sparsemax"

    def forward(self, x, axis=-1):
        xp = backend.get_array_module(x)
        n = x.shape[axis]
        zs = -xp.sort(-x, axis=axis)  # descending
        cs = xp.cumsum(zs, axis=axis)
        j = xp.arange(1, n + 1, dtype=x.dtype).reshape([-1 if a == axis % x.ndim else 1 for a in range(x.ndim)])
        k = (1 + j * zs > cs).sum(axis=axis, keepdims=True)  # >= 1: j = 1 always qualifies
        tau = (xp.take_along_axis(cs, k - 1, axis=axis) - 1) / k.astype(x.dtype)
        out = xp.maximum(x - tau, 0)
        self.s, self.axis = out > 0, axis
        return out

    def backward(self, g):
        s = self.s
        gs = g * s
        return s * (g - gs.sum(axis=self.axis, keepdims=True) / s.sum(axis=self.axis, keepdims=True, dtype=g.dtype))


def sparsemax(x, axis=-1):
    """Sparsemax along ``axis``: like softmax a probability vector, but exactly 0 below a threshold tau."""
    x = _float_in(x, "sparsemax")
    ax = one_axis(axis, len(_shape(x)), "sparsemax")
    return Sparsemax.apply(x, axis=ax)


# ----------------------------------------------------------------------- normalisation
def _norm_param(v, arg, x, axes, who):
    """gamma / beta / scale: of shape x.shape[axes] (laid along those axes), or of x's rank broadcasting to it."""
    xs = _shape(x)
    v = _float_in(v, who)
    vs = _shape(v)
    dtype = O._data(x).dtype
    if O._data(v).dtype != dtype:
        v = O.cast(v, dtype)
    want = tuple(xs[a] for a in axes)
    if vs == want:
        return O.reshape(v, tuple(n if i in axes else 1 for i, n in enumerate(xs)))
    if len(vs) == len(xs) and all(a in (1, b) for a, b in zip(vs, xs)):
        return v
    raise ValueError(f"{who}: argument '{arg}' expected shape {want} (x.shape along axis {axes}) or a shape of "
                     f"rank {len(xs)} broadcasting to {xs}, got shape {vs}")


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Layer normalisation (Ba et al. 2016) over ``axis``: (x - mean) / sqrt(var + epsilon) * gamma + beta,
    written as Keras does, x inv + (beta - mean inv) with inv = gamma / sqrt(var + epsilon) (population
    variance; epsilon defaults to backend.epsilon()). ``rms_scaling=True`` (deprecated in Keras) is
    x gamma / sqrt(var + epsilon)."""
    who = "layer_normalization"
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"{who}: unexpected keyword arguments {sorted(kwargs)}")
    x, back = _compute_dtype(_float_in(x, who))
    axes = norm_axis(axis, len(_shape(x)), who)
    eps = backend.epsilon() if epsilon is None else _number(epsilon, "epsilon", who)
    g = None if gamma is None else _norm_param(gamma, "gamma", x, axes, who)
    b = None if beta is None else _norm_param(beta, "beta", x, axes, who)
    inv = O.divide(1.0, O.sqrt(O.add(O.var(x, axis=axes, keepdims=True), eps)))
    if g is not None:
        inv = O.multiply(inv, g)
    if rms_scaling:
        warnings.warn(f"{who}: rms_scaling=True is deprecated (it scales by the variance, not the root mean "
                      f"square); use rms_normalization", stacklevel=2)
        return back(O.multiply(x, inv))
    res = O.negative(O.multiply(O.mean(x, axis=axes, keepdims=True), inv))
    if b is not None:
        res = O.add(res, b)
    return back(O.add(O.multiply(x, inv), res))


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """RMS normalisation (Zhang & Sennrich 2019): x / sqrt(mean(x^2 over axis) + epsilon) * scale
    (epsilon defaults to backend.epsilon())."""
    who = "rms_normalization"
    x, back = _compute_dtype(_float_in(x, who))
    if not _shape(x):  # Keras: a scalar is normalised as a vector of length 1
        x = O.reshape(x, (1,))
    axes = norm_axis(axis, len(_shape(x)), who)
    eps = backend.epsilon() if epsilon is None else _number(epsilon, "epsilon", who)
    y = O.divide(x, O.sqrt(O.add(O.mean(O.square(x), axis=axes, keepdims=True), eps)))
    if scale is not None:
        y = O.multiply(y, _norm_param(scale, "scale", x, axes, who))
    return back(y)


# ----------------------------------------------------------------------- depth <-> space (pixel shuffle)
def _block(block_size, who):
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 2:
        raise ValueError(f"{who}: argument 'block_size' expected an int >= 2, got {block_size!r}")
    return int(block_size)


def depth_to_space(x, block_size, data_format="channels_last"):
    """(N, H, W, C r^2) -> (N, H r, W r, C) (TensorFlow's order: out[n, h r + i, w r + j, c] =
    x[n, h, w, (i r + j) C + c]); channels_first (N, C r^2, H, W) -> (N, C, H r, W r) in torch's
    pixel_shuffle order, x[n, c r^2 + i r + j, h, w]. A reshape and a transpose."""
    who = "depth_to_space"
    r = _block(block_size, who)
    first = _format(data_format, who) == "channels_first"
    x = O._t_arr(x)  # any dtype: a reshape and a transpose
    n, *rest = _rank(x, (4,), "x", who, "(batch, height, width, channels)")
    c, h, w = rest if first else (rest[2], rest[0], rest[1])
    if c % (r * r):
        raise ValueError(f"{who}: argument 'x' expected channels divisible by block_size**2 = {r * r}, got "
                         f"{c} channels (shape {_shape(x)}, {'channels_first' if first else 'channels_last'})")
    c2 = c // (r * r)
    if first:
        y = O.transpose(O.reshape(x, (n, c2, r, r, h, w)), (0, 1, 4, 2, 5, 3))
        return O.reshape(y, (n, c2, h * r, w * r))
    y = O.transpose(O.reshape(x, (n, h, w, r, r, c2)), (0, 1, 3, 2, 4, 5))
    return O.reshape(y, (n, h * r, w * r, c2))


def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of depth_to_space: (N, H r, W r, C) -> (N, H, W, C r^2) (channels_first likewise)."""
    who = "space_to_depth"
    r = _block(block_size, who)
    first = _format(data_format, who) == "channels_first"
    x = O._t_arr(x)
    n, *rest = _rank(x, (4,), "x", who, "(batch, height, width, channels)")
    c, h, w = rest if first else (rest[2], rest[0], rest[1])
    if h % r or w % r:
        raise ValueError(f"{who}: argument 'x' expected height and width divisible by block_size {r}, got "
                         f"{h} x {w} (shape {_shape(x)})")
    h2, w2 = h // r, w // r
    if first:
        y = O.transpose(O.reshape(x, (n, c, h2, r, w2, r)), (0, 1, 3, 5, 2, 4))
        return O.reshape(y, (n, c * r * r, h2, w2))
    y = O.transpose(O.reshape(x, (n, h2, r, w2, r, c)), (0, 1, 3, 2, 4, 5))
    return O.reshape(y, (n, h2, w2, c * r * r))


# ----------------------------------------------------------------------- PSNR
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio, 20 log10(max_val) - 10 log10(mean((x1 - x2)^2)), a scalar (over all
    elements, as Keras)."""
    who = "psnr"
    x1, x2 = _float_in(x1, who), _float_in(x2, who)
    if _shape(x1) != _shape(x2):
        raise ValueError(f"{who}: arguments 'x1' and 'x2' must have the same shape, got {_shape(x1)} and "
                         f"{_shape(x2)}")
    mse = O.mean(O.square(O.subtract(x1, x2)))
    noise = O.multiply(O.log(mse), 10 / math.log(10))
    if backend.is_array(O._data(max_val)) and O._data(max_val).ndim:
        raise ValueError(f"{who}: argument 'max_val' expected a scalar, got shape {_shape(max_val)}")
    if isinstance(max_val, (int, float, np.number)):
        m = _number(max_val, "max_val", who)
        if m <= 0:
            raise ValueError(f"{who}: argument 'max_val' expected a number > 0, got {max_val!r}")
        return O.subtract(20 * math.log10(m), noise)
    return O.subtract(O.multiply(O.log(_float_in(max_val, who)), 20 / math.log(10)), noise)


# ----------------------------------------------------------------------- attention
def _check_broadcast(shape, want, arg, who):
    try:
        ok = np.broadcast_shapes(tuple(shape), want) == want
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{who}: argument '{arg}' expected a shape broadcastable to (B, N, T, S) = {want}, got "
                         f"shape {tuple(shape)}")


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """softmax(scale Q K^T + bias, masked) V, Keras' layout: query (B, T, N, H), key (B, S, K, H), value
    (B, S, K, H'), output (B, T, N, H'). K < N key/value heads (N a multiple of K) is grouped-query
    attention: query head n reads key/value head n // (N / K). ``mask`` (True = attend) and ``is_causal``
    (query t sees keys s <= t) set the excluded logits to Keras' large negative -0.7 * 3.38953e38 (not -inf),
    so a fully masked row attends uniformly; scale defaults to 1 / sqrt(H). float16 computes in float32."""
    who = "dot_product_attention"
    if flash_attention:
        raise ValueError(f"{who}: argument 'flash_attention' expected None or False (no flash-attention kernel "
                         f"here), got {flash_attention!r}")
    if attn_logits_soft_cap is not None:
        raise ValueError(f"{who}: argument 'attn_logits_soft_cap' expected None (Keras supports it on JAX TPU "
                         f"only), got {attn_logits_soft_cap!r}")
    q, k, v = (_float_in(a, who) for a in (query, key, value))
    for arg, a in (("query", q), ("key", k), ("value", v)):
        _rank(a, (4,), arg, who, "(batch, length, heads, head_dim)")
    (b, t, n, h), (bk, s, kh, hk), (bv, sv, khv, _) = _shape(q), _shape(k), _shape(v)
    if (bk, hk) != (b, h) or (bv, sv, khv) != (bk, s, kh):
        raise ValueError(f"{who}: arguments 'query' (B, T, N, H), 'key' (B, S, K, H) and 'value' (B, S, K, H') "
                         f"have inconsistent shapes {_shape(q)}, {_shape(k)}, {_shape(v)}")
    if n % kh:
        raise ValueError(f"{who}: argument 'key' has {kh} heads; the query's {n} heads must be a multiple of them")
    dtype = np.result_type(*(O._data(a).dtype for a in (q, k, v)))
    work = np.float32 if dtype == np.float16 else dtype  # Keras' logits are at least float32
    q, k, v = (a if O._data(a).dtype == work else O.cast(a, work) for a in (q, k, v))
    g = n // kh
    scale = 1.0 / math.sqrt(h) if scale is None else _number(scale, "scale", who)
    logits = O.einsum("btkgh,bskh->bkgts", O.reshape(q, (b, t, kh, g, h)), k)  # head n = k g_size + g
    logits = O.multiply(O.reshape(logits, (b, n, t, s)), scale)
    want = (b, n, t, s)
    if bias is not None:
        bias = _float_in(bias, who)
        _check_broadcast(_shape(bias), want, "bias", who)
        logits = O.add(logits, bias if O._data(bias).dtype == work else O.cast(bias, work))
    xp = backend.get_array_module(O._data(logits))
    keep = None
    if mask is not None:  # a host mask moves to the logits' device
        m = O._data(mask)
        keep = backend.like(O._data(logits), m if backend.is_array(m) else np.asarray(m)).astype(bool)
        _check_broadcast(keep.shape, want, "mask", who)
    if is_causal:
        tri = xp.tril(xp.ones((t, s), dtype=bool))
        keep = tri if keep is None else keep & tri
    if keep is not None:
        logits = O.where(keep, logits, -0.7 * 3.38953e38)
    probs = O.reshape(O.softmax(logits, axis=-1), (b, kh, g, t, s))
    out = O.einsum("bkgts,bskh->btkgh", probs, v)
    out = O.reshape(out, (b, t, n, _shape(v)[-1]))
    return out if work == dtype else O.cast(out, dtype)


# ----------------------------------------------------------------------- adaptive pooling
def _adaptive_windows(n, m):
    """Output i pools [floor(i n / m), ceil((i + 1) n / m)) (torch's and Keras' adaptive windows)."""
    i = np.arange(m)
    return (i * n) // m, -(-((i + 1) * n) // m)


def _adaptive_axis(x, ax, m, mode):
    n = _shape(x)[ax]
    start, end = _adaptive_windows(n, m)
    if mode == "average":  # y = P x along ax, P[i, j] = 1 / |window i| on window i
        p = np.zeros((n, m), O._data(x).dtype)
        for i, (a, e) in enumerate(zip(start, end)):
            p[a:e, i] = 1.0 / (e - a)
        y = O.matmul(O.swapaxes(x, ax, -1), backend.like(O._data(x), p))
        return O.swapaxes(y, ax, -1)
    # max over the gathered windows, padded by repeating their last index (ties share the gradient, so a
    # repeated element still gets it once in all)
    idx = np.minimum(start[:, None] + np.arange(int((end - start).max())), end[:, None] - 1)
    return O.max(O.take(x, idx, axis=ax), axis=ax + 1)


def _adaptive(mode, who, inputs, output_size, data_format):
    x = _float_in(inputs, who)
    rank = len(_rank(x, (3, 4, 5), "inputs", who, "(batch, spatial..., channels) with 1 to 3 spatial axes")) - 2
    out = _ints(output_size, rank, "output_size", who)
    first = _format(data_format, who) == "channels_first"
    for i, m in enumerate(out):  # separable: a box mean / max is the mean / max along each axis in turn
        x = _adaptive_axis(x, i + (2 if first else 1), m, mode)
    return x


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Mean over the adaptive windows: output i of an axis of length n pools [floor(i n / m), ceil((i+1) n / m))
    (as torch's adaptive_avg_pool); 1 to 3 spatial axes, either data format."""
    return _adaptive("average", "adaptive_average_pool", inputs, output_size, data_format)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Maximum over the adaptive windows (see adaptive_average_pool); tied maxima in a window share the
    gradient (torch gives it to one of them)."""
    return _adaptive("max", "adaptive_max_pool", inputs, output_size, data_format)


# ----------------------------------------------------------------------- unfold / fold (im2col / col2im)
def _blocks(size, k, d, p, s):
    """Number of window positions per spatial axis (torch's unfold): (n + 2p - d (k - 1) - 1) // s + 1."""
    return tuple((n + 2 * pi - di * (ki - 1) - 1) // si + 1 for n, ki, di, pi, si in zip(size, k, d, p, s))


def _im2col(x, k, d, p, s):
    """(N, C, H, W) -> (N, C kh kw, L): column (c, i, j) at block (u, v) is x_pad[c, u s0 + i d0, v s1 + j d1]."""
    xp = backend.get_array_module(x)
    nb, c = x.shape[:2]
    lh, lw = _blocks(x.shape[2:], k, d, p, s)
    x = xp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    cols = xp.empty((nb, c, k[0], k[1], lh, lw), x.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            cols[:, :, i, j] = x[:, :, r0:r0 + (lh - 1) * s[0] + 1:s[0], c0:c0 + (lw - 1) * s[1] + 1:s[1]]
    return cols.reshape(nb, c * k[0] * k[1], lh * lw)


def _col2im(cols, size, k, d, p, s):
    """The adjoint of _im2col: each column entry added back to the pixel it was read from, padding cropped."""
    xp = backend.get_array_module(cols)
    nb = cols.shape[0]
    c = cols.shape[1] // (k[0] * k[1])
    lh, lw = _blocks(size, k, d, p, s)
    cols = cols.reshape(nb, c, k[0], k[1], lh, lw)
    out = xp.zeros((nb, c, size[0] + 2 * p[0], size[1] + 2 * p[1]), cols.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            r0, c0 = i * d[0], j * d[1]
            out[:, :, r0:r0 + (lh - 1) * s[0] + 1:s[0], c0:c0 + (lw - 1) * s[1] + 1:s[1]] += cols[:, :, i, j]
    return out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]


class Unfold(Function):
    """im2col; its backward is col2im (the two are adjoint: <im2col x, y> = <x, col2im y>)."""
    name = "unfold"

    def forward(self, x, k=None, d=None, p=None, s=None):
        self.cfg = (tuple(x.shape[2:]), k, d, p, s)
        return _im2col(x, k, d, p, s)

    def backward(self, g):
        return _col2im(g, *self.cfg)


class Fold(Function):
    """col2im (overlapping entries summed); its backward is im2col."""
    name = "fold"

    def forward(self, x, size=None, k=None, d=None, p=None, s=None):
        self.cfg = (k, d, p, s)
        return _col2im(x, size, k, d, p, s)

    def backward(self, g):
        return _im2col(g, *self.cfg)


def _unfold_args(who, kernel_size, dilation, padding, stride):
    return (_ints(kernel_size, 2, "kernel_size", who), _ints(dilation, 2, "dilation", who),
            _ints(padding, 2, "padding", who, low=0), _ints(stride, 2, "stride", who))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of a channels_first (N, C, H, W) image as columns (N, C kh kw, L), as
    torch.nn.functional.unfold and Keras: out[n, (c kh + i) kw + j, u Lw + v] = x_pad[n, c, u s0 + i d0,
    v s1 + j d1], zero padding p on each side."""
    who = "unfold"
    x = _float_in(x, who)
    shape = _rank(x, (4,), "x", who, "(N, C, H, W) (channels_first, as Keras and torch)")
    k, d, p, s = _unfold_args(who, kernel_size, dilation, padding, stride)
    if min(_blocks(shape[2:], k, d, p, s)) < 1:
        raise ValueError(f"{who}: the padded input {shape[2:]} + 2 * {p} is smaller than the dilated kernel "
                         f"{k} (dilation {d})")
    return Unfold.apply(x, k=k, d=d, p=p, s=s)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns (N, C kh kw, L) back into an (N, C, H, W) image, overlapping entries summed (col2im, as
    torch.nn.functional.fold); fold(unfold(x)) multiplies each pixel by the number of blocks covering it."""
    who = "fold"
    x = _float_in(x, who)
    nb, ckk, nl = _rank(x, (3,), "x", who, "(N, C * kh * kw, L)")
    size = _ints(output_size, 2, "output_size", who)
    k, d, p, s = _unfold_args(who, kernel_size, dilation, padding, stride)
    lh, lw = _blocks(size, k, d, p, s)
    if ckk % (k[0] * k[1]) or min(lh, lw) < 1 or nl != lh * lw:
        raise ValueError(f"{who}: argument 'x' expected shape (N, C * {k[0] * k[1]}, {max(lh, 0) * max(lw, 0)}) "
                         f"for output_size {size}, kernel_size {k}, dilation {d}, padding {p}, stride {s}; got "
                         f"shape {(nb, ckk, nl)}")
    return Fold.apply(x, size=size, k=k, d=d, p=p, s=s)
