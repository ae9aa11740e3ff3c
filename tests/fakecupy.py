"""A strict stand-in for CuPy on a machine without a GPU, for tests of the device code paths.

Its ``ndarray`` wraps a NumPy array and behaves as CuPy's does where host and device meet: implicit
conversion to NumPy raises (``np.asarray(a)``, numba, ``float`` of a non-scalar), and mixing with a NumPy
array (of any rank, 0-d too; NumPy scalars pass) in an operation raises ``TypeError`` as CuPy does
("Unsupported type").
NumPy functions called on it dispatch through ``__array_function__`` / ``__array_ufunc__`` as they do on
CuPy. ``install()`` puts it in ``sys.modules`` as ``cupy`` / ``cupyx`` (what nerve's backend looks for);
``uninstall()`` takes it out. Arithmetic is NumPy's, so results equal the NumPy path's bit for bit
wherever the code does the same operations.

It cannot run CUDA source: ``ElementwiseKernel`` / ``RawKernel`` raise, so code must keep a generic path.
"""
import contextlib
import sys
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_MSG = "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."


calls = {}  # where -> number of calls: about one CuPy kernel launch each (for counting launches per step)


def _count(where):
    calls[where] = calls.get(where, 0) + 1


def _unwrap(x, where):
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):  # any rank: CuPy refuses 0-d NumPy arrays too (NumPy scalars pass)
        raise TypeError(f"Unsupported type {type(x)} (fake cupy: a host array in {where})")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, where) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        return ndarray(x)
    if isinstance(x, np.generic) and not isinstance(x, (np.str_, np.bytes_)):
        return ndarray(np.asarray(x))  # CuPy reductions return 0-d device arrays, not scalars
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


def _index(key):
    """Index keys may hold host integer/bool arrays (CuPy copies them over)."""
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, list):
        return np.asarray(key)
    return key


class MemoryPointer:
    """cupy.cuda.MemoryPointer's stand-in: an address, nothing array-like."""
    __slots__ = ("ptr",)

    def __init__(self, owner):
        self.ptr = id(owner)


class ndarray(NDArrayOperatorsMixin):
    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a):
        object.__setattr__(self, "_a", a)

    # ---- host <-> device
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_MSG)

    def get(self, stream=None, out=None):
        return self._a.copy()

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        where = f"numpy.{ufunc.__name__}.{method}"
        _count(where)
        out = kw.get("out")
        args = _unwrap(inputs, where)
        if out is not None:
            kw["out"] = tuple(_unwrap(o, where + " out=") for o in out)
            if any(not isinstance(o, ndarray) for o in out):
                raise TypeError(f"Unsupported type for out= in {where}")
        res = getattr(ufunc, method)(*args, **kw)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(res)

    def __array_function__(self, func, types_, args, kwargs):
        where = f"{func.__module__}.{func.__name__}"
        _count(where)
        if func.__name__ in _NOT_IN_CUPY:
            raise TypeError(f"fake cupy: {where} has no CuPy counterpart")
        out = kwargs.get("out")
        res = func(*_unwrap(args, where), **_unwrap(kwargs, where))
        return out if out is not None else _wrap(res)

    @property
    def data(self):
        """As in CuPy: the device memory pointer, not an array (``getattr(x, "data", x)`` is no Tensor test)."""
        return MemoryPointer(self)

    # ---- attributes and methods: those of the wrapped array, with arrays wrapped
    def __getattr__(self, name):
        if name.startswith("__") or name in ("tofile", "tobytes", "dumps", "dump", "ctypes"):
            raise AttributeError(f"fake cupy: ndarray has no host attribute {name!r}")
        v = getattr(self._a, name)
        if callable(v):
            def method(*args, **kwargs):
                _count(f"ndarray.{name}")
                out = kwargs.get("out")
                r = v(*_unwrap(args, f"ndarray.{name}"), **_unwrap(kwargs, f"ndarray.{name}"))
                return out if out is not None else _wrap(r)
            return method
        return _wrap(v)

    @property
    def T(self):
        return ndarray(self._a.T)

    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    def __getitem__(self, key):
        if not isinstance(key, (int, slice, tuple, type(None), type(Ellipsis))):
            _count("ndarray.__getitem__ (gather)")
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        _count("ndarray.__setitem__")
        self._a[_index(key)] = _unwrap(value, "ndarray.__setitem__")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return "fakecupy." + repr(self._a)

    def __copy__(self):
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._a.copy())

    def __reduce__(self):
        raise TypeError("fake cupy: arrays are not picklable here")

    __hash__ = None


_NOT_IN_CUPY = {"save", "savez", "savez_compressed", "tofile", "as_strided"}


def asarray(a, dtype=None, order=None):
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == np.dtype(dtype) else ndarray(a._a.astype(dtype))
    return ndarray(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    if isinstance(a, ndarray):
        a = a._a
    return ndarray(np.array(a, dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def asnumpy(a, stream=None, out=None):
    return a._a.copy() if isinstance(a, ndarray) else np.asarray(a)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


def _function(name):
    f = getattr(np, name)
    if not callable(f) or isinstance(f, type):
        return f

    def g(*args, **kwargs):
        _count(f"cupy.{name}")
        out = kwargs.get("out")
        r = f(*_unwrap(args, f"cupy.{name}"), **_unwrap(kwargs, f"cupy.{name}"))
        return out if out is not None else _wrap(r)
    g.__name__ = name
    return g


def _module(name, src, names=None):
    m = types.ModuleType(name)
    for n in names or [n for n in dir(src) if not n.startswith("_")]:
        v = getattr(src, n, None)
        if callable(v) and not isinstance(v, type):
            setattr(m, n, _wrap_fn(v, f"{name}.{n}"))
        elif v is not None:
            setattr(m, n, v)
    return m


def _wrap_fn(f, where):
    def g(*args, **kwargs):
        out = kwargs.get("out")
        r = f(*_unwrap(args, where), **_unwrap(kwargs, where))
        return out if out is not None else _wrap(r)
    g.__name__ = getattr(f, "__name__", where)
    return g


def _unsupported(*args, **kwargs):
    raise NotImplementedError("fake cupy cannot compile CUDA kernels")


class _Device:
    def __init__(self, i=0):
        self.id = i

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _as_strided(x, shape=None, strides=None, **kw):
    return ndarray(np.lib.stride_tricks.as_strided(x._a, shape, strides, **kw))


def _scatter_add(a, slices, value):
    np.add.at(a._a, _index(slices), _unwrap(value, "cupyx.scatter_add"))


def _build():
    cp = types.ModuleType("cupy")
    cp.__doc__ = __doc__
    cp.ndarray = ndarray
    cp.asarray, cp.array, cp.asnumpy, cp.get_array_module = asarray, array, asnumpy, get_array_module
    cp.ElementwiseKernel = cp.RawKernel = cp.ReductionKernel = cp.RawModule = _unsupported
    cp.fuse = lambda *a, **k: _unsupported
    cp.__getattr__ = _function  # every other NumPy name, wrapped (module __getattr__, PEP 562)
    cp.random = _module("cupy.random", np.random, ["seed", "random", "rand", "randn", "standard_normal",
                                                    "uniform", "normal", "randint", "permutation",
                                                    "shuffle", "binomial"])
    cp.linalg = _module("cupy.linalg", np.linalg)
    cp.fft = _module("cupy.fft", np.fft)
    cp.lib = types.ModuleType("cupy.lib")
    cp.lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
    cp.lib.stride_tricks.as_strided = _as_strided
    cuda = types.ModuleType("cupy.cuda")
    cuda.Device = _Device
    cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1,
                                         getDeviceProperties=lambda i: {"name": b"fake cupy (CPU)"})
    cuda.Stream = types.SimpleNamespace(null=types.SimpleNamespace(synchronize=lambda: None))
    cp.cuda = cuda
    cpx = types.ModuleType("cupyx")
    cpx.scatter_add = _scatter_add
    cpx.scipy = types.ModuleType("cupyx.scipy")
    import math
    cpx.scipy.special = types.SimpleNamespace(
        erf=lambda x: ndarray(np.vectorize(math.erf, otypes=[x.dtype])(x._a)))
    return {"cupy": cp, "cupyx": cpx, "cupyx.scipy": cpx.scipy, "cupy.cuda": cuda, "cupy.random": cp.random,
            "cupy.linalg": cp.linalg, "cupy.lib": cp.lib, "cupy.lib.stride_tricks": cp.lib.stride_tricks}


_saved = {}


def install():
    """Put the fake in sys.modules (a real CuPy, if imported, is set aside); returns the fake ``cupy``."""
    mods = _build()
    for k, m in mods.items():
        _saved[k] = sys.modules.get(k)
        sys.modules[k] = m
    return mods["cupy"]


def uninstall():
    for k, m in _saved.items():
        if m is None:
            sys.modules.pop(k, None)
        else:
            sys.modules[k] = m
    _saved.clear()


def real_cupy():
    """The real CuPy where it imports and sees a GPU, else None."""
    try:
        import cupy
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # not installed, or no CUDA driver / device
        return None


@contextlib.contextmanager
def gpu_module():
    """The real CuPy where a GPU is visible, else this stand-in, installed for the ``with`` block only."""
    real = real_cupy()
    if real is not None:
        yield real
        return
    fake = install()
    try:
        yield fake
    finally:
        uninstall()


def check_same_on_device(cp, fn, inputs, rtol=None, atol=None):
    """Run ``fn(*tensors)`` on host arrays and on ``cp`` arrays (the real CuPy or this stand-in) with the same
    random cotangent per output, and check that the outputs and the input gradients stay on the device and equal
    the CPU's: bit for bit up to rounding on the stand-in (NumPy's arithmetic), to float tolerance on a GPU."""
    import nerve
    real = real_cupy() is not None  # gpu_module() hands out the real CuPy whenever a GPU is visible
    rtol = rtol if rtol is not None else (2e-4 if real else 1e-9)
    atol = atol if atol is not None else (1e-6 if real else 1e-12)
    res, cots = [], None
    for to in (np.asarray, cp.asarray):
        ts = [nerve.tensor(to(a), requires_grad=True) for a in inputs]
        out = fn(*ts)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        if cots is None:  # sum(out) would miss gradients that sum to zero (softmax-like outputs)
            r = np.random.default_rng(0)
            cots = [r.standard_normal(o.shape) for o in outs]
        total = None
        for o, c in zip(outs, cots):
            term = (o * to(c.astype(o.data.dtype))).sum()
            total = term if total is None else total + term
        total.backward()
        if to is cp.asarray:
            assert all(isinstance(o.data, cp.ndarray) for o in outs), "an output left the device"
            assert all(t.grad is None or isinstance(t.grad.data, cp.ndarray) for t in ts), "a gradient left the device"
        res.append([nerve.ops.convert_to_numpy(o) for o in outs] +
                   [None if t.grad is None else nerve.ops.convert_to_numpy(t.grad) for t in ts])
    for a, b in zip(*res):
        if a is None or b is None:
            assert a is None and b is None
            continue
        np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=rtol, atol=atol)
