"""Core layers: InputLayer / Input, Dense, Lambda."""
import numpy as np

from .. import activations
from ..autograd.ops.nn import FUSED_ACTIVATIONS, DenseFn
from ..saving.registry import register, serialize
from .layer import InputSpec, Layer, unique_name
from .node import KerasTensor, Node


@register("layers")
class InputLayer(Layer):
    """The entry of a functional graph; ``nerve.Input`` returns its output KerasTensor."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 optional=False, name=None, **kwargs):
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        kwargs.pop("input_shape", None)
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input: argument 'shape' is required (the shape without the batch axis), "
                                 "e.g. Input(shape=(784,))")
            if isinstance(shape, (int, np.integer)):
                shape = (int(shape),)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        self.sparse = bool(sparse)
        out = KerasTensor(self.batch_shape, self.dtype, name=self.name)
        node = Node(self, [], [out], "single", {})
        node.args = ()
        out._history = (self, node, 0)
        self._inbound_nodes.append(node)
        self._output = out

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": self.sparse,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """Symbolic input of a functional model (Keras ``keras.Input``)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name)
    return layer._output


@register("layers")
class Dense(Layer):
    """y = activation(x W + b) with kernel W of shape (in, out) (Keras layout)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense '{self.name}': argument 'units' expected a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._init_kernel_bias(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                               kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        name = getattr(self.activation, "__name__", None)
        self._fused = name if name in FUSED_ACTIVATIONS else None

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known, got shape "
                             f"{tuple(input_shape)}")
        if self.quantization_mode is None:
            self.kernel = self.add_weight(shape=(in_dim, self.units), initializer=self.kernel_initializer,
                                          regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                          name="kernel")
        else:  # a quantized layer from a config: weights as quantize() leaves them (values come with the weights)
            self.kernel = self.add_weight(shape=(in_dim, self.units), initializer="zeros", dtype="int8",
                                          trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        if self.quantization_mode is not None:
            self.kernel_scale = self.add_weight(shape=(self.units,), initializer="ones", trainable=False,
                                                name="kernel_scale")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})
        self.built = True

    def quantize(self, mode, type_check=True, config=None):
        """Quantize the kernel to int8 (Keras): one scale per output unit, s_j = 127 / max_i |W_ij|, W ~ q / s;
        the call then quantizes its inputs per row too and multiplies the int8 values (exactly, quantizers.py).
        The int8 kernel and its scales are not trainable; the bias is, and gradients reach the inputs through
        the dequantized kernel (the straight-through estimator)."""
        from .. import quantizers
        self._check_quantize(mode, type_check, Dense)
        q, scale = quantizers.abs_max_quantize(self.kernel, axis=0)
        source = self.dtype_policy.name
        self._own_weights = [w for w in self._own_weights if w is not self.kernel]
        self._dtype = f"{mode}_from_{source}"
        bias = self.bias
        self._own_weights = [w for w in self._own_weights if w is not bias]
        self.kernel = self.add_weight(shape=tuple(q.shape), initializer="zeros", dtype="int8", trainable=False,
                                      name="kernel")  # add_weight puts it where the layer's weights are
        if bias is not None:
            self._own_weights.append(bias)  # Keras' order: kernel, bias, kernel_scale
        self.kernel_scale = self.add_weight(shape=(self.units,), initializer="ones", trainable=False,
                                            name="kernel_scale")
        self.kernel.assign(q.data)
        self.kernel_scale.assign(scale.data.reshape(-1))

    def call(self, inputs):
        if self.quantization_mode is not None:
            from ..quantizers import int8_dense
            out = int8_dense(inputs, self.kernel, self.kernel_scale)
            if self.bias is not None:
                out = out + self.bias
            return self.activation(out)
        if self._fused is not None:
            return DenseFn.apply(inputs, self.kernel, self.bias, activation=self._fused)
        out = DenseFn.apply(inputs, self.kernel, self.bias, activation="linear")
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "units": self.units, "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            **self._kernel_bias_config(),
        })
        return cfg


@register("layers")
class Lambda(Layer):
    """Wrap a function of tensors as a layer. Usable in code; not serialisable unless the function is
    registered with ``nerve.saving.register_keras_serializable`` (no bytecode is ever saved or loaded)."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, _symbolic_op=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}': argument 'function' expected a callable, got {type(function)}")
        self.function = function
        self._output_shape = output_shape
        self.arguments = arguments or {}
        self._symbolic_op = _symbolic_op

    def call(self, inputs, mask=None, training=None):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return self._trace_output_shape(input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        return (input_shape[0] if not isinstance(input_shape, list) else input_shape[0][0],) + tuple(self._output_shape)

    def get_config(self):
        from ..saving.registry import _BY_CLASS
        if self.function not in _BY_CLASS:
            raise TypeError(
                f"Lambda '{self.name}': its function {getattr(self.function, '__name__', self.function)!r} cannot be "
                f"saved: nerve never serialises Python code. Register the function with "
                f"@nerve.saving.register_keras_serializable() or write a custom Layer subclass")
        cfg = super().get_config()
        cfg.update({"function": serialize(self.function), "arguments": self.arguments})
        if self._output_shape is not None and not callable(self._output_shape):
            cfg["output_shape"] = list(self._output_shape)
        return cfg

    @classmethod
    def from_config(cls, config):
        from ..saving.registry import deserialize
        config = dict(config)
        config["function"] = deserialize(config["function"])
        return cls(**config)


