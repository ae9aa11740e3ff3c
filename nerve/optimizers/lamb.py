"""LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning", Algorithm 2), as Keras 3 writes it.

With t = iterations + 1, per variable (a layer's weight tensor):
    m = β₁ m + (1 − β₁) g;   v = β₂ v + (1 − β₂) g²
    r = (m / (1 − β₁ᵗ)) / (sqrt(v / (1 − β₂ᵗ)) + ε)               (Adam's direction, bias-corrected)
    ratio = ‖w‖ / ‖r‖ if both norms are > 0, else 1                (the layer-wise trust ratio, φ = identity)
    w −= α · ratio · r
The paper adds λw to r before the norms; Keras (and nerve) apply weight decay as the base class' decoupled
w −= α·wd·w before this step instead. The norms stay on the variable's device (no host round trip).
"""
from .. import backend
from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Lamb(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="lamb", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, b1, b2 = variable.data, gradient, self.beta_1, self.beta_2
        m, v = self._momentums[i], self._velocities[i]
        xp = backend.get_array_module(w)
        t = self.iterations + 1
        r, buf = self._scratch(w, 0), self._scratch(w, 1)
        xp.subtract(g, m, out=buf)
        buf *= 1 - b1
        m += buf                                         # m = β₁ m + (1 − β₁) g
        xp.multiply(g, g, out=buf)
        buf -= v
        buf *= 1 - b2
        v += buf                                         # v = β₂ v + (1 − β₂) g²
        xp.divide(v, 1 - b2 ** t, out=buf)
        xp.sqrt(buf, out=buf)
        buf += self.epsilon
        xp.divide(m, 1 - b1 ** t, out=r)
        r /= buf                                         # r = m̂ / (sqrt(v̂) + ε)
        w_norm = xp.sqrt(xp.sum(xp.multiply(w, w, out=buf)))
        r_norm = xp.sqrt(xp.sum(xp.multiply(r, r, out=buf)))
        both = (w_norm > 0) & (r_norm > 0)
        ratio = xp.where(both, w_norm / xp.where(both, r_norm, 1.0), 1.0)   # ‖w‖ / ‖r‖, else 1
        r *= ratio * learning_rate
        w -= r                                           # w −= α · ratio · r

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
