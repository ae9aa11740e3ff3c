"""Recipes whose models take other paths than fit's (custom train steps, direct model calls with host data,
recurrent states, text generation) run end to end on the GPU path: under ``nerve.device("gpu")``, on the real
CuPy where a GPU is visible, else on the strict stand-in (tests/fakecupy.py)."""
import os
import sys

import pytest

import nerve
from nerve import recipes

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


@pytest.fixture
def gpu():
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("name", ["vae", "mlp_gan", "char_textgen", "sentiment_bilstm", "fashion_cnn_bn"])
def test_quick_recipe_on_the_gpu_path(gpu, name, tmp_path):
    try:
        with nerve.device("gpu"):
            m = recipes.run_recipe(name, quick=True, out=str(tmp_path / name), verbose=0, log=lambda *a: None)
    except recipes.RecipeUnavailable as e:
        pytest.skip(str(e))
    assert m["status"] == "ok" and m["ours"]


def test_a_recipe_fit_moves_its_arrays_to_the_gpu_once(gpu):
    """ctx.fit copies NumPy training and validation arrays to the device of a GPU model (shuffled batches are
    then gathered there); CPU models, and data over the limit, keep host arrays."""
    import numpy as np
    from nerve.recipes._base import _data_on_device
    x, y = np.ones((10, 3), "float32"), np.zeros(10)
    for where, moved in (("gpu", True), ("cpu", False)):
        with nerve.device(where):
            m = nerve.Sequential([nerve.layers.Input((3,)), nerve.layers.Dense(2)])
        x2, y2, kw = _data_on_device(m, x, y, {"validation_data": (x, y), "epochs": 2})
        assert all(isinstance(a, gpu.ndarray) is moved for a in (x2, y2, *kw["validation_data"]))
        assert kw["epochs"] == 2
    with nerve.device("gpu"):
        m = nerve.Sequential([nerve.layers.Input((3,)), nerve.layers.Dense(2)])
    assert _data_on_device(m, x, y, {}, limit=100)[0] is x
