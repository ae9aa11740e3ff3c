"""AugMix and ContrastLimitedAdaptiveHistogramEqualization (Keras 3.15).

Both take what the other augmentation layers take (``image_augment._ImageLayer``): a batch (N, H, W, C), one
image (H, W, C) or a dict {"images", "labels"} (labels pass through), channels_last or channels_first.

- AugMix (Hendrycks et al. 2020, "AugMix: A Simple Data Processing Method to Improve Robustness and
  Uncertainty"), as Keras implements it: ``num_chains`` chains, each ``chain_depth`` steps of an operation drawn
  uniformly from the list plus "nothing", mixed with weights m ~ Dirichlet(alpha) and then with the original:
  y = clip(w x + (1 - w) sum_k m_k chain_k(x), value_range), w ~ Beta(alpha, alpha), one draw of m and w per
  batch. The operations are nerve's layers of Keras' names, all drawing from this layer's Generator. Acts in
  training only.
- CLAHE (Zuiderveld 1994, "Contrast Limited Adaptive Histogram Equalization", Graphics Gems IV): a clipped
  histogram equalisation per tile whose mappings are bilinearly interpolated between tile centres, following
  Keras' layer step by step. Acts in inference too, as Keras.
"""
import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .image_augment import _ImageLayer, _choice, _is_number, _unit_pair, _value_range

__all__ = ["AugMix", "ContrastLimitedAdaptiveHistogramEqualization"]


def _positive_int(value, arg, who):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: argument '{arg}' expected a positive int, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------------------------- AugMix
@register("layers")
class AugMix(_ImageLayer):
    """AugMix: see the module docstring. ``all_ops=False`` keeps the first 7 operations (the geometric ones,
    posterization, solarization, autocontrast, equalization), as Keras; the operations' strength is
    ``factor`` (a number f in [0, 1] means (0, f)); posterization keeps max(1, int(8 factor[1])) bits."""
    KEYS = ("images", "labels")
    OPS = ("RandomShear", "RandomTranslation", "RandomRotation", "RandomPosterization", "Solarization",
           "AutoContrast", "Equalization", "RandomBrightness", "RandomColorDegeneration", "RandomContrast",
           "RandomSharpness")  # Keras' AUGMENT_LAYERS_ALL, in its order

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3, alpha=1.0, all_ops=True,
                 interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        who = self._who()
        self.value_range = _value_range(value_range, who)
        self.num_chains = _positive_int(num_chains, "num_chains", who)
        self.chain_depth = _positive_int(chain_depth, "chain_depth", who)
        self.factor = _unit_pair(factor, "factor", who)
        if not _is_number(alpha) or alpha <= 0:
            raise ValueError(f"{who}: argument 'alpha' expected a positive number, got {alpha!r}")
        self.alpha = float(alpha)
        self.all_ops = bool(all_ops)
        self.interpolation = _choice(interpolation, ("bilinear", "nearest"), "interpolation", who)
        self._ops = self._make_ops()

    def _make_ops(self):
        from .. import layers
        names = self.OPS if self.all_ops else self.OPS[:7]
        missing = [n for n in names if not hasattr(layers, n)]
        if missing:
            raise NotImplementedError(f"{self._who()}: nerve lacks the Keras operation layer(s) {missing} that "
                                      f"AugMix draws from")
        f, vr = self.factor, self.value_range
        geo = {"interpolation": self.interpolation}
        color = {"factor": f, "value_range": vr}
        kwargs = {"RandomShear": {"x_factor": f, "y_factor": f, **geo},
                  "RandomTranslation": {"height_factor": f, "width_factor": f, **geo},
                  "RandomRotation": {"factor": f, **geo},
                  "RandomPosterization": dict(color, factor=max(1, int(8 * f[1]))),
                  "Solarization": {"addition_factor": f, "threshold_factor": f, "value_range": vr},
                  "AutoContrast": {"value_range": vr}, "Equalization": {"value_range": vr}}
        out = []
        for n in names:
            op = getattr(layers, n)(**kwargs.get(n, color), name=f"{self.name}_{n.lower()}")
            if hasattr(op, "_gen"):
                op._gen = self._gen  # one stream (nerve's Generator when seed is None)
            out.append(op)
        return out

    def _augment(self, data, training):
        if not training:
            return data
        x, rng, n_ops = data["images"], self._rng(), len(self._ops)
        mix = rng.dirichlet([self.alpha] * self.num_chains)  # chain weights
        w = float(rng.beta(self.alpha, self.alpha))  # weight of the original
        aug = None
        for k in range(self.num_chains):
            y = x
            for _ in range(self.chain_depth):
                i = int(rng.integers(0, n_ops + 1))  # n_ops: this step does nothing
                if i < n_ops:
                    y = self._ops[i](y, training=True)
            y = y * float(mix[k])
            aug = y if aug is None else aug + y
        data["images"] = ops.clip(x * w + aug * (1.0 - w), *self.value_range)
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"value_range": list(self.value_range), "num_chains": self.num_chains,
                    "chain_depth": self.chain_depth, "factor": list(self.factor), "alpha": self.alpha,
                    "all_ops": self.all_ops, "interpolation": self.interpolation})
        return cfg


# ----------------------------------------------------------------------------------------------- CLAHE
def _to_range(x, src, dst):
    """Keras' _transform_value_range in float32: (x - lo) / (hi - lo) * (dst_hi - dst_lo) + dst_lo."""
    if tuple(src) == tuple(dst):
        return x
    f = np.float32
    return (x - f(src[0])) / (f(src[1]) - f(src[0])) * (f(dst[1]) - f(dst[0])) + f(dst[0])


def _axis_weights(size, tile, grid):
    """Bilinear interpolation between tile centres along one axis: pixel p lies at t = (p - tile/2) / tile + 1 in
    the grid padded by one tile each side; neighbours floor(t), floor(t) + 1 (clipped), weight frac(t)."""
    t = (np.arange(size, dtype=np.float32) - np.float32(tile / 2)) / np.float32(tile) + np.float32(1)
    i0 = np.floor(t)
    return np.clip(i0, 0, grid + 1).astype(np.int64), np.clip(i0 + 1, 0, grid + 1).astype(np.int64), t - i0


def _clahe(x, grid, clip_limit, xp):
    """CLAHE of x (N, H, W, C), float32 on the [0, 255] scale, as Keras computes it."""
    n, h, w, c = x.shape
    gh, gw = grid
    th, tw = -(-h // gh), -(-w // gw)  # tile size: the image is padded (mirror) to a whole number of tiles
    if th * gh != h or tw * gw != w:
        x = xp.pad(x, ((0, 0), (0, th * gh - h), (0, tw * gw - w), (0, 0)), mode="symmetric")
    v = xp.clip(x, 0, 255).astype(np.int32)  # the 256 bins

    # histogram of every (image, tile row, tile column, channel)
    tiles = v.reshape(n, gh, th, gw, tw, c).transpose(0, 1, 3, 5, 2, 4).reshape(-1, th * tw)
    ids = tiles + backend.like(x, (np.arange(tiles.shape[0]) * 256)[:, None])
    hist = xp.bincount(ids.ravel(), minlength=tiles.shape[0] * 256).astype(np.float32).reshape(n, gh, gw, c, 256)

    # clip at clip_limit * (mean count per bin) and spread the excess evenly over the 256 bins (one pass)
    if clip_limit > 0:
        clipped = xp.minimum(hist, np.float32(clip_limit * th * tw / 256.0))
        hist = clipped + (hist - clipped).sum(-1, keepdims=True) / np.float32(256)

    # mapping of each tile: lut = 255 (cdf - cdf[0]) / (tile pixels - cdf[0]), within [0, 255]
    cdf = xp.cumsum(hist, -1)
    cdf0 = cdf[..., :1]
    den = np.float32(th * tw) - cdf0
    lut = xp.clip((cdf - cdf0) * np.float32(255) / xp.where(den == 0, np.float32(1), den), 0, 255)
    lut = xp.pad(lut, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")  # edge tiles extend outwards

    # every pixel: the bilinear blend of the mappings of the 4 nearest tile centres, at its own value
    r0, r1, wr = _axis_weights(th * gh, th, gh)
    c0, c1, wc = _axis_weights(tw * gw, tw, gw)
    b = backend.like(x, np.arange(n).reshape(-1, 1, 1, 1))
    ch = backend.like(x, np.arange(c).reshape(1, 1, 1, -1))
    r0, r1, c0, c1 = (backend.like(x, a.reshape(s)) for a, s in
                      ((r0, (1, -1, 1, 1)), (r1, (1, -1, 1, 1)), (c0, (1, 1, -1, 1)), (c1, (1, 1, -1, 1))))
    wr, wc = backend.like(x, wr.reshape(1, -1, 1, 1)), backend.like(x, wc.reshape(1, 1, -1, 1))
    top = lut[b, r0, c0, ch, v] * (1 - wc) + lut[b, r0, c1, ch, v] * wc
    bottom = lut[b, r1, c0, ch, v] * (1 - wc) + lut[b, r1, c1, ch, v] * wc
    return (top * (1 - wr) + bottom * wr)[:, :h, :w]


@register("layers")
class ContrastLimitedAdaptiveHistogramEqualization(_ImageLayer):
    """CLAHE (see the module docstring): the image is cut into ``tile_grid_size`` (rows, columns) tiles (padded
    by mirroring to whole tiles); each tile's 256-bin histogram per channel is clipped at clip_limit * pixels /
    256 (no clipping when clip_limit <= 0) with the excess spread evenly, and gives the mapping
    255 (cdf - cdf[0]) / (pixels - cdf[0]); a pixel takes the bilinear blend of the mappings of the 4 nearest
    tile centres. Computed in float32 on the [0, 255] scale; integer images come back in their dtype
    (truncated), as Keras. A lookup: no gradient. Acts in inference too."""
    KEYS = ("images", "labels")

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        who = self._who()
        self.value_range = _value_range(value_range, who)
        if not _is_number(clip_limit):
            raise ValueError(f"{who}: argument 'clip_limit' expected a number, got {clip_limit!r}")
        self.clip_limit = float(clip_limit)
        if not isinstance(tile_grid_size, (list, tuple)) or len(tile_grid_size) != 2:
            raise ValueError(f"{who}: argument 'tile_grid_size' expected a pair of positive ints (rows, columns), "
                             f"got {tile_grid_size!r}")
        self.tile_grid_size = tuple(_positive_int(g, "tile_grid_size", who) for g in tile_grid_size)

    def call(self, inputs, training=True):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        kind = np.dtype(getattr(images, "dtype", np.float32))
        out = super().call(inputs, training)
        if kind.kind not in "iu":
            return out
        if isinstance(out, dict):  # Keras casts back to the input's dtype
            return dict(out, images=ops.cast(out["images"], kind))
        return ops.cast(out, kind)

    def _augment(self, data, training):
        x = data["images"]
        xp = backend.get_array_module(x.data)
        x255 = _to_range(x.data.astype(np.float32), self.value_range, (0, 255))
        y = _to_range(_clahe(x255, self.tile_grid_size, self.clip_limit, xp), (0, 255), self.value_range)
        data["images"] = Tensor(y.astype(x.dtype))
        return data

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("seed")
        cfg.update({"value_range": list(self.value_range), "clip_limit": self.clip_limit,
                    "tile_grid_size": list(self.tile_grid_size)})
        return cfg
