"""Spatial reshaping layers for conv nets (Keras 3), channels_last: UpSampling1D/2D, ZeroPadding1D/2D,
Cropping1D/2D, SpatialDropout1D/2D."""
import numpy as np

from .. import backend, ops
from ..autograd.ops.conv_extra import UpsampleNearest, linear_interp_matrix
from ..saving.registry import register
from .convolutional import _tuple, check_data_format
from .layer import InputSpec, Layer
from .regularization import Dropout


def _pairs(value, rank, arg, who):
    """Keras padding/cropping argument: int, (a, b) per axis (rank 1: one pair), or ((t, b), (l, r))."""
    try:
        if isinstance(value, (int, np.integer)):
            out = ((int(value), int(value)),) * rank
        elif rank == 1:
            out = (tuple(int(v) for v in value),)
        elif all(isinstance(v, (int, np.integer)) for v in value):
            out = tuple((int(v), int(v)) for v in value)
        else:
            out = tuple(tuple(int(u) for u in v) for v in value)
        ok = len(out) == rank and all(len(p) == 2 and min(p) >= 0 for p in out)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        form = "an int or a pair (left, right)" if rank == 1 else \
            "an int, a pair (sym_rows, sym_cols) or ((top, bottom), (left, right))"
        raise ValueError(f"{who}: argument '{arg}' expected {form} of non-negative ints, got {value!r}")
    return out


class _Spatial(Layer):
    rank = 2

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"


@register("layers")
class UpSampling2D(_Spatial):
    """Repeat rows and columns ``size`` times ('nearest') or resize by bilinear interpolation."""
    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _tuple(size, self.rank, "size", self._who())
        self.data_format = check_data_format(data_format, self._who())
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{self._who()}: argument 'interpolation' expected 'nearest' or 'bilinear', got "
                             f"{interpolation!r}")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        if self.interpolation == "nearest":
            return UpsampleNearest.apply(inputs, factors=self.size)
        _, h, w, _ = inputs.shape
        ah = backend.like(inputs.data, linear_interp_matrix(h, h * self.size[0], inputs.dtype))
        aw = backend.like(inputs.data, linear_interp_matrix(w, w * self.size[1], inputs.dtype))
        return ops.einsum("ph,nhwc,qw->npqc", ah, inputs, aw)

    def compute_output_shape(self, input_shape):
        dims = [None if d is None else d * s for d, s in zip(input_shape[1:-1], self.size)]
        return (input_shape[0],) + tuple(dims) + (input_shape[-1],)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"size": list(self.size), "data_format": self.data_format, "interpolation": self.interpolation})
        return cfg


@register("layers")
class UpSampling1D(_Spatial):
    """Repeat each step ``size`` times: (batch, steps, c) -> (batch, steps * size, c)."""
    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _tuple(size, 1, "size", self._who())[0]
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return UpsampleNearest.apply(inputs, factors=(self.size,))

    def compute_output_shape(self, input_shape):
        s = input_shape[1]
        return (input_shape[0], None if s is None else s * self.size, input_shape[2])

    def get_config(self):
        cfg = super().get_config()
        cfg["size"] = self.size
        return cfg


@register("layers")
class ZeroPadding2D(_Spatial):
    """Add rows/columns of zeros: padding=((top, bottom), (left, right))."""
    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self.rank, "padding", self._who())
        if self.rank == 2:
            self.data_format = check_data_format(data_format, self._who())
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        return ops.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))

    def compute_output_shape(self, input_shape):
        dims = [None if d is None else d + a + b for d, (a, b) in zip(input_shape[1:-1], self.padding)]
        return (input_shape[0],) + tuple(dims) + (input_shape[-1],)

    def get_config(self):
        cfg = super().get_config()
        cfg["padding"] = [list(p) for p in self.padding] if self.rank == 2 else list(self.padding[0])
        if self.rank == 2:
            cfg["data_format"] = self.data_format
        return cfg


@register("layers")
class ZeroPadding1D(ZeroPadding2D):
    """Add zero steps: padding=(left, right) or an int."""
    rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding=padding, **kwargs)


@register("layers")
class Cropping2D(_Spatial):
    """Remove rows/columns: cropping=((top, bottom), (left, right))."""
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", self._who())
        if self.rank == 2:
            self.data_format = check_data_format(data_format, self._who())
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _check(self, dims):
        for d, (a, b) in zip(dims, self.cropping):
            if d is not None and a + b >= d:
                raise ValueError(f"{self._who()}: cropping {self.cropping} removes everything from an input of "
                                 f"spatial size {tuple(dims)}")

    def call(self, inputs):
        self._check(inputs.shape[1:-1])
        idx = (slice(None),) + tuple(slice(a, d - b) for d, (a, b) in zip(inputs.shape[1:-1], self.cropping))
        return ops.getitem(inputs, idx + (slice(None),))

    def compute_output_shape(self, input_shape):
        self._check(input_shape[1:-1])
        dims = [None if d is None else d - a - b for d, (a, b) in zip(input_shape[1:-1], self.cropping)]
        return (input_shape[0],) + tuple(dims) + (input_shape[-1],)

    def get_config(self):
        cfg = super().get_config()
        cfg["cropping"] = [list(p) for p in self.cropping] if self.rank == 2 else list(self.cropping[0])
        if self.rank == 2:
            cfg["data_format"] = self.data_format
        return cfg


@register("layers")
class Cropping1D(Cropping2D):
    """Remove steps: cropping=(left, right) or an int."""
    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping=cropping, **kwargs)


@register("layers")
class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps: one keep/drop draw per (sample, channel), shared over rows and cols."""
    rank = 2

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = check_data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _noise_shape(self, shape):
        return (shape[0],) + (1,) * self.rank + (shape[-1],)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("noise_shape", None)
        cfg["data_format"] = self.data_format
        return cfg


@register("layers")
class SpatialDropout1D(SpatialDropout2D):
    """Dropout of whole channels of (batch, steps, channels): one draw per (sample, channel)."""
    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("data_format", None)
        return cfg
