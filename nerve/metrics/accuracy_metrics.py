"""Accuracy metrics (``keras.metrics.*accuracy*``): per-sample match functions averaged by Mean."""
import numpy as np

from ..saving.registry import register
from .base import BuiltinWrapper, ShapeMismatch, check_broadcast, squeeze_or_expand_to_same_rank, to_numpy


def _labels(fn, y_true, y_pred_lead_shape):
    """Integer labels of shape y_pred.shape[:-1] (a trailing dim of 1 is dropped), or a clear error."""
    if y_true.ndim == len(y_pred_lead_shape) + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != tuple(y_pred_lead_shape):
        raise ShapeMismatch(f"{fn}: argument 'y_true' (integer labels) has shape {tuple(y_true.shape)}; expected "
                            f"{tuple(y_pred_lead_shape)} or {tuple(y_pred_lead_shape) + (1,)} to match 'y_pred' of "
                            f"shape {tuple(y_pred_lead_shape) + ('num_classes',)} (one-hot labels need the "
                            f"categorical, not the sparse, metric)")
    return y_true


def _one_hot_check(fn, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ShapeMismatch(f"{fn}: argument 'y_true' (one-hot labels) has shape {tuple(y_true.shape)} but "
                            f"'y_pred' has shape {tuple(y_pred.shape)}; expected the same shape (integer labels "
                            f"need the sparse_ metric)")


@register("metrics")
def accuracy(y_true, y_pred):
    """mean(y_true == y_pred) over the last axis."""
    y_pred = to_numpy(y_pred)
    y_true = to_numpy(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcast("accuracy", y_true, y_pred)
    return np.mean(y_true == y_pred, axis=-1, dtype=np.float64)


@register("metrics")
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean(y_true == (y_pred > threshold)) over the last axis."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(to_numpy(y_true), to_numpy(y_pred))
    check_broadcast("binary_accuracy", y_true, y_pred)
    return np.mean(y_true == (y_pred > threshold).astype(y_true.dtype), axis=-1, dtype=np.float64)


@register("metrics")
def categorical_accuracy(y_true, y_pred):
    """argmax(y_true) == argmax(y_pred) for one-hot labels."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    _one_hot_check("categorical_accuracy", y_true, y_pred)
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float64)


@register("metrics")
def sparse_categorical_accuracy(y_true, y_pred):
    """y_true == argmax(y_pred) for integer labels of shape (n,) or (n, 1)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    y_true = _labels("sparse_categorical_accuracy", y_true, y_pred.shape[:-1])
    return (y_true == np.argmax(y_pred, -1)).astype(np.float64)


def in_top_k(targets, predictions, k):
    """True where predictions[target] is among the k largest (ties count as in, as tf.math.in_top_k)."""
    targets = np.asarray(targets).astype(np.int64).reshape(-1)
    predictions = predictions.reshape(-1, predictions.shape[-1])
    c = predictions.shape[-1]
    bad = (targets < 0) | (targets >= c)
    if bad.any():
        raise ShapeMismatch(f"in_top_k: argument 'y_true' has labels outside [0, {c}) (e.g. "
                            f"{int(targets[bad][0])}) for 'y_pred' with {c} classes")
    target_score = predictions[np.arange(len(targets)), targets]
    return (np.sum(predictions > target_score[:, None], axis=-1) < k) & np.isfinite(target_score)


@register("metrics")
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether the one-hot target is within the k highest predictions."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    _one_hot_check("top_k_categorical_accuracy", y_true, y_pred)
    labels = np.argmax(y_true, -1)
    return in_top_k(labels, y_pred, k).astype(np.float64).reshape(labels.shape)


@register("metrics")
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether the integer target is within the k highest predictions."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    labels = _labels("sparse_top_k_categorical_accuracy", y_true, y_pred.shape[:-1])
    return in_top_k(labels, y_pred, k).astype(np.float64).reshape(labels.shape)


class _Up(BuiltinWrapper):
    _direction = "up"  # maximised (used by callbacks in mode 'auto')


@register("metrics")
class Accuracy(_Up):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


@register("metrics")
class BinaryAccuracy(_Up):
    """How often ``y_pred > threshold`` matches binary labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(f"BinaryAccuracy: argument 'threshold' must be in (0, 1), got {threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


@register("metrics")
class CategoricalAccuracy(_Up):
    """How often argmax(y_pred) matches one-hot labels (logits work too)."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@register("metrics")
class SparseCategoricalAccuracy(_Up):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


def _check_k(cls, k):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{cls}: argument 'k' must be a positive int, got {k!r}")


@register("metrics")
class TopKCategoricalAccuracy(_Up):
    """How often the one-hot target is among the top ``k`` predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        _check_k("TopKCategoricalAccuracy", k)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


@register("metrics")
class SparseTopKCategoricalAccuracy(_Up):
    """How often the integer target is among the top ``k`` predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        _check_k("SparseTopKCategoricalAccuracy", k)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}
