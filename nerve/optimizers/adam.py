"""Adam (Kingma & Ba 2015; seed-002 5.3.11) and AdamW (Loshchilov & Hutter 2019), as Keras 3 writes them.

With t = iterations + 1:
    m = β₁ m + (1 − β₁) g;   v = β₂ v + (1 − β₂) g²          (amsgrad: v̂ = max(v̂, v), used for v)
    α_t = α · sqrt(1 − β₂ᵗ) / (1 − β₁ᵗ)
    w −= α_t · m / (sqrt(v) + ε)
This is the "ε-hat" form of the paper (formula before its §2.1): ε is added to the *uncorrected* sqrt(v).
In the bias-corrected form w −= α m̂ / (sqrt(v̂) + ε') it equals ε' = ε / sqrt(1 − β₂ᵗ), so it matches
torch.optim.Adam only up to that ε (exactly when ε = 0). ε sits outside the square root, as in the seed's
code (its printed equation puts it inside) and Keras' default ε is 1e-7 (torch: 1e-8).
AdamW is Adam plus the base class' decoupled weight decay w −= α·wd·w (default wd = 0.004).
"""
import math

import numpy as np

from ..autograd.ops import gpu, jit
from ..saving.registry import register
from .base import Optimizer


def update_moments(g, m, v, b1, b2, buf):
    """Adam's moment estimates, in place (``buf`` is scratch of g's shape; shared with Nadam):
    m += (g − m)(1 − β₁) = β₁ m + (1 − β₁) g;   v += (g² − v)(1 − β₂) = β₂ v + (1 − β₂) g²."""
    np.subtract(g, m, out=buf)
    buf *= 1 - b1
    m += buf
    np.multiply(g, g, out=buf)
    buf -= v
    buf *= 1 - b2
    v += buf


_TINY = {np.dtype(np.float32): np.float32(np.finfo(np.float32).tiny),
         np.dtype(np.float64): np.float64(np.finfo(np.float64).tiny)}


def _fused_adam(K, w, g, m, v, consts):
    """The update below in one compiled pass (ops/jit.py) when the arrays allow it; False otherwise.
    ``consts`` is (1 - β₁, 1 - β₂, α_t, ε, tiny) in the arrays' dtype (float32 math as in the NumPy path)."""
    if (K is None or not type(w) is type(g) is type(m) is type(v) is np.ndarray
            or not w.dtype == g.dtype == m.dtype == v.dtype == consts[0].dtype
            or not (w.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous)):
        return False
    if not g.flags.c_contiguous:  # a transposed gradient: one copy beats eight strided NumPy passes
        g = np.ascontiguousarray(g)
    K.adam(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), *consts)
    return True


@register("optimizers")
class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name="adam",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat") if self.amsgrad else []

    def _alpha(self, learning_rate):
        b1, b2, t = self.beta_1, self.beta_2, self.iterations + 1
        return learning_rate * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)

    def _kernel_constants(self, dtype, alpha):
        """(1 − β₁, 1 − β₂, α_t, ε, tiny) in ``dtype`` for the compiled update, or None (not a float dtype)."""
        tiny = _TINY.get(dtype)
        if tiny is None:
            return None
        t = dtype.type
        return t(1 - self.beta_1), t(1 - self.beta_2), t(alpha), t(self.epsilon), tiny

    def _update_steps(self, grads, variables, learning_rate):
        if type(self).update_step is not Adam.update_step:  # a subclass' own update_step: call it per variable
            return super()._update_steps(grads, variables, learning_rate)
        alpha = self._alpha(learning_rate)  # once per update, not per variable
        K = None if self.amsgrad else jit.kernels()
        consts = {}
        for g, variable in zip(grads, variables):
            w = variable.data
            c = consts.get(w.dtype) or consts.setdefault(w.dtype, self._kernel_constants(w.dtype, alpha))
            self._step(self._index[id(variable)], w, g, alpha, c, K)

    def update_step(self, gradient, variable, learning_rate):
        alpha = self._alpha(learning_rate)
        w = variable.data
        self._step(self._get_variable_index(variable), w, gradient, alpha, self._kernel_constants(w.dtype, alpha),
                   None if self.amsgrad else jit.kernels())

    def _step(self, i, w, g, alpha, c, K):
        """One variable's update: the compiled pass (its flat views kept once _fused_adam accepted the arrays),
        else NumPy."""
        m, v = self._momentums[i], self._velocities[i]
        flat = self.__dict__.setdefault("_flat", {})
        f = flat.get(i)  # (w, m, v, their flat views)
        if K is not None and f is not None and f[0] is w and f[1] is m and f[2] is v and type(g) is type(w) \
                and g.dtype == w.dtype and g.flags.c_contiguous:
            K.adam(f[3], g.reshape(-1), f[4], f[5], *c)
        elif c is not None and _fused_adam(K, w, g, m, v, c):
            flat[i] = (w, m, v, w.reshape(-1), m.reshape(-1), v.reshape(-1))
        elif c is not None and not self.amsgrad and gpu.kernels(w) is not None and g.dtype == w.dtype:
            gpu.kernels(w).adam(g, c[0], c[1], c[2], c[3], w, m, v)  # one CuPy kernel
        else:
            self._numpy_step(i, w, g, alpha)

    def _numpy_step(self, i, w, g, alpha):
        b1, b2 = self.beta_1, self.beta_2
        m, v = self._momentums[i], self._velocities[i]
        self._numpy_updates = True  # the base class' periodic subnormal flush is needed (see _flush_subnormals)
        buf = self._scratch(w)
        update_moments(g, m, v, b1, b2, buf)
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            np.maximum(v_hat, v, out=v_hat)              # v̂ = max(v̂, v)
            v = v_hat
        np.sqrt(v, out=buf)
        buf += self.epsilon
        np.divide(m, buf, out=buf)
        buf *= alpha
        w -= buf                                         # w −= α_t m / (sqrt(v) + ε)

    def _flush_subnormals(self):
        # the compiled update already stores subnormal moments as 0 each step: flush only after NumPy updates
        # (the base flush is three passes over every slot: ~0.5 ms per call for the 235k-weight MLP)
        if self.__dict__.pop("_numpy_updates", False) or self.amsgrad:
            super()._flush_subnormals()

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


@register("optimizers")
class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adamw", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("AdamW: argument 'weight_decay' must be a float, got None")
