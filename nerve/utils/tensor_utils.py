"""Keras 3's ``keras.utils`` helpers for symbolic tensors and dtypes: ``is_keras_tensor``,
``get_source_inputs``, ``standardize_dtype``. They import nothing heavy until called."""
import numpy as np

from .. import backend

# Keras' ALLOWED_DTYPES that NumPy has ('bfloat16' and the float8 types have no NumPy dtype)
ALLOWED_DTYPES = ("float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                  "int64", "bool", "string", "complex64", "complex128")
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string", "int": "int32",
                  complex: "complex64"}  # Keras' map for its non-TensorFlow backends


def is_keras_tensor(x):
    """True for a symbolic tensor (what ``nerve.Input`` and layers called on it return)."""
    from ..layers.node import KerasTensor
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """The ``Input`` tensors that ``tensor`` is computed from (a list, without repeats); a symbolic tensor made
    by no layer is its own source, and anything that is not a symbolic tensor is returned as it is."""
    if not hasattr(tensor, "_history"):
        return tensor
    if tensor._history is None:
        return [tensor]
    node = tensor._history[1]
    if not node.inputs:  # an InputLayer's node
        return list(node.outputs)
    sources = []
    for t in node.inputs:
        for s in get_source_inputs(t):
            if all(s is not seen for seen in sources):
                sources.append(s)
    return sources


def standardize_dtype(dtype):
    """A dtype's Keras name: None -> floatx(); Python ``int`` / ``float`` / ``bool`` / ``str`` -> 'int32' /
    'float32' / 'bool' / 'string'; NumPy dtypes and types -> their name. ValueError for anything else."""
    if dtype is None:
        return backend.floatx()
    dtype = _PYTHON_DTYPES.get(dtype, dtype)
    if not isinstance(dtype, str):
        try:
            dtype = np.dtype(dtype).name
        except TypeError:
            dtype = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(f"standardize_dtype: argument 'dtype' expected one of {ALLOWED_DTYPES} (or None, a "
                         f"Python or NumPy type), got {dtype!r}")
    return dtype
