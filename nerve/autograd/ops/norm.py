"""Fused normalisation kernels: batch / layer normalisation in one node each.

Training-mode normalisation over the reduction axes R (m = number of reduced elements):
    mu = mean_R x,  var = mean_R (x - mu)^2  (biased, as Keras and torch use in the forward),
    xhat = (x - mu) / sqrt(var + eps),  y = gamma * xhat + beta.
Backward (Ioffe & Szegedy 2015, simplified):
    dbeta = sum_{R'} g,  dgamma = sum_{R'} g * xhat   (R' = axes along which gamma is broadcast),
    dxhat = g * gamma,
    dx = (dxhat - mean_R dxhat - xhat * mean_R (dxhat * xhat)) / sqrt(var + eps).
Batch normalisation reduces over every axis except the feature axes (gamma lives on the feature axes);
layer normalisation reduces over the feature axes (gamma lives on the same axes).

Inference-mode batch normalisation is the affine map y = x * s + t with s = gamma / sqrt(moving_var + eps)
and t = beta - moving_mean * s:  dx = g * s,  dgamma = sum g * (x - moving_mean) / sqrt(moving_var + eps),
dbeta = sum g.
"""
import numpy as np

from ..function import Function, unbroadcast


def _param(p, bshape):
    return None if p is None else p.reshape(bshape)


class NormalizeFn(Function):
    """y = gamma * (x - mean_R x) / sqrt(var_R x + eps) + beta, statistics over ``axes`` of this batch.

    ``bshape`` is the broadcast shape of gamma / beta (same rank as x). ``mean`` / ``var`` may be passed
    when the caller already computed the statistics of this x (they are treated as functions of x).
    """
    name = "normalize"

    def forward(self, x, gamma, beta, axes=(0,), bshape=None, epsilon=1e-3, mean=None, var=None):
        if mean is None:
            mean = x.mean(axis=axes, keepdims=True)
        if var is None:
            var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + epsilon)
        xhat = (x - mean) * inv_std
        bshape = bshape or tuple(1 if i in axes else n for i, n in enumerate(x.shape))
        g_, b_ = _param(gamma, bshape), _param(beta, bshape)
        y = xhat * g_ if g_ is not None else xhat.copy()
        if b_ is not None:
            y += b_
        self.xhat, self.inv_std, self.axes, self.gamma, self.bshape = xhat, inv_std, axes, g_, bshape
        self.gshape = None if gamma is None else gamma.shape
        self.beshape = None if beta is None else beta.shape
        return y.astype(x.dtype, copy=False)

    def backward(self, g):
        needs, xhat = self.needs, self.xhat
        gx = gg = gb = None
        if needs[2]:
            gb = unbroadcast(g, self.bshape).reshape(self.beshape)  # dbeta = sum g
        if needs[1]:
            gg = unbroadcast(g * xhat, self.bshape).reshape(self.gshape)  # dgamma = sum g xhat
        if needs[0]:
            dxhat = g * self.gamma if self.gamma is not None else g
            axes = self.axes
            # dx = (dxhat - mean dxhat - xhat mean(dxhat xhat)) / sqrt(var + eps)
            gx = dxhat - dxhat.mean(axis=axes, keepdims=True) - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True)
            gx *= self.inv_std
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
        self.x, self.mean, self.inv_std, self.s = x, mean, inv_std, s
        self.gshape = None if gamma is None else gamma.shape
        self.beshape = None if beta is None else beta.shape
        self.bshape = bshape
        return (x * s + t).astype(x.dtype, copy=False)

    def backward(self, g):
        needs = self.needs
        gx = g * self.s if needs[0] else None
        gg = unbroadcast(g * ((self.x - self.mean) * self.inv_std), self.bshape).reshape(self.gshape) \
            if needs[1] else None
        gb = unbroadcast(g, self.bshape).reshape(self.beshape) if needs[2] else None
        return gx, gg, gb, None, None


def batch_norm_train(x, gamma, beta, axes, bshape, epsilon):
    """Training batch normalisation; returns (y Tensor, batch mean array, batch variance array).
    The statistics come back (reshaped to gamma's shape by the caller) for the moving averages."""
    from ..tensor import Tensor
    xd = x.data if isinstance(x, Tensor) else x
    mean = xd.mean(axis=axes, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=axes, keepdims=True)
    y = NormalizeFn.apply(x, gamma, beta, axes=axes, bshape=bshape, epsilon=epsilon, mean=mean, var=var)
    return y, mean, var


def batch_norm_infer(x, gamma, beta, mean, var, bshape, epsilon):
    return AffineNormFn.apply(x, gamma, beta, mean, var, bshape=bshape, epsilon=epsilon)


def layer_norm(x, gamma, beta, axes, bshape, epsilon):
    return NormalizeFn.apply(x, gamma, beta, axes=axes, bshape=bshape, epsilon=epsilon)
