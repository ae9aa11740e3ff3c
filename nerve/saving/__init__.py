"""Safe saving and loading: JSON configs, npz weights, classes only from an allow-list."""
from .registry import (UnknownObjectError, deserialize, get_registered_name, get_registered_object, register,  # noqa
                       register_keras_serializable, serialize)
