"""Adaptive pooling layers (Keras 3): AdaptiveAverage/AdaptiveMaxPooling1D/2D/3D.

The output has ``output_size`` along each spatial axis whatever the input's size: along an axis of length n,
output i pools the window [floor(i n / m), ceil((i + 1) n / m)) (torch's adaptive windows, which may overlap
by one element when m does not divide n). They run the ``adaptive_average_pool`` / ``adaptive_max_pool`` ops
of ``nerve.autograd.ops.nn_extra`` (separable per axis, 1 to 3 spatial axes, both data formats), whose
gradients come from the differentiable ops they are made of.
"""
from .. import backend
from ..autograd.ops.nn_extra import adaptive_average_pool, adaptive_max_pool
from ..saving.registry import register
from .convolutional import _tuple
from .layer import InputSpec, Layer

__all__ = ["AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]


class _AdaptivePooling(Layer):
    rank = 2
    op = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.output_size = _tuple(output_size, self.rank, "output_size", who)
        self.data_format = backend.image_data_format() if data_format is None else data_format
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{who}: argument 'data_format' expected 'channels_last', 'channels_first' or None, "
                             f"got {data_format!r}")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        return type(self).op(inputs, self.output_size, self.data_format)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0],) + self.output_size + (input_shape[-1],)
        return (input_shape[0], input_shape[1]) + self.output_size

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"output_size": list(self.output_size), "data_format": self.data_format})
        return cfg


@register("layers")
class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Mean over adaptive windows of (batch, steps, channels) to (batch, output_size, channels)."""
    rank, op = 1, adaptive_average_pool


@register("layers")
class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Mean over adaptive windows of (batch, rows, cols, channels) to output_size (rows, cols)."""
    rank, op = 2, adaptive_average_pool


@register("layers")
class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Mean over adaptive windows of (batch, depth, rows, cols, channels) to output_size (depth, rows, cols)."""
    rank, op = 3, adaptive_average_pool


@register("layers")
class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Maximum over adaptive windows of (batch, steps, channels); tied maxima share the gradient."""
    rank, op = 1, adaptive_max_pool


@register("layers")
class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Maximum over adaptive windows of (batch, rows, cols, channels); tied maxima share the gradient."""
    rank, op = 2, adaptive_max_pool


@register("layers")
class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Maximum over adaptive windows of (batch, depth, rows, cols, channels); tied maxima share the gradient."""
    rank, op = 3, adaptive_max_pool
