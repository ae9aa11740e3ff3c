"""F-beta and F1 scores (``keras.metrics.FBetaScore`` / ``F1Score``) from streamed TP/FP/FN counts.

F_beta = (1 + b^2) * P * R / (b^2 * P + R), with P = TP / (TP + FP + eps), R = TP / (TP + FN + eps).
"""
import numbers

import numpy as np

from ..saving.registry import register
from .base import EPSILON, Metric, result_value, to_numpy


@register("metrics")
class FBetaScore(Metric):
    """Per-class F-beta (average=None, a NumPy array), or 'micro', 'macro' or 'weighted' (by support).
    ``threshold=None`` marks the argmax of each row as the predicted class; otherwise ``y_pred > threshold``."""
    _direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("FBetaScore: argument 'average' must be one of None, 'micro', 'macro', 'weighted'; "
                             f"got {average!r}")
        if not isinstance(beta, numbers.Real) or isinstance(beta, bool) or beta <= 0:
            raise ValueError(f"FBetaScore: argument 'beta' must be a float > 0, got {beta!r}")
        if threshold is not None and (not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1):
            raise ValueError(f"FBetaScore: argument 'threshold' must be a float in (0, 1], got {threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, num_classes):
        shape = () if self.average == "micro" else (int(num_classes),)
        for n in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, n, self.add_variable(shape, name=n))
        self._num_classes = int(num_classes)
        self._built = True

    def _build_from_state(self, state):
        shape = np.shape(state.get("true_positives", ()))
        self._build(shape[0] if shape else 0)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64)
        who = f"{type(self).__name__} metric {self.name!r}"
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{who}: expected 2-D y_true and y_pred of the same shape (batch_size, num_classes); "
                             f"got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape} (one-hot encode "
                             f"integer labels)")
        if not self._built:
            self._build(y_pred.shape[1])
        elif self.average != "micro" and y_pred.shape[1] != self.true_positives.shape[0]:
            raise ValueError(f"{who}: y_pred has {y_pred.shape[1]} classes, expected "
                             f"{self.true_positives.shape[0]} as in the earlier batches")
        if self.threshold is None:
            # the row maximum is the prediction; abs > 1e-9 keeps an all-zero row from becoming all ones
            pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = pred.astype(np.float64)
        w = None
        if sample_weight is not None:
            w = to_numpy(sample_weight, np.float64)
            w = w.reshape(-1, 1) if w.ndim >= 1 else w
            if w.ndim and w.shape[0] != y_pred.shape[0]:
                raise ValueError(f"{who}: argument 'sample_weight' has shape {tuple(np.shape(sample_weight))}; "
                                 f"expected a scalar or ({y_pred.shape[0]},)")

        def wsum(v):
            return np.sum(v if w is None else v * w, axis=self.axis)

        self.true_positives.data += wsum(pred * y_true)
        self.false_positives.data += wsum(pred * (1 - y_true))
        self.false_negatives.data += wsum((1 - pred) * y_true)
        self.intermediate_weights.data += wsum(y_true)

    def result(self):
        if not self._built:
            return 0.0
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        f = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            iw = self.intermediate_weights.data
            f = np.sum(f * iw / (np.sum(iw) + EPSILON))
        elif self.average is not None:
            f = np.mean(f)
        return result_value(f)

    def reset_state(self):
        for v in self.variables:
            v.data[...] = 0

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


@register("metrics")
class F1Score(FBetaScore):
    """F-beta with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
