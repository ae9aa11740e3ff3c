"""``nerve.mixed_precision`` (Keras 3's ``keras.mixed_precision`` names), sharing the state of
``nerve.config.dtype_policy`` / ``set_dtype_policy``. ``set_global_policy("mixed_float16")``: layers made
afterwards compute in float16 and keep float32 variables, ``compile`` adds loss scaling (see
``nerve.dtype_policies``); 'mixed_bfloat16' raises NotImplementedError (no bfloat16 in NumPy or CuPy)."""
from .dtype_policies import DTypePolicy, dtype_policy, set_dtype_policy

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]


def __getattr__(name):  # keras.mixed_precision.LossScaleOptimizer: loaded on first use (it imports the optimizers)
    if name == "LossScaleOptimizer":
        from .optimizers import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module 'nerve.mixed_precision' has no attribute {name!r}")
