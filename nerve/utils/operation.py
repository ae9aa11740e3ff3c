"""``nerve.Operation`` (Keras 3's ``keras.Operation``): a named callable whose ``call`` computes on tensors.

Called on tensors or arrays it runs ``call``. Called on symbolic tensors (``nerve.Input`` and what layers
return) it records itself in the functional graph, as a Lambda layer named after the operation, whose output
shape comes from ``compute_output_spec`` (by default: ``call`` traced once on zeros). The resulting models run
and train, but cannot be saved to a ``.keras`` file, as nerve never serialises Python code.
"""
import numpy as np

from .. import backend, tree
from .tensor_utils import is_keras_tensor


class Operation:
    """Subclass it and implement ``call(*args, **kwargs)``; override ``compute_output_spec`` when tracing
    ``call`` on zeros cannot give the output shape."""

    def __init__(self, name=None):
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"{type(self).__name__}: argument 'name' expected a string without '/', got {name!r}")
        if name is None:
            from ..layers.layer import to_snake_case, unique_name
            name = unique_name(to_snake_case(type(self).__name__))
        self.name = name

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call(*args, **kwargs)")

    def __call__(self, *args, **kwargs):
        if any(is_keras_tensor(x) for x in tree.flatten((args, kwargs))):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def _filled(self, args, kwargs, values):
        """``(args, kwargs)`` with their symbolic tensors replaced, in order, by ``values``."""
        it = iter(values)
        flat = [next(it) if is_keras_tensor(x) else x for x in tree.flatten((args, kwargs))]
        return tree.pack_sequence_as((args, kwargs), flat)

    def compute_output_spec(self, *args, **kwargs):
        """The symbolic output(s) of a call on these symbolic inputs: ``call`` run once on zeros (unknown axes
        of size 1); the first axis of each output is None when an input's first axis was None, as in layers."""
        from ..autograd.tensor import Tensor
        from ..layers.node import KerasTensor
        symbolic = [x for x in tree.flatten((args, kwargs)) if is_keras_tensor(x)]
        zeros = [Tensor(np.zeros(tuple(1 if d is None else d for d in t.shape), t.dtype)) for t in symbolic]
        a, kw = self._filled(args, kwargs, zeros)
        with backend.no_grad():
            out = self.call(*a, **kw)
        batch_unknown = any(t.shape and t.shape[0] is None for t in symbolic)

        def spec(o):
            shape = tuple(o.shape)
            if batch_unknown and shape:
                shape = (None,) + shape[1:]
            return KerasTensor(shape, backend.unwrap(o).dtype, name=self.name)
        return tree.map_structure(spec, out)

    def symbolic_call(self, *args, **kwargs):
        """Record this operation in the functional graph (as a Lambda layer named after it)."""
        from ..layers.core import Lambda
        symbolic = [x for x in tree.flatten((args, kwargs)) if is_keras_tensor(x)]
        spec = self.compute_output_spec(*args, **kwargs)
        output_shape = (lambda _: spec.shape) if is_keras_tensor(spec) else None  # several outputs: traced

        def run(inputs):
            a, kw = self._filled(args, kwargs, inputs if len(symbolic) > 1 else [inputs])
            return self.call(*a, **kw)
        self._calls = getattr(self, "_calls", 0) + 1  # layer names must be unique within a model
        layer = Lambda(run, output_shape=output_shape,
                       name=self.name if self._calls == 1 else f"{self.name}_{self._calls - 1}")
        return layer(symbolic if len(symbolic) > 1 else symbolic[0])

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<Operation name={self.name}>"
