"""Geometric and mixing image augmentation layers (Keras 3): CenterCrop, RandomCrop, RandomErasing, RandomShear,
RandomPerspective, RandomElasticTransform, MixUp, CutMix, RandAugment, Pipeline, MaxNumBoundingBoxes.

As in ``preprocessing_image``: the random layers act only when ``training`` is true (as in Keras, a direct call
without ``training`` outside fit / evaluate / predict augments: ``call``'s default is True) and draw on the host from
the layer's Generator (``seed``) or ``backend.rng()``; host arrays reach the device through ``backend.like``.
CenterCrop always acts; RandomCrop at inference takes the centred window of the target aspect ratio and
resizes it (Keras' documented behaviour), so its output shape never depends on ``training``.

Inputs are a batch (N, H, W, C), one image (H, W, C), or Keras' dict {"images", "labels",
"segmentation_masks"}: labels are mixed by MixUp / CutMix and passed through by the others, masks follow the
images' geometry (nearest-neighbour resampling). ``data_format='channels_first'`` is transposed to
channels_last around the computation. Warps read every output pixel from a source coordinate (r, c) through
``ResampleFn`` (y = sum_k w_k x[idx_k], a linear map of the image, so gradients reach it).
"""
import numpy as np

from .. import backend, ops
from ..autograd.ops.conv_extra import linear_interp_matrix
from ..saving.registry import deserialize, register, serialize
from .layer import Layer
from .preprocessing_image import ResampleFn
from .regularization import _Stochastic

__all__ = ["CenterCrop", "RandomCrop", "RandomErasing", "RandomShear", "RandomPerspective", "RandomElasticTransform",
           "MixUp", "CutMix", "RandAugment", "Pipeline", "MaxNumBoundingBoxes"]

FILL_MODES = ("constant", "nearest", "reflect", "wrap", "mirror")


# ----------------------------------------------------------------------- argument checks
def _is_number(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _unit_pair(value, arg, who, symmetric=False):
    """Keras' factors: a number f in [0, 1] -> (0, f), or (-f, f) when ``symmetric`` (whose pairs may then lie in
    [-1, 1], so that the config of (-f, f) round-trips); a pair in [0, 1], sorted."""
    lo = -1 if symmetric else 0
    if _is_number(value) and 0 <= value <= 1:
        return (-float(value) if symmetric else 0.0, float(value))
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) and lo <= v <= 1 for v in value):
        return tuple(sorted(float(v) for v in value))
    raise ValueError(f"{who}: argument '{arg}' expected a number in [0, 1] or a pair of numbers in [{lo}, 1], got "
                     f"{value!r}")


def _value_range(value, who):
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value) \
            and value[0] < value[1]:
        return (float(value[0]), float(value[1]))
    raise ValueError(f"{who}: argument 'value_range' expected a pair (low, high) with low < high, got {value!r}")


def _choice(value, allowed, arg, who):
    if value not in allowed:
        raise ValueError(f"{who}: argument '{arg}' expected one of {allowed}, got {value!r}")
    return value


def _size(value, arg, who):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who}: argument '{arg}' expected a positive int, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------- sampling
def _fold(i, n, mode):
    """Integer coordinates -> indices in [0, n): 'reflect' d c b a | a b c d (period 2n), 'mirror'
    c d c b | a b c d (period 2n - 2), 'wrap', else the nearest edge ('constant' masks outside reads)."""
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":
        m = np.mod(i, 2 * n)
        return np.where(m >= n, 2 * n - 1 - m, m)
    if mode == "mirror" and n > 1:
        m = np.mod(i, 2 * n - 2)
        return np.where(m >= n, 2 * n - 2 - m, m)
    return np.clip(i, 0, n - 1)


def _plan(h, w, r, c, interpolation, fill_mode):
    """ResampleFn's gather plan (idx, wts, fill) reading output pixel p of image n at the source (r, c)[n, p].

    Bilinear: the neighbours (r0 + i, c0 + j), r0 = floor(r), with weights (1 - |r - r_k|)(1 - |c - c_k|);
    nearest: the pixel floor(r + 1/2). A neighbour outside the image reads ``fill_mode``'s pixel, or under
    'constant' the fill value, whose weight goes to ``fill`` (Keras' map_coordinates pads with it)."""
    if interpolation == "nearest":
        corners = [(np.floor(r + 0.5), np.floor(c + 0.5), np.ones_like(r))]
    else:
        r0, c0 = np.floor(r), np.floor(c)
        tr, tc = r - r0, c - c0
        corners = [(r0 + i, c0 + j, wr * wc) for i, wr in ((0, 1 - tr), (1, tr)) for j, wc in ((0, 1 - tc), (1, tc))]
    idx, wts, fill = [], [], np.zeros(r.shape)
    for ri, ci, wk in corners:
        ri, ci = ri.astype(np.int64), ci.astype(np.int64)
        if fill_mode == "constant":
            out = (ri < 0) | (ri >= h) | (ci < 0) | (ci >= w)
            fill += wk * out
            wk = wk * ~out
        idx.append(_fold(ri, h, fill_mode) * w + _fold(ci, w, fill_mode))
        wts.append(wk)
    return np.stack(idx, -1), np.stack(wts, -1), fill


def _grid(h, w):
    """Row and column of every pixel, flattened row-major: (H*W,) each."""
    rr, cc = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    return rr.ravel(), cc.ravel()


def _resize(x, th, tw):
    """Bilinear resize with half-pixel centres (Keras image.resize without antialiasing): y = A_h x A_w^T."""
    _, h, w, _ = x.shape
    if (h, w) == (th, tw):
        return x
    ah = backend.like(x.data, linear_interp_matrix(h, th, x.dtype))
    aw = backend.like(x.data, linear_interp_matrix(w, tw, x.dtype))
    return ops.einsum("ph,nhwc,qw->npqc", ah, x, aw)


def _crop(x, top, left, ch, cw):
    return ops.getitem(x, (slice(None), slice(top, top + ch), slice(left, left + cw), slice(None)))


def _aspect_window(h, w, th, tw):
    """Keras smart_resize: the largest centred (top, left, height, width) window of aspect ratio th : tw."""
    ch = max(min(h, int(float(w * th) / tw)), 1)
    cw = max(min(w, int(float(h * tw) / th)), 1)
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


def _segments(rng, frac, length):
    """Per image a segment of frac * length at a uniform position: start = U(0, 1) (length - frac * length)."""
    size = frac * length
    start = rng.uniform(0, 1, len(frac)) * (length - size)
    return start, start + size


def _box_mask(h, w, x0, x1, y0, y1):
    """(N, H, W) bool: pixel (row, col) with x0 <= col < x1 and y0 <= row < y1 (Keras' box masks)."""
    rows, cols = np.arange(h), np.arange(w)
    in_r = (rows >= y0[:, None]) & (rows < y1[:, None])
    in_c = (cols >= x0[:, None]) & (cols < x1[:, None])
    return in_r[:, :, None] & in_c[:, None, :]


def _per_sample(ref, values):
    """(N,) host values as an (N, 1, ..., 1) array on ref's device, broadcasting against ref."""
    return backend.like(ref.data, np.asarray(values).reshape((-1,) + (1,) * (ref.ndim - 1)).astype(ref.dtype))


# ----------------------------------------------------------------------- base
class _ImageLayer(_Stochastic):
    """Dict / single image / channels_first handling around ``_augment(data, training)``, which gets a dict of
    channels_last batches (images and masks as floats) and returns it transformed."""
    KEYS = ("images", "labels", "segmentation_masks")

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.data_format = backend.image_data_format() if data_format is None else data_format
        _choice(self.data_format, ("channels_last", "channels_first"), "data_format", self._who())
        self.supports_masking = False

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def _augment(self, data, training):
        raise NotImplementedError

    def call(self, inputs, training=True):
        data = dict(inputs) if isinstance(inputs, dict) else {"images": inputs}
        if "bounding_boxes" in data:
            raise ValueError(f"{self._who()}: bounding boxes are not supported by nerve's augmentation layers "
                             f"(only MaxNumBoundingBoxes handles them)")
        unknown = sorted(set(data) - set(self.KEYS))
        if unknown or "images" not in data:
            raise ValueError(f"{self._who()}: a dict input takes the keys {self.KEYS} ('images' required), got "
                             f"{sorted(data)}")
        ndim = data["images"].ndim
        if ndim not in (3, 4):
            raise ValueError(f"{self._who()}: expected images of rank 3 (one image) or 4 (a batch), got shape "
                             f"{tuple(data['images'].shape)}")
        single, first = ndim == 3, self.data_format == "channels_first"
        for k, v in data.items():
            v = ops.convert_to_tensor(v)  # labels may come as lists
            v = ops.expand_dims(v, 0) if single else v
            if k != "labels":
                v = v if v.dtype.kind == "f" else ops.cast(v, self.dtype)
                v = ops.transpose(v, (0, 2, 3, 1)) if first else v
            data[k] = v
        data = self._augment(data, bool(training))
        for k, v in data.items():
            v = ops.transpose(v, (0, 3, 1, 2)) if first and k != "labels" else v
            data[k] = ops.squeeze(v, 0) if single else v
        return data if isinstance(inputs, dict) else data["images"]

    def get_config(self):
        cfg = super().get_config()
        cfg["data_format"] = self.data_format
        return cfg


# ----------------------------------------------------------------------- crops
class _Crop(_ImageLayer):
    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height, self.width = _size(height, "height", self._who()), _size(width, "width", self._who())

    def _window(self, h, w, training):
        raise NotImplementedError

    def _augment(self, data, training):
        _, h, w, _ = data["images"].shape
        window = self._window(h, w, training)
        for k in ("images", "segmentation_masks"):
            if k in data:
                data[k] = _resize(_crop(data[k], *window), self.height, self.width)
        return data

    def compute_output_shape(self, input_shape):
        s = list(input_shape)
        h_ax = len(s) - (2 if self.data_format == "channels_first" else 3)
        s[h_ax], s[h_ax + 1] = self.height, self.width
        return tuple(s)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"height": self.height, "width": self.width})
        return cfg


@register("layers")
class CenterCrop(_Crop):
    """The centred (height, width) window, top = (H - height) // 2; an image smaller than that is first cut to
    the largest centred window of the target aspect ratio, then resized (bilinear). Acts in training and
    inference."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(height, width, data_format=data_format, **kwargs)

    def _window(self, h, w, training):
        if h >= self.height and w >= self.width:
            return (h - self.height) // 2, (w - self.width) // 2, self.height, self.width
        return _aspect_window(h, w, self.height, self.width)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("seed")
        return cfg


@register("layers")
class RandomCrop(_Crop):
    """In training, a (height, width) window at a uniform position, the same for the whole batch (as Keras);
    otherwise (inference, or an image not larger than the target on both axes) the largest centred window of
    the target aspect ratio, resized to (height, width)."""

    def _window(self, h, w, training):
        if training and h > self.height and w > self.width:
            rng = self._rng()
            top = int(rng.uniform(0, h - self.height + 1))
            left = int(rng.uniform(0, w - self.width + 1))
            return top, left, self.height, self.width
        return _aspect_window(h, w, self.height, self.width)


# ----------------------------------------------------------------------- erasing
@register("layers")
class RandomErasing(_ImageLayer):
    """Random Erasing (Zhong et al. 2017): per image, with probability p ~ U(factor), a box whose sides are
    sqrt(U(scale)) W and sqrt(U(scale)) H (independent draws) at a uniform position is replaced by
    ``fill_value`` (a number or one per channel), or when it is None by Gaussian noise N(0, 1) * value_range[1];
    the fill is clipped to ``value_range``."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255), seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = self._who()
        self.factor = _unit_pair(factor, "factor", who)
        self.scale = _unit_pair(scale, "scale", who)
        if fill_value is not None and not _is_number(fill_value) and not (
                isinstance(fill_value, (list, tuple)) and len(fill_value) == 3 and all(map(_is_number, fill_value))):
            raise ValueError(f"{who}: argument 'fill_value' expected None, a number or 3 numbers (one per channel), "
                             f"got {fill_value!r}")
        self.fill_value = list(map(float, fill_value)) if isinstance(fill_value, (list, tuple)) else \
            None if fill_value is None else float(fill_value)
        self.value_range = _value_range(value_range, who)

    def _augment(self, data, training):
        if not training:
            return data
        x = data["images"]
        n, h, w, c = x.shape
        rng = self._rng()
        side = np.sqrt(rng.uniform(*self.scale, (n, 2)))  # patch width / W and height / H
        x0, x1 = _segments(rng, side[:, 0], w)
        y0, y1 = _segments(rng, side[:, 1], h)
        apply = rng.uniform(0, 1, n) < rng.uniform(*self.factor, n)  # erase with probability p ~ U(factor)
        mask = _box_mask(h, w, x0, x1, y0, y1) & apply[:, None, None]
        fill = rng.standard_normal((n, h, w, c)) * self.value_range[1] if self.fill_value is None else \
            np.asarray(self.fill_value, np.float64)  # a number or one per channel: broadcast by where
        fill = np.clip(fill, *self.value_range).astype(x.dtype)
        data["images"] = ops.where(backend.like(x.data, mask[..., None]), backend.like(x.data, fill), x)
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "scale": list(self.scale), "fill_value": self.fill_value,
                    "value_range": list(self.value_range)})
        return cfg


# ----------------------------------------------------------------------- warps
class _Warp(_ImageLayer):
    """Per image a source coordinate (r, c) for every output pixel (``_coords``, on the host), resampled by
    ResampleFn: images with ``interpolation``, segmentation masks with 'nearest'."""

    def __init__(self, interpolation="bilinear", fill_mode="constant", fill_value=0.0, seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = self._who()
        self.interpolation = _choice(interpolation, ("bilinear", "nearest"), "interpolation", who)
        self.fill_mode = _choice(fill_mode, FILL_MODES, "fill_mode", who)
        if not _is_number(fill_value):
            raise ValueError(f"{who}: argument 'fill_value' expected a number, got {fill_value!r}")
        self.fill_value = float(fill_value)

    def _coords(self, n, h, w):
        """(r, c), each (N, H*W): where output pixel p of image n reads its input; None for no change."""
        raise NotImplementedError

    def _augment(self, data, training):
        if not training:
            return data
        n, h, w, _ = data["images"].shape
        rc = self._coords(n, h, w)
        if rc is None:
            return data
        for k, interpolation in (("images", self.interpolation), ("segmentation_masks", "nearest")):
            if k in data:
                idx, wts, fill = _plan(h, w, *rc, interpolation, self.fill_mode)
                data[k] = ResampleFn.apply(data[k], idx, wts, fill, cval=self.fill_value, out_hw=(h, w))
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"interpolation": self.interpolation, "fill_value": self.fill_value})
        return cfg


@register("layers")
class RandomShear(_Warp):
    """Shear about the top-left corner (Keras' transform [1, sx, 0, sy, 1, 0, 0, 0]): output (row, col) reads
    input (row + sy col, col + sx row), with sx ~ U(x_factor), sy ~ U(y_factor) and both negated together with
    probability 1/2; a number f means U(-f, f)."""

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 data_format=None, seed=None, **kwargs):
        super().__init__(interpolation, fill_mode, fill_value, seed, data_format, **kwargs)
        self.x_factor = _unit_pair(x_factor, "x_factor", self._who(), symmetric=True)
        self.y_factor = _unit_pair(y_factor, "y_factor", self._who(), symmetric=True)

    def _coords(self, n, h, w):
        rng = self._rng()
        sign = np.where(rng.uniform(0, 1, (n, 1)) > 0.5, -1.0, 1.0)
        sy = rng.uniform(*self.y_factor, (n, 1)) * sign
        sx = rng.uniform(*self.x_factor, (n, 1)) * sign
        rr, cc = _grid(h, w)
        return rr + sy * cc, cc + sx * rr

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"x_factor": list(self.x_factor), "y_factor": list(self.y_factor), "fill_mode": self.fill_mode})
        return cfg


def _homography(src, dst):
    """The projective map dst -> src from 4 point pairs (N, 4, 2) given as (x, y): coefficients a (N, 8) with
    x_s = (a0 x + a1 y + a2) / (a6 x + a7 y + 1), y_s = (a3 x + a4 y + a5) / (a6 x + a7 y + 1); multiplying out
    the denominators gives 8 linear equations per image (Keras' compute_homography_matrix)."""
    x, y, xs, ys = dst[..., 0], dst[..., 1], src[..., 0], src[..., 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    eq_x = np.stack([x, y, one, zero, zero, zero, -xs * x, -xs * y], -1)
    eq_y = np.stack([zero, zero, zero, x, y, one, -ys * x, -ys * y], -1)
    a = np.concatenate([eq_x, eq_y], 1)  # (N, 8, 8)
    b = np.concatenate([xs, ys], 1)[..., None]
    return np.linalg.solve(a, b)[..., 0]


@register("layers")
class RandomPerspective(_Warp):
    """With probability p ~ U(factor) per image, a perspective warp: the image corners (x, y) move to
    (x, y) (1 + U(-scale/2, scale/2)) (so the top-left corner stays), and output pixels read the input through
    the homography that maps the moved corners back; outside reads give ``fill_value``."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0, seed=None,
                 data_format=None, **kwargs):
        super().__init__(interpolation, "constant", fill_value, seed, data_format, **kwargs)
        self.factor = _unit_pair(factor, "factor", self._who())
        if not _is_number(scale) or not 0 <= scale <= 1:
            raise ValueError(f"{self._who()}: argument 'scale' expected a number in [0, 1], got {scale!r}")
        self.scale = float(scale)

    def _coords(self, n, h, w):
        if min(h, w) < 2:  # the corners coincide: no homography
            return None
        rng = self._rng()
        apply = rng.uniform(0, 1, n) < rng.uniform(*self.factor, n)
        jitter = rng.uniform(-0.5 * self.scale, 0.5 * self.scale, (n, 4, 2))
        start = np.broadcast_to(np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64), (n, 4, 2))
        a = _homography(start, start + start * jitter)
        rr, cc = _grid(h, w)
        a = [a[:, i:i + 1] for i in range(8)]
        den = a[6] * cc + a[7] * rr + 1
        c = (a[0] * cc + a[1] * rr + a[2]) / den
        r = (a[3] * cc + a[4] * rr + a[5]) / den
        keep = ~apply[:, None]  # untouched images read their own pixels
        return np.where(keep, rr, r), np.where(keep, cc, c)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "scale": self.scale})
        return cfg


def _gaussian_matrix(n, sigma, k):
    """(n, n) matrix of a 'same' convolution with the normalised Gaussian of k (odd) taps and std sigma, zero
    padded: B[i, j] = g[j - i + k // 2]."""
    t = np.arange(k) - (k - 1) / 2
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    d = np.arange(n)[None, :] - np.arange(n)[:, None] + k // 2
    return np.where((d >= 0) & (d < k), g[np.clip(d, 0, k - 1)], 0.0)


@register("layers")
class RandomElasticTransform(_Warp):
    """Elastic distortion (Simard et al. 2003): with probability p ~ U(factor) per image, output (row, col)
    reads (row + alpha dy, col + alpha dx), where dx, dy are N(0, sigma^2) noise fields smoothed by a
    Gaussian of std sigma (int(6 sigma) | 1 taps), alpha = 0.1 f max(H, W), sigma = 0.05 f min(H, W) and
    f ~ U(scale) once per batch (Keras); the result is clipped to ``value_range``."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                 value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(interpolation, fill_mode, fill_value, seed, data_format, **kwargs)
        self.factor = _unit_pair(factor, "factor", self._who())
        self.scale = _unit_pair(scale, "scale", self._who())
        self.value_range = _value_range(value_range, self._who())

    def _coords(self, n, h, w):
        if self.scale[1] == 0 or self.factor[1] == 0:
            return None
        rng = self._rng()
        apply = rng.uniform(0, 1, n) < rng.uniform(*self.factor, n)
        f = rng.uniform(*self.scale)
        alpha, sigma = max(h, w) * 0.1 * f, min(h, w) * 0.05 * f
        k = int(6 * sigma) | 1
        d = rng.standard_normal((2, n, h, w)) * sigma
        if k > 1:  # separable blur: B_h d B_w^T
            d = np.einsum("ij,bnjk,lk->bnil", _gaussian_matrix(h, sigma, k), d, _gaussian_matrix(w, sigma, k))
        d = d.reshape(2, n, h * w) * (alpha * apply[:, None])
        rr, cc = _grid(h, w)
        return rr + d[1], cc + d[0]

    def _augment(self, data, training):
        data = super()._augment(data, training)
        if training and self.scale[1] and self.factor[1]:  # Keras clips the batch whenever it may transform
            data["images"] = ops.clip(data["images"], *self.value_range)
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"factor": list(self.factor), "scale": list(self.scale), "fill_mode": self.fill_mode,
                    "value_range": list(self.value_range)})
        return cfg


# ----------------------------------------------------------------------- mixing
def _mix(v, perm, lam):
    """lam v + (1 - lam) v[perm] per sample (labels as floats)."""
    v = v if v.dtype.kind == "f" else ops.cast(v, backend.floatx())
    other = ops.take(v, backend.like(v.data, perm), axis=0)
    return ops.add(ops.multiply(v, _per_sample(v, lam)), ops.multiply(other, _per_sample(v, 1.0 - lam)))


@register("layers")
class MixUp(_ImageLayer):
    """MixUp (Zhang et al. 2018): each sample i becomes lam_i x_i + (1 - lam_i) x_perm(i), lam_i ~ Beta(alpha,
    alpha) and perm a random permutation of the batch; labels (and masks) mix with the same lam_i."""

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not _is_number(alpha) or alpha <= 0:
            raise ValueError(f"{self._who()}: argument 'alpha' expected a positive number, got {alpha!r}")
        self.alpha = float(alpha)

    def _augment(self, data, training):
        if not training:
            return data
        n = data["images"].shape[0]
        rng = self._rng()
        perm = rng.permutation(n)
        lam = rng.beta(self.alpha, self.alpha, n)
        return {k: _mix(v, perm, lam) for k, v in data.items()}

    def get_config(self):
        cfg = super().get_config()
        cfg["alpha"] = self.alpha
        return cfg


@register("layers")
class CutMix(_ImageLayer):
    """CutMix (Yun et al. 2019): per image, a box of sides sqrt(1 - lam) W and sqrt(1 - lam) H at a uniform
    position is pasted from image perm(i), lam ~ Beta(a, a), a ~ U(factor) (+1e-6) once per batch; labels mix
    as k y_i + (1 - k) y_perm(i) with k the fraction of pixels left from image i (the box's exact pixel area)."""

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _unit_pair(factor, "factor", self._who())

    def _augment(self, data, training):
        if not training:
            return data
        n, h, w, _ = data["images"].shape
        rng = self._rng()
        a = rng.uniform(*self.factor) + 1e-6
        side = np.sqrt(1.0 - rng.beta(a, a, n))
        x0, x1 = _segments(rng, side, w)
        y0, y1 = _segments(rng, side, h)
        perm = rng.permutation(n)
        mask = _box_mask(h, w, x0, x1, y0, y1)
        keep = 1.0 - mask.mean(axis=(1, 2))
        for k, v in data.items():
            if k == "labels":
                data[k] = _mix(v, perm, keep)
            else:
                other = ops.take(v, backend.like(v.data, perm), axis=0)
                data[k] = ops.where(backend.like(v.data, mask[..., None]), other, v)
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg["factor"] = list(self.factor)
        return cfg


# ----------------------------------------------------------------------- policies and containers
@register("layers")
class RandAugment(_ImageLayer):
    """RandAugment (Cubuk et al. 2019): ``num_ops`` times, one of Keras' 11 augmentations, drawn uniformly, is
    applied to the whole batch at strength ``factor`` (the sub-layers are nerve's layers of the same names,
    each seeded with ``seed``)."""
    KEYS = ("images", "labels")
    OPS = ("RandomShear", "RandomTranslation", "RandomRotation", "RandomBrightness", "RandomColorDegeneration",
           "RandomContrast", "RandomSharpness", "RandomPosterization", "Solarization", "AutoContrast", "Equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = self._who()
        self.value_range = _value_range(value_range, who)
        if isinstance(num_ops, bool) or not isinstance(num_ops, (int, np.integer)) or num_ops < 0:
            raise ValueError(f"{who}: argument 'num_ops' expected a non-negative int, got {num_ops!r}")
        self.num_ops = int(num_ops)
        self.factor = _unit_pair(factor, "factor", who)
        self.interpolation = _choice(interpolation, ("bilinear", "nearest"), "interpolation", who)
        self._ops = self._make_ops()

    def _make_ops(self):
        from .. import layers
        missing = [name for name in self.OPS if not hasattr(layers, name)]
        if missing:
            raise NotImplementedError(f"{self._who()}: nerve lacks the Keras sub-augmentation layer(s) {missing} "
                                      f"that RandAugment draws from")
        f, vr, seed = self.factor, self.value_range, self.seed
        geo = {"interpolation": self.interpolation, "seed": seed}
        color = {"factor": f, "value_range": vr, "seed": seed}
        kwargs = {"RandomShear": {"x_factor": f, "y_factor": f, **geo},
                  "RandomTranslation": {"height_factor": f, "width_factor": f, **geo},
                  "RandomRotation": {"factor": f, **geo},
                  "RandomPosterization": dict(color, factor=max(1, int(8 * f[1]))),
                  "Solarization": {"addition_factor": f, "threshold_factor": f, "value_range": vr, "seed": seed},
                  "AutoContrast": {"value_range": vr}, "Equalization": {"value_range": vr}}
        return [getattr(layers, name)(**kwargs.get(name, color)) for name in self.OPS]

    def _augment(self, data, training):
        if not training:
            return data
        for i in self._rng().integers(0, len(self._ops), self.num_ops):
            data["images"] = self._ops[i](data["images"], training=True)
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"value_range": list(self.value_range), "num_ops": self.num_ops, "factor": list(self.factor),
                    "interpolation": self.interpolation})
        return cfg


@register("layers")
class Pipeline(Layer):
    """Applies ``layers`` in order (a plain layer, not a Model); ``training`` is passed to each that takes it."""

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        layers = list(layers)
        bad = [type(v).__name__ for v in layers if not isinstance(v, Layer)]
        if bad:
            raise TypeError(f"Pipeline '{self.name}': argument 'layers' expected a list of layers, got {bad}")
        self._pipeline_layers = layers
        for v in layers:  # tracked for weights and saving, as a list attribute would be
            if all(v is not t for t in self._tracked_layers):
                self._tracked_layers.append(v)

    @property
    def layers(self):
        return self._pipeline_layers

    def build(self, input_shape):
        for layer in self._pipeline_layers:
            layer._maybe_build(input_shape)
            input_shape = layer.compute_output_shape(input_shape)

    def call(self, inputs, training=True):
        for layer in self._pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg["layers"] = [serialize(v) for v in self._pipeline_layers]
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layers = config.pop("layers", None)
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"Pipeline.from_config: the config needs 'layers', a list of serialized layers, got "
                             f"{layers!r}")
        return cls([deserialize(v, kind="layers", custom_objects=custom_objects) for v in layers], **config)


@register("layers")
class MaxNumBoundingBoxes(Layer):
    """Pads (with ``fill_value``) or truncates a dict input's bounding_boxes {"boxes": (N, B, 4), "labels":
    (N, B)} to exactly ``max_number`` boxes per image; everything else passes through."""

    def __init__(self, max_number, fill_value=-1, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.max_number = _size(max_number, "max_number", f"MaxNumBoundingBoxes '{self.name}'")
        self.fill_value = int(fill_value)
        self.bounding_box_format, self.data_format = bounding_box_format, data_format

    def _fit(self, t, single):
        t = ops.expand_dims(t, 0) if single else t
        t = ops.getitem(t, (slice(None), slice(0, self.max_number)))
        pad = self.max_number - t.shape[1]
        if pad:
            t = ops.pad(t, [(0, 0), (0, pad)] + [(0, 0)] * (t.ndim - 2), constant_values=self.fill_value)
        return ops.squeeze(t, 0) if single else t

    def call(self, inputs):
        if not isinstance(inputs, dict) or "bounding_boxes" not in inputs:
            return inputs
        boxes = dict(inputs["bounding_boxes"])
        single = boxes["boxes"].ndim == 2
        boxes.update({k: self._fit(boxes[k], single) for k in ("boxes", "labels") if k in boxes})
        return dict(inputs, bounding_boxes=boxes)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"max_number": self.max_number, "fill_value": self.fill_value,
                    "bounding_box_format": self.bounding_box_format, "data_format": self.data_format})
        return cfg
