"""Pooling layers (Keras 3), channels_last: Max/AveragePooling1D/2D and GlobalMax/GlobalAveragePooling1D/2D.

Windowed pooling runs the NHWC kernels of ``nerve.autograd.ops.pool`` (strided views, no pixel loop);
1-D pooling is 2-D pooling with H = 1. Max pooling sends each gradient to its window's first arg-max;
average pooling with padding='same' divides by the number of real (unpadded) elements, as Keras does.
"""
from .. import backend, ops
from ..autograd.ops.conv import conv_out_len
from ..autograd.ops.pool import AvgPool2DFn, MaxPool2DFn
from ..saving.registry import register
from .convolutional import _tuple, check_data_format, check_padding
from .layer import InputSpec, Layer


class BasePooling(Layer):
    rank = 2
    fn = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.pool_size = _tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides", who)
        self.padding = check_padding(padding, ("valid", "same"), who)
        self.data_format = check_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        if self.rank == 2:
            return self.fn.apply(inputs, pool_size=self.pool_size, strides=self.strides, padding=self.padding)
        n, steps, c = inputs.shape
        x4 = ops.reshape(inputs, (n, 1, steps, c))
        out = self.fn.apply(x4, pool_size=(1,) + self.pool_size, strides=(1,) + self.strides, padding=self.padding)
        return ops.reshape(out, (n, out.shape[2], c))

    def compute_output_shape(self, input_shape):
        dims = []
        for n, k, s in zip(input_shape[1:-1], self.pool_size, self.strides):
            if n is None:
                dims.append(None)
                continue
            o = conv_out_len(n, k, s, 1, self.padding)[0]
            if o <= 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': input spatial size "
                                 f"{tuple(input_shape[1:-1])} is smaller than pool_size {self.pool_size} "
                                 f"with padding 'valid'")
            dims.append(o)
        return (input_shape[0],) + tuple(dims) + (input_shape[-1],)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"pool_size": list(self.pool_size), "strides": list(self.strides), "padding": self.padding,
                    "data_format": self.data_format})
        return cfg


@register("layers")
class MaxPooling2D(BasePooling):
    """Maximum over pool_size windows of (batch, rows, cols, channels)."""
    rank, fn = 2, MaxPool2DFn

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layers")
class AveragePooling2D(BasePooling):
    """Mean over pool_size windows of (batch, rows, cols, channels)."""
    rank, fn = 2, AvgPool2DFn

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layers")
class MaxPooling1D(BasePooling):
    """Maximum over pool_size steps of (batch, steps, channels)."""
    rank, fn = 1, MaxPool2DFn


@register("layers")
class AveragePooling1D(BasePooling):
    """Mean over pool_size steps of (batch, steps, channels)."""
    rank, fn = 1, AvgPool2DFn


class BaseGlobalPooling(Layer):
    rank = 2
    reduce = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        axes = tuple(range(1, self.rank + 1))
        return getattr(ops, self.reduce)(inputs, axis=axes, keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * self.rank + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return cfg


@register("layers")
class GlobalMaxPooling2D(BaseGlobalPooling):
    rank, reduce = 2, "max"


@register("layers")
class GlobalAveragePooling2D(BaseGlobalPooling):
    rank, reduce = 2, "mean"


@register("layers")
class GlobalMaxPooling1D(BaseGlobalPooling):
    rank, reduce = 1, "max"


@register("layers")
class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the steps; with a mask (e.g. from Embedding(mask_zero=True)) only the unmasked steps count."""
    rank, reduce = 1, "mean"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        m = backend.like(inputs.data, backend.as_array(backend.unwrap(mask)))
        m = ops.cast(ops.expand_dims(ops.convert_to_tensor(m), -1), inputs.dtype)
        s = ops.sum(ops.multiply(inputs, m), axis=1, keepdims=self.keepdims)
        return ops.divide(s, ops.maximum(ops.sum(m, axis=1, keepdims=self.keepdims), 1e-7))

    def compute_mask(self, inputs, mask=None):
        return None


MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
