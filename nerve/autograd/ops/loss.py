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
from ... import backend
from ..function import Function
from .activation import _sigmoid


def _xp(a):
    return backend.get_array_module(a)


def _needs(fn, i):
    """Whether input i needs a gradient (``needs`` is empty when no graph is recorded)."""
    return bool(fn.needs) and bool(fn.needs[i])


class SoftmaxCrossEntropy(Function):
    """Per-sample -sum_k y_k log softmax(x)_k; ``sparse`` means y holds integer labels (x's shape minus axis)."""
    name = "softmax_cross_entropy"

    def forward(self, x, y, axis=-1, sparse=False):
        xp = _xp(x)
        axis = axis % x.ndim
        z = x - x.max(axis=axis, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=axis, keepdims=True)
        log_s = xp.log(s)
        self.axis, self.sparse = axis, sparse
        if sparse:
            idx = xp.expand_dims(y, axis)
            picked = xp.take_along_axis(z, idx, axis=axis)
            loss = (log_s - picked).squeeze(axis)  # -log p_label = log sum e^z - z_label
            self.idx = idx
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
        xp = _xp(g)
        ge = xp.expand_dims(g, self.axis)
        gx = gy = None
        if _needs(self, 0):
            p = self.p
            if self.sparse:  # (p - onehot(label)) g, without touching the saved p
                gx = p * ge
                xp.put_along_axis(gx, self.idx, xp.take_along_axis(gx, self.idx, axis=self.axis) - ge,
                                  axis=self.axis)
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
            idx = xp.expand_dims(y, axis)
            loss = -xp.take_along_axis(logc, idx, axis=axis).squeeze(axis)
            self.idx = idx
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
            if self.sparse:
                gq = xp.zeros_like(self.q)
                c_l = xp.take_along_axis(self.c, self.idx, axis=self.axis)
                m_l = xp.take_along_axis(self.mask, self.idx, axis=self.axis)
                xp.put_along_axis(gq, self.idx, -(m_l / c_l), axis=self.axis)
            else:
                gq = -self.y / self.c * self.mask
            gq *= ge
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
