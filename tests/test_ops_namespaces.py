"""keras.ops.nn / keras.ops.numpy / keras.ops.linalg: the functions of nerve.ops under Keras's submodule names."""
import importlib

import nerve
from nerve import ops


def test_the_namespaces_hold_the_same_functions_as_nerve_ops():
    for key, n_min in (("nn", 45), ("numpy", 200), ("linalg", 14)):
        mod = getattr(ops, key)
        assert importlib.import_module(f"nerve.ops.{key}") is mod
        assert len(mod.__all__) >= n_min, (key, len(mod.__all__))
        for name in mod.__all__:
            assert getattr(mod, name) is getattr(ops, name), (key, name)
    assert ops.nn.relu is nerve.ops.relu and ops.numpy.nanmean is ops.nanmean and ops.linalg.svd is ops.svd
    from nerve.ops.linalg import det  # noqa: F401 - `from keras.ops.linalg import det` works
    assert not hasattr(ops.linalg, "relu") and not hasattr(ops.nn, "nanmean")


def test_keras_long_and_moved_names():
    assert nerve.initializers.OrthogonalInitializer is nerve.initializers.Orthogonal
    assert nerve.initializers.IdentityInitializer is nerve.initializers.Identity
    assert nerve.preprocessing.image_dataset_from_directory is nerve.utils.image_dataset_from_directory
    assert nerve.preprocessing.text_dataset_from_directory is nerve.utils.text_dataset_from_directory
    assert nerve.mixed_precision.LossScaleOptimizer is nerve.optimizers.LossScaleOptimizer
