"""Image augmentation in pure NumPy: affine resampling, ``ImageDataGenerator`` and its ``.flow`` iterator.

Geometry (Keras ``apply_affine_transform``): the 3x3 matrix M maps an OUTPUT pixel (row, col, 1) to the
INPUT coordinate it is read from (inverse mapping), M = offset @ (rotation @ shift @ shear @ zoom) @ reset,
where offset/reset move the origin to the image centre ((h - 1)/2, (w - 1)/2). Values between pixels are
read by bilinear interpolation (order=1) or the nearest pixel (order=0); coordinates outside the image
follow ``fill_mode``: 'constant' (cval), 'nearest' (edge pixel), 'reflect' (d c b a | a b c d | d c b a),
'wrap' (a b c d | a b c d). scipy is never needed.
"""
import math

import numpy as np

from .. import backend

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _fold(i, n, mode):
    """Integer coordinates i -> valid indices in [0, n) (and an 'inside' mask for 'constant')."""
    inside = (i >= 0) & (i < n)
    if mode == "nearest" or mode == "constant":
        return np.clip(i, 0, n - 1), inside
    if mode == "wrap":
        return np.mod(i, n), inside
    m = np.mod(i, 2 * n)  # reflect: period 2n, second half mirrored
    return np.where(m >= n, 2 * n - 1 - m, m), inside


def sampling_plan(in_hw, out_hw, matrices, interpolation="bilinear", fill_mode="constant"):
    """Gather plan of an inverse affine warp for a batch.

    matrices: (N, 3, 3) output (row, col, 1) -> input (row, col). Returns (idx, wts, fill) with idx
    (N, P, K) flat input indices (P = out_h * out_w, K = 4 bilinear corners or 1 nearest), wts (N, P, K)
    their weights (0 for corners outside the image under 'constant'), fill (N, P) the weight that goes to
    the constant fill value. Then y[n, p] = sum_k wts[n,p,k] x[n, idx[n,p,k]] + fill[n,p] * cval.
    """
    if fill_mode not in FILL_MODES:
        raise ValueError(f"image transform: argument 'fill_mode' expected one of {FILL_MODES}, got {fill_mode!r}")
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"image transform: argument 'interpolation' expected 'bilinear' or 'nearest', got "
                         f"{interpolation!r}")
    h, w = in_hw
    oh, ow = out_hw
    rr, cc = np.meshgrid(np.arange(oh, dtype=np.float64), np.arange(ow, dtype=np.float64), indexing="ij")
    grid = np.stack([rr.ravel(), cc.ravel(), np.ones(oh * ow)])  # (3, P)
    src = np.asarray(matrices, np.float64)[:, :2, :] @ grid  # (N, 2, P)
    r, c = src[:, 0], src[:, 1]
    # 'constant' as scipy.ndimage (Keras): a sample whose coordinate lies outside [0, n - 1] is cval, one
    # inside is interpolated from the (clamped) neighbours
    fold = "nearest" if fill_mode == "constant" else fill_mode
    if interpolation == "nearest":
        ri, _ = _fold(np.floor(r + 0.5).astype(np.int64), h, fold)
        ci, _ = _fold(np.floor(c + 0.5).astype(np.int64), w, fold)
        idx, wts = (ri * w + ci)[..., None], np.ones(ri.shape + (1,))
    else:
        r0, c0 = np.floor(r), np.floor(c)
        tr, tc = r - r0, c - c0
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        idx, wts = [], []
        for dr, wr in ((0, 1 - tr), (1, tr)):
            ri, _ = _fold(r0 + dr, h, fold)
            for dc, wc in ((0, 1 - tc), (1, tc)):
                ci, _ = _fold(c0 + dc, w, fold)
                idx.append(ri * w + ci)
                wts.append(wr * wc)
        idx, wts = np.stack(idx, -1), np.stack(wts, -1)
    if fill_mode != "constant":
        return idx, wts, np.zeros(wts.shape[:2])
    tol = 1e-6
    inside = (r > -tol) & (r < h - 1 + tol) & (c > -tol) & (c < w - 1 + tol)
    wts = wts * inside[..., None]
    return idx, wts, 1.0 - inside


def warp(images, matrices, out_hw=None, interpolation="bilinear", fill_mode="constant", cval=0.0):
    """Apply per-image inverse affine maps to a (N, H, W, C) batch (NumPy in, NumPy out)."""
    x = np.asarray(images)
    n, h, w, c = x.shape
    out_hw = out_hw or (h, w)
    idx, wts, fill = sampling_plan((h, w), out_hw, matrices, interpolation, fill_mode)
    x2 = x.reshape(n, h * w, c)
    p, k = idx.shape[1], idx.shape[2]
    vals = np.take_along_axis(x2, idx.reshape(n, p * k, 1), axis=1).reshape(n, p, k, c)
    dt = x.dtype if x.dtype.kind == "f" else np.float32
    y = np.einsum("npkc,npk->npc", vals.astype(dt, copy=False), wts.astype(dt))
    if fill_mode == "constant" and cval != 0:
        y += fill[..., None].astype(dt) * np.asarray(cval, dt)
    return y.reshape(n, out_hw[0], out_hw[1], c)


def centre(matrix, h, w):
    """Conjugate a matrix about the image centre: offset @ M @ reset (Keras transform_matrix_offset_center)."""
    oy, ox = h / 2 - 0.5, w / 2 - 0.5
    offset = np.array([[1, 0, oy], [0, 1, ox], [0, 0, 1]], np.float64)
    reset = np.array([[1, 0, -oy], [0, 1, -ox], [0, 0, 1]], np.float64)
    return offset @ matrix @ reset


def affine_matrix(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0):
    """rotation @ shift @ shear @ zoom (Keras ``apply_affine_transform``; theta and shear in degrees, tx the
    row shift and ty the column shift in pixels, zx/zy the row/column zoom: > 1 shows more of the image)."""
    m = np.eye(3)
    if theta:
        t = math.radians(theta)
        m = m @ np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])
    if tx or ty:
        m = m @ np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
    if shear:
        s = math.radians(shear)
        m = m @ np.array([[1, -math.sin(s), 0], [0, math.cos(s), 0], [0, 0, 1]])
    if zx != 1 or zy != 1:
        m = m @ np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])
    return m


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, fill_mode="nearest", cval=0.0, order=1):
    """One (H, W, C) image through ``affine_matrix`` about its centre (Keras function of the same name)."""
    x = np.asarray(x)
    h, w = x.shape[:2]
    m = centre(affine_matrix(theta, tx, ty, shear, zx, zy), h, w)
    return warp(x[None], m[None], interpolation="bilinear" if order else "nearest", fill_mode=fill_mode,
                cval=cval)[0]


def _range(value, arg, symmetric_around=0.0):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"ImageDataGenerator: argument '{arg}' expected a non-negative number, got {value!r}")
        return (symmetric_around - value, symmetric_around + value)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"ImageDataGenerator: argument '{arg}' expected a number or a pair (low, high), got "
                         f"{value!r}") from None
    return lo, hi


class ImageDataGenerator:
    """Random affine augmentation + rescaling of image batches (Keras ``ImageDataGenerator``, channels_last).

    Per image: theta ~ U(-rotation_range, rotation_range) degrees; row shift ~ U(-hs, hs) (times the
    height when hs < 1), column shift likewise; shear ~ U(-shear_range, shear_range) degrees; row and
    column zoom ~ U(1 - z, 1 + z) independently; flips with probability 1/2. Then x * rescale.
    """

    def __init__(self, rotation_range=0, width_shift_range=0.0, height_shift_range=0.0, shear_range=0.0,
                 zoom_range=0.0, horizontal_flip=False, vertical_flip=False, fill_mode="nearest", cval=0.0,
                 rescale=None, data_format=None, dtype=None, interpolation="bilinear"):
        if fill_mode not in FILL_MODES:
            raise ValueError(f"ImageDataGenerator: argument 'fill_mode' expected one of {FILL_MODES}, got "
                             f"{fill_mode!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"ImageDataGenerator: data_format {data_format!r} is not supported (channels_last only)")
        self.rotation_range = float(rotation_range)
        self.width_shift_range = _range(width_shift_range, "width_shift_range")
        self.height_shift_range = _range(height_shift_range, "height_shift_range")
        self.shear_range = float(shear_range)
        self.zoom_range = _range(zoom_range, "zoom_range", 1.0)
        self.horizontal_flip, self.vertical_flip = bool(horizontal_flip), bool(vertical_flip)
        self.fill_mode, self.cval = fill_mode, float(cval)
        self.rescale = rescale
        self.dtype = dtype or backend.floatx()
        self.interpolation = interpolation

    def get_random_transform(self, img_shape, rng=None):
        rng = rng if rng is not None else backend.rng()
        h, w = img_shape[:2]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0.0
        lo, hi = self.height_shift_range
        tx = rng.uniform(lo, hi) if hi > lo else 0.0
        tx = tx * h if abs(hi) < 1 and abs(lo) < 1 else tx
        lo, hi = self.width_shift_range
        ty = rng.uniform(lo, hi) if hi > lo else 0.0
        ty = ty * w if abs(hi) < 1 and abs(lo) < 1 else ty
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0.0
        zlo, zhi = self.zoom_range
        zx, zy = rng.uniform(zlo, zhi, 2) if (zlo, zhi) != (1.0, 1.0) else (1.0, 1.0)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": float(zx), "zy": float(zy),
                "flip_horizontal": self.horizontal_flip and rng.random() < 0.5,
                "flip_vertical": self.vertical_flip and rng.random() < 0.5}

    def _matrix(self, p, h, w):
        m = affine_matrix(p["theta"], p["tx"], p["ty"], p["shear"], p["zx"], p["zy"])
        m = centre(m, h, w)
        # flips after the warp: out(r, c) = warped(h-1-r, c) composes as m @ flip
        if p["flip_horizontal"]:
            m = m @ np.array([[1, 0, 0], [0, -1, w - 1], [0, 0, 1]], np.float64)
        if p["flip_vertical"]:
            m = m @ np.array([[-1, 0, h - 1], [0, 1, 0], [0, 0, 1]], np.float64)
        return m

    def standardize(self, x):
        if self.rescale:
            x = x * np.asarray(self.rescale, x.dtype)
        return x

    def augment_batch(self, x, rng=None, standardize=True):
        """Random transform + rescale of a (N, H, W, C) batch; the identity transform skips resampling."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator: expected images of shape (N, H, W, C), got {x.shape}")
        x = x.astype(self.dtype, copy=False)
        n, h, w, _ = x.shape
        mats = np.stack([self._matrix(self.get_random_transform((h, w), rng), h, w) for _ in range(n)])
        if not np.allclose(mats, np.eye(3)):
            x = warp(x, mats, interpolation=self.interpolation, fill_mode=self.fill_mode,
                     cval=self.cval).astype(self.dtype, copy=False)
        return self.standardize(x) if standardize else x

    def random_transform(self, x, seed=None):
        rng = np.random.default_rng(seed) if seed is not None else None
        return self.augment_batch(np.asarray(x)[None], rng, standardize=False)[0]

    def flow(self, x, y=None, batch_size=32, shuffle=True, seed=None, sample_weight=None):
        return NumpyArrayIterator(self, x, y, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                  sample_weight=sample_weight)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None,
                            interpolation="nearest"):
        """Batches of augmented images read from ``directory/<class name>/*`` (needs Pillow)."""
        from .image_dir import DirectoryIterator
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 interpolation=interpolation)


class BatchIterator:
    """PyDataset mechanics shared by NumpyArrayIterator and DirectoryIterator: ``n`` samples visited in
    ``index`` order (a fresh permutation per epoch when ``shuffle``), ``len`` batches, ``it[i]``,
    iteration, ``next(it)``, ``on_epoch_end``. Subclasses call ``_init_order`` and build batch i from
    ``_batch_indices(i)``."""

    def _init_order(self, n, seed):
        self.rng = np.random.default_rng(seed) if seed is not None else backend.rng()
        self.n = n
        self.index = self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        self._pos = 0

    def __len__(self):
        return -(-self.n // self.batch_size)

    def _batch_indices(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"{type(self).__name__}: batch index {i} out of range for {len(self)} batches")
        i %= len(self)
        return self.index[i * self.batch_size: (i + 1) * self.batch_size]

    def on_epoch_end(self):
        if self.shuffle:
            self.index = self.rng.permutation(self.n)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __next__(self):
        """Endless batches as a Keras generator (``next(it)``), reshuffling after each pass."""
        if self._pos >= len(self):
            self._pos = 0
            self.on_epoch_end()
        b = self[self._pos]
        self._pos += 1
        return b


class NumpyArrayIterator(BatchIterator):
    """Batches of augmented images (a Keras ``PyDataset``: ``len`` batches, ``it[i]``, iteration, and
    ``on_epoch_end`` reshuffles). Batch i is (x, y) or x alone (or (x, y, sample_weight))."""

    def __init__(self, generator, x, y=None, batch_size=32, shuffle=True, seed=None, sample_weight=None):
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.flow: argument 'x' expected images of shape (N, H, W, C), got "
                             f"shape {x.shape}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"ImageDataGenerator.flow: 'x' and 'y' must have the same length, got {len(x)} and "
                             f"{len(y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"ImageDataGenerator.flow: argument 'batch_size' expected a positive int, got "
                             f"{batch_size!r}")
        self.generator, self.x = generator, x
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
        self._init_order(len(x), seed)

    def __getitem__(self, i):
        sel = self._batch_indices(i)
        xb = self.generator.augment_batch(self.x[sel], self.rng)
        if self.y is None:
            return xb
        if self.sample_weight is not None:
            return xb, self.y[sel], self.sample_weight[sel]
        return xb, self.y[sel]

    @property
    def num_batches(self):
        return len(self)


def __getattr__(name):  # file helpers live in image_dir (Pillow is imported only when used)
    if name in ("load_img", "img_to_array", "array_to_img", "DirectoryIterator"):
        from . import image_dir
        return getattr(image_dir, name)
    raise AttributeError(f"module 'nerve.preprocessing.image' has no attribute {name!r}")
