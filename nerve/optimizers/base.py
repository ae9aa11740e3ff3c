"""Optimizer base: Keras 3 semantics (slots, clipping, decoupled weight decay, EMA, schedules, state).

One ``apply`` does, in Keras' order: drop variables whose gradient is None, unscale by
``loss_scale_factor``, (accumulate if ``gradient_accumulation_steps``), clip (clipnorm per variable, or
global_clipnorm, or clipvalue: only one may be set), decoupled weight decay ``w -= lr * wd * w``, one
``update_step(gradient, variable, learning_rate)`` per variable, EMA of the weights, ``iterations += 1``,
then each variable's ``constraint``. Subclasses write ``build`` (slots) and ``update_step``; updates are
in place on ``variable.data`` and on the slot arrays, with reusable scratch buffers instead of temporaries.
"""
import re
import warnings

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..saving import registry
from . import clipping
from . import schedules as _schedules


def _array(g):
    return g.data if isinstance(g, Tensor) else g


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Optimizer:
    """Base class of every nerve optimizer (``keras.optimizers.Optimizer``)."""

    requires_closure = False  # True for optimizers (LBFGS) whose step needs to re-evaluate the loss

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn(f"{owner}: argument 'decay' is no longer supported (Keras 3) and is ignored; "
                          f"use a learning-rate schedule")
        if "lr" in kwargs:
            raise ValueError(f"{owner}: argument 'lr' was renamed 'learning_rate' in Keras 3")
        if kwargs:
            raise ValueError(f"{owner}: argument(s) not recognized: {sorted(kwargs)}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{owner}: only one of 'clipnorm', 'clipvalue' and 'global_clipnorm' can be set; got "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError(f"{owner}: argument 'gradient_accumulation_steps' must be an integer >= 2, "
                             f"got {gradient_accumulation_steps!r}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"{owner}: argument 'ema_momentum' must be in [0, 1], got {ema_momentum!r}")
        if use_ema and ema_overwrite_frequency and (isinstance(ema_overwrite_frequency, bool) or not isinstance(
                ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):  # as Keras 3
            raise ValueError(f"{owner}: argument 'ema_overwrite_frequency' must be an integer >= 1 or None, got "
                             f"{ema_overwrite_frequency!r}")
        self.name = name or _snake_case(owner)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._iterations = 0
        self._learning_rate = None
        self.learning_rate = learning_rate
        self._trainable_variables = []
        self._index = {}           # id(variable) -> position in build order
        self._keys = []            # unique state key per variable (its path, "_n"-suffixed when repeated)
        self._slots = []           # [(variable index, slot name, array)] in creation order
        self._scratch_bufs = {}
        self._exclude_ids = set()
        self._exclude_pattern = None
        self._pending_state = None

    # ------------------------------------------------------------------ learning rate and iterations
    @property
    def iterations(self):
        """Number of updates applied so far (Keras: counts accumulated updates with gradient accumulation)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value)

    @property
    def learning_rate(self):
        """The current rate: a float, or the schedule evaluated at ``iterations`` (or a callable's result)."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return float(lr(self._iterations))
        if callable(lr):
            return float(_array(lr()))
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, _schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, Tensor)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, _schedules.LearningRateSchedule):
            raise TypeError(f"{type(self).__name__}: this optimizer was created with a LearningRateSchedule as its "
                            f"'learning_rate', so its learning rate is not settable; create the optimizer with a "
                            f"float 'learning_rate' to change it during training")
        try:
            self._learning_rate = float(_array(value))
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: argument 'learning_rate' must be a float, a "
                             f"LearningRateSchedule or a callable, got {value!r}") from None

    # ------------------------------------------------------------------ building and slots
    def build(self, variables):
        """Record the variables (in order) and create the per-variable state; subclasses add their slots."""
        variables = list(variables)
        self._trainable_variables = variables
        self._index = {id(v): i for i, v in enumerate(variables)}
        seen, self._keys = {}, []
        for v in variables:
            path = str(getattr(v, "path", None) or getattr(v, "name", None) or "variable")
            n = seen.get(path, 0)
            seen[path] = n + 1
            self._keys.append(path if n == 0 else f"{path}_{n}")
        if self.use_ema:
            self._ema_averages = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(variables, "gradient_accumulator")
        self.built = True

    def add_variable_from_reference(self, reference_variable, name, initializer="zeros"):
        """A slot array shaped and typed like ``reference_variable`` (zeros, or a float fill value)."""
        data = _array(reference_variable)
        xp = backend.get_array_module(data)
        fill = 0.0 if initializer in ("zeros", None) else float(initializer)
        arr = xp.full(data.shape, fill, dtype=data.dtype)
        self._slots.append((self._index[id(reference_variable)], name, arr))
        return arr

    def add_optimizer_variables(self, variables, name, initializer="zeros"):
        return [self.add_variable_from_reference(v, name, initializer) for v in variables]

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        """A free-standing state array (not tied to a model variable; not part of get_state's slots)."""
        fill = 0.0 if initializer in ("zeros", None) else float(initializer)
        return np.full(tuple(shape), fill, dtype=backend.resolve_dtype(dtype))

    # Keras' in-place helpers, so custom optimizers written for Keras (self.assign_sub(variable, ops...)) run
    def assign(self, target, value):
        _array(target)[...] = _array(value)

    def assign_add(self, target, value):
        data = _array(target)
        data += _array(value)

    def assign_sub(self, target, value):
        data = _array(target)
        data -= _array(value)

    def _finish_build(self):
        if self._pending_state is not None:
            state, arrays = self._pending_state
            self._pending_state = None
            self.set_state(state, arrays)

    @property
    def variables(self):
        """The slot arrays in creation order (Keras also lists iterations and learning_rate; see get_state)."""
        return [a for _, _, a in self._slots]

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    def _scratch(self, like, k=0):
        """A reusable buffer shaped like ``like`` (no temporaries in the hot loop). Contents are garbage."""
        key = (like.shape, like.dtype.str, k, type(like))
        buf = self._scratch_bufs.get(key)
        if buf is None:
            buf = self._scratch_bufs[key] = backend.get_array_module(like).empty_like(like)
        return buf

    # ------------------------------------------------------------------ applying gradients
    def apply_gradients(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            return self.iterations
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Update the variables with their gradients (arrays or Tensors; None = skip that variable)."""
        owner = type(self).__name__
        if self.requires_closure:
            raise TypeError(f"{owner}: this optimizer needs the loss, not only gradients; call "
                            f"optimizer.step(closure) (see optimizer.requires_closure)")
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(f"{owner}: when passing 'grads' without variables the optimizer must already "
                                 f"be built; call optimizer.build(trainable_variables) first")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"{owner}: got {len(grads)} gradients for {len(trainable_variables)} variables")
        if not self.built:
            self.build(trainable_variables)
        if self._pending_state is not None:
            self._finish_build()
        index, missing, checked, variables = self._index, [], [], []
        for g, v in zip(grads, trainable_variables):  # one pass: known variable, gradient shape and dtype
            if id(v) not in index:
                raise ValueError(f"{owner}: unknown variable {v!r}; this optimizer can only update the variables "
                                 f"it was built with. Create a new optimizer for a new set of variables")
            if g is None:
                missing.append(v.name)
                continue
            d = v.data
            if type(g) is not type(d):
                g = _array(g)
                if not backend.is_array(g):
                    g = np.asarray(g, dtype=d.dtype)
            if g.shape != d.shape:
                raise ValueError(f"{owner}: gradient for variable {v.path!r} has shape {tuple(g.shape)}, "
                                 f"expected {tuple(d.shape)}")
            if g.dtype != d.dtype:
                g = g.astype(d.dtype)
            checked.append(g)
            variables.append(v)
        grads = checked
        if not grads:
            raise ValueError(f"{owner}: no gradients provided for any variable")
        if missing:
            warnings.warn(f"{owner}: gradients do not exist for variables {missing} when minimizing the loss")
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        if self.gradient_accumulation_steps:
            self._apply_accumulated(grads, variables)
        else:
            self._apply_now(grads, variables)
        self._iterations += 1
        for v in variables:
            if getattr(v, "constraint", None) is not None:
                v.data[...] = _array(v.constraint(v.data))

    def _apply_accumulated(self, grads, variables):
        steps = self.gradient_accumulation_steps
        accs = [self._accumulated_gradients[self._index[id(v)]] for v in variables]
        if (self._iterations + 1) % steps == 0:
            # update with the mean gradient of the last `steps` calls, then reset the accumulators
            mean = [(g + a) / steps for g, a in zip(grads, accs)]
            self._apply_now(mean, variables)
            for a in accs:
                a[...] = 0
        else:
            for g, a in zip(grads, accs):
                a += g

    def _apply_now(self, grads, variables):
        grads = self._clip_gradients(grads)
        lr = self.learning_rate
        self._apply_weight_decay(variables, lr)
        self._update_steps(grads, variables, lr)
        if self.use_ema:
            self._update_ema()
        if self._iterations % 8 == 0:
            self._flush_subnormals()

    def _flush_subnormals(self):
        """Slot values below the smallest normal number -> 0, every 8th update (the compiled Adam also does it
        in its pass, every step). A momentum or a mean square of a weight whose gradient stays 0 decays
        geometrically into subnormal numbers, which x86 CPUs compute ~100x slower (an MLP's Adam step went
        0.16 -> 1 ms by its fourth epoch); the updates they carry are below 1e-30."""
        for _, _, a in self._slots:
            if type(a) is np.ndarray and a.dtype.kind == "f" and a.size:
                np.putmask(a, np.abs(a) < np.finfo(a.dtype).tiny, 0)

    def _update_steps(self, grads, variables, learning_rate):
        """Hook run once per update (Nadam advances its momentum schedule here first)."""
        for g, v in zip(grads, variables):
            self.update_step(g, v, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable.data`` (and this variable's slots) in place from ``gradient`` (an array)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step(gradient, variable, lr)")

    # ------------------------------------------------------------------ clipping, weight decay, EMA
    def _clip_gradients(self, grads):
        # Keras allows one of the three (checked in __init__)
        if self.clipnorm and self.clipnorm > 0:
            return clipping.clip_by_norm(grads, self.clipnorm)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clipping.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return clipping.clip_by_value(grads, self.clipvalue)
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt variables (by object, or by any of the regex/substrings ``var_names`` in their name)."""
        if self.built:
            raise ValueError(f"{type(self).__name__}: exclude_from_weight_decay() can only be configured before "
                             f"the optimizer is built")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(sorted(set(var_names)))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None and self._exclude_pattern.search(str(variable.name)))

    def _apply_weight_decay(self, variables, lr):
        if self.weight_decay is None:
            return
        # decoupled weight decay (Loshchilov & Hutter): w <- w - lr * wd * w, before the gradient step
        factor = 1.0 - lr * float(self.weight_decay)
        for v in variables:
            if self._use_weight_decay(v):
                v.data *= factor

    def _update_ema(self):
        # average <- m * average + (1 - m) * w, with m = 0 at the first update so the average starts at w
        m = self.ema_momentum if self.iterations != 0 else 0.0
        for v, avg in zip(self._trainable_variables, self._ema_averages):
            avg *= m
            avg += (1.0 - m) * v.data
        freq = self.ema_overwrite_frequency
        if freq and (self.iterations + 1) % freq == 0:
            self.finalize_variable_values(self._trainable_variables)

    def finalize_variable_values(self, var_list):
        """With ``use_ema``, overwrite the model variables by their moving averages (end of fit)."""
        if self.use_ema:
            for v, avg in zip(var_list, self._ema_averages):
                v.data[...] = avg

    # ------------------------------------------------------------------ convenience
    def minimize(self, loss, var_list):
        """Compute ``loss()`` (a callable returning a scalar Tensor), backpropagate and apply one update."""
        var_list = list(var_list)
        for v in var_list:
            v.grad = None
        value = loss()
        self.scale_loss(value).backward()  # apply() divides the gradients by the same scale
        self.apply([v.grad for v in var_list], var_list)
        return value

    def scale_loss(self, loss):
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    # ------------------------------------------------------------------ state (checkpoints) and config
    def _scalar_state(self):
        """Extra scalar state of a subclass (JSON numbers), e.g. Nadam's momentum-schedule product."""
        return {}

    def _set_scalar_state(self, scalars):
        pass

    def get_state(self):
        """``(state, arrays)``: a JSON-friendly dict and ``{"<variable path>/<slot name>": array}`` copies.

        ``state`` holds the class, config, iterations, the current learning rate (float or schedule config),
        the variable keys in build order and subclass scalars; ``set_state`` restores it bit for bit.
        """
        if self._pending_state is not None and self.built:
            self._finish_build()
        lr = self._learning_rate
        state = {"class_name": type(self).__name__, "config": self.get_config(), "iterations": self._iterations,
                 "learning_rate": (_schedules.serialize(lr) if isinstance(lr, _schedules.LearningRateSchedule)
                                   else lr if not callable(lr) else self.learning_rate),
                 "built": self.built, "variables": list(self._keys), "scalars": self._scalar_state()}
        arrays = {f"{self._keys[i]}/{name}": backend.to_numpy(a).copy() for i, name, a in self._slots}
        state["slots"] = list(arrays)
        return state, arrays

    def set_state(self, state, arrays, variables=None):
        """Restore ``get_state()``. Unbuilt: builds on ``variables`` if given, else restores at first apply."""
        if not self.built and variables is not None:
            self.build(list(variables))
        if not self.built:
            self._pending_state = (state, arrays)
            return
        owner = type(self).__name__
        self._iterations = int(state["iterations"])
        lr = state.get("learning_rate")
        if isinstance(lr, (int, float)) and not isinstance(self._learning_rate, _schedules.LearningRateSchedule) \
                and not callable(self._learning_rate):
            self._learning_rate = float(lr)
        self._set_scalar_state(state.get("scalars") or {})
        for i, name, a in self._slots:
            key = f"{self._keys[i]}/{name}"
            if key not in arrays:
                raise ValueError(f"{owner}.set_state: the saved state has no slot {key!r} (saved slots: "
                                 f"{sorted(arrays)[:8]}...)")
            saved = np.asarray(backend.to_numpy(arrays[key]))
            if saved.shape != a.shape:
                raise ValueError(f"{owner}.set_state: slot {key!r} has shape {saved.shape}, expected {a.shape}")
            a[...] = backend.get_array_module(a).asarray(saved, dtype=a.dtype)

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            lr = _schedules.serialize(lr)
        elif callable(lr):
            lr = registry.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self._learning_rate!r} " \
               f"iterations={self.iterations}>"


def scale_loss(optimizer, loss):
    """What a training step backpropagates (Keras's trainers): ``optimizer.scale_loss(loss)``, i.e. the loss
    times ``loss_scale_factor`` or LossScaleOptimizer's dynamic scale; ``apply`` divides the gradients by it.
    An optimizer without the method gets the loss as it is."""
    f = getattr(optimizer, "scale_loss", None)
    return loss if f is None else f(loss)


def backward_scaled(optimizer, loss):
    """``scale_loss(optimizer, loss).backward()``. Under dynamic loss scaling (LossScaleOptimizer) an overflow of
    the scaled float16 gradients is expected: apply() then skips the step and halves the scale, so NumPy's
    overflow warnings are off during that backward."""
    scaled = scale_loss(optimizer, loss)
    if getattr(optimizer, "dynamic_scale", None) is None:
        scaled.backward()
        return
    with np.errstate(over="ignore", invalid="ignore"):
        scaled.backward()


def scales_loss(optimizer):
    """Whether ``scale_loss`` changes the loss (a planned step, which seeds backward with ones, then stands aside)."""
    f = getattr(type(optimizer), "scale_loss", None)
    if f is None:
        return False
    return f is not Optimizer.scale_loss or getattr(optimizer, "loss_scale_factor", None) is not None
