"""``nerve.utils`` (Keras 3 names): seeding, label/array helpers, sequence padding, model plots."""
from ..backend import set_random_seed  # noqa: F401
from .numerical_utils import normalize, to_categorical  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401
from .model_visualization import plot_model  # noqa: F401
from .dataset_utils import PyDataset, Sequence, image_dataset_from_directory  # noqa: F401


def clear_session(free_memory=True):
    """Reset nerve's global state as ``keras.utils.clear_session``: automatic layer names start again
    at ``dense``, ``dense_1``, ... (models built before keep their names and keep working)."""
    from ..layers.layer import reset_uids
    reset_uids()
    if free_memory:
        import gc
        gc.collect()


__all__ = ["set_random_seed", "to_categorical", "normalize", "pad_sequences", "plot_model",
           "clear_session", "get_file", "PyDataset", "Sequence", "image_dataset_from_directory",
           "timeseries_dataset_from_array"]


def __getattr__(name):  # loaded on first use, so that `import nerve` stays fast: nerve.preprocessing imports the
    if name == "timeseries_dataset_from_array":  # layers, get_file the data-set fetchers (urllib, tarfile)
        from ..preprocessing.sequence import timeseries_dataset_from_array
        return timeseries_dataset_from_array
    if name == "get_file":
        from .file_utils import get_file
        return get_file
    raise AttributeError(f"module 'nerve.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
