"""Activation functions with Keras 3 names and signatures (``keras.activations``).

Each takes a Tensor (or array) and returns a Tensor through ``nerve.ops``, whose fused Functions carry the
derivatives. ``get`` resolves None / names / callables; ``serialize`` gives the registered name.
"""
import numpy as np

from . import ops
from .autograd.ops import nn_extra
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
    """x * hard_sigmoid(x) = x relu6(x + 3) / 6 (also called hard_swish)."""
    return nn_extra.hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x):
    """clip(x, -1, 1)."""
    return nn_extra.hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return nn_extra.hard_shrink(x, threshold=threshold)


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    return nn_extra.soft_shrink(x, threshold=threshold)


def tanh_shrink(x):
    """x - tanh(x)."""
    return nn_extra.tanh_shrink(x)


def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    return nn_extra.threshold(x, threshold, default_value)


def sparse_sigmoid(x):
    """clip((x + 1) / 2, 0, 1)."""
    return nn_extra.sparse_sigmoid(x)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    return nn_extra.sparse_plus(x)


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


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    return nn_extra.squareplus(x, b=b)


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    return ops.silu(x)


swish = silu


def celu(x, alpha=1.0):
    """x for x >= 0, alpha (e^(x / alpha) - 1) otherwise."""
    return nn_extra.celu(x, alpha=alpha)


def glu(x, axis=-1):
    """a * sigmoid(b), x split in halves [a, b] along axis."""
    return nn_extra.glu(x, axis=axis)


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


def sparsemax(x, axis=-1):
    """The projection of x onto the probability simplex along axis (Martins & Astudillo 2016)."""
    return nn_extra.sparsemax(x, axis=axis)


_FUNCTIONS = (linear, relu, leaky_relu, relu6, elu, selu, sigmoid, hard_sigmoid, hard_silu, log_sigmoid, tanh,
              softplus, softsign, silu, gelu, mish, exponential, softmax, log_softmax, celu, glu, hard_shrink,
              hard_tanh, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold)
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
