"""Pooling over NHWC windows (strided views, no loop over pixels; seed-002 §6.14).

Max pooling routes each output gradient to the (first) arg-max of its window; average pooling spreads
it evenly over the window's valid (unpadded) elements, as Keras/TensorFlow do.
"""
import numpy as np

from ...backend import get_array_module
from ..function import Function
from . import chains, gpu
from .conv import Conv2DFn, _kernels, col2im, conv_out_len, windows


def _geometry(name, x, pool_size, strides, padding):
    """Window sizes, strides, output sizes and TF-style padding of a 2-D pooling over NHWC ``x``."""
    if x.ndim != 4:
        raise ValueError(f"{name}: expected input (N, H, W, C), got shape {tuple(x.shape)}")
    kh, kw = pool_size
    sh, sw = strides or pool_size
    n, h, w, c = x.shape
    oh, ph = conv_out_len(h, kh, sh, 1, padding)
    ow, pw = conv_out_len(w, kw, sw, 1, padding)
    if oh <= 0 or ow <= 0:
        raise ValueError(f"{name}: input spatial size {(h, w)} is smaller than pool_size {(kh, kw)}")
    return n, h, w, c, kh, kw, sh, sw, oh, ow, ph, pw


class MaxPool2DFn(Function):
    name = "max_pool2d"

    def forward(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        n, h, w, c, kh, kw, sh, sw, oh, ow, ph, pw = _geometry("max_pool2d", x, pool_size, strides, padding)
        self.geom = (x.shape, ph, pw, kh, kw, sh, sw, oh, ow)
        K = _kernels(x) if padding == "valid" and (kh, kw) == (sh, sw) and kh * kw < 256 else None
        if K is not None:  # compiled: one pass, the index of the first maximum of each window (ops/jit.py)
            out = np.empty((n, oh, ow, c), x.dtype)
            arg = self.arg = np.empty((n, oh, ow, c), np.uint8)
            chains.each(n, lambda lo, hi, serial: (K.serial if serial else K).maxpool(x[lo:hi], kh, kw, out[lo:hi],
                                                                                        arg[lo:hi]))
            self.x, self.K, self.fast = x, K, 3
            return out
        G = gpu.kernels(x) if padding == "valid" and (kh, kw) == (sh, sw) == (2, 2) else None
        if G is not None:  # the GPU: the tournament below in one CuPy kernel (ops/gpu.py)
            xp = get_array_module(x)
            out, arg = xp.empty((n, oh, ow, c), x.dtype), xp.empty((n, oh, ow, c), np.uint8)
            G.maxpool2(xp.ascontiguousarray(x), h, w, c, oh, ow, out, arg)
            self.arg, self.G, self.fast = arg, G, 4
            return out
        if padding == "valid" and (kh, kw) == (sh, sw) == (2, 2):
            # 2x2 windows (the common case): a tournament of three maxima; three boolean "right one wins" flags
            # (strict >, so ties keep the first element in row-major order) are all backward needs.
            v = [x[:, i: i + oh * 2: 2, j: j + ow * 2: 2, :] for i in range(2) for j in range(2)]
            top, bot = np.maximum(v[0], v[1]), np.maximum(v[2], v[3])
            self.flags = (np.greater(v[1], v[0]), np.greater(v[3], v[2]), np.greater(bot, top))
            np.maximum(top, bot, out=top)
            self.fast = 2
            return top
        if padding == "valid" and (kh, kw) == (sh, sw):
            # non-overlapping windows: the maximum of kh*kw strided views (PERFORMANCE.md: ~2x faster), with
            # arg = index of the first maximal view, updated by uint8 arithmetic arg += [v > out] * (k - arg)
            views = [x[:, i: i + oh * sh: sh, j: j + ow * sw: sw, :] for i in range(kh) for j in range(kw)]
            out = views[0].copy()
            xp = get_array_module(x)
            arg = xp.zeros(out.shape, np.uint8) if kh * kw < 256 else None
            if arg is not None:
                tmp, m = xp.empty(out.shape, np.uint8), xp.empty(out.shape, bool)
            for k, v in enumerate(views[1:], start=1):
                if arg is not None:
                    np.greater(v, out, out=m)
                    np.subtract(np.uint8(k), arg, out=tmp)
                    np.multiply(tmp, m, out=tmp)
                    np.add(arg, tmp, out=arg)
                np.maximum(out, v, out=out)
            self.x, self.out, self.arg, self.fast = x, out, arg, True
            return out
        xp_ = np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=-np.inf) if padding == "same" else x
        win = windows(xp_, kh, kw, sh, sw, 1, 1, oh, ow)  # (N, OH, OW, kh, kw, C)
        flat = win.transpose(0, 1, 2, 5, 3, 4).reshape(n, oh, ow, c, kh * kw)
        self.arg = flat.argmax(axis=-1)
        self.pshape, self.fast = xp_.shape, False
        return np.take_along_axis(flat, self.arg[..., None], axis=-1)[..., 0]

    def backward(self, g):
        xshape, ph, pw, kh, kw, sh, sw, oh, ow = self.geom
        if self.fast == 3:
            from . import jit
            K = self.K
            h, w = xshape[1], xshape[2]
            gx = (np.empty if (oh * sh, ow * sw) == (h, w) else np.zeros)(xshape, g.dtype)
            g = np.ascontiguousarray(g)
            src = self.inputs[0]
            conv = getattr(src, "_ctx", None)
            arg, x = self.arg, self.x
            if isinstance(conv, Conv2DFn) and conv.jit and conv.act == "relu" and not src._retain:
                # the input is a fused conv + ReLU output: apply its mask [x > 0] and sum its columns here; the
                # conv uses them only if it receives exactly this array (no other consumer added to it)
                def part(lo, hi, serial):
                    sums = np.empty((jit.CHUNKS, xshape[3]), g.dtype)
                    (K.serial if serial else K).maxpool_grad_relu(g[lo:hi], arg[lo:hi], x[lo:hi], kh, kw, gx[lo:hi],
                                                                  sums)
                    return sums
                conv.premasked = (gx, np.concatenate(chains.each(xshape[0], part)))
            else:
                chains.each(xshape[0], lambda lo, hi, serial: (K.serial if serial else K).maxpool_grad(
                    g[lo:hi], arg[lo:hi], kh, kw, gx[lo:hi]))
            return gx, None, None, None
        if self.fast == 4:
            xp = get_array_module(g)
            h, w = xshape[1], xshape[2]
            gx = (xp.empty if (oh * 2, ow * 2) == (h, w) else xp.zeros)(xshape, g.dtype)
            self.G.maxpool2_grad(xp.ascontiguousarray(g), self.arg, h, w, xshape[3], oh, ow, gx)
            return gx, None, None, None
        if self.fast == 2:  # 2x2 tournament: route g down the winning branch of each comparison
            f01, f23, fb = self.flags
            h, w = xshape[1], xshape[2]
            xp = get_array_module(g)
            gx = (xp.empty if (oh * 2, ow * 2) == (h, w) else xp.zeros)(xshape, g.dtype)
            sl = [(slice(None), slice(i, i + oh * 2, 2), slice(j, j + ow * 2, 2), slice(None))
                  for i in range(2) for j in range(2)]
            gb = g * fb                        # to the bottom pair
            gt = g - gb                        # to the top pair (exact: g - g or g - 0)
            np.multiply(gt, f01, out=gx[sl[1]])
            np.subtract(gt, gx[sl[1]], out=gx[sl[0]])
            np.multiply(gb, f23, out=gx[sl[3]])
            np.subtract(gb, gx[sl[3]], out=gx[sl[2]])
            return gx, None, None, None
        if self.fast:
            x, out, arg = self.x, self.out, self.arg
            h, w = xshape[1], xshape[2]
            xp = get_array_module(g)
            gx = (xp.empty if (oh * sh, ow * sw) == (h, w) else xp.zeros)(xshape, g.dtype)
            taken = None if arg is not None else xp.zeros(out.shape, bool)
            k = 0
            for i in range(kh):
                for j in range(kw):
                    sl = (slice(None), slice(i, i + oh * sh, sh), slice(j, j + ow * sw, sw), slice(None))
                    if arg is not None:  # the gradient goes to the first maximum of each window
                        np.multiply(g, arg == k, out=gx[sl])
                    else:
                        hit = x[sl] == out
                        hit &= ~taken
                        taken |= hit
                        gx[sl] = g * hit
                    k += 1
            return gx, None, None, None
        n, c = xshape[0], xshape[3]
        onehot = get_array_module(g).zeros((n, oh, ow, c, kh * kw), g.dtype)
        np.put_along_axis(onehot, self.arg[..., None], g[..., None], axis=-1)
        dcols = onehot.reshape(n, oh, ow, c, kh, kw).transpose(0, 1, 2, 4, 5, 3)
        dxp = col2im(dcols, self.pshape, kh, kw, sh, sw, 1, 1, oh, ow)
        return dxp[:, ph[0]: self.pshape[1] - ph[1], pw[0]: self.pshape[2] - pw[1], :], None, None, None


class AvgPool2DFn(Function):
    name = "avg_pool2d"

    def forward(self, x, pool_size=(2, 2), strides=None, padding="valid"):
        n, h, w, c, kh, kw, sh, sw, oh, ow, ph, pw = _geometry("avg_pool2d", x, pool_size, strides, padding)
        xp_ = np.pad(x, ((0, 0), ph, pw, (0, 0))) if padding == "same" else x
        s = windows(xp_, kh, kw, sh, sw, 1, 1, oh, ow).sum(axis=(3, 4))
        if padding == "same":  # divide by the number of real (unpadded) elements in each window
            ones = np.pad(get_array_module(x).ones((1, h, w, 1), x.dtype), ((0, 0), ph, pw, (0, 0)))
            count = windows(ones, kh, kw, sh, sw, 1, 1, oh, ow).sum(axis=(3, 4))
        else:
            count = x.dtype.type(kh * kw)  # a NumPy scalar: CuPy takes it, not a 0-d NumPy array
        self.geom = (x.shape, xp_.shape, ph, pw, kh, kw, sh, sw, oh, ow)
        self.count, self.params = count, (pool_size, strides, padding)
        return s / count

    def backward(self, g):
        xshape, pshape, ph, pw, kh, kw, sh, sw, oh, ow = self.geom
        gc = (g / self.count)[:, :, :, None, None, :]
        dcols = np.broadcast_to(gc, (xshape[0], oh, ow, kh, kw, xshape[3]))
        dxp = col2im(dcols, pshape, kh, kw, sh, sw, 1, 1, oh, ow)
        return dxp[:, ph[0]: pshape[1] - ph[1], pw[0]: pshape[2] - pw[1], :], None, None, None
