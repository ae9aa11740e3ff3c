"""Adadelta (Zeiler 2012), as Keras 3 writes it.

    E[g²]  = ρ E[g²] + (1 − ρ) g²
    Δ      = − sqrt(E[Δ²] + ε) / sqrt(E[g²] + ε) · g
    E[Δ²]  = ρ E[Δ²] + (1 − ρ) Δ²
    w     += α Δ                                  (Keras keeps a learning rate; Zeiler's α is 1)
"""
import numpy as np

from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Adadelta(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulated_grads = self.add_optimizer_variables(variables, "accumulated_grad")
        self._accumulated_delta_vars = self.add_optimizer_variables(variables, "accumulated_delta_var")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, rho, eps = variable.data, gradient, self.rho, self.epsilon
        eg2, ed2 = self._accumulated_grads[i], self._accumulated_delta_vars[i]
        step, buf = self._scratch(w, 0), self._scratch(w, 1)
        eg2 *= rho
        np.multiply(g, g, out=buf)
        buf *= 1 - rho
        eg2 += buf                                       # E[g²] = ρ E[g²] + (1−ρ) g²
        np.add(ed2, eps, out=step)
        np.sqrt(step, out=step)
        step *= g
        np.add(eg2, eps, out=buf)
        np.sqrt(buf, out=buf)
        step /= buf                                      # step = −Δ = sqrt(E[Δ²]+ε) g / sqrt(E[g²]+ε)
        ed2 *= rho
        np.multiply(step, step, out=buf)
        buf *= 1 - rho
        ed2 += buf                                       # E[Δ²] = ρ E[Δ²] + (1−ρ) Δ²
        step *= learning_rate
        w -= step                                        # w += α Δ

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
