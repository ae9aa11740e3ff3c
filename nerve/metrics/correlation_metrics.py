"""Correlation metrics (``keras.metrics.PearsonCorrelation``, ``ConcordanceCorrelation``): the coefficient of
each batch along ``axis``, averaged over the batches (and samples) seen, as Keras' MeanMetricWrapper does."""
import numpy as np

from ..saving.registry import register
from .base import EPSILON, BuiltinWrapper, float_pair


@register("metrics")
def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's r along ``axis``: mean(z(y_true) * z(y_pred)), z(x) = (x - mean x) / std x (population std).
    A constant input gives NaN, as in Keras (no epsilon)."""
    y_true, y_pred = float_pair("pearson_correlation", y_true, y_pred)
    t = y_true - np.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - np.mean(y_pred, axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t / np.std(t, axis=axis, keepdims=True)
        p = p / np.std(p, axis=axis, keepdims=True)
    return np.mean(t * p, axis=axis)


@register("metrics")
def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance coefficient along ``axis``:
    2 cov(t, p) / (var t + var p + (mean t - mean p)^2 + eps), population (co)variances, eps = 1e-7 as Keras.
    (Keras writes the covariance as mean((t - mean p)(p - mean p)), equal to cov(t, p) since sum(p - mean p) = 0.)"""
    y_true, y_pred = float_pair("concordance_correlation", y_true, y_pred)
    mt, mp = np.mean(y_true, axis=axis, keepdims=True), np.mean(y_pred, axis=axis, keepdims=True)
    cov = np.mean((y_true - mt) * (y_pred - mp), axis=axis)
    norm = np.var(y_true, axis=axis) + np.var(y_pred, axis=axis) + np.square(np.squeeze(mt - mp, axis=axis))
    return 2.0 * cov / (norm + EPSILON)


class _CorrelationWrapper(BuiltinWrapper):
    """Keras' MeanMetricWrapper of a correlation function: 1-D inputs are one series (one coefficient per
    batch), not one value per sample."""
    _direction = "up"
    _per_sample_rank1 = False

    def __init__(self, fn, name=None, dtype=None, axis=-1):
        super().__init__(fn, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


@register("metrics")
class PearsonCorrelation(_CorrelationWrapper):
    """The mean over batches (and samples along the other axes) of ``pearson_correlation``."""

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


@register("metrics")
class ConcordanceCorrelation(_CorrelationWrapper):
    """The mean over batches (and samples along the other axes) of ``concordance_correlation``."""

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
