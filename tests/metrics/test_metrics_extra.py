"""IoU, correlation and sensitivity/specificity metrics, and the loss functions nerve.metrics re-exports:
values against scikit-learn, SciPy and NumPy formulas (streamed over uneven batches, with sample weights),
Keras 3.15's docstring values, identifiers, configs, state, device inputs and clear errors."""
import json
import os
import sys

import numpy as np
import pytest
import torch
from scipy import stats
from sklearn import metrics as skm

import nerve
from nerve import losses
from nerve import metrics as M

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

RNG = np.random.default_rng(2024)
BATCHES = [0, 1, 37, 120, 121, 200]  # uneven, includes a batch of size 1


def stream(metric, y_true, y_pred, sample_weight=None, batches=BATCHES):
    metric.reset_state()
    for a, b in zip(batches[:-1], batches[1:]):
        w = None if sample_weight is None else sample_weight[a:b]
        metric.update_state(y_true[a:b], y_pred[a:b], sample_weight=w)
    return metric.result()


def one_shot(metric, y_true, y_pred, sample_weight=None):
    metric.reset_state()
    metric.update_state(y_true, y_pred, sample_weight=sample_weight)
    return metric.result()


def check(metric, y_true, y_pred, expected, w=None, tol=1e-9):
    """Streamed and one-shot results equal ``expected`` (IoU: tol 1e-6 for the 1e-7 in its denominators)."""
    np.testing.assert_allclose(stream(metric, y_true, y_pred, w), expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(one_shot(metric, y_true, y_pred, w), expected, rtol=tol, atol=tol)


# ---------------------------------------------------------------------------------------------- Keras values
def test_keras_docstring_values():
    """The values in Keras 3.15's docstrings (the IoU ones with float weights, i.e. dtype='float32' there)."""
    m = M.IoU(num_classes=2, target_class_ids=[0])
    assert m([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(1 / 3)
    m.reset_state()
    assert m([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1]) == pytest.approx(1 / 3)
    m = M.MeanIoU(num_classes=2)
    assert m([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(1 / 3)
    m.reset_state()
    assert m([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1]) == pytest.approx(0.23809525)
    m = M.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    assert m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]) == pytest.approx(1 / 3)
    m.reset_state()
    assert m([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1]) == pytest.approx(0.17361112)
    y_true = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    w = [0.1, 0.2, 0.3, 0.4]
    assert M.OneHotIoU(num_classes=3, target_class_ids=[0, 2])(y_true, y_pred, w) == pytest.approx(0.1 / 0.7 / 2)
    assert M.OneHotMeanIoU(num_classes=3)(y_true, y_pred, w) == pytest.approx(0.1 / 0.7 / 3)  # 0.048 in Keras
    yt, yp = [[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]
    np.testing.assert_allclose(M.pearson_correlation(yt, yp), [1.0, 0.99339927], rtol=1e-7)
    # the docstring's 0.97560976, 0.98765432 and 0.98163204 leave out the 1e-7 in the denominator; these are what
    # Keras 3.15 computes (float32, torch backend)
    np.testing.assert_allclose(M.concordance_correlation(yt, yp), [0.9756093621, 0.9876539707], rtol=1e-7)
    assert M.PearsonCorrelation()(yt, yp) == pytest.approx(0.9966996338993913, rel=1e-12)
    assert M.ConcordanceCorrelation()(yt, yp) == pytest.approx(0.9816316366, rel=1e-7)
    yt, yp = [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]
    for cls, value, w, plain, weighted in [(M.SensitivityAtSpecificity, 0.5, [1, 1, 2, 2, 1], 0.5, 1 / 3),
                                           (M.SpecificityAtSensitivity, 0.5, [1, 1, 2, 2, 2], 2 / 3, 0.5),
                                           (M.PrecisionAtRecall, 0.5, [2, 2, 2, 1, 1], 0.5, 1 / 3)]:
        m = cls(value)
        assert m(yt, yp) == pytest.approx(plain)
        m.reset_state()
        assert m(yt, yp, sample_weight=w) == pytest.approx(weighted)
    m = M.RecallAtPrecision(0.8)
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.5)
    m.reset_state()
    assert m([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1]) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------- IoU
def jaccard(y_true, y_pred, classes, w=None):
    """Per-class IoU from scikit-learn (None where the class is absent from both)."""
    out = []
    for c in classes:
        t, p = y_true.ravel() == c, y_pred.ravel() == c
        present = (t | p) if w is None else (t | p) & (w.ravel() > 0)
        out.append(skm.jaccard_score(t, p, sample_weight=None if w is None else w.ravel()) if present.any() else None)
    return out


def check_iou(*args):
    check(*args, tol=1e-6)


def mean_present(values):
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else 0.0


@pytest.mark.parametrize("weighted", [False, True])
def test_iou_family_against_sklearn(weighted):
    n, h, c = 200, 5, 5
    yt = RNG.integers(0, c - 1, (n, h))  # class 4 never occurs in y_true ...
    yp = np.where(RNG.uniform(size=(n, h)) < 0.6, yt, RNG.integers(0, c - 1, (n, h)))  # ... nor in y_pred
    w = RNG.uniform(0.1, 2.0, (n, h)) if weighted else None
    per = jaccard(yt, yp, range(c), w)
    assert per[4] is None
    check_iou(M.MeanIoU(num_classes=c), yt, yp, mean_present(per), w)  # the absent class is left out of the mean
    check_iou(M.IoU(num_classes=c, target_class_ids=[2]), yt, yp, per[2], w)
    check_iou(M.IoU(num_classes=c, target_class_ids=[0, 3, 4]), yt, yp, mean_present([per[0], per[3], per[4]]), w)
    # one-hot labels and score vectors: argmax over the class axis
    scores = RNG.uniform(size=(n, h, c)) + 2.0 * np.eye(c)[yp]
    check_iou(M.OneHotMeanIoU(num_classes=c), np.eye(c)[yt], scores, mean_present(per), w)
    check_iou(M.OneHotIoU(num_classes=c, target_class_ids=[1]), np.eye(c)[yt], scores, per[1], w)
    check_iou(M.OneHotIoU(num_classes=c, target_class_ids=[1], sparse_y_pred=True), np.eye(c)[yt], yp, per[1], w)
    check_iou(M.MeanIoU(num_classes=c, sparse_y_pred=False), yt, scores, mean_present(per), w)
    # class axis first
    check_iou(M.MeanIoU(num_classes=c, sparse_y_true=False, sparse_y_pred=False, axis=1),
          np.moveaxis(np.eye(c)[yt], -1, 1), np.moveaxis(scores, -1, 1), mean_present(per), w)


def test_iou_ignore_class_and_out_of_range_ids():
    n, c = 200, 3
    yt = RNG.integers(0, c, n)
    yp = RNG.integers(0, c, n)
    void = RNG.uniform(size=n) < 0.2
    yt_void = np.where(void, 255, yt)
    expected = mean_present(jaccard(yt[~void], yp[~void], range(c)))
    check_iou(M.MeanIoU(num_classes=c, ignore_class=255), yt_void, yp, expected)
    check_iou(M.MeanIoU(num_classes=c), yt_void, yp, expected)  # ids outside [0, num_classes) are dropped (Keras 3.15)
    yt_neg = np.where(void, -1, yt)
    check_iou(M.MeanIoU(num_classes=c, ignore_class=-1), yt_neg, yp, expected)
    check_iou(M.MeanIoU(num_classes=c, ignore_class=1), yt, yp, mean_present(jaccard(yt[yt != 1], yp[yt != 1],
                                                                                 range(c))))
    assert M.MeanIoU(num_classes=2).result() == 0.0  # nothing seen


@pytest.mark.parametrize("threshold", [0.5, 0.3, 0.0])
def test_binary_iou(threshold):
    n = 200
    y = RNG.integers(0, 2, n)
    s = np.clip(0.4 * y + 0.6 * RNG.uniform(size=n), 0, 1)
    s[:3] = threshold  # at the threshold: class 1 (y_pred >= threshold)
    w = RNG.uniform(size=n)
    pred = (s >= threshold).astype(int)
    per = jaccard(y, pred, (0, 1), w)
    check_iou(M.BinaryIoU(threshold=threshold), y, s, mean_present(per), w)
    check_iou(M.BinaryIoU(target_class_ids=[1], threshold=threshold), y[:, None], s[:, None], per[1], w)
    check_iou(M.BinaryIoU(target_class_ids=[0], threshold=threshold), y, s, per[0], w)


def test_iou_sample_weight_shapes():
    yt, yp = RNG.integers(0, 3, (10, 4)), RNG.integers(0, 3, (10, 4))
    w = RNG.uniform(size=10)
    full = one_shot(M.MeanIoU(3), yt, yp, np.repeat(w[:, None], 4, 1))
    assert one_shot(M.MeanIoU(3), yt, yp, w) == pytest.approx(full)  # one weight per sample
    assert one_shot(M.MeanIoU(3), yt, yp, w[:, None]) == pytest.approx(full)
    assert one_shot(M.MeanIoU(3), yt, yp, 2.0) == pytest.approx(one_shot(M.MeanIoU(3), yt, yp))
    m = M.MeanIoU(3)
    m.update_state(yt, yp, sample_weight=np.repeat(w[:, None], 4, 1))
    np.testing.assert_allclose(m.total_cm.data.sum(), np.repeat(w, 4).sum())  # float weights kept as given


# ---------------------------------------------------------------------------------------------- correlation
def test_correlation_functions_against_scipy_and_numpy():
    t = RNG.normal(size=(7, 30))
    p = 0.5 * t + RNG.normal(size=(7, 30)) + 1.0
    np.testing.assert_allclose(M.pearson_correlation(t, p), [stats.pearsonr(a, b)[0] for a, b in zip(t, p)],
                               rtol=1e-12)
    np.testing.assert_allclose(M.pearson_correlation(t, p, axis=0),
                               [stats.pearsonr(a, b)[0] for a, b in zip(t.T, p.T)], rtol=1e-12)

    def lin_ccc(a, b):  # Lin 1989, population moments
        return 2 * np.cov(a, b, bias=True)[0, 1] / (a.var() + b.var() + (a.mean() - b.mean()) ** 2 + 1e-7)

    np.testing.assert_allclose(M.concordance_correlation(t, p), [lin_ccc(a, b) for a, b in zip(t, p)], rtol=1e-12)
    np.testing.assert_allclose(M.concordance_correlation(t, p, axis=(0, 1)), lin_ccc(t.ravel(), p.ravel()),
                               rtol=1e-12)
    np.testing.assert_allclose(M.concordance_correlation(t, t), 1.0, rtol=1e-7)
    assert np.isnan(M.pearson_correlation([[1.0, 1.0, 1.0]], [[1.0, 2.0, 3.0]])[0])  # constant: NaN, as Keras


def test_correlation_metrics_average_the_per_batch_values():
    t = RNG.normal(size=(200, 6))
    p = t + RNG.normal(size=(200, 6))
    w = RNG.uniform(0.1, 2, 200)
    per_row = [stats.pearsonr(a, b)[0] for a, b in zip(t, p)]
    check(M.PearsonCorrelation(), t, p, np.average(per_row, weights=w), w)
    check(M.PearsonCorrelation(), t, p, np.mean(per_row))
    # axis=0 / 1-D inputs: one coefficient per batch, and the batches' mean (as Keras' MeanMetricWrapper)
    for y, q in ((t[:, 0], p[:, 0]), (t[:, :1], p[:, :1])):
        per_batch = [stats.pearsonr(y[a:b].ravel(), q[a:b].ravel())[0] for a, b in ((0, 80), (80, 200))]
        axis = -1 if y.ndim == 1 else 0
        got = stream(M.PearsonCorrelation(axis=axis), y, q, batches=[0, 80, 200])
        assert got == pytest.approx(np.mean(per_batch), rel=1e-12)
    ccc = M.concordance_correlation(t, p)
    check(M.ConcordanceCorrelation(), t, p, np.average(ccc, weights=w), w)


# ---------------------------------------------------------------------------------------------- thresholds
def brute_force_rates(y, s, w, num_thresholds):
    """(sensitivity, specificity, precision) at Keras' thresholds, a prediction being positive when s > t."""
    ts = [0.5] if num_thresholds == 1 else np.linspace(0.0, 1.0, num_thresholds)
    sens, spec, prec = [], [], []
    for t in ts:
        pred = s > t
        tp, fp = np.sum(w * (pred & (y == 1))), np.sum(w * (pred & (y == 0)))
        fn, tn = np.sum(w * (~pred & (y == 1))), np.sum(w * (~pred & (y == 0)))
        sens.append(tp / (tp + fn) if tp + fn else 0.0)
        spec.append(tn / (tn + fp) if tn + fp else 0.0)
        prec.append(tp / (tp + fp) if tp + fp else 0.0)
    return {"sensitivity": np.array(sens), "specificity": np.array(spec), "precision": np.array(prec)}


CASES = [(M.SensitivityAtSpecificity, "specificity", "sensitivity"),
         (M.SpecificityAtSensitivity, "sensitivity", "specificity"),
         (M.PrecisionAtRecall, "sensitivity", "precision"),
         (M.RecallAtPrecision, "precision", "sensitivity")]


@pytest.mark.parametrize("cls,constrained,dependent", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("num_thresholds", [200, 13, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_at_value_metrics_against_brute_force(cls, constrained, dependent, num_thresholds, weighted):
    n = 200
    y = RNG.integers(0, 2, n)
    # scores on a grid off the thresholds (values at a threshold depend on float rounding), plus the ends 0 and 1
    s = np.clip(0.35 * y + 0.65 * RNG.uniform(size=n), 0, 1)
    s = (np.floor(s * 398) + 0.5) / 398
    s[:4] = [0.0, 1.0, 0.0, 1.0]
    # weights in multiples of 1/8: the weighted sums are exact, so a rate of exactly 1 compares as Keras' >= means
    w = RNG.integers(1, 16, n) / 8 if weighted else None
    rates = brute_force_rates(y, s, np.ones(n) if w is None else w, num_thresholds)
    for value in (0.0, 0.25, 0.5, 0.8, 0.99, 1.0):
        feasible = rates[constrained] >= value
        expected = max(rates[dependent][feasible].max(initial=0.0), 0.0)
        check(cls(value, num_thresholds=num_thresholds), y, s, expected, w, tol=1e-12)


def test_at_value_metrics_class_id_and_sklearn_roc():
    n, c = 200, 4
    lab = RNG.integers(0, c, n)
    scores = RNG.uniform(size=(n, c)) * 0.7 + 0.3 * np.eye(c)[lab]
    scores = (np.floor(scores * 398) + 0.5) / 398
    y, s = (lab == 2).astype(int), scores[:, 2]
    rates = brute_force_rates(y, s, np.ones(n), 200)
    check(M.PrecisionAtRecall(0.6, class_id=2), np.eye(c)[lab], scores,
          rates["precision"][rates["sensitivity"] >= 0.6].max())
    # sensitivity at specificity from scikit-learn's ROC curve (scores off the thresholds: the same points)
    fpr, tpr, _ = skm.roc_curve(y, s)
    check(M.SensitivityAtSpecificity(0.7, class_id=2), np.eye(c)[lab], scores, tpr[1 - fpr >= 0.7].max())


# ---------------------------------------------------------------------------------------------- loss functions
def test_huber_and_focal_metric_functions():
    t01 = RNG.integers(0, 2, (20, 4)).astype(float)
    prob, logit = RNG.uniform(0.02, 0.98, (20, 4)), RNG.normal(0, 3, (20, 4))
    onehot = np.eye(4)[RNG.integers(0, 4, 20)]
    np.testing.assert_allclose(M.huber(logit, prob), torch.nn.functional.huber_loss(
        torch.tensor(prob), torch.tensor(logit), reduction="none").mean(-1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(M.huber(logit, prob, delta=0.3), torch.nn.functional.huber_loss(
        torch.tensor(prob), torch.tensor(logit), reduction="none", delta=0.3).mean(-1).numpy(), rtol=1e-12)
    cases = [(M.binary_focal_crossentropy, losses.binary_focal_crossentropy, t01, prob, {}),
             (M.binary_focal_crossentropy, losses.binary_focal_crossentropy, t01, logit,
              dict(apply_class_balancing=True, alpha=0.3, gamma=1.5, from_logits=True, label_smoothing=0.1)),
             (M.categorical_focal_crossentropy, losses.categorical_focal_crossentropy, onehot, prob, {}),
             (M.categorical_focal_crossentropy, losses.categorical_focal_crossentropy, onehot, logit,
              dict(alpha=0.4, gamma=3.0, from_logits=True, label_smoothing=0.2))]
    for fn, loss_fn, yt, yp, kw in cases:
        ref = loss_fn(yt, nerve.tensor(yp), **kw).numpy()  # the loss of the same name, in float64
        np.testing.assert_allclose(fn(yt, yp, **kw), ref, rtol=1e-10, err_msg=f"{fn.__name__} {kw}")
    w = RNG.uniform(size=20)
    m = M.MeanMetricWrapper(M.binary_focal_crossentropy, name="bfc", gamma=1.0)
    m.update_state(t01, prob, sample_weight=w)
    assert m.result() == pytest.approx(np.average(M.binary_focal_crossentropy(t01, prob, gamma=1.0), weights=w))
    back = M.deserialize(json.loads(json.dumps(M.serialize(m))))
    assert back._fn is M.binary_focal_crossentropy and back.get_config() == m.get_config()
    with pytest.raises(ValueError, match="categorical_focal_crossentropy.*'y_true'.*\\(20,\\)"):
        M.MeanMetricWrapper(M.categorical_focal_crossentropy).update_state(np.zeros(20), prob)


# ---------------------------------------------------------------------------------------------- API
NEW = [M.IoU(3, [0, 2], ignore_class=1, sparse_y_pred=False, axis=1), M.MeanIoU(4, sparse_y_true=False),
       M.BinaryIoU([1], threshold=0.2), M.OneHotIoU(5, [4], ignore_class=0, sparse_y_pred=True),
       M.OneHotMeanIoU(3, axis=-1), M.PearsonCorrelation(axis=0), M.ConcordanceCorrelation(name="ccc"),
       M.PrecisionAtRecall(0.7, num_thresholds=50, class_id=1), M.RecallAtPrecision(0.4),
       M.SensitivityAtSpecificity(0.9, num_thresholds=1), M.SpecificityAtSensitivity(0.2, class_id=0, name="s")]


@pytest.mark.parametrize("metric", NEW, ids=lambda m: m.name)
def test_config_round_trip(metric):
    config = metric.get_config()
    json.dumps(config)
    assert type(metric).from_config(config).get_config() == config
    again = M.deserialize(json.loads(json.dumps(M.serialize(metric))))
    assert type(again) is type(metric) and again.get_config() == config
    assert metric._direction == "up"


def test_configs_have_keras_keys():
    assert set(M.IoU(3, [0]).get_config()) == {"name", "dtype", "num_classes", "target_class_ids", "ignore_class",
                                                "sparse_y_true", "sparse_y_pred", "axis"}
    assert set(M.BinaryIoU().get_config()) == {"target_class_ids", "threshold", "name", "dtype"}
    assert set(M.OneHotIoU(3, [0]).get_config()) == {"num_classes", "target_class_ids", "name", "dtype",
                                                      "ignore_class", "sparse_y_pred", "axis"}
    assert set(M.PrecisionAtRecall(0.5).get_config()) == {"name", "dtype", "class_id", "num_thresholds", "recall"}
    assert set(M.PearsonCorrelation().get_config()) == {"name", "dtype", "axis"}
    assert M.BinaryIoU().target_class_ids == [0, 1]


def test_strings_resolve_like_keras():
    M.reset_uids()
    for s, cls in {"pearson_correlation": M.PearsonCorrelation, "PearsonCorrelation": M.PearsonCorrelation,
                   "concordance_correlation": M.ConcordanceCorrelation,
                   "ConcordanceCorrelation": M.ConcordanceCorrelation}.items():
        assert type(M.get(s)) is cls
    assert M.get_metric("pearson_correlation", np.zeros((4, 1)), np.zeros((4, 1))).name == "pearson_correlation"
    # Keras' table has these names, but the classes need arguments
    for s, missing in (("io_u", "num_classes"), ("MeanIoU", "num_classes"), ("binary_io_u", None),
                       ("one_hot_mean_io_u", "num_classes"), ("precision_at_recall", "recall"),
                       ("SpecificityAtSensitivity", "sensitivity")):
        if missing is None:
            assert type(M.get(s)) is M.BinaryIoU and M.get(s).name.startswith("binary_io_u")
        else:
            with pytest.raises(TypeError, match=missing):
                M.get(s)
    assert M.IoU(2, [0]).name.startswith("io_u")  # Keras' automatic name
    for fn in ("huber", "binary_focal_crossentropy", "categorical_focal_crossentropy"):
        assert callable(getattr(M, fn)) and fn in M.__all__
        with pytest.raises(ValueError, match="unknown metric identifier"):
            M.get(fn)  # exported, but not a Keras 3.15 metric string


@pytest.mark.parametrize("factory", [lambda: M.MeanIoU(3), lambda: M.OneHotIoU(3, [1]),
                                     lambda: M.PrecisionAtRecall(0.5, class_id=1),
                                     lambda: M.SpecificityAtSensitivity(0.3, class_id=2)])
def test_get_set_state_and_reset(factory):
    a, b = factory(), factory()
    yt, yp = np.eye(3)[RNG.integers(0, 3, 40)], RNG.uniform(size=(40, 3))
    if isinstance(a, M.MeanIoU):
        yt, yp = yt.argmax(1), yp.argmax(1)
    a.update_state(yt, yp, sample_weight=RNG.uniform(size=40))
    state = a.get_state()
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in state.values())
    b.set_state(json.loads(json.dumps({k: v.tolist() for k, v in state.items()})))
    assert a.result() == b.result() and a.result() > 0
    a.reset_state()
    assert a.result() == 0.0 and all(not v.data.any() for v in a.variables)


def test_device_inputs_keep_state_on_host():
    """CuPy inputs (the real one on a GPU, else the strict stand-in): same results, state in host arrays."""
    yt, yp = RNG.integers(0, 3, (6, 5)), RNG.integers(0, 3, (6, 5))
    oh, sc = np.eye(3)[RNG.integers(0, 3, 30)], RNG.uniform(size=(30, 3))
    reg_t, reg_p = RNG.normal(size=(6, 8)), RNG.normal(size=(6, 8))
    cases = [(M.MeanIoU(3), yt, yp), (M.OneHotIoU(3, [0, 2]), oh, sc), (M.BinaryIoU(), oh[:, 0], sc[:, 0]),
             (M.PearsonCorrelation(), reg_t, reg_p), (M.ConcordanceCorrelation(), reg_t, reg_p),
             (M.RecallAtPrecision(0.3, class_id=1), oh, sc), (M.SensitivityAtSpecificity(0.5), oh, sc)]
    w = RNG.uniform(size=30)
    with fakecupy.gpu_module() as cp:
        for m, a, b in cases:
            sw = w[:len(a)]
            host = one_shot(m, a, b, sw)
            dev = one_shot(m, cp.asarray(a), nerve.tensor(cp.asarray(b)), cp.asarray(sw))
            assert dev == pytest.approx(host, rel=1e-12, abs=1e-15), m.name
            assert all(type(v.data) is np.ndarray for v in m.variables), m.name


def test_clear_errors():
    with pytest.raises(ValueError, match=r"IoU: argument 'target_class_ids' has class ids \[3\] out of range "
                                         r"\[0, 3\)"):
        M.IoU(num_classes=3, target_class_ids=[0, 3])
    with pytest.raises(ValueError, match="BinaryIoU.*target_class_ids.*\\[2\\]"):
        M.BinaryIoU(target_class_ids=[2])
    with pytest.raises(ValueError, match="MeanIoU: argument 'num_classes' must be an integer >= 1, got 0"):
        M.MeanIoU(0)
    with pytest.raises(ValueError, match=r"MeanIoU metric 'miou': argument 'y_true' holds 8 class ids.*'y_pred' "
                                         r"holds 6"):
        M.MeanIoU(3, name="miou").update_state(np.zeros(8), np.zeros(6))
    with pytest.raises(ValueError, match=r"OneHotMeanIoU metric .*'y_true' holds 8 .*'y_pred' holds 24"):
        M.OneHotMeanIoU(3, sparse_y_pred=True).update_state(np.eye(3)[np.zeros(8, int)], np.zeros((8, 3)))
    with pytest.raises(ValueError, match=r"MeanIoU metric .*'sample_weight' has shape \(3,\).*\(8,\)"):
        M.MeanIoU(3).update_state(np.zeros(8), np.zeros(8), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"PrecisionAtRecall: argument 'recall' must be a number in \[0, 1\], "
                                         r"got 1.5"):
        M.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="SensitivityAtSpecificity: argument 'num_thresholds' must be an integer "
                                         "> 0, got 0"):
        M.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match="RecallAtPrecision metric.*class_id.*3"):
        M.RecallAtPrecision(0.5, class_id=3).update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"SpecificityAtSensitivity metric .*'y_true' has shape \(4, 2\).*\(4, 3\)"):
        M.SpecificityAtSensitivity(0.5).update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"PearsonCorrelation metric 'pearson_correlation': pearson_correlation: "
                                         r"argument 'y_true' has shape \(4, 2\)"):
        M.PearsonCorrelation().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
