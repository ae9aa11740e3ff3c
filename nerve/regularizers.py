"""Weight regularizers with Keras 3 names and defaults (``keras.regularizers``).

``reg(x)`` returns a scalar Tensor built from ``nerve.ops``, so its gradient flows into x:
  L1: l1 * sum|x|      L2: l2 * sum x^2  (no 1/2, as Keras)      L1L2: both.
OrthogonalRegularizer: factor * mean over pairs of |<u_i, u_j>| for the l2-normalised rows (or columns).
"""
import math

import numpy as np

from . import ops
from .saving import registry
from .saving.registry import register


def _penalty(value, name, who, default=0.0):
    if value is None:  # Keras: None means the default
        value = default
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or math.isinf(value) or math.isnan(value) or value < 0:
        raise ValueError(f"{who}: argument {name!r} expected a non-negative float, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: ``__call__(x)`` returns a scalar penalty Tensor."""

    def __call__(self, x):
        return ops.convert_to_tensor(np.zeros((), dtype=getattr(x, "dtype", np.float32)))

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register("regularizers")
class L1(Regularizer):
    def __init__(self, l1=0.01):
        self.l1 = _penalty(l1, "l1", "L1", 0.01)

    def __call__(self, x):
        return ops.multiply(ops.sum(ops.abs(x)), self.l1)

    def get_config(self):
        return {"l1": self.l1}


@register("regularizers")
class L2(Regularizer):
    def __init__(self, l2=0.01):
        self.l2 = _penalty(l2, "l2", "L2", 0.01)

    def __call__(self, x):
        return ops.multiply(ops.sum(ops.square(x)), self.l2)

    def get_config(self):
        return {"l2": self.l2}


@register("regularizers")
class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _penalty(l1, "l1", "L1L2")
        self.l2 = _penalty(l2, "l2", "L1L2")

    def __call__(self, x):
        out = None
        if self.l1:
            out = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            t = ops.multiply(ops.sum(ops.square(x)), self.l2)
            out = t if out is None else ops.add(out, t)
        return out if out is not None else super().__call__(x)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@register("regularizers")
class OrthogonalRegularizer(Regularizer):
    """factor * mean_{i<j} |<u_i, u_j>|, u = rows ('rows') or columns ('columns') of a 2D x, l2-normalised."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _penalty(factor, "factor", "OrthogonalRegularizer", 0.01)
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: argument 'mode' expected 'rows' or 'columns', got {mode!r}")
        self.mode = mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer: expected a 2D input, got shape {tuple(x.shape)}")
        axis = 1 if self.mode == "rows" else 0
        ss = ops.sum(ops.square(x), axis=axis, keepdims=True)
        u = ops.divide(x, ops.sqrt(ops.maximum(ss, 1e-14)))  # l2 normalise, eps = 1e-7
        prod = ops.matmul(u, ops.transpose(u)) if axis == 1 else ops.matmul(ops.transpose(u), u)
        size = x.shape[0] if axis == 1 else x.shape[1]
        off = ops.multiply(prod, 1.0 - np.eye(size, dtype=prod.dtype))
        pairs = size * (size - 1.0) / 2.0
        return ops.multiply(ops.sum(ops.abs(off)), self.factor * 0.5 / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_CLASSES = (L1, L2, L1L2, OrthogonalRegularizer)
_ALIASES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}
ALL_OBJECTS = registry.builtin_table("regularizers", _ALIASES, classes=_CLASSES)


def serialize(regularizer):
    return registry.serialize(regularizer)


def deserialize(config, custom_objects=None):
    return registry.deserialize_builtin(config, "regularizers", ALL_OBJECTS, custom_objects)


def get(identifier):
    """A regularizer from None, a name ('l1', 'l2', 'l1_l2', 'L2', ...), a config dict, a class or callable."""
    return registry.resolve(identifier, "regularizers", ALL_OBJECTS, deserialize, "regularizer")
