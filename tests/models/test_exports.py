"""Top-level names (Keras style) and lazy submodules: `import nerve` does not import the model stack."""
import subprocess
import sys

import nerve


def test_top_level_names_and_submodules():
    from nerve import Input, Model, Sequential
    from nerve.models import Functional
    assert nerve.Sequential is Sequential and nerve.Model is Model and nerve.Input is Input
    assert issubclass(Functional, Model)
    for name in ("models", "layers", "losses", "optimizers", "metrics", "callbacks", "activations",
                 "initializers", "regularizers", "constraints"):
        assert getattr(nerve, name).__name__ == f"nerve.{name}"
    assert nerve.callbacks.History is nerve.training.History
    assert nerve.callbacks.ProgbarLogger is nerve.training.ProgbarLogger
    assert isinstance(nerve.training.History(), nerve.callbacks.Callback)


def test_import_nerve_is_lazy():
    code = ("import sys, nerve; heavy = [m for m in ('nerve.models', 'nerve.layers', 'nerve.training', "
            "'nerve.optimizers', 'nerve.metrics', 'nerve.callbacks', 'nerve.datasets', 'urllib.request', 'tarfile', "
            "'nerve.saving', 'nerve.losses', 'nerve.preprocessing', 'nerve.dtype_policies', 'nerve.mixed_precision', "
            "'nerve.utils.progbar', 'nerve.utils.operation', 'zipfile', 'json', 'nerve.scopes', "
            "'nerve.rematerialization', 'nerve.utils.audio_dataset_utils', 'wave', 'nerve.ops', "
            "'nerve.autograd.ops.numpy_extra', 'nerve.autograd.ops.linalg_ops', 'nerve.autograd.higher_order', "
            "'nerve.autograd.second_order') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(nerve.__file__).parent.parent))
    assert out.stdout.strip() == "[]"


def test_models_and_layers_registered_for_saving():
    from nerve.saving.registry import get_registered_object
    for kind in ("models", "layers"):
        for name in ("Model", "Sequential", "Functional"):
            assert get_registered_object(name, kind=kind) is getattr(nerve.models, name)
