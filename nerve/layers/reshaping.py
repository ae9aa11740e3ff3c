"""Reshaping layers (Keras 3): Flatten, Reshape, Permute, RepeatVector. The batch axis is never touched."""
import math

import numpy as np

from .. import backend, ops
from ..saving.registry import register
from .layer import InputSpec, Layer


def _fmt(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def standardize_data_format(data_format, who):
    if data_format is None:
        f = getattr(backend, "image_data_format", None)
        return f() if callable(f) else "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return data_format


@register("layers")
class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...). With channels_first the channel axis is moved last
    first, so the flattened order matches a channels_last model."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, f"Flatten '{self.name}'")
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        rank = inputs.ndim
        if self.data_format == "channels_first" and rank > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, rank)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        dims = input_shape[1:]
        flat = None if any(d is None for d in dims) else int(math.prod(dims))
        return (input_shape[0], flat)

    def get_config(self):
        cfg = super().get_config()
        cfg["data_format"] = self.data_format
        return cfg


@register("layers")
class Reshape(Layer):
    """Reshape the non-batch axes to ``target_shape`` (one entry may be -1, inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)):
            target_shape = (int(target_shape),)
        try:
            self.target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise TypeError(f"Reshape '{self.name}': argument 'target_shape' expected a tuple of ints, got "
                            f"{target_shape!r}") from None
        if sum(d == -1 for d in self.target_shape) > 1 or any(d < -1 or d == 0 for d in self.target_shape):
            raise ValueError(f"Reshape '{self.name}': argument 'target_shape' expected positive sizes and at most "
                             f"one -1, got {self.target_shape}")
        self.supports_masking = False

    def _resolve(self, input_shape):
        dims = input_shape[1:]
        if any(d is None for d in dims):
            return tuple(None if d == -1 else d for d in self.target_shape)
        total = int(math.prod(dims))
        known = int(math.prod(d for d in self.target_shape if d != -1))
        if -1 in self.target_shape:
            if known == 0 or total % known:
                raise ValueError(f"Reshape '{self.name}': cannot reshape an input of shape {_fmt(input_shape)} "
                                 f"({total} values per sample) to target_shape {self.target_shape}")
            return tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(f"Reshape '{self.name}': the total size must be unchanged: input of shape "
                             f"{_fmt(input_shape)} has {total} values per sample, target_shape {self.target_shape} "
                             f"has {known}")
        return self.target_shape

    def build(self, input_shape):
        self._resolve(input_shape)
        self.built = True

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(tuple(inputs.shape)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape))

    def get_config(self):
        cfg = super().get_config()
        cfg["target_shape"] = list(self.target_shape)
        return cfg


@register("layers")
class Permute(Layer):
    """Permute the non-batch axes; ``dims`` counts from 1 (the first axis after the batch), e.g. (2, 1)
    swaps the two axes of a (batch, steps, features) input."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(int(d) for d in dims)
        except TypeError:
            raise TypeError(f"Permute '{self.name}': argument 'dims' expected a tuple of ints, got {dims!r}") from None
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': argument 'dims' must be a permutation of 1..{len(self.dims)} "
                             f"(axes count from 1, the batch axis is not included), got {self.dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)
        self.supports_masking = True

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        cfg = super().get_config()
        cfg["dims"] = list(self.dims)
        return cfg


@register("layers")
class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise TypeError(f"RepeatVector '{self.name}': argument 'n' expected a non-negative integer, got {n!r}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        # (batch, 1, features) * ones(1, n, 1): broadcasting repeats; the gradient sums over the n copies
        ones = backend.like(inputs.data, np.ones((1, self.n, 1), dtype=inputs.dtype))
        return ops.multiply(ops.expand_dims(inputs, 1), ones)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        cfg = super().get_config()
        cfg["n"] = self.n
        return cfg
