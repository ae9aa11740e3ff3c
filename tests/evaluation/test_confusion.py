"""Confusion-matrix statistics against scikit-learn / SciPy on random inputs, and the seeds' worked examples
(caret's MNIST statistics of seed-000-003-004 R3 and R29; seed-001-part1 N12 ACC / BER)."""
import sys

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics

from nerve.evaluation import (ConfusionMatrix, balanced_error_rate, confusion_matrix, confusion_statistics,
                              mcnemar_pvalue)

MNIST_TEST_COUNTS = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
R29 = np.array([[974, 0, 1, 0, 0, 0, 1, 1, 3, 0], [0, 1131, 0, 0, 0, 2, 2, 0, 0, 0],
                [3, 4, 1004, 5, 1, 0, 0, 8, 7, 0], [0, 0, 0, 1004, 0, 3, 0, 0, 3, 0],
                [0, 1, 0, 0, 975, 0, 2, 0, 1, 3], [2, 0, 0, 5, 0, 881, 3, 0, 1, 0],
                [5, 2, 0, 0, 1, 3, 947, 0, 0, 0], [0, 3, 4, 3, 0, 0, 0, 1014, 1, 3],
                [4, 0, 0, 0, 0, 0, 1, 2, 963, 4], [2, 3, 0, 3, 7, 1, 0, 6, 2, 985]])


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("seed,k,n", [(0, 2, 50), (1, 3, 200), (2, 5, 1000), (3, 10, 500), (4, 2, 7)])
def test_matches_sklearn_and_scipy(seed, k, n):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.6, t, rng.integers(0, k, n))
    labels = np.arange(k)
    cm = ConfusionMatrix(t, p, labels=labels)
    np.testing.assert_array_equal(cm.matrix, metrics.confusion_matrix(t, p, labels=labels))
    np.testing.assert_array_equal(confusion_matrix(t, p, labels), cm.matrix)
    o = cm.overall
    assert o["Accuracy"] == pytest.approx(metrics.accuracy_score(t, p), abs=1e-15)
    assert o["Kappa"] == pytest.approx(metrics.cohen_kappa_score(t, p), abs=1e-12)
    correct = int((t == p).sum())
    ci = stats.binomtest(correct, n).proportion_ci(confidence_level=0.95, method="exact")
    assert (o["AccuracyLower"], o["AccuracyUpper"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    nir = np.bincount(t, minlength=k).max() / n
    assert o["AccuracyNull"] == pytest.approx(nir)
    assert o["AccuracyPValue"] == pytest.approx(stats.binomtest(correct, n, nir, alternative="greater").pvalue,
                                                rel=1e-9, abs=1e-300)
    prec, rec, f1, sup = metrics.precision_recall_fscore_support(t, p, labels=labels, zero_division=np.nan)
    b = cm.by_class
    np.testing.assert_allclose(b["Sensitivity"], rec, equal_nan=True)
    np.testing.assert_allclose(b["Pos Pred Value"], prec, equal_nan=True)
    np.testing.assert_allclose(b["F1"], f1, equal_nan=True)
    mcm = metrics.multilabel_confusion_matrix(t, p, labels=labels)  # [[tn, fp], [fn, tp]] per class
    tn, fp, fn, tp = (mcm[:, i // 2, i % 2].astype(float) for i in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(b["Specificity"], tn / (tn + fp), equal_nan=True)
        np.testing.assert_allclose(b["Neg Pred Value"], tn / (tn + fn), equal_nan=True)
    np.testing.assert_allclose(b["Prevalence"], sup / n)
    np.testing.assert_allclose(b["Detection Rate"], tp / n)
    np.testing.assert_allclose(b["Detection Prevalence"], (tp + fp) / n)
    np.testing.assert_allclose(b["Balanced Accuracy"], (b["Sensitivity"] + b["Specificity"]) / 2)
    assert cm.balanced_error_rate == pytest.approx(1 - metrics.balanced_accuracy_score(t, p), abs=1e-12)
    assert balanced_error_rate(t, p) == pytest.approx(cm.balanced_error_rate, abs=1e-15)


def test_mcnemar_two_classes_matches_chi2_with_correction():
    m = np.array([[50, 12], [4, 34]])  # b = 12, c = 4: R mcnemar.test gives X^2 = (|12-4|-1)^2/16 = 3.0625
    assert mcnemar_pvalue(m) == pytest.approx(stats.chi2.sf(3.0625, 1), rel=1e-12)
    assert mcnemar_pvalue(m) == pytest.approx(0.08011831, rel=1e-6)


def test_bowker_symmetry_for_three_classes():
    m = np.array([[20, 5, 3], [2, 30, 4], [6, 1, 25]])
    stat = (5 - 2) ** 2 / 7 + (3 - 6) ** 2 / 9 + (4 - 1) ** 2 / 5
    assert mcnemar_pvalue(m) == pytest.approx(stats.chi2.sf(stat, 3), rel=1e-12)


def r3_matrix():
    """The seed prints R3's statistics but not its matrix: this one has the MNIST test marginals as rows,
    9,818 on the diagonal, and predicted-class totals off by 5 for classes 1 and 5 (what the printed Kappa
    pins down: sum_k row_k col_k = 10,036,257)."""
    e = np.array([20, 15, 15, 15, 15, 20, 20, 20, 20, 20])
    m = np.diag(MNIST_TEST_COUNTS - e)
    for i in range(10):
        m[i, (i + 1) % 10] += e[i]
    m[2, 2] -= 1
    m[2, 3] += 1
    m[3, 3] -= 1
    m[3, 2] += 1
    return m


def test_caret_example_r3():
    cm = ConfusionMatrix.from_matrix(r3_matrix())
    o = cm.overall
    assert round(o["Accuracy"], 4) == 0.9818
    assert round(o["Kappa"], 7) == 0.9797696
    assert (round(o["AccuracyLower"], 7), round(o["AccuracyUpper"], 7)) == (0.9789852, 0.9843289)
    assert (round(o["AccuracyLower"], 5), round(o["AccuracyUpper"], 5)) == (0.97899, 0.98433)
    assert o["AccuracyNull"] == pytest.approx(0.1135)
    assert o["AccuracyPValue"] < 1e-16 and np.isnan(o["McnemarPValue"])
    text = str(cm)
    for s in ("Accuracy : 0.9818", "95% CI : (0.979, 0.9843)", "No Information Rate : 0.1135",
              "P-Value [Acc > NIR] : < 2.2e-16", "Kappa : 0.9798", "Mcnemar's Test P-Value : NA",
              "Statistics by Class:", "Class: 9"):
        assert s in text, s


def test_r29_matrix_from_the_seed():
    cm = ConfusionMatrix.from_matrix(R29)  # rows = y_test, columns = y_pred as printed (S4:L431-L441)
    np.testing.assert_array_equal(cm.matrix.sum(1), MNIST_TEST_COUNTS)
    assert cm.accuracy == pytest.approx(0.9878)
    assert round(cm.kappa, 5) == 0.98644
    assert (round(cm.overall["AccuracyLower"], 5), round(cm.overall["AccuracyUpper"], 5)) == (0.98545, 0.98986)


def test_seed001_seasons_ber():
    m = np.array([[25, 0, 0, 0], [0, 23, 1, 1], [1, 0, 22, 1], [0, 1, 1, 24]])  # N12, rows = true
    cm = ConfusionMatrix.from_matrix(m, labels=["Summer", "Fall", "Winter", "Spring"])
    assert cm.accuracy == pytest.approx(0.94, abs=1e-15)
    assert cm.balanced_error_rate == pytest.approx(0.06006410256410266, abs=1e-15)
    t = np.repeat(np.arange(4), m.sum(1))
    p = np.concatenate([np.repeat(np.arange(4), row) for row in m])
    assert balanced_error_rate(t, p) == pytest.approx(0.06006410256410266, abs=1e-15)


def test_binary_print_and_positive_class():
    cm = confusion_statistics([1, 1, 0, 0, 1, 0, 1], [1, 0, 0, 0, 1, 1, 1], positive=1)
    text = str(cm)
    assert "'Positive' Class : 1" in text and "Sensitivity : 0.75" in text
    assert cm.to_dict()["overall"]["Accuracy"] == pytest.approx(5 / 7)


def test_inputs_from_probabilities_and_one_hot():
    y = np.array([0, 2, 1, 2])
    probs = np.eye(3)[[0, 2, 2, 2]] * 0.8 + 0.05
    cm = ConfusionMatrix(np.eye(3)[y], probs)
    assert cm.matrix.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    cm2 = ConfusionMatrix([0, 1, 1], np.array([[0.2], [0.7], [0.4]]))
    assert cm2.accuracy == pytest.approx(2 / 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="different lengths: 3 vs 2"):
        ConfusionMatrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="non-integer floats"):
        ConfusionMatrix([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="square"):
        ConfusionMatrix.from_matrix(np.ones((2, 3)))
    with pytest.raises(ValueError, match="not in labels"):
        confusion_matrix([0, 1, 2], [0, 1, 2], labels=[0, 1])


def test_missing_scipy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    with pytest.raises(ImportError, match=r"scipy.*pip install 'nerve\[sklearn\]'"):
        ConfusionMatrix([0, 1], [0, 1])
