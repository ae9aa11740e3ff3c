"""Colour augmentation layers (Keras 3.15), channels_last: RandomBrightness, RandomGrayscale, RandomInvert,
Solarization, RandomPosterization, RandomColorDegeneration, RandomSaturation, RandomHue, RandomColorJitter,
RandomSharpness, RandomGaussianBlur, AutoContrast, Equalization.

As in Keras, each acts on a batch (N, H, W, C) or one image (H, W, C), with one random draw per image (per
batch for the blur's sigma), and only in training, except AutoContrast, which acts in inference too. Draws are
made on the host from the layer's own Generator (``seed``) or nerve's one Generator, and moved to the device of
the images with ``backend.like``, so a seed gives the same images on the CPU and the GPU. The pixel maths
follows Keras's layers step by step (including their ranges: e.g. Solarization's lower bounds are not scaled
by 255, RandomSaturation's factor f becomes f / (1 - f)); gradients flow to the images wherever the maths is
differentiable (all but RandomPosterization and Equalization, which quantise).
"""
import numpy as np

from .. import backend, ops
from ..autograd.ops.image_extra import _filter2d
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .layer import InputSpec, Layer
from .preprocessing_image import RandomContrast
from .regularization import _Stochastic

__all__ = ["RandomBrightness", "RandomGrayscale", "RandomInvert", "Solarization", "RandomPosterization",
           "RandomColorDegeneration", "RandomSaturation", "RandomHue", "RandomColorJitter", "RandomSharpness",
           "RandomGaussianBlur", "AutoContrast", "Equalization"]

_EPSILON = 1e-7  # keras.config.epsilon()


def _number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _factor(value, bounds, who, arg="factor", single_from_zero=False):
    """Keras' factor: a number f -> (max(-|f|, low), |f|) (or (0, f) with ``single_from_zero``); a pair -> sorted;
    everything within ``bounds``."""
    lo, hi = bounds
    if _number(value) and lo <= value <= hi:
        f = abs(value)
        return (0, f) if single_from_zero else (max(-f, lo), f)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_number(v) and lo <= v <= hi for v in value):
        return tuple(sorted(value))
    raise ValueError(f"{who}: argument '{arg}' expected a number or a pair of numbers in [{lo}, {hi}], got "
                     f"{value!r}")


def _value_range(value, who, sort=True):
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_number(v) for v in value):
        raise ValueError(f"{who}: argument 'value_range' expected a pair of numbers (low, high), got {value!r}")
    return sorted(value) if sort else list(value)


def _rescale(x, src, dst):
    """(x - src_lo) / (src_hi - src_lo) * (dst_hi - dst_lo) + dst_lo (Keras' _transform_value_range)."""
    if tuple(src) == tuple(dst):
        return x
    return (x - src[0]) * ((dst[1] - dst[0]) / (src[1] - src[0])) + dst[0]


def _grayscale(x):
    """0.2989 R + 0.5870 G + 0.1140 B with a channel axis of 1 (ops.image.rgb_to_grayscale's weights), by
    elementwise ops so that it runs on device arrays too."""
    r, g, b = (ops.getitem(x, (Ellipsis, slice(i, i + 1))) for i in range(3))
    return r * 0.2989 + g * 0.5870 + b * 0.1140


class _ColorMixin:
    """The shared call: rank 3 or 4 (one image is a batch of one), integer pixels cast to the layer's float
    dtype, the layer's ``_transform(x)`` on the batch in training (always when ``ALWAYS``)."""
    ALWAYS = False

    def _setup(self, data_format):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{self._who()}: argument 'data_format' expected 'channels_last' (nerve is "
                             f"channels_last only), got {data_format!r}")
        self.data_format = "channels_last"
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def call(self, inputs, training=True):
        if not (training or self.ALWAYS):
            return inputs
        x = inputs if inputs.dtype.kind == "f" else ops.cast(inputs, self.dtype)
        single = x.ndim == 3
        y = self._transform(ops.expand_dims(x, 0) if single else x)
        return ops.squeeze(y, 0) if single else y

    def _draw(self, x, values, shape=(-1, 1, 1, 1)):
        """Host draws (numbers or booleans) on the device of the images, shaped to broadcast per image; numbers
        in the images' dtype."""
        values = np.asarray(values)
        return backend.like(x.data, values.astype(x.dtype if values.dtype != bool else bool).reshape(shape))

    def _rgb(self, x):
        if x.shape[-1] != 3:
            raise ValueError(f"{self._who()}: expected RGB images (3 channels), got shape {x.shape}")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg["data_format"] = self.data_format
        return cfg


class _RandomColor(_ColorMixin, _Stochastic):
    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self._setup(data_format)


@register("layers")
class RandomBrightness(_RandomColor):
    """y = clip(x + d (high - low), low, high), d ~ U(factor) per image (factor in [-1, 1]; a number f means
    (-f, f)); value_range = (low, high)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (-1, 1), self._who())
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        lo, hi = self.value_range
        delta = self._draw(x, self._rng().uniform(*self.factor, x.shape[0]) * (hi - lo))
        return ops.clip(x + delta, lo, hi)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomGrayscale(_RandomColor):
    """Each image becomes grayscale (0.2989 R + 0.5870 G + 0.1140 B in every channel) with probability
    ``factor``."""

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        if not _number(factor) or not 0 <= factor <= 1:
            raise ValueError(f"{self._who()}: argument 'factor' expected a number in [0, 1], got {factor!r}")
        self.factor = factor

    def _transform(self, x):
        if x.shape[-1] == 1:  # already grayscale (Keras returns a copy)
            return x
        self._rgb(x)
        apply = self._draw(x, self._rng().uniform(0, 1, x.shape[0]) < self.factor)
        return ops.where(apply, _grayscale(x), x)

    def get_config(self):
        cfg = super().get_config()
        cfg["factor"] = self.factor
        return cfg


@register("layers")
class RandomInvert(_RandomColor):
    """Each image becomes value_range[1] - x with probability p ~ U(factor) (factor in [0, 1]; a number f means
    (0, f))."""

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (0, 1), self._who())
        self.value_range = _value_range(value_range, self._who(), sort=False)

    def _transform(self, x):
        rng, n = self._rng(), x.shape[0]
        p = rng.uniform(*self.factor, n)
        invert = self._draw(x, rng.uniform(0, 1, n) < p)
        return ops.where(invert, self.value_range[1] - x, x)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class Solarization(_RandomColor):
    """On the [0, 255] scale: y = clip(x + a, 0, 255), then 255 - y where y >= t, with a ~ U(addition_factor[0],
    255 addition_factor[1]) and t ~ U(threshold_factor[0], 255 threshold_factor[1]) per image (Keras scales
    the upper bounds only); back to value_range. With the defaults every pixel is inverted."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.addition_factor = _factor(addition_factor, (0, 1), self._who(), "addition_factor", True)
        self.threshold_factor = _factor(threshold_factor, (0, 1), self._who(), "threshold_factor", True)
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        rng, n = self._rng(), x.shape[0]
        add = self._draw(x, rng.uniform(self.addition_factor[0], self.addition_factor[1] * 255, n))
        thr = self._draw(x, rng.uniform(self.threshold_factor[0], self.threshold_factor[1] * 255, n))
        y = ops.clip(_rescale(x, self.value_range, (0, 255)) + add, 0, 255)
        y = ops.where(y.data < thr, y, 255 - y)
        return _rescale(y, (0, 255), self.value_range)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"addition_factor": list(self.addition_factor), "threshold_factor": list(self.threshold_factor),
                    "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomPosterization(_RandomColor):
    """Keep the top b bits of each 8-bit value: on the [0, 255] scale y = (int(x) >> (8 - b)) << (8 - b), with
    b drawn per image from the integers in [factor[0], factor[1]) (b = factor[0] when they are equal; a number
    f means (1, f)). Quantisation: no gradient."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = tuple(int(v) for v in _factor(factor, (1, 8), self._who()))
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        n, (lo, hi) = x.shape[0], self.factor
        bits = self._rng().integers(lo, hi, n) if lo != hi else np.full(n, lo)
        shift = backend.like(x.data, (8 - bits).astype(np.uint8).reshape(-1, 1, 1, 1))
        xp = backend.get_array_module(x.data)
        q = xp.clip(_rescale(x.data, self.value_range, (0, 255)), 0, 255).astype(np.uint8)  # truncation, as Keras
        y = ((q >> shift) << shift).astype(x.dtype)
        return Tensor(_rescale(y, (0, 255), self.value_range).astype(x.dtype))

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomColorDegeneration(_RandomColor):
    """y = clip(x + f (gray(x) - x), value_range), f ~ U(factor) per image (factor in [-1, 1]; a number f means
    (-f, f): f = 1 is grayscale, negative f oversaturates)."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (-1, 1), self._who())
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        self._rgb(x)
        f = self._draw(x, self._rng().uniform(*self.factor, x.shape[0]))
        return ops.clip(x + f * (_grayscale(x) - x), *self.value_range)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomSaturation(_RandomColor):
    """In HSV: S <- clip(S f / (1 - f + eps), value_range), f ~ U(factor) per image (as Keras: factor in
    [-1, 1], a number f means (-f, f); f = 0.5 keeps the image, f <= 0 makes it grayscale)."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (-1, 1), self._who())
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        self._rgb(x)
        f = self._rng().uniform(*self.factor, x.shape[0])
        f = self._draw(x, f / (1 - f + _EPSILON), (-1, 1, 1))
        hsv = ops.image.rgb_to_hsv(x)
        s = ops.clip(ops.getitem(hsv, (Ellipsis, 1)) * f, *self.value_range)
        hsv = ops.stack([ops.getitem(hsv, (Ellipsis, 0)), s, ops.getitem(hsv, (Ellipsis, 2))], axis=-1)
        return ops.image.hsv_to_rgb(hsv)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomHue(_RandomColor):
    """Rotate the hue by +-f / 2 turns, f ~ U(factor) per image (factor in [0, 1], a number f means (0, f)) and
    the sign a fair coin: on the [0, 1] scale, H <- H + delta wrapped into [0, 1], RGB clipped to [0, 1]."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (0, 1), self._who())
        self.value_range = _value_range(value_range, self._who(), sort=False)

    def _transform(self, x):
        self._rgb(x)
        rng, n = self._rng(), x.shape[0]
        sign = np.where(rng.uniform(0, 1, n) > 0.5, -1.0, 1.0)
        delta = self._draw(x, sign * rng.uniform(*self.factor, n) * 0.5, (-1, 1, 1))
        hsv = ops.image.rgb_to_hsv(_rescale(x, self.value_range, (0, 1)))
        h = ops.getitem(hsv, (Ellipsis, 0)) + delta
        h = ops.where(h.data > 1, h - 1, h)
        h = ops.where(h.data < 0, h + 1, h)
        hsv = ops.stack([h, ops.getitem(hsv, (Ellipsis, 1)), ops.getitem(hsv, (Ellipsis, 2))], axis=-1)
        return _rescale(ops.clip(ops.image.hsv_to_rgb(hsv), 0, 1), (0, 1), self.value_range)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomColorJitter(_RandomColor):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue in this order, each present when its
    factor is given; they all draw from this layer's Generator."""

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None, saturation_factor=None,
                 hue_factor=None, seed=None, data_format=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.value_range = _value_range(value_range, self._who(), sort=False)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        steps = ((RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                 (RandomSaturation, saturation_factor), (RandomHue, hue_factor))
        self._steps = [cls(factor, value_range=self.value_range, name=f"{self.name}_{cls.__name__.lower()}")
                       for cls, factor in steps if factor is not None]
        for step in self._steps:
            step._gen = self._gen  # one stream for the four (nerve's Generator when seed is None)

    def _transform(self, x):
        for step in self._steps:
            x = step.call(x, training=True)
        return x

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"value_range": list(self.value_range), "brightness_factor": _json(self.brightness_factor),
                    "contrast_factor": _json(self.contrast_factor), "saturation_factor": _json(self.saturation_factor),
                    "hue_factor": _json(self.hue_factor)})
        return cfg


def _json(v):
    return list(v) if isinstance(v, tuple) else v


@register("layers")
class RandomSharpness(_RandomColor):
    """y = clip(x + (1 - 2f)(smooth(x) - x), value_range), f ~ U(factor) per image (factor in [0, 1], a number
    f means (0, f); f = 0.5 keeps the image), smooth = the 3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13
    with zero 'same' padding, per channel."""

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (0, 1), self._who())
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        f = self._draw(x, self._rng().uniform(*self.factor, x.shape[0]) * 2)
        ones = (1.0, 1.0, 1.0)
        smooth = _filter2d(x, ones, ones) * (1 / 13) + x * (4 / 13)  # box sum / 13 + the centre's extra 4/13
        return ops.clip(x + (1 - f) * (smooth - x), *self.value_range)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class RandomGaussianBlur(_RandomColor):
    """Each image is blurred (ops.image.gaussian_blur, kernel_size odd) with probability p ~ U(factor) (factor in
    [0, 1], a number f means (0, f)); the two sigmas are drawn once per batch from U(sigma) (in [0, 1]) + 1e-6;
    the result is clipped to value_range."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255), data_format=None, seed=None,
                 **kwargs):
        super().__init__(seed, data_format, **kwargs)
        self.factor = _factor(factor, (0, 1), self._who())
        ks = (kernel_size, kernel_size) if _number(kernel_size) else kernel_size
        if not isinstance(ks, (list, tuple)) or len(ks) != 2 or \
                not all(_number(k) and k >= 1 and int(k) == k and int(k) % 2 == 1 for k in ks):
            raise ValueError(f"{self._who()}: argument 'kernel_size' expected an odd positive int or a pair of them, "
                             f"got {kernel_size!r}")
        self.kernel_size = tuple(int(k) for k in ks)
        self.sigma = _factor(sigma, (0, 1), self._who(), "sigma")
        self.value_range = _value_range(value_range, self._who(), sort=False)

    def _transform(self, x):
        rng, n = self._rng(), x.shape[0]
        p = rng.uniform(*self.factor, n)
        apply = self._draw(x, rng.uniform(0, 1, n) < p)
        sigma = rng.uniform(*self.sigma, 2) + 1e-6
        y = ops.where(apply, ops.image.gaussian_blur(x, self.kernel_size, sigma), x)
        return ops.clip(y, *self.value_range)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "kernel_size": list(self.kernel_size), "sigma": list(self.sigma),
                    "value_range": list(self.value_range)})
        return cfg


@register("layers")
class AutoContrast(_ColorMixin, Layer):
    """Stretch each channel of each image to the full value_range: on the [0, 255] scale
    y = (x - min) 255 / (max - min) (a constant channel is kept). Acts in inference too, as Keras."""
    ALWAYS = True

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._setup(data_format)
        self.value_range = _value_range(value_range, self._who())

    def _transform(self, x):
        x255 = _rescale(x, self.value_range, (0, 255))
        lo, hi = ops.min(x255, axis=(1, 2), keepdims=True), ops.max(x255, axis=(1, 2), keepdims=True)
        flat = hi.data <= lo.data  # Keras's 0 / 0 leaves these channels as they were
        y = (x255 - lo) * (255 / ops.where(flat, x.dtype.type(1), hi - lo))
        y = ops.where(flat, x255, ops.clip(y, 0, 255))
        return _rescale(y, (0, 255), self.value_range)

    def get_config(self):
        cfg = super().get_config()
        cfg["value_range"] = list(self.value_range)
        return cfg


@register("layers")
class Equalization(_ColorMixin, Layer):
    """Histogram equalisation of each channel, as Keras (one histogram per channel over the whole batch): on the
    [0, 255] scale, bin = int(x (bins - 1) / 255), cdf = cumsum(histogram), lut = round(255 (cdf - cdf_min) /
    (cdf[-1] - cdf_min)), y = lut[int(x (bins - 1) / 255)]; a channel with one occupied bin is kept. A lookup:
    no gradient."""

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._setup(data_format)
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"{self._who()}: argument 'bins' expected a positive int, got {bins!r}")
        self.bins = int(bins)
        self.value_range = _value_range(value_range, self._who())

    def _equalize(self, ch, xp):
        nb = self.bins
        hist = xp.bincount(xp.clip((ch * (nb - 1) / 255).astype(np.int64), 0, nb - 1).ravel(), minlength=nb)
        cdf = xp.cumsum(hist)
        cdf_min = cdf[xp.argmax(cdf > 0)]
        den = cdf[-1] - cdf_min
        lut = xp.clip(xp.round((cdf - cdf_min) * 255 / xp.where(den == 0, 1, den)), 0, 255).astype(ch.dtype)
        out = xp.take(lut, xp.clip(ch / 255 * (nb - 1), 0, nb - 1).astype(np.int64))
        return xp.where(xp.count_nonzero(hist) <= 1, ch, out)

    def _transform(self, x):
        xp = backend.get_array_module(x.data)
        x255 = _rescale(x.data, self.value_range, (0, 255))
        y = xp.stack([self._equalize(x255[..., c], xp) for c in range(x.shape[-1])], axis=-1)
        return Tensor(_rescale(y, (0, 255), self.value_range).astype(x.dtype))

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"bins": self.bins, "value_range": list(self.value_range)})
        return cfg
