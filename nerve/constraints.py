"""Weight constraints with Keras 3 names and formulas (``keras.constraints``).

A constraint is a projection applied to a variable after each optimizer update (no gradient):
``c(w)`` takes an array (or Tensor) and returns the projected array (a Tensor for a Tensor input).
With n = ||w|| along ``axis`` (kept) and eps = 1e-7:
  MaxNorm:    w * clip(n, 0, max_value) / (eps + n)
  NonNeg:     w * (w >= 0)
  UnitNorm:   w / (eps + n)
  MinMaxNorm: w * (rate * clip(n, min_value, max_value) + (1 - rate) n) / (eps + n)
"""
import numpy as np

from . import backend
from .autograd.tensor import Tensor
from .saving import registry
from .saving.registry import register

EPSILON = 1e-7


def _norms(w, axis):
    xp = backend.get_array_module(w)
    return xp.sqrt((w * w).sum(axis=axis, keepdims=True))


class Constraint:
    """Base class: subclasses implement ``project(w)`` on arrays; ``__call__`` also accepts Tensors."""

    def __call__(self, w):
        if isinstance(w, Tensor):
            return Tensor(self.project(w.data))
        return self.project(w if backend.is_array(w) else np.asarray(w))

    def project(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


@register("constraints")
class MaxNorm(Constraint):
    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def project(self, w):
        n = _norms(w, _axis(self.axis))
        desired = n.clip(0, self.max_value)
        return (w * (desired / (EPSILON + n))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@register("constraints")
class NonNeg(Constraint):
    def project(self, w):
        return w * (w >= 0).astype(w.dtype)


@register("constraints")
class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def project(self, w):
        return (w / (EPSILON + _norms(w, _axis(self.axis)))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


@register("constraints")
class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def project(self, w):
        n = _norms(w, _axis(self.axis))
        desired = self.rate * n.clip(self.min_value, self.max_value) + (1 - self.rate) * n
        return (w * (desired / (EPSILON + n))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_CLASSES = (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)
_ALIASES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}
ALL_OBJECTS = registry.builtin_table("constraints", _ALIASES, classes=_CLASSES)


def serialize(constraint):
    return registry.serialize(constraint)


def deserialize(config, custom_objects=None):
    return registry.deserialize_builtin(config, "constraints", ALL_OBJECTS, custom_objects)


def get(identifier):
    """A constraint from None, a name ('max_norm', 'NonNeg', ...), a config dict, a class or callable."""
    return registry.resolve(identifier, "constraints", ALL_OBJECTS, deserialize, "constraint")
