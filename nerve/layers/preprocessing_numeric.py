"""Normalization (Keras 3 ``keras.layers.Normalization``): per-feature standardisation learnt by ``adapt``.

    y = (x - mean) / max(sqrt(variance), epsilon)          invert=True:  y = x * sqrt(variance) + mean

``axis`` names the axes that keep their own statistics (default -1: one mean and variance per feature of the
last axis); ``adapt(data)`` computes them over every other axis (the population variance, as Keras). ``mean``
and ``variance`` may be given instead. The statistics are non-trainable weights ``mean`` and ``variance``, so
they are saved with the model; before ``adapt`` they are 0 and 1 (the layer passes inputs through).
"""
import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .layer import Layer


@register("layers")
class Normalization(Layer):
    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif not (isinstance(axis, (list, tuple)) and all(isinstance(a, (int, np.integer)) for a in axis)):
            raise TypeError(f"Normalization '{self.name}': argument 'axis' expected an int, a tuple of ints or "
                            f"None, got {axis!r}")
        self.axis = tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization '{self.name}': arguments 'mean' and 'variance' must be given "
                             f"together, got mean={mean!r}, variance={variance!r}")
        self.input_mean = None if mean is None else np.asarray(mean, np.float64)
        self.input_variance = None if variance is None else np.asarray(variance, np.float64)
        if self.input_variance is not None and (self.input_variance < 0).any():
            raise ValueError(f"Normalization '{self.name}': argument 'variance' must be >= 0")
        self.invert = bool(invert)
        self.supports_masking = True

    # ------------------------------------------------------------------ shapes
    def _kept(self, shape, who):
        ndim = len(shape)
        kept = []
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f"Normalization '{self.name}': argument 'axis' {a} is out of range for {who} of "
                                 f"shape {tuple(shape)}")
            kept.append(a % ndim)
        for a in kept:
            if shape[a] is None:
                raise ValueError(f"Normalization '{self.name}': axis {a} of {who} {tuple(shape)} must have a "
                                 f"known size (it keeps its own statistics)")
        return sorted(set(kept))

    def _stat_shape(self, shape, kept):
        """The statistics' shape, broadcastable against inputs of rank len(shape)."""
        return tuple(shape[a] if a in kept else 1 for a in range(len(shape)))

    def build(self, input_shape):
        shape = tuple(input_shape)
        self._kept_axes = self._kept(shape, "an input")
        self._bshape = self._stat_shape(shape, self._kept_axes)
        self.mean = self.add_weight(shape=self._bshape, initializer="zeros", trainable=False, name="mean")
        self.variance = self.add_weight(shape=self._bshape, initializer="ones", trainable=False, name="variance")
        if self.input_mean is not None:
            self._assign(self.input_mean, self.input_variance, "the given mean/variance")
        self.built = True

    def _assign(self, mean, variance, what):
        try:
            m = np.broadcast_to(mean, self._bshape)
            v = np.broadcast_to(variance, self._bshape)
        except ValueError:
            raise ValueError(f"Normalization '{self.name}': {what} of shape {np.shape(mean)} does not broadcast to "
                             f"the statistics' shape {self._bshape}") from None
        self.mean.assign(m.astype(self.mean.dtype))
        self.variance.assign(v.astype(self.variance.dtype))

    # ------------------------------------------------------------------ adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Mean and variance of ``data`` (an array, or an iterable of batches / (x, y) tuples) over every axis
        but ``axis``, accumulated batch by batch (Chan et al.'s parallel update, in float64)."""
        batches = [data] if isinstance(data, (np.ndarray, Tensor, list)) else data
        count, mean, m2 = 0, None, None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            x = np.asarray(backend.to_numpy(batch.data if isinstance(batch, Tensor) else batch), np.float64)
            if x.ndim == 0 or x.dtype.kind not in "fiub":
                raise ValueError(f"Normalization '{self.name}': adapt expected numeric arrays, got shape "
                                 f"{x.shape}")
            if not self.built:
                self.build((None,) + x.shape[1:])
            kept = self._kept(x.shape, "the adapt data")
            if self._stat_shape(x.shape, kept) != self._bshape:
                raise ValueError(f"Normalization '{self.name}': adapt data of shape {x.shape} does not match the "
                                 f"layer's statistics {self._bshape}")
            over = tuple(a for a in range(x.ndim) if a not in kept)
            n = int(np.prod([x.shape[a] for a in over])) if over else 1
            if n == 0:
                continue
            bm = x.mean(axis=over, keepdims=True)
            bm2 = ((x - bm) ** 2).sum(axis=over, keepdims=True)
            if mean is None:
                count, mean, m2 = n, bm, bm2
            else:  # combine two (count, mean, sum of squared deviations): Chan, Golub & LeVeque (1979)
                delta = bm - mean
                total = count + n
                mean = mean + delta * n / total
                m2 = m2 + bm2 + delta ** 2 * count * n / total
                count = total
        if mean is None:
            raise ValueError(f"Normalization '{self.name}': adapt got no data")
        self._assign(mean, m2 / count, "the adapted mean")

    # ------------------------------------------------------------------ call
    def call(self, inputs):
        x = ops.convert_to_tensor(inputs)
        if x.dtype.kind != "f":
            x = ops.cast(x, backend.floatx())
        mean = Tensor(self.mean.data.astype(x.dtype, copy=False))  # statistics: no gradient
        var = self.variance.data.astype(x.dtype, copy=False)
        xp = backend.get_array_module(var)
        std = Tensor(xp.maximum(xp.sqrt(var), backend.epsilon()).astype(x.dtype, copy=False))
        if self.invert:
            return ops.add(ops.multiply(x, std), mean)
        return ops.divide(ops.subtract(x, mean), std)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"axis": list(self.axis) if len(self.axis) != 1 else self.axis[0], "invert": self.invert,
                    "mean": None if self.input_mean is None else self.input_mean.tolist(),
                    "variance": None if self.input_variance is None else self.input_variance.tolist()})
        return cfg
