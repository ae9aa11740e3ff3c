"""Loss functions ``f(y_true, y_pred)`` with Keras 3 names and arguments (``keras.losses``).

Each returns one value per sample (the mean or sum over the last axis) as a Tensor. Cross-entropies use the
fused, stable Functions of autograd/ops/loss.py. The ``Loss`` classes that weight and reduce these values
live in ``nerve.losses`` (the package ``__init__``), which re-exports every name defined here.
"""
import math

import numpy as np

from .. import backend, ops
from ..autograd.ops import gpu, jit
from ..autograd.ops import loss as F
from ..autograd.tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon()


# ----------------------------------------------------------------------------- input handling
def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _as_pred(y_pred, dtype=None):
    """y_pred as a float Tensor: arrays, lists and non-float Tensors become floatx, float Tensors keep their dtype
    unless narrower than floatx (a float16 output of a mixed-precision model: losses are taken in floatx, as
    Keras)."""
    if isinstance(y_pred, Tensor):
        d = y_pred.dtype
        want = backend.resolve_dtype(dtype) if dtype else (
            d if d.kind == "f" and d.itemsize >= backend.resolve_dtype(None).itemsize else backend.resolve_dtype(None))
        return y_pred if y_pred.dtype == want else ops.cast(y_pred, want)
    a = y_pred if backend.is_array(y_pred) else np.asarray(y_pred)
    return Tensor(a.astype(backend.resolve_dtype(dtype), copy=False))


def _as_true(y_true, like):
    """y_true cast to the dtype (and array module) of y_pred; a Tensor that requires grad stays in the graph."""
    dtype = like.dtype
    if isinstance(y_true, Tensor):
        if y_true.requires_grad:
            return y_true if y_true.dtype == dtype else ops.cast(y_true, dtype)
        y_true = y_true.data
    return backend.get_array_module(like.data).asarray(y_true, dtype=dtype)


def _reshape(x, shape):
    return ops.reshape(x, shape) if isinstance(x, Tensor) else x.reshape(shape)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' rule: when ranks differ by one and the longer has a trailing 1, squeeze it (or expand a rank-1)."""
    s1, s2 = tuple(x1.shape), tuple(x2.shape)
    if len(s1) == len(s2) + 1 and s1[-1] == 1:
        if len(s2) == 1 and expand_rank_1:
            x2 = _reshape(x2, s2 + (1,))
        else:
            x1 = _reshape(x1, s1[:-1])
    elif len(s2) == len(s1) + 1 and s2[-1] == 1:
        if len(s1) == 1 and expand_rank_1:
            x1 = _reshape(x1, s1 + (1,))
        else:
            x2 = _reshape(x2, s2[:-1])
    return x1, x2


def _prep(name, y_true, y_pred):
    """Float Tensor y_pred, y_true of the same dtype and shape (Keras rank rule), or a clear error."""
    y_pred = _as_pred(y_pred)
    y_true = _as_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{name}: arguments 'y_true' and 'y_pred' must have the same shape, got y_true shape "
                         f"{tuple(y_true.shape)} and y_pred shape {tuple(y_pred.shape)}")
    return y_true, y_pred


# ----------------------------------------------------------------------------- regression losses
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2, axis=-1)."""
    y_true, y_pred = _prep("mean_squared_error", y_true, y_pred)
    return F.SquaredError.apply(y_pred, y_true, axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|, axis=-1)."""
    y_true, y_pred = _prep("mean_absolute_error", y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)."""
    y_true, y_pred = _prep("mean_absolute_percentage_error", y_true, y_pred)
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), ops.maximum(ops.abs(y_true), EPSILON)))
    return ops.multiply(ops.mean(diff, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2, axis=-1)."""
    y_true, y_pred = _prep("mean_squared_logarithmic_error", y_true, y_pred)
    first = ops.log1p(ops.maximum(y_pred, EPSILON))
    second = ops.log1p(ops.maximum(y_true, EPSILON))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, axis=-1), e = y_pred - y_true."""
    y_true, y_pred = _prep("huber", y_true, y_pred)
    err = ops.subtract(y_pred, y_true)
    abs_err = ops.abs(err)
    quad = ops.multiply(ops.square(err), 0.5)
    lin = ops.subtract(ops.multiply(abs_err, float(delta)), 0.5 * float(delta) ** 2)
    return ops.mean(ops.where(_data(abs_err) <= delta, quad, lin), axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log cosh(d), axis=-1) = mean(d + softplus(-2 d) - log 2), d = y_pred - y_true (no overflow)."""
    y_true, y_pred = _prep("log_cosh", y_true, y_pred)
    d = ops.subtract(y_pred, y_true)
    return ops.mean(ops.subtract(ops.add(d, ops.softplus(ops.multiply(d, -2.0))), math.log(2.0)), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true log(y_pred + eps), axis=-1)."""
    y_true, y_pred = _prep("poisson", y_true, y_pred)
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, EPSILON)))), axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(t log(t / p), axis=-1) with t, p clipped to [eps, 1]."""
    y_true, y_pred = _prep("kl_divergence", y_true, y_pred)
    t = ops.clip(y_true, EPSILON, 1.0)
    p = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(ops.multiply(t, ops.log(ops.divide(t, p))), axis=-1)


def _hinge_labels(y_true):
    """Keras: labels that are all 0 or 1 become -1 / 1."""
    d = _data(y_true)
    if bool(((d == 0) | (d == 1)).all()):
        return ops.subtract(ops.multiply(y_true, 2.0), 1.0) if isinstance(y_true, Tensor) else 2.0 * d - 1.0
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0), axis=-1), 0/1 labels mapped to -1/1."""
    y_true, y_pred = _prep("hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)^2, axis=-1), 0/1 labels mapped to -1/1."""
    y_true, y_pred = _prep("squared_hinge", y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(neg - pos + 1, 0), pos = sum(y_true y_pred), neg = max((1 - y_true) y_pred) over the last axis."""
    y_true, y_pred = _prep("categorical_hinge", y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def _l2_normalize(x, axis):
    # x / max(||x||, eps), written with the max under the square root so the gradient at 0 is finite
    ss = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(ss, EPSILON ** 2)))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) l2_normalize(y_pred), axis)."""
    y_true, y_pred = _prep("cosine_similarity", y_true, y_pred)
    return ops.negative(ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


# ----------------------------------------------------------------------------- cross-entropies
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of -(t log p + (1 - t) log(1 - p)); p clipped to [eps, 1 - eps], or from logits."""
    y_true, y_pred = _prep("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    fn = F.SigmoidBinaryCrossEntropy if from_logits else F.BinaryCrossEntropy
    return fn.apply(y_pred, y_true, axis=axis)


def _prep_categorical(name, y_true, y_pred):
    """_prep, with a pointer to the sparse loss when y_true holds integer labels of shape (N,) or (N, 1)."""
    y_pred = _as_pred(y_pred)
    ts, ps = tuple(np.shape(_data(y_true))), tuple(y_pred.shape)
    if len(ps) >= 2 and ps[-1] > 1 and (ts == ps[:-1] or ts == ps[:-1] + (1,)):
        raise ValueError(
            f"{name}: argument 'y_true' has shape {ts} but 'y_pred' has shape {ps}: y_true looks like integer class "
            f"labels; use loss='sparse_categorical_crossentropy' (SparseCategoricalCrossentropy) for integer "
            f"labels, or one-hot encode them to shape {ps} (nerve.utils.to_categorical)")
    return _prep(name, y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(t log p, axis) for one-hot / probability targets t; p = softmax(logits) or normalised, clipped probs."""
    if isinstance(axis, bool):
        raise ValueError(f"categorical_crossentropy: argument 'axis' must be an int, got {axis!r}")
    y_true, y_pred = _prep_categorical("categorical_crossentropy", y_true, y_pred)
    if label_smoothing:
        n = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    fn = F.SoftmaxCrossEntropy if from_logits else F.ProbCrossEntropy
    return fn.apply(y_pred, y_true, axis=axis, sparse=False)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over axis of (1 - p_t)^gamma bce (Lin et al. 2017), p_t = t p + (1 - t)(1 - p); optional alpha weights."""
    y_true, y_pred = _prep("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = ops.sigmoid(y_pred) if from_logits else y_pred
    c = ops.clip(p, EPSILON, 1.0 - EPSILON)
    one_minus_t = ops.subtract(1.0, y_true)
    log_c, log_1mc = ops.log(c), ops.log1p(ops.negative(c))
    bce = ops.negative(ops.add(ops.multiply(y_true, log_c), ops.multiply(one_minus_t, log_1mc)))
    p_t = ops.add(ops.multiply(y_true, p), ops.multiply(one_minus_t, ops.subtract(1.0, p)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        focal = ops.multiply(ops.add(ops.multiply(y_true, alpha), ops.multiply(one_minus_t, 1.0 - alpha)), focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """sum over axis of alpha (1 - q)^gamma (-t log q), q = normalised, clipped probabilities (Keras)."""
    y_true, y_pred = _prep_categorical("categorical_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    p = ops.softmax(y_pred, axis=axis) if from_logits else y_pred
    q = ops.clip(ops.divide(p, ops.sum(p, axis=axis, keepdims=True)), EPSILON, 1.0 - EPSILON)
    cce = ops.negative(ops.multiply(y_true, ops.log(q)))
    return ops.sum(ops.multiply(ops.multiply(ops.power(ops.subtract(1.0, q), float(gamma)), alpha), cce), axis=axis)


def _sparse_labels(name, y_true, y_pred, axis, ignore_class, check_range=True):
    """Integer labels (int64) checked against y_pred; ``check_range=False`` skips the range check (reading the
    labels' min and max would wait for the GPU each step: the GPU cross-entropy kernel gives NaN instead)."""
    lab = _data(y_true)
    lab = lab if backend.is_array(lab) else np.asarray(lab)
    ps = tuple(y_pred.shape)
    if tuple(lab.shape) == ps and ps[-1] > 1:
        raise ValueError(
            f"{name}: argument 'y_true' has shape {tuple(lab.shape)}, the same as 'y_pred' {ps}: it looks one-hot "
            f"encoded; use loss='categorical_crossentropy' (CategoricalCrossentropy) for one-hot targets, or pass "
            f"integer class labels of shape {ps[:-1]}")
    if lab.ndim == len(ps) and lab.ndim and lab.shape[-1] == 1:
        lab = lab.reshape(lab.shape[:-1])
    ax = axis % len(ps) if ps else 0
    want = ps[:ax] + ps[ax + 1:]
    if tuple(lab.shape) != want:
        raise ValueError(f"{name}: argument 'y_true' must hold integer labels of shape {want} for y_pred of shape "
                         f"{ps}, got y_true shape {tuple(lab.shape)}")
    if lab.dtype.kind == "f":
        if not bool((lab == lab.round()).all()):
            raise ValueError(f"{name}: argument 'y_true' expected integer class labels, got non-integer values")
    elif lab.dtype.kind not in "iub":
        raise TypeError(f"{name}: argument 'y_true' expected integer class labels, got dtype {lab.dtype}")
    lab = lab.astype(np.int64, copy=False)  # labels are only read: no copy when already int64
    valid = None
    if ignore_class is not None:
        valid = lab != ignore_class
        lab = lab * valid
    n = ps[ax]
    if lab.size and check_range:
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi >= n:
            extra = f" (other than ignore_class={ignore_class})" if ignore_class is not None else ""
            raise ValueError(f"{name}: argument 'y_true' expected class labels{extra} in [0, {n}) for y_pred with "
                             f"{n} classes, got labels in [{lo}, {hi}]")
    return lab, valid


def _scce_mean(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """The mean of sparse_categorical_crossentropy over all samples in one graph node (the softmax
    cross-entropy and the mean fused), or None where that does not apply (probabilities, ignore_class)."""
    if not from_logits or ignore_class is not None or not isinstance(y_pred, Tensor) or y_pred.ndim < 1 \
            or y_pred.size == 0:
        return None
    y_pred = _as_pred(y_pred)
    # the compiled (CPU) and the GPU cross-entropy kernels check the label range themselves (the CPU one raises,
    # the GPU one gives NaN): no min/max pass here (a GPU one would wait for the device every step)
    d = y_pred.data
    kernel = axis % y_pred.ndim == y_pred.ndim - 1 and (
        gpu.kernels(d) is not None or (type(d) is np.ndarray and d.dtype.char in "fd" and jit.enabled()))
    lab, _ = _sparse_labels("sparse_categorical_crossentropy", y_true, y_pred, axis, ignore_class,
                            check_range=not kernel)
    try:
        return F.SoftmaxCrossEntropy.apply(y_pred, lab, axis=axis, sparse=True, mean=True)
    except IndexError:  # the compiled kernel met a label out of range: the full message
        _sparse_labels("sparse_categorical_crossentropy", y_true, y_pred, axis, ignore_class)
        raise


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """-log p[label] for integer labels; labels equal to ``ignore_class`` give 0 (and are masked)."""
    y_pred = _as_pred(y_pred)
    if y_pred.ndim < 1:
        raise ValueError("sparse_categorical_crossentropy: argument 'y_pred' must have a class axis, got a scalar")
    lab, valid = _sparse_labels("sparse_categorical_crossentropy", y_true, y_pred, axis, ignore_class)
    fn = F.SoftmaxCrossEntropy if from_logits else F.ProbCrossEntropy
    res = fn.apply(y_pred, lab, axis=axis, sparse=True)
    if valid is not None:
        res = ops.where(valid, res, np.zeros((), res.dtype))
        res._keras_mask = valid
    return res


sparse_categorical_crossentropy.fused_mean = _scce_mean
