"""Muon ("MomentUm Orthogonalized by Newton-Schulz", K. Jordan 2024; Liu et al. 2025), as Keras 3.15 writes it.

A variable takes the Muon step when it is 2-D, its path does not contain "embedding" (if ``exclude_embeddings``)
and no regex of ``exclude_layers`` is found in its path (Keras' ``_should_use_adamw``); with μ = momentum:
    m = μ m + g
    u = g + μ m  (nesterov)   or   u = m
    O = NS(u)                                         ≈ U Vᵀ of u's SVD (Newton-Schulz below)
    w −= α O · sqrt(max(rows, cols)) · rms_rate      (Moonlight's RMS matching; rms_rate=None: w −= α O)
NS, with (a, b, c) = (muon_a, muon_b, muon_c) and ns_steps iterations, on u transposed when rows > cols:
    X = u / (‖u‖_F + 1e-7);   repeat: A = X Xᵀ;  B = b A + c A A;  X = a X + B X
Every other variable (0-D, 1-D, 3-D and more, embeddings, excluded layers) takes Keras' Adam step (see adam.py)
with rate α · adam_lr_ratio, β's adam_beta_1/2 and ε = epsilon.
Decoupled weight decay before the step: w −= α·wd·w with wd = weight_decay for Muon variables and
adam_weight_decay for the Adam ones (α is the base rate in both cases, as in Keras).
"""
import math
import re

from .. import backend
from ..saving.registry import register
from .base import Optimizer


def newton_schulz(x, steps, a, b, c):
    """Keras' ``zeropower_via_newtonschulz5`` on the last two axes of ``x`` (a new array)."""
    if x.ndim < 2:
        raise ValueError(f"Expected gradient or momentum to have at least 2 dimensions. Received: shape={x.shape}")
    xp = backend.get_array_module(x)
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.swapaxes(-1, -2)
    x = x / (xp.sqrt((x * x).sum(axis=(-2, -1), keepdims=True)) + 1e-7)   # spectral norm <= 1
    for _ in range(steps):
        A = x @ x.swapaxes(-1, -2)
        B = b * A + (c * A) @ A
        x = a * x + B @ x
    return x.swapaxes(-1, -2) if tall else x


@register("optimizers")
class Muon(Optimizer):
    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
                 epsilon=1e-7, weight_decay=0.004, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, exclude_layers=None, exclude_embeddings=True,
                 muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5,
                 nesterov=True, rms_rate=0.2, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if isinstance(exclude_layers, str):
            raise ValueError(f"Muon: argument 'exclude_layers' must be a list of strings (regular expressions "
                             f"searched in the variable paths), got the string {exclude_layers!r}")
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"Muon: argument 'ns_steps' must be an integer >= 0, got {ns_steps!r}")
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable):
        """Keras' rule: not 2-D, an embedding (by path), or a path matching one of ``exclude_layers``."""
        if len(variable.shape) != 2:
            return True
        path = str(getattr(variable, "path", None) or getattr(variable, "name", ""))
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        super().build(variables)
        # a momentum for every variable, a velocity only for the Adam ones (its presence selects Adam)
        self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._velocities = [self.add_variable_from_reference(v, "velocity") if self._should_use_adamw(v) else None
                            for v in variables]

    def _apply_weight_decay(self, variables, lr):
        for v in variables:
            if not self._use_weight_decay(v):
                continue
            adam = self._velocities[self._index[id(v)]] is not None
            wd = self.adam_weight_decay if adam else self.weight_decay
            if wd is not None:
                v.data *= 1.0 - lr * float(wd)               # w −= α·wd·w

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        if self._velocities[i] is not None:
            self._adam_step(gradient, variable.data, learning_rate * self.adam_lr_ratio, self._momentums[i],
                            self._velocities[i])
        else:
            self._muon_step(gradient, variable.data, learning_rate, self._momentums[i])

    def _muon_step(self, g, w, lr, m):
        mu = self.momentum
        m *= mu
        m += g                                               # m = μ m + g
        u = g + mu * m if self.nesterov else m               # Nesterov: g + μ m
        update = newton_schulz(u, self.ns_steps, self.muon_a, self.muon_b, self.muon_c)
        update *= lr
        if self.rms_rate is not None:                        # Moonlight: RMS of the update ≈ rms_rate
            update *= math.sqrt(max(w.shape[0], w.shape[1]))
            update *= self.rms_rate
        w -= update

    def _adam_step(self, g, w, lr, m, v):
        """Keras' Adam (ε-hat form): α_t = α sqrt(1 − β₂ᵗ)/(1 − β₁ᵗ);  w −= α_t m / (sqrt(v) + ε)."""
        b1, b2, t = self.adam_beta_1, self.adam_beta_2, self.iterations + 1
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        xp = backend.get_array_module(w)
        buf = self._scratch(w)
        xp.subtract(g, m, out=buf)
        buf *= 1 - b1
        m += buf                                             # m = β₁ m + (1 − β₁) g
        xp.multiply(g, g, out=buf)
        buf -= v
        buf *= 1 - b2
        v += buf                                             # v = β₂ v + (1 − β₂) g²
        xp.sqrt(v, out=buf)
        buf += self.epsilon
        xp.divide(m, buf, out=buf)
        buf *= alpha
        w -= buf

    def get_config(self):
        config = super().get_config()
        config.update({"adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                       "exclude_layers": self.exclude_layers, "muon_a": self.muon_a, "muon_b": self.muon_b,
                       "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                       "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                       "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                       "rms_rate": self.rms_rate})
        return config
