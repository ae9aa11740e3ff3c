"""Variable: a trainable Tensor with a name, as ``keras.Variable``."""
import numpy as np

from . import backend, scopes
from .autograd import autocast
from .autograd.tensor import Tensor, _as_array


class Variable(Tensor):
    """A leaf tensor that layers and optimizers own. ``trainable`` decides whether it gets gradients."""

    __slots__ = ("_trainable", "path", "constraint", "regularizer", "aggregation", "_autocast")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True, name=None,
                 constraint=None, regularizer=None):
        if callable(initializer) and not isinstance(initializer, (np.ndarray, Tensor)):
            if shape is None:
                raise ValueError(f"Variable {name!r}: argument 'shape' is required with a callable initializer")
            data = initializer(tuple(shape), dtype=backend.resolve_dtype(dtype))
        else:
            data = initializer
        kind = data.dtype.kind if backend.is_array(data) else np.asarray(data).dtype.kind
        data = backend.place(_as_array(data, backend.resolve_dtype(dtype) if dtype is not None or kind == "f"
                                       else None))
        if data.ndim > 1 and not data.flags.c_contiguous:  # optimizers update it in one flat pass
            data = backend.get_array_module(data).ascontiguousarray(data)
        if shape is not None and tuple(data.shape) != tuple(shape):
            raise ValueError(f"Variable {name!r}: argument 'initializer' gave shape {tuple(data.shape)}, "
                             f"expected {tuple(shape)}")
        super().__init__(data, requires_grad=bool(trainable) and data.dtype.kind == "f", name=name or "variable")
        self.trainable = bool(trainable)
        self.path = self.name
        self.constraint = constraint
        self.regularizer = regularizer
        self._autocast = bool(autocast)  # read in the compute dtype inside a mixed-precision layer (autocast.py)

    @property
    def value(self):
        """The variable, or inside a mixed-precision layer's call its copy in the compute dtype (as Keras)."""
        scope = autocast.ACTIVE[0]
        return self if scope is None else scope.maybe_cast(self)

    def assign(self, value):
        v = value.data if isinstance(value, Tensor) else value
        xp = backend.get_array_module(self.data)
        v = xp.asarray(v, dtype=self.data.dtype)
        if v.shape != self.data.shape:
            raise ValueError(f"Variable {self.path!r}: assign expected shape {self.shape}, got {tuple(v.shape)}")
        scope = scopes.get_stateless_scope()
        if scope is not None:  # recorded in the scope, the variable itself unchanged (keras.StatelessScope)
            scope.add_update((self, v))
            return self
        self.data[...] = v
        return self

    def assign_add(self, value):
        return self.assign(self.data + (value.data if isinstance(value, Tensor) else value))

    def assign_sub(self, value):
        return self.assign(self.data - (value.data if isinstance(value, Tensor) else value))

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, v):  # a property, not __setattr__: .grad is set on every variable every step
        self._trainable = v
        self.requires_grad = bool(v) and self.data.dtype.kind == "f"
