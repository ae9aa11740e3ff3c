"""ROC / AUC / Youden threshold, classification report and regression metrics against scikit-learn."""
import sys

import numpy as np
import pytest
from sklearn import metrics

from nerve.evaluation import (classification_report, mean_absolute_error, mean_squared_error, optimal_threshold,
                              r2_score, regression_report, roc_auc_score, roc_curve)


def test_roc_and_youden_threshold():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = y * 0.8 + rng.normal(0, 0.6, 300)
    r = roc_curve(y, s)
    assert r.auc == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
    assert roc_auc_score(y, s) == pytest.approx(r.auc)
    # brute force: the threshold t maximising TPR - FPR of the rule score >= t
    best = max(np.unique(s), key=lambda t: ((s >= t) & (y == 1)).sum() / (y == 1).sum()
               - ((s >= t) & (y == 0)).sum() / (y == 0).sum())
    thr, tpr, fpr = optimal_threshold(y, s)
    assert thr == best
    assert tpr - fpr == pytest.approx(r.youden_j)
    assert set(r.to_dict()) >= {"auc", "best_threshold", "youden_j"}


def test_roc_from_softmax_and_multiclass_auc():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 100)
    p1 = np.clip(y * 0.5 + rng.random(100) * 0.5, 0, 1)
    assert roc_curve(y, np.stack([1 - p1, p1], 1)).auc == pytest.approx(metrics.roc_auc_score(y, p1))
    y3 = rng.integers(0, 3, 200)
    p3 = rng.dirichlet(np.ones(3), 200)
    assert roc_auc_score(y3, p3, multi_class="ovr") == pytest.approx(
        metrics.roc_auc_score(y3, p3, multi_class="ovr"))
    with pytest.raises(ValueError, match="exactly two classes"):
        roc_curve(y3, p3[:, 0])
    with pytest.raises(ValueError, match="NaN/Inf"):
        roc_curve([0, 1], [0.1, np.nan])


def test_classification_report():
    y = [0, 1, 2, 2, 1, 0]
    p = [0, 2, 2, 2, 1, 1]
    text = classification_report(y, p, target_names=["a", "b", "c"])
    assert "precision" in text and "macro avg" in text and "0.6667" in text
    d = classification_report(y, p, output_dict=True)
    ref = metrics.classification_report(y, p, output_dict=True, zero_division=0)
    assert d["macro avg"]["f1-score"] == pytest.approx(ref["macro avg"]["f1-score"])


def test_regression_metrics():
    rng = np.random.default_rng(2)
    t = rng.normal(size=50)
    p = t + rng.normal(0, 0.3, 50)
    assert mean_squared_error(t, p) == pytest.approx(metrics.mean_squared_error(t, p))
    assert mean_absolute_error(t, p[:, None]) == pytest.approx(metrics.mean_absolute_error(t, p))
    assert r2_score(t, p) == pytest.approx(metrics.r2_score(t, p))
    T, P = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    assert r2_score(T, P) == pytest.approx(metrics.r2_score(T, P))
    assert regression_report(t, t) == {"mse": 0.0, "mae": 0.0, "r2": 1.0}
    with pytest.raises(ValueError, match="different shapes"):
        mean_squared_error([1, 2], [1, 2, 3])


def test_missing_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)
    with pytest.raises(ImportError, match=r"scikit-learn.*nerve\[sklearn\]"):
        roc_curve([0, 1], [0.2, 0.8])
