"""Metric base class and the reduction metrics Mean, Sum and MeanMetricWrapper (``keras.metrics``).

Metrics run on the host with NumPy: inputs (arrays, lists, nerve Tensors) are converted with
``to_numpy``; no gradients are recorded. State lives in non-trainable float64 ``Variable``s created
with ``add_variable`` (as Keras), so accumulations over many batches do not lose precision.
``result()`` returns a Python float (or a NumPy array for multi-value results).
"""
import re

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..saving.registry import _BY_CLASS, UnknownObjectError, get_registered_name, get_registered_object, register
from ..variables import Variable

EPSILON = 1e-7  # keras.backend.epsilon()

_UIDS = {}


def to_snake_case(name):
    """Keras' ``to_snake_case``: 'SparseTopKCategoricalAccuracy' -> 'sparse_top_k_categorical_accuracy'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(class_name):
    """Keras' automatic names: 'precision', then 'precision_1', 'precision_2', ..."""
    base = to_snake_case(class_name)
    n = _UIDS.get(base, 0)
    _UIDS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_uids():
    """Forget automatic metric names (part of ``clear_session``)."""
    _UIDS.clear()


def to_numpy(x, dtype=None):
    """Host NumPy array from an array, a list, a scalar or a nerve Tensor."""
    if isinstance(x, Tensor):
        x = x.data
    x = backend.to_numpy(x)
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    return x


def result_value(x):
    """A Python float for a scalar, else a float64 NumPy array."""
    x = np.asarray(x, dtype=np.float64)
    return float(x) if x.ndim == 0 else x


def divide_no_nan(a, b):
    """a / b with 0 where b == 0 (``ops.divide_no_nan``)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    safe = np.where(b == 0, 1.0, b)
    return np.where(b == 0, 0.0, a / safe)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras' rule: if the ranks differ by one and the longer has a last dim of 1, match them."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = np.squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


class ShapeMismatch(ValueError):
    """Raised by the metric functions; metric classes re-raise it with the metric's name."""


def check_broadcast(fn_name, y_true, y_pred):
    """Shapes of y_true and y_pred must match (or broadcast) after Keras' squeeze/expand rule."""
    try:
        np.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ShapeMismatch(f"{fn_name}: argument 'y_true' has shape {tuple(y_true.shape)} but 'y_pred' has "
                            f"shape {tuple(y_pred.shape)}; expected the same shape (or broadcastable)") from None


def float_pair(fn_name, y_true, y_pred):
    """y_true and y_pred as float64 arrays of matching rank (Keras' squeeze/expand rule) that broadcast,
    or a ShapeMismatch naming ``fn_name`` (the regression and probabilistic metric functions)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64))
    check_broadcast(fn_name, y_true, y_pred)
    return y_true, y_pred


def _weight_error(metric, sample_weight, shape):
    return ValueError(f"{type(metric).__name__} metric {metric.name!r}: argument 'sample_weight' has shape "
                      f"{tuple(np.shape(sample_weight))}, which does not broadcast to the per-sample values of "
                      f"shape {tuple(shape)}; expected a scalar or shape {tuple(shape[:1])}")


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, metric):
    """Keras' ``reduce_to_samplewise_values``: weight the values, reduce them to one per sample."""
    values = to_numpy(values, np.float64)
    if sample_weight is not None:
        sample_weight = to_numpy(sample_weight, np.float64)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        w_ndim, v_ndim = sample_weight.ndim, values.ndim
        if v_ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, v_ndim)))
        try:
            sample_weight = np.broadcast_to(sample_weight, values.shape)
        except ValueError:
            raise _weight_error(metric, sample_weight, values.shape) from None
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def apply_mask(sample_weight, mask):
    """Keras' ``apply_mask`` with reduction 'sum': masked entries get weight 0."""
    if mask is None:
        return sample_weight
    mask = to_numpy(mask, np.float64)
    if sample_weight is None:
        return mask
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, to_numpy(sample_weight, np.float64))
    return sample_weight * mask


def _init_value(initializer, shape, dtype):
    if initializer is None or initializer == "zeros":
        return np.zeros(shape, dtype)
    if initializer == "ones":
        return np.ones(shape, dtype)
    if isinstance(initializer, (int, float)):
        return np.full(shape, initializer, dtype)
    if isinstance(initializer, str):
        from .. import initializers  # noqa: lazy, the module is optional here
        initializer = initializers.get(initializer)
    if callable(initializer):
        return np.asarray(initializer(tuple(shape), dtype=dtype), dtype)
    return np.broadcast_to(np.asarray(initializer, dtype), shape).copy()


@register("metrics")
class Metric:
    """Keras' ``Metric``: subclasses create state with ``add_variable`` in ``__init__`` and implement
    ``update_state`` and ``result``. ``metric(y_true, y_pred)`` updates the state and returns the result."""

    def __init__(self, name=None, dtype=None):
        object.__setattr__(self, "_variables", [])
        object.__setattr__(self, "_metrics", [])
        self.name = name or auto_name(type(self).__name__)
        if isinstance(dtype, dict):  # a Keras DTypePolicy config
            dtype = (dtype.get("config") or {}).get("name", None)
        self._dtype = str(backend.resolve_dtype(dtype))

    def __setattr__(self, key, value):
        if isinstance(value, Metric) and "_metrics" in self.__dict__ and value not in self._metrics:
            self._metrics.append(value)  # track sub-metrics, as Keras' Tracker does
        object.__setattr__(self, key, value)

    @property
    def dtype(self):
        return self._dtype

    # ------------------------------------------------------------------ state
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before add_variable()")
        dtype = np.float64 if dtype is None else backend.resolve_dtype(dtype)
        shape = () if shape is None else shape
        shape = tuple(int(s) for s in (shape if isinstance(shape, (list, tuple)) else (shape,)))
        name = name or f"variable_{len(self._variables)}"
        with backend._switch("device", "cpu"):  # metric state lives on the host, also under nerve.device("gpu")
            v = Variable(_init_value(initializer, shape, dtype), dtype=dtype, trainable=False, name=name)
        v.path = f"{self.name}/{name}"
        v.aggregation = aggregation
        self._variables.append(v)
        return v

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        out = list(self._variables)
        for m in self._metrics:
            out.extend(m.variables)
        return out

    def _state_items(self, prefix=""):
        for v in self._variables:
            yield prefix + v.name, v
        for m in self._metrics:
            yield from m._state_items(prefix + m.name + "/")

    def get_state(self):
        """{variable name: copy of its array} (for checkpoints; restore with ``set_state``)."""
        return {k: np.array(v.data, copy=True) for k, v in self._state_items()}

    def set_state(self, state):
        if hasattr(self, "_build_from_state") and not getattr(self, "_built", True):
            self._build_from_state(state)
        own = dict(self._state_items())
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"{type(self).__name__} metric {self.name!r}: set_state expected the keys "
                             f"{sorted(own)}, got {sorted(state)} (missing {missing}, unexpected {extra})")
        for k, v in own.items():
            a = np.asarray(state[k])
            if a.shape != v.shape:
                raise ValueError(f"{type(self).__name__} metric {self.name!r}: set_state key {k!r} expected "
                                 f"shape {v.shape}, got {a.shape}")
            v.data[...] = a

    def reset_state(self):
        for v in self._variables:
            v.data[...] = 0
        for m in self._metrics:
            m.reset_state()

    # ------------------------------------------------------------------ API
    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}.result")

    def __call__(self, *args, **kwargs):
        if "_variables" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: you forgot to call super().__init__() in __init__()")
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


@register("metrics")
class Sum(Metric):
    """The (weighted) sum of the values: ``Sum()([1, 3, 5, 7]) == 16``."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise_values(values, sample_weight, np.sum, self)
        self.total.data += values.sum()

    def result(self):
        return float(self.total.data)


@register("metrics")
class Mean(Metric):
    """The (weighted) mean of the values: total / count, with count the sum of the sample weights."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        if type(values) is float and (sample_weight is None or type(sample_weight) in (int, float)):
            # one Python number (fit's loss tracker, each step): the general path below, without its arrays
            w = 1.0 if sample_weight is None else float(sample_weight)
            self.total.data += np.float64(values * w)
            self.count.data += np.float64(w)
            return
        if getattr(values, "ndim", None) == 0 and type(values) is not np.ndarray and backend.is_array(values) \
                and (sample_weight is None or type(sample_weight) in (int, float)):
            # a device (CuPy) scalar, e.g. a GPU step's loss: summed on the device, read at result() (no sync per step)
            w = 1.0 if sample_weight is None else float(sample_weight)
            p = self.__dict__.get("_pending")
            self.__dict__["_pending"] = values.astype("float64") * w if p is None else p + values.astype("float64") * w
            self.count.data += np.float64(w)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, np.mean, self)
        self.total.data += values.sum()
        if sample_weight is not None:
            self.count.data += np.sum(sample_weight)
        else:
            self.count.data += values.shape[0] if values.ndim >= 1 else 1

    def _fold(self):
        p = self.__dict__.pop("_pending", None)
        if p is not None:
            self.total.data += np.float64(float(p))

    def reset_state(self):
        self.__dict__.pop("_pending", None)
        super().reset_state()

    def result(self):
        p = self.__dict__.get("_pending")
        if p is not None and self.total.data == 0:
            # on the device: total / count without waiting for the GPU (fit asks every step; logs are made Python
            # numbers where they are shown or at the end of the epoch, as Keras does with its tensors)
            return p / float(self.count.data)
        self._fold()
        count = self.count.data
        if count.ndim == 0:  # total / count, 0 when count is 0 (divide_no_nan, for scalars)
            return float(self.total.data) / float(count) if count != 0 else 0.0
        return float(divide_no_nan(self.total.data, count))


def _fn_config(fn):
    """A JSON reference to a metric function: registered functions by name; others by their name only
    (loading them then needs ``custom_objects``, as in Keras)."""
    if hasattr(fn, "get_config"):
        return {"class_name": type(fn).__name__, "config": fn.get_config(), "registered_name": get_registered_name(fn)}
    try:
        registered = fn in _BY_CLASS
    except TypeError:  # an unhashable callable object
        registered = False
    name = get_registered_name(fn) if registered else getattr(fn, "__name__", type(fn).__name__)
    return {"class_name": "function", "config": name, "registered_name": name}


def _resolve(name, custom_objects):
    """A registered metric or loss function/class (e.g. a loss object passed in ``metrics``)."""
    for kind in ("metrics", "losses"):
        try:
            return get_registered_object(name, custom_objects, kind=kind)
        except UnknownObjectError:
            pass
    return get_registered_object(name, custom_objects)


@register("metrics")
class MeanMetricWrapper(Mean):
    """Wraps ``fn(y_true, y_pred, **kwargs)`` returning per-sample values: the result is their weighted
    mean over all samples seen. Any callable passed in ``compile(metrics=[...])`` is wrapped this way.
    ``fn`` receives host NumPy arrays and may return an array, a Tensor or a float."""

    _per_sample_rank1 = False  # built-in metrics: 1-D y_true/y_pred mean one value per sample

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: argument 'fn' must be callable, got {type(fn).__name__}")
        super().__init__(name=name or auto_name(type(self).__name__), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        if self._per_sample_rank1 and y_true.ndim <= 1 and y_pred.ndim <= 1:
            y_true, y_pred = y_true.reshape(-1, 1), y_pred.reshape(-1, 1)
        try:
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        except ShapeMismatch as e:
            raise ValueError(f"{type(self).__name__} metric {self.name!r}: {e}") from None
        return super().update_state(values, sample_weight=apply_mask(sample_weight, mask))

    def get_config(self):
        config = {**super().get_config(), "fn": _fn_config(self._fn)}
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, dict):
            name = fn.get("registered_name") or fn.get("config")
            obj = _resolve(name, custom_objects)
            fn = obj if fn.get("class_name") == "function" else obj.from_config(fn.get("config") or {})
        if fn is None:
            return cls(**config)
        return cls(fn, **config)


class BuiltinWrapper(MeanMetricWrapper):
    """A built-in MeanMetricWrapper: config without 'fn'; 1-D inputs hold one value per sample."""
    _per_sample_rank1 = True

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class DownWrapper(BuiltinWrapper):
    """A built-in wrapper of a loss-like function: lower is better."""
    _direction = "down"
