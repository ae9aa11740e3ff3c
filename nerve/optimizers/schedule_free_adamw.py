"""Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled", Algorithm 2), as Keras 3.15 writes it.

The model's weights hold y, the point where gradients are taken; the slot "momentum" holds z (initialised to
the weights), and the average x is not stored: x = (y − (1 − β₁) z) / β₁. With t = iterations + 1:
    α_t = α · min(t / warmup_steps, 1)                    (α when warmup_steps = 0)
    v = β₂ v + (1 − β₂) g²
    z_new = z − α_t g / (sqrt(v / (1 − β₂ᵗ)) + ε)
    x = (y − (1 − β₁) z) / β₁;   x_new = (1 − 1/t) x + (1/t) z_new
    y = (1 − β₁) z_new + β₁ x_new
Decoupled weight decay (weight_decay, default None) is the base class' y −= α·wd·y before the step.
As in Keras, there is no train/eval swap and no callback: the weights stay at y during training and after it
(evaluate and predict use y). x, the paper's evaluation point, is ``(y − (1 − β₁) z) / β₁`` if wanted.

x is computed from z *before* this step's update (the paper, Keras' comment "Store momentum_old before any
updates", and Keras on JAX). Keras 3.15 on the torch and TensorFlow backends reads that old z through a
reference that the in-place update has already changed (it computes x from z_new); nerve follows the paper.
"""
from .. import backend
from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class ScheduleFreeAdamW(Optimizer):
    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if not 0 < beta_1 <= 1:  # x = (y − (1 − β₁) z) / β₁ needs β₁ > 0
            raise ValueError(f"ScheduleFreeAdamW: argument 'beta_1' must be in (0, 1], got {beta_1!r}")
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, float)) or not warmup_steps >= 0:
            raise ValueError(f"ScheduleFreeAdamW: argument 'warmup_steps' must be a number >= 0, got "
                             f"{warmup_steps!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        for z, v in zip(self._momentums, variables):
            z[...] = v.data                                  # z₁ = x₁ = y₁ = the initial weights

    def update_step(self, gradient, variable, learning_rate):
        y, g = variable.data, gradient
        i = self._get_variable_index(variable)
        z, v = self._momentums[i], self._velocities[i]
        b1, b2, t = self.beta_1, self.beta_2, self.iterations + 1
        lr = learning_rate * min(t / self.warmup_steps, 1.0) if self.warmup_steps > 0 else learning_rate
        xp = backend.get_array_module(y)
        buf, x = self._scratch(y, 0), self._scratch(y, 1)
        # x = (y − (1 − β₁) z) / β₁, from the z of before this step
        xp.multiply(z, 1 - b1, out=x)
        xp.subtract(y, x, out=x)
        x /= b1
        xp.multiply(g, g, out=buf)
        buf -= v
        buf *= 1 - b2
        v += buf                                             # v = β₂ v + (1 − β₂) g²
        xp.divide(v, 1 - b2 ** t, out=buf)
        xp.sqrt(buf, out=buf)
        buf += self.epsilon
        xp.divide(g, buf, out=buf)
        buf *= lr
        z -= buf                                             # z −= α_t g / (sqrt(v / (1 − β₂ᵗ)) + ε)
        c = 1.0 / t
        x *= 1 - c
        xp.multiply(z, c, out=buf)
        x += buf                                             # x = (1 − 1/t) x + (1/t) z
        xp.multiply(z, 1 - b1, out=y)
        x *= b1
        y += x                                               # y = (1 − β₁) z + β₁ x

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "warmup_steps": self.warmup_steps})
        return config
