"""Regularisation layers (Keras 3): Dropout, GaussianNoise, GaussianDropout, ActivityRegularization.

The stochastic layers act only when ``training`` is true. Random draws come from ``backend.rng()``
(the one Generator seeded by ``nerve.set_random_seed``), or, when the layer is given ``seed``, from the
layer's own Generator seeded with it (Keras' per-layer SeedGenerator).
"""
import numpy as np

from .. import backend, ops, regularizers
from ..saving.registry import register
from .layer import Layer


def _rate(value, arg, who, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"{who} '{name}': argument '{arg}' expected a float between 0 and 1, got {value!r}")
    return float(value)


def _normal(gen, shape, dtype):
    """Standard normal draws, generated directly in float32 / float64."""
    if dtype in (np.float32, np.float64):
        return gen.standard_normal(shape, dtype=dtype)
    return gen.standard_normal(shape).astype(dtype)


class _Stochastic(Layer):
    """Shape-preserving layers that draw random numbers in training."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"{type(self).__name__} '{self.name}': argument 'seed' expected None or a "
                             f"non-negative int, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self._gen = None if seed is None else np.random.default_rng(self.seed)
        self.supports_masking = True

    def _rng(self):
        return self._gen if self._gen is not None else backend.rng()

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg["seed"] = self.seed
        return cfg


@register("layers")
class Dropout(_Stochastic):
    """Inverted dropout: in training, each entry is zeroed with probability ``rate`` and the kept ones are
    scaled by 1 / (1 - rate), so E[output] = input; in inference the layer is the identity.
    ``noise_shape`` (None entries = the input's size) shares one draw along axes of size 1."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(rate, "rate", "Dropout", self.name)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _noise_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(f"Dropout '{self.name}': argument 'noise_shape' {self.noise_shape} must have the rank "
                             f"of the input, got input of shape {tuple(shape)}")
        out = tuple(s if n is None else int(n) for n, s in zip(self.noise_shape, shape))
        for n, s in zip(out, shape):
            if n != 1 and n != s:
                raise ValueError(f"Dropout '{self.name}': argument 'noise_shape' {self.noise_shape} does not "
                                 f"broadcast to the input shape {tuple(shape)}")
        return out

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        mask = backend.dropout_mask(self._rng(), self._noise_shape(tuple(inputs.shape)), self.rate, inputs.data)
        return ops.multiply(inputs, mask)  # P(keep) = 1 - rate, kept entries scaled by 1 / (1 - rate)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"rate": self.rate, "noise_shape": None if self.noise_shape is None else list(self.noise_shape)})
        return cfg


@register("layers")
class GaussianNoise(_Stochastic):
    """In training, add zero-mean Gaussian noise of standard deviation ``stddev``."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _rate(stddev, "stddev", "GaussianNoise", self.name)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0.0:
            return inputs
        noise = _normal(self._rng(), tuple(inputs.shape), inputs.dtype)
        noise *= inputs.dtype.type(self.stddev)
        return ops.add(inputs, backend.like(inputs.data, noise))

    def get_config(self):
        cfg = super().get_config()
        cfg["stddev"] = self.stddev
        return cfg


@register("layers")
class GaussianDropout(_Stochastic):
    """In training, multiply by Gaussian noise of mean 1 and standard deviation sqrt(rate / (1 - rate))."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(rate, "rate", "GaussianDropout", self.name)

    def call(self, inputs, training=None):
        if not training or not 0.0 < self.rate < 1.0:
            return inputs
        std = np.sqrt(self.rate / (1.0 - self.rate))
        noise = _normal(self._rng(), tuple(inputs.shape), inputs.dtype)
        noise *= inputs.dtype.type(std)
        noise += 1
        return ops.multiply(inputs, backend.like(inputs.data, noise))

    def get_config(self):
        cfg = super().get_config()
        cfg["rate"] = self.rate
        return cfg


@register("layers")
class ActivityRegularization(Layer):
    """Identity that adds l1 * sum|x| + l2 * sum x^2 of its output to the layer losses."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("activity_regularizer", None)
        cfg.update({"l1": self.l1, "l2": self.l2})
        return cfg
