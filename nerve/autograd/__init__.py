"""Reverse-mode automatic differentiation over NumPy/CuPy arrays."""
from .function import Function, unbroadcast
from .tensor import Tensor, tensor
from .gradcheck import gradcheck


def __getattr__(name):  # grad (and the second-order rules) load on first use: `import nerve` stays fast
    if name == "grad":
        from .higher_order import grad
        return grad
    raise AttributeError(f"module 'nerve.autograd' has no attribute {name!r}")
