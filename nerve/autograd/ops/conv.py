"""Convolution in NHWC through a strided-view im2col and one GEMM (PERFORMANCE.md, seed-002 §1.14).

Forward:   cols[n,oh,ow,(i,j,c)] = x_pad[n, oh*s + i*d, ow*s + j*d, c]   (a strided view, copied once)
           y = cols @ W.reshape(kh*kw*C, F)
Backward:  dW = cols^T @ dy ;  dcols = dy @ W^T ;  dx = col2im(dcols)  (kh*kw strided adds, no pixel loop)
Transposed convolution is the adjoint: its forward is the backward-data pass above.
"""
import numpy as np

from ...backend import as_strided, get_array_module
from ..function import Function
from . import chains, gpu, jit
from .workspace import scratch


def conv_out_len(n, k, stride, dilation, padding):
    """Output length and (pad_before, pad_after) along one axis, TensorFlow/Keras conventions."""
    ke = (k - 1) * dilation + 1
    if padding == "valid":
        return (n - ke) // stride + 1, (0, 0)
    if padding == "same":
        out = -(-n // stride)
        total = max((out - 1) * stride + ke - n, 0)
        return out, (total // 2, total - total // 2)
    if padding == "full":  # used by transposed convolution adjoints
        return (n + ke - 2) // stride + 1, (ke - 1, ke - 1)
    raise ValueError(f"conv: argument 'padding' expected 'valid' or 'same', got {padding!r}")


def windows(xp_, kh, kw, sh, sw, dh, dw, oh, ow):
    """(N, OH, OW, kh, kw, C) read-only view of the sliding windows of a padded NHWC array."""
    n, _, _, c = xp_.shape
    s0, s1, s2, s3 = xp_.strides
    return as_strided(xp_, (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3))


def col2im(dcols, shape, kh, kw, sh, sw, dh, dw, oh, ow, out=None):
    """Adjoint of ``windows``: scatter-add (N, OH, OW, kh, kw, C) back into a padded (N, H, W, C) array
    (a new zero array, or added into ``out``)."""
    dx = get_array_module(dcols).zeros(shape, dcols.dtype) if out is None else out
    for i in range(kh):
        for j in range(kw):
            dx[:, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw, :] += \
                dcols[:, :, :, i, j, :]
    return dx


def colsum(a):
    """a.sum(axis=0) of a tall (M, F) array with a longer inner loop: rows are summed in groups of k first
    (NumPy's axis-0 reduction of a narrow array is slow: 1.7 ms -> 0.5 ms for 86528 x 32)."""
    m, f = a.shape
    k = 1
    while k * f < 512 and m % (2 * k) == 0:
        k *= 2
    if k == 1:
        return a.sum(axis=0)
    return a.reshape(m // k, k * f).sum(axis=0).reshape(k, f).sum(axis=0)


def _pad(x, ph, pw):
    if ph == (0, 0) and pw == (0, 0):
        return x
    return np.pad(x, ((0, 0), ph, pw, (0, 0)))


class Conv2DFn(Function):
    """y = act(conv2d(x, W) + b); x (N, H, W, C), W (kh, kw, C, F), NHWC, cross-correlation as Keras.
    ``activation`` 'linear' or 'relu' (fused: relu'(z) = [y > 0] is read back from the output)."""
    name = "conv2d"

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1), activation="linear"):
        if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
            raise ValueError(f"conv2d: expected x (N, H, W, C) and kernel (kh, kw, C, F) with matching C, got "
                             f"{tuple(x.shape)} and {tuple(w.shape)}")
        n, h, wd, c = x.shape
        kh, kw, _, f = w.shape
        (sh, sw), (dh, dw) = strides, dilation
        oh, ph = conv_out_len(h, kh, sh, dh, padding)
        ow, pw = conv_out_len(wd, kw, sw, dw, padding)
        if oh <= 0 or ow <= 0:
            raise ValueError(f"conv2d: input spatial size {(h, wd)} is smaller than the (dilated) kernel "
                             f"{(kh, kw)} with padding {padding!r}")
        if activation not in ("linear", "relu"):
            raise ValueError(f"conv2d: argument 'activation' expected 'linear' or 'relu', got {activation!r}")
        xp_ = _pad(x, ph, pw)
        K = _kernels(x, w)
        if K is not None:  # compiled im2col and bias + ReLU over batch chains (ops/jit.py, ops/chains.py)
            cols = np.empty((n, oh, ow, kh, kw, c), x.dtype)
            y = np.empty((n * oh * ow, f), x.dtype)
            w2 = w.reshape(kh * kw * c, f)
            bias = np.zeros(f, x.dtype) if b is None else b.astype(x.dtype, copy=False)
            act = b is not None or activation == "relu"
            m = oh * ow

            def part(lo, hi, serial):
                Kc = K.serial if serial else K
                Kc.im2col(xp_[lo:hi], kh, kw, sh, sw, dh, dw, oh, ow, cols[lo:hi])
                np.matmul(cols[lo:hi].reshape((hi - lo) * m, -1), w2, out=y[lo * m:hi * m])
                if act:
                    Kc.bias_act(y[lo * m:hi * m], bias, activation == "relu")
            chains.each(n, part)
            cols = cols.reshape(n * m, kh * kw * c)
        else:
            cols = windows(xp_, kh, kw, sh, sw, dh, dw, oh, ow).reshape(n * oh * ow, kh * kw * c)
            y = cols @ w.reshape(kh * kw * c, f)
            G = gpu.kernels(y)
            if G is not None and b is not None and activation == "relu" and b.dtype == y.dtype:
                G.bias_relu(b, y)  # one CuPy kernel
            else:
                if b is not None:
                    y += b
                if activation == "relu":
                    np.maximum(y, 0, out=y)
        if activation == "relu":
            self.out = y
        self.jit, self.K = K is not None, K
        self.act = activation
        self.geom = (x.shape, xp_.shape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow)
        self.cols = cols if len(self.needs) > 1 and self.needs[1] else None
        self.w = w
        return y.reshape(n, oh, ow, f)

    def backward(self, g):
        xshape, pshape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow = self.geom
        n, _, _, c = xshape
        f = self.w.shape[3]
        g2 = g.reshape(-1, f)
        need_b = len(self.needs) > 2 and self.needs[2]
        gx = gw = gb = None
        if self.jit:
            return self._backward_jit(g, need_b)
        G = gpu.kernels(g2) if g2.dtype == self.w.dtype else None
        if self.act == "relu":
            g2 = G.relu_grad(g2, self.out) if G is not None else g2 * (self.out > 0)
        if self.needs[1]:
            gw = (self.cols.T @ g2).reshape(self.w.shape)
        if need_b:
            gb = gpu.colsum(g2) if G is not None else colsum(g2)
        if self.needs[0] and G is not None:  # the GPU: one GEMM, then col2im as one gather kernel (ops/gpu.py)
            xp = get_array_module(g2)
            dcols = g2 @ self.w.reshape(kh * kw * c, f).T
            dxp = xp.empty(pshape, g2.dtype)
            G.col2im(dcols, pshape[1], pshape[2], c, oh, ow, kh, kw, sh, sw, dh, dw, dxp)
            gx = dxp[:, ph[0]: pshape[1] - ph[1], pw[0]: pshape[2] - pw[1], :]
        elif self.needs[0] and c < 8:  # few channels: one GEMM, then col2im (kh*kw strided adds)
            dcols = (g2 @ self.w.reshape(kh * kw * c, f).T).reshape(n, oh, ow, kh, kw, c)
            dxp = col2im(dcols, pshape, kh, kw, sh, sw, dh, dw, oh, ow)
            gx = dxp[:, ph[0]: pshape[1] - ph[1], pw[0]: pshape[2] - pw[1], :]
        elif self.needs[0]:
            # dx_pad[:, i*d + p*s, j*d + q*s, :] += dy[:, p, q, :] @ W[i, j].T : kh*kw GEMMs accumulated into
            # shifted strided slices (re-measured on a quiet machine: ~1 ms faster than one GEMM + col2im for
            # the CNN's conv2, and no large dcols buffer)
            xp = get_array_module(g2)
            dxp = xp.zeros(pshape, g2.dtype)
            buf = xp.empty((g2.shape[0], c), g2.dtype)
            for i in range(kh):
                for j in range(kw):
                    xp.matmul(g2, self.w[i, j].T, out=buf)
                    dxp[:, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw, :] += \
                        buf.reshape(n, oh, ow, c)
            gx = dxp[:, ph[0]: pshape[1] - ph[1], pw[0]: pshape[2] - pw[1], :]
        return gx, gw, gb

    def _backward_jit(self, g, need_b):
        """The same math with the ReLU mask and the bias sum in one compiled pass, and col2im compiled."""
        K = self.K
        xshape, pshape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow = self.geom
        f = self.w.shape[3]
        relu = self.act == "relu"
        g2 = g.reshape(-1, f)
        gx = gw = gb = None
        pre = self.__dict__.pop("premasked", None)
        premasked = pre is not None and pre[0] is g  # a max pooling already applied [y > 0], summed the columns
        n, c = xshape[0], xshape[3]
        m = oh * ow
        mask = not premasked and (relu or need_b)
        if not premasked:
            g2 = np.ascontiguousarray(g2)
        gz = np.empty_like(g2) if mask else g2
        w2t = self.w.reshape(kh * kw * c, f).T
        dxp = np.empty(pshape, g2.dtype) if self.needs[0] else None

        def part(lo, hi, serial):  # rows of batch samples lo..hi (ops/chains.py)
            Kc = K.serial if serial else K
            rows = slice(lo * m, hi * m)
            sums = None
            if mask:
                sums = np.empty((jit.CHUNKS, f), g2.dtype)
                Kc.act_grad_colsum(g2[rows], self.out[rows] if relu else g2[rows], relu, gz[rows], sums)
            gw_part = self.cols[rows].T @ gz[rows] if self.needs[1] else None
            if self.needs[0]:
                dcols = scratch("conv.dcols", ((hi - lo) * m, kh * kw * c), g2.dtype)
                np.matmul(gz[rows], w2t, out=dcols)
                dxp[lo:hi] = 0
                Kc.col2im(dcols.reshape(hi - lo, oh, ow, kh, kw, c), kh, kw, sh, sw, dh, dw, oh, ow, dxp[lo:hi])
            return gw_part, sums
        res = chains.each(n, part)
        gx = gw = gb = None
        if need_b:  # column sums of fixed row chunks, added in order: the same for any thread count
            gb = pre[1].sum(axis=0) if premasked else np.concatenate([r[1] for r in res]).sum(axis=0)
        if self.needs[1]:
            gw = chains.total([r[0] for r in res]).reshape(self.w.shape)
        if self.needs[0]:
            gx = dxp[:, ph[0]: pshape[1] - ph[1], pw[0]: pshape[2] - pw[1], :]
        return gx, gw, gb


def _kernels(*arrays):
    """The compiled kernels when enabled and every array is a NumPy float32/float64 array, else None."""
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype.char not in "fd":
            return None
    if len(arrays) > 1 and arrays[0].dtype != arrays[1].dtype:
        return None
    return jit.kernels()


class Conv2DTransposeFn(Function):
    """Transposed convolution: the adjoint of conv2d w.r.t. its input. W (kh, kw, F_out, C_in) as Keras."""
    name = "conv2d_transpose"

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", output_padding=None, dilation=(1, 1)):
        if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[3]:
            raise ValueError(f"conv2d_transpose: expected x (N, H, W, C) and kernel (kh, kw, F, C) with matching C, "
                             f"got {tuple(x.shape)} and {tuple(w.shape)}")
        n, h, wd, c = x.shape
        kh, kw, f, _ = w.shape
        (sh, sw), (dh, dw) = strides, dilation
        op = output_padding or (None, None)
        oh = deconv_len(h, kh, sh, dh, padding, op[0])
        ow = deconv_len(wd, kw, sw, dw, padding, op[1])
        # the equivalent forward conv maps (oh, ow) -> (h, w); its padding before, then what fits after
        ph = _fit_pad(oh, h, kh, sh, dh, (_deconv_pad_before(kh, sh, dh, padding, op[0]),))
        pw = _fit_pad(ow, wd, kw, sw, dw, (_deconv_pad_before(kw, sw, dw, padding, op[1]),))
        pshape = (n, oh + ph[0] + ph[1], ow + pw[0] + pw[1], f)
        x2 = x.reshape(-1, c)
        w2 = w.reshape(kh * kw * f, c)
        dcols = (x2 @ w2.T).reshape(n, h, wd, kh, kw, f)
        yp = col2im(dcols, pshape, kh, kw, sh, sw, dh, dw, h, wd)
        y = yp[:, ph[0]: pshape[1] - ph[1], pw[0]: pshape[2] - pw[1], :]
        if b is not None:
            y = y + b
        self.geom = (pshape, ph, pw, kh, kw, sh, sw, dh, dw, h, wd)
        self.x2, self.w = x2, w
        return get_array_module(y).ascontiguousarray(y)

    def backward(self, g):
        pshape, ph, pw, kh, kw, sh, sw, dh, dw, h, wd = self.geom
        n = g.shape[0]
        f, c = self.w.shape[2], self.w.shape[3]
        gp = _pad(g, ph, pw)
        cols = windows(gp, kh, kw, sh, sw, dh, dw, h, wd).reshape(n * h * wd, kh * kw * f)
        gx = gw = gb = None
        if self.needs[0]:
            gx = (cols @ self.w.reshape(kh * kw * f, c)).reshape(n, h, wd, c)
        if self.needs[1]:
            gw = (cols.T @ self.x2).reshape(self.w.shape)
        if len(self.needs) > 2 and self.needs[2]:
            gb = g.sum(axis=(0, 1, 2))
        return gx, gw, gb


def deconv_len(n, k, stride, dilation, padding, output_padding=None):
    """Keras ``deconv_output_length``."""
    ke = (k - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return n * stride + max(ke - stride, 0)
        return n * stride
    pad = 0 if padding == "valid" else ke // 2
    return (n - 1) * stride + ke - 2 * pad + output_padding


def _deconv_pad_before(k, stride, dilation, padding, output_padding):
    """Rows the equivalent forward conv pads before: ke - 1 - left_pad, with Keras 3's left_pad of the
    transposed conv (``compute_conv_transpose_padding_args_for_jax``; TensorFlow agrees wherever it accepts
    the shapes, and rejects 'same' with an even kernel and an explicit output_padding that this defines)."""
    ke = (k - 1) * dilation + 1
    if padding == "valid":
        return 0
    pad_len = stride + ke - 2 if output_padding is None else ke + ke % 2 - 2 + output_padding
    return ke - 1 - min(pad_len // 2 + pad_len % 2, ke - 1)


def _fit_pad(out_len, in_len, k, s, d, pad):
    """Padding (before, after) such that a forward conv of length out_len gives exactly in_len windows."""
    ke = (k - 1) * d + 1
    total = (in_len - 1) * s + ke - out_len
    before = min(pad[0], max(total, 0)) if total >= 0 else 0
    after = total - before
    if after < 0:  # more rows than windows cover (output_padding): pad nothing after, crop instead
        after = 0
    return (before, after)
