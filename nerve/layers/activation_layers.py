"""Activation layers (Keras 3): Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax."""
import numpy as np

from .. import activations, backend, constraints, initializers, ops, regularizers
from ..autograd.tensor import Tensor
from ..saving.registry import register, serialize
from .layer import InputSpec, Layer


def _nonneg(value, arg, who, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value < 0:
        raise ValueError(f"{who} '{name}': argument '{arg}' expected a non-negative float, got {value!r}")
    return float(value)


class _Elementwise(Layer):
    """Shape-preserving layers; masks pass through."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


@register("layers")
class Activation(_Elementwise):
    """Apply an activation function (a name such as 'relu' or a callable) elementwise."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        """The input's shape, except for glu, which halves its split axis (a = x1 * sigmoid(x2))."""
        fn = self.activation
        if getattr(fn, "func", fn) is not activations.glu:
            return input_shape
        shape = list(input_shape)
        axis = getattr(fn, "keywords", {}).get("axis", -1)
        if shape[axis] is not None:
            shape[axis] //= 2
        return tuple(shape)

    def get_config(self):
        cfg = super().get_config()
        cfg["activation"] = activations.serialize(self.activation)
        return cfg


@register("layers")
class ReLU(_Elementwise):
    """f(x) = min(max_value, x) for x >= threshold, negative_slope (x - threshold) otherwise."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _nonneg(max_value, "max_value", "ReLU", self.name, allow_none=True)
        self.negative_slope = _nonneg(negative_slope, "negative_slope", "ReLU", self.name)
        self.threshold = _nonneg(threshold, "threshold", "ReLU", self.name)

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                    "threshold": self.threshold})
        return cfg


@register("layers")
class LeakyReLU(_Elementwise):
    """f(x) = x for x >= 0, negative_slope x otherwise (Keras 3 default slope 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2 name, still accepted by Keras 3
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _nonneg(negative_slope, "negative_slope", "LeakyReLU", self.name)

    def call(self, inputs):
        return ops.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        cfg = super().get_config()
        cfg["negative_slope"] = self.negative_slope
        return cfg


@register("layers")
class PReLU(_Elementwise):
    """f(x) = x for x >= 0, alpha * x otherwise, with a learned alpha of shape input_shape[1:]
    (size 1 along ``shared_axes``, which count from 1 = the first axis after the batch, as in Keras)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (int, np.integer)):
            self.shared_axes = [int(shared_axes)]
        else:
            self.shared_axes = [int(a) for a in shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        if self.shared_axes is not None:
            for i in self.shared_axes:
                if not 1 <= i <= len(param_shape):
                    raise ValueError(f"PReLU '{self.name}': argument 'shared_axes' entry {i} is out of range for "
                                     f"an input of shape {tuple(input_shape)} (axes count from 1)")
                param_shape[i - 1] = 1
        for i, d in enumerate(param_shape):
            if d is None:
                raise ValueError(f"PReLU '{self.name}': axis {i + 1} of the input must have a known size (or be in "
                                 f"shared_axes), got input of shape {tuple(input_shape)}")
        self.alpha = self.add_weight(shape=tuple(param_shape), name="alpha", initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        last = len(input_shape) - 1
        axes = {(-1 if i == last else i): d for i, d in enumerate(input_shape) if i > 0 and param_shape[i - 1] != 1}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        # f(x) = relu(x) - alpha relu(-x)
        return ops.subtract(ops.relu(inputs), ops.multiply(self.alpha, ops.relu(ops.negative(inputs))))

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"alpha_initializer": serialize(self.alpha_initializer),
                    "alpha_regularizer": serialize(self.alpha_regularizer),
                    "alpha_constraint": serialize(self.alpha_constraint),
                    "shared_axes": self.shared_axes})
        return cfg


@register("layers")
class ELU(_Elementwise):
    """f(x) = x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs):
        return ops.elu(inputs, alpha=self.alpha)

    def get_config(self):
        cfg = super().get_config()
        cfg["alpha"] = self.alpha
        return cfg


def _large_negative(dtype):
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


@register("layers")
class Softmax(_Elementwise):
    """softmax along ``axis`` (an int or a list of axes). A mask (True = keep) adds a large negative number
    to masked logits and zeroes their outputs, as Keras 3 does."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else [int(a) for a in axis]

    def call(self, inputs, mask=None):
        m = None
        if mask is not None:
            md = mask.data if isinstance(mask, Tensor) else backend.as_array(mask)
            m = backend.like(inputs.data, md).astype(inputs.dtype)
            while m.ndim < inputs.ndim:  # a per-step mask (batch, steps) covers whole rows
                m = m[..., None]
            inputs = ops.add(inputs, (1.0 - m) * _large_negative(inputs.dtype))
        if isinstance(self.axis, list) and len(self.axis) > 1:
            ax = tuple(self.axis)
            out = ops.exp(ops.subtract(inputs, ops.logsumexp(inputs, axis=ax, keepdims=True)))
        else:
            out = ops.softmax(inputs, axis=self.axis[0] if isinstance(self.axis, list) else self.axis)
        if m is not None:
            out = ops.multiply(out, m)  # an entirely masked row gives zeros
        return out

    def get_config(self):
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg
