"""Fixtures for modules to run every test on each path: ``kernel_path`` (the numba kernels of
nerve/autograd/ops/jit.py and the pure-NumPy reference), ``chain_count`` (recurrences over one or two batch
chains, nerve/autograd/ops/chains.py)."""
import pytest

from nerve.autograd.ops import jit


@pytest.fixture(params=["compiled", "numpy"])
def kernel_path(request):
    if request.param == "compiled":
        pytest.importorskip("numba", reason="the compiled kernels need the `fast` extra (numba)")
    old = jit.set_enabled(request.param == "compiled")
    yield request.param
    jit.set_enabled(old)


@pytest.fixture(params=[1, 2], ids=["one_chain", "two_chains"])
def chain_count(request):
    """Recurrences over the whole batch, or over two batch chains in two threads (ops/chains.py)."""
    from nerve.autograd.ops import chains
    if request.param > 1:
        pytest.importorskip("threadpoolctl", reason="batch chains need threadpoolctl")
    old = chains.set_count(request.param)
    yield request.param
    chains.set_count(old)
