"""LossScaleOptimizer: dynamic loss scaling around another optimizer (Micikevicius et al. 2018, "Mixed Precision
Training" §3.2; Keras 3 ``keras.optimizers.LossScaleOptimizer``).

The training loop multiplies the loss by ``scale_loss`` before backpropagating, so small gradients do not
underflow in low precision; then ``apply``:
    any gradient not finite  -> skip the step (the inner optimizer does not move), scale /= 2, counter = 0
    all finite               -> inner.apply(g / scale); then, if counter == dynamic_growth_steps − 1:
                                scale *= 2, counter = 0, else counter += 1
It works as well for float32 training (the scale is then rarely needed, and steps with inf/NaN gradients
are skipped instead of poisoning the weights). ``iterations`` and ``learning_rate`` are the inner optimizer's.
"""
import numpy as np

from .. import backend
from ..saving.registry import register
from .base import Optimizer, _array

# the base-class arguments Keras still accepts at their defaults (configs of older models carry them)
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                  "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


def _as_array(g):
    g = _array(g)  # a Tensor's array
    return g if backend.is_array(g) else np.asarray(g)


@register("optimizers")
class LossScaleOptimizer(Optimizer):
    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name="loss_scale_optimizer", **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                 f"`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"LossScaleOptimizer: `inner_optimizer` must be an Optimizer instance (e.g. "
                            f"nerve.optimizers.Adam()), got {inner_optimizer!r}")
        if inner_optimizer.requires_closure:
            raise ValueError(f"LossScaleOptimizer cannot wrap {type(inner_optimizer).__name__}: its step "
                             f"re-evaluates the loss itself (requires_closure)")
        if not initial_scale > 0:
            raise ValueError(f"LossScaleOptimizer: `initial_scale` must be > 0, got {initial_scale!r}")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError(f"LossScaleOptimizer: `dynamic_growth_steps` must be an integer >= 1, got "
                             f"{dynamic_growth_steps!r}")
        super().__init__(name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None  # else gradients would be unscaled twice
        self.dynamic_scale = self.initial_scale
        self.step_counter = 0

    # the inner optimizer's rate and step count (the base __init__ runs before inner_optimizer is set)
    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.learning_rate = value

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value):
        self.inner_optimizer.iterations = value

    @property
    def variables(self):
        return self.inner_optimizer.variables

    def build(self, variables):
        variables = list(variables)
        self.inner_optimizer.build(variables)
        self._trainable_variables = variables
        self.built = True

    def scale_loss(self, loss):
        return loss * self.dynamic_scale

    def apply(self, grads, trainable_variables=None):
        grads = [None if g is None else _as_array(g) for g in grads]
        if not self.built:
            if trainable_variables is None:
                raise ValueError("LossScaleOptimizer: when passing 'grads' without variables the optimizer must "
                                 "already be built; call optimizer.build(trainable_variables) first")
            self.build(trainable_variables)
        if not self._all_finite(grads):
            self.step_counter = 0
            self.dynamic_scale *= 0.5
            return
        scale = self.dynamic_scale
        self.inner_optimizer.apply([None if g is None else g / scale for g in grads], trainable_variables)
        if self.step_counter == self.dynamic_growth_steps - 1:
            self.step_counter = 0
            self.dynamic_scale *= 2.0
        else:
            self.step_counter += 1

    @staticmethod
    def _all_finite(grads):
        """One device-to-host read for all gradients: all(isfinite(g)) reduced where the gradients live."""
        arrays = [g for g in grads if backend.is_array(g)]
        if not arrays:
            return True  # nothing to check (the inner optimizer reports missing gradients)
        xp = backend.get_array_module(*arrays)
        return bool(xp.stack([xp.isfinite(g).all() for g in arrays]).all())

    def minimize(self, loss, var_list):
        """``loss()`` scaled by the current loss scale, backpropagated, then one (possibly skipped) update."""
        var_list = list(var_list)
        for v in var_list:
            v.grad = None
        value = loss()
        self.scale_loss(value).backward()
        self.apply([v.grad for v in var_list], var_list)
        return value

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        self.inner_optimizer.exclude_from_weight_decay(var_list=var_list, var_names=var_names)

    # ------------------------------------------------------------------ state and config
    def get_state(self):
        """The inner optimizer's state, with this class' name and config and the loss scale and its counter."""
        state, arrays = self.inner_optimizer.get_state()
        state = dict(state, class_name=type(self).__name__, config=self.get_config(),
                     loss_scale={"dynamic_scale": self.dynamic_scale, "step_counter": self.step_counter})
        return state, arrays

    def set_state(self, state, arrays, variables=None):
        if variables is not None and not self.built:
            self.build(variables)
        scale = state.get("loss_scale") or {}
        self.dynamic_scale = float(scale.get("dynamic_scale", self.initial_scale))
        self.step_counter = int(scale.get("step_counter", 0))
        self.inner_optimizer.set_state(state, arrays)

    def get_config(self):
        from . import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)

    def __repr__(self):
        return f"<LossScaleOptimizer name={self.name!r} inner={self.inner_optimizer!r} " \
               f"dynamic_scale={self.dynamic_scale}>"
