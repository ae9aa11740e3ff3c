"""keras.ops's Fourier transforms: fft, fft2, ifft2, rfft, irfft, stft, istft (Keras 3 names and semantics).

As in Keras, a complex value travels as a (real, imag) tuple of real tensors. The transforms run in the
input's array module (``xp.fft``: NumPy on the host, CuPy on a GPU) with Keras's "backward" normalisation
(the forward DFT unscaled, the inverse scaled by 1/n).

Gradients. The DFT  y = F z,  F_kt = exp(-2 pi i k t / n),  is linear, so for a real loss L and the output
cotangent g = dL/dRe(y) + i dL/dIm(y) the input gradient is the adjoint  dL/dRe(z) + i dL/dIm(z) = F^H g,
with F^H = n * ifft (and (F^-1)^H = F / n). rfft / irfft keep half the spectrum, so their adjoints weight
the bins that stand for two (k and n - k) twice (the Functions below say how). stft is framing (a gather,
the reflect padding folded into its indices) x window, then rfft; istft is irfft x window, overlap-add
(whose adjoint is framing again), then a constant division by the window envelope: both are compositions
of differentiable ops and these Functions. Windows are constants (no gradient w.r.t. ``window``).
"""
import math

import numpy as np

from ... import backend
from ..function import Function
from . import _data, _float, _t_arr, getitem, multiply, pad

__all__ = ["fft", "fft2", "ifft2", "rfft", "irfft", "stft", "istft"]


def _xp(a):
    return backend.get_array_module(a)


def _pair(x, who, rank):
    """The (real, imag) tuple of a complex input, checked as Keras checks it."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{who}: argument 'x' expected a (real, imag) tuple of two tensors, got {type(x).__name__}"
                         + (f" of length {len(x)}" if isinstance(x, (tuple, list)) else ""))
    re, im = _t_arr(x[0]), _t_arr(x[1])
    (dr, di) = (_data(re), _data(im))
    if dr.shape != di.shape:
        raise ValueError(f"{who}: argument 'x' expected real and imaginary parts of one shape, got "
                         f"{tuple(dr.shape)} and {tuple(di.shape)}")
    if dr.dtype.kind != "f" or di.dtype.kind != "f":
        raise ValueError(f"{who}: argument 'x' expected float real and imaginary parts, got {dr.dtype} and "
                         f"{di.dtype}")
    if dr.ndim < rank:
        raise ValueError(f"{who}: argument 'x' expected rank >= {rank}, got shape {tuple(dr.shape)}")
    return re, im


def _length(v, who, name, lo=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{who}: argument '{name}' expected an integer >= {lo}, got {v!r}")
    return int(v)


# ============================================================================ complex DFTs
class _Dft(Function):
    """y = F z over ``axes`` (fft, fft2) or y = F^-1 z = F^H z / N (ifft2), z = re + i im, N points.
    Adjoint: F^H g = N ifft(g); (F^-1)^H g = F g / N."""
    name = "fft"

    def forward(self, re, im, axes=(-1,), inverse=False):
        xp = _xp(re)
        self.axes, self.inverse, self.dtypes = axes, inverse, (re.dtype, im.dtype)
        self.n = math.prod(re.shape[a] for a in axes)
        z = re + 1j * im
        y = xp.fft.ifftn(z, axes=axes) if inverse else xp.fft.fftn(z, axes=axes)
        dt = np.result_type(re.dtype, im.dtype)
        return y.real.astype(dt), y.imag.astype(dt)

    def backward(self, g_re, g_im):
        xp = _xp(g_re)
        g = g_re + 1j * g_im
        d = xp.fft.fftn(g, axes=self.axes) / self.n if self.inverse else xp.fft.ifftn(g, axes=self.axes) * self.n
        return d.real.astype(self.dtypes[0]), d.imag.astype(self.dtypes[1])


def fft(x):
    """The DFT along the last axis of the complex (real, imag) tuple x; returns (real, imag)."""
    return _Dft.apply(*_pair(x, "fft", 1), axes=(-1,))


def fft2(x):
    """The 2-D DFT over the last two axes of the complex (real, imag) tuple x; returns (real, imag)."""
    return _Dft.apply(*_pair(x, "fft2", 2), axes=(-2, -1))


def ifft2(x):
    """The inverse 2-D DFT (scaled by 1 / (rows * cols)) over the last two axes; returns (real, imag)."""
    return _Dft.apply(*_pair(x, "ifft2", 2), axes=(-2, -1), inverse=True)


# ============================================================================ real DFTs
def _fit(a, m):
    """a cropped or zero-padded to m entries along the last axis (what rfft / irfft do to their input)."""
    k = a.shape[-1]
    if k >= m:
        return a[..., :m]
    return _xp(a).pad(a, [(0, 0)] * (a.ndim - 1) + [(0, m - k)])


def _twice(n, like):
    """c_k = 1 for the bins k = 0 and (n even) k = n/2 of a one-sided spectrum, 2 for the others (the bins
    that also stand for their mirror n - k), on the device and in the dtype of the array like."""
    c = np.full(n // 2 + 1, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return _const(like, c)


def _const(ref, a):
    """A host constant on the device and in the dtype of the array ref."""
    return backend.like(ref, np.asarray(a, dtype=ref.dtype))


class _Rfft(Function):
    """y_k = sum_t x_t exp(-2 pi i k t / n), k = 0 .. n//2, x cropped / zero-padded to n.
    dL/dx_t = Re sum_k conj(g_k) exp(-2 pi i k t / n) = Re sum_k g_k exp(2 pi i k t / n) = n irfft(g / c)_t:
    irfft counts each bin but the first (and the even-n last) twice, so g_k / c_k undoes that."""
    name = "rfft"

    def forward(self, x, n=None):
        self.m, self.n, self.dtype = x.shape[-1], n, x.dtype
        y = _xp(x).fft.rfft(x, n=n, axis=-1)
        return y.real.astype(x.dtype), y.imag.astype(x.dtype)

    def backward(self, g_re, g_im):
        xp = _xp(g_re)
        g = (g_re + 1j * g_im) / _twice(self.n, g_re)
        return _fit(xp.fft.irfft(g, n=self.n, axis=-1) * self.n, self.m).astype(self.dtype)


class _Irfft(Function):
    """x_t = (1/n) [Re G_0 + sum_{0<k<n/2} 2 Re(G_k e^{2 pi i k t/n}) + (n even) Re G_{n/2} (-1)^t], G the
    one-sided spectrum cropped / zero-padded to n//2 + 1 bins (the imaginary parts of G_0 and G_{n/2} drop).
    dL/dRe G_k + i dL/dIm G_k = (c_k / n) sum_t h_t e^{-2 pi i k t/n} = c_k rfft(h)_k / n (real at k = 0, n/2)."""
    name = "irfft"

    def forward(self, re, im, n=None):
        self.m, self.n, self.dtypes = re.shape[-1], n, (re.dtype, im.dtype)
        x = _xp(re).fft.irfft(re + 1j * im, n=n, axis=-1)
        return x.astype(np.result_type(re.dtype, im.dtype))

    def backward(self, h):
        xp = _xp(h)
        d = _fit(xp.fft.rfft(h, axis=-1) * (_twice(self.n, h) / self.n), self.m)
        return d.real.astype(self.dtypes[0]), d.imag.astype(self.dtypes[1])


def rfft(x, fft_length=None):
    """The one-sided DFT of the real x along its last axis (cropped / zero-padded to fft_length):
    (real, imag) of shape (..., fft_length // 2 + 1)."""
    x = _float(_t_arr(x), "rfft")
    if _data(x).ndim < 1:
        raise ValueError(f"rfft: argument 'x' expected rank >= 1, got shape {tuple(_data(x).shape)}")
    n = _data(x).shape[-1] if fft_length is None else _length(fft_length, "rfft", "fft_length")
    if n < 1:
        raise ValueError("rfft: argument 'x' has an empty last axis and 'fft_length' is None")
    return _Rfft.apply(x, n=n)


def irfft(x, fft_length=None):
    """The real signal of length fft_length (default 2 (bins - 1)) whose one-sided spectrum is x = (real, imag)."""
    re, im = _pair(x, "irfft", 1)
    bins = _data(re).shape[-1]
    if fft_length is None:
        if bins < 2:
            raise ValueError(f"irfft: argument 'fft_length' is None and x has {bins} bin(s): 2 (bins - 1) = "
                             f"{2 * (bins - 1)} points, expected >= 1; pass fft_length")
        fft_length = 2 * (bins - 1)
    return _Irfft.apply(re, im, n=_length(fft_length, "irfft", "fft_length"))


# ============================================================================ short-time transforms
def _window(window, sequence_length, fft_length, who):
    """The analysis window as a host float64 array of fft_length: Keras's periodic "hann" / "hamming" (as
    scipy.signal.get_window and torch.hann_window(periodic=True)) or a given array of sequence_length, centred
    with (fft_length - sequence_length) // 2 zeros on the left; None: ones(fft_length) (Keras's JAX, NumPy
    and TensorFlow backends)."""
    if window is None:
        return np.ones(fft_length)
    if isinstance(window, str):
        cos = np.cos(2 * np.pi * np.arange(sequence_length) / sequence_length)
        if window == "hann":
            w = 0.5 - 0.5 * cos
        elif window == "hamming":
            w = 0.54 - 0.46 * cos
        else:
            raise ValueError(f"{who}: argument 'window' expected 'hann', 'hamming', None or an array, got {window!r}")
    else:
        w = np.asarray(backend.to_numpy(_data(window)), dtype=np.float64)
        if w.shape != (sequence_length,):
            raise ValueError(f"{who}: argument 'window' expected shape ({sequence_length},) (sequence_length), got "
                             f"{w.shape}")
    left = (fft_length - sequence_length) // 2
    return np.pad(w, (left, fft_length - sequence_length - left))


def _stft_args(who, sequence_length, sequence_stride, fft_length):
    sequence_length = _length(sequence_length, who, "sequence_length")
    sequence_stride = _length(sequence_stride, who, "sequence_stride")
    fft_length = _length(fft_length, who, "fft_length")
    if fft_length < sequence_length:
        raise ValueError(f"{who}: argument 'fft_length' expected >= sequence_length ({sequence_length}), got "
                         f"{fft_length}")
    return sequence_length, sequence_stride, fft_length


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform along the last axis: frames of fft_length every sequence_stride samples
    (x first reflect-padded by fft_length // 2 on both sides when center), times the window, then rfft.
    Returns (real, imag) of shape (..., frames, fft_length // 2 + 1)."""
    sequence_length, sequence_stride, fft_length = _stft_args("stft", sequence_length, sequence_stride, fft_length)
    x = _t_arr(x)
    d = _data(x)
    if d.dtype not in (np.float32, np.float64):
        raise TypeError(f"stft: argument 'x' expected float32 or float64, got {d.dtype}")
    if d.ndim < 1:
        raise ValueError(f"stft: argument 'x' expected rank >= 1, got shape {tuple(d.shape)}")
    w = _window(window, sequence_length, fft_length, "stft")
    n = d.shape[-1]
    p = fft_length // 2 if center else 0
    src = np.pad(np.arange(n), (p, p), mode="reflect") if p and n > 0 else np.arange(n)  # x_pad = x[src]
    if src.size < fft_length:
        raise ValueError(f"stft: argument 'x' has {n} samples ({src.size} after padding), fewer than fft_length "
                         f"({fft_length})")
    starts = np.arange(0, src.size - fft_length + 1, sequence_stride)
    frames = getitem(x, (Ellipsis, src[starts[:, None] + np.arange(fft_length)]))  # (..., frames, fft_length)
    if window is not None:
        frames = multiply(frames, _const(d, w))
    return _Rfft.apply(frames, n=fft_length)


def _overlap_add(f, stride):
    """y[..., k s + j] = sum over frames k of f[..., k, j] (frames f of length n every s samples)."""
    *batch, frames, n = f.shape
    blocks = -(-n // stride)  # each frame spans `blocks` blocks of `stride` samples
    fb = _fit(f, blocks * stride).reshape(*batch, frames, blocks, stride)
    yb = _xp(f).zeros((*batch, frames + blocks - 1, stride), f.dtype)
    for j in range(blocks):  # block j of frame k lands on output block k + j
        yb[..., j:j + frames, :] += fb[..., :, j, :]
    return yb.reshape(*batch, -1)[..., :(frames - 1) * stride + n]


class _OverlapAdd(Function):
    """Overlap-add of frames; its adjoint is framing: dL/df[..., k, j] = g[..., k s + j]."""
    name = "overlap_add"

    def forward(self, f, stride=1):
        self.idx = np.arange(f.shape[-2])[:, None] * stride + np.arange(f.shape[-1])
        return _overlap_add(f, stride)

    def backward(self, g):
        return g[..., backend.like(g, self.idx)]


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """Inverse of stft: irfft of each frame, times the window, overlap-add, divided by the window envelope
    sum_k w(t - k s)^2 where it exceeds 1e-10 (Keras's JAX / NumPy backends, torch.istft), then the center
    padding cut off and the result cropped or zero-padded to length. With window=None Keras scales by
    fft_length / (sequence_stride * frames covering t) instead. Returns (..., samples)."""
    sequence_length, sequence_stride, fft_length = _stft_args("istft", sequence_length, sequence_stride, fft_length)
    re, im = _pair(x, "istft", 2)
    w = _window(window, sequence_length, fft_length, "istft")
    frames = _Irfft.apply(re, im, n=fft_length)  # (..., frames, fft_length)
    d = _data(frames)
    if window is not None:
        frames = multiply(frames, _const(d, w))
    y = _OverlapAdd.apply(frames, stride=sequence_stride)
    env = _overlap_add(np.tile(w * w, (d.shape[-2], 1)), sequence_stride)  # sum_k w(t - k s)^2
    scale = 1 / np.where(env > 1e-10, env, 1.0)  # no division where no window covers t
    if window is None:
        scale = scale * (fft_length / sequence_stride)
    y = multiply(y, _const(d, scale))
    total, start = _data(y).shape[-1], (fft_length // 2 if center else 0)
    if length is None:
        return getitem(y, (Ellipsis, slice(start, total - start)))
    y = getitem(y, (Ellipsis, slice(start, start + _length(length, "istft", "length", lo=0))))
    short = length - _data(y).shape[-1]
    if short:  # exactly `length` samples: zeros past the signal (as torch.istft)
        y = pad(y, [(0, 0)] * (d.ndim - 2) + [(0, short)])
    return y
