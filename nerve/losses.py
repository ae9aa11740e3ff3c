"""Losses with Keras 3 names, arguments, defaults and reductions (``keras.losses``).

A loss function ``f(y_true, y_pred)`` returns one value per sample (the mean or sum over the last axis);
a ``Loss`` object weights those values by ``sample_weight`` and reduces them ('sum_over_batch_size' =
sum / number of values, the default; 'sum'; 'mean'; 'mean_with_sample_weight' = sum / sum of weights;
None or 'none' = no reduction). Cross-entropies use the fused, stable Functions of autograd/ops/loss.py.
"""
import difflib
import inspect
import math
import re

import numpy as np

from . import backend, ops
from .autograd.ops import loss as F
from .autograd.tensor import Tensor
from .saving import registry
from .saving.registry import register

EPSILON = 1e-7  # keras.backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none")


# ----------------------------------------------------------------------------- input handling
def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _as_pred(y_pred, dtype=None):
    """y_pred as a float Tensor: Tensors keep their float dtype, arrays and lists become floatx."""
    if isinstance(y_pred, Tensor):
        want = backend.resolve_dtype(dtype) if dtype else (y_pred.dtype if y_pred.dtype.kind == "f"
                                                           else backend.resolve_dtype(None))
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


def _sparse_labels(name, y_true, y_pred, axis, ignore_class):
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
    lab = lab.astype(np.int64)
    valid = None
    if ignore_class is not None:
        valid = lab != ignore_class
        lab = lab * valid
    n = ps[ax]
    if lab.size:
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0 or hi >= n:
            extra = f" (other than ignore_class={ignore_class})" if ignore_class is not None else ""
            raise ValueError(f"{name}: argument 'y_true' expected class labels{extra} in [0, {n}) for y_pred with "
                             f"{n} classes, got labels in [{lo}, {hi}]")
    return lab, valid


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


# ----------------------------------------------------------------------------- reduction
def _weights(w, values):
    """sample_weight or mask as an array of the values' dtype and array module."""
    return backend.get_array_module(values.data).asarray(_data(w), dtype=values.dtype)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if reduction is None or reduction == "none" or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    if reduction in ("sum_over_batch_size", "mean") or (reduction == "mean_with_sample_weight"
                                                         and sample_weight is None):
        return ops.mean(values) if values.size else ops.sum(values)
    loss = ops.sum(values)
    if reduction == "mean_with_sample_weight":
        div = float(sample_weight.sum())
        return ops.divide(loss, div) if div else ops.multiply(loss, 0.0)  # divide_no_nan
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", name="loss"):
    """Multiply by ``sample_weight`` (and the mask), then reduce (Keras' losses.loss.reduce_weighted_values)."""
    if sample_weight is not None:
        sample_weight = _weights(sample_weight, values)
    if mask is not None:
        m = _weights(mask, values)
        if reduction in ("mean", "sum_over_batch_size"):  # valid entries weigh total / valid: a mean over them
            m = m * (m.size / (float(m.sum()) + EPSILON))
        if sample_weight is not None:
            m, sample_weight = squeeze_or_expand_to_same_rank(m, sample_weight)
            sample_weight = sample_weight * m
        else:
            sample_weight = m
    if sample_weight is not None:
        values, sw = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            np.broadcast_shapes(tuple(values.shape), tuple(sw.shape))
        except ValueError:
            raise ValueError(f"{name}: argument 'sample_weight' of shape {tuple(np.shape(sample_weight))} does not "
                             f"match the per-sample losses of shape {tuple(values.shape)}") from None
        values = ops.multiply(values, sw)
    return reduce_values(values, sample_weight, reduction)


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Loss: argument 'reduction' expected one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ----------------------------------------------------------------------------- Loss classes
class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-sample losses; ``__call__`` weights and reduces them."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = None if dtype is None else str(backend.resolve_dtype(dtype))

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
        y_pred = _as_pred(y_pred, self.dtype)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        mask = _data(in_mask) if out_mask is None else out_mask if in_mask is None else _data(in_mask) & out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.name)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Loss must implement call(y_true, y_pred)")

    def get_config(self):
        config = {"name": self.name, "reduction": self.reduction}
        if self.dtype is not None:
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


@register("losses")
class LossFunctionWrapper(Loss):
    """A Loss from a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample losses."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = registry.serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            fn = config["fn"]
            config["fn"] = fn if callable(fn) else registry.deserialize(fn, kind="losses")
        return cls(**config)


def _wrapper(fn, default_name, doc, **defaults):
    """A LossFunctionWrapper subclass with Keras' constructor: (*fn arguments, reduction, name, dtype)."""
    order = list(defaults) + ["reduction", "name", "dtype"]
    base = dict(defaults, reduction="sum_over_batch_size", name=default_name, dtype=None)

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{type(self).__name__}: expected at most {len(order)} positional arguments ({order})")
        kw = dict(base)
        kw.update(zip(order, args))
        for k, v in kwargs.items():
            if k not in base:
                raise TypeError(f"{type(self).__name__}: unexpected argument {k!r}; expected one of {order}")
            kw[k] = v
        LossFunctionWrapper.__init__(self, fn, reduction=kw.pop("reduction"), name=kw.pop("name"),
                                     dtype=kw.pop("dtype"), **kw)

    P = inspect.Parameter
    __init__.__signature__ = inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD)] + [P(k, P.POSITIONAL_OR_KEYWORD, default=base[k]) for k in order])
    return {"__init__": __init__, "__doc__": doc}


def _cls(cls_name, fn, default_name, doc, **defaults):
    cls = type(cls_name, (LossFunctionWrapper,), _wrapper(fn, default_name, doc, **defaults))
    cls.__module__ = __name__
    return register("losses")(cls)


MeanSquaredError = _cls("MeanSquaredError", mean_squared_error, "mean_squared_error", mean_squared_error.__doc__)
MeanAbsoluteError = _cls("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                         mean_absolute_error.__doc__)
MeanAbsolutePercentageError = _cls("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                   "mean_absolute_percentage_error", mean_absolute_percentage_error.__doc__)
MeanSquaredLogarithmicError = _cls("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                   "mean_squared_logarithmic_error", mean_squared_logarithmic_error.__doc__)
Huber = _cls("Huber", huber, "huber_loss", huber.__doc__, delta=1.0)
LogCosh = _cls("LogCosh", log_cosh, "log_cosh", log_cosh.__doc__)
KLDivergence = _cls("KLDivergence", kl_divergence, "kl_divergence", kl_divergence.__doc__)
Poisson = _cls("Poisson", poisson, "poisson", poisson.__doc__)
Hinge = _cls("Hinge", hinge, "hinge", hinge.__doc__)
SquaredHinge = _cls("SquaredHinge", squared_hinge, "squared_hinge", squared_hinge.__doc__)
CategoricalHinge = _cls("CategoricalHinge", categorical_hinge, "categorical_hinge", categorical_hinge.__doc__)
CosineSimilarity = _cls("CosineSimilarity", cosine_similarity, "cosine_similarity", cosine_similarity.__doc__,
                        axis=-1)
BinaryCrossentropy = _cls("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                          binary_crossentropy.__doc__, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = _cls("CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
                               categorical_crossentropy.__doc__, from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _cls("BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
                               binary_focal_crossentropy.__doc__, apply_class_balancing=False, alpha=0.25,
                               gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = _cls("CategoricalFocalCrossentropy", categorical_focal_crossentropy,
                                    "categorical_focal_crossentropy", categorical_focal_crossentropy.__doc__,
                                    alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _cls("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                     "sparse_categorical_crossentropy", sparse_categorical_crossentropy.__doc__,
                                     from_logits=False, ignore_class=None)

# the short names Keras accepts, plus the functions' own names
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, huber, log_cosh, kl_divergence, poisson, hinge, squared_hinge,
              categorical_hinge, cosine_similarity, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, binary_focal_crossentropy, categorical_focal_crossentropy)
_CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
            LogCosh, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, CosineSimilarity,
            BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryFocalCrossentropy,
            CategoricalFocalCrossentropy)
_ALIASES = {"mse": mean_squared_error, "MSE": mean_squared_error, "mae": mean_absolute_error,
            "MAE": mean_absolute_error, "mape": mean_absolute_percentage_error,
            "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
            "MSLE": mean_squared_logarithmic_error, "kld": kl_divergence, "KLD": kl_divergence,
            "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh, "bce": binary_crossentropy,
            "BCE": binary_crossentropy}

ALL_OBJECTS = {f.__name__: f for f in _FUNCTIONS}
ALL_OBJECTS.update({c.__name__: c for c in _CLASSES})
ALL_OBJECTS.update(_ALIASES)
for _f in _FUNCTIONS:
    register("losses")(_f)
for _k, _f in _ALIASES.items():
    register("losses", _k)(_f)


def serialize(loss):
    """{'class_name', 'config', 'registered_name'} for a Loss, or the registry entry of a loss function."""
    return registry.serialize(loss)


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and config in ALL_OBJECTS:
        return ALL_OBJECTS[config]
    return registry.deserialize(config, kind="losses", custom_objects=custom_objects)


def get(identifier):
    """A loss from None, a name ('mse', 'binary_crossentropy', 'MeanSquaredError', ...), a config dict, a Loss
    class (instantiated) or a callable. Names give the function form, as in Keras."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS.get(identifier)
        if obj is None:
            close = difflib.get_close_matches(identifier, list(ALL_OBJECTS), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ValueError(f"losses.get: unknown loss {identifier!r}{hint} Known names: "
                             f"{', '.join(sorted(f.__name__ for f in _FUNCTIONS))}, and the short names "
                             f"{', '.join(sorted(k for k in _ALIASES if k.islower()))}")
    else:
        obj = identifier
    if isinstance(obj, type):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"losses.get: could not interpret loss identifier {identifier!r} (expected a name, a config "
                     f"dict, a Loss or a callable)")
