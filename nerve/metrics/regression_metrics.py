"""Regression metrics: MSE, RMSE, MAE, MAPE, MSLE, log-cosh, cosine similarity and R2Score."""
import warnings

import numpy as np

from ..saving.registry import register
from .base import (EPSILON, BuiltinWrapper, DownWrapper, Mean, Metric, float_pair, squeeze_or_expand_to_same_rank,
                   to_numpy)


@register("metrics")
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    y_true, y_pred = float_pair("mean_squared_error", y_true, y_pred)
    return np.mean(np.square(y_true - y_pred), axis=-1)


@register("metrics")
def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = float_pair("mean_absolute_error", y_true, y_pred)
    return np.mean(np.abs(y_true - y_pred), axis=-1)


@register("metrics")
def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / max(|y_true|, eps)) over the last axis."""
    y_true, y_pred = float_pair("mean_absolute_percentage_error", y_true, y_pred)
    return 100.0 * np.mean(np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON)), axis=-1)


@register("metrics")
def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis."""
    y_true, y_pred = float_pair("mean_squared_logarithmic_error", y_true, y_pred)
    d = np.log1p(np.maximum(y_pred, EPSILON)) - np.log1p(np.maximum(y_true, EPSILON))
    return np.mean(np.square(d), axis=-1)


@register("metrics")
def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))), computed as x + softplus(-2x) - log 2 (no overflow)."""
    y_true, y_pred = float_pair("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0), axis=-1)


def _l2_normalize(x, axis):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))


@register("metrics")
def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)."""
    y_true, y_pred = float_pair("cosine_similarity", y_true, y_pred)
    return np.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


@register("metrics")
class MeanSquaredError(DownWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


@register("metrics")
class MeanAbsoluteError(DownWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


@register("metrics")
class MeanAbsolutePercentageError(DownWrapper):
    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


@register("metrics")
class MeanSquaredLogarithmicError(DownWrapper):
    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


@register("metrics")
class LogCoshError(DownWrapper):
    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


@register("metrics")
class CosineSimilarity(BuiltinWrapper):
    _direction = "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


@register("metrics")
class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of the squared errors over all samples seen."""
    _direction = "down"

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        if y_true.ndim <= 1 and y_pred.ndim <= 1:
            y_true, y_pred = y_true.reshape(-1, 1), y_pred.reshape(-1, 1)
        try:
            y_true, y_pred = float_pair("root_mean_squared_error", y_true, y_pred)
        except ValueError as e:
            raise ValueError(f"RootMeanSquaredError metric {self.name!r}: {e}") from None
        return super().update_state(np.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


@register("metrics")
class R2Score(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot per output column, accumulated in streaming form
    (sums of w*y, w*y^2, w*(y - y_hat)^2 and w), optionally adjusted for ``num_regressors``."""
    _direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("R2Score: argument 'class_aggregation' must be one of None, 'uniform_average', "
                             f"'variance_weighted_average'; got {class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"R2Score: argument 'num_regressors' must be >= 0, got {num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, num_outputs):
        for attr, name in (("squared_sum", "squared_sum"), ("sum", "sum"), ("total_mse", "residual"),
                           ("count", "count")):
            setattr(self, attr, self.add_variable((num_outputs,), name=name))
        self._built = True

    def _build_from_state(self, state):
        if "sum" in state:
            self._build(np.shape(state["sum"])[0])

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim == 1 and y_pred.ndim == 1:  # one output column (Keras requires 2-D)
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        if y_true.ndim != 2 or y_pred.shape != y_true.shape:
            raise ValueError(f"R2Score metric {self.name!r}: expected 2-D inputs of shape (batch_size, "
                             f"output_dim); got y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}")
        if not self._built:
            self._build(y_true.shape[1])
        elif y_true.shape[1] != self.sum.shape[0]:
            raise ValueError(f"R2Score metric {self.name!r}: argument 'y_true' has {y_true.shape[1]} output "
                             f"columns, expected {self.sum.shape[0]} as in the earlier batches")
        w = np.float64(1.0) if sample_weight is None else to_numpy(sample_weight, np.float64)
        if w.ndim == 1:
            w = w[:, None]
        try:
            w = np.broadcast_to(w, y_true.shape)
        except ValueError:
            raise ValueError(f"R2Score metric {self.name!r}: argument 'sample_weight' has shape "
                             f"{tuple(np.shape(sample_weight))}; expected a scalar or ({y_true.shape[0]},)") from None
        wy = y_true * w
        self.sum.data += wy.sum(0)
        self.squared_sum.data += (y_true * wy).sum(0)
        self.total_mse.data += (np.square(y_true - y_pred) * w).sum(0)
        self.count.data += w.sum(0)
        self.num_samples.data += y_true.size

    def result(self):
        if not self._built:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.data / self.count.data
            total = self.squared_sum.data - self.sum.data * mean
            raw = 1.0 - self.total_mse.data / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = np.sum(total * raw) / np.sum(total)
        else:
            r2 = raw
        n, p = float(self.num_samples.data), self.num_regressors
        if p != 0:
            if p > n - 1:
                warnings.warn("R2Score: more independent predictors than datapoints in adjusted R2 score; "
                              "falling back to standard R2 score", stacklevel=2)
            elif p == n - 1:
                warnings.warn("R2Score: division by zero in adjusted R2 score; falling back to standard R2 "
                              "score", stacklevel=2)
            else:
                r2 = 1.0 - (1.0 - r2) * (n - 1.0) / (n - p - 1.0)
        return float(r2) if np.ndim(r2) == 0 else np.asarray(r2, np.float64)

    def reset_state(self):
        for v in self.variables:
            v.data[...] = 0

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
