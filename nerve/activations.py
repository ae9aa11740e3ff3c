"""Activation functions with Keras 3 names and signatures (``keras.activations``).

Each takes a Tensor (or array) and returns a Tensor through ``nerve.ops``, whose fused Functions carry the
derivatives. ``get`` resolves None / names / callables; ``serialize`` gives the registered name.
"""
import numpy as np

from . import ops
from .autograd.tensor import Tensor
from .saving import registry


def linear(x):
    """f(x) = x."""
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras ReLU: x for x > threshold, else negative_slope (x - threshold); capped at max_value."""
    if negative_slope and max_value is None and threshold == 0:
        return ops.leaky_relu(x, negative_slope=negative_slope)
    if negative_slope:
        neg = ops.relu(ops.subtract(threshold, x) if threshold else ops.negative(x))
    if threshold:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        y = ops.multiply(x, (data > threshold).astype(data.dtype))  # x where x > threshold, else 0
    else:
        y = ops.relu(x)
    if max_value is not None:
        y = ops.clip(y, 0.0, float(max_value))
    if negative_slope:
        y = ops.subtract(y, ops.multiply(neg, float(negative_slope)))
    return y


def leaky_relu(x, negative_slope=0.2):
    """x for x > 0, negative_slope x otherwise."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """min(max(x, 0), 6)."""
    return ops.relu6(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha (e^x - 1) otherwise."""
    return ops.elu(x, alpha=alpha)


def selu(x):
    """scale * elu(x, alpha) with Klambauer et al.'s alpha = 1.67326..., scale = 1.05070..."""
    return ops.selu(x)


def sigmoid(x):
    """1 / (1 + e^-x)."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6 (Keras 3)."""
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return ops.multiply(x, ops.hard_sigmoid(x))


def log_sigmoid(x):
    """log sigma(x) = -softplus(-x)."""
    return ops.negative(ops.softplus(ops.negative(x)))


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def softplus(x):
    """log(1 + e^x), computed without overflow."""
    return ops.softplus(x)


def softsign(x):
    """x / (1 + |x|)."""
    return ops.softsign(x)


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """x Phi(x) (exact, Keras' default) or its tanh approximation."""
    return ops.gelu(x, approximate=approximate)


def mish(x):
    """x * tanh(softplus(x))."""
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def exponential(x):
    """e^x."""
    return ops.exp(x)


def softmax(x, axis=-1):
    """e^x / sum(e^x) along axis (max subtracted, so no overflow)."""
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along axis."""
    return ops.log_softmax(x, axis=axis)


_FUNCTIONS = (linear, relu, leaky_relu, relu6, elu, selu, sigmoid, hard_sigmoid, hard_silu, log_sigmoid, tanh,
              softplus, softsign, silu, gelu, mish, exponential, softmax, log_softmax)
_ALIASES = {"swish": silu, "hard_swish": hard_silu}

ALL_OBJECTS = registry.builtin_table("activations", _ALIASES, functions=_FUNCTIONS)


def serialize(activation):
    """The registered name of a built-in (or registered) activation function."""
    cfg = registry.serialize(activation)
    if isinstance(cfg, dict) and cfg.get("class_name") == "function":
        return cfg["config"]
    return cfg


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and config in ALL_OBJECTS:
        return ALL_OBJECTS[config]
    return registry.deserialize(config, kind="activations", custom_objects=custom_objects)


def get(identifier):
    """None -> linear; a name -> the function; a config dict -> deserialised; a callable -> itself."""
    return registry.resolve(identifier, "activations", ALL_OBJECTS, deserialize, "activation",
                            known=f"Known activations: {', '.join(sorted(ALL_OBJECTS))}", default=linear,
                            instantiate=False, expected=" (expected None, a name, a config dict or a callable)")
