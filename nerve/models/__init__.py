"""``nerve.models`` (Keras 3 ``keras.models``): Model, Sequential, Functional, and the saving entry points."""
from .functional import Functional
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "clone_model", "model_from_json"]


def __getattr__(name):
    # the archive format lives in nerve.saving (written separately); resolved on first use
    if name in ("load_model", "save_model"):
        from .. import saving
        fn = getattr(saving, name, None)
        if fn is not None:
            return fn
    if name == "model_from_json":
        return model_from_json
    raise AttributeError(f"module 'nerve.models' has no attribute {name!r}")


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (architecture only) from ``model.to_json()``."""
    import json
    from ..saving.registry import deserialize
    return deserialize(json.loads(json_string), kind="models", custom_objects=custom_objects)


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialised weights (from its config)."""
    from ..saving.registry import deserialize, serialize
    if input_tensors is not None or clone_function is not None:
        raise NotImplementedError("clone_model: input_tensors and clone_function are not supported yet")
    return deserialize(serialize(model), kind="models")
