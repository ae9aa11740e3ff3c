"""Confusion matrix with the statistics of R's ``caret::confusionMatrix`` (seed-000-003-004 §4.3, §6.12).

Matrix convention: rows = reference (true class), columns = prediction, as scikit-learn's
``confusion_matrix``; the text print transposes it to caret's layout (Prediction rows, Reference columns).

Overall (caret's names): Accuracy = trace / n; AccuracyLower / AccuracyUpper = exact Clopper-Pearson interval
(Beta(a/2; x, n-x+1), Beta(1-a/2; x+1, n-x) quantiles); AccuracyNull = no-information rate = largest class
prevalence of the reference; AccuracyPValue = one-sided binomial P[X >= correct | n, NIR] (``binom.test(...,
alternative = "greater")``); Kappa = (p_o - p_e) / (1 - p_e) with p_e = sum_k row_k col_k / n^2 (Cohen);
McnemarPValue = R's ``mcnemar.test``: for 2 classes (|b - c| - 1)^2 / (b + c) ~ chi2(1) (continuity
correction), for k > 2 Bowker's symmetry statistic sum_{i<j} (m_ij - m_ji)^2 / (m_ij + m_ji) ~ chi2(k(k-1)/2),
NaN when a pair of cells is empty (hence caret's NA on MNIST).
By class (one-vs-rest, TP/FN/FP/TN): Sensitivity = TP/(TP+FN), Specificity = TN/(TN+FP), Pos Pred Value =
TP/(TP+FP), Neg Pred Value = TN/(TN+FN), Precision, Recall, F1 = 2TP/(2TP+FP+FN) (0, not caret's NaN,
when a class is never predicted), Prevalence = (TP+FN)/n, Detection Rate =
TP/n, Detection Prevalence = (TP+FP)/n, Balanced Accuracy = (Sensitivity+Specificity)/2. (caret's Bayes form
of PPV/NPV equals these with the observed prevalence.) Balanced error rate = 1 - mean sensitivity
(seed-001-part1 §4, BER = 1 - balanced accuracy).
"""
import numpy as np

from ._deps import require
from ._labels import pair

BY_CLASS = ("Sensitivity", "Specificity", "Pos Pred Value", "Neg Pred Value", "Precision", "Recall", "F1",
            "Prevalence", "Detection Rate", "Detection Prevalence", "Balanced Accuracy")


def confusion_matrix(y_true, y_pred, labels=None):
    """Counts (k, k) int64, rows = true class, columns = predicted class, classes ordered as ``labels``
    (default: the sorted union of both)."""
    t, p = pair(y_true, y_pred, "confusion_matrix")
    labels = np.union1d(t, p) if labels is None else np.asarray(labels)
    index = {v: i for i, v in enumerate(labels.tolist())}
    try:
        ti = np.array([index[v] for v in t.tolist()])
        pi = np.array([index[v] for v in p.tolist()])
    except KeyError as e:
        raise ValueError(f"confusion_matrix: label {e.args[0]!r} is not in labels {labels.tolist()}") from None
    k = len(labels)
    return np.bincount(ti * k + pi, minlength=k * k).reshape(k, k).astype(np.int64)


def _div(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)


def clopper_pearson(x, n, conf_level=0.95):
    """Exact binomial interval for x successes in n trials (R ``binom.test``)."""
    beta = require("scipy.stats", "clopper_pearson").beta
    a = 1 - conf_level
    lo = 0.0 if x == 0 else float(beta.ppf(a / 2, x, n - x + 1))
    hi = 1.0 if x == n else float(beta.ppf(1 - a / 2, x + 1, n - x))
    return lo, hi


def mcnemar_pvalue(m):
    """R ``mcnemar.test(m)`` p-value (continuity-corrected for 2x2, Bowker's test for k > 2)."""
    chi2 = require("scipy.stats", "mcnemar_pvalue").chi2
    m = np.asarray(m, float)
    k = len(m)
    if k < 2:
        return float("nan")
    if k == 2:
        b, c = m[0, 1], m[1, 0]
        if b + c == 0:
            return float("nan")
        return float(chi2.sf((abs(b - c) - 1) ** 2 / (b + c), 1))
    iu = np.triu_indices(k, 1)
    num, den = (m[iu] - m.T[iu]) ** 2, m[iu] + m.T[iu]
    if np.any(den == 0):
        return float("nan")
    return float(chi2.sf(np.sum(num / den), k * (k - 1) // 2))


class ConfusionMatrix:
    """caret-style confusion matrix: ``ConfusionMatrix(y_true, y_pred)`` or ``ConfusionMatrix.from_matrix(m)``.

    Attributes: ``matrix`` (rows = true), ``labels``, ``n``, ``overall`` (dict with caret's names),
    ``by_class`` (dict statistic -> array over classes), ``balanced_error_rate``; ``positive`` is the class
    caret reports for 2 classes (default the first label). ``print(cm)`` gives caret's text.
    """

    def __init__(self, y_true=None, y_pred=None, labels=None, positive=None, conf_level=0.95, _matrix=None):
        if _matrix is None:
            t, p = pair(y_true, y_pred, "ConfusionMatrix")
            labels = np.union1d(t, p) if labels is None else np.asarray(labels)
            _matrix = confusion_matrix(t, p, labels)
        m = np.asarray(_matrix)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1 or np.any(m < 0) or m.sum() == 0:
            raise ValueError(f"ConfusionMatrix: expected a non-empty square matrix of non-negative counts, got "
                             f"shape {m.shape}")
        self.matrix = m.astype(np.int64)
        self.labels = list(np.arange(len(m)) if labels is None else np.asarray(labels).tolist())
        if len(self.labels) != len(m):
            raise ValueError(f"ConfusionMatrix: {len(self.labels)} labels for a {len(m)}x{len(m)} matrix")
        self.positive = self.labels[0] if positive is None else positive
        if self.positive not in self.labels:
            raise ValueError(f"ConfusionMatrix: positive class {positive!r} not in labels {self.labels}")
        self.conf_level = conf_level
        self.n = int(m.sum())
        self.overall = self._overall()
        self.by_class = self._by_class()
        self.balanced_error_rate = float(1 - np.nanmean(self.by_class["Sensitivity"]))

    @classmethod
    def from_matrix(cls, matrix, labels=None, positive=None, conf_level=0.95):
        """From counts with rows = reference (true) and columns = prediction (use ``matrix.T`` for caret's)."""
        return cls(labels=labels, positive=positive, conf_level=conf_level, _matrix=matrix)

    def _overall(self):
        binom = require("scipy.stats", "ConfusionMatrix").binom
        m, n = self.matrix.astype(float), self.n
        correct = int(np.trace(self.matrix))
        rows, cols = m.sum(1), m.sum(0)
        po, pe = correct / n, float(np.sum(rows * cols)) / n ** 2
        nir = float(rows.max() / n)
        lo, hi = clopper_pearson(correct, n, self.conf_level)
        return {"Accuracy": po, "Kappa": (po - pe) / (1 - pe) if pe != 1 else float("nan"),
                "AccuracyLower": lo, "AccuracyUpper": hi, "AccuracyNull": nir,
                "AccuracyPValue": float(binom.sf(correct - 1, n, nir)), "McnemarPValue": mcnemar_pvalue(m)}

    def _by_class(self):
        m = self.matrix.astype(float)
        n = float(self.n)
        tp = np.diag(m)
        fn, fp = m.sum(1) - tp, m.sum(0) - tp
        tn = n - tp - fn - fp
        sens, spec, ppv = _div(tp, tp + fn), _div(tn, tn + fp), _div(tp, tp + fp)
        return {"Sensitivity": sens, "Specificity": spec, "Pos Pred Value": ppv, "Neg Pred Value": _div(tn, tn + fn),
                "Precision": ppv, "Recall": sens, "F1": _div(2 * tp, 2 * tp + fp + fn),
                "Prevalence": (tp + fn) / n, "Detection Rate": tp / n, "Detection Prevalence": (tp + fp) / n,
                "Balanced Accuracy": (sens + spec) / 2}

    @property
    def accuracy(self):
        return self.overall["Accuracy"]

    @property
    def kappa(self):
        return self.overall["Kappa"]

    def to_dict(self):
        """JSON-able summary (NaN written as None)."""
        def clean(v):
            v = float(v)
            return None if np.isnan(v) else v
        return {"labels": [str(x) for x in self.labels], "matrix": self.matrix.tolist(),
                "overall": {k: clean(v) for k, v in self.overall.items()},
                "by_class": {k: [clean(x) for x in v] for k, v in self.by_class.items()},
                "balanced_error_rate": self.balanced_error_rate}

    def __repr__(self):
        return (f"<ConfusionMatrix {len(self.labels)} classes, n={self.n}, accuracy={self.accuracy:.4f}, "
                f"kappa={self.kappa:.4f}>")

    def __str__(self):
        from .report import format_confusion
        return format_confusion(self)


def balanced_error_rate(y_true, y_pred, labels=None):
    """BER = 1 - mean per-class recall (= 1 - balanced accuracy); seed-001-part1 §4."""
    m = confusion_matrix(y_true, y_pred, labels).astype(float)
    rows = m.sum(1)
    return float(1 - np.mean(np.diag(m)[rows > 0] / rows[rows > 0]))


def confusion_statistics(y_true, y_pred, labels=None, positive=None):
    """Shorthand for ``ConfusionMatrix(y_true, y_pred, labels, positive)`` (R's ``confusionMatrix``)."""
    return ConfusionMatrix(y_true, y_pred, labels=labels, positive=positive)
