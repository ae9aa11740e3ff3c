"""Reverse-mode automatic differentiation over NumPy/CuPy arrays."""
from .function import Function, unbroadcast
from .tensor import Tensor, tensor
from .gradcheck import gradcheck
from .higher_order import grad
