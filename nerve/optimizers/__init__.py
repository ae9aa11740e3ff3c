"""``nerve.optimizers`` (``keras.optimizers``): Keras 3 optimizers, learning-rate schedules and L-BFGS."""
import inspect

from ..saving import registry
from . import legacy, schedules
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import Optimizer
from .ftrl import Ftrl
from .lamb import Lamb
from .lbfgs import LBFGS
from .lion import Lion
from .loss_scale_optimizer import LossScaleOptimizer
from .multi_optimizer import MultiOptimizer, OptimizerMap
from .muon import Muon
from .nadam import Nadam
from .rmsprop import RMSprop
from .schedule_free_adamw import ScheduleFreeAdamW
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam", "Ftrl",
           "Lamb", "Lion", "Adafactor", "Muon", "ScheduleFreeAdamW", "MultiOptimizer", "OptimizerMap",
           "LossScaleOptimizer", "LBFGS", "legacy", "schedules", "get", "serialize",
           "deserialize"]

# by name ('ftrl', 'lion', 'muon', 'schedulefreeadamw', ...); LossScaleOptimizer, MultiOptimizer and OptimizerMap
# need their inner optimizers, so only their config dicts name them usefully
# (Keras 3.15 leaves Lamb out of its name table; nerve accepts 'lamb' too)
_BUILTIN = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam,
                                                   Ftrl, Lamb, Lion, Adafactor, Muon, ScheduleFreeAdamW,
                                                   MultiOptimizer, OptimizerMap, LossScaleOptimizer, LBFGS)}


def _lookup(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    cls = _BUILTIN.get(str(name).lower())
    if cls is not None:
        return cls
    try:
        return registry.get_registered_object(name, custom_objects, kind="optimizers")
    except registry.UnknownObjectError:
        hint = registry.did_you_mean(str(name).lower(), _BUILTIN)
        raise ValueError(f"nerve.optimizers: unknown optimizer {name!r}{hint} (known: {sorted(_BUILTIN)}; custom "
                         f"optimizers must be registered with nerve.saving.register_keras_serializable)") from None


def serialize(optimizer):
    """``{'class_name', 'config', 'registered_name'}`` of an optimizer (JSON-able)."""
    return registry.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from ``serialize``'s dict (class names are case-insensitive for built-ins)."""
    if isinstance(config, str):
        return _lookup(config, custom_objects)()
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"nerve.optimizers.deserialize: expected a dict with 'class_name' and 'config', "
                         f"got {config!r}")
    try:
        cls = _lookup(config.get("registered_name") or config["class_name"], custom_objects)
    except ValueError:
        cls = _lookup(config["class_name"], custom_objects)
    cfg = config.get("config") or {}
    if hasattr(cls, "from_config"):
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            return cls.from_config(cfg, custom_objects=custom_objects)
        return cls.from_config(cfg)
    return cls(**cfg)


def get(identifier):
    """An optimizer from a name ('adam'), a config dict or an instance (returned as is); None -> None."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        if isinstance(obj, Optimizer):
            return obj
    raise ValueError(f"nerve.optimizers.get: could not interpret optimizer identifier {identifier!r} "
                     f"(expected a name such as 'adam', a config dict or an Optimizer)")
