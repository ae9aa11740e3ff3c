"""ROC curve, AUC and the optimal threshold (Youden's J = max TPR - FPR), via scikit-learn."""
from dataclasses import dataclass

import numpy as np

from ._deps import require


@dataclass
class ROC:
    """fpr, tpr, thresholds (scikit-learn's ``roc_curve``), auc, and the Youden-optimal point."""
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float
    best_index: int

    @property
    def best_threshold(self):
        return float(self.thresholds[self.best_index])

    @property
    def youden_j(self):
        return float(self.tpr[self.best_index] - self.fpr[self.best_index])

    def to_dict(self):
        return {"auc": self.auc, "best_threshold": self.best_threshold, "youden_j": self.youden_j,
                "best_tpr": float(self.tpr[self.best_index]), "best_fpr": float(self.fpr[self.best_index])}


def _scores(y_true, scores, fn):
    t = np.asarray(y_true.numpy() if hasattr(y_true, "numpy") else y_true)
    s = np.asarray(scores.numpy() if hasattr(scores, "numpy") else scores, float)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 2 and s.shape[1] == 2:  # softmax over two classes: the positive column
        s = s[:, 1]
    if t.ndim != 1 or s.ndim != 1 or len(t) != len(s):
        raise ValueError(f"{fn}: expected 1-D y_true and scores of the same length, got {t.shape} and {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{fn}: scores hold {int(np.sum(~np.isfinite(s)))} NaN/Inf values")
    if len(np.unique(t)) != 2:
        raise ValueError(f"{fn}: y_true must hold exactly two classes, got {np.unique(t).tolist()}")
    return t, s


def roc_curve(y_true, scores, pos_label=None):
    """``ROC`` for binary labels and scores (probabilities or logits of the positive class)."""
    metrics = require("sklearn.metrics", "roc_curve")
    t, s = _scores(y_true, scores, "roc_curve")
    fpr, tpr, thr = metrics.roc_curve(t, s, pos_label=pos_label, drop_intermediate=False)
    best = int(np.argmax(tpr - fpr))
    return ROC(fpr, tpr, thr, float(metrics.auc(fpr, tpr)), best)


def roc_auc_score(y_true, scores, multi_class="raise", average="macro"):
    """AUC; for (n, k) probabilities with k > 2 pass ``multi_class='ovr'`` or ``'ovo'`` (scikit-learn)."""
    metrics = require("sklearn.metrics", "roc_auc_score")
    s = np.asarray(scores.numpy() if hasattr(scores, "numpy") else scores, float)
    if s.ndim == 2 and s.shape[1] > 2:
        return float(metrics.roc_auc_score(np.asarray(y_true), s, multi_class=multi_class, average=average))
    t, s = _scores(y_true, s, "roc_auc_score")
    return float(metrics.roc_auc_score(t, s))


def optimal_threshold(y_true, scores):
    """The threshold maximising TPR - FPR (Youden's J), with its TPR and FPR: ``(threshold, tpr, fpr)``."""
    r = roc_curve(y_true, scores)
    return r.best_threshold, float(r.tpr[r.best_index]), float(r.fpr[r.best_index])
