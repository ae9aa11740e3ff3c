"""The rest of ``keras.ops.image`` (Keras 3.15 names and signatures, channels_last): rgb_to_hsv, hsv_to_rgb,
gaussian_blur, sobel_edges, extract_patches, extract_patches_3d, map_coordinates, affine_transform,
perspective_transform, elastic_transform, scale_and_translate, ssim.

How the gradient reaches the pixels:
- colour conversions: compositions of differentiable ops (maximum, where, clip, abs ...);
- filters (gaussian_blur, sobel_edges, ssim, scale_and_translate): a separable kernel is a banded matrix per
  spatial axis, y = A_h x A_w^T (einsum); the matrices are built on the host and moved to the device of x;
- resampling (map_coordinates and the affine / perspective / elastic transforms):
  y = sum_k w_k x[idx_k] + w_fill * fill_value, a ``take`` of the interpolation corners (gradient: the
  scatter-add of w_k dy). The plan (idx, w) carries no gradient: as in Keras, none flows to the coordinates or
  the transform;
- extract_patches: a reshape (non-overlapping patches) or a ``take`` of the zero-padded input.
"""
import itertools

import numpy as np

from ... import backend
from .. import ops as O
from ..tensor import Tensor

__all__ = ["rgb_to_hsv", "hsv_to_rgb", "gaussian_blur", "sobel_edges", "extract_patches", "extract_patches_3d",
           "map_coordinates", "affine_transform", "perspective_transform", "elastic_transform",
           "scale_and_translate", "ssim"]

INTERPOLATIONS = {"nearest": 0, "bilinear": 1}  # -> spline order
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


# ============================================================================ argument helpers
def _tensor(x):
    return O.convert_to_tensor(O._t_arr(x))


def _host(v, keep64=False):
    """A Python / NumPy / device value on the host, float32 (as Keras converts lists and numbers), or float64
    when ``keep64`` and the value already is float64 (the precision Keras computes a transform in)."""
    a = np.asarray(backend.to_numpy(O._data(v)) if not isinstance(v, (list, tuple)) else
                   [backend.to_numpy(O._data(a)) for a in v])
    return a.astype(np.float64 if keep64 and a.dtype == np.float64 and not isinstance(v, (list, tuple))
                    else np.float32)


def _channels_last(data_format, who):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' (nerve is channels_last only), "
                         f"got {data_format!r}")


def _batch(images, who, spatial=2, arg="images"):
    """images of rank spatial+1 (one) or spatial+2 (a batch) -> (batch tensor, was_single)."""
    x = _tensor(images)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{who}: argument '{arg}' expected rank {spatial + 1} (one image) or {spatial + 2} (a batch),"
                         f" got shape {x.shape}")
    single = x.ndim == spatial + 1
    return (O.expand_dims(x, 0) if single else x), single


def _as_float(x):
    return x if x.dtype.kind == "f" else O.cast(x, backend.floatx())


def _finish(y, dtype, single):
    """Drop the batch axis added for one image; integer inputs get integer outputs (rounded, as Keras)."""
    if np.dtype(dtype).kind in "iub":
        y = Tensor(backend.get_array_module(y.data).round(y.data).astype(dtype))
    return O.squeeze(y, 0) if single else y


def _ints(value, n, who, arg):
    v = (value,) * n if isinstance(value, (int, np.integer)) else \
        tuple(value) if isinstance(value, (list, tuple)) else ()
    if len(v) != n or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 1 for a in v):
        raise ValueError(f"{who}: argument '{arg}' expected a positive int or {n} positive ints, got {value!r}")
    return tuple(int(a) for a in v)


# ============================================================================ colour spaces
def _rgb(images, who):
    x = _tensor(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"{who}: argument 'images' expected rank 3 (one image) or 4 (a batch), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise ValueError(f"{who}: argument 'images' expected a float dtype, got {x.dtype}")
    if x.shape[-1] != 3:
        raise ValueError(f"{who}: argument 'images' expected 3 channels (last axis), got shape {x.shape}")
    return x, [O.getitem(x, (Ellipsis, i)) for i in range(3)]


def rgb_to_hsv(images, data_format=None):
    """RGB -> HSV, all in [0, 1] for RGB in [0, 1] (dm_pix, as Keras): V = max(R, G, B), S = (V - min) / V,
    H = (G - B) / 6d if V = R, (B - R) / 6d + 1/3 if V = G, (R - G) / 6d + 2/3 otherwise, wrapped to [0, 1)
    (d = V - min; H = 0 where d = 0, S = 0 where V = 0)."""
    _channels_last(data_format, "rgb_to_hsv")
    x, _ = _rgb(images, "rgb_to_hsv")
    one = x.dtype.type(1)
    x = O.where(abs(x.data) < np.finfo(x.dtype).eps, x.dtype.type(0), x)  # as Keras: tiny values are 0
    r, g, b = (O.getitem(x, (Ellipsis, i)) for i in range(3))
    v = O.maximum(O.maximum(r, g), b)
    d = v - O.minimum(O.minimum(r, g), b)
    vd, dd = v.data, d.data
    s = O.where(vd > 0, d / O.where(vd > 0, v, one), x.dtype.type(0))
    norm = O.divide(one, 6 * O.where(dd > 0, d, one))
    h = O.where(vd == g.data, norm * (b - r) + 2 / 6, norm * (r - g) + 4 / 6)
    h = O.where(vd == r.data, norm * (g - b), h)
    h = O.where(dd > 0, h, x.dtype.type(0)) + (h.data < 0).astype(x.dtype)
    return O.stack([h, s, v], axis=-1)


def hsv_to_rgb(images, data_format=None):
    """HSV -> RGB (dm_pix, as Keras): with h6 = 6 (H mod 1), each channel is V (1 - S + S f) where
    f_R = clip(|h6 - 3| - 1), f_G = clip(2 - |h6 - 2|), f_B = clip(2 - |h6 - 4|), clipped to [0, 1]."""
    _channels_last(data_format, "hsv_to_rgb")
    x, (h, s, v) = _rgb(images, "hsv_to_rgb")
    h6 = (h - backend.get_array_module(h.data).floor(h.data)) * 6  # H mod 1: floor is constant a.e.
    fr = O.clip(abs(h6 - 3) - 1, 0, 1)
    fg = O.clip(2 - abs(h6 - 2), 0, 1)
    fb = O.clip(2 - abs(h6 - 4), 0, 1)
    return O.stack([v * (1 - s + s * f) for f in (fr, fg, fb)], axis=-1)


# ============================================================================ separable filters
def _band(n_in, taps, before, n_out):
    """(n_out, n_in) matrix M with M[i, i - before + t] = taps[t]: M x is the correlation of x, zero-padded by
    ``before`` in front, with ``taps``."""
    m = np.zeros((n_out, n_in))
    i = np.arange(n_out)
    for t, tap in enumerate(taps):
        j = i - before + t
        ok = (j >= 0) & (j < n_in)
        m[i[ok], j[ok]] += tap
    return m


def _filter2d(x, taps_h, taps_w, valid=False):
    """Correlation of (N, H, W, C) with the kernel outer(taps_h, taps_w), per channel: zero 'same' padding
    ((k - 1) // 2 in front, as JAX/TF 'SAME') or 'valid'."""
    _, h, w, _ = x.shape
    mats = []
    for n_in, taps in ((h, taps_h), (w, taps_w)):
        k = len(taps)
        before, n_out = (0, n_in - k + 1) if valid else ((k - 1) // 2, n_in)
        mats.append(backend.like(x.data, _band(n_in, taps, before, n_out).astype(x.dtype)))
    return O.einsum("ph,nhwc,qw->npqc", mats[0], x, mats[1])


def _gaussian_taps(size, sigma):
    """g[t] = exp(-(t - (size - 1) / 2)^2 / (2 sigma^2)), normalised to sum 1."""
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-0.5 * (t / sigma) ** 2)
    return g / g.sum()


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Gaussian blur, zero 'same' padding, per channel. As every Keras backend builds the kernel,
    outer(g(kernel_size[1], sigma[1]), g(kernel_size[0], sigma[0])): the rows (height) take the second entries,
    the columns (width) the first."""
    who = "gaussian_blur"
    _channels_last(data_format, who)
    x, single = _batch(images, who)
    ks = _ints(kernel_size, 2, who, "kernel_size")
    sig = _host(sigma).reshape(-1)
    sig = np.repeat(sig, 2) if sig.size == 1 else sig
    if sig.size != 2 or not np.all(sig > 0):
        raise ValueError(f"{who}: argument 'sigma' expected one or two positive numbers, got {sigma!r}")
    y = _filter2d(_as_float(x), _gaussian_taps(ks[1], sig[1]), _gaussian_taps(ks[0], sig[0]))
    return _finish(y, x.dtype, single)


def sobel_edges(images, data_format=None):
    """Sobel gradients of a batch (N, H, W, C) -> (N, H, W, C, 2) holding [dy, dx] (zero padding, as the JAX and
    torch backends): dy correlates with [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dx with its transpose."""
    who = "sobel_edges"
    _channels_last(data_format, who)
    x = _tensor(images)
    if x.ndim != 4:
        raise ValueError(f"{who}: argument 'images' expected rank 4 (batch, height, width, channels), got shape "
                         f"{x.shape}")
    x = _as_float(x)
    diff, smooth = (-1.0, 0.0, 1.0), (1.0, 2.0, 1.0)
    return O.stack([_filter2d(x, diff, smooth), _filter2d(x, smooth, diff)], axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """Structural similarity (Wang et al. 2004), as Keras: Gaussian-weighted local means mu, variances s and
    covariance s12 ('valid' windows of filter_size), SSIM map = (2 mu1 mu2 + c1)(2 s12 + c2) /
    ((mu1^2 + mu2^2 + c1)(s1 + s2 + c2)) with c_i = (k_i max_val)^2, averaged over the map and the channels:
    one value per image (a scalar for one image). Differentiable in both images."""
    who = "ssim"
    _channels_last(data_format, who)
    a, single = _batch(image1, who, arg="image1")
    b, _ = _batch(image2, who, arg="image2")
    if a.shape != b.shape:
        raise ValueError(f"{who}: arguments 'image1' and 'image2' expected the same shape, got {a.shape} and "
                         f"{b.shape}")
    if min(a.shape[1:3]) < filter_size:
        raise ValueError(f"{who}: argument 'filter_size' ({filter_size}) is larger than the images "
                         f"({a.shape[1]}x{a.shape[2]})")
    a, b = _as_float(a), _as_float(b)
    g = _gaussian_taps(int(filter_size), float(filter_sigma))
    blur = (lambda t: _filter2d(t, g, g, valid=True))
    mu1, mu2 = blur(a), blur(b)
    s1, s2, s12 = blur(a * a) - mu1 * mu1, blur(b * b) - mu2 * mu2, blur(a * b) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    smap = (2 * mu1 * mu2 + c1) * (2 * s12 + c2) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s1 + s2 + c2))
    out = O.mean(smap, axis=(1, 2, 3))
    return O.squeeze(out, 0) if single else out


# ============================================================================ patches
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of size (ph, pw) (or (pd, ph, pw): extract_patches_3d) as feature vectors: output
    (N, out_h, out_w, ph * pw * C), each patch flattened in (row, column, channel) order (Keras' conv with an
    identity kernel). strides default to size (non-overlapping)."""
    if not isinstance(size, (int, np.integer)):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"extract_patches: argument 'size' expected an int or a tuple, got {size!r} of type "
                            f"{type(size).__name__}")
        if len(size) not in (2, 3):
            raise ValueError(f"extract_patches: argument 'size' expected a tuple of length 2 or 3, got {size!r}")
        if len(size) == 3:
            return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    return _patches(images, size, strides or size, dilation_rate, padding, data_format, 2, "extract_patches")


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """3-D patches of (D, H, W, C) volumes: output (N, out_d, out_h, out_w, pd * ph * pw * C)."""
    return _patches(volumes, size, size if strides is None else strides, dilation_rate, padding, data_format, 3,
                    "extract_patches_3d")


def _patches(images, size, strides, dilation, padding, data_format, nsp, who):
    _channels_last(data_format, who)
    x, single = _batch(images, who, nsp, arg="images" if nsp == 2 else "volumes")
    k, s, d = (_ints(v, nsp, who, a) for v, a in ((size, "size"), (strides, "strides"), (dilation, "dilation_rate")))
    if padding not in ("valid", "same"):
        raise ValueError(f"{who}: argument 'padding' expected 'valid' or 'same', got {padding!r}")
    sp, c = x.shape[1:-1], x.shape[-1]
    span = [(kk - 1) * dd + 1 for kk, dd in zip(k, d)]  # extent of one dilated patch
    if padding == "same":  # TF/JAX 'SAME': out = ceil(n / s), the padding split with the extra one behind
        out = [-(-n // ss) for n, ss in zip(sp, s)]
        tot = [max((o - 1) * ss + e - n, 0) for o, ss, e, n in zip(out, s, span, sp)]
        x = O.pad(x, [(0, 0)] + [(t // 2, t - t // 2) for t in tot] + [(0, 0)])
        sp = x.shape[1:-1]
    else:
        out = [(n - e) // ss + 1 for n, e, ss in zip(sp, span, s)]
        if min(out) < 1:
            raise ValueError(f"{who}: patches of size {k} (dilation {d}) do not fit inputs of spatial shape "
                             f"{tuple(sp)} with padding='valid'")
    n = x.shape[0]
    if d == (1,) * nsp and s == k:  # non-overlapping: crop, split every axis into (out, k), move the k's last
        x = O.getitem(x, (slice(None),) + tuple(slice(0, o * kk) for o, kk in zip(out, k)))
        x = O.reshape(x, (n,) + tuple(v for o, kk in zip(out, k) for v in (o, kk)) + (c,))
        perm = (0,) + tuple(range(1, 2 * nsp, 2)) + tuple(range(2, 2 * nsp + 1, 2)) + (2 * nsp + 1,)
        return _squeeze(O.reshape(O.transpose(x, perm), (n, *out, -1)), single)
    # general: flat spatial index of (output position o, tap t) = sum_axis (o s + t d) * stride_axis
    strides_flat = np.cumprod((1,) + tuple(sp[::-1]))[:-1][::-1]
    idx = 0
    for ax in range(nsp):
        pos = np.arange(out[ax])[:, None] * s[ax] + np.arange(k[ax])[None, :] * d[ax]
        shape = [1] * (2 * nsp)
        shape[ax], shape[nsp + ax] = out[ax], k[ax]
        idx = idx + pos.reshape(shape) * strides_flat[ax]
    flat = O.reshape(x, (n, -1, c))
    y = O.take(flat, backend.like(x.data, idx.astype(np.int64)), axis=1)  # (N, *out, *k, C)
    return _squeeze(O.reshape(y, (n, *out, -1)), single)


def _squeeze(y, single):
    return O.squeeze(y, 0) if single else y


# ============================================================================ resampling
def _fold(i, n, mode, xp):
    """Integer indices brought back into [0, n) (Keras' index fixers); 'constant' clamps (the weight of an
    outside corner goes to the fill value)."""
    if mode in ("constant", "nearest"):
        return xp.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if n == 1:
        return xp.zeros_like(i)
    if mode == "mirror":  # (c d c b | a b c d | c b a b): the triangular wave |(i + s) mod 2s - s|, s = n - 1
        s = n - 1
        return xp.abs((i + s) % (2 * s) - s)
    return (_fold(2 * i + 1, 2 * n + 1, "mirror", xp) - 1) // 2  # reflect (d c b a | a b c d | d c b a)


def _plan(coords, sizes, order, mode):
    """Interpolation plan at ``coords`` (one array per axis, all of shape S) in an array of shape ``sizes``:
    idx (K, *S) flat indices, w (K, *S) weights, fill (*S) the weight of fill_value (K = 2^axes for order 1).
    Per axis (Keras' map_coordinates): order 0 -> round(c) (half to even), weight 1; order 1 -> floor(c) and
    floor(c) + 1 with weights 1 - f and f (f = c - floor(c)). Under 'constant' a corner outside the array has
    its weight moved to the fill value."""
    xp = backend.get_array_module(coords[0])
    per_axis = []
    for c, n in zip(coords, sizes):
        if order == 0:
            nodes = [((c if c.dtype.kind in "iu" else xp.round(c)).astype(np.int64), None)]
        else:
            c = c.astype(np.float64) if c.dtype.kind != "f" else c
            lo = xp.floor(c)
            f = c - lo
            nodes = [(lo.astype(np.int64), 1 - f), (lo.astype(np.int64) + 1, f)]
        per_axis.append([(_fold(i, n, mode, xp), w, (i >= 0) & (i < n) if mode == "constant" else None)
                         for i, w in nodes])
    strides = np.cumprod((1,) + tuple(sizes[::-1]))[:-1][::-1]
    idx, wts, fill = [], [], xp.zeros(coords[0].shape)
    for corner in itertools.product(*per_axis):
        idx.append(sum(int(st) * i for (i, _, _), st in zip(corner, strides)))
        w = xp.ones(coords[0].shape)
        for _, wa, _ in corner:
            w = w if wa is None else w * wa
        for _, _, ok in corner:
            if ok is not None:
                fill = fill + w * ~ok
                w = w * ok
        wts.append(w)
    return xp.stack(idx), xp.stack(wts), fill


def _on(ref, a):
    """Array ``a`` where the array ``ref`` is (host <-> device)."""
    return backend.to_numpy(a) if type(ref) is np.ndarray else backend.like(ref, a)


def _sample(x2, plan, fill_value, out_shape):
    """y[s, c] = sum_k w[k, s] x2[idx[k, s], c] + fill[s] * fill_value for x2 (M, C): a take of the corners, so
    the gradient is the scatter-add of w dy."""
    idx, wts, fill = (_on(x2.data, a) for a in plan)
    vals = O.take(x2, idx, axis=0)  # (K, *S, C)
    y = O.sum(vals * wts.astype(x2.dtype)[..., None], axis=0)
    if fill_value:
        y = y + (fill.astype(x2.dtype) * x2.dtype.type(fill_value))[..., None]
    return O.reshape(y, out_shape)


def _check_resample(who, order, fill_mode):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"{who}: argument 'fill_mode' expected one of {FILL_MODES}, got {fill_mode!r}")
    if order not in (0, 1):
        raise ValueError(f"{who}: argument 'order' expected 0 (nearest) or 1 (linear), got {order!r}")


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """inputs sampled at ``coordinates`` (shape (inputs.ndim, ...)): nearest (order=0) or linear (order=1)
    interpolation, outside points by fill_mode ('constant', 'nearest', 'wrap', 'mirror', 'reflect'), as Keras
    (JAX's map_coordinates: each outside corner of a 'constant' interpolation reads fill_value). The gradient
    flows to ``inputs`` (none to the coordinates)."""
    who = "map_coordinates"
    _check_resample(who, order, fill_mode)
    x = _tensor(inputs)
    if isinstance(coordinates, (list, tuple)):
        coords = [_as_arr(c) for c in coordinates]
    else:
        c = _as_arr(coordinates)
        coords = [c[i] for i in range(c.shape[0])] if c.ndim >= 1 else []
    if len(coords) != x.ndim:
        raise ValueError(f"{who}: argument 'coordinates' expected a leading dimension equal to the rank of "
                         f"'inputs' ({x.ndim}), got {len(coords)}")
    if not coords or coords[0].ndim < 1 or any(c.shape != coords[0].shape for c in coords):
        raise ValueError(f"{who}: argument 'coordinates' expected rank >= 2, (rank of inputs, ...) of one shape")
    xf = _as_float(x)
    y = _sample(O.reshape(xf, (-1, 1)), _plan(coords, x.shape, order, fill_mode), fill_value, coords[0].shape)
    return _finish(y, x.dtype, False)


def _as_arr(v):
    a = O._data(O._t(v))
    return a if backend.is_array(a) else np.asarray(a)


def _warp(x, rows, cols, order, fill_mode, fill_value):
    """A batch (N, H, W, C) sampled at input coordinates rows, cols (N, H', W') -> (N, H', W', C)."""
    n, h, w, c = x.shape
    idx, wts, fill = _plan([rows, cols], (h, w), order, fill_mode)
    idx = idx + (np.arange(n) * h * w)[:, None, None]  # image n starts at row n h w of the (N H W, C) view
    return _sample(O.reshape(x, (n * h * w, c)), (idx, wts, fill), fill_value, (n,) + rows.shape[1:] + (c,))


def _projective(t, h, w):
    """Input coordinates of every output pixel for transforms t (N, 8) = [a0, a1, a2, b0, b1, b2, c0, c1]:
    (x, y) -> ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1 (x: column, y: row)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(t.dtype)
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i, None, None] for i in range(8))
    k = c0 * xx + c1 * yy + t.dtype.type(1)
    return (b0 * xx + b1 * yy + b2) / k, (a0 * xx + a1 * yy + a2) / k  # rows, cols


def _transform_images(images, t, interpolation, fill_mode, fill_value, who):
    x, single = _batch(images, who)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{who}: argument 'interpolation' expected one of {tuple(INTERPOLATIONS)}, got "
                         f"{interpolation!r}")
    _check_resample(who, 0, fill_mode)
    n, h, w, _ = x.shape
    if t.shape[0] not in (1, n):
        raise ValueError(f"{who}: {t.shape[0]} transforms for a batch of {n} images (expected 1 or {n})")
    rows, cols = _projective(np.broadcast_to(t, (n, 8)), h, w)
    y = _warp(_as_float(x), rows, cols, INTERPOLATIONS[interpolation], fill_mode, fill_value)
    return _finish(y, x.dtype, single)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Warp images by ``transform`` (8 numbers, or (N, 8)) mapping each output point (x, y) to the input point
    ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1 (the TensorFlow projective
    semantics; with c0 = c1 = 0, as usual, all Keras backends agree). Gradient to the images."""
    who = "affine_transform"
    _channels_last(data_format, who)
    t = _host(transform, keep64=True)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"{who}: argument 'transform' expected shape (8,) or (batch, 8), got {t.shape}")
    return _transform_images(images, t.reshape(-1, 8), interpolation, fill_mode, fill_value, who)


def _homography(start, end):
    """The 8 projective coefficients mapping each end point (output) to its start point (input): per point the
    two rows [ex, ey, 1, 0, 0, 0, -sx ex, -sx ey] . a = sx and [0, 0, 0, ex, ey, 1, -sy ex, -sy ey] . a = sy."""
    rows, rhs = [], []
    for p in range(4):
        (sx, sy), (ex, ey) = start[:, p].T, end[:, p].T
        one, zero = np.ones_like(ex), np.zeros_like(ex)
        rows += [np.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1),
                 np.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1)]
        rhs += [sx, sy]
    return np.linalg.solve(np.stack(rows, 1), np.stack(rhs, 1)[..., None])[..., 0]


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Warp so that the 4 ``start_points`` (x, y) of the input land on the 4 ``end_points`` of the output
    ((4, 2) or (N, 4, 2)); outside points read fill_value. Gradient to the images."""
    who = "perspective_transform"
    _channels_last(data_format, who)
    start, end = _host(start_points, keep64=True), _host(end_points, keep64=True)
    for arg, p in (("start_points", start), ("end_points", end)):
        if p.ndim not in (2, 3) or p.shape[-2:] != (4, 2):
            raise ValueError(f"{who}: argument '{arg}' expected shape (4, 2) or (batch, 4, 2), got {p.shape}")
    if start.shape != end.shape:
        raise ValueError(f"{who}: 'start_points' and 'end_points' expected the same shape, got {start.shape} and "
                         f"{end.shape}")
    t = _homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))
    return _transform_images(images, t, interpolation, "constant", fill_value, who)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0,
                      seed=None, data_format=None):
    """Elastic deformation (Simard et al. 2003, as Keras): displacement fields dx, dy ~ N(0, 1) sigma per pixel,
    smoothed by a Gaussian blur (kernel int(6 sigma) | 1, std sigma), and each output pixel (y, x) reads the
    input at (y + alpha dy, x + alpha dx). ``seed``: None (nerve's Generator), an int or a SeedGenerator; the
    draws are made on the host. Gradient to the images."""
    from ...random import _gen
    who = "elastic_transform"
    _channels_last(data_format, who)
    x, single = _batch(images, who)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{who}: argument 'interpolation' expected one of {tuple(INTERPOLATIONS)}, got "
                         f"{interpolation!r}")
    _check_resample(who, 0, fill_mode)
    alpha, sigma = float(_host(alpha)), float(_host(sigma))
    if sigma <= 0:
        raise ValueError(f"{who}: argument 'sigma' expected a positive number, got {sigma}")
    n, h, w, _ = x.shape
    rng = _gen(seed, who)
    dx = rng.standard_normal((n, h, w)) * sigma
    dy = rng.standard_normal((n, h, w)) * sigma
    g = _gaussian_taps(int(6 * sigma) | 1, sigma)
    bh, bw = _band(h, g, (len(g) - 1) // 2, h), _band(w, g, (len(g) - 1) // 2, w)
    dx, dy = (np.einsum("ph,nhw,qw->npq", bh, f, bw) for f in (dx, dy))  # zero-padded 'same' blur
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    y = _warp(_as_float(x), yy + alpha * dy, xx + alpha * dx, INTERPOLATIONS[interpolation], fill_mode, fill_value)
    return _finish(y, x.dtype, single)


# ============================================================================ scale_and_translate
def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x):
    """Keys' cubic kernel (a = -0.5): 1.5|x|^3 - 2.5|x|^2 + 1 on [0, 1), -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2 on
    [1, 2), 0 beyond."""
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius):
    """r sin(pi x) sin(pi x / r) / (pi x)^2 on [0, r], 1 near 0."""
    def kernel(x):
        with np.errstate(all="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi * np.pi * x * x)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))
    return kernel


_METHODS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle, "triangle": _triangle,
            "cubic": _keys_cubic, "bicubic": _keys_cubic, "tricubic": _keys_cubic,
            "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def _scale_weights(m, n, scale, translation, kernel, antialias):
    """(m, n) resampling weights of one axis (as jax.image.scale_and_translate): output sample j sits at input
    position f_j = (j + 0.5 - translation) / scale - 0.5; w[i, j] = k(|f_j - i| / ks), ks = max(1 / scale, 1)
    when antialiasing, normalised per output; 0 when f_j lies outside [-0.5, m - 0.5]."""
    inv = np.float32(1) / scale  # float32 positions, as Keras computes them (the boundary test below is exact)
    ks = max(inv, np.float32(1)) if antialias else np.float32(1)
    f = (np.arange(n, dtype=np.float32) + np.float32(0.5)) * inv - translation * inv - np.float32(0.5)
    wts = kernel(np.abs(f[None, :] - np.arange(m, dtype=np.float32)[:, None]) / ks)
    tot = wts.sum(0, keepdims=True)
    wts = np.where(np.abs(tot) > 1000.0 * np.finfo(np.float32).eps, wts / np.where(tot != 0, tot, 1), 0.0)
    return np.where(((f >= -0.5) & (f <= m - 0.5))[None, :], wts, 0.0)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resample ``images`` to ``output_shape``: along each axis spatial_dims[i] an input point x maps to
    x * scale[i] + translation[i] (half-pixel centres), with the 'linear', 'cubic' (Keys), 'lanczos3' or
    'lanczos5' kernel, widened by 1 / scale when antialiasing a downscale. A linear map of the images, applied
    one axis at a time (einsum with a host-built weight matrix): gradient to the images."""
    who = "scale_and_translate"
    if method not in _METHODS:
        raise ValueError(f"{who}: argument 'method' expected one of {tuple(_METHODS)}, got {method!r}")
    x = _tensor(images)
    out_shape = tuple(int(v) for v in output_shape)
    dims = [int(d) % x.ndim for d in spatial_dims]
    scale, translation = _host(scale).reshape(-1), _host(translation).reshape(-1)
    if len(out_shape) != x.ndim or scale.size != len(dims) or translation.size != len(dims):
        raise ValueError(f"{who}: expected len(output_shape) == images.ndim ({x.ndim}) and one scale and "
                         f"translation per spatial dim ({len(dims)}), got {len(out_shape)}, {scale.size}, "
                         f"{translation.size}")
    if any(out_shape[i] != x.shape[i] for i in range(x.ndim) if i not in dims):
        raise ValueError(f"{who}: argument 'output_shape' {out_shape} differs from the input shape {x.shape} "
                         f"outside spatial_dims {tuple(dims)}")
    y = _as_float(x)
    letters = "abcdefghijklmnopqrstuvwxy"[:x.ndim]
    for d, sc, tr in zip(dims, scale, translation):
        wm = _scale_weights(x.shape[d], out_shape[d], sc, tr, _METHODS[method], antialias).astype(y.dtype)
        y = O.einsum(f"{letters},{letters[d]}z->{letters.replace(letters[d], 'z')}", y, backend.like(y.data, wm))
    if x.dtype.kind in "iu":  # as Keras: rounded and clipped to the input's range
        xp = backend.get_array_module(y.data)
        y = Tensor(xp.clip(xp.round(y.data), x.data.min(), x.data.max()).astype(x.dtype))
    return y
