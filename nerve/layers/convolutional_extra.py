"""Depthwise, separable and 1-D transposed convolution layers (Keras 3), channels_last only.

DepthwiseConv (kernel (k..., C, M), M = depth_multiplier; output channel c * M + m, as Keras):
    y[n, p, q, c * M + m] = b[c * M + m] + sum_{i,j} x_pad[n, p*s + i*d, q*s + j*d, c] W[i, j, c, m]
computed as kh * kw shifted, strided slices of the padded input, each multiplied by one tap W[i, j] and
summed (no im2col: the work is that of one elementwise pass per tap, and autograd gives the gradients).
SeparableConv: that depthwise step (no bias), then a 1x1 ("pointwise") convolution with kernel
(1..., C * M, F) and the bias: one GEMM over the channel axis (DenseFn, activation fused where it can be).
Conv1DTranspose: the adjoint of Conv1D w.r.t. its input, run as Conv2DTranspose on a unit height;
kernel (k, F, C) as Keras.
"""
import itertools

import numpy as np

from .. import activations, constraints, initializers, ops, regularizers
from ..autograd.ops.conv import Conv2DTransposeFn, conv_out_len
from ..autograd.ops.nn import FUSED_ACTIVATIONS, DenseFn
from ..saving.registry import register, serialize
from .convolutional import BaseConv, _Transposed, _tuple, check_data_format, check_padding
from .layer import InputSpec, Layer


def _positive_int(value, arg, who):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who}: argument '{arg}' expected a positive integer, got {value!r}")
    return int(value)


def depthwise(x, kernel, strides, padding, dilation):
    """Depthwise convolution of x (N, spatial..., C) with kernel (k..., C, M) -> (N, out..., C * M):
    the sum over taps (i, j) of x_pad[:, i*d :: s, j*d :: s, :, None] * W[i, j] (see the module docstring)."""
    ks, (c, m) = tuple(kernel.shape[:-2]), tuple(kernel.shape[-2:])
    lens = [conv_out_len(n, k, s, d, padding) for n, k, s, d in zip(x.shape[1:-1], ks, strides, dilation)]
    outs, pads = tuple(o for o, _ in lens), tuple(p for _, p in lens)
    if any(p != (0, 0) for p in pads):
        x = ops.pad(x, ((0, 0),) + pads + ((0, 0),))
    x = ops.expand_dims(x, -1)  # (N, ..., C, 1): each channel meets its M taps by broadcasting
    y = None
    for taps in itertools.product(*(range(k) for k in ks)):
        window = (slice(None),) + tuple(slice(i * d, i * d + (o - 1) * s + 1, s)
                                        for i, d, o, s in zip(taps, dilation, outs, strides))
        term = ops.multiply(x[window], kernel[taps])  # (N, out..., C, 1) * (C, M)
        y = term if y is None else ops.add(y, term)
    return ops.reshape(y, (y.shape[0],) + outs + (c * m,))


class _DepthwiseBase(Layer):
    """Arguments, checks and config shared by the depthwise and separable convolutions (rank 1 or 2)."""

    rank = 2

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = self._who()
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", who)
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = _tuple(strides, self.rank, "strides", who)
        self.padding = check_padding(padding, ("valid", "same"), who)
        self.data_format = check_data_format(data_format, who)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate", who)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def _channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._who()}: expected input of rank {self.rank + 2} (batch, "
                             f"{'steps' if self.rank == 1 else 'rows, cols'}, channels), got shape "
                             f"{tuple(input_shape)}")
        if input_shape[-1] is None:
            raise ValueError(f"{self._who()}: the channel axis (last) of the input must be known, got shape "
                             f"{tuple(input_shape)}")
        self._spatial_out(input_shape[1:-1])  # too small an input is an error at build time, as in Keras
        return int(input_shape[-1])

    def _spatial_out(self, dims):
        out = []
        for n, k, s, d in zip(dims, self.kernel_size, self.strides, self.dilation_rate):
            o = None if n is None else conv_out_len(n, k, s, d, self.padding)[0]
            if o is not None and o <= 0:
                raise ValueError(f"{self._who()}: input spatial size {tuple(dims)} is too small for kernel "
                                 f"{self.kernel_size} (dilation {self.dilation_rate}) with padding "
                                 f"{self.padding!r}")
            out.append(o)
        return tuple(out)

    def _depthwise_weight(self, c, name):
        return self.add_weight(shape=self.kernel_size + (c, self.depth_multiplier), name=name,
                               initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                               constraint=self.depthwise_constraint)

    def _bias_weight(self, n):
        return self.add_weight(shape=(n,), initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint, name="bias") if self.use_bias else None

    def _depthwise(self, inputs, kernel):
        return depthwise(inputs, kernel, self.strides, self.padding, self.dilation_rate)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "depth_multiplier": self.depth_multiplier, "kernel_size": list(self.kernel_size),
            "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate), "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias, "depthwise_initializer": serialize(self.depthwise_initializer),
            "bias_initializer": serialize(self.bias_initializer),
            "depthwise_regularizer": serialize(self.depthwise_regularizer),
            "bias_regularizer": serialize(self.bias_regularizer),
            "depthwise_constraint": serialize(self.depthwise_constraint),
            "bias_constraint": serialize(self.bias_constraint),
        })
        return cfg


class _DepthwiseConv(_DepthwiseBase):
    """Weights (Keras 3 names): kernel (k..., C, depth_multiplier), bias (C * depth_multiplier,)."""

    def build(self, input_shape):
        c = self._channels(input_shape)
        self.kernel = self._depthwise_weight(c, "kernel")
        self.bias = self._bias_weight(c * self.depth_multiplier)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: c})
        self.built = True

    def call(self, inputs):
        y = self._depthwise(inputs, self.kernel)
        if self.bias is not None:
            y = ops.add(y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return (input_shape[0],) + self._spatial_out(input_shape[1:-1]) + \
            (None if c is None else c * self.depth_multiplier,)


@register("layers")
class DepthwiseConv2D(_DepthwiseConv):
    """Each input channel convolved with its own depth_multiplier filters, (batch, rows, cols, channels)."""

    rank = 2


@register("layers")
class DepthwiseConv1D(_DepthwiseConv):
    """Each input channel convolved with its own depth_multiplier filters, (batch, steps, channels)."""

    rank = 1


class _SeparableConv(_DepthwiseBase):
    """Weights (Keras 3 names): depthwise_kernel (k..., C, M), pointwise_kernel (1..., C * M, F), bias (F,)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
        self.filters = _positive_int(filters, "filters", self._who())
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        name = getattr(self.activation, "__name__", None)
        self._fused = name if name in FUSED_ACTIVATIONS else None

    def build(self, input_shape):
        c = self._channels(input_shape)
        cm = c * self.depth_multiplier
        self.depthwise_kernel = self._depthwise_weight(c, "depthwise_kernel")
        self.pointwise_kernel = self.add_weight(shape=(1,) * self.rank + (cm, self.filters), name="pointwise_kernel",
                                                initializer=self.pointwise_initializer,
                                                regularizer=self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self.bias = self._bias_weight(self.filters)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: c})
        self.built = True

    def call(self, inputs):
        y = self._depthwise(inputs, self.depthwise_kernel)
        # the 1x1 convolution is a matrix product over the channel axis: y (..., C*M) @ (C*M, F) + b
        pw = ops.reshape(self.pointwise_kernel, tuple(self.pointwise_kernel.shape[-2:]))
        out = DenseFn.apply(y, pw, self.bias, activation=self._fused or "linear")
        return out if self._fused is not None else self.activation(out)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._spatial_out(input_shape[1:-1]) + (self.filters,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "filters": self.filters, "pointwise_initializer": serialize(self.pointwise_initializer),
            "pointwise_regularizer": serialize(self.pointwise_regularizer),
            "pointwise_constraint": serialize(self.pointwise_constraint),
        })
        return cfg


@register("layers")
class SeparableConv2D(_SeparableConv):
    """Depthwise 2-D convolution followed by a 1x1 convolution to ``filters`` channels."""

    rank = 2


@register("layers")
class SeparableConv1D(_SeparableConv):
    """Depthwise 1-D convolution followed by a pointwise (kernel size 1) convolution to ``filters`` channels."""

    rank = 1


@register("layers")
class Conv1DTranspose(_Transposed, BaseConv):
    """Transposed 1-D convolution (the gradient of Conv1D w.r.t. its input); kernel (k, filters, in), computed
    as a transposed 2-D convolution over a height of 1 (output lengths: convolutional._Transposed)."""

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias, **kwargs)
        self._set_output_padding(output_padding)

    def call(self, inputs):
        n, steps, c = inputs.shape  # (N, L, C) -> (N, 1, L, C), kernel (k, F, C) -> (1, k, F, C)
        x4 = ops.reshape(inputs, (n, 1, steps, c))
        w4 = ops.reshape(self.kernel, (1,) + tuple(self.kernel.shape))
        op = None if self.output_padding is None else (0,) + self.output_padding
        out = Conv2DTransposeFn.apply(x4, w4, self.bias, strides=(1,) + self.strides, padding=self.padding,
                                      output_padding=op, dilation=(1,) + self.dilation_rate)
        return self.activation(ops.reshape(out, (n, out.shape[2], self.filters)))


SeparableConvolution1D, SeparableConvolution2D, Convolution1DTranspose = SeparableConv1D, SeparableConv2D, \
    Conv1DTranspose
