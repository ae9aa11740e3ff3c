"""Convolution layers (Keras 3): Conv1D, Conv2D, Conv2DTranspose; channels_last only.

Conv2D: y[n, p, q, f] = act(b[f] + sum_{i,j,c} x_pad[n, p*s + i*d, q*s + j*d, c] W[i, j, c, f]) with the
kernel W of shape (kh, kw, C, F) as Keras; the kernel is ``nerve.autograd.ops.conv.Conv2DFn`` (im2col + one
GEMM, bias and ReLU fused). Conv1D is the same kernel with H = 1 (kernel (k, C, F) seen as (1, k, C, F));
'causal' padding pads (k - 1) * d zeros on the left only, so y[t] depends on x[<= t] (WaveNet).
Conv2DTranspose is the adjoint of Conv2D w.r.t. its input; kernel (kh, kw, F, C) as Keras.
"""
import numpy as np

from .. import activations, ops
from ..autograd.ops.conv import Conv2DFn, Conv2DTransposeFn, conv_out_len, deconv_len
from ..saving.registry import register
from .layer import InputSpec, Layer


def _tuple(value, n, arg, who, allow_zero=False):
    """An int or a tuple of n ints (Keras ``standardize_tuple``) -> tuple of n positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
        ok = len(out) == n and all(not isinstance(v, bool) for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok or any(v < (0 if allow_zero else 1) for v in out):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{who}: argument '{arg}' expected a {kind} int or a tuple of {n} {kind} ints, "
                         f"got {value!r}")
    return out


def check_data_format(data_format, who):
    if data_format in (None, "channels_last"):
        return "channels_last"
    if data_format == "channels_first":
        raise ValueError(f"{who}: data_format='channels_first' is not supported; nerve layers are channels_last "
                         f"(NHWC). Transpose the input with keras.layers.Permute or np.moveaxis")
    raise ValueError(f"{who}: argument 'data_format' expected 'channels_last', got {data_format!r}")


def check_padding(padding, allowed, who):
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in allowed:
        raise ValueError(f"{who}: argument 'padding' expected one of {allowed}, got {padding!r}")
    return p


class BaseConv(Layer):
    """Shared arguments, weights and config of the convolution layers (rank 1 or 2)."""

    rank = 2
    transpose = False
    paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: argument 'filters' expected a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = _tuple(strides, self.rank, "strides", who)
        self.padding = check_padding(padding, self.paddings, who)
        self.data_format = check_data_format(data_format, who)
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate", who)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups != 1:
            raise ValueError(f"{who}: argument 'groups' expected 1 (grouped convolution is not supported), "
                             f"got {groups!r}")
        self.groups = 1
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 is not supported together with dilation_rate > 1 (as Keras), "
                             f"got strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self._init_kernel_bias(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                               kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        name = getattr(self.activation, "__name__", None)
        self._fused = name if name in ("linear", "relu") and not self.transpose else None

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def build(self, input_shape):
        c = input_shape[-1]
        if c is None:
            raise ValueError(f"{self._who()}: the channel axis (last) of the input must be known, got shape "
                             f"{tuple(input_shape)}")
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._who()}: expected input of rank {self.rank + 2} (batch, "
                             f"{'steps' if self.rank == 1 else 'rows, cols'}, channels), got shape "
                             f"{tuple(input_shape)}")
        shape = self.kernel_size + ((self.filters, c) if self.transpose else (c, self.filters))
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: c})
        self.built = True

    def _finish(self, out):
        return out if self._fused is not None else self.activation(out)

    def _spatial_out(self, dims):
        out = []
        for n, k, s, d in zip(dims, self.kernel_size, self.strides, self.dilation_rate):
            if n is None:
                out.append(None)
            elif self.padding == "causal":
                out.append(conv_out_len(n + (k - 1) * d, k, s, d, "valid")[0])
            else:
                o = conv_out_len(n, k, s, d, self.padding)[0]
                if o <= 0:
                    raise ValueError(f"{self._who()}: input spatial size {tuple(dims)} is too small for kernel "
                                     f"{self.kernel_size} (dilation {self.dilation_rate}) with padding "
                                     f"{self.padding!r}")
                out.append(o)
        return out

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(self._spatial_out(input_shape[1:-1])) + (self.filters,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate), "groups": self.groups,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            **self._kernel_bias_config(),
        })
        return cfg


@register("layers")
class Conv2D(BaseConv):
    """2-D convolution over (batch, rows, cols, channels); kernel (kh, kw, in, filters)."""

    rank = 2

    def call(self, inputs):
        out = Conv2DFn.apply(inputs, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                             dilation=self.dilation_rate, activation=self._fused or "linear")
        return self._finish(out)


@register("layers")
class Conv1D(BaseConv):
    """1-D convolution over (batch, steps, channels); kernel (k, in, filters); padding 'valid', 'same' or
    'causal'. Runs the 2-D kernel on (batch, 1, steps, channels)."""

    rank = 1
    paddings = ("valid", "same", "causal")

    def call(self, inputs):
        x = inputs
        (k,), (d,) = self.kernel_size, self.dilation_rate
        padding = self.padding
        if padding == "causal":  # left padding only: output t sees inputs t - (k-1)d .. t
            x = ops.pad(x, ((0, 0), ((k - 1) * d, 0), (0, 0)))
            padding = "valid"
        n, steps, c = x.shape
        x4 = ops.reshape(x, (n, 1, steps, c))
        w4 = ops.reshape(self.kernel, (1,) + tuple(self.kernel.shape))
        out = Conv2DFn.apply(x4, w4, self.bias, strides=(1,) + self.strides, padding=padding,
                             dilation=(1,) + self.dilation_rate, activation=self._fused or "linear")
        out = ops.reshape(out, (n, out.shape[2], self.filters))
        return self._finish(out)


class _Transposed:
    """What the transposed convolutions share (mixed into a BaseConv of their rank): ``output_padding`` (each
    entry smaller than the stride), Keras's ``deconv_output_length`` per axis, the config without ``groups``.
    Output size per axis (ke = (k - 1) d + 1): valid n s + max(ke - s, 0); same n s; with ``output_padding`` q:
    (n - 1) s + ke - 2 pad + q, pad = 0 (valid) or ke // 2 (same)."""
    transpose = True

    def _set_output_padding(self, output_padding):
        if output_padding is not None:
            output_padding = _tuple(output_padding, self.rank, "output_padding", self._who(), allow_zero=True)
            if any(q >= s for q, s in zip(output_padding, self.strides)):
                raise ValueError(f"{self._who()}: argument 'output_padding' {output_padding} must be smaller than "
                                 f"the strides {self.strides} along each axis")
        self.output_padding = output_padding

    def compute_output_shape(self, input_shape):
        op = self.output_padding or (None,) * self.rank
        dims = [None if n is None else deconv_len(n, k, s, d, self.padding, q) for n, k, s, d, q in
                zip(input_shape[1:1 + self.rank], self.kernel_size, self.strides, self.dilation_rate, op)]
        return (input_shape[0],) + tuple(dims) + (self.filters,)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("groups")
        cfg["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        return cfg


@register("layers")
class Conv2DTranspose(_Transposed, BaseConv):
    """Transposed 2-D convolution (the gradient of Conv2D w.r.t. its input); kernel (kh, kw, filters, in)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias, **kwargs)
        self._set_output_padding(output_padding)

    def call(self, inputs):
        out = Conv2DTransposeFn.apply(inputs, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                                      output_padding=self.output_padding, dilation=self.dilation_rate)
        return self.activation(out)


Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
