"""``nerve.mixed_precision`` (Keras 3's legacy ``keras.mixed_precision`` names), sharing the state of
``nerve.config.dtype_policy`` / ``set_dtype_policy``. Mixed policies ('mixed_float16', 'mixed_bfloat16')
raise NotImplementedError: nerve has no mixed precision yet (see ``nerve.dtype_policies``)."""
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
