"""``nerve.utils`` (Keras 3 names): seeding, label/array helpers, sequence padding, model plots, datasets from
folders and arrays, image files, the progress bar, and the saving registry's names."""
from ..backend import config as _config, set_random_seed  # noqa: F401
from .numerical_utils import normalize, to_categorical  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401
from .model_visualization import plot_model  # noqa: F401
from .dataset_utils import (PyDataset, Sequence, image_dataset_from_directory, pack_x_y_sample_weight,  # noqa: F401
                            split_dataset)

enable_interactive_logging = _config.enable_interactive_logging
disable_interactive_logging = _config.disable_interactive_logging
is_interactive_logging_enabled = _config.is_interactive_logging_enabled


def clear_session(free_memory=True):
    """Reset nerve's global state as ``keras.utils.clear_session``: automatic layer names start again
    at ``dense``, ``dense_1``, ... (models built before keep their names and keep working)."""
    from ..layers.layer import reset_uids
    reset_uids()
    if free_memory:
        import gc
        gc.collect()


# loaded on first use, so that `import nerve` stays fast: nerve.preprocessing and nerve.training import the
# layers, get_file the data-set fetchers (urllib, tarfile), nerve.saving zipfile and friends; the rest is
# cheap but rarely used
_LAZY = {"timeseries_dataset_from_array": "..preprocessing.sequence", "get_file": ".file_utils",
         "Progbar": ".progbar", "unpack_x_y_sample_weight": "..training.data_adapter",
         "text_dataset_from_directory": ".text_dataset_utils", "Config": ".config_utils",
         "audio_dataset_from_directory": ".audio_dataset_utils", "model_to_dot": ".model_visualization",
         "get_source_inputs": ".tensor_utils", "is_keras_tensor": ".tensor_utils",
         "standardize_dtype": ".tensor_utils", "load_img": ".image_utils", "img_to_array": ".image_utils",
         "array_to_img": ".image_utils", "save_img": ".image_utils",
         "register_keras_serializable": "..saving", "get_custom_objects": "..saving",
         "custom_object_scope": "..saving", "CustomObjectScope": "..saving",
         "serialize_keras_object": "..saving", "deserialize_keras_object": "..saving",
         "get_registered_name": "..saving", "get_registered_object": "..saving",
         "FeatureSpace": ".feature_space"}
_SUBMODULES = ("bounding_boxes",)  # keras.utils.bounding_boxes, loaded on first use too

__all__ = ["set_random_seed", "to_categorical", "normalize", "pad_sequences", "plot_model", "clear_session",
           "PyDataset", "Sequence", "image_dataset_from_directory", "split_dataset", "pack_x_y_sample_weight",
           "enable_interactive_logging", "disable_interactive_logging", "is_interactive_logging_enabled", *_LAZY,
           *_SUBMODULES]


def __getattr__(name):
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'nerve.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
