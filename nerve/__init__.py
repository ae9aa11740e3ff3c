"""nerve: deep learning on NumPy with its own autodiff engine, behind a Keras 3 compatible API."""
__version__ = "0.1.0"

from . import backend
from .backend import (config, debug_mode, enable_grad, floatx, no_grad, set_floatx, set_grad_enabled,
                      set_random_seed)
from .autograd import Function, Tensor, gradcheck, tensor
from . import ops
from . import utils
