"""Symbolic tensors and nodes of the functional API (Keras' KerasTensor / Node).

Calling a layer on a KerasTensor records a Node (layer, its input KerasTensors, call arguments) and
returns output KerasTensors whose shape comes from ``layer.compute_output_shape``. A functional Model
walks these nodes back from its outputs to its inputs.
"""
import numpy as np


class KerasTensor:
    """A placeholder with a shape (batch axis None) and dtype; ``_history`` = (layer, node, index)."""

    def __init__(self, shape, dtype="float32", name=None, history=None, sparse=False):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(np.dtype(dtype))
        self.name = name
        self._history = history
        self.sparse = sparse

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # arithmetic on symbolic tensors builds small op layers, as Keras does (x + y, x * 2, x[:, 0])
    def _op(self, other, fn, name, reverse=False):
        from .core import Lambda
        if reverse:
            return Lambda(lambda t: fn(other, t), name=None, _symbolic_op=name)(self)
        if isinstance(other, KerasTensor):
            return Lambda(lambda ts: fn(ts[0], ts[1]), _symbolic_op=name)([self, other])
        return Lambda(lambda t: fn(t, other), _symbolic_op=name)(self)

    def __add__(self, o): return self._op(o, lambda a, b: a + b, "add")
    def __radd__(self, o): return self._op(o, lambda a, b: a + b, "add", True)
    def __sub__(self, o): return self._op(o, lambda a, b: a - b, "subtract")
    def __rsub__(self, o): return self._op(o, lambda a, b: a - b, "subtract", True)
    def __mul__(self, o): return self._op(o, lambda a, b: a * b, "multiply")
    def __rmul__(self, o): return self._op(o, lambda a, b: a * b, "multiply", True)
    def __truediv__(self, o): return self._op(o, lambda a, b: a / b, "divide")
    def __neg__(self): return self._op(None, lambda a, b: -a, "negative")
    def __getitem__(self, idx): return self._op(None, lambda a, b: a[idx], "getitem")


class Node:
    """One call of a layer inside a functional graph."""

    def __init__(self, layer, inputs, outputs, args_struct, kwargs):
        self.layer = layer
        self.inputs = inputs            # flat list of KerasTensor
        self.outputs = outputs          # flat list of KerasTensor
        self.args_struct = args_struct  # how the inputs were nested: 'single', 'list' or 'dict:<keys>'
        self.kwargs = kwargs            # non-tensor keyword arguments of the call (JSON-able)

    @property
    def parent_nodes(self):
        return [t._history[1] for t in self.inputs if t._history is not None]


def flatten(x):
    """Flatten nested lists/tuples/dicts of tensors to a list (dict values in sorted key order)."""
    if isinstance(x, (list, tuple)):
        out = []
        for v in x:
            out.extend(flatten(v))
        return out
    if isinstance(x, dict):
        out = []
        for k in sorted(x):
            out.extend(flatten(x[k]))
        return out
    return [x]


def is_symbolic(x):
    return any(isinstance(t, KerasTensor) for t in flatten(x))
