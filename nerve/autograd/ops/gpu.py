"""Fused CuPy kernels for the GPU (the counterpart of ops/jit.py): one launch instead of a chain of
elementwise CuPy calls, each of which costs a kernel launch and ~10 us of Python (PERFORMANCE.md).

    bias_relu   z = max(z + b, 0) (NaN stays NaN, as np.maximum), in place; b broadcast over rows
    bias_add    z = z + b, in place
    relu_grad   d = g [out > 0]                          (g * (out > 0), the NumPy path's product)
    adam        m += (g - m)(1 - b1); v += (g g - v)(1 - b2); w -= m / (sqrt(v) + eps) alpha, in place,
                the float operations of optimizers/adam.py's NumPy path in the same order

Use: ``kernels(a)`` returns the namespace when ``a`` is a CuPy float32/float64 array and the kernels are on
(``NERVE_GPU_KERNELS=0`` or ``set_enabled(False)`` switches them off), else None: callers then take the
generic ``xp`` path, which gives the same results up to the compiler's fused multiply-adds.
"""
import os
import sys
import types

_state = {"enabled": os.environ.get("NERVE_GPU_KERNELS", "1") not in ("0", "false", "False", ""), "cp": None,
          "mod": None}


def set_enabled(flag):
    """Switch the fused GPU kernels on or off; returns the previous setting."""
    old = _state["enabled"]
    _state["enabled"] = bool(flag)
    return old


def kernels(a):
    """The kernel namespace for CuPy float arrays like ``a``, else None (NumPy arrays, kernels off, no CuPy)."""
    if not _state["enabled"] or type(a).__module__.split(".")[0] != "cupy" or a.dtype.char not in "fd":
        return None
    cp = sys.modules["cupy"]
    if _state["cp"] is not cp:  # built once per CuPy module
        try:
            _state["mod"] = _build(cp)
        except Exception:  # a CuPy without a compiler, or a stand-in that cannot compile (tests/fakecupy.py)
            _state["mod"] = None
        _state["cp"] = cp
    return _state["mod"]


def _build(cp):
    ek = cp.ElementwiseKernel
    return types.SimpleNamespace(
        bias_relu=ek("T b", "T z", "T v = z + b; z = v < (T)0 ? (T)0 : v", "nerve_bias_relu"),
        bias_add=ek("T b", "T z", "z = z + b", "nerve_bias_add"),
        relu_grad=ek("T g, T out", "T d", "d = g * (T)(out > (T)0)", "nerve_relu_grad"),
        adam=ek("T g, T b1c, T b2c, T alpha, T eps", "T w, T m, T v",
                "T mm = m + (g - m) * b1c; T vv = v + (g * g - v) * b2c; m = mm; v = vv;"
                "w = w - mm / (sqrt(vv) + eps) * alpha", "nerve_adam"),
    )
