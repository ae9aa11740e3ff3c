"""Function: one differentiable operation. ``forward`` maps arrays to an array (or a tuple of arrays),
``backward`` maps the output gradient(s) to one gradient per input (None where not needed).

``Function.apply`` records the node only when gradients are enabled and some input requires them, so
inference builds no graph. In debug mode every forward output is checked for NaN/Inf.
"""
import os
import sys

import numpy as np

from .. import backend
from ..backend import config

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unbroadcast(grad, shape):
    """Adjoint of NumPy broadcasting: sum ``grad`` down to ``shape``.

    If y = broadcast(x) then dL/dx = sum of dL/dy over the broadcast axes (leading axes that were
    added, and axes where x had size 1).
    """
    if grad.shape == shape:
        return grad
    ndim = len(shape)
    lead = grad.ndim - ndim
    if lead > 0:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def user_frame():
    """'file:line' of the first stack frame outside the nerve package (the user's source line)."""
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not fn.startswith(_PKG_DIR + os.sep):
            return f"{fn}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


def _describe(a):
    xp = backend.get_array_module(a)
    if not backend.is_array(a):
        return repr(a)
    if a.size and a.dtype.kind in "fc":
        finite = a[xp.isfinite(a)]
        rng = f"[{float(finite.min()):.4g}, {float(finite.max()):.4g}]" if finite.size else "[no finite values]"
        bad = int(a.size - finite.size)
        return f"shape {tuple(a.shape)} {a.dtype} range {rng}" + (f" with {bad} NaN/Inf" if bad else "")
    return f"shape {tuple(a.shape)} {a.dtype}"


def check_finite(name, arrays, out):
    """Debug mode: raise FloatingPointError naming the op, its inputs and the user's line."""
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        if backend.is_array(o) and o.dtype.kind in "fc":
            xp = backend.get_array_module(o)
            if not bool(xp.isfinite(o).all()):
                n_nan = int(xp.isnan(o).sum())
                n_inf = int(xp.isinf(o).sum())
                ins = "; ".join(f"input {i}: {_describe(a)}" for i, a in enumerate(arrays))
                raise FloatingPointError(
                    f"nerve debug: op '{name}' produced {n_nan} NaN and {n_inf} Inf values "
                    f"(output shape {tuple(o.shape)}); {ins}; at {user_frame()}")


class Function:
    """Base class of every differentiable op. Subclasses set ``name`` and implement forward/backward.

    In ``forward`` save on ``self`` only what ``backward`` needs. ``self.inputs`` holds the inputs as
    given (Tensors or constants) and ``self.needs`` which of them need a gradient.
    """

    name = None
    needs = ()  # set per call when the node is recorded
    freed = False

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        # Hot path (every op goes through here): unrolled for one, two and three inputs, no generators.
        if _AUTOCAST[0] is not None:  # inside a mixed-precision layer: float variables in its compute dtype
            inputs = _AUTOCAST[0].cast_inputs(inputs)
        fn = cls()
        n = len(inputs)
        if n == 1:
            a = inputs[0]
            if isinstance(a, Tensor):
                arrays = (a.data,)
                needs = (a.requires_grad,)
            else:
                arrays, needs = inputs, (False,)
        elif n == 2:
            a, b = inputs
            if isinstance(a, Tensor):
                da, ra = a.data, a.requires_grad
            else:
                da, ra = a, False
            if isinstance(b, Tensor):
                db, rb = b.data, b.requires_grad
            else:
                db, rb = b, False
            arrays, needs = (da, db), (ra, rb)
        elif n == 3 and isinstance(inputs[0], Tensor) and isinstance(inputs[1], Tensor) and \
                (inputs[2] is None or isinstance(inputs[2], Tensor)):
            a, b, c = inputs  # a layer's (input, kernel, bias or None): Dense, Conv2D
            if c is None:
                arrays, needs = (a.data, b.data, None), (a.requires_grad, b.requires_grad, False)
            else:
                arrays, needs = (a.data, b.data, c.data), (a.requires_grad, b.requires_grad, c.requires_grad)
        else:
            arrays = [t.data if isinstance(t, Tensor) else t for t in inputs]
            needs = tuple([isinstance(t, Tensor) and t.requires_grad for t in inputs])
        record = config.grad_enabled and True in needs
        if record:
            fn.needs = needs
        out = fn.forward(*arrays, **kwargs)
        if config.debug:
            check_finite(cls.name or cls.__name__.lower(), arrays, out)
        if isinstance(out, tuple):
            if not record:
                return tuple([_make(_asarray(o), None, 0) for o in out])
            fn.inputs = inputs
            fn.out_meta = [(o.shape, o.dtype) for o in out]
            return tuple([_make(_asarray(o), fn, i) for i, o in enumerate(out)])
        if isinstance(out, np.generic):  # full reductions give NumPy scalars; Tensor.data is always an array
            out = np.asarray(out)
        if not record:
            return _make(out, None, 0)
        fn.inputs = inputs
        return _make(out, fn, 0)

    def release(self):
        """Drop saved arrays after backward (the graph is freed unless retained)."""
        self.__dict__.clear()
        self.freed = True


def _asarray(o):
    return np.asarray(o) if isinstance(o, np.generic) else o


# tensor.py does not import this module, so the import can sit at the bottom (after Function exists)
from .tensor import Tensor  # noqa: E402
from .autocast import ACTIVE as _AUTOCAST  # noqa: E402

_make = Tensor._make
