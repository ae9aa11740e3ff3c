"""Probabilistic and hinge metrics: cross-entropies (mean loss over samples), KL divergence, Poisson,
hinge, squared hinge and categorical hinge. All computed stably in float64."""
import numpy as np

from ..saving.registry import register
from .accuracy_metrics import _labels
from .base import EPSILON, DownWrapper, ShapeMismatch, float_pair, to_numpy


def _log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _log_probs(y_pred, from_logits, axis):
    """log p: log_softmax of logits, or log of the renormalised probabilities clipped to [eps, 1 - eps]."""
    if from_logits:
        return _log_softmax(y_pred, axis)
    p = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
    return np.log(np.clip(p, EPSILON, 1.0 - EPSILON))


@register("metrics")
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of -(y log p + (1 - y) log(1 - p)); logits use max(x, 0) - x y + log1p(e^-|x|)."""
    y_true, y_pred = float_pair("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = np.maximum(y_pred, 0.0) - y_pred * y_true + np.log1p(np.exp(-np.abs(y_pred)))
    else:
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p))
    return np.mean(bce, axis=axis)


@register("metrics")
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log p) over ``axis`` for one-hot (or soft) labels."""
    y_true, y_pred = to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64)
    if y_true.shape != y_pred.shape:
        raise ShapeMismatch(f"categorical_crossentropy: argument 'y_true' (one-hot labels) has shape "
                            f"{tuple(y_true.shape)} but 'y_pred' has shape {tuple(y_pred.shape)}; expected the same "
                            f"shape (integer labels need sparse_categorical_crossentropy)")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    return -np.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


@register("metrics")
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """-log p[label] for integer labels of shape (n,) or (n, 1)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred, np.float64)
    if axis not in (-1, y_pred.ndim - 1):
        y_pred = np.moveaxis(y_pred, axis, -1)
    labels = _labels("sparse_categorical_crossentropy", y_true, y_pred.shape[:-1]).astype(np.int64)
    c = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        raise ShapeMismatch(f"sparse_categorical_crossentropy: argument 'y_true' has labels outside [0, {c}) "
                            f"(min {labels.min()}, max {labels.max()})")
    logp = _log_probs(y_pred, from_logits, -1)
    return -np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


@register("metrics")
def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""
    y_true, y_pred = float_pair("kl_divergence", y_true, y_pred)
    y_true, y_pred = np.clip(y_true, EPSILON, 1.0), np.clip(y_pred, EPSILON, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


@register("metrics")
def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + eps)) over the last axis."""
    y_true, y_pred = float_pair("poisson", y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + EPSILON), axis=-1)


def _hinge_labels(y_true):
    """Labels in {0, 1} become {-1, 1} (Keras' convert_binary_labels_to_hinge)."""
    return 2.0 * y_true - 1.0 if np.all((y_true == 0) | (y_true == 1)) else y_true


@register("metrics")
def hinge(y_true, y_pred):
    y_true, y_pred = float_pair("hinge", y_true, y_pred)
    return np.mean(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


@register("metrics")
def squared_hinge(y_true, y_pred):
    y_true, y_pred = float_pair("squared_hinge", y_true, y_pred)
    return np.mean(np.square(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


@register("metrics")
def categorical_hinge(y_true, y_pred):
    """max(max((1 - y) * p) - sum(y * p) + 1, 0)."""
    y_true, y_pred = float_pair("categorical_hinge", y_true, y_pred)
    pos = np.sum(y_true * y_pred, axis=-1)
    neg = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0)


@register("metrics")
class BinaryCrossentropy(DownWrapper):
    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


@register("metrics")
class CategoricalCrossentropy(DownWrapper):
    _per_sample_rank1 = False

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@register("metrics")
class SparseCategoricalCrossentropy(DownWrapper):
    _per_sample_rank1 = False

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         axis=axis)
        self.from_logits, self.axis = from_logits, axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits, "axis": self.axis}


@register("metrics")
class KLDivergence(DownWrapper):
    _per_sample_rank1 = False

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


@register("metrics")
class Poisson(DownWrapper):
    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


@register("metrics")
class Hinge(DownWrapper):
    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


@register("metrics")
class SquaredHinge(DownWrapper):
    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


@register("metrics")
class CategoricalHinge(DownWrapper):
    _per_sample_rank1 = False

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
