"""nerve.metrics against scikit-learn on random inputs, streamed over uneven batches, with sample weights."""
import numpy as np
import pytest
from sklearn import metrics as skm

from nerve import metrics as M

RNG = np.random.default_rng(1234)
N, C = 1500, 6
BATCHES = [0, 7, 300, 301, 999, 1000, N]  # uneven, includes a batch of size 1


def stream(metric, y_true, y_pred, sample_weight=None):
    metric.reset_state()
    for a, b in zip(BATCHES[:-1], BATCHES[1:]):
        sw = None if sample_weight is None else sample_weight[a:b]
        metric.update_state(y_true[a:b], y_pred[a:b], sample_weight=sw)
    return metric.result()


def one_shot(metric, y_true, y_pred, sample_weight=None):
    metric.reset_state()
    metric.update_state(y_true, y_pred, sample_weight=sample_weight)
    return metric.result()


@pytest.fixture(scope="module")
def data():
    labels = RNG.integers(0, C, N)
    logits = RNG.normal(size=(N, C)) + 1.5 * np.eye(C)[labels]  # informative scores
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    score = RNG.uniform(size=N)
    binary = (RNG.uniform(size=N) < 0.25 + 0.5 * score).astype(float)  # correlated with score
    w = RNG.uniform(0.1, 2.0, N)
    reg_true = RNG.normal(size=(N, 3)) * [1.0, 5.0, 0.2] + 3.0
    reg_pred = reg_true + RNG.normal(size=(N, 3))
    multilabel = (RNG.uniform(size=(N, C)) < 0.3 + 0.4 * RNG.uniform(size=(N, C))).astype(float)
    ml_scores = np.clip(0.6 * multilabel + 0.5 * RNG.uniform(size=(N, C)), 0, 1)
    return dict(labels=labels, onehot=np.eye(C)[labels], logits=logits, probs=probs, score=score, binary=binary,
                w=w, reg_true=reg_true, reg_pred=reg_pred, ml=multilabel, ml_scores=ml_scores)


def check(metric, y_true, y_pred, expected, w=None, tol=1e-9):
    got_stream = stream(metric, y_true, y_pred, w)
    got_once = one_shot(metric, y_true, y_pred, w)
    np.testing.assert_allclose(got_stream, got_once, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_once, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracies(data, weighted):
    d, w = data, (data["w"] if weighted else None)
    pred = d["probs"].argmax(1)
    acc = skm.accuracy_score(d["labels"], pred, sample_weight=w)
    check(M.SparseCategoricalAccuracy(), d["labels"], d["probs"], acc, w)
    check(M.SparseCategoricalAccuracy(), d["labels"][:, None], d["probs"], acc, w)
    check(M.CategoricalAccuracy(), d["onehot"], d["logits"], acc, w)
    check(M.Accuracy(), d["labels"][:, None], pred[:, None], acc, w)
    check(M.Accuracy(), d["labels"], pred, acc, w)  # 1-D: one value per sample
    bin_acc = skm.accuracy_score(d["binary"], d["score"] > 0.5, sample_weight=w)
    check(M.BinaryAccuracy(), d["binary"][:, None], d["score"][:, None], bin_acc, w)
    check(M.BinaryAccuracy(), d["binary"], d["score"][:, None], bin_acc, w)
    check(M.BinaryAccuracy(), d["binary"], d["score"], bin_acc, w)
    check(M.BinaryAccuracy(threshold=0.7), d["binary"][:, None], d["score"][:, None],
          skm.accuracy_score(d["binary"], d["score"] > 0.7, sample_weight=w), w)


@pytest.mark.filterwarnings("ignore:.k. \\(6\\) greater")
@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_top_k(data, k):
    d = data
    expected = skm.top_k_accuracy_score(d["labels"], d["probs"], k=k, labels=np.arange(C))
    check(M.SparseTopKCategoricalAccuracy(k=k), d["labels"], d["probs"], expected)
    check(M.TopKCategoricalAccuracy(k=k), d["onehot"], d["probs"], expected)
    expected_w = skm.top_k_accuracy_score(d["labels"], d["probs"], k=k, labels=np.arange(C), sample_weight=d["w"])
    check(M.SparseTopKCategoricalAccuracy(k=k), d["labels"][:, None], d["probs"], expected_w, d["w"])


@pytest.mark.parametrize("weighted", [False, True])
def test_regression(data, weighted):
    yt, yp, w = data["reg_true"], data["reg_pred"], (data["w"] if weighted else None)
    mse = skm.mean_squared_error(yt, yp, sample_weight=w)
    check(M.MeanSquaredError(), yt, yp, mse, w)
    check(M.RootMeanSquaredError(), yt, yp, np.sqrt(mse), w)
    check(M.MeanAbsoluteError(), yt, yp, skm.mean_absolute_error(yt, yp, sample_weight=w), w)
    check(M.MeanAbsolutePercentageError(), yt, yp,
          100 * skm.mean_absolute_percentage_error(yt, yp, sample_weight=w), w)
    check(M.R2Score(), yt, yp, skm.r2_score(yt, yp, sample_weight=w), w)
    check(M.R2Score(class_aggregation="variance_weighted_average"), yt, yp,
          skm.r2_score(yt, yp, sample_weight=w, multioutput="variance_weighted"), w)
    check(M.R2Score(class_aggregation=None), yt, yp, skm.r2_score(yt, yp, sample_weight=w, multioutput="raw_values"),
          w)
    # one output column, given as 1-D arrays
    check(M.R2Score(), yt[:, 1], yp[:, 1], skm.r2_score(yt[:, 1], yp[:, 1], sample_weight=w), w)
    check(M.MeanSquaredError(), yt[:, 1], yp[:, 1], skm.mean_squared_error(yt[:, 1], yp[:, 1], sample_weight=w), w)


def test_adjusted_r2(data):
    yt, yp = data["reg_true"][:, :1], data["reg_pred"][:, :1]
    r2, n, p = skm.r2_score(yt, yp), yt.size, 4
    check(M.R2Score(num_regressors=p), yt, yp, 1 - (1 - r2) * (n - 1) / (n - p - 1))


@pytest.mark.parametrize("weighted", [False, True])
def test_precision_recall(data, weighted):
    d, w = data, (data["w"] if weighted else None)
    yb = d["score"] > 0.5
    check(M.Precision(), d["binary"], d["score"], skm.precision_score(d["binary"], yb, sample_weight=w), w)
    check(M.Recall(), d["binary"][:, None], d["score"][:, None],
          skm.recall_score(d["binary"], yb, sample_weight=w), w)
    # several thresholds -> one value each
    ts = [0.2, 0.5, 0.8]
    exp = [skm.precision_score(d["binary"], d["score"] > t, sample_weight=w) for t in ts]
    check(M.Precision(thresholds=ts), d["binary"], d["score"], exp, w)
    # multi-label data is flattened; class_id restricts to one column
    ml, s = d["ml"], d["ml_scores"]
    check(M.Recall(), ml, s, skm.recall_score(ml.ravel(), s.ravel() > 0.5,
                                              sample_weight=None if w is None else np.repeat(w, C)), w)
    check(M.Precision(class_id=2), ml, s, skm.precision_score(ml[:, 2], s[:, 2] > 0.5, sample_weight=w), w)


def test_precision_recall_top_k(data):
    d = data
    top1 = np.eye(C)[d["probs"].argmax(1)]
    # top_k=1 on one-hot labels: precision = recall = accuracy
    acc = skm.accuracy_score(d["labels"], d["probs"].argmax(1))
    check(M.Precision(top_k=1), d["onehot"], d["probs"], acc)
    check(M.Recall(top_k=1), d["onehot"], d["probs"], acc)
    top2 = np.argsort(-d["probs"], 1)[:, :2]
    hits = (top2 == d["labels"][:, None]).any(1).sum()
    check(M.Precision(top_k=2), d["onehot"], d["probs"], hits / (2 * N))
    check(M.Recall(top_k=2, class_id=3), d["onehot"], d["probs"],
          skm.recall_score(d["onehot"][:, 3], (top2 == 3).any(1)))
    assert top1.shape == d["onehot"].shape


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_multiclass(data, average):
    d = data
    expected = skm.f1_score(d["labels"], d["probs"].argmax(1), average=average)
    check(M.F1Score(average=average), d["onehot"], d["probs"], expected, tol=1e-5)
    fb = skm.fbeta_score(d["labels"], d["probs"].argmax(1), beta=2.0, average=average)
    check(M.FBetaScore(average=average, beta=2.0), d["onehot"], d["probs"], fb, tol=1e-5)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_f1_multilabel_weighted(data, average):
    d = data
    expected = skm.f1_score(d["ml"], d["ml_scores"] > 0.5, average=average, sample_weight=d["w"])
    check(M.F1Score(average=average, threshold=0.5), d["ml"], d["ml_scores"], expected, w=d["w"], tol=1e-5)


def test_auc_roc_exact_on_bucket_midpoints(data):
    """Scores strictly inside distinct buckets: the 200-threshold trapezoid is the exact ROC AUC."""
    n_t = 200
    score = (RNG.integers(0, n_t - 1, N) + 0.5) / (n_t - 1)
    y = (RNG.uniform(size=N) < score).astype(float)
    check(M.AUC(num_thresholds=n_t), y, score, skm.roc_auc_score(y, score), tol=1e-10)
    check(M.AUC(num_thresholds=n_t), y, score, skm.roc_auc_score(y, score, sample_weight=data["w"]), data["w"],
          tol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_auc_roc_and_pr_approximate(data, weighted):
    d, w = data, (data["w"] if weighted else None)
    check(M.AUC(), d["binary"], d["score"], skm.roc_auc_score(d["binary"], d["score"], sample_weight=w), w, tol=3e-3)
    check(M.AUC(curve="PR"), d["binary"], d["score"],
          skm.average_precision_score(d["binary"], d["score"], sample_weight=w), w, tol=1e-2)
    logit = np.log(d["score"] / (1 - d["score"]))
    check(M.AUC(from_logits=True), d["binary"][:, None], logit[:, None],
          one_shot(M.AUC(), d["binary"], d["score"]) if not weighted else one_shot(M.AUC(), d["binary"], d["score"], w),
          w, tol=1e-12)
    lo = one_shot(M.AUC(summation_method="minoring"), d["binary"], d["score"], w)
    hi = one_shot(M.AUC(summation_method="majoring"), d["binary"], d["score"], w)
    assert lo <= skm.roc_auc_score(d["binary"], d["score"], sample_weight=w) <= hi


def test_auc_multilabel(data):
    d = data
    check(M.AUC(multi_label=True), d["ml"], d["ml_scores"], skm.roc_auc_score(d["ml"], d["ml_scores"]), tol=3e-3)
    lw = np.arange(1.0, C + 1)
    per = [skm.roc_auc_score(d["ml"][:, j], d["ml_scores"][:, j]) for j in range(C)]
    check(M.AUC(multi_label=True, num_labels=C, label_weights=lw), d["ml"], d["ml_scores"],
          np.sum(lw * per) / lw.sum(), tol=3e-3)
    # multi_label=False flattens the labels
    check(M.AUC(), d["ml"], d["ml_scores"], skm.roc_auc_score(d["ml"].ravel(), d["ml_scores"].ravel()), tol=3e-3)


def test_crossentropy_metrics(data):
    d = data
    ll = skm.log_loss(d["labels"], d["probs"], labels=np.arange(C))
    check(M.SparseCategoricalCrossentropy(), d["labels"], d["probs"], ll, tol=1e-7)
    check(M.SparseCategoricalCrossentropy(from_logits=True), d["labels"][:, None], d["logits"], ll, tol=1e-7)
    check(M.CategoricalCrossentropy(from_logits=True), d["onehot"], d["logits"], ll, tol=1e-7)
    llw = skm.log_loss(d["labels"], d["probs"], labels=np.arange(C), sample_weight=d["w"])
    check(M.CategoricalCrossentropy(), d["onehot"], d["probs"], llw, d["w"], tol=1e-7)
    bl = skm.log_loss(d["binary"], d["score"])
    check(M.BinaryCrossentropy(), d["binary"][:, None], d["score"][:, None], bl, tol=1e-7)
    logit = np.log(d["score"] / (1 - d["score"]))
    check(M.BinaryCrossentropy(from_logits=True), d["binary"], logit, bl, tol=1e-7)
