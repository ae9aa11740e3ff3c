"""Nadam (Dozat 2016: Adam with Nesterov momentum), as Keras 3 writes it.

With t = iterations + 1 and the momentum schedule μ_t = β₁ (1 − ½ · 0.96ᵗ) (Keras uses 0.96ᵗ; Dozat and
torch.optim.NAdam use 0.96^(t·ψ) with ψ = 0.004, so torch matches with momentum_decay=1):
    Π_t = Π_{t−1} μ_t  (kept across steps, starts at 1);  Π_{t+1} = Π_t μ_{t+1}
    m = β₁ m + (1 − β₁) g;   v = β₂ v + (1 − β₂) g²
    m̂ = μ_{t+1} m / (1 − Π_{t+1}) + (1 − μ_t) g / (1 − Π_t);   v̂ = v / (1 − β₂ᵗ)
    w −= α m̂ / (sqrt(v̂) + ε)
"""
import numpy as np

from ..saving.registry import register
from .adam import update_moments
from .base import Optimizer


@register("optimizers")
class Nadam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="nadam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self._u_product = 1.0

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._u_product = 1.0

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def _update_steps(self, grads, variables, learning_rate):
        self._u_product *= self._mu(self.iterations + 1)          # Π_t = Π_{t−1} μ_t, once per update
        super()._update_steps(grads, variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, b1, b2 = variable.data, gradient, self.beta_1, self.beta_2
        t = self.iterations + 1
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        prod_t = self._u_product
        prod_next = prod_t * mu_next
        m, v = self._momentums[i], self._velocities[i]
        num, buf = self._scratch(w, 0), self._scratch(w, 1)
        update_moments(g, m, v, b1, b2, buf)
        np.multiply(m, mu_next / (1 - prod_next), out=num)
        np.multiply(g, (1 - mu_t) / (1 - prod_t), out=buf)
        num += buf                                       # m̂
        np.multiply(v, 1 / (1 - b2 ** t), out=buf)
        np.sqrt(buf, out=buf)
        buf += self.epsilon                              # sqrt(v̂) + ε
        num /= buf
        num *= learning_rate
        w -= num                                         # w −= α m̂ / (sqrt(v̂) + ε)

    def _scalar_state(self):
        return {"u_product": self._u_product}

    def _set_scalar_state(self, scalars):
        if "u_product" in scalars:
            self._u_product = float(scalars["u_product"])

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
