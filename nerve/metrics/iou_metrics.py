"""Intersection-over-Union metrics (``keras.metrics.IoU``, ``MeanIoU``, ``BinaryIoU``, ``OneHotIoU``,
``OneHotMeanIoU``) from a streamed, weighted confusion matrix.

cm[i, j] is the total weight of the entries with true class i and predicted class j. Per class c
    IoU_c = TP_c / (TP_c + FP_c + FN_c) = cm[c, c] / (sum_j cm[c, j] + sum_i cm[i, c] - cm[c, c]),
and the result is the mean of IoU_c over the target classes whose denominator is > 0 (Keras 3.15: a class
absent from both y_true and y_pred is left out of the mean). Class ids outside [0, num_classes) and
``ignore_class`` are dropped, as in Keras 3.15. The matrix is float64 (Keras' default integer dtype
truncates float sample weights; here they count as given).
"""
import numbers

import numpy as np

from ..saving.registry import register
from .base import EPSILON, Metric, to_numpy


def _class_ids(x):
    """Integer class ids (floats truncated, as Keras' cast to int)."""
    return x.astype(np.int64, copy=False)


class _IoUBase(Metric):
    """Accumulates the (num_classes, num_classes) confusion matrix ``total_cm``."""
    _direction = "up"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
            raise ValueError(f"{type(self).__name__}: argument 'num_classes' must be an integer >= 1, "
                             f"got {num_classes!r}")
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.total_cm = self.add_variable((self.num_classes, self.num_classes), name="total_confusion_matrix")

    def _who(self):
        return f"{type(self).__name__} metric {self.name!r}"

    def _weights(self, sample_weight, shape):
        """Weights of the labels' shape: the same number of entries (Keras flattens both), or a scalar /
        per-sample weights broadcast over the trailing axes."""
        if sample_weight is None:
            return np.ones(shape)
        w = to_numpy(sample_weight, np.float64)
        if w.size == int(np.prod(shape)):
            return w.reshape(shape)
        if w.ndim <= len(shape):
            try:
                return np.broadcast_to(w.reshape(w.shape + (1,) * (len(shape) - w.ndim)), shape)
            except ValueError:
                pass
        raise ValueError(f"{self._who()}: argument 'sample_weight' has shape {tuple(w.shape)}, which does not "
                         f"match the labels of shape {tuple(shape)}; expected a scalar, shape {tuple(shape[:1])} "
                         f"or {tuple(shape)}")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        y_true, y_pred = _class_ids(y_true), _class_ids(y_pred)
        if y_true.size != y_pred.size:
            raise ValueError(f"{self._who()}: argument 'y_true' holds {y_true.size} class ids (shape "
                             f"{tuple(y_true.shape)}) but 'y_pred' holds {y_pred.size} (shape {tuple(y_pred.shape)});"
                             f" expected one prediction per label (sparse_y_true={self.sparse_y_true}, "
                             f"sparse_y_pred={self.sparse_y_pred})")
        w = self._weights(sample_weight, y_true.shape).ravel()
        t, p, n = y_true.ravel(), y_pred.ravel(), self.num_classes
        keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        # cm[i, j] += weight of each (true i, predicted j) pair: one bincount over the flat index i * n + j
        cm = np.bincount(t[keep] * n + p[keep], weights=w[keep], minlength=n * n)
        self.total_cm.data += cm.reshape(n, n)

    def per_class_iou(self):
        """(IoU_c, denominator_c) for every class c."""
        cm = self.total_cm.data
        tp = np.diag(cm)
        denom = cm.sum(axis=0) + cm.sum(axis=1) - tp  # = TP + FP + FN
        return tp / (denom + EPSILON), denom


def _target_ids(target_class_ids, num_classes, who):
    ids = [int(i) for i in np.atleast_1d(np.asarray(target_class_ids)).ravel()]
    if not ids:
        raise ValueError(f"{who}: argument 'target_class_ids' must name at least one class, got {target_class_ids!r}")
    bad = [i for i in ids if not 0 <= i < num_classes]
    if bad:
        raise ValueError(f"{who}: argument 'target_class_ids' has class ids {bad} out of range [0, {num_classes})")
    return ids


@register("metrics")
class IoU(_IoUBase):
    """The mean IoU over ``target_class_ids`` (the IoU of that class when there is one)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        self.target_class_ids = _target_ids(target_class_ids, self.num_classes, type(self).__name__)

    def result(self):
        iou, denom = self.per_class_iou()
        iou, denom = iou[self.target_class_ids], denom[self.target_class_ids]
        valid = denom > 1e-9  # classes that never occur are left out of the mean
        return float(np.sum(np.where(valid, iou, 0.0)) / (np.sum(valid) + EPSILON))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@register("metrics")
class BinaryIoU(IoU):
    """IoU of classes 0 and/or 1, with predictions ``y_pred >= threshold`` as class 1."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise ValueError(f"BinaryIoU: argument 'threshold' must be a number, got {threshold!r}")
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = (to_numpy(y_pred, np.float64) >= self.threshold).astype(np.int64)
        return super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


@register("metrics")
class MeanIoU(IoU):
    """The mean IoU over all classes."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        n = num_classes if isinstance(num_classes, numbers.Integral) and num_classes > 0 else 1
        super().__init__(num_classes, list(range(n)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@register("metrics")
class OneHotIoU(IoU):
    """IoU for one-hot labels: y_true (and y_pred unless ``sparse_y_pred``) go through argmax over ``axis``."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


@register("metrics")
class OneHotMeanIoU(MeanIoU):
    """MeanIoU for one-hot labels: y_true (and y_pred unless ``sparse_y_pred``) go through argmax."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
