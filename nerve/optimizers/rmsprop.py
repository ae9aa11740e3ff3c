"""RMSprop (Hinton 2012; seed-002 5.3.10), with Keras' momentum and centered variants.

    s = ρ s + (1 − ρ) g²                         (velocity)
    centered: ḡ = ρ ḡ + (1 − ρ) g;  d = s − ḡ² + ε     else  d = s + ε
    Δ = α g / sqrt(d)
    momentum μ > 0:  m = μ m + Δ;  w −= m       else  w −= Δ
ε sits INSIDE the square root, as in Keras 3 and in the seed's equation W −= α dW / sqrt(s + ε)
(torch.optim.RMSprop adds ε outside: sqrt(s) + ε).
"""
import numpy as np

from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="rmsprop",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum > 0 else []
        self._average_gradients = (self.add_optimizer_variables(variables, "average_gradient")
                                   if self.centered else [])

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, rho = variable.data, gradient, self.rho
        buf = self._scratch(w)
        s = self._velocities[i]
        s *= rho
        np.multiply(g, g, out=buf)
        buf *= 1 - rho
        s += buf                                         # s = ρ s + (1−ρ) g²
        if self.centered:
            a = self._average_gradients[i]
            a *= rho
            np.multiply(g, 1 - rho, out=buf)
            a += buf                                     # ḡ = ρ ḡ + (1−ρ) g
            np.multiply(a, a, out=buf)
            np.subtract(s, buf, out=buf)
            buf += self.epsilon                          # d = s − ḡ² + ε
        else:
            np.add(s, self.epsilon, out=buf)             # d = s + ε
        np.sqrt(buf, out=buf)
        np.divide(g, buf, out=buf)
        buf *= learning_rate                             # Δ = α g / sqrt(d)
        if self._momentums:
            m = self._momentums[i]
            m *= self.momentum
            m += buf                                     # m = μ m + Δ
            w -= m
        else:
            w -= buf

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
