"""Autocasting of variables (Keras 3's ``AutocastScope``), the core of mixed precision.

Under a mixed policy ('mixed_float16': float16 compute, float32 variables) a layer's ``__call__`` opens a scope
with its compute dtype. While it is open, ``Function.apply`` hands every op a float variable (one made with
``autocast=True``, the default) as a copy in the scope's dtype: y = cast(w). The copy is a differentiable Cast,
so dL/dw = cast(dL/dy) back in the variable's own dtype: the optimizer keeps updating float32 weights. One copy per
variable per scope (an RNN reads its kernel at every step; a scope nested in one of the same dtype shares the
copies); a scope with dtype None turns autocasting off (a float32 layer inside a mixed model).
"""
import numpy as np

from ..backend import config

ACTIVE = [None]  # the innermost open scope whose dtype is not None, else None (Function.apply reads it)


class AutocastScope:
    """``with AutocastScope("float16"):`` float variables read by ops inside are cast to float16."""

    def __init__(self, dtype):
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise ValueError(f"AutocastScope: argument 'dtype' expected a float dtype such as 'float16', got "
                                 f"{dtype.name!r}")
        self.dtype = dtype
        self._copies = {}
        self._outer = None

    def __enter__(self):
        self._outer = ACTIVE[0]
        if self._outer is not None and self._outer.dtype == self.dtype:
            self._copies = self._outer._copies
        ACTIVE[0] = self if self.dtype is not None else None
        return self

    def __exit__(self, *exc):
        ACTIVE[0] = self._outer
        self._copies = {}

    def maybe_cast(self, value):
        """``value`` in this scope's dtype when it is a float variable that autocasts, else ``value`` itself."""
        if self.dtype is None or not getattr(value, "_autocast", False):
            return value
        d = value.data.dtype
        if d == self.dtype or d.kind != "f":
            return value
        key = (id(value), config.grad_enabled)  # a copy made under no_grad has no graph: not reused with grads on
        hit = self._copies.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        from .ops.elementwise import Cast
        ACTIVE[0] = None  # the Cast's own input is the variable itself
        try:
            copy = Cast.apply(value, self.dtype)
        finally:
            ACTIVE[0] = self
        self._copies[key] = (value, copy)
        return copy

    def cast_inputs(self, inputs):
        """``inputs`` of an op with each autocasting variable replaced by its copy (the same tuple if none)."""
        out = None
        for i, a in enumerate(inputs):
            if getattr(a, "_autocast", False):
                c = self.maybe_cast(a)
                if c is not a:
                    if out is None:
                        out = list(inputs)
                    out[i] = c
        return inputs if out is None else tuple(out)


def get_autocast_scope():
    """The innermost open autocast scope (None when variables are read as they are)."""
    return ACTIVE[0]
