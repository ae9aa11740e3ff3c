"""MultiOptimizer and OptimizerMap: different optimizers for different variables (Keras 3.15).

``OptimizerMap(default_optimizer, {pattern: optimizer})`` maps a variable path to an optimizer: an exact key
first, else the one pattern that ``re.fullmatch``es the path (two matches are an error), else the default
("encoder/.*" covers the encoder's variables; "encoder" only a variable whose path is exactly "encoder").
``MultiOptimizer(optimizer_map)`` takes such a map, or any callable ``variable -> optimizer``. At build it asks
the map for each variable's optimizer and builds each optimizer on its own variables; each ``apply`` hands
every optimizer its own gradients (each one clips, decays, steps, counts its iterations and keeps its EMA on
its own), then counts one iteration of its own. ``loss_scale_factor`` is passed down to every optimizer (they
unscale the gradients). A MultiOptimizer has no learning rate: set it on the inner optimizers.
Unlike Keras (where it does nothing on a MultiOptimizer), ``exclude_from_weight_decay`` is passed to every
inner optimizer; and an inner optimizer none of whose variables got a gradient skips the step with a warning
(Keras raises "No gradients provided").
"""
import re
import warnings
from collections.abc import MutableMapping

from ..saving.registry import register
from .base import Optimizer
from .loss_scale_optimizer import LossScaleOptimizer


def _check_inner(optimizer, where):
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{where}: optimizer must be a nerve Optimizer instance. Received: {optimizer!r}")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(f"{where}: optimizer cannot be LossScaleOptimizer (set loss_scale_factor on the "
                         f"MultiOptimizer instead).")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{where}: optimizer cannot be MultiOptimizer.")
    if optimizer.requires_closure:
        raise ValueError(f"{where}: {type(optimizer).__name__} cannot be used inside a MultiOptimizer: its step "
                         f"re-evaluates the loss itself (requires_closure)")
    return optimizer


@register("optimizers")
class OptimizerMap(MutableMapping):
    """A mapping from variable paths (exact, or regular expressions matched in full) to optimizers."""

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"default_optimizer must be a nerve Optimizer instance. Received: {default_optimizer!r}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map!r}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = {}
        for key, opt in (optimizer_map or {}).items():
            self[key] = opt

    @property
    def default_optimizer(self):
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [p for p in self._optimizer_map if re.fullmatch(p, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key} (patterns {matching}).")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value {self._optimizer_map[key]}. "
                             f"Please make sure to not use duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key!r}")
        self._optimizer_map[key] = _check_inner(optimizer, "OptimizerMap")

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[str(variable.path)]

    def get_config(self):
        from . import serialize
        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(o) for k, o in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        return cls(deserialize(config["default_optimizer"], custom_objects=custom_objects),
                   {k: deserialize(c, custom_objects=custom_objects)
                    for k, c in (config.get("optimizer_map") or {}).items()})


@register("optimizers")
class MultiOptimizer(Optimizer):
    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        if not callable(optimizer_map):
            raise TypeError(f"MultiOptimizer: optimizer_map must be an OptimizerMap or a callable returning the "
                            f"optimizer of a variable. Received: {optimizer_map!r}")
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers = []
        inner = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for opt in inner + ([default] if default is not None else []):
            self._add_inner(opt)
        self._var_to_optimizer = {}   # id(variable) -> index in self._inner_optimizers

    def _add_inner(self, opt):
        if not any(o is opt for o in self._inner_optimizers):
            opt.loss_scale_factor = self.loss_scale_factor  # the inner optimizers unscale the gradients
            self._inner_optimizers.append(opt)
        return next(i for i, o in enumerate(self._inner_optimizers) if o is opt)

    @property
    def optimizers(self):
        return self._inner_optimizers

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on "
                             "the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value):
        if "_optimizer_map" not in self.__dict__:  # the base __init__
            self._learning_rate = value
            return
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                             "individual sub-optimizers instead.")

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for opt in self.__dict__.get("_inner_optimizers", ()):
            opt.loss_scale_factor = value

    @property
    def variables(self):
        return [a for opt in self._inner_optimizers for a in opt.variables]

    def build(self, variables):
        if self.built:
            return
        variables = list(variables)
        groups = {}
        for v in variables:
            opt = _check_inner(self._optimizer_map(v), f"MultiOptimizer (variable {v.path!r})")
            k = self._add_inner(opt)
            self._var_to_optimizer[id(v)] = k
            groups.setdefault(k, []).append(v)
        for k, group in groups.items():
            self._inner_optimizers[k].build(group)
        super().build(variables)

    def _groups(self, variables):
        """{inner optimizer index: [variables]} in the order given (unknown variables raise)."""
        groups = {}
        for v in variables:
            k = self._var_to_optimizer.get(id(v))
            if k is None:
                raise ValueError(f"MultiOptimizer: unknown variable {v!r}; this optimizer can only update the "
                                 f"variables it was built with")
            groups.setdefault(k, []).append(v)
        return groups

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("MultiOptimizer: when passing 'grads' without variables the optimizer must "
                                 "already be built; call optimizer.build(trainable_variables) first")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        if self._pending_state is not None:
            self._finish_build()
        if len(grads) != len(trainable_variables) or len(grads) != len(self._trainable_variables):
            raise ValueError(f"MultiOptimizer: gradients must match trainable variables one-to-one. Received "
                             f"{len(grads)} gradients and {len(trainable_variables)} variables (built with "
                             f"{len(self._trainable_variables)})")
        if all(g is None for g in grads):
            raise ValueError("MultiOptimizer: no gradients provided for any variable")
        grad_of = {id(v): g for g, v in zip(grads, trainable_variables)}
        for k, group in self._groups(trainable_variables).items():
            sub = [grad_of[id(v)] for v in group]
            if all(g is None for g in sub):  # this optimizer's variables have no gradients: it does not step
                warnings.warn(f"MultiOptimizer: gradients do not exist for variables {[v.path for v in group]} "
                              f"when minimizing the loss")
                continue
            self._inner_optimizers[k].apply(sub, group)
        self._iterations += 1

    def finalize_variable_values(self, var_list):
        for k, group in self._groups(var_list).items():
            self._inner_optimizers[k].finalize_variable_values(group)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        for opt in self._inner_optimizers:
            opt.exclude_from_weight_decay(var_list=var_list, var_names=var_names)

    # ------------------------------------------------------------------ state and config
    def _inner_key_map(self, opt):
        """{inner optimizer's variable key: this optimizer's key} for the variables of ``opt``."""
        return {opt._keys[j]: self._keys[self._index[id(v)]] for j, v in enumerate(opt._trainable_variables)}

    def _built_inner(self):
        return [opt for opt in self._inner_optimizers if opt.built and opt._trainable_variables]

    def get_state(self):
        """One state: slot arrays under this optimizer's variable keys ("<path>/<slot>", as the base class),
        and per inner optimizer its iterations, learning rate and scalars, with its variables as positions in
        ``state["variables"]``."""
        if self._pending_state is not None and self.built:
            self._finish_build()
        arrays, inner = {}, []
        for opt in self._built_inner():
            sub_state, sub_arrays = opt.get_state()
            keys = self._inner_key_map(opt)
            for key, a in sub_arrays.items():
                path, _, slot = key.rpartition("/")
                arrays[f"{keys[path]}/{slot}"] = a
            inner.append({"class_name": type(opt).__name__, "iterations": sub_state["iterations"],
                          "learning_rate": sub_state["learning_rate"], "scalars": sub_state["scalars"],
                          "variables": [self._index[id(v)] for v in opt._trainable_variables]})
        state = {"class_name": type(self).__name__, "config": self.get_config(), "iterations": self._iterations,
                 "built": self.built, "variables": list(self._keys), "scalars": {}, "optimizers": inner,
                 "slots": list(arrays)}
        return state, arrays

    def set_state(self, state, arrays, variables=None):
        if not self.built and variables is not None:
            self.build(list(variables))
        if not self.built:
            self._pending_state = (state, arrays)
            return
        self._iterations = int(state["iterations"])
        saved_keys = state.get("variables") or []
        entry_of = {}  # saved variable key -> its inner optimizer's saved entry
        for entry in state.get("optimizers") or []:
            for j in entry["variables"]:
                entry_of[saved_keys[j]] = entry
        for opt in self._built_inner():
            keys = self._inner_key_map(opt)
            entry = entry_of.get(keys[opt._keys[0]])
            if entry is None or entry.get("class_name", type(opt).__name__) != type(opt).__name__:
                raise ValueError(f"MultiOptimizer.set_state: the saved state has no {type(opt).__name__} state "
                                 f"for variable {keys[opt._keys[0]]!r}")
            sub_arrays = {}
            for i, slot, _ in opt._slots:
                key = f"{keys[opt._keys[i]]}/{slot}"
                if key not in arrays:
                    raise ValueError(f"MultiOptimizer.set_state: the saved state has no slot {key!r}")
                sub_arrays[f"{opt._keys[i]}/{slot}"] = arrays[key]
            opt.set_state(dict(entry, variables=list(opt._keys)), sub_arrays)

    def get_config(self):
        from ..saving import registry
        return {"optimizer_map": registry.serialize(self._optimizer_map), "loss_scale_factor": self.loss_scale_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        om = config["optimizer_map"]
        if isinstance(om, dict) and om.get("class_name") == "OptimizerMap":
            config["optimizer_map"] = OptimizerMap.from_config(om.get("config") or {}, custom_objects=custom_objects)
        else:  # a registered function
            from ..saving import registry
            config["optimizer_map"] = registry.deserialize(om, custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<MultiOptimizer name={self.name!r} optimizers={[o.name for o in self._inner_optimizers]} " \
               f"iterations={self.iterations}>"
