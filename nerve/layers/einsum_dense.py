"""EinsumDense (Keras 3): a dense layer whose product is an einsum,
    y = activation(einsum(equation, x, kernel) + bias),
e.g. 'ab,bc->ac' is Dense, 'abc,cde->abde' projects the last axis to a (heads, dim) pair as attention does.

The equation is '[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...' with single-letter axes;
``output_shape`` gives the output without the batch axis (and without the axes '...' stands for). The
kernel's shape is read off the equation: an axis of Y takes its size from Z (``output_shape``) if it is
there, else from X (the input). ``bias_axes`` are letters of Z; the bias spans Z from the first of them to
the end, size 1 on the axes not named (so it broadcasts from the right). A VarianceScaling kernel
initialiser (glorot_uniform, ...) counts fan_in over the kernel axes that come from the input and fan_out
over those that go to the output, as Keras does.
"""
import re

import numpy as np

from .. import activations, ops
from ..initializers import VarianceScaling
from ..saving.registry import register
from .layer import InputSpec, Layer

_FORMS = ((re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
          (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
          (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"))


def split_equation(equation, who):
    """((X, Y, Z), where '...' is: None, 'left' or 'right') of one of the three accepted forms."""
    for pattern, elide in _FORMS:
        match = pattern.fullmatch(equation.replace(" ", ""))
        if match:
            return match.groups(), elide
    raise ValueError(f"{who}: argument 'equation' expected the form '[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or "
                     f"'[X]...,[Y]->[Z]...' with single-letter axes, got {equation!r}")


def analyze_einsum(equation, bias_axes, input_shape, output_shape, who):
    """(kernel_shape, bias_shape or None, full output shape, input axes, output axes of the kernel)."""
    (xs, ws, zs), elide = split_equation(equation, who)
    rank = len(input_shape)
    elided = rank - len(xs)
    if elided < 0 or (elide is None and elided):
        raise ValueError(f"{who}: equation {equation!r} names {len(xs)} input axes, got an input of shape "
                         f"{tuple(input_shape)} (rank {rank})")
    # the output: the batch axis or the axes '...' stands for on the left (the batch among them), output_shape,
    # then the axes '...' stands for on the right; zs starts after the left ones
    off = elided if elide == "left" else 0
    lead = list(input_shape[:max(off, 1)])
    tail = list(input_shape[rank - elided:]) if elide == "right" else []
    out = lead + list(output_shape) + tail
    if off + len(zs) + len(tail) != len(out):
        raise ValueError(f"{who}: argument 'output_shape' {tuple(output_shape)} expected "
                         f"{off + len(zs) - len(lead)} sizes (the output axes {zs!r} after the batch axis) for "
                         f"equation {equation!r} and input shape {tuple(input_shape)}")
    in_pos = {ch: i + off for i, ch in enumerate(xs)}
    out_pos = {ch: i + off for i, ch in enumerate(zs)}
    for ch in zs:
        if ch not in xs and ch not in ws:
            raise ValueError(f"{who}: output axis {ch!r} of equation {equation!r} is in neither the input nor the "
                             f"kernel")
        if ch in xs:  # a shared axis: output_shape must agree with the input (None takes the input's size)
            n_in, n_out = input_shape[in_pos[ch]], out[out_pos[ch]]
            if n_out is not None and n_in is not None and n_out != n_in:
                raise ValueError(f"{who}: axis {ch!r} is {n_in} in the input of shape {tuple(input_shape)} but "
                                 f"{n_out} in output_shape {tuple(output_shape)}")
            out[out_pos[ch]] = n_in if n_out is None else n_out
    kernel_shape, in_axes, out_axes = [], [], []
    for i, ch in enumerate(ws):
        if ch in out_pos:
            n, where = out[out_pos[ch]], out_axes
        elif ch in in_pos:
            n, where = input_shape[in_pos[ch]], in_axes
        else:
            raise ValueError(f"{who}: kernel axis {ch!r} of equation {equation!r} is in neither the input nor the "
                             f"output, so its size is unknown")
        if n is None:
            raise ValueError(f"{who}: the size of kernel axis {ch!r} is unknown (input shape {tuple(input_shape)}, "
                             f"output_shape {tuple(output_shape)}); give it in output_shape")
        kernel_shape.append(int(n))
        where.append(i)
    bias_shape = None
    if bias_axes is not None:
        bad = [ch for ch in bias_axes if ch not in zs]
        if bad or not bias_axes:
            raise ValueError(f"{who}: argument 'bias_axes' {bias_axes!r} must name axes of the output {zs!r}")
        first = min(zs.index(ch) for ch in bias_axes)
        bias_shape = [out[out_pos[ch]] if ch in bias_axes else 1 for ch in zs[first:]] + [1] * len(tail)
        if None in bias_shape:
            raise ValueError(f"{who}: the size of bias axis in {bias_axes!r} is unknown; give it in output_shape")
    return tuple(kernel_shape), bias_shape and tuple(bias_shape), tuple(out), in_axes, out_axes


def _fan_initializer(init, shape, in_axes, out_axes):
    """A VarianceScaling draw with fan_in = prod(kernel input axes), fan_out = prod(kernel output axes): draw a
    (fan_in, fan_out) matrix (i.i.d. entries) and reshape it to the kernel's shape."""
    fan_in = int(np.prod([shape[i] for i in in_axes]))
    fan_out = int(np.prod([shape[i] for i in out_axes]))
    return lambda shape, dtype=None: init((fan_in, fan_out), dtype=dtype).reshape(shape)


@register("layers")
class EinsumDense(Layer):
    """y = activation(einsum(equation, x, kernel) + bias); see the module docstring."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        who = f"EinsumDense '{self.name}'"
        if not isinstance(equation, str):
            raise TypeError(f"{who}: argument 'equation' expected a string such as 'ab,bc->ac', got {equation!r}")
        split_equation(equation, who)
        if lora_rank or quantization_config is not None or gptq_unpacked_column_size:
            raise ValueError(f"{who}: LoRA and quantization (lora_rank, quantization_config, "
                             f"gptq_unpacked_column_size) are not supported, got lora_rank={lora_rank!r}, "
                             f"quantization_config={quantization_config!r}")
        if isinstance(output_shape, (int, np.integer)) and not isinstance(output_shape, bool):
            output_shape = (int(output_shape),)
        try:
            output_shape = tuple(None if n is None else int(n) for n in output_shape)
        except (TypeError, ValueError):
            raise TypeError(f"{who}: argument 'output_shape' expected an int or a tuple of ints / None, got "
                            f"{output_shape!r}") from None
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"{who}: argument 'bias_axes' expected None or a string of output axes, got "
                            f"{bias_axes!r}")
        self.equation = equation
        self.partial_output_shape = output_shape
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self._init_kernel_bias(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                               kernel_constraint, bias_constraint)

    def _analyze(self, input_shape):
        return analyze_einsum(self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape,
                              f"EinsumDense '{self.name}'")

    def build(self, input_shape):
        kernel_shape, bias_shape, _, in_axes, out_axes = self._analyze(input_shape)
        init = self.kernel_initializer
        if isinstance(init, VarianceScaling):
            init = _fan_initializer(init, kernel_shape, in_axes, out_axes)
        self.kernel = self.add_weight(shape=kernel_shape, initializer=init, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None if bias_shape is None else \
            self.add_weight(shape=bias_shape, initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(ndim=len(input_shape))
        self.built = True

    def call(self, inputs):
        y = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            y = ops.add(y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return self._analyze(input_shape)[2]

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "output_shape": list(self.partial_output_shape), "equation": self.equation,
            "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
            **self._kernel_bias_config(),
        })
        return cfg
