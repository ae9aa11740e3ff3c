"""nerve: deep learning on NumPy with its own autodiff engine, behind a Keras 3 compatible API."""
__version__ = "0.1.0"

from . import backend
from .backend import (config, debug_mode, device, enable_grad, floatx, no_grad, set_floatx, set_grad_enabled,
                      set_random_seed)
from .autograd import Function, Tensor, gradcheck, tensor
from .denormals import set_flush_denormal
from . import utils


def version():
    """nerve's version string (``keras.version()``)."""
    return __version__


# Keras-style submodules and top-level names, imported on first use so that `import nerve` stays fast
_SUBMODULES = ("ops", "models", "layers", "losses", "optimizers", "metrics", "callbacks", "activations", "initializers",
               "regularizers", "constraints", "saving", "training", "datasets", "variables",
               "applications", "preprocessing", "inspect", "evaluation", "generative", "wrappers", "integrations",
               "recipes", "random", "tree", "dtype_policies", "mixed_precision", "quantizers", "distillation",
               "visualization")
_TOP_LEVEL = {"grad": "autograd.higher_order", "Sequential": "models", "Model": "models", "Functional": "models", "Input": "layers",
              "InputSpec": "layers", "Layer": "layers", "Variable": "variables", "KerasTensor": "layers.node",
              "Loss": "losses", "Metric": "metrics", "Optimizer": "optimizers", "Initializer": "initializers",
              "Regularizer": "regularizers", "DTypePolicy": "dtype_policies", "FloatDTypePolicy": "dtype_policies",
              "Quantizer": "quantizers",
              "name_scope": "utils.naming", "Operation": "utils.operation", "remat": "rematerialization",
              "RematScope": "rematerialization", "StatelessScope": "scopes", "SymbolicScope": "scopes"}


def __getattr__(name):
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _TOP_LEVEL:
        value = getattr(importlib.import_module(f"{__name__}.{_TOP_LEVEL[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nerve' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES) | set(_TOP_LEVEL))
