"""Confusion-matrix metrics: TruePositives/FalsePositives/TrueNegatives/FalseNegatives, Precision,
Recall and AUC (ROC and PR), with Keras' threshold semantics: a prediction is positive at threshold t
when ``y_pred > t``.

Counting is O(N log T): each prediction falls into the bucket k = #(thresholds < p) (``searchsorted``);
TP(t_j) is the weighted count of positives with k > j, i.e. a reversed cumulative sum of the bucket
totals (Keras' ``_update_confusion_matrix_variables_optimized``, generalised to any thresholds).
"""
import numpy as np

from ..saving.registry import register
from .base import EPSILON, Metric, divide_no_nan, result_value, squeeze_or_expand_to_same_rank, to_numpy

NEG_INF = -1e10


def _thresholds_list(thresholds, default, who):
    if thresholds is None:
        return [float(default)]
    ts = [thresholds] if np.ndim(thresholds) == 0 else list(np.asarray(thresholds, np.float64).ravel())
    bad = [t for t in ts if t is None or not 0 <= t <= 1]
    if bad:
        raise ValueError(f"{who}: argument 'thresholds' must hold values in [0, 1], got {bad}")
    return [float(t) for t in ts]


def is_evenly_distributed_thresholds(thresholds):
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n) / (n - 1), atol=EPSILON))


def _filter_top_k(x, k):
    """Keep the k largest values on the last axis (ties: lowest index first), others -> NEG_INF."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(x.shape, bool)
    np.put_along_axis(mask, idx, True, axis=-1)
    return np.where(mask, x, NEG_INF)


def confusion_counts(metric, y_true, y_pred, thresholds, sample_weight=None, multi_label=False,
                     label_weights=None, top_k=None, class_id=None, clip=False):
    """Weighted (tp, fp, tn, fn) at each threshold: arrays of shape (T,), or (T, L) when multi_label."""
    who = f"{type(metric).__name__} metric {metric.name!r}"
    y_true, y_pred = to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"{who}: argument 'y_true' has shape {y_true.shape} but 'y_pred' has shape "
                         f"{y_pred.shape}; expected the same shape")
    sw = None
    if sample_weight is not None:
        sw = to_numpy(sample_weight, np.float64)[..., None]
        _, sw = squeeze_or_expand_to_same_rank(y_true, sw, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(f"{who}: argument 'class_id'={class_id} needs y_pred of shape (num_samples, "
                             f"num_classes) with class_id < num_classes; got y_pred.shape={y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    w = np.ones(y_pred.shape)
    if sw is not None:
        try:
            w = np.broadcast_to(sw, y_pred.shape)
        except ValueError:
            raise ValueError(f"{who}: argument 'sample_weight' has shape {tuple(np.shape(sample_weight))}, "
                             f"which does not broadcast to y_pred of shape {y_pred.shape}") from None
    if label_weights is not None:
        w = w * np.broadcast_to(np.asarray(label_weights, np.float64)[None], y_pred.shape)
    if clip:  # Keras' bucketed path clips predictions to [0, 1]
        y_pred = np.clip(y_pred, 0.0, 1.0)
    pos = y_true != 0
    if multi_label:
        if y_pred.ndim != 2:
            raise ValueError(f"{who}: y_pred must have rank 2 when multi_label=True; got shape {y_pred.shape}")
    else:
        y_pred, pos, w = y_pred.reshape(-1, 1), pos.reshape(-1, 1), np.reshape(w, (-1, 1))
    thresholds = np.asarray(thresholds, np.float64)
    order = np.argsort(thresholds, kind="stable")
    t = len(thresholds)
    n_labels = y_pred.shape[1]
    k = np.searchsorted(thresholds[order], y_pred, side="left")  # number of thresholds < p
    idx = (k + (t + 1) * np.arange(n_labels)[None, :]).ravel()

    def above(weights):  # weighted count with p > threshold, per (label, sorted threshold)
        b = np.bincount(idx, weights=weights.ravel(), minlength=(t + 1) * n_labels).reshape(n_labels, t + 1)
        suffix = np.cumsum(b[:, ::-1], axis=1)[:, ::-1]
        out = np.empty((n_labels, t))
        out[:, order] = suffix[:, 1:]
        return out.T  # (T, L)

    tw, fw = w * pos, w * ~pos
    tp, fp = above(tw), above(fw)
    fn, tn = tw.sum(0) - tp, fw.sum(0) - fp
    if not multi_label:
        tp, fp, tn, fn = tp[:, 0], fp[:, 0], tn[:, 0], fn[:, 0]
    return tp, fp, tn, fn


class _ConfusionMatrixConditionCount(Metric):
    _which = 0  # index into (tp, fp, tn, fn)

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds_list(thresholds, 0.5, type(self).__name__)
        self._evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(self, y_true, y_pred, self.thresholds, sample_weight, clip=self._evenly)
        self.accumulator.data += counts[self._which]

    def result(self):
        a = self.accumulator.data
        return result_value(a[0] if len(self.thresholds) == 1 else a)

    def get_config(self):
        return {**super().get_config(), "thresholds": _json(self.init_thresholds)}


def _json(x):
    return x.tolist() if isinstance(x, np.ndarray) else x


@register("metrics")
class TruePositives(_ConfusionMatrixConditionCount):
    _which = 0


@register("metrics")
class FalsePositives(_ConfusionMatrixConditionCount):
    _which = 1


@register("metrics")
class TrueNegatives(_ConfusionMatrixConditionCount):
    _which = 2


@register("metrics")
class FalseNegatives(_ConfusionMatrixConditionCount):
    _which = 3


class _PrecisionRecall(Metric):
    _direction = "up"
    _second = ("false_positives", 1)

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = _thresholds_list(thresholds, 0.5 if top_k is None else NEG_INF, type(self).__name__)
        self._evenly = is_evenly_distributed_thresholds(self.thresholds)
        self.true_positives = self.add_variable((len(self.thresholds),), name="true_positives")
        self._other = self.add_variable((len(self.thresholds),), name=self._second[0])
        setattr(self, self._second[0], self._other)  # false_positives (Precision) / false_negatives (Recall)

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(self, y_true, y_pred, self.thresholds, sample_weight, top_k=self.top_k,
                                  class_id=self.class_id, clip=self._evenly)
        self.true_positives.data += counts[0]
        self._other.data += counts[self._second[1]]

    def result(self):
        r = divide_no_nan(self.true_positives.data, self.true_positives.data + self._other.data)
        return result_value(r[0] if len(self.thresholds) == 1 else r)

    def get_config(self):
        return {**super().get_config(), "thresholds": _json(self.init_thresholds), "top_k": self.top_k,
                "class_id": self.class_id}


@register("metrics")
class Precision(_PrecisionRecall):
    """TP / (TP + FP) at each threshold (default 0.5), optionally among the top_k or for one class_id."""


@register("metrics")
class Recall(_PrecisionRecall):
    """TP / (TP + FN) at each threshold (default 0.5), optionally among the top_k or for one class_id."""
    _second = ("false_negatives", 3)


@register("metrics")
class AUC(Metric):
    """Area under the ROC or PR curve from confusion counts at ``num_thresholds`` thresholds
    (Riemann sum; PR with 'interpolation' uses Davis & Goadrich's interpolation as Keras)."""
    _direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curves = {"roc": "ROC", "pr": "PR"}
        if str(curve).lower() not in curves:
            raise ValueError(f"AUC: argument 'curve' must be 'ROC' or 'PR', got {curve!r}")
        methods = ("interpolation", "majoring", "minoring")
        if str(summation_method).lower() not in methods:
            raise ValueError(f"AUC: argument 'summation_method' must be one of {methods}, got {summation_method!r}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(_thresholds_list(thresholds, 0.5, "AUC"))
            self.num_thresholds = len(thresholds) + 2
            self._evenly = is_evenly_distributed_thresholds([0.0] + thresholds + [1.0])
        else:
            if int(num_thresholds) <= 1:
                raise ValueError(f"AUC: argument 'num_thresholds' must be an integer > 1, got {num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            thresholds = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        # end points below 0 and above 1 so that predictions of exactly 0 or 1 are counted
        self._thresholds = np.array([0.0 - EPSILON] + thresholds + [1.0 + EPSILON])
        self.curve = curves[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build(num_labels)
        else:
            if num_labels:
                raise ValueError("AUC: argument 'num_labels' is needed only when multi_label=True")
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds, int(num_labels))
        self._num_labels = num_labels
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, n, self.add_variable(shape, name=n))
        self._built = True

    def _build_from_state(self, state):
        shape = np.shape(state.get("true_positives", ()))
        if len(shape) == 2:
            self._build(shape[1])

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = to_numpy(y_pred, np.float64)
        if not self._built:
            if y_pred.ndim != 2:
                raise ValueError(f"AUC metric {self.name!r}: y_pred must have rank 2 (batch, labels) when "
                                 f"multi_label=True; got shape {y_pred.shape}")
            self._build(y_pred.shape[1])
        if self._from_logits:
            y_pred = 0.5 * (1.0 + np.tanh(0.5 * y_pred))  # sigmoid without overflow
        tp, fp, tn, fn = confusion_counts(self, y_true, y_pred, self._thresholds, sample_weight,
                                          multi_label=self.multi_label,
                                          label_weights=None if self.multi_label else self.label_weights,
                                          clip=self._evenly)
        if self.multi_label and tp.shape != self.true_positives.shape:
            raise ValueError(f"AUC metric {self.name!r}: y_pred has {tp.shape[1]} labels, expected "
                             f"{self.true_positives.shape[1]} as in the earlier batches")
        self.true_positives.data += tp
        self.false_positives.data += fp
        self.true_negatives.data += tn
        self.false_negatives.data += fn

    def _average(self, by_label):
        if self.label_weights is None:
            return np.mean(by_label)
        return divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))

    def interpolate_pr_auc(self):
        """Davis & Goadrich 2006: TP and P = TP + FP vary linearly between thresholds A and B, so the
        area of precision dTP/dP over [A, B] is slope * (dTP + intercept * log(P_B / P_A)) / (TP + FN)."""
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        inc = divide_no_nan(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return np.sum(inc, axis=0)

    def result(self):
        if not self._built:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            by_label = self.interpolate_pr_auc()
        else:
            tp, fp = self.true_positives.data, self.false_positives.data
            tn, fn = self.true_negatives.data, self.false_negatives.data
            recall = divide_no_nan(tp, tp + fn)
            if self.curve == "ROC":
                x, y = divide_no_nan(fp, fp + tn), recall
            else:
                x, y = recall, divide_no_nan(tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2.0
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            by_label = np.sum((x[:-1] - x[1:]) * heights, axis=0)
        return float(self._average(by_label) if self.multi_label else by_label)

    def reset_state(self):
        for v in self.variables:
            v.data[...] = 0

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": _json(self.label_weights),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config


class SensitivitySpecificityBase(Metric):
    """Confusion counts at ``num_thresholds`` evenly spaced thresholds in [0, 1] (0.5 alone when
    num_thresholds=1), and the best value of one rate among the thresholds where another rate reaches
    ``value`` (Keras' ``_find_max_under_constraint``: max(dependent where constrained >= value), 0 if none).

    Rates: sensitivity = recall = TP / (TP + FN), specificity = TN / (TN + FP), precision = TP / (TP + FP)."""
    _direction = "up"
    _value_name = "value"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        who = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value <= 1:
            raise ValueError(f"{who}: argument {self._value_name!r} must be a number in [0, 1], got {value!r}")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) or \
                num_thresholds <= 0:
            raise ValueError(f"{who}: argument 'num_thresholds' must be an integer > 0, got {num_thresholds!r}")
        super().__init__(name=name, dtype=dtype)
        self.value, self.num_thresholds, self.class_id = value, int(num_thresholds), class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            n = self.num_thresholds
            self.thresholds, self._evenly = [0.0] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1.0], True
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            setattr(self, n, self.add_variable((len(self.thresholds),), name=n))

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(self, y_true, y_pred, self.thresholds, sample_weight, class_id=self.class_id,
                                  clip=self._evenly)
        for v, c in zip((self.true_positives, self.false_positives, self.true_negatives, self.false_negatives),
                        counts):
            v.data += c

    def _rates(self):
        tp, fp = self.true_positives.data, self.false_positives.data
        tn, fn = self.true_negatives.data, self.false_negatives.data
        return {"sensitivity": divide_no_nan(tp, tp + fn), "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _max_under_constraint(self, constrained, dependent):
        rates = self._rates()
        feasible = rates[constrained] >= self.value
        return float(np.max(np.where(feasible, rates[dependent], 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_name: self.value}


@register("metrics")
class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) among the thresholds where specificity >= ``specificity``."""
    _value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.specificity = specificity

    def result(self):
        return self._max_under_constraint("specificity", "sensitivity")


@register("metrics")
class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity among the thresholds where sensitivity (recall) >= ``sensitivity``."""
    _value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.sensitivity = sensitivity

    def result(self):
        return self._max_under_constraint("sensitivity", "specificity")


@register("metrics")
class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision among the thresholds where recall >= ``recall``."""
    _value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.recall = recall

    def result(self):
        return self._max_under_constraint("sensitivity", "precision")


@register("metrics")
class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall among the thresholds where precision >= ``precision`` (0 when it is never reached)."""
    _value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds=num_thresholds, class_id=class_id, name=name, dtype=dtype)
        self.precision = precision

    def result(self):
        return self._max_under_constraint("precision", "sensitivity")
