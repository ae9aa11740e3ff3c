"""Tensor: an array, its gradient and the Function that created it (micrograd / Chainer style).

``backward`` walks the recorded Functions in reverse topological order; gradients of a tensor used
several times (fan-out) are summed; leaf tensors accumulate into ``.grad``; saved arrays are freed
afterwards unless ``retain_graph=True``.
"""
import numpy as np

from .. import backend
from ..backend import config


class Tensor:
    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_oi", "_retain", "name", "_keras_mask", "__weakref__")
    __array_priority__ = 1000  # so ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"tensor: argument 'requires_grad' needs a float dtype, got {self.data.dtype} "
                            f"(pass dtype='float32' or float data)")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._oi = 0
        self._retain = False
        self.name = name

    @classmethod
    def _make(cls, data, ctx, oi):
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = ctx is not None
        t._ctx = ctx
        t._oi = oi
        t._retain = False
        t.name = None
        return t

    # ------------------------------------------------------------------ array-like properties
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size)
    T = property(lambda self: _ops().transpose(self))
    is_leaf = property(lambda self: self._ctx is None)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(backend.to_numpy(self.data), separator=", ", precision=4, threshold=20)
        extra = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}, dtype={self.data.dtype}{extra})"

    def __array__(self, dtype=None, copy=None):
        a = backend.to_numpy(self.data)
        return a.astype(dtype) if dtype is not None else a

    __hash__ = object.__hash__

    def numpy(self):
        """The values as a NumPy array (a host copy for CuPy)."""
        return backend.to_numpy(self.data)

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def detach(self):
        """Same data, no history (shares memory, as in PyTorch)."""
        return Tensor._make(self.data, None, 0)

    def requires_grad_(self, flag=True):
        if self._ctx is not None and not flag:
            raise RuntimeError("requires_grad_: cannot turn off gradients of a non-leaf tensor; use detach()")
        self.requires_grad = bool(flag)
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor during backward."""
        self._retain = True
        return self

    def zero_grad(self):
        self.grad = None

    def astype(self, dtype):
        return _ops().cast(self, dtype)

    def to(self, device):
        """'cpu' -> NumPy, 'gpu'/'cuda' -> CuPy (needs cupy installed); returns a new leaf tensor."""
        if device == "cpu":
            data = backend.to_numpy(self.data)
        elif device in ("gpu", "cuda"):
            import cupy
            data = cupy.asarray(self.data)
        else:
            raise ValueError(f"Tensor.to: argument 'device' expected 'cpu' or 'gpu', got {device!r}")
        return Tensor(data, requires_grad=self.requires_grad)

    def assign(self, value):
        """Overwrite the values in place (no gradient flows through an assignment)."""
        v = value.data if isinstance(value, Tensor) else value
        xp = backend.get_array_module(self.data)
        v = xp.asarray(v, dtype=self.data.dtype)
        if v.shape != self.data.shape:
            raise ValueError(f"assign: argument 'value' expected shape {self.shape}, got {tuple(v.shape)}")
        self.data[...] = v
        return self

    # ------------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Reverse-mode sweep from this tensor; leaves accumulate into ``.grad``. ``create_graph=True``: the
        gradients are part of the graph (autograd/higher_order.py), so a loss built from ``.grad`` can be
        differentiated again."""
        if create_graph:
            from .higher_order import backward_with_graph
            backward_with_graph(self, grad)
            return
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn "
                               "(did you create it inside no_grad, or forget requires_grad=True?)")
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: argument 'grad' may be omitted only for a scalar output, "
                                   f"got shape {self.shape}")
            grad = xp.ones_like(self.data)
        else:
            # a copy: leaves' .grad must never alias the caller's array
            grad = xp.array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(f"backward: argument 'grad' expected shape {self.shape}, got {tuple(grad.shape)}")
        if self._ctx is None:
            self._accumulate(grad)
            return
        run_backward(self, grad, retain_graph)

    def _accumulate(self, g):
        """grad += g, keeping the leaf's dtype (a float32 leaf may receive a float64 gradient)."""
        if self.grad is not None:
            g = self.grad.data + g
        self.grad = Tensor._make(g if g.dtype == self.data.dtype else g.astype(self.data.dtype), None, 0)

    # ------------------------------------------------------------------ operators
    def __add__(self, o): return _ops().add(self, o)
    def __radd__(self, o): return _ops().add(o, self)
    def __sub__(self, o): return _ops().subtract(self, o)
    def __rsub__(self, o): return _ops().subtract(o, self)
    def __mul__(self, o): return _ops().multiply(self, o)
    def __rmul__(self, o): return _ops().multiply(o, self)
    def __truediv__(self, o): return _ops().divide(self, o)
    def __rtruediv__(self, o): return _ops().divide(o, self)
    def __pow__(self, o): return _ops().power(self, o)
    def __rpow__(self, o): return _ops().power(o, self)
    def __matmul__(self, o): return _ops().matmul(self, o)
    def __rmatmul__(self, o): return _ops().matmul(o, self)
    def __neg__(self): return _ops().negative(self)
    def __pos__(self): return self
    def __abs__(self): return _ops().abs(self)
    def __getitem__(self, idx): return _ops().getitem(self, idx)

    def __setitem__(self, idx, value):
        if self.requires_grad and self._ctx is not None:
            raise RuntimeError("__setitem__: in-place assignment into a tensor that is part of a graph "
                               "would corrupt its gradient; build a new tensor (e.g. with ops.where)")
        self.data[idx] = value.data if isinstance(value, Tensor) else value

    # comparisons give constant (non-differentiable) boolean tensors
    def _cmp(self, o, f):
        return Tensor._make(f(self.data, o.data if isinstance(o, Tensor) else o), None, 0)
    def __lt__(self, o): return self._cmp(o, lambda a, b: a < b)
    def __le__(self, o): return self._cmp(o, lambda a, b: a <= b)
    def __gt__(self, o): return self._cmp(o, lambda a, b: a > b)
    def __ge__(self, o): return self._cmp(o, lambda a, b: a >= b)
    def __eq__(self, o): return self._cmp(o, lambda a, b: a == b)
    def __ne__(self, o): return self._cmp(o, lambda a, b: a != b)

    # ------------------------------------------------------------------ method forms of common ops
    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis, keepdims)
    def var(self, axis=None, keepdims=False): return _ops().var(self, axis, keepdims)
    def std(self, axis=None, keepdims=False): return _ops().std(self, axis, keepdims)
    def exp(self): return _ops().exp(self)
    def log(self): return _ops().log(self)
    def sqrt(self): return _ops().sqrt(self)
    def tanh(self): return _ops().tanh(self)
    def sigmoid(self): return _ops().sigmoid(self)
    def relu(self): return _ops().relu(self)
    def abs(self): return _ops().abs(self)
    def clip(self, lo, hi): return _ops().clip(self, lo, hi)
    def reshape(self, *shape):
        return _ops().reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    def transpose(self, *axes):
        return _ops().transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else (axes or None))
    def flatten(self): return _ops().reshape(self, (-1,))
    def squeeze(self, axis=None): return _ops().squeeze(self, axis)
    def unsqueeze(self, axis): return _ops().expand_dims(self, axis)
    def argmax(self, axis=None): return Tensor._make(self.data.argmax(axis=axis), None, 0)
    def argmin(self, axis=None): return Tensor._make(self.data.argmin(axis=axis), None, 0)


_OPS = []


def _ops():
    """nerve.autograd.ops, imported on first use (it imports this module) and cached: operators are hot."""
    if not _OPS:
        from . import ops
        _OPS.append(ops)
    return _OPS[0]


def _as_array(data, dtype=None):
    """Convert user data to an array: Python floats -> floatx, NumPy/CuPy arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        return data.astype(dtype) if dtype is not None and data.dtype != np.dtype(dtype) else data
    if dtype is not None:
        return np.asarray(data, dtype=backend.resolve_dtype(dtype))
    a = np.asarray(data)
    if a.dtype == np.float64 and not isinstance(data, (np.floating, np.generic)):
        a = a.astype(config.float_dtype)  # Python floats and lists follow floatx, like torch.tensor
    elif a.dtype.kind in "OUS":
        raise TypeError(f"tensor: argument 'data' expected numbers, got an array of dtype {a.dtype} "
                        f"(object or string values cannot be differentiated)")
    return a


def tensor(data, requires_grad=False, dtype=None):
    """Create a leaf Tensor (``nerve.tensor``). Python floats become float32 (floatx); arrays keep dtype."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def post_order(roots, who="backward"):
    """The Functions reachable from ``roots`` (tensors), each after all the Functions it consumes: an iterative
    DFS post-order (no recursion limit for long unrolled RNNs); Function objects hash by identity, so they key
    the sets and dicts directly."""
    order, seen = [], set()
    stack = [(r._ctx, False) for r in roots if r._ctx is not None]
    while stack:
        fn, done = stack.pop()
        if done:
            order.append(fn)
            continue
        if fn in seen:
            continue
        if fn.freed:
            raise RuntimeError(f"{who}: the graph through op '{type(fn).__name__}' was already freed by an "
                               f"earlier backward; pass retain_graph=True to the first call to backward twice")
        seen.add(fn)
        stack.append((fn, True))
        for t, need in zip(fn.inputs, fn.needs):
            if need and t._ctx is not None and t._ctx not in seen:
                stack.append((t._ctx, False))
    return order


def run_backward(root, grad, retain_graph=False):
    """Reverse topological walk over the Functions reachable from ``root``."""
    order = post_order((root,))
    grads = {root._ctx: {root._oi: grad}}
    retained = {}
    handed = set()  # ids of the arrays owning memory already given to a leaf's .grad
    if root._retain:
        retained[id(root)] = (root, grad)
    for fn in reversed(order):
        gouts = grads.pop(fn, None)
        if gouts is None:
            continue
        meta = fn.__dict__.get("out_meta")
        if meta is not None and len(meta) > 1:
            xp = backend.get_array_module(next(iter(gouts.values())))
            g = tuple(gouts[i] if i in gouts else xp.zeros(s, d) for i, (s, d) in enumerate(meta))
            in_grads = fn.backward(*g)
        else:
            in_grads = fn.backward(gouts[0])
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for t, need, g in zip(fn.inputs, fn.needs, in_grads):
            if not need or g is None:
                continue
            ctx = t._ctx
            if ctx is None:
                if t.grad is None:  # one gradient array (e.g. of an add) must not become two leaves' .grad
                    owner = g if g.base is None else g.base
                    if id(owner) in handed:
                        g = g.copy()
                    else:
                        handed.add(id(owner))
                    if g.dtype == t.data.dtype:  # _accumulate's common case
                        t.grad = Tensor._make(g, None, 0)
                        continue
                t._accumulate(g)
            else:
                slot = grads.get(ctx)
                if slot is None:
                    slot = grads[ctx] = {}
                prev = slot.get(t._oi)
                slot[t._oi] = g if prev is None else prev + g
                if t._retain:
                    retained[id(t)] = (t, slot[t._oi])
        if not retain_graph:
            fn.release()
    for t, g in retained.values():
        t.grad = Tensor._make(g, None, 0)
