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
