"""Losses with Keras 3 names, arguments, defaults and reductions (``keras.losses``).

A loss function ``f(y_true, y_pred)`` returns one value per sample (the mean or sum over the last axis;
they live in ``nerve/losses/functions.py``); a ``Loss`` object weights those values by ``sample_weight`` and
reduces them ('sum_over_batch_size' = sum / number of values, the default; 'sum'; 'mean';
'mean_with_sample_weight' = sum / sum of weights; None or 'none' = no reduction). Cross-entropies use the
fused, stable Functions of autograd/ops/loss.py.
"""
import inspect
import re

import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving import registry
from ..saving.registry import register
from .functions import (EPSILON, _as_pred, _data, binary_crossentropy, binary_focal_crossentropy,
                        categorical_crossentropy, categorical_focal_crossentropy, categorical_hinge,
                        cosine_similarity, hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
                        mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error,
                        poisson, sparse_categorical_crossentropy, squared_hinge, squeeze_or_expand_to_same_rank)

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None, "none")


# ----------------------------------------------------------------------------- reduction
def _weights(w, values):
    """sample_weight or mask as an array of the values' dtype and array module."""
    return backend.get_array_module(values.data).asarray(_data(w), dtype=values.dtype)


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if reduction is None or reduction == "none" or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    if reduction in ("sum_over_batch_size", "mean") or (reduction == "mean_with_sample_weight"
                                                         and sample_weight is None):
        return ops.mean(values) if values.size else ops.sum(values)
    loss = ops.sum(values)
    if reduction == "mean_with_sample_weight":
        div = float(sample_weight.sum())
        return ops.divide(loss, div) if div else ops.multiply(loss, 0.0)  # divide_no_nan
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size", name="loss"):
    """Multiply by ``sample_weight`` (and the mask), then reduce (Keras' losses.loss.reduce_weighted_values)."""
    if sample_weight is not None:
        sample_weight = _weights(sample_weight, values)
    if mask is not None:
        m = _weights(mask, values)
        if reduction in ("mean", "sum_over_batch_size"):  # valid entries weigh total / valid: a mean over them
            m = m * (m.size / (float(m.sum()) + EPSILON))
        if sample_weight is not None:
            m, sample_weight = squeeze_or_expand_to_same_rank(m, sample_weight)
            sample_weight = sample_weight * m
        else:
            sample_weight = m
    if sample_weight is not None:
        values, sw = squeeze_or_expand_to_same_rank(values, sample_weight)
        try:
            np.broadcast_shapes(tuple(values.shape), tuple(sw.shape))
        except ValueError:
            raise ValueError(f"{name}: argument 'sample_weight' of shape {tuple(np.shape(sample_weight))} does not "
                             f"match the per-sample losses of shape {tuple(values.shape)}") from None
        values = ops.multiply(values, sw)
    return reduce_values(values, sample_weight, reduction)


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Loss: argument 'reduction' expected one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ----------------------------------------------------------------------------- Loss classes
class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-sample losses; ``__call__`` weights and reduces them."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = None if dtype is None else str(backend.resolve_dtype(dtype))

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
        y_pred = _as_pred(y_pred, self.dtype)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        mask = _data(in_mask) if out_mask is None else out_mask if in_mask is None else _data(in_mask) & out_mask
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.name)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Loss must implement call(y_true, y_pred)")

    def get_config(self):
        config = {"name": self.name, "reduction": self.reduction}
        if self.dtype is not None:
            config["dtype"] = self.dtype
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


@register("losses")
class LossFunctionWrapper(Loss):
    """A Loss from a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample losses."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def __call__(self, y_true, y_pred, sample_weight=None):
        fused = getattr(self.fn, "fused_mean", None)  # one node for the per-sample losses and their mean
        if fused is not None and sample_weight is None and self.dtype is None and \
                self.reduction in ("sum_over_batch_size", "mean") and getattr(y_pred, "_keras_mask", None) is None:
            if isinstance(y_pred, Tensor):
                y_pred = _as_pred(y_pred)  # a float16 (mixed precision) prediction: the loss is taken in floatx
            out = fused(y_true, y_pred, **self._fn_kwargs)
            if out is not None:
                return out
        return super().__call__(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = registry.serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            fn = config["fn"]
            config["fn"] = fn if callable(fn) else registry.deserialize(fn, kind="losses")
        return cls(**config)


def _wrapper(fn, default_name, doc, **defaults):
    """A LossFunctionWrapper subclass with Keras' constructor: (*fn arguments, reduction, name, dtype)."""
    order = list(defaults) + ["reduction", "name", "dtype"]
    base = dict(defaults, reduction="sum_over_batch_size", name=default_name, dtype=None)

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{type(self).__name__}: expected at most {len(order)} positional arguments ({order})")
        kw = dict(base)
        kw.update(zip(order, args))
        for k, v in kwargs.items():
            if k not in base:
                raise TypeError(f"{type(self).__name__}: unexpected argument {k!r}; expected one of {order}")
            kw[k] = v
        LossFunctionWrapper.__init__(self, fn, reduction=kw.pop("reduction"), name=kw.pop("name"),
                                     dtype=kw.pop("dtype"), **kw)

    P = inspect.Parameter
    __init__.__signature__ = inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD)] + [P(k, P.POSITIONAL_OR_KEYWORD, default=base[k]) for k in order])
    return {"__init__": __init__, "__doc__": doc}


def _cls(cls_name, fn, default_name, doc, **defaults):
    cls = type(cls_name, (LossFunctionWrapper,), _wrapper(fn, default_name, doc, **defaults))
    cls.__module__ = __name__
    return register("losses")(cls)


MeanSquaredError = _cls("MeanSquaredError", mean_squared_error, "mean_squared_error", mean_squared_error.__doc__)
MeanAbsoluteError = _cls("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error",
                         mean_absolute_error.__doc__)
MeanAbsolutePercentageError = _cls("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                   "mean_absolute_percentage_error", mean_absolute_percentage_error.__doc__)
MeanSquaredLogarithmicError = _cls("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                   "mean_squared_logarithmic_error", mean_squared_logarithmic_error.__doc__)
Huber = _cls("Huber", huber, "huber_loss", huber.__doc__, delta=1.0)
LogCosh = _cls("LogCosh", log_cosh, "log_cosh", log_cosh.__doc__)
KLDivergence = _cls("KLDivergence", kl_divergence, "kl_divergence", kl_divergence.__doc__)
Poisson = _cls("Poisson", poisson, "poisson", poisson.__doc__)
Hinge = _cls("Hinge", hinge, "hinge", hinge.__doc__)
SquaredHinge = _cls("SquaredHinge", squared_hinge, "squared_hinge", squared_hinge.__doc__)
CategoricalHinge = _cls("CategoricalHinge", categorical_hinge, "categorical_hinge", categorical_hinge.__doc__)
CosineSimilarity = _cls("CosineSimilarity", cosine_similarity, "cosine_similarity", cosine_similarity.__doc__,
                        axis=-1)
BinaryCrossentropy = _cls("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                          binary_crossentropy.__doc__, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = _cls("CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
                               categorical_crossentropy.__doc__, from_logits=False, label_smoothing=0.0, axis=-1)
BinaryFocalCrossentropy = _cls("BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
                               binary_focal_crossentropy.__doc__, apply_class_balancing=False, alpha=0.25,
                               gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = _cls("CategoricalFocalCrossentropy", categorical_focal_crossentropy,
                                    "categorical_focal_crossentropy", categorical_focal_crossentropy.__doc__,
                                    alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _cls("SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                     "sparse_categorical_crossentropy", sparse_categorical_crossentropy.__doc__,
                                     from_logits=False, ignore_class=None)

# Keras 3.15's Dice, Tversky, CategoricalGeneralizedCrossEntropy, Circle and CTC (they subclass LossFunctionWrapper)
from .extra import (CTC, CategoricalGeneralizedCrossEntropy, Circle, Dice, Tversky,  # noqa: E402
                    categorical_generalized_cross_entropy, circle, ctc, dice, tversky)

# the short names Keras accepts, plus the functions' own names
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, huber, log_cosh, kl_divergence, poisson, hinge, squared_hinge,
              categorical_hinge, cosine_similarity, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, binary_focal_crossentropy, categorical_focal_crossentropy)
_CLASSES = (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
            LogCosh, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, CosineSimilarity,
            BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryFocalCrossentropy,
            CategoricalFocalCrossentropy)
# get() strings as Keras 3.15 (CategoricalGeneralizedCrossEntropy is not one there: it is registered for loading only)
_FUNCTIONS += (dice, tversky, circle, ctc)
_CLASSES += (Dice, Tversky, Circle, CTC)
_ALIASES = {"mse": mean_squared_error, "MSE": mean_squared_error, "mae": mean_absolute_error,
            "MAE": mean_absolute_error, "mape": mean_absolute_percentage_error,
            "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
            "MSLE": mean_squared_logarithmic_error, "kld": kl_divergence, "KLD": kl_divergence,
            "kullback_leibler_divergence": kl_divergence, "logcosh": log_cosh, "bce": binary_crossentropy,
            "BCE": binary_crossentropy}

ALL_OBJECTS = registry.builtin_table("losses", _ALIASES, classes=_CLASSES, functions=_FUNCTIONS)


def serialize(loss):
    """{'class_name', 'config', 'registered_name'} for a Loss, or the registry entry of a loss function."""
    return registry.serialize(loss)


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and config in ALL_OBJECTS:
        return ALL_OBJECTS[config]
    return registry.deserialize(config, kind="losses", custom_objects=custom_objects)


def get(identifier):
    """A loss from None, a name ('mse', 'binary_crossentropy', 'MeanSquaredError', ...), a config dict, a Loss
    class (instantiated) or a callable. Names give the function form, as in Keras."""
    known = (f"Known names: {', '.join(sorted(f.__name__ for f in _FUNCTIONS))}, and the short names "
             f"{', '.join(sorted(k for k in _ALIASES if k.islower()))}")
    return registry.resolve(identifier, "losses", ALL_OBJECTS, deserialize, "loss", known=known,
                            expected=" (expected a name, a config dict, a Loss or a callable)")
