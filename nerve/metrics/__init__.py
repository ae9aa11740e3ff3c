"""``nerve.metrics``: Keras 3 stateful metrics on host NumPy arrays, and their string identifiers.

``get(identifier)`` resolves what ``compile(metrics=[...])`` accepts: Keras' strings ('mse', 'mae',
'auc', 'precision', class names and their snake_case), Metric classes and instances, config dicts and
any callable ``f(y_true, y_pred)`` (wrapped in MeanMetricWrapper). ``get_metric(identifier, y_true,
y_pred)`` is the training loop's entry point: it also turns 'accuracy'/'acc' into the binary,
sparse-categorical or categorical accuracy from the shapes of y_true and y_pred (Keras 3 rule).
"""
import inspect

import numpy as np

from .. import backend
from ..saving import registry
from .accuracy_metrics import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                               SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy, accuracy, binary_accuracy,
                               categorical_accuracy, in_top_k, sparse_categorical_accuracy,
                               sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from .base import Mean, MeanMetricWrapper, Metric, Sum, reset_uids, to_snake_case
from .confusion_metrics import (AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives,
                                TruePositives, confusion_counts)
from .confusion_metrics import (PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity,
                                SpecificityAtSensitivity)
from .correlation_metrics import (ConcordanceCorrelation, PearsonCorrelation, concordance_correlation,
                                  pearson_correlation)
from .f_score_metrics import F1Score, FBetaScore
from .iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .loss_metrics import binary_focal_crossentropy, categorical_focal_crossentropy, huber
from .probabilistic_metrics import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge,
                                    KLDivergence, Poisson, SparseCategoricalCrossentropy, SquaredHinge,
                                    binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge,
                                    kl_divergence, poisson, sparse_categorical_crossentropy, squared_hinge)
from .regression_metrics import (CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError,
                                 MeanSquaredError, MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError,
                                 cosine_similarity, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                                 mean_squared_error, mean_squared_logarithmic_error)

ALL_OBJECTS = {
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score,
    AUC, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
}
ALL_OBJECTS |= {
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    PearsonCorrelation, ConcordanceCorrelation,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
}
# Keras 3's table: class names, their snake_case, and a few short aliases ('rmse' is not one of them)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
})


def _unknown(identifier):
    hint = registry.did_you_mean(identifier, list(ALL_OBJECTS_DICT) + ["accuracy", "acc"])
    return ValueError(f"nerve.metrics.get: unknown metric identifier {identifier!r}{hint} (pass a metric name "
                      f"such as 'mae' or 'auc', a Metric class or instance, or a function f(y_true, y_pred))")


def get_object_name(obj):
    """Keras' naming of a metric object: its ``name``, else the snake_case of its function/class name."""
    if hasattr(obj, "name") and isinstance(obj.name, str):
        return obj.name
    if hasattr(obj, "__name__"):
        return to_snake_case(obj.__name__)
    return to_snake_case(type(obj).__name__)


def serialize(metric):
    """{'class_name', 'config', 'registered_name'} for a Metric (or a registered metric function)."""
    return registry.serialize(metric)


def deserialize(config, custom_objects=None):
    """Rebuild a metric from ``serialize``'s dict or a name; classes resolve only through the allow-list."""
    if isinstance(config, str):
        return get(config) if config in ALL_OBJECTS_DICT else registry.deserialize(config, "metrics", custom_objects)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"nerve.metrics.deserialize: expected a dict with 'class_name' and 'config', got {config!r}")
    if config["class_name"] == "function":
        return registry.deserialize(config, "metrics", custom_objects)
    name = config.get("registered_name") or config["class_name"]
    try:
        cls = registry.get_registered_object(name, custom_objects, kind="metrics")
    except registry.UnknownObjectError:
        cls = ALL_OBJECTS_DICT.get(config["class_name"]) or registry.get_registered_object(
            config["class_name"], custom_objects, kind="metrics")
    cfg = dict(config.get("config") or {})
    if isinstance(cls, type) and issubclass(cls, MeanMetricWrapper) and "fn" in cfg:
        return cls.from_config(cfg, custom_objects=custom_objects)
    return cls.from_config(cfg) if hasattr(cls, "from_config") else cls(**cfg)


def get(identifier):
    """A Metric instance for a string, class, instance, config dict or plain callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
        if obj is None:
            raise _unknown(identifier)
    else:
        obj = identifier
    if isinstance(obj, Metric):
        return obj
    if inspect.isclass(obj):
        if issubclass(obj, Metric):
            return obj()
        raise ValueError(f"nerve.metrics.get: class {obj.__name__} is not a Metric subclass")
    if callable(obj):
        return MeanMetricWrapper(obj, name=get_object_name(obj))
    raise ValueError(f"nerve.metrics.get: could not interpret metric identifier {identifier!r} "
                     f"(of type {type(identifier).__name__})")


def _shape(x):
    if isinstance(x, (tuple, list)) and all(isinstance(d, (int, np.integer)) or d is None for d in x):
        return tuple(x)
    return tuple(np.shape(backend.unwrap(x)))


def is_binary_or_sparse_categorical(y_true, y_pred):
    """Keras 3's rule (arrays, Tensors or shapes): binary when y_pred's last dim is 1; sparse when y_true
    has lower rank than y_pred, or a last dim of 1 while y_pred's is larger."""
    ts, ps = _shape(y_true), _shape(y_pred)
    t_last = ts[-1] if ts else 1
    p_last = ps[-1] if ps else 1
    is_binary = p_last == 1
    is_sparse = len(ts) < len(ps) or (t_last == 1 and p_last > 1)
    return is_binary, is_sparse


def resolve_accuracy(y_true, y_pred, name="accuracy"):
    """The accuracy metric that compile's 'accuracy'/'acc' means for these targets and outputs. A model
    with a 1-D output (shape (n,)) gets binary accuracy (Keras would choose categorical there)."""
    ps = _shape(y_pred)
    is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
    if is_binary or len(ps) <= 1:
        return BinaryAccuracy(name=name)
    if is_sparse:
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def get_metric(identifier, y_true, y_pred):
    """Keras' ``compile_utils.get_metric``: the Metric for one entry of ``compile(metrics=[...])``, named
    as Keras names it (the string itself, e.g. 'mae' or 'acc', else the object's name)."""
    if identifier is None:
        return None
    if str(identifier).lower() in ("accuracy", "acc"):
        metric = resolve_accuracy(y_true, y_pred, name=str(identifier))
    else:
        metric = get(identifier)
    metric.name = identifier if isinstance(identifier, str) else get_object_name(metric)
    return metric


__all__ = [n for n, v in dict(globals()).items() if not n.startswith("_") and not inspect.ismodule(v)]
