"""Lion ("EvoLved Sign Momentum", Chen et al. 2023, Algorithm 2), as Keras 3 writes it.

    c = β₁ m + (1 − β₁) g
    w −= α sign(c)                         (decoupled weight decay, if set, is the base class' w −= α·wd·w)
    m = β₂ m + (1 − β₂) g
Every coordinate moves by exactly ±α (or 0), so Lion wants a learning rate 3-10x smaller than AdamW's.
"""
from .. import backend
from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Lion(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name="lion", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(f"Lion: argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                             f"degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        w, g = variable.data, gradient
        m = self._momentums[self._get_variable_index(variable)]
        xp = backend.get_array_module(w)
        c, buf = self._scratch(w, 0), self._scratch(w, 1)
        xp.multiply(m, self.beta_1, out=c)
        xp.multiply(g, 1.0 - self.beta_1, out=buf)
        c += buf                                         # c = β₁ m + (1 − β₁) g
        xp.sign(c, out=c)
        c *= learning_rate
        w -= c                                           # w −= α sign(c)
        m *= self.beta_2
        xp.multiply(g, 1.0 - self.beta_2, out=buf)
        m += buf                                         # m = β₂ m + (1 − β₂) g

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
