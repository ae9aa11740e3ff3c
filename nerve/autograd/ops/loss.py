"""Fused, numerically stable loss Functions (forward + hand-written derivative).

Each returns the per-sample loss reduced over the class / feature axis, so a loss costs one graph node.
Targets are constants in practice, but their gradient is also given (needed when both sides are outputs).

  softmax cross-entropy (logits x, targets y along ``axis``):
      log p = z - log sum e^z with z = x - max x            (max subtracted: no overflow)
      L = -sum_k y_k log p_k ;  dL/dx = (sum_k y_k) p - y ;  dL/dy = -log p
  cross-entropy from probabilities (Keras: normalise, then clip to [eps, 1 - eps]):
      q = p / sum p ;  c = clip(q, eps, 1 - eps) ;  L = -sum_k y_k log c_k
      dL/dq = -y / c on the unclipped entries ;  dL/dp_k = (dL/dq_k - sum_j dL/dq_j q_j) / sum p
  sigmoid binary cross-entropy with logits x and targets z (mean over ``axis``):
      l = max(x, 0) - x z + log1p(e^-|x|) ;  dl/dx = sigma(x) - z ;  dl/dz = -x
  binary cross-entropy from probabilities p (clipped to [eps, 1 - eps]):
      l = -(z log c + (1 - z) log(1 - c)) ;  dl/dp = (c - z) / (c (1 - c)) on the unclipped entries
"""
import numpy as np

from ... import backend
from ..function import Function
from . import gpu, jit
from .activation import _sigmoid


def _xp(a):
    return backend.get_array_module(a)


def _needs(fn, i):
    """Whether input i needs a gradient (``needs`` is empty when no graph is recorded)."""
    return bool(fn.needs) and bool(fn.needs[i])


def _pick(a, labels, axis):
    """a[..., labels, ...] along ``axis``: one entry per label (shape = labels.shape)."""
    xp = _xp(a)
    if axis == a.ndim - 1:  # the common case: fancy indexing on a (rows, classes) view
        flat = a.reshape(-1, a.shape[-1])
        return flat[xp.arange(flat.shape[0]), labels.reshape(-1)].reshape(labels.shape)
    return xp.take_along_axis(a, xp.expand_dims(labels, axis), axis=axis).squeeze(axis)


def _add_at_label(a, labels, axis, v):
    """a[..., labels, ...] += v in place (one label per position, so no index repeats)."""
    xp = _xp(a)
    if axis == a.ndim - 1:
        flat = a.reshape(-1, a.shape[-1])  # a view: a is contiguous (freshly computed)
        flat[xp.arange(flat.shape[0]), labels.reshape(-1)] += v.reshape(-1)
        return
    idx = xp.expand_dims(labels, axis)
    xp.put_along_axis(a, idx, xp.take_along_axis(a, idx, axis=axis) + xp.expand_dims(v, axis), axis=axis)


class SoftmaxCrossEntropy(Function):
    """Per-sample -sum_k y_k log softmax(x)_k; ``sparse`` means y holds integer labels (x's shape minus axis);
    ``mean`` returns their mean instead (one node for a loss' default reduction)."""
    name = "softmax_cross_entropy"

    def forward(self, x, y, axis=-1, sparse=False, mean=False):
        loss = self._per_sample(x, y, axis, sparse)
        if not mean:
            self.n = None
            return loss
        # mean over the samples in this node (losses' common reduction): sum / n, as ops.mean computes it
        self.n, self.loss_shape = max(1, loss.size), loss.shape
        return loss.sum() / self.n

    def _per_sample(self, x, y, axis, sparse):
        axis = axis % x.ndim
        self.axis, self.sparse, self.kernels = axis, sparse, None
        if sparse and axis == x.ndim - 1 and type(x) is np.ndarray and x.dtype.char in "fd" and \
                type(y) is np.ndarray and y.dtype == np.int64:
            K = jit.kernels()
            if K is not None:  # compiled row passes (ops/jit.py)
                x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
                p, loss = np.empty_like(x2), np.empty(x2.shape[0], x.dtype)
                K.softmax_xent_shift(x2, y.reshape(-1), p, loss)  # p = x - max; loss = the label's entry
                np.exp(p, out=p)
                K.softmax_xent_norm(p, loss, loss)  # loss = log sum - picked; p = softmax
                self.y, self.kernels = y, K
                if _needs(self, 0):
                    self.p = p.reshape(x.shape)
                return loss.reshape(y.shape)
        xp = _xp(x)
        G = gpu.kernels(x) if sparse and axis == x.ndim - 1 and y.dtype == np.int64 else None
        if G is not None:  # the GPU: one kernel over the rows (ops/gpu.py); out-of-range labels give NaN
            x2 = xp.ascontiguousarray(x).reshape(-1, x.shape[-1])
            p, loss = xp.empty_like(x2), xp.empty(x2.shape[0], x.dtype)
            G.softmax_xent(x2, xp.ascontiguousarray(y).reshape(-1), x2.shape[1], loss, p)
            self.y, self.gk = y, G
            if _needs(self, 0):
                self.p = p.reshape(x.shape)
            return loss.reshape(y.shape)
        z = x - x.max(axis=axis, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=axis, keepdims=True)
        log_s = xp.log(s)
        if sparse:
            picked = _pick(z, y, axis)
            loss = log_s.squeeze(axis) - picked  # -log p_label = log sum e^z - z_label
            self.y = y
        else:
            logp = z - log_s
            loss = -(y * logp).sum(axis=axis)
            if _needs(self, 1):
                self.logp = logp
            self.y = y
        if _needs(self, 0):
            e /= s  # softmax, reused by backward
            self.p = e
        return loss

    def backward(self, g):
        G = self.__dict__.get("gk")
        if G is not None and self.n is not None and _needs(self, 0) and g.dtype == self.p.dtype:
            p = self.p.reshape(-1, self.p.shape[-1])  # the GPU: the mean's g / n and (p - onehot) in one kernel
            gx = G.softmax_xent_grad(p, self.y.reshape(-1), g.reshape(1), g.dtype.type(self.n), p.shape[1])
            return gx.reshape(self.p.shape), None
        if self.n is not None:  # the mean's gradient g / n, per sample (ops.mean's backward)
            gm = g / self.n
            g = _xp(gm).empty_like(gm, shape=self.loss_shape)
            g[...] = gm
        gx = gy = None
        if self.kernels is not None and _needs(self, 0) and type(g) is np.ndarray and g.dtype == self.p.dtype:
            p = self.p.reshape(-1, self.p.shape[-1])  # the compiled pass over (rows, classes)
            gx = np.empty_like(p)
            self.kernels.softmax_xent_grad(p, self.y.reshape(-1), np.ascontiguousarray(g).reshape(-1), gx)
            return gx.reshape(self.p.shape), None
        xp = _xp(g)
        ge = xp.expand_dims(g, self.axis)
        if _needs(self, 0):
            p = self.p
            if self.sparse:  # (p - onehot(label)) g, without touching the saved p
                gx = p * ge
                _add_at_label(gx, self.y, self.axis, -g)
            else:
                gx = (p * self.y.sum(axis=self.axis, keepdims=True) - self.y) * ge
        if not self.sparse and _needs(self, 1):
            gy = -self.logp * ge
        return gx, gy


class ProbCrossEntropy(Function):
    """Keras categorical cross-entropy from probabilities: normalise along axis, clip to [eps, 1 - eps], -sum y log."""
    name = "categorical_crossentropy"

    def forward(self, p, y, axis=-1, sparse=False, eps=1e-7):
        xp = _xp(p)
        axis = axis % p.ndim
        s = p.sum(axis=axis, keepdims=True)
        q = p / s
        c = xp.clip(q, eps, 1 - eps)
        logc = xp.log(c)
        self.axis, self.sparse = axis, sparse
        if sparse:
            loss = -_pick(logc, y, axis)
            self.y = y
        else:
            loss = -(y * logc).sum(axis=axis)
            self.y = y
            if _needs(self, 1):
                self.logc = logc
        if _needs(self, 0):
            self.q, self.s, self.c = q, s, c
            self.mask = (q >= eps) & (q <= 1 - eps)  # clip passes the gradient only inside the interval
        return loss

    def backward(self, g):
        xp = _xp(g)
        ge = xp.expand_dims(g, self.axis)
        gp = gy = None
        if _needs(self, 0):
            if self.sparse:  # dL/dq is -1/c at the label (where not clipped), 0 elsewhere
                gq = xp.zeros_like(self.q)
                c_l = _pick(self.c, self.y, self.axis)
                m_l = _pick(self.mask, self.y, self.axis)
                _add_at_label(gq, self.y, self.axis, -(m_l / c_l) * g)
            else:
                gq = -self.y / self.c * self.mask * ge
            gp = (gq - (gq * self.q).sum(axis=self.axis, keepdims=True)) / self.s
        if not self.sparse and _needs(self, 1):
            gy = -self.logc * ge
        return gp, gy


class SigmoidBinaryCrossEntropy(Function):
    """Mean over ``axis`` of max(x, 0) - x z + log1p(e^-|x|) for logits x and targets z (same shape)."""
    name = "sigmoid_binary_crossentropy"

    def forward(self, x, z, axis=-1):
        xp = _xp(x)
        elem = xp.maximum(x, 0) - x * z + xp.log1p(xp.exp(-xp.abs(x)))
        self.axis = axis % x.ndim if x.ndim else None
        self.n = x.shape[self.axis] if x.ndim else 1
        if _needs(self, 0) or _needs(self, 1):
            self.x, self.z = x, z
        return elem.mean(axis=self.axis) if x.ndim else elem

    def backward(self, g):
        xp = _xp(g)
        ge = (xp.expand_dims(g, self.axis) if self.axis is not None else g) / self.n
        gx = (_sigmoid(self.x) - self.z) * ge if _needs(self, 0) else None
        gz = -self.x * ge if _needs(self, 1) else None
        return gx, gz


class BinaryCrossEntropy(Function):
    """Mean over ``axis`` of -(z log c + (1 - z) log(1 - c)), c = clip(p, eps, 1 - eps) (Keras, from probabilities)."""
    name = "binary_crossentropy"

    def forward(self, p, z, axis=-1, eps=1e-7):
        xp = _xp(p)
        c = xp.clip(p, eps, 1 - eps)
        log_c, log_1mc = xp.log(c), xp.log1p(-c)
        elem = -(z * log_c + (1 - z) * log_1mc)
        self.axis = axis % p.ndim if p.ndim else None
        self.n = p.shape[self.axis] if p.ndim else 1
        if _needs(self, 0):
            self.c, self.z = c, z
            self.mask = (p >= eps) & (p <= 1 - eps)
        if _needs(self, 1):
            self.dz = log_1mc - log_c  # dl/dz = -(log c - log(1 - c))
        return elem.mean(axis=self.axis) if p.ndim else elem

    def backward(self, g):
        xp = _xp(g)
        ge = (xp.expand_dims(g, self.axis) if self.axis is not None else g) / self.n
        gp = gz = None
        if _needs(self, 0):
            c = self.c
            gp = (c - self.z) / (c * (1 - c)) * self.mask * ge
        if _needs(self, 1):
            gz = self.dz * ge
        return gp, gz


class SquaredError(Function):
    """Mean over ``axis`` of (p - t)^2 (Keras mean_squared_error); dl/dp = 2 (p - t) / n, dl/dt = -dl/dp."""
    name = "mean_squared_error"

    def forward(self, p, t, axis=-1):
        d = p - t
        self.axis = axis % p.ndim if p.ndim else None
        self.n = p.shape[self.axis] if p.ndim else 1
        if _needs(self, 0) or _needs(self, 1):
            self.d = d
        sq = d * d
        return sq.mean(axis=self.axis) if p.ndim else sq

    def backward(self, g):
        xp = _xp(g)
        ge = (xp.expand_dims(g, self.axis) if self.axis is not None else g) * (2.0 / self.n)
        gp = self.d * ge
        return (gp if _needs(self, 0) else None), (-gp if _needs(self, 1) else None)
