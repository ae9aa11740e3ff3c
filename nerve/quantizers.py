"""``nerve.quantizers`` (Keras 3's ``keras.quantizers``): symmetric abs-max int8 quantization.

For a tensor x and an axis, scale = 127 / (max |x| along the axis + epsilon), q = clip(round(x scale), -127, 127)
as int8, and x ~ q / scale. ``Dense.quantize("int8")`` stores its kernel this way (one scale per output unit,
the max over the input axis) and quantizes its inputs per row at each call; ``Embedding.quantize("int8")`` one
scale per vocabulary row. The int8 products are summed exactly in floating point (|sum| <= K * 127^2, below 2^24
for float32 when K < 1040, else in float64), so the result equals the int32 GEMM of Keras's backends.
"""
import numpy as np

from . import backend
from .autograd.function import Function
from .autograd.tensor import Tensor

MODES = ("int8",)  # Keras also has int4, float8, gptq, awq: not in nerve


def _array(x):
    return x.data if isinstance(x, Tensor) else backend.as_array(x)


def _abs_max(x, axis, value_range, epsilon, xp):
    """(clip(round(x s), *value_range) still in x's float dtype, s = value_range[1] / (max |x| + epsilon))."""
    scale = (value_range[1] / (xp.abs(x).max(axis=axis, keepdims=True) + epsilon)).astype(x.dtype)
    return xp.clip(xp.round(x * scale), value_range[0], value_range[1]), scale


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=None, to_numpy=False):
    """(quantized, scale) with scale = value_range[1] / (max |inputs| along ``axis`` + epsilon) (kept dims) and
    quantized = clip(round(inputs scale), *value_range) cast to ``dtype`` (Keras' abs_max_quantize)."""
    x = _array(inputs)
    if x.dtype.kind != "f":
        raise TypeError(f"abs_max_quantize: argument 'inputs' expected a float tensor, got dtype {x.dtype}")
    xp = np if to_numpy else backend.get_array_module(x)
    if to_numpy:
        x = backend.to_numpy(x)
    q, scale = _abs_max(x, axis, value_range, backend.epsilon() if epsilon is None else epsilon, xp)
    return Tensor._make(q.astype(dtype), None, 0), Tensor._make(scale, None, 0)


def quantize_and_dequantize(inputs, scale, quantized_dtype="int8", compute_dtype="float32"):
    """round-trip through int8 at a given scale: clip(round(x scale), -127, 127) / scale (Keras' name)."""
    x, s = _array(inputs), _array(scale)
    xp = backend.get_array_module(x)
    q = xp.clip(xp.round(x * s), -127, 127).astype(quantized_dtype)
    return Tensor._make((q.astype(compute_dtype) / s).astype(compute_dtype), None, 0)


class Quantizer:
    """Base class: ``quantizer(x)`` gives the quantized x (here: x itself)."""

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        return {"output_dtype": self.output_dtype}


class AbsMaxQuantizer(Quantizer):
    """``quantizer(x, axis=None)`` -> (q, scale) by ``abs_max_quantize`` along ``axis`` (default -1)."""

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=None, output_dtype="int8"):
        super().__init__(output_dtype=output_dtype)
        self.axis = None if axis is None else (tuple(axis) if isinstance(axis, (list, tuple)) else (int(axis),))
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError(f"AbsMaxQuantizer: output_dtype 'int8' needs value_range within [-128, 127], got "
                             f"{tuple(value_range)}")
        self.value_range = tuple(value_range)
        self.epsilon = backend.epsilon() if epsilon is None else float(epsilon)

    def __call__(self, x, axis=None, to_numpy=False):
        axis = axis if axis is not None else (self.axis if self.axis is not None else -1)
        return abs_max_quantize(x, axis, self.value_range, self.output_dtype, self.epsilon, to_numpy)

    def get_config(self):
        cfg = {"value_range": list(self.value_range), "epsilon": self.epsilon, "output_dtype": self.output_dtype}
        if self.axis is not None:
            cfg["axis"] = list(self.axis)
        return cfg


ALL_OBJECTS = {"Quantizer": Quantizer, "AbsMaxQuantizer": AbsMaxQuantizer}


def serialize(quantizer):
    return {"module": "keras.quantizers", "class_name": type(quantizer).__name__,
            "config": quantizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"quantizers.deserialize: expected a dict with 'class_name' and 'config', got {config!r}")
    cls = (custom_objects or {}).get(config["class_name"]) or ALL_OBJECTS.get(config["class_name"])
    if cls is None:
        raise ValueError(f"quantizers.deserialize: unknown quantizer {config['class_name']!r}; expected one of "
                         f"{sorted(ALL_OBJECTS)}")
    return cls.from_config(config.get("config") or {})


def get(identifier, **kwargs):
    """A Quantizer from None, a Quantizer, a config dict or a class name."""
    if identifier is None or isinstance(identifier, Quantizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in ALL_OBJECTS:
        return ALL_OBJECTS[identifier](**kwargs)
    raise ValueError(f"quantizers.get: could not interpret {identifier!r} as a quantizer")


def check_mode(who, mode):
    """The quantization mode, or a clear error for the modes nerve lacks."""
    if mode in MODES:
        return mode
    if mode in ("int4", "float8", "gptq", "awq"):
        raise NotImplementedError(f"{who}: quantization mode {mode!r} is not supported by nerve; use 'int8'")
    raise ValueError(f"{who}: argument 'mode' expected one of {MODES}, got {mode!r}")


def int8_dense(x, kernel, kernel_scale):
    """x @ (kernel / kernel_scale) with x quantized per row (Keras' int8 Dense call), as one op whose gradient
    with respect to x is g (kernel / kernel_scale)^T (the straight-through estimator Keras uses)."""
    return _Int8Matmul.apply(x, kernel, kernel_scale)


def _exact_matmul(qx, qk):
    """Sum of int8 products, exact: float32 BLAS while the sums stay below 2^24, else float64."""
    k = qx.shape[-1]
    dt = np.float32 if k * 127 * 127 < 2 ** 24 else np.float64
    return qx.astype(dt) @ qk.astype(dt)


class _Int8Matmul(Function):
    name = "int8_matmul"

    def forward(self, x, kernel, kernel_scale):
        qx, sx = _abs_max(x, -1, (-127, 127), backend.epsilon(), backend.get_array_module(x))  # per row
        y = _exact_matmul(qx, kernel).astype(x.dtype)
        self.kernel, self.kernel_scale = kernel, kernel_scale
        return y / (sx * kernel_scale.astype(x.dtype))

    def backward(self, g):
        if not self.needs[0]:
            return None, None, None
        float_kernel = self.kernel.astype(g.dtype) / self.kernel_scale.astype(g.dtype)
        return g @ float_kernel.T, None, None
