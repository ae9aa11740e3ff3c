"""Safe saving and loading: JSON configs, npz weights, classes only from an allow-list.

``save_model`` / ``load_model`` (``.keras`` archives), ``save_weights`` / ``load_weights``
(``.weights.npz``), ``save_checkpoint`` / ``load_checkpoint`` / ``restore_checkpoint`` (exact resume).
``KerasFileEditor``: inspect and edit the weights of a saved file.
"""
from . import registry
from .registry import (UnknownObjectError, deserialize, get_registered_name, get_registered_object, register,  # noqa
                       register_keras_serializable, serialize)
from .file_io import ArchiveError  # noqa: F401
from .archive import (CustomObjectScope, custom_object_scope, deserialize_model, load_model,  # noqa: F401
                      save_model, serialize_model)
from .weights import load_weights, save_weights  # noqa: F401
from .checkpoint import Checkpoint, load_checkpoint, restore_checkpoint, save_checkpoint  # noqa: F401
from .file_editor import KerasFileEditor  # noqa: F401

serialize_keras_object = serialize
deserialize_keras_object = deserialize

# Keras' global custom objects: a live dict, consulted (as the outermost custom_object_scope) by every load
_GLOBAL_CUSTOM_OBJECTS = {}
registry._SCOPES.insert(0, _GLOBAL_CUSTOM_OBJECTS)


def get_custom_objects():
    """Keras' ``get_custom_objects()``: the live dict of global custom objects. It lists the classes and
    functions registered with ``register_keras_serializable`` (as 'package>Name'), and an entry added to it,
    ``get_custom_objects()["MyLayer"] = MyLayer``, makes that name loadable everywhere."""
    _GLOBAL_CUSTOM_OBJECTS.update({key: obj for obj, (kind, key) in registry._BY_CLASS.items() if kind == "custom"})
    return _GLOBAL_CUSTOM_OBJECTS
