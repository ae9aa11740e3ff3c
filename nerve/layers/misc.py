"""Small utility layers (Keras 3): Masking and Identity."""
import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .layer import Layer


@register("layers")
class Masking(Layer):
    """Mark timesteps whose features all equal ``mask_value`` as padding: they are zeroed in the output and
    the output carries ``_keras_mask`` (batch, steps) = any(x != mask_value, axis=-1) for later layers."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs):
        x = inputs.data if isinstance(inputs, Tensor) else backend.as_array(inputs)
        return np.any(x != self.mask_value, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return Tensor._make(self._keep(inputs), None, 0)

    def call(self, inputs):
        keep = self._keep(inputs)
        out = ops.multiply(inputs, keep[..., None].astype(inputs.dtype))
        out._keras_mask = Tensor._make(keep, None, 0)
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg["mask_value"] = self.mask_value
        return cfg


@register("layers")
class Identity(Layer):
    """Returns its input unchanged (masks pass through)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
