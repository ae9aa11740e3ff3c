"""FTRL-Proximal ("Follow The Regularized Leader", McMahan et al. 2013, Algorithm 1), as Keras 3 writes it.

Per coordinate, with p = −learning_rate_power (0.5 in the paper: per-coordinate rate α / sqrt(n)):
    g' = g + 2 λ₂ₛ w                                     (L2 shrinkage: an L2 penalty added to the loss)
    n_new = n + g²;   σ = (n_newᵖ − nᵖ) / α
    z += g' − σ w
    w = (clip(z, −λ₁, λ₁) − z) / (n_newᵖ / α + 2 λ₂ + β / α)
i.e. w = 0 where |z| ≤ λ₁, else −(z − sgn(z) λ₁) / ((β + sqrt(n)) / α + 2 λ₂): the paper's closed form, with
Keras' (TensorFlow's) factor 2 on λ₂. n starts at ``initial_accumulator_value``, z at 0.
"""
from .. import backend
from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class Ftrl(Optimizer):
    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"Ftrl: `{arg}` needs to be positive or zero. Received: {arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError(f"Ftrl: `learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulators = self.add_optimizer_variables(variables, "accumulator",
                                                          initializer=self.initial_accumulator_value)
        self._linears = self.add_optimizer_variables(variables, "linear")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        w, g, lr = variable.data, gradient, learning_rate
        n, z = self._accumulators[i], self._linears[i]
        xp = backend.get_array_module(w)
        p, l1 = -self.learning_rate_power, self.l1_regularization_strength
        old, new = self._scratch(w, 0), self._scratch(w, 1)
        xp.power(n, p, out=old)                          # nᵖ
        xp.multiply(g, g, out=new)
        n += new                                         # n_new = n + g²
        xp.power(n, p, out=new)                          # n_newᵖ
        old -= new
        old /= lr                                        # −σ = (nᵖ − n_newᵖ) / α
        old += 2 * self.l2_shrinkage_regularization_strength
        old *= w
        old += g
        z += old                                         # z += g + 2 λ₂ₛ w − σ w
        new /= lr
        new += 2 * self.l2_regularization_strength + self.beta / lr   # n_newᵖ / α + 2 λ₂ + β / α
        xp.clip(z, -l1, l1, out=old)
        old -= z
        xp.divide(old, new, out=w)                       # w = (clip(z, −λ₁, λ₁) − z) / quadratic

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate_power": self.learning_rate_power,
                       "initial_accumulator_value": self.initial_accumulator_value,
                       "l1_regularization_strength": self.l1_regularization_strength,
                       "l2_regularization_strength": self.l2_regularization_strength,
                       "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                       "beta": self.beta})
        return config
