"""Adagrad (Duchi et al. 2011; seed-002 §1.8 names it, no equation printed).

    G += g²;   w −= α g / sqrt(G + ε)        G starts at initial_accumulator_value
ε inside the square root as in Keras 3 (the seed's "standard form" and torch.optim.Adagrad use sqrt(G) + ε).
"""
import numpy as np

from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Adagrad(Optimizer):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="adagrad", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulators = self.add_optimizer_variables(variables, "accumulator",
                                                          initializer=self.initial_accumulator_value)

    def update_step(self, gradient, variable, learning_rate):
        w, g = variable.data, gradient
        acc = self._accumulators[self._get_variable_index(variable)]
        buf = self._scratch(w)
        np.multiply(g, g, out=buf)
        acc += buf                                       # G += g²
        np.add(acc, self.epsilon, out=buf)
        np.sqrt(buf, out=buf)
        np.divide(g, buf, out=buf)
        buf *= learning_rate
        w -= buf                                         # w −= α g / sqrt(G + ε)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
