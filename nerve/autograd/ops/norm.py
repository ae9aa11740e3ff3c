"""Fused normalisation kernels: batch / layer normalisation in one node each.

Training-mode normalisation over the reduction axes R (m = number of reduced elements):
    mu = mean_R x,  var = mean_R (x - mu)^2  (biased, as Keras and torch use in the forward),
    xhat = (x - mu) / sqrt(var + eps),  y = gamma * xhat + beta.
Backward (Ioffe & Szegedy 2015, simplified):
    dbeta = sum_{R'} g,  dgamma = sum_{R'} g * xhat   (R' = axes along which gamma is broadcast),
    dxhat = g * gamma,
    dx = (dxhat - mean_R dxhat - xhat * mean_R (dxhat * xhat)) / sqrt(var + eps).
When gamma is constant over R (batch normalisation) the two means are gamma dbeta / m and
gamma dgamma / m, so  dx = gamma / sqrt(var + eps) * (g - dbeta / m - xhat dgamma / m).

Batch normalisation reduces over every axis except the feature axes (gamma lives on the feature axes);
layer normalisation reduces over the feature axes (gamma lives on the same axes). The common layouts
(reduced axes leading for BN, trailing for LN) run on a 2-D view where the sums over rows or columns
are BLAS matrix-vector products (ones @ X), many times faster than ndarray.sum.

Inference-mode batch normalisation is the affine map y = x * s + t with s = gamma / sqrt(moving_var + eps)
and t = beta - moving_mean * s:  dx = g * s,  dgamma = sum g * (x - moving_mean) / sqrt(var + eps),
dbeta = sum g.
"""
import numpy as np

from ...backend import get_array_module
from ..function import Function, unbroadcast


def _colsum(a):
    """Sum over rows of a 2-D array as one BLAS gemv."""
    return get_array_module(a).ones(a.shape[0], a.dtype) @ a


def _rowsum(a):
    return a @ get_array_module(a).ones(a.shape[1], a.dtype)


def _layout(shape, axes, bshape):
    """'bn' when the reduced axes lead and gamma spans the rest, 'ln' when they trail and gamma spans
    them, else None (general path)."""
    n, k = len(shape), len(axes)
    if tuple(axes) == tuple(range(k)) and all(bshape[i] == 1 for i in axes) and \
            all(bshape[i] == shape[i] for i in range(k, n)):
        return "bn"
    if tuple(axes) == tuple(range(n - k, n)) and all(bshape[i] == 1 for i in range(n - k)) and \
            all(bshape[i] == shape[i] for i in axes):
        return "ln"
    return None


class NormalizeFn(Function):
    """y = gamma * (x - mean_R x) / sqrt(var_R x + eps) + beta, statistics over ``axes`` of this batch.

    ``bshape`` is the broadcast shape of gamma / beta (same rank as x). When ``stats`` (a list) is given,
    the batch mean and variance (shaped like gamma) are appended to it for the moving averages.
    """
    name = "normalize"

    def forward(self, x, gamma, beta, axes=(0,), bshape=None, epsilon=1e-3, stats=None):
        axes = tuple(sorted(a % x.ndim for a in axes))
        bshape = tuple(bshape or (1 if i in axes else n for i, n in enumerate(x.shape)))
        self.layout = layout = _layout(x.shape, axes, bshape)
        self.axes, self.bshape, self.shape, self.epsilon = axes, bshape, x.shape, epsilon
        self.gshape = None if gamma is None else gamma.shape
        self.beshape = None if beta is None else beta.shape
        dt = x.dtype
        if layout is None:
            mean = x.mean(axis=axes, keepdims=True)
            xc = x - mean
            var = (xc * xc).mean(axis=axes, keepdims=True)
            inv_std = (1.0 / np.sqrt(var + epsilon)).astype(dt, copy=False)
            xhat = xc
            xhat *= inv_std
            gm, bt = (None if gamma is None else gamma.reshape(bshape)), (None if beta is None else beta.reshape(bshape))
        else:
            if layout == "bn":
                x2 = x.reshape(-1, int(np.prod(bshape)))            # (m, C): reduce over rows
                m = x2.shape[0]
                mean = _colsum(x2) / dt.type(m)
                xc = x2 - mean
                var = np.einsum("ij,ij->j", xc, xc) / dt.type(m)
                inv_std = (1.0 / np.sqrt(var + epsilon)).astype(dt, copy=False)
            else:
                x2 = x.reshape(int(np.prod(x.shape[:x.ndim - len(axes)])), -1)  # (N, D): reduce over columns
                m = x2.shape[1]
                mean = (_rowsum(x2) / dt.type(m))[:, None]
                xc = x2 - mean
                var = (np.einsum("ij,ij->i", xc, xc) / dt.type(m))[:, None]
                inv_std = (1.0 / np.sqrt(var + epsilon)).astype(dt, copy=False)
            xhat = xc
            xhat *= inv_std
            gm, bt = (None if gamma is None else gamma.reshape(-1)), (None if beta is None else beta.reshape(-1))
        if gm is not None:
            y = xhat * gm
            if bt is not None:
                y += bt
        else:
            y = xhat + bt if bt is not None else xhat.copy()
        if stats is not None:
            stats.append((mean, var))
        self.xhat, self.inv_std, self.gamma = xhat, inv_std, gm
        return y.reshape(x.shape).astype(dt, copy=False)

    def backward(self, g):
        needs, xhat, layout = self.needs, self.xhat, self.layout
        gx = gg = gb = None
        if layout is None:
            if needs[2]:
                gb = unbroadcast(g, self.bshape).reshape(self.beshape)      # dbeta = sum g
            if needs[1]:
                gg = unbroadcast(g * xhat, self.bshape).reshape(self.gshape)  # dgamma = sum g xhat
            if needs[0]:
                dxhat = g * self.gamma if self.gamma is not None else g
                axes = self.axes
                gx = dxhat - dxhat.mean(axis=axes, keepdims=True) - \
                    xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
                gx *= self.inv_std
            return gx, gg, gb
        g2 = g.reshape(xhat.shape)
        sum_g = _colsum(g2)                                   # dbeta
        sum_gx = np.einsum("ij,ij->j", g2, xhat)              # dgamma
        if needs[2]:
            gb = sum_g.reshape(self.beshape)
        if needs[1]:
            gg = sum_gx.reshape(self.gshape)
        if needs[0]:
            gamma = self.gamma
            if layout == "bn":
                m = g2.shape[0]
                # dx = gamma inv_std (g - dbeta/m - xhat dgamma/m)
                k = self.inv_std * gamma if gamma is not None else self.inv_std
                gx = g2 - sum_g / m
                gx -= xhat * (sum_gx / m)
                gx *= k
            else:
                m = g2.shape[1]
                dxhat = g2 * gamma if gamma is not None else g2
                mean_d = (_rowsum(dxhat) / m)[:, None]
                mean_dx = (np.einsum("ij,ij->i", dxhat, xhat) / m)[:, None]
                gx = dxhat - mean_d
                gx -= xhat * mean_dx
                gx *= self.inv_std
            gx = gx.reshape(self.shape)
        return gx, gg, gb


class AffineNormFn(Function):
    """Inference batch normalisation with fixed statistics:
    y = (x - mean) / sqrt(var + eps) * gamma + beta  =  x * s + t."""
    name = "affine_norm"

    def forward(self, x, gamma, beta, mean, var, bshape=None, epsilon=1e-3):
        inv_std = (1.0 / np.sqrt(var + epsilon)).reshape(bshape)
        mean = mean.reshape(bshape)
        s = inv_std * gamma.reshape(bshape) if gamma is not None else inv_std
        t = -mean * s
        if beta is not None:
            t = t + beta.reshape(bshape)
        self.x, self.mean, self.inv_std, self.s, self.epsilon = x, mean, inv_std, s, epsilon
        self.gshape = None if gamma is None else gamma.shape
        self.beshape = None if beta is None else beta.shape
        self.bshape = bshape
        y = x * s.astype(x.dtype, copy=False)
        y += t.astype(x.dtype, copy=False)
        return y

    def backward(self, g):
        needs = self.needs
        gx = g * self.s if needs[0] else None
        gg = unbroadcast(g * ((self.x - self.mean) * self.inv_std), self.bshape).reshape(self.gshape) \
            if needs[1] else None
        gb = unbroadcast(g, self.bshape).reshape(self.beshape) if needs[2] else None
        return gx, gg, gb, None, None


def batch_norm_train(x, gamma, beta, axes, bshape, epsilon):
    """Training batch normalisation; returns (y Tensor, batch mean, batch variance) where the statistics
    are arrays with gamma's number of elements (for the moving averages)."""
    stats = []
    y = NormalizeFn.apply(x, gamma, beta, axes=axes, bshape=bshape, epsilon=epsilon, stats=stats)
    mean, var = stats[0]
    return y, mean, var


def batch_norm_infer(x, gamma, beta, mean, var, bshape, epsilon):
    return AffineNormFn.apply(x, gamma, beta, mean, var, bshape=bshape, epsilon=epsilon)


def layer_norm(x, gamma, beta, axes, bshape, epsilon):
    return NormalizeFn.apply(x, gamma, beta, axes=axes, bshape=bshape, epsilon=epsilon)
