"""Neural-network functions of Keras 3's ``keras.ops`` (``keras.ops.nn``), channels_last only.

Each is composed from nerve's existing Functions, so gradients come from their backward passes:
convolution and pooling run the NHWC kernels of ops/conv.py and ops/pool.py (1-D inputs (N, L, C) as
(N, 1, L, C), a unit height; 3-D inputs (N, D, H, W, C) the kernels of ops/conv3d.py), cross-entropies run
the fused losses of ops/loss.py, the rest are short compositions of the elementwise / reduction ops of this
package.

  moments:              mean = E_R[x],  variance = E_R[(x - mean)^2]            (population, over axes R)
  batch_normalization:  y = x * inv + (offset - mean * inv),  inv = scale / sqrt(variance + epsilon)
  normalize:            y = x / max(||x||_p, epsilon)  (Keras; for p = 2 written x / sqrt(max(sum x^2, eps^2)))
  log_sigmoid:          log sigma(x) = -softplus(-x)
  conv with groups G = C_in / kernel_in:  output block g = conv(x block g, kernel block g)  (jax
  feature_group_count); depthwise_conv is the G = C case with kernel (k, C, M) seen as (k, 1, C * M).
"""
import numpy as np

from ... import backend
from ..tensor import Tensor
from . import loss as L
from .conv import Conv2DFn, Conv2DTransposeFn, conv_out_len
from .conv3d import AvgPool3DFn, Conv3DFn, Conv3DTransposeFn, MaxPool3DFn
from .pool import AvgPool2DFn, MaxPool2DFn
from .reduce import norm_axis, one_axis

import nerve.autograd.ops as O  # the package's ops (reshape, sum, ...), looked up at call time


# ----------------------------------------------------------------------- argument checks
def _float_in(x, who):
    """A float Tensor or array (integer data cast to floatx, numbers to 0-d arrays)."""
    x = O._float(x, who)
    return x if isinstance(x, Tensor) or backend.is_array(x) else np.asarray(x)


def _shape(x):
    return tuple(O._data(x).shape)


def _data_format(data_format, who):
    df = backend.image_data_format() if data_format is None else data_format
    if df == "channels_first":
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' (nerve is channels_last only; move "
                         f"the channel axis last with ops.transpose), got 'channels_first'")
    if df != "channels_last":
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' or None, got {data_format!r}")


def _padding(padding, who):
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f"{who}: argument 'padding' expected 'valid' or 'same', got {padding!r}")
    return p


def _ints(value, n, arg, who, low=1):
    """An int or a sequence of n ints, each >= low (Keras ``standardize_tuple``) -> tuple of n ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
        ok = len(out) == n and not any(isinstance(v, bool) or int(v) != v for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(out) < low:
        raise ValueError(f"{who}: argument '{arg}' expected an int >= {low} or a tuple of {n} such ints, "
                         f"got {value!r}")
    return out


def _spatial_rank(x, who):
    """1 for (batch, steps, channels), 2 for (batch, rows, cols, channels), 3 for (batch, depth, rows, cols,
    channels)."""
    s = _shape(x)
    if len(s) not in (3, 4, 5):
        raise ValueError(f"{who}: argument 'inputs' expected rank 3 (batch, steps, channels), 4 (batch, rows, cols, "
                         f"channels) or 5 (batch, depth, rows, cols, channels), got shape {s}")
    return len(s) - 2


def _lift(x, rank):
    """(N, L, C) -> (N, 1, L, C): 1-D ops run the 2-D kernels on a unit height (2-D and 3-D run their own)."""
    if rank != 1:
        return x
    n, steps, c = _shape(x)
    return O.reshape(x, (n, 1, steps, c))


def _drop(y, rank):
    """(N, 1, L, C) -> (N, L, C), the inverse of _lift."""
    if rank != 1:
        return y
    n, _, steps, c = _shape(y)
    return O.reshape(y, (n, steps, c))


def _check_out(who, spatial, kernel, strides, dilation, padding, what="(dilated) kernel"):
    for n, k, s, d in zip(spatial, kernel, strides, dilation):
        if conv_out_len(n, k, s, d, padding)[0] <= 0:
            raise ValueError(f"{who}: input spatial size {tuple(spatial)} is smaller than the {what} "
                             f"{tuple(kernel)} (dilation {tuple(dilation)}) with padding {padding!r}")


# ----------------------------------------------------------------------- statistics and normalisation
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over ``axes``; the variance is the population one, E[(x - mean)^2].
    ``synchronized`` only matters across replicas: one process here, so it changes nothing."""
    x = _float_in(x, "moments")
    nd = len(_shape(x))
    ax = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and -nd <= a < max(nd, 1) for a in ax):
        raise ValueError(f"moments: argument 'axes' expected ints in [{-nd}, {nd}) for an input of rank {nd}, "
                         f"got {axes!r}")
    axes = tuple(sorted({int(a) % max(nd, 1) for a in ax}))
    cast_back = O._data(x).dtype == np.float16  # float16 has too little range for statistics: as Keras, in float32
    if cast_back:
        x = O.cast(x, "float32")
    mean, var = O.mean(x, axis=axes, keepdims=keepdims), O.var(x, axis=axes, keepdims=keepdims)
    if cast_back:
        big = float(np.finfo(np.float16).max)
        mean, var = (O.cast(O.clip(v, -big, big), "float16") for v in (mean, var))
    return mean, var


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """y = (x - mean) * scale / sqrt(variance + epsilon) + offset, the vectors laid along ``axis`` of x."""
    who = "batch_normalization"
    x = _float_in(x, who)
    ndim = len(_shape(x))
    ax = one_axis(axis, ndim, who)
    c = _shape(x)[ax]
    bshape = tuple(c if i == ax else 1 for i in range(ndim))
    vec = {}
    for name, v in (("mean", mean), ("variance", variance), ("offset", offset), ("scale", scale)):
        if v is None:
            continue
        v = _float_in(v, who)
        if _shape(v) != (c,):
            raise ValueError(f"{who}: argument '{name}' expected a vector of shape ({c},) (x.shape[axis] with axis="
                             f"{axis}), got shape {_shape(v)}")
        vec[name] = O.reshape(v, bshape)
    inv = O.divide(1.0, O.sqrt(O.add(vec["variance"], float(epsilon))))
    if "scale" in vec:
        inv = O.multiply(inv, vec["scale"])
    res = O.negative(O.multiply(vec["mean"], inv))  # as Keras: x * inv + (offset - mean * inv)
    if "offset" in vec:
        res = O.add(res, vec["offset"])
    return O.add(O.multiply(x, inv), res)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x / max(||x||_order, epsilon) over ``axis`` (Keras ``ops.normalize``; epsilon defaults to 1e-7).
    order 2: Keras computes x * min(rsqrt(sum x^2), 1 / eps), which equals x / sqrt(max(sum x^2, eps^2));
    the latter keeps the gradient finite at x = 0. Other orders: x / max(sum |x|^p, eps^p)^(1/p)."""
    who = "normalize"
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"{who}: argument 'order' expected an int >= 1, got {order!r}")
    x = _float_in(x, who)
    if not _shape(x):  # Keras: a scalar is normalised as a vector of length 1
        x = O.reshape(x, (1,))
    eps = backend.epsilon() if epsilon is None else float(epsilon)
    norm_axis(axis, len(_shape(x)), who)  # the axis check, with this op's name
    if order == 2:
        ss = O.sum(O.square(x), axis=axis, keepdims=True)
        return O.divide(x, O.sqrt(O.maximum(ss, eps * eps)))
    if not isinstance(axis, (int, np.integer)) and len(tuple(axis)) != 1:
        raise ValueError(f"{who}: argument 'axis' expected one int for order={order} (Keras takes a matrix norm "
                         f"over two axes; only order=2 sums over several axes here), got {axis!r}")
    a = O.abs(x)
    if order == 1:
        return O.divide(x, O.maximum(O.sum(a, axis=axis, keepdims=True), eps))
    s = O.sum(O.power(a, int(order)), axis=axis, keepdims=True)
    return O.divide(x, O.power(O.maximum(s, eps ** order), 1.0 / order))


def log_sigmoid(x):
    """log(1 / (1 + e^-x)) = -softplus(-x) (stable for large |x|)."""
    return O.negative(O.softplus(O.negative(_float_in(x, "log_sigmoid"))))


# ----------------------------------------------------------------------- encodings
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Keras ``ops.multi_hot``: one_hot(inputs) reduced by max over axis 1 (rank > 1) or 0 (rank 1), so
    integer labels (batch, k) give (batch, num_classes) with a 1 for each label present. Labels outside
    [0, num_classes) (e.g. -1 padding) are ignored, as TensorFlow's and JAX's one_hot do. No gradient."""
    who = "multi_hot"
    if num_classes is None and "num_tokens" in kwargs:  # Keras' legacy name
        num_classes = kwargs.pop("num_tokens")
    if kwargs:
        raise TypeError(f"{who}: unexpected keyword arguments {sorted(kwargs)}")
    if sparse:
        raise ValueError(f"{who}: argument 'sparse' expected False (nerve has no sparse tensors), got {sparse!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"{who}: argument 'num_classes' expected a positive int, got {num_classes!r}")
    lab = O._data(inputs)
    xp = backend.get_array_module(lab)
    lab = xp.asarray(lab)
    if lab.dtype.kind == "f" and bool((lab == xp.round(lab)).all()):
        lab = lab.astype(np.int64)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"{who}: argument 'inputs' expected integer labels, got dtype {lab.dtype}")
    if lab.ndim < 1:
        raise ValueError(f"{who}: argument 'inputs' expected labels of rank >= 1, got a scalar")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -lab.ndim - 1 <= axis <= lab.ndim:
        raise ValueError(f"{who}: argument 'axis' expected an int in [{-lab.ndim - 1}, {lab.ndim}] for labels of "
                         f"rank {lab.ndim}, got {axis!r}")
    hot = lab[..., None] == xp.arange(int(num_classes))  # one_hot; out-of-range labels match no class
    hot = xp.moveaxis(hot, -1, axis)
    return Tensor(hot.any(axis=1 if lab.ndim > 1 else 0).astype(backend.resolve_dtype(dtype)))


# ----------------------------------------------------------------------- cross-entropies (per sample, no reduction)
def _target(target, like):
    """target in the dtype and array module of ``like``; a Tensor that requires grad stays in the graph."""
    dtype = O._data(like).dtype
    if isinstance(target, Tensor):
        if target.requires_grad:
            return target if target.dtype == dtype else O.cast(target, dtype)
        target = target.data
    return backend.get_array_module(O._data(like)).asarray(target, dtype=dtype)


def _same_shape(who, target, output):
    if _shape(target) != _shape(output):
        raise ValueError(f"{who}: arguments 'target' and 'output' must have the same shape, got target shape "
                         f"{_shape(target)} and output shape {_shape(output)}")


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise -(t log p + (1 - t) log(1 - p)) with p clipped to [eps, 1 - eps]; from logits x the
    stable max(x, 0) - x t + log1p(e^-|x|). Runs the fused losses of ops/loss.py on a trailing unit axis
    (their mean over that axis is the element itself)."""
    who = "binary_crossentropy"
    output = _float_in(output, who)
    target = _target(target, output)
    _same_shape(who, target, output)
    s = _shape(output) + (1,)
    out1 = O.reshape(output, s)
    t1 = O.reshape(target, s) if isinstance(target, Tensor) else target.reshape(s)
    if from_logits:
        return L.SigmoidBinaryCrossEntropy.apply(out1, t1, axis=-1)
    return L.BinaryCrossEntropy.apply(out1, t1, axis=-1, eps=backend.epsilon())


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum_k t_k log p_k along ``axis``: p = softmax(output) from logits, else output normalised to sum 1
    and clipped to [eps, 1 - eps] (Keras)."""
    who = "categorical_crossentropy"
    output = _float_in(output, who)
    target = _target(target, output)
    _same_shape(who, target, output)
    if not _shape(output):
        raise ValueError(f"{who}: arguments 'target' and 'output' must be at least rank 1, got scalars")
    one_axis(axis, len(_shape(output)), who)
    if from_logits:
        return L.SoftmaxCrossEntropy.apply(output, target, axis=axis, sparse=False)
    return L.ProbCrossEntropy.apply(output, target, axis=axis, sparse=False, eps=backend.epsilon())


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-log p[target] along ``axis`` for integer labels of output's shape without ``axis`` (a trailing
    axis of length 1 is squeezed, as Keras does); p as in categorical_crossentropy."""
    who = "sparse_categorical_crossentropy"
    output = _float_in(output, who)
    ps = _shape(output)
    if not ps:
        raise ValueError(f"{who}: argument 'output' must be at least rank 1, got a scalar")
    ax = one_axis(axis, len(ps), who)
    lab = O._data(target)
    xp = backend.get_array_module(O._data(output))
    lab = xp.asarray(lab)
    if lab.ndim == len(ps) and lab.ndim and lab.shape[-1] == 1:
        lab = lab.reshape(lab.shape[:-1])
    want = ps[:ax] + ps[ax + 1:]
    if tuple(lab.shape) != want:
        raise ValueError(f"{who}: argument 'target' expected integer labels of shape {want} (output shape {ps} "
                         f"without axis {axis}), got shape {tuple(lab.shape)}")
    if lab.dtype.kind == "f" and bool((lab == xp.round(lab)).all()):
        lab = lab.astype(np.int64)
    if lab.dtype.kind not in "iu":
        raise TypeError(f"{who}: argument 'target' expected integer class labels, got dtype {lab.dtype}")
    lab = lab.astype(np.int64, copy=False)
    if lab.size and (int(lab.min()) < 0 or int(lab.max()) >= ps[ax]):
        raise ValueError(f"{who}: argument 'target' expected labels in [0, {ps[ax]}) for output with {ps[ax]} "
                         f"classes, got labels in [{int(lab.min())}, {int(lab.max())}]")
    if from_logits:
        return L.SoftmaxCrossEntropy.apply(output, lab, axis=axis, sparse=True)
    return L.ProbCrossEntropy.apply(output, lab, axis=axis, sparse=True, eps=backend.epsilon())


# ----------------------------------------------------------------------- convolution
def _conv_inputs(who, inputs, kernel, kernel_desc, karg="kernel"):
    x = _float_in(inputs, who)
    rank = _spatial_rank(x, who)
    w = _float_in(kernel, who)
    if len(_shape(w)) != rank + 2:
        raise ValueError(f"{who}: argument '{karg}' expected rank {rank + 2} {kernel_desc} for inputs of shape "
                         f"{_shape(x)}, got shape {_shape(w)}")
    return x, w, rank


def _conv(who, x, w, rank, strides, padding, data_format, dilation_rate):
    """conv of checked inputs; G = C / kernel.shape[-2] > 1 is a grouped convolution."""
    s = _ints(strides, rank, "strides", who)
    d = _ints(dilation_rate, rank, "dilation_rate", who)
    p = _padding(padding, who)
    _data_format(data_format, who)
    c, (cin, f) = _shape(x)[-1], _shape(w)[-2:]
    if c % cin or f % (c // cin):
        raise ValueError(f"{who}: argument 'kernel' with shape {_shape(w)}: the input channels {c} must be a multiple "
                         f"of kernel in_channels {cin}, and filters {f} a multiple of the {c // cin or 1} groups")
    _check_out(who, _shape(x)[1:-1], _shape(w)[:-2], s, d, p)
    groups = c // cin
    fn = Conv3DFn if rank == 3 else Conv2DFn
    x4 = _lift(x, rank)
    w4 = w if rank != 1 else O.reshape(w, (1,) + _shape(w))
    s4, d4 = (1,) * (2 - rank) + s, (1,) * (2 - rank) + d  # rank 3: s, d as given
    if groups == 1:
        y = fn.apply(x4, w4, strides=s4, padding=p, dilation=d4)
    else:  # output block g = conv(input block g, kernel block g) (jax feature_group_count)
        xs, ws = O.split(x4, groups, axis=-1), O.split(w4, groups, axis=-1)
        y = O.concatenate([fn.apply(a, b, strides=s4, padding=p, dilation=d4) for a, b in zip(xs, ws)], axis=-1)
    return _drop(y, rank)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D / 2-D / 3-D convolution (cross-correlation, as Keras) of (N, [[D,] H,] W, C) inputs with a
    (k..., C / G, F) kernel: y[n, p, q, f] = sum_{i,j,c} x_pad[n, p*s + i*d, q*s + j*d, c] W[i, j, c, f] (one
    more spatial index in 3-D). G > 1 is a grouped convolution (output block g sees input block g only)."""
    who = "conv"
    x, w, rank = _conv_inputs(who, inputs, kernel, "(kernel_size..., in_channels, filters)")
    return _conv(who, x, w, rank, strides, padding, data_format, dilation_rate)


def _depthwise(who, inputs, kernel, strides, padding, data_format, dilation_rate, karg="kernel"):
    x, w, rank = _conv_inputs(who, inputs, kernel, "(kernel_size..., in_channels, channel_multiplier)", karg)
    c, (cin, m) = _shape(x)[-1], _shape(w)[-2:]
    if cin != c:
        raise ValueError(f"{who}: argument '{karg}' expected in_channels (shape[-2]) {c} to match the inputs' "
                         f"channels, got shape {_shape(w)}")
    w = O.reshape(w, _shape(w)[:-2] + (1, c * m))  # (k..., C, M) -> (k..., 1, C * M): output channel c * M + m
    return _conv(who, x, w, rank, strides, padding, data_format, dilation_rate)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Each input channel c convolved with its own kernel[..., c, :] (M = channel multiplier filters each);
    output channel c * M + m. A grouped conv with G = C, as Keras does it, so C small convolutions: fine for
    the functional API, not a fast kernel."""
    return _depthwise("depthwise_conv", inputs, kernel, strides, padding, data_format, dilation_rate)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """depthwise_conv, then a 1x1 conv with pointwise_kernel (1..., C * M, F) (stride 1, 'valid')."""
    who = "separable_conv"
    y = _depthwise(who, inputs, depthwise_kernel, strides, padding, data_format, dilation_rate, "depthwise_kernel")
    pw = _float_in(pointwise_kernel, who)
    want = (1,) * (len(_shape(y)) - 2) + (_shape(y)[-1],)
    if len(_shape(pw)) != len(_shape(y)) or _shape(pw)[:-1] != want:
        raise ValueError(f"{who}: argument 'pointwise_kernel' expected shape {want + ('filters',)}, got "
                         f"{_shape(pw)}")
    return _conv(who, y, pw, len(want) - 1, 1, "valid", data_format, dilation_rate)


def conv_transpose(inputs, kernel, strides, padding="valid", output_padding=None, data_format=None, dilation_rate=1):
    """Transposed convolution (the gradient of conv w.r.t. its input); kernel (k..., filters, in_channels)
    as Keras. Output length per axis (Keras ``deconv_output_length``, ke = (k - 1) d + 1): valid
    n s + max(ke - s, 0), same n s; with output_padding q: (n - 1) s + ke - 2 pad + q, pad = 0 or ke // 2."""
    who = "conv_transpose"
    x, w, rank = _conv_inputs(who, inputs, kernel, "(kernel_size..., filters, in_channels)")
    s = _ints(strides, rank, "strides", who)
    d = _ints(dilation_rate, rank, "dilation_rate", who)
    p = _padding(padding, who)
    _data_format(data_format, who)
    if _shape(w)[-1] != _shape(x)[-1]:
        raise ValueError(f"{who}: argument 'kernel' expected in_channels (shape[-1]) {_shape(x)[-1]} to match the "
                         f"inputs' channels, got kernel shape {_shape(w)}")
    op = None
    if output_padding is not None:
        op = _ints(output_padding, rank, "output_padding", who, low=0)
        if any(q >= si for q, si in zip(op, s)):
            raise ValueError(f"{who}: argument 'output_padding' expected values smaller than strides {s}, got {op}")
        op = (0,) * (2 - rank) + op
    x4 = _lift(x, rank)
    w4 = w if rank != 1 else O.reshape(w, (1,) + _shape(w))
    fn = Conv3DTransposeFn if rank == 3 else Conv2DTransposeFn
    y = fn.apply(x4, w4, strides=(1,) * (2 - rank) + s, padding=p, output_padding=op, dilation=(1,) * (2 - rank) + d)
    return _drop(y, rank)


# ----------------------------------------------------------------------- pooling
def _pool(fns, who, inputs, pool_size, strides, padding, data_format):
    """Pooling of 1-D / 2-D inputs with fns[0] (the 2-D kernel), of 3-D inputs with fns[1]."""
    x = _float_in(inputs, who)
    rank = _spatial_rank(x, who)
    k = _ints(pool_size, rank, "pool_size", who)
    s = k if strides is None else _ints(strides, rank, "strides", who)
    p = _padding(padding, who)
    _data_format(data_format, who)
    _check_out(who, _shape(x)[1:-1], k, s, (1,) * rank, p, what="pool_size")
    pre = (1,) * (2 - rank)  # rank 3: nothing
    fn = fns[rank == 3]
    return _drop(fn.apply(_lift(x, rank), pool_size=pre + k, strides=pre + s, padding=p), rank)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Maximum over pool_size windows (strides default to pool_size); the gradient goes to each window's
    first maximum."""
    return _pool((MaxPool2DFn, MaxPool3DFn), "max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Mean over pool_size windows; with padding='same' over the real (unpadded) elements only, as Keras."""
    return _pool((AvgPool2DFn, AvgPool3DFn), "average_pool", inputs, pool_size, strides, padding, data_format)
