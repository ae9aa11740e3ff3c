"""3-D convolution, transposed convolution and pooling over (N, D, H, W, C), as ops/conv.py and ops/pool.py
do in 2-D: a strided-view im2col and one GEMM, no loop over voxels. Device-neutral (NumPy or CuPy).

With output position p = (p1, p2, p3), kernel offset i = (i1, i2, i3), strides s, dilations d (per axis):
  windows:  cols[n, p, i, c] = x_pad[n, p*s + i*d, c]       (a read-only strided view, copied once)
  conv:     y[n, p, f] = sum_{i,c} cols[n, p, i, c] W[i, c, f] + b[f]  =  cols (M, K) @ W (K, F)
  backward: dW = cols^T @ dy ;  db = sum over rows of dy ;  dcols = dy @ W^T ;  dx = col2im(dcols)
  col2im:   dx_pad[n, p*s + i*d, c] += dcols[n, p, i, c]    (the adjoint of windows: one strided add per i)
Transposed convolution is the adjoint of conv w.r.t. its input: forward col2im(x @ W^T), backward windows.
Max pooling sends each gradient to its window's first arg-max; average pooling spreads it evenly over the
window's real (unpadded) elements, as Keras/TensorFlow do with padding='same'.
"""
import itertools
import math

import numpy as np

from ...backend import as_strided, get_array_module
from ..function import Function
from .conv import _deconv_pad_before, _fit_pad, conv_out_len, deconv_len


def _out_and_pads(who, spatial, kernel, strides, dilation, padding, what="(dilated) kernel"):
    """Output size and TF-style (before, after) padding of each spatial axis."""
    out, pads = zip(*(conv_out_len(n, k, s, d, padding) for n, k, s, d in zip(spatial, kernel, strides, dilation)))
    if min(out) <= 0:
        raise ValueError(f"{who}: input spatial size {tuple(spatial)} is smaller than the {what} {tuple(kernel)} "
                         f"(dilation {tuple(dilation)}) with padding {padding!r}")
    return out, pads


def _pad(x, pads, value=0.0):
    if all(p == (0, 0) for p in pads):
        return x
    return get_array_module(x).pad(x, ((0, 0),) + tuple(pads) + ((0, 0),), constant_values=value)


def _crop(a, pads):
    """Inverse of _pad: drop the padded border of the spatial axes."""
    return a[(slice(None),) + tuple(slice(lo, n - hi) for n, (lo, hi) in zip(a.shape[1:-1], pads))]


def windows(xp_, k, s, d, o):
    """(N, O1, O2, O3, k1, k2, k3, C) read-only view of the sliding windows of a padded (N, D, H, W, C) array:
    element [n, p, i, c] = xp_[n, p*s + i*d, c]."""
    st = xp_.strides
    shape = (xp_.shape[0],) + tuple(o) + tuple(k) + (xp_.shape[-1],)
    strides = ((st[0],) + tuple(t * v for t, v in zip(st[1:-1], s)) + tuple(t * v for t, v in zip(st[1:-1], d))
               + (st[-1],))
    return as_strided(xp_, shape, strides)


def col2im(dcols, shape, k, s, d, o):
    """Adjoint of ``windows``: scatter-add (N, O1, O2, O3, k1, k2, k3, C) into a new zero array of ``shape``."""
    dx = get_array_module(dcols).zeros(shape, dcols.dtype)
    for i in itertools.product(*(range(v) for v in k)):
        dst = tuple(slice(a * dd, a * dd + (oo - 1) * ss + 1, ss) for a, dd, oo, ss in zip(i, d, o, s))
        dx[(slice(None),) + dst] += dcols[(slice(None),) * 4 + i]
    return dx


class Conv3DFn(Function):
    """y = act(conv3d(x, W) + b); x (N, D, H, W, C), W (kd, kh, kw, C, F), cross-correlation as Keras.
    ``activation`` 'linear' or 'relu' (fused: relu'(z) = [y > 0] is read back from the output)."""
    name = "conv3d"

    def forward(self, x, w, b=None, strides=(1, 1, 1), padding="valid", dilation=(1, 1, 1), activation="linear"):
        if x.ndim != 5 or w.ndim != 5 or x.shape[4] != w.shape[3]:
            raise ValueError(f"conv3d: expected x (N, D, H, W, C) and kernel (kd, kh, kw, C, F) with matching C, "
                             f"got {tuple(x.shape)} and {tuple(w.shape)}")
        if activation not in ("linear", "relu"):
            raise ValueError(f"conv3d: argument 'activation' expected 'linear' or 'relu', got {activation!r}")
        k, (c, f) = w.shape[:3], w.shape[3:]
        o, pads = _out_and_pads("conv3d", x.shape[1:4], k, strides, dilation, padding)
        xp_ = _pad(x, pads)
        cols = windows(xp_, k, strides, dilation, o).reshape(-1, math.prod(k) * c)  # im2col: the one copy
        y = cols @ w.reshape(-1, f)
        if b is not None:
            y += b
        if activation == "relu":
            get_array_module(y).maximum(y, 0, out=y)
            self.out = y
        self.act, self.geom = activation, (x.shape, xp_.shape, pads, k, strides, dilation, o)
        self.cols = cols if len(self.needs) > 1 and self.needs[1] else None
        self.w = w
        return y.reshape((x.shape[0],) + o + (f,))

    def backward(self, g):
        xshape, pshape, pads, k, s, d, o = self.geom
        w = self.w
        g2 = g.reshape(-1, w.shape[4])
        if self.act == "relu":
            g2 = g2 * (self.out > 0)
        gx = gw = gb = None
        if self.needs[1]:
            gw = (self.cols.T @ g2).reshape(w.shape)                       # dW = cols^T dy
        if len(self.needs) > 2 and self.needs[2]:
            gb = g2.sum(axis=0)                                            # db = sum_rows dy
        if self.needs[0]:
            dcols = (g2 @ w.reshape(-1, w.shape[4]).T).reshape((xshape[0],) + o + k + (xshape[4],))
            gx = _crop(col2im(dcols, pshape, k, s, d, o), pads)            # dx = col2im(dy W^T)
        return gx, gw, gb


class Conv3DTransposeFn(Function):
    """Transposed 3-D convolution, the adjoint of conv3d w.r.t. its input; W (kd, kh, kw, F, C) as Keras.
    Output size per axis: Keras ``deconv_output_length`` (ops/conv.py ``deconv_len``)."""
    name = "conv3d_transpose"

    def forward(self, x, w, b=None, strides=(1, 1, 1), padding="valid", output_padding=None, dilation=(1, 1, 1)):
        if x.ndim != 5 or w.ndim != 5 or x.shape[4] != w.shape[4]:
            raise ValueError(f"conv3d_transpose: expected x (N, D, H, W, C) and kernel (kd, kh, kw, F, C) with "
                             f"matching C, got {tuple(x.shape)} and {tuple(w.shape)}")
        n, spatial, c = x.shape[0], x.shape[1:4], x.shape[4]
        k, f = w.shape[:3], w.shape[3]
        op = output_padding or (None,) * 3
        o = tuple(deconv_len(*a, padding, q) for a, q in zip(zip(spatial, k, strides, dilation), op))
        # the equivalent forward conv maps o -> spatial: its padding before, then what fits after (ops/conv.py)
        pads = tuple(_fit_pad(oo, nn, kk, ss, dd, (_deconv_pad_before(kk, ss, dd, padding, q),))
                     for oo, nn, kk, ss, dd, q in zip(o, spatial, k, strides, dilation, op))
        pshape = (n,) + tuple(oo + lo + hi for oo, (lo, hi) in zip(o, pads)) + (f,)
        x2, w2 = x.reshape(-1, c), w.reshape(-1, c)                       # w2 rows: (i, f)
        dcols = (x2 @ w2.T).reshape((n,) + spatial + k + (f,))
        y = _crop(col2im(dcols, pshape, k, strides, dilation, spatial), pads)
        if b is not None:
            y = y + b
        self.geom = (pads, k, strides, dilation, spatial)
        self.x2, self.w = x2, w
        return get_array_module(y).ascontiguousarray(y)

    def backward(self, g):
        pads, k, s, d, spatial = self.geom
        w = self.w
        n, (f, c) = g.shape[0], w.shape[3:]
        cols = windows(_pad(g, pads), k, s, d, spatial).reshape(-1, math.prod(k) * f)
        gx = gw = gb = None
        if self.needs[0]:
            gx = (cols @ w.reshape(-1, c)).reshape((n,) + spatial + (c,))
        if self.needs[1]:
            gw = (cols.T @ self.x2).reshape(w.shape)
        if len(self.needs) > 2 and self.needs[2]:
            gb = g.sum(axis=(0, 1, 2, 3))
        return gx, gw, gb


def _pool_geometry(who, x, pool_size, strides, padding):
    if x.ndim != 5:
        raise ValueError(f"{who}: expected input (N, D, H, W, C), got shape {tuple(x.shape)}")
    k = tuple(pool_size)
    s = tuple(strides or k)
    o, pads = _out_and_pads(who, x.shape[1:4], k, s, (1, 1, 1), padding, what="pool_size")
    return k, s, o, pads


class MaxPool3DFn(Function):
    """y[n, p, c] = max_i x_pad[n, p*s + i, c] (padding with -inf never wins)."""
    name = "max_pool3d"

    def forward(self, x, pool_size=(2, 2, 2), strides=None, padding="valid"):
        k, s, o, pads = _pool_geometry("max_pool3d", x, pool_size, strides, padding)
        xp_ = _pad(x, pads, -np.inf)
        n, c = x.shape[0], x.shape[4]
        flat = windows(xp_, k, s, (1, 1, 1), o).transpose(0, 1, 2, 3, 7, 4, 5, 6).reshape((n,) + o + (c, -1))
        self.arg = flat.argmax(axis=-1)  # the first maximum of each window, in (i1, i2, i3) row-major order
        self.geom = (xp_.shape, pads, k, s, o)
        return flat.max(axis=-1)

    def backward(self, g):
        pshape, pads, k, s, o = self.geom
        xp = get_array_module(g)
        hit = self.arg[..., None] == xp.arange(math.prod(k))  # one-hot of the arg-max: (N, O, C, K)
        dcols = (g[..., None] * hit).reshape(g.shape + k).transpose(0, 1, 2, 3, 5, 6, 7, 4)
        return _crop(col2im(dcols, pshape, k, s, (1, 1, 1), o), pads), None, None, None


class AvgPool3DFn(Function):
    """y[n, p, c] = sum_i x_pad[n, p*s + i, c] / count[p], count = the window's real (unpadded) elements."""
    name = "avg_pool3d"

    def forward(self, x, pool_size=(2, 2, 2), strides=None, padding="valid"):
        k, s, o, pads = _pool_geometry("avg_pool3d", x, pool_size, strides, padding)
        xp_ = _pad(x, pads)
        total = windows(xp_, k, s, (1, 1, 1), o).sum(axis=(4, 5, 6))
        if padding == "same":  # count the real elements of each window: the same sum over padded ones
            ones = _pad(get_array_module(x).ones((1,) + x.shape[1:4] + (1,), x.dtype), pads)
            count = windows(ones, k, s, (1, 1, 1), o).sum(axis=(4, 5, 6))
        else:
            count = x.dtype.type(math.prod(k))  # a NumPy scalar: CuPy takes it, not a 0-d NumPy array
        self.geom, self.count, self.params = (xp_.shape, pads, k, s, o), count, (pool_size, strides, padding)
        return total / count

    def backward(self, g):
        pshape, pads, k, s, o = self.geom
        gc = (g / self.count)[:, :, :, :, None, None, None, :]  # dy / count, the same for each element i
        dcols = get_array_module(g).broadcast_to(gc, g.shape[:4] + k + g.shape[4:])
        return _crop(col2im(dcols, pshape, k, s, (1, 1, 1), o), pads), None, None, None
