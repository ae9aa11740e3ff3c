"""Image preprocessing and augmentation layers (Keras 3), channels_last:
Rescaling, Resizing, RandomFlip, RandomRotation, RandomTranslation, RandomZoom, RandomContrast.

The Random* layers act only when ``training`` is true (in inference they are the identity); as in Keras, a
direct call without ``training`` outside fit / evaluate / predict augments (``call``'s default is True). Their random
draws come from ``backend.rng()``, or from the layer's own Generator when it is given ``seed``. Geometric
layers build one inverse affine map per image (output pixel -> input coordinate, see
``nerve.preprocessing.image``) and resample through ``ResampleFn``, a linear map of the input, so gradients
flow back to the image (y = sum_k w_k x[idx_k]; dx = scatter-add of w_k dy).
"""
import numpy as np

from .. import backend, ops
from ..autograd.function import Function
from ..autograd.ops.shape import _scatter_add
from ..autograd.ops.conv_extra import linear_interp_matrix
from ..preprocessing.image import FILL_MODES, affine_matrix, centre, sampling_plan
from ..saving.registry import register
from .layer import InputSpec, Layer
from .regularization import _Stochastic


class ResampleFn(Function):
    """y[n, p, c] = sum_k wts[n, p, k] x[n, idx[n, p, k], c] + fill[n, p] * cval  (x viewed as (N, H*W, C))."""
    name = "resample"

    def forward(self, x, idx, wts, fill, cval=0.0, out_hw=None):
        n, h, w, c = x.shape
        p, k = idx.shape[1:]
        x2 = x.reshape(n, h * w, c)
        idx, wts, fill = (backend.like(x, a) for a in (idx, wts, fill))  # the sampling plan, made on the host
        vals = np.take_along_axis(x2, idx.reshape(n, p * k, 1), axis=1).reshape(n, p, k, c)
        wts = wts.astype(x.dtype, copy=False)
        y = np.einsum("npkc,npk->npc", vals, wts)
        if cval:
            y += fill[..., None].astype(x.dtype) * x.dtype.type(cval)
        self.xshape, self.idx, self.wts = x.shape, idx, wts
        return y.reshape(n, out_hw[0], out_hw[1], c)

    def backward(self, g):
        n, h, w, c = self.xshape
        p, k = self.idx.shape[1:]
        contrib = g.reshape(n, p, 1, c) * self.wts[..., None]  # (N, P, K, C)
        xp = backend.get_array_module(g)
        flat = (self.idx + (xp.arange(n) * h * w)[:, None, None]).ravel()
        gx = xp.zeros((n * h * w, c), g.dtype)
        _scatter_add(xp, gx, flat, contrib.reshape(-1, c))
        return gx.reshape(self.xshape), None, None, None


def _factor_pair(value, arg, who, lo_bound=None):
    """Keras factor: a number f -> (-f, f); a pair (low, high) as given."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        out = (-abs(float(value)), abs(float(value)))
    else:
        try:
            out = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            out = ()
        if len(out) != 2 or out[0] > out[1]:
            raise ValueError(f"{who}: argument '{arg}' expected a number or a pair (low, high) with low <= high, "
                             f"got {value!r}")
    if lo_bound is not None and out[0] < lo_bound:
        raise ValueError(f"{who}: argument '{arg}' must be >= {lo_bound}, got {value!r}")
    return out


class _RandomGeometric(_Stochastic):
    """Shared part of the affine augmentation layers: per-image matrices -> ResampleFn."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{who}: argument 'fill_mode' expected one of {FILL_MODES}, got {fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{who}: argument 'interpolation' expected 'bilinear' or 'nearest', got "
                             f"{interpolation!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{who}: data_format {data_format!r} is not supported (channels_last only)")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)
        self.supports_masking = False
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def _matrices(self, n, h, w):
        raise NotImplementedError

    def call(self, inputs, training=True):
        if not training:
            return inputs
        single = inputs.ndim == 3
        x = ops.expand_dims(inputs, 0) if single else inputs
        n, h, w, _ = x.shape
        mats = np.stack([centre(m, h, w) for m in self._matrices(n, h, w)])
        idx, wts, fill = sampling_plan((h, w), (h, w), mats, self.interpolation, self.fill_mode)
        y = ResampleFn.apply(x, idx, wts, fill, cval=self.fill_value, out_hw=(h, w))
        return ops.squeeze(y, 0) if single else y

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                    "fill_value": self.fill_value})
        return cfg


@register("layers")
class RandomRotation(_RandomGeometric):
    """Rotate each image by factor * 2 pi radians, factor ~ U(low, high); positive = counter-clockwise."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor_pair(factor, "factor", f"RandomRotation '{self.name}'")

    def _matrices(self, n, h, w):
        angles = self._rng().uniform(self.factor[0], self.factor[1], n) * 360.0
        # affine_matrix(theta) rotates clockwise on screen (row axis down); counter-clockwise is -theta
        return [affine_matrix(theta=-a) for a in angles]

    def get_config(self):
        cfg = super().get_config()
        cfg["factor"] = list(self.factor)
        return cfg


@register("layers")
class RandomTranslation(_RandomGeometric):
    """Shift each image by U(height_factor) * H rows (positive = down) and U(width_factor) * W columns
    (positive = right)."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        who = f"RandomTranslation '{self.name}'"
        self.height_factor = _factor_pair(height_factor, "height_factor", who)
        self.width_factor = _factor_pair(width_factor, "width_factor", who)

    def _matrices(self, n, h, w):
        rng = self._rng()
        dy = rng.uniform(*self.height_factor, n) * h
        dx = rng.uniform(*self.width_factor, n) * w
        return [affine_matrix(tx=-a, ty=-b) for a, b in zip(dy, dx)]  # out(r, c) = in(r - dy, c - dx)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"height_factor": list(self.height_factor), "width_factor": list(self.width_factor)})
        return cfg


@register("layers")
class RandomZoom(_RandomGeometric):
    """Zoom each image: rows scaled by 1 + U(height_factor) about the centre (positive = zoom out, the image
    looks smaller); columns by 1 + U(width_factor), or by the row factor when width_factor is None."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        who = f"RandomZoom '{self.name}'"
        self.height_factor = _factor_pair(height_factor, "height_factor", who, lo_bound=-1.0)
        self.width_factor = None if width_factor is None else \
            _factor_pair(width_factor, "width_factor", who, lo_bound=-1.0)

    def _matrices(self, n, h, w):
        rng = self._rng()
        zh = 1.0 + rng.uniform(*self.height_factor, n)
        zw = zh if self.width_factor is None else 1.0 + rng.uniform(*self.width_factor, n)
        return [affine_matrix(zx=a, zy=b) for a, b in zip(zh, zw)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"height_factor": list(self.height_factor),
                    "width_factor": None if self.width_factor is None else list(self.width_factor)})
        return cfg


@register("layers")
class RandomFlip(_Stochastic):
    """Flip each image left-right ('horizontal'), up-down ('vertical') or both, each with probability 1/2."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip '{self.name}': argument 'mode' expected one of {self.MODES}, got {mode!r}")
        self.mode = mode
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        single = inputs.ndim == 3
        x = ops.expand_dims(inputs, 0) if single else inputs
        n = x.shape[0]
        rng = self._rng()
        for axis, on in ((2, "horizontal" in self.mode), (1, "vertical" in self.mode)):
            if on:
                flip = backend.like(x.data, (rng.random(n) < 0.5).reshape(n, 1, 1, 1))
                rev = (slice(None),) * axis + (slice(None, None, -1),)
                x = ops.where(flip, ops.getitem(x, rev), x)
        return ops.squeeze(x, 0) if single else x

    def get_config(self):
        cfg = super().get_config()
        cfg["mode"] = self.mode
        return cfg


@register("layers")
class RandomContrast(_Stochastic):
    """Per image and channel: y = (x - mean) * a + mean, a ~ U(1 - lower, 1 + upper), clipped to value_range."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        who = f"RandomContrast '{self.name}'"
        if isinstance(factor, (int, float, np.integer, np.floating)) and not isinstance(factor, bool):
            factor = (factor, factor)
        try:
            self.factor = tuple(float(v) for v in factor)
            ok = len(self.factor) == 2 and min(self.factor) >= 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{who}: argument 'factor' expected a non-negative number or a pair (lower, upper), "
                             f"got {factor!r}")
        if self.factor[0] > 1:
            raise ValueError(f"{who}: argument 'factor' lower bound must be in [0, 1], got {factor!r}")
        self.value_range = tuple(float(v) for v in value_range)
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        single = inputs.ndim == 3
        x = ops.expand_dims(inputs, 0) if single else inputs
        a = backend.like(x.data, self._rng().uniform(1 - self.factor[0], 1 + self.factor[1],
                                                     (x.shape[0], 1, 1, 1)).astype(x.dtype))
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        y = ops.clip(ops.add(ops.multiply(ops.subtract(x, mean), a), mean), *self.value_range)
        return ops.squeeze(y, 0) if single else y

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "value_range": list(self.value_range)})
        return cfg


@register("layers")
class Rescaling(Layer):
    """y = x * scale + offset (e.g. scale=1/255 maps pixels to [0, 1]); active in training and inference."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self.supports_masking = True

    def call(self, inputs):
        dt = inputs.dtype if inputs.dtype.kind == "f" else np.dtype(self.dtype)
        x = ops.cast(inputs, dt) if inputs.dtype != dt else inputs
        scale, offset = backend.as_array(self.scale, dt), backend.as_array(self.offset, dt)
        if scale.ndim == 0:  # NumPy scalars: CuPy takes them, not 0-d NumPy arrays; per-channel arrays move over
            scale, offset = scale[()], offset[()] if offset.ndim == 0 else backend.like(x.data, offset)
        else:
            scale, offset = backend.like(x.data, scale), backend.like(x.data, offset)
        return ops.add(ops.multiply(x, scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        as_json = (lambda v: np.asarray(v).tolist())
        cfg.update({"scale": as_json(self.scale), "offset": as_json(self.offset)})
        return cfg


@register("layers")
class Resizing(Layer):
    """Resize images to (height, width): 'bilinear' (half-pixel centres, as Keras without antialiasing) or
    'nearest'; ``crop_to_aspect_ratio`` first takes the largest centred crop of the target aspect ratio."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        who = f"Resizing '{self.name}'"
        for arg, v in (("height", height), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{who}: argument '{arg}' expected a positive int, got {v!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{who}: argument 'interpolation' expected 'bilinear' or 'nearest', got "
                             f"{interpolation!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{who}: data_format {data_format!r} is not supported (channels_last only)")
        self.height, self.width = int(height), int(width)
        self.interpolation, self.crop_to_aspect_ratio = interpolation, bool(crop_to_aspect_ratio)
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def call(self, inputs):
        single = inputs.ndim == 3
        x = ops.expand_dims(inputs, 0) if single else inputs
        if x.dtype.kind != "f":
            x = ops.cast(x, self.dtype)
        _, h, w, _ = x.shape
        if self.crop_to_aspect_ratio:
            ch = min(h, int(round(w * self.height / self.width)))
            cw = min(w, int(round(h * self.width / self.height)))
            t, l = (h - ch) // 2, (w - cw) // 2
            x = ops.getitem(x, (slice(None), slice(t, t + ch), slice(l, l + cw), slice(None)))
            h, w = ch, cw
        if self.interpolation == "nearest":  # source index floor((i + 0.5) * n_in / n_out)
            ri = np.minimum(((np.arange(self.height) + 0.5) * h / self.height).astype(int), h - 1)
            ci = np.minimum(((np.arange(self.width) + 0.5) * w / self.width).astype(int), w - 1)
            ri, ci = backend.like(x.data, ri), backend.like(x.data, ci)
            y = ops.take(ops.take(x, ri, axis=1), ci, axis=2)
        else:
            ah = backend.like(x.data, linear_interp_matrix(h, self.height, x.dtype))
            aw = backend.like(x.data, linear_interp_matrix(w, self.width, x.dtype))
            y = ops.einsum("ph,nhwc,qw->npqc", ah, x, aw)
        return ops.squeeze(y, 0) if single else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"height": self.height, "width": self.width, "interpolation": self.interpolation,
                    "crop_to_aspect_ratio": self.crop_to_aspect_ratio})
        return cfg

