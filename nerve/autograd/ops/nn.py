"""Fused layer kernels (hot paths): Dense = matmul + bias + activation in one node.

Forward  z = x W + b,  y = act(z).  Backward with  d = dy * act'(z):
dW = x^T d,  db = sum_rows d,  dx = d W^T  (seed-002 §1.3: dW = dZ A_prev^T / m in column layout).
With the compiled kernels (ops/jit.py) and NumPy float arrays, bias + ReLU is one pass and so are
[z > 0] and the bias' column sums, run on the calling thread (serial variants: BLAS's worker threads
still spin after the GEMM, and a second kernel thread would wait for them; measured on the MLP).
"""
import numpy as np

from . import gpu, jit
from ..function import Function
from .activation import _sigmoid

FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def _fused(x2, w, b, activation):
    """The compiled serial kernels when they apply to this Dense call, else None."""
    if (activation not in ("relu", "linear") or b is None or type(x2) is not np.ndarray
            or type(w) is not np.ndarray or type(b) is not np.ndarray or w.dtype.char not in "fd"
            or not x2.dtype == w.dtype == b.dtype):
        return None
    K = jit.kernels()
    return None if K is None else K.serial


class DenseFn(Function):
    name = "dense"

    def forward(self, x, w, b, activation="linear"):
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        z = x2 @ w
        K = self.kernels = _fused(x2, w, b, activation)
        G = gpu.kernels(z) if K is None and activation == "relu" and b is not None and b.dtype == z.dtype else None
        if K is not None:
            K.bias_act(z, b, activation == "relu")  # z = max(z + b, 0) or z + b, in place
        elif G is not None:
            G.bias_relu(b, z)  # one CuPy kernel: z = max(z + b, 0)
        else:
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
        needs = self.needs
        gb = None
        if a == "relu" and self.kernels is not None and type(g) is np.ndarray and g.dtype == out.dtype:
            d = np.empty(out.shape, out.dtype)
            sums = np.empty((1, out.shape[1]), out.dtype)  # one chunk: rows added in order, as NumPy's sum
            self.kernels.act_grad_colsum(np.ascontiguousarray(g), out, True, d, sums)  # d = g [z > 0]
            if needs[2]:
                gb = sums[0]
        elif a == "relu":
            G = gpu.kernels(g)
            d = G.relu_grad(g, out) if G is not None and g.dtype == out.dtype else g * (out > 0)
        elif a == "sigmoid":
            d = g * out * (1 - out)
        elif a == "tanh":
            d = g * (1 - out * out)
        else:
            d = g
        gx = (d @ self.w.T).reshape(self.lead + (self.w.shape[0],)) if needs[0] else None
        gw = self.x2.T @ d if needs[1] else None
        if gb is None and self.has_b and needs[2]:
            gb = gpu.colsum(d) if gpu.kernels(d) is not None and d.ndim == 2 else d.sum(axis=0)
        return gx, gw, gb, None
