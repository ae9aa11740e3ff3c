"""The ``kernel_path`` fixture: a module that uses it runs every test on both paths, the numba kernels
(nerve/autograd/ops/jit.py) and the pure-NumPy reference."""
import pytest

from nerve.autograd.ops import jit


@pytest.fixture(params=["compiled", "numpy"])
def kernel_path(request):
    if request.param == "compiled":
        pytest.importorskip("numba", reason="the compiled kernels need the `fast` extra (numba)")
    old = jit.set_enabled(request.param == "compiled")
    yield request.param
    jit.set_enabled(old)
