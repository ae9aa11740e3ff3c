"""3-D layers (Keras 3) over (batch, depth, rows, cols, channels), channels_last as nerve's 2-D layers (the same
error for data_format='channels_first'): Conv3D, Conv3DTranspose, MaxPooling3D, AveragePooling3D,
GlobalMaxPooling3D, GlobalAveragePooling3D, UpSampling3D, ZeroPadding3D, Cropping3D, SpatialDropout3D.

They are the 2-D classes of convolutional.py, pooling.py and spatial.py with rank 3 (argument checks, weights,
shapes and configs are written there for any rank) and the kernels of ``nerve.autograd.ops.conv3d``:
  Conv3D:           y[n, p, f] = act(b[f] + sum_{i,c} x_pad[n, p*s + i*d, c] W[i, c, f]),  W (kd, kh, kw, C, F)
  Conv3DTranspose:  the adjoint of Conv3D w.r.t. its input,  W (kd, kh, kw, F, C)
  pooling:          max / mean over pool_size windows (mean over the real elements with padding='same')
"""
from ..autograd.ops.conv3d import AvgPool3DFn, Conv3DFn, Conv3DTransposeFn, MaxPool3DFn
from ..saving.registry import register
from .convolutional import BaseConv, _Transposed, check_data_format
from .pooling import BaseGlobalPooling, BasePooling
from .spatial import Cropping2D, SpatialDropout2D, UpSampling2D, ZeroPadding2D, _pairs

__all__ = ["Conv3D", "Convolution3D", "Conv3DTranspose", "Convolution3DTranspose", "MaxPooling3D", "MaxPool3D",
           "AveragePooling3D", "AvgPool3D", "GlobalMaxPooling3D", "GlobalMaxPool3D", "GlobalAveragePooling3D",
           "GlobalAvgPool3D", "UpSampling3D", "ZeroPadding3D", "Cropping3D", "SpatialDropout3D"]


# ----------------------------------------------------------------------------------------- convolution
class _BaseConv3D(BaseConv):
    rank = 3

    def build(self, input_shape):
        if len(input_shape) != 5:
            raise ValueError(f"{self._who()}: expected input of rank 5 (batch, depth, rows, cols, channels), got "
                             f"shape {tuple(input_shape)}")
        super().build(input_shape)


@register("layers")
class Conv3D(_BaseConv3D):
    """3-D convolution over (batch, depth, rows, cols, channels); kernel (kd, kh, kw, in, filters)."""

    def call(self, inputs):
        out = Conv3DFn.apply(inputs, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                             dilation=self.dilation_rate, activation=self._fused or "linear")
        return self._finish(out)


@register("layers")
class Conv3DTranspose(_Transposed, _BaseConv3D):
    """Transposed 3-D convolution; kernel (kd, kh, kw, filters, in) (output sizes: convolutional._Transposed)."""

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias, **kwargs)
        self._set_output_padding(output_padding)

    def call(self, inputs):
        out = Conv3DTransposeFn.apply(inputs, self.kernel, self.bias, strides=self.strides, padding=self.padding,
                                      output_padding=self.output_padding, dilation=self.dilation_rate)
        return self.activation(out)


# ----------------------------------------------------------------------------------------- pooling
class _Pooling3D(BasePooling):
    rank = 3

    def call(self, inputs):
        return self.fn.apply(inputs, pool_size=self.pool_size, strides=self.strides, padding=self.padding)


@register("layers")
class MaxPooling3D(_Pooling3D):
    """Maximum over pool_size windows of (batch, depth, rows, cols, channels)."""
    fn = MaxPool3DFn

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layers")
class AveragePooling3D(_Pooling3D):
    """Mean over pool_size windows of (batch, depth, rows, cols, channels); pool_size is required, as Keras."""
    fn = AvgPool3DFn

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layers")
class GlobalMaxPooling3D(BaseGlobalPooling):
    rank, reduce = 3, "max"


@register("layers")
class GlobalAveragePooling3D(BaseGlobalPooling):
    rank, reduce = 3, "mean"


# ----------------------------------------------------------------------------------------- spatial helpers
def _pairs3(value, arg, who):
    """Keras' 3-D padding / cropping argument: an int, 3 ints (symmetric) or 3 pairs -> 3 (before, after)."""
    try:
        return _pairs(value, 3, arg, who)
    except ValueError:
        raise ValueError(f"{who}: argument '{arg}' expected an int, a tuple of 3 ints or 3 pairs ((left_dim1, "
                         f"right_dim1), (left_dim2, right_dim2), (left_dim3, right_dim3)) of non-negative ints, "
                         f"got {value!r}") from None


@register("layers")
class UpSampling3D(UpSampling2D):
    """Repeat each of depth, rows and cols ``size`` times (nearest neighbour)."""
    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, interpolation="nearest", **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("interpolation")
        return cfg


@register("layers")
class ZeroPadding3D(ZeroPadding2D):
    """Add zeros around depth, rows and cols: padding=((d0, d1), (h0, h1), (w0, w1)), 3 ints or an int."""
    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding=0, **kwargs)  # the 2-D class parses 2-D forms: the 3-D ones are read here
        self.padding = _pairs3(padding, "padding", self._who())
        self.data_format = check_data_format(data_format, self._who())

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"padding": [list(p) for p in self.padding], "data_format": self.data_format})
        return cfg


@register("layers")
class Cropping3D(Cropping2D):
    """Remove voxels at the borders of depth, rows and cols: cropping=((d0, d1), (h0, h1), (w0, w1))."""
    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping=0, **kwargs)
        self.cropping = _pairs3(cropping, "cropping", self._who())
        self.data_format = check_data_format(data_format, self._who())

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"cropping": [list(p) for p in self.cropping], "data_format": self.data_format})
        return cfg


@register("layers")
class SpatialDropout3D(SpatialDropout2D):
    """Dropout of whole feature volumes: one keep/drop draw per (sample, channel), shared over depth, rows, cols."""
    rank = 3

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, data_format=data_format, seed=seed, **kwargs)


Convolution3D, Convolution3DTranspose = Conv3D, Conv3DTranspose
MaxPool3D, AvgPool3D = MaxPooling3D, AveragePooling3D
GlobalMaxPool3D, GlobalAvgPool3D = GlobalMaxPooling3D, GlobalAveragePooling3D
