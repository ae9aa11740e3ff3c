"""SGD with optional (Nesterov) momentum: one rule for all three, as in Keras.

seed-002 §1.7-1.8: plain gradient descent W := W − α dW; momentum keeps a velocity. Keras writes the
velocity with the learning rate inside, v = μ v − α g (the seeds' EWMA form V = βV + (1−β)dW is the same
method with α rescaled), then
    plain:     w += v
    Nesterov:  w += μ v − α g      (the look-ahead form of seed-002 5.3.3 rewritten at the current point)
and with μ = 0 simply w −= α g.
"""
import numpy as np

from ..saving.registry import register
from .base import Optimizer


@register("optimizers")
class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name="SGD", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: argument 'momentum' must be a float in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def update_step(self, gradient, variable, learning_rate):
        # NumPy ufuncs with out= (CuPy arrays dispatch through __array_ufunc__)
        w, g = variable.data, gradient
        buf = self._scratch(w)
        np.multiply(g, learning_rate, out=buf)                 # buf = α g
        if not self._momentums:
            w -= buf                                     # w -= α g
            return
        v = self._momentums[self._get_variable_index(variable)]
        v *= self.momentum
        v -= buf                                         # v = μ v − α g
        if self.nesterov:
            w -= buf
            np.multiply(v, self.momentum, out=buf)
            w += buf                                     # w += μ v − α g
        else:
            w += v                                       # w += v

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
