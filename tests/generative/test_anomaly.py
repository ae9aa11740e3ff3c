import os

import numpy as np
import pytest

import nerve
from nerve.generative import AnomalyDetector, best_threshold, build_autoencoder, reconstruction_errors


@pytest.fixture(scope="module")
def trained(fashion):
    """An AE trained on one Fashion-MNIST class (0, T-shirt/top); other classes play the anomalies."""
    xtr, ytr, xte, yte = fashion
    nerve.set_random_seed(0)
    normal = xtr[ytr == 0]
    ae = build_autoencoder(784, (), 16, "relu")
    ae.compile(nerve.optimizers.Adam(3e-3), "mse")
    ae.fit(normal, normal, epochs=15, batch_size=32, verbose=0)
    return ae, normal, xte, (yte != 0).astype(int)


def test_reconstruction_errors(trained):
    ae, normal, xte, _ = trained
    e = reconstruction_errors(ae, xte)
    r = ae.predict(xte, verbose=0)
    assert np.allclose(e, np.mean((xte - r) ** 2, axis=1), rtol=1e-5)  # the book's rowMeans of squares
    assert reconstruction_errors(ae, xte[:5], kind="bce").shape == (5,)
    with pytest.raises(ValueError, match="kind"):
        reconstruction_errors(ae, xte[:5], kind="l3")


def test_percentile_threshold_and_detection(trained):
    ae, normal, xte, labels = trained
    det = AnomalyDetector(ae, percentile=90).fit(normal)
    flagged = det.predict(normal).mean()
    assert 0.07 <= flagged <= 0.13          # about 10% of the training data exceed the 90th percentile
    scores = det.score_samples(xte)
    # anomalies (other classes) reconstruct worse: ROC AUC well above chance
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(labels, scores) > 0.7
    pred = det.predict(xte)
    assert pred[labels == 1].mean() > pred[labels == 0].mean()


def test_validation_threshold(trained):
    ae, normal, xte, labels = trained
    det = AnomalyDetector(ae).fit_validation(xte[:250], labels[:250])
    f1 = lambda p, t: 2 * np.sum(p & t) / (2 * np.sum(p & t) + np.sum(p & ~t) + np.sum(~p & t))  # noqa: E731
    p = det.predict(xte[:250]).astype(bool)
    t = labels[:250].astype(bool)
    e = det.score_samples(xte[:250])
    for q in (50, 75, 90):  # the chosen threshold beats arbitrary percentiles on the validation data
        assert f1(p, t) >= f1(e > np.percentile(e, q), t)
    assert best_threshold(e, labels[:250], "youden") is not None
    no_labels = AnomalyDetector(ae, percentile=80).fit_validation(xte)
    assert np.isclose(no_labels.threshold_, np.percentile(no_labels.score_samples(xte), 80))
    with pytest.raises(ValueError, match="both"):
        best_threshold(e, np.zeros(250))


def test_top_k_and_retraining_on_inliers(trained, tmp_path):
    ae, normal, xte, _ = trained
    det = AnomalyDetector(ae, percentile=95).fit(normal)
    idx, errs = det.top_k(normal, k=10)
    assert len(idx) == 10 and np.all(np.diff(errs) <= 0)
    assert errs[0] == det.train_errors_.max()
    keep = det.inliers(normal, 75)
    assert len(keep) == int(np.sum(det.train_errors_ <= np.percentile(det.train_errors_, 75)))
    before = det.score_samples(keep).mean()
    det.retrain_on_inliers(normal, percentile=75, epochs=5, batch_size=32)
    assert det.score_samples(keep).mean() < before
    assert np.isclose(det.threshold_, np.percentile(det.score_samples(keep), 95), rtol=1e-4)
    path = det.plot_histogram(str(tmp_path / "hist.png"))
    assert os.path.getsize(path) > 1000
    with pytest.raises(ValueError, match="threshold"):
        AnomalyDetector(ae).predict(xte)
