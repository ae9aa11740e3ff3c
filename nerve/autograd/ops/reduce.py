"""Reductions. The adjoint of a reduction broadcasts the output gradient back over the reduced axes."""
import math

import numpy as np

from ..function import Function


def one_axis(axis, ndim, name, what=None):
    """Normalise a single int axis to [0, ndim), with an error naming the op (no silent wrap-around)."""
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{name}: argument 'axis' expected an int in [{-ndim}, {ndim}) for "
                         f"{what or f'an input of rank {ndim}'}, got {axis!r}")
    return int(axis) % ndim


def norm_axis(axis, ndim, name="reduce"):
    """Normalise ``axis`` (None, int or sequence) to a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{name}: argument 'axis' expected values in [{-ndim}, {ndim}) for an input of "
                             f"rank {ndim}, got {axis!r}")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand(g, axes, keepdims):
    """Re-insert reduced axes so that g broadcasts against the input."""
    if keepdims or not axes:
        return g
    return g.reshape([1 if i in axes else n for i, n in enumerate(_full_shape(g, axes))])


def _full_shape(g, axes):
    it = iter(g.shape)
    ndim = g.ndim + len(axes)
    return [1 if i in axes else next(it) for i in range(ndim)]


class Sum(Function):
    name = "sum"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims, self.shape = norm_axis(axis, x.ndim, "sum"), keepdims, x.shape
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        xp_g = _expand(g, self.axes, self.keepdims)
        if xp_g.shape == self.shape:
            return xp_g
        out = np.empty_like(xp_g, shape=self.shape)  # NumPy or CuPy (__array_function__)
        out[...] = xp_g  # broadcast into a fresh writable array
        return out


class Mean(Sum):
    name = "mean"

    def forward(self, x, axis=None, keepdims=False):
        out = super().forward(x, axis, keepdims)
        self.n = max(1, math.prod([x.shape[a] for a in self.axes]))
        return out / self.n if out.dtype.kind in "fc" else out / self.n

    def backward(self, g):
        return super().backward(g / self.n)


class Max(Function):
    name = "max"
    _f = staticmethod(np.max)

    def forward(self, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{self.name}: argument 'x' is empty (shape {x.shape}); the reduction has no identity")
        self.axes, self.keepdims = norm_axis(axis, x.ndim, self.name), keepdims
        out = self._f(x, axis=self.axes, keepdims=True)
        self.x, self.outk = x, out
        return out if keepdims else out.reshape([n for i, n in enumerate(out.shape) if i not in self.axes])

    def backward(self, g):
        mask = self.x == self.outk  # ties share the gradient equally (as torch.amax / tf.reduce_max)
        count = mask.sum(axis=self.axes, keepdims=True, dtype=g.dtype)  # g's dtype: no float64 promotion
        return mask * (_expand(g, self.axes, self.keepdims) / count)


class Min(Max):
    name = "min"
    _f = staticmethod(np.min)


class Var(Function):
    name = "var"

    def forward(self, x, axis=None, keepdims=False, ddof=0):
        self.axes, self.keepdims = norm_axis(axis, x.ndim, "var"), keepdims
        self.n = max(1, math.prod([x.shape[a] for a in self.axes]))
        self.d = x - x.mean(axis=self.axes, keepdims=True)
        self.denom = self.n - ddof
        return (self.d * self.d).sum(axis=self.axes, keepdims=keepdims) / self.denom

    def backward(self, g):
        return _expand(g, self.axes, self.keepdims) * (2 / self.denom) * self.d  # d var = 2 (x - mu) / N


class LogSumExp(Function):
    name = "logsumexp"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = norm_axis(axis, x.ndim, "logsumexp"), keepdims
        m = x.max(axis=self.axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        e = np.exp(x - m)
        s = e.sum(axis=self.axes, keepdims=True)
        out = np.log(s) + m
        self.p = e / s  # softmax over the reduced axes is the gradient
        return out if keepdims else out.reshape([n for i, n in enumerate(out.shape) if i not in self.axes])

    def backward(self, g):
        return _expand(g, self.axes, self.keepdims) * self.p
