"""Adafactor (Shazeer & Stern 2018, Algorithms 4 and 5 with update clipping), as Keras 3 writes it.

With t = iterations + 1:
    ρ_t = min(α, 1 / sqrt(t));   α_t = max(ε₂, RMS(w)) · ρ_t          (relative step size)
    β̂₂ₜ = 1 − t^(beta_2_decay);   G = g² + ε₁
    w of rank ≥ 2 (factored over its last two axes):
        R = β̂₂ₜ R + (1 − β̂₂ₜ) mean(G, axis=−1);   C = β̂₂ₜ C + (1 − β̂₂ₜ) mean(G, axis=−2)
        v = (R / mean(R, axis=−1))[..., :, None] · C[..., None, :]
    otherwise:   v = β̂₂ₜ v + (1 − β̂₂ₜ) G
    u = g / sqrt(v);   û = u / max(1, RMS(u) / d)                      (d = clip_threshold)
    w −= α_t û
ρ_t always takes the min with 1/sqrt(t), as in Keras, so ``relative_step`` (kept for the config) changes
nothing further. Only R and C are state for a factored variable (Keras also keeps a full-size v there, which
it overwrites every step); they are saved as the slots "velocity_row" and "velocity_col".
"""
import math

from .. import backend
from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Adafactor(Optimizer):
    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                 relative_step=True, name="adafactor", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._r, self._c, self._v = [], [], []
        for var in variables:
            shape = tuple(var.data.shape)
            if len(shape) >= 2:
                self._r.append(self._shaped_slot(var, "velocity_row", shape[:-1]))
                self._c.append(self._shaped_slot(var, "velocity_col", shape[:-2] + shape[-1:]))
                self._v.append(None)
            else:
                self._r.append(None)
                self._c.append(None)
                self._v.append(self.add_variable_from_reference(var, "velocity"))

    def _shaped_slot(self, variable, name, shape):
        """A zero slot of ``shape`` on the variable's device and dtype, saved with the others (get_state)."""
        data = variable.data
        arr = backend.get_array_module(data).zeros(shape, dtype=data.dtype)
        self._slots.append((self._index[id(variable)], name, arr))
        return arr

    @staticmethod
    def _rms(xp, x):
        return xp.sqrt(xp.mean(xp.square(x)))

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g = variable.data, gradient
        xp = backend.get_array_module(w)
        t = self.iterations + 1
        rho = min(learning_rate, 1.0 / math.sqrt(t))
        alpha = xp.maximum(self._rms(xp, w), self.epsilon_2) * rho          # α_t = max(ε₂, RMS(w)) ρ_t
        beta = 1.0 - t ** self.beta_2_decay                                 # β̂₂ₜ
        G, v = self._scratch(w, 0), self._scratch(w, 1)
        xp.multiply(g, g, out=G)
        G += self.epsilon_1                                                 # G = g² + ε₁
        if self._v[i] is None:
            r, c = self._r[i], self._c[i]
            r *= beta
            r += (1.0 - beta) * xp.mean(G, axis=-1)                         # R = β̂ R + (1 − β̂) mean(G, −1)
            c *= beta
            c += (1.0 - beta) * xp.mean(G, axis=-2)                         # C = β̂ C + (1 − β̂) mean(G, −2)
            xp.multiply((r / xp.mean(r, axis=-1, keepdims=True))[..., None], c[..., None, :], out=v)
        else:
            v = self._v[i]
            v *= beta
            G *= 1.0 - beta
            v += G                                                          # v = β̂ v + (1 − β̂) G
        u = G
        xp.sqrt(v, out=u)
        xp.divide(g, u, out=u)                                              # u = g / sqrt(v)
        u /= xp.maximum(self._rms(xp, u) / self.clip_threshold, 1.0)        # û = u / max(1, RMS(u) / d)
        u *= alpha
        w -= u                                                              # w −= α_t û

    def get_config(self):
        config = super().get_config()
        config.update({"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                       "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                       "relative_step": self.relative_step})
        return config
