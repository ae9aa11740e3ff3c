"""Fused layer kernels (hot paths): Dense = matmul + bias + activation in one node.

Forward  z = x W + b,  y = act(z).  Backward with  d = dy * act'(z):
dW = x^T d,  db = sum_rows d,  dx = d W^T  (seed-002 §1.3: dW = dZ A_prev^T / m in column layout).
"""
import numpy as np

from ..function import Function
from .activation import _sigmoid

FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


class DenseFn(Function):
    name = "dense"

    def forward(self, x, w, b, activation="linear"):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        z = x2 @ w
        if b is not None:
            z += b
        if activation == "relu":
            np.maximum(z, 0, out=z)
        elif activation == "sigmoid":
            z = _sigmoid(z)
        elif activation == "tanh":
            np.tanh(z, out=z)
        self.x2, self.w, self.out, self.act, self.lead = x2, w, z, activation, lead
        self.has_b = b is not None
        return z.reshape(lead + (w.shape[1],)) if x.ndim != 2 else z

    def backward(self, g):
        g = g.reshape(self.out.shape) if g.ndim != 2 else g
        a, out = self.act, self.out
        if a == "relu":
            d = g * (out > 0)
        elif a == "sigmoid":
            d = g * out * (1 - out)
        elif a == "tanh":
            d = g * (1 - out * out)
        else:
            d = g
        needs = self.needs
        gx = (d @ self.w.T).reshape(self.lead + (self.w.shape[0],)) if needs[0] else None
        gw = self.x2.T @ d if needs[1] else None
        gb = d.sum(axis=0) if self.has_b and needs[2] else None
        return gx, gw, gb, None
