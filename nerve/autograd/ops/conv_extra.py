"""Small spatial kernels for the image layers: nearest-neighbour upsampling and the linear-interpolation
matrices used by bilinear resizing.

UpsampleNearest:  y[n, i*s_1 + a, j*s_2 + b, c] = x[n, i, j, c]  (every value repeated s times per axis);
its adjoint sums each s_1 x s_2 block:  dx[n, i, j, c] = sum_{a, b} dy[n, i*s_1 + a, j*s_2 + b, c].
"""
import numpy as np

from ..function import Function


class UpsampleNearest(Function):
    """Repeat the spatial axes 1..k of a (N, d_1, ..., d_k, C) array by integer ``factors``."""
    name = "upsample_nearest"

    def forward(self, x, factors=(2, 2)):
        self.shape, self.factors = x.shape, tuple(int(f) for f in factors)
        y = x
        for ax, f in enumerate(self.factors, start=1):
            if f != 1:
                y = np.repeat(y, f, axis=ax)
        return y

    def backward(self, g):
        # (N, d_1*s_1, ..., C) -> (N, d_1, s_1, d_2, s_2, ..., C), then sum the s axes
        n, c = self.shape[0], self.shape[-1]
        split = [n]
        for d, f in zip(self.shape[1:-1], self.factors):
            split += [d, f]
        g = g.reshape(split + [c])
        return g.sum(axis=tuple(range(2, 2 * len(self.factors) + 1, 2))), None


def linear_interp_matrix(n_in, n_out, dtype="float32"):
    """(n_out, n_in) matrix A with y = A x the 1-D linear resize of x using half-pixel centres (as
    tf.image.resize / Keras 'bilinear', no antialias): source coordinate u = (i + 0.5) n_in / n_out - 0.5,
    clamped to [0, n_in - 1], weights (1 - t, t) on floor(u) and floor(u) + 1."""
    a = np.zeros((n_out, n_in), dtype)
    u = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    u = np.clip(u, 0, n_in - 1)
    lo = np.floor(u).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    t = (u - lo).astype(dtype)
    rows = np.arange(n_out)
    np.add.at(a, (rows, lo), 1 - t)
    np.add.at(a, (rows, hi), t)
    return a
