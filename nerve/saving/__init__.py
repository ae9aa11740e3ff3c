"""Safe saving and loading: JSON configs, npz weights, classes only from an allow-list.

``save_model`` / ``load_model`` (``.keras`` archives), ``save_weights`` / ``load_weights``
(``.weights.npz``), ``save_checkpoint`` / ``load_checkpoint`` / ``restore_checkpoint`` (exact resume).
"""
from .registry import (UnknownObjectError, deserialize, get_registered_name, get_registered_object, register,  # noqa
                       register_keras_serializable, serialize)
from .file_io import ArchiveError  # noqa: F401
from .archive import (CustomObjectScope, custom_object_scope, deserialize_model, load_model,  # noqa: F401
                      save_model, serialize_model)
from .weights import load_weights, save_weights  # noqa: F401
from .checkpoint import Checkpoint, load_checkpoint, restore_checkpoint, save_checkpoint  # noqa: F401

serialize_keras_object = serialize
deserialize_keras_object = deserialize
