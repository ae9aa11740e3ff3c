"""Adamax (Kingma & Ba 2015, §7.1: Adam with the infinity norm), as Keras 3 writes it.

With t = iterations + 1:
    m = β₁ m + (1 − β₁) g;   u = max(β₂ u, |g|)
    w −= α m / ((1 − β₁ᵗ)(u + ε))
(torch.optim.Adamax puts ε inside the max: u = max(β₂ u, |g| + ε), and divides by u alone.)
"""
import numpy as np

from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Adamax(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._m = self.add_optimizer_variables(variables, "m")
        self._u = self.add_optimizer_variables(variables, "norm")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, b1 = variable.data, gradient, self.beta_1
        t = self.iterations + 1
        m, u = self._m[i], self._u[i]
        buf = self._scratch(w)
        np.subtract(g, m, out=buf)
        buf *= 1 - b1
        m += buf                                         # m += (g − m)(1 − β₁)
        u *= self.beta_2
        np.abs(g, out=buf)
        np.maximum(u, buf, out=u)                        # u = max(β₂ u, |g|)
        np.add(u, self.epsilon, out=buf)
        np.divide(m, buf, out=buf)
        buf *= learning_rate / (1 - b1 ** t)
        w -= buf                                         # w −= α m / ((1 − β₁ᵗ)(u + ε))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
