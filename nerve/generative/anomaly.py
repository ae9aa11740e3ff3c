"""Anomaly detection with an autoencoder (seed-000 §1.17): the per-sample reconstruction error is the
anomaly score; a threshold (a percentile of training errors, or chosen on validation data) flags
anomalies; the k worst samples can be inspected; the model can be retrained on the inliers only
(the book's strategy: keep errors within the 75th percentile, retrain, flag what exceeds a percentile).
"""
import numpy as np


def reconstruction_errors(model, x, batch_size=256, kind="mse"):
    """Per-sample error: mean over features of (x - x_hat)^2 ('mse', the book's ``rowMeans``), of
    |x - x_hat| ('mae'), or the per-pixel binary cross-entropy ('bce')."""
    x = np.asarray(x, dtype=np.float32)
    x_hat = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    if x_hat.shape != x.shape:
        raise ValueError(f"reconstruction_errors: the model output shape {x_hat.shape} differs from the input "
                         f"shape {x.shape}; pass an autoencoder")
    d = x.reshape(len(x), -1).astype(np.float64)
    r = x_hat.reshape(len(x), -1)
    if kind == "mse":
        return np.mean((d - r) ** 2, axis=1)
    if kind == "mae":
        return np.mean(np.abs(d - r), axis=1)
    if kind == "bce":
        r = np.clip(r, 1e-7, 1 - 1e-7)
        return -np.mean(d * np.log(r) + (1 - d) * np.log(1 - r), axis=1)
    raise ValueError(f"reconstruction_errors: argument 'kind' expected 'mse', 'mae' or 'bce', got {kind!r}")


def best_threshold(errors, labels, criterion="f1"):
    """The threshold on ``errors`` that maximises F1 (or Youden's J = TPR - FPR) for labels 1 = anomaly."""
    errors, labels = np.asarray(errors, dtype=np.float64), np.asarray(labels).astype(bool)
    if labels.shape != errors.shape:
        raise ValueError(f"best_threshold: labels shape {labels.shape} differs from errors shape {errors.shape}")
    if labels.all() or not labels.any():
        raise ValueError("best_threshold: the validation labels need both normal (0) and anomalous (1) samples")
    best, best_t = -np.inf, None
    for t in np.unique(errors):
        pred = errors > t
        tp, fp = np.sum(pred & labels), np.sum(pred & ~labels)
        fn, tn = np.sum(~pred & labels), np.sum(~pred & ~labels)
        if criterion == "f1":
            score = 2 * tp / max(2 * tp + fp + fn, 1)
        elif criterion == "youden":
            score = tp / max(tp + fn, 1) - fp / max(fp + tn, 1)
        else:
            raise ValueError(f"best_threshold: argument 'criterion' expected 'f1' or 'youden', got {criterion!r}")
        if score > best:
            best, best_t = score, float(t)
    return best_t


class AnomalyDetector:
    """Reconstruction-error anomaly detector around a trained autoencoder (any Keras-style model whose
    ``predict`` returns reconstructions).

    ``fit(x)`` sets the threshold to the ``percentile`` of the errors on x; ``fit_validation`` chooses it
    on validation data (best F1 with labels, else the percentile); ``predict`` returns 1 for anomalies.
    """

    def __init__(self, autoencoder, percentile=95.0, kind="mse", batch_size=256):
        if not 0.0 < float(percentile) <= 100.0:
            raise ValueError(f"AnomalyDetector: argument 'percentile' expected a float in (0, 100], got "
                             f"{percentile!r}")
        self.autoencoder = autoencoder
        self.percentile = float(percentile)
        self.kind = kind
        self.batch_size = batch_size
        self.threshold_ = None
        self.train_errors_ = None

    def score_samples(self, x):
        """Anomaly score per sample (higher = more anomalous)."""
        return reconstruction_errors(self.autoencoder, x, self.batch_size, self.kind)

    def fit(self, x, percentile=None):
        """Threshold = the percentile of the reconstruction errors on x (the autoencoder is not trained)."""
        p = self.percentile if percentile is None else float(percentile)
        self.train_errors_ = self.score_samples(x)
        self.threshold_ = float(np.percentile(self.train_errors_, p))
        return self

    def fit_validation(self, x_val, y_val=None, criterion="f1", percentile=None):
        """Choose the threshold on validation data: best F1/Youden with labels (1 = anomaly), else a percentile."""
        errors = self.score_samples(x_val)
        if y_val is None:
            p = self.percentile if percentile is None else float(percentile)
            self.threshold_ = float(np.percentile(errors, p))
        else:
            self.threshold_ = best_threshold(errors, y_val, criterion)
        return self

    def _check_fitted(self):
        if self.threshold_ is None:
            raise ValueError("AnomalyDetector: no threshold yet; call fit(x) or fit_validation(x_val, y_val) first")

    def predict(self, x):
        """1 where the reconstruction error exceeds the threshold, else 0."""
        self._check_fitted()
        return (self.score_samples(x) > self.threshold_).astype(np.int64)

    def top_k(self, x, k=10):
        """Indices of the k worst-reconstructed samples (largest error first) and their errors."""
        errors = self.score_samples(x)
        k = min(int(k), len(errors))
        idx = np.argsort(-errors, kind="stable")[:k]
        return idx, errors[idx]

    def inliers(self, x, percentile=75.0):
        """The samples whose error is within the given percentile (the book keeps the 75th)."""
        errors = self.score_samples(x)
        return np.asarray(x)[errors <= np.percentile(errors, percentile)]

    def retrain_on_inliers(self, x, percentile=75.0, epochs=10, batch_size=256, verbose=0, refit_percentile=None,
                           **fit_kwargs):
        """Keep the inliers of x, train the (compiled) autoencoder on them, then reset the threshold on them.
        Returns the History of that training."""
        keep = self.inliers(x, percentile)
        hist = self.autoencoder.fit(keep, keep, epochs=epochs, batch_size=batch_size, verbose=verbose,
                                    **fit_kwargs)
        self.fit(keep, refit_percentile)
        return hist

    def plot_histogram(self, path, errors=None, bins=50, title="Reconstruction error"):
        """PNG histogram of the errors (default: those from ``fit``) with the threshold marked."""
        from .plots import plot_anomaly_histogram
        errors = self.train_errors_ if errors is None else errors
        if errors is None:
            raise ValueError("AnomalyDetector.plot_histogram: no errors yet; call fit(x) or pass errors=")
        return plot_anomaly_histogram(errors, path, threshold=self.threshold_, bins=bins, title=title)
