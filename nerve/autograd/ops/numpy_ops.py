"""More of ``keras.ops``: its NumPy namespace and control flow, with Keras 3 names and signatures.

Three kinds, by how the gradient comes:
- elementwise math (sin ... arctan2, mod, logaddexp, erf): Functions here, backward = local derivative x g;
- shape, selection and scan ops (cumsum, prod, flip, roll, tile, repeat, sort, quantile, take_along_axis,
  diagonal, slice_update, scatter, segment_sum ...): composed from differentiable ops (getitem, take,
  concatenate, reshape, multiply, where, pad) or small Functions, so the gradient follows the values chosen;
- comparisons, logic, integer results, constructors and rounding (equal, argsort, arange, floor, ...): no
  gradient, as in Keras and torch; they return Tensors that need none.
Control flow (cond, switch, fori_loop, while_loop, scan, map, vectorized_map, associative_scan) runs eagerly
in Python: the graph records the ops the taken branch or the iterations ran.

This module is imported by ``nerve.ops`` only: its names (all, any, round, slice, ...) would shadow Python's
built-ins inside ``autograd/ops/__init__.py``. Here the built-ins are reached as ``_b.all`` etc.
"""
import builtins as _b
import math

import numpy as np

from ... import backend
from ..function import Function, unbroadcast
from ..tensor import Tensor
from .shape import _scatter_add
from . import (_data, _float, _t, _t_arr, add, concatenate, divide, exp, getitem, log, matmul, maximum,
               multiply, negative, pad, reshape, sqrt, stack, subtract, sum, take, transpose, where, zeros)


def _xp(x):
    return backend.get_array_module(_data(x))


def _a(x):
    """The array behind x (lists and numbers become NumPy arrays)."""
    d = _data(_t(x))
    return d if backend.is_array(d) else np.asarray(d)


def _like(x, host):
    """A host array (a mask, an index) on the device of x."""
    return backend.like(_data(x), host)


def _const(a):
    return Tensor(a if backend.is_array(a) else np.asarray(a))


def _axis(axis, ndim, who):
    if not -ndim <= axis < _b.max(ndim, 1):
        raise ValueError(f"{who}: argument 'axis' {axis} is out of range for a tensor of rank {ndim}")
    return axis % _b.max(ndim, 1)


# ============================================================================ elementwise math
class _Elementwise(Function):
    """y = f(x); dy/dx = df(x, y) (the formula is in each op's table entry)."""
    name = "elementwise"

    def forward(self, a, f=None, df=None, op=None):
        self.name = op
        with np.errstate(all="ignore"):
            self.out = f(a)
        self.a, self.df = a, df
        return self.out

    def backward(self, g):
        with np.errstate(all="ignore"):
            return g * self.df(self.a, self.out)


def _erf(a):
    xp = backend.get_array_module(a)
    if xp is not np:
        try:
            from cupyx.scipy.special import erf
        except ImportError:  # no cupyx.scipy: on the host and back
            return backend.like(a, _erf(backend.to_numpy(a)))
        return erf(a)
    try:
        from scipy.special import erf
        return erf(a)
    except ImportError:  # SciPy is optional: math.erf element by element
        return np.vectorize(math.erf, otypes=[a.dtype])(a)


_UNARY = {  # name: (f, d f / d x as a function of (x, y))
    "sin": (np.sin, lambda x, y: np.cos(x)),
    "cos": (np.cos, lambda x, y: -np.sin(x)),
    "tan": (np.tan, lambda x, y: 1 + y * y),
    "arcsin": (np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x)),
    "arccos": (np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x)),
    "arctan": (np.arctan, lambda x, y: 1 / (1 + x * x)),
    "sinh": (np.sinh, lambda x, y: np.cosh(x)),
    "cosh": (np.cosh, lambda x, y: np.sinh(x)),
    "arcsinh": (np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1)),
    "arccosh": (np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1)),
    "arctanh": (np.arctanh, lambda x, y: 1 / (1 - x * x)),
    "expm1": (np.expm1, lambda x, y: y + 1),
    "log2": (np.log2, lambda x, y: 1 / (x * math.log(2))),
    "log10": (np.log10, lambda x, y: 1 / (x * math.log(10))),
    "reciprocal": (np.reciprocal, lambda x, y: -y * y),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y / x),
    "erf": (_erf, lambda x, y: (2 / math.sqrt(math.pi)) * np.exp(-x * x)),
}


def _unary(name):
    f, df = _UNARY[name]

    def op(x):
        return _Elementwise.apply(_float(x, name), f=f, df=df, op=name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name} (keras.ops.{name})."
    return op


sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh, arctanh, expm1, log2, log10, reciprocal, \
    rsqrt, erf = (_unary(n) for n in _UNARY)


class _BinaryMath(Function):
    name = "binary"

    def forward(self, a, b, f=None, grads=None, op=None):
        self.name = op
        with np.errstate(all="ignore"):
            out = f(a, b)
        self.a, self.b, self.out, self.grads = a, b, out, grads
        return out

    def backward(self, g):
        da, db = self.grads(self.a, self.b, self.out)
        sa, sb = np.shape(self.a), np.shape(self.b)
        return (unbroadcast(g * da, sa) if self.needs[0] else None,
                unbroadcast(g * db, sb) if self.needs[1] else None)


def arctan2(x1, x2):
    """atan2(x1, x2); d/dx1 = x2 / (x1^2 + x2^2), d/dx2 = -x1 / (x1^2 + x2^2)."""
    return _BinaryMath.apply(_float(x1, "arctan2"), _float(x2, "arctan2"), f=np.arctan2, op="arctan2",
                             grads=lambda a, b, y: (b / (a * a + b * b), -a / (a * a + b * b)))


def mod(x1, x2):
    """x1 - floor(x1 / x2) x2 (the sign of x2, as NumPy); d/dx1 = 1, d/dx2 = -floor(x1 / x2)."""
    return _BinaryMath.apply(_t_arr(x1), _t_arr(x2), f=np.mod, op="mod",
                             grads=lambda a, b, y: (np.ones_like(y), -np.floor_divide(a, b)))


def logaddexp(x1, x2):
    """log(e^x1 + e^x2); d/dx1 = e^(x1 - y), d/dx2 = e^(x2 - y)."""
    return _BinaryMath.apply(_float(x1, "logaddexp"), _float(x2, "logaddexp"), f=np.logaddexp, op="logaddexp",
                             grads=lambda a, b, y: (np.exp(a - y), np.exp(b - y)))


def real(x):
    return _t(x) if isinstance(_t(x), Tensor) else _const(_a(x))


def conj(x):
    return real(x)


conjugate = conj


def imag(x):
    return _const(_xp(x).zeros_like(_a(x)))


def copy(x):
    x = _t_arr(x)
    return getitem(x, (Ellipsis,)) if isinstance(x, Tensor) else _const(_xp(x).array(x, copy=True))


# ============================================================================ without a gradient
def _nograd(name, fn):
    def op(*args, **kwargs):
        return _const(fn(*[_a(v) for v in args], **kwargs))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"keras.ops.{name} (no gradient: a comparison, logical, integer or rounding result)."
    return op


equal = _nograd("equal", lambda a, b: a == b)
not_equal = _nograd("not_equal", lambda a, b: a != b)
greater = _nograd("greater", lambda a, b: a > b)
greater_equal = _nograd("greater_equal", lambda a, b: a >= b)
less = _nograd("less", lambda a, b: a < b)
less_equal = _nograd("less_equal", lambda a, b: a <= b)
logical_and = _nograd("logical_and", np.logical_and)
logical_or = _nograd("logical_or", np.logical_or)
logical_xor = _nograd("logical_xor", np.logical_xor)
logical_not = _nograd("logical_not", np.logical_not)
isfinite = _nograd("isfinite", np.isfinite)
isinf = _nograd("isinf", np.isinf)
isnan = _nograd("isnan", np.isnan)
floor = _nograd("floor", np.floor)
ceil = _nograd("ceil", np.ceil)
floor_divide = _nograd("floor_divide", np.floor_divide)
bitwise_and = _nograd("bitwise_and", np.bitwise_and)
bitwise_or = _nograd("bitwise_or", np.bitwise_or)
bitwise_xor = _nograd("bitwise_xor", np.bitwise_xor)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return _const(_xp(x1).isclose(_a(x1), _a(x2), rtol=rtol, atol=atol, equal_nan=equal_nan))


def round(x, decimals=0):  # noqa: A001 - keras.ops.round
    return _const(_xp(x).round(_a(x), decimals))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return _const(_xp(x).all(_a(x), axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):  # noqa: A001
    return _const(_xp(x).any(_a(x), axis=axis, keepdims=keepdims))


def count_nonzero(x, axis=None):
    return _const(np.asarray(_xp(x).count_nonzero(_a(x), axis=axis)))


def argsort(x, axis=-1):
    return _const(_xp(x).argsort(_a(x), axis=axis, kind="stable"))


def nonzero(x):
    return tuple(_const(i) for i in _xp(x).nonzero(_a(x)))


def bincount(x, weights=None, minlength=0, sparse=False):
    if sparse:
        raise ValueError("bincount: argument 'sparse' expected False (nerve has no sparse tensors), got True")
    a = _a(x)
    if a.dtype.kind not in "iu" or (a.size and a.min() < 0):
        raise ValueError(f"bincount: argument 'x' expected non-negative integers, got dtype {a.dtype}")
    xp = _xp(x)
    if a.ndim == 1:
        return _const(xp.bincount(a, None if weights is None else _a(weights), minlength))
    w = None if weights is None else _a(weights)  # rank 2: one count per row, as Keras
    n = _b.max(int(a.max()) + 1 if a.size else 0, minlength)
    return _const(xp.stack([xp.bincount(r, None if w is None else w[i], n) for i, r in enumerate(a)]))


def digitize(x, bins):
    return _const(_xp(x).digitize(_a(x), _a(bins)).astype(np.int32))


def ndim(x):
    return _a(x).ndim


def size(x):
    return int(_a(x).size)


def is_tensor(x):
    return isinstance(x, Tensor)


def dtype(x):
    """The dtype's name, as keras.ops.dtype gives it ('float32', 'int64', ...)."""
    return np.dtype(_a(x).dtype).name


def _dtype_for(dtype, *values):
    if dtype is not None:
        return backend.resolve_dtype(dtype)
    floats = _b.any(isinstance(v, float) or (hasattr(v, "dtype") and np.dtype(v.dtype).kind == "f") for v in values)
    return np.dtype(backend.floatx()) if floats else np.dtype("int32")


def arange(start, stop=None, step=1, dtype=None):
    return _const(np.arange(start, stop, step).astype(_dtype_for(dtype, start, stop, step)))


def array(x, dtype=None):
    a = np.asarray(backend.to_numpy(_data(x)))
    return _const(a.astype(backend.resolve_dtype(dtype)) if dtype is not None or a.dtype == np.float64
                  and backend.floatx() != "float64" else a)


def full(shape, fill_value, dtype=None):
    return _const(np.full(shape, fill_value, _dtype_for(dtype, fill_value)))


def full_like(x, fill_value, dtype=None):
    return _const(_xp(x).full_like(_a(x), fill_value, dtype=None if dtype is None else backend.resolve_dtype(dtype)))


def empty(shape, dtype=None):
    return _const(np.empty(shape, backend.resolve_dtype(dtype)))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras' names
    return _const(np.eye(N, M, k, backend.resolve_dtype(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):  # noqa: N803
    return _const(np.tri(N, M, k, backend.resolve_dtype(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    out = np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, axis=axis)
    if retstep:
        return _const(out[0].astype(backend.resolve_dtype(dtype))), out[1]
    return _const(out.astype(backend.resolve_dtype(dtype)))


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    return _const(np.logspace(start, stop, num, endpoint=endpoint, base=base, axis=axis)
                  .astype(backend.resolve_dtype(dtype)))


def meshgrid(*x, indexing="xy"):
    return [_const(g) for g in np.meshgrid(*[backend.to_numpy(_a(v)) for v in x], indexing=indexing)]


def in_top_k(targets, predictions, k):
    """True where the target's prediction is among the row's k largest (ties counted in its favour)."""
    p, t = _a(predictions), _a(targets).astype(np.int64)
    xp = _xp(predictions)
    own = xp.take_along_axis(p, t[:, None], axis=1)
    return _const((p > own).sum(axis=1) < k)


# ============================================================================ shape and selection (composed)
def broadcast_to(x, shape):
    """x + zeros(shape): the gradient is summed back over the broadcast axes (unbroadcast)."""
    x = _t_arr(x)
    return add(x, Tensor(_xp(x).zeros(tuple(shape), _data(x).dtype)))


def ravel(x):
    return reshape(x, (-1,))


def moveaxis(x, source, destination):
    n = _a(x).ndim
    src = [s % n for s in (source if isinstance(source, (list, tuple)) else [source])]
    dst = [d % n for d in (destination if isinstance(destination, (list, tuple)) else [destination])]
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: arguments 'source' and 'destination' must have the same length, got "
                         f"{source!r} and {destination!r}")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, order)


def flip(x, axis=None):
    n = _a(x).ndim
    axes = range(n) if axis is None else [a % n for a in (axis if isinstance(axis, (list, tuple)) else [axis])]
    return getitem(_t_arr(x), tuple(_b.slice(None, None, -1) if i in axes else _b.slice(None) for i in range(n)))


def roll(x, shift, axis=None):
    x = _t_arr(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), _a(x).shape)
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    shifts = shift if isinstance(shift, (list, tuple)) else [shift] * len(axes)
    for s, ax in zip(shifts, axes):
        n = _a(x).shape[ax]
        x = take(x, np.roll(np.arange(n), s), axis=ax)
    return x


def repeat(x, repeats, axis=None):
    x = _t_arr(x)
    if axis is None:
        x, axis = ravel(x), 0
    n = _a(x).shape[axis]
    return take(x, np.repeat(np.arange(n), repeats), axis=axis)


def tile(x, repeats):
    x = _t_arr(x)
    reps = list(repeats) if isinstance(repeats, (list, tuple)) else [repeats]
    shape = list(_a(x).shape)
    if len(reps) < len(shape):
        reps = [1] * (len(shape) - len(reps)) + reps
    shape = [1] * (len(reps) - len(shape)) + shape
    x = reshape(x, [v for d in shape for v in (1, d)])  # (1, d0, 1, d1, ...) -> (r0, d0, r1, d1, ...)
    x = broadcast_to(x, [v for r, d in zip(reps, shape) for v in (r, d)])
    return reshape(x, [r * d for r, d in zip(reps, shape)])


def take_along_axis(x, indices, axis=None):
    """x's entries at ``indices`` along ``axis`` (NumPy semantics), as one take on the flattened x, so the
    gradient scatters back (repeated indices add up)."""
    x = _t_arr(x)
    a, idx = _a(x), np.asarray(backend.to_numpy(_a(indices))).astype(np.int64)
    if axis is None:
        return take(ravel(x), idx.ravel())
    axis = _axis(axis, a.ndim, "take_along_axis")
    idx = np.where(idx < 0, idx + a.shape[axis], idx)
    shape = np.broadcast_shapes(tuple(s if i != axis else 1 for i, s in enumerate(a.shape)),
                                tuple(s if i != axis else 1 for i, s in enumerate(idx.shape)))
    full_shape = tuple(shape[i] if i != axis else idx.shape[axis] for i in range(a.ndim))
    idx = np.broadcast_to(idx, full_shape)
    grids = list(np.ogrid[tuple(_b.slice(0, s) for s in full_shape)])
    grids[axis] = idx
    x = broadcast_to(x, tuple(shape[i] if i != axis else a.shape[axis] for i in range(a.ndim)))
    flat = np.ravel_multi_index(np.broadcast_arrays(*grids), _a(x).shape)
    return take(ravel(x), flat)


def sort(x, axis=-1):
    x = _t_arr(x)
    return take_along_axis(x, _xp(x).argsort(_a(x), axis=axis, kind="stable"), axis=axis)


def top_k(x, k, sorted=True):  # noqa: A002 - Keras' name
    """(values, indices) of the k largest entries of the last axis, largest first (stable for ties)."""
    x = _t_arr(x)
    a = _a(x)
    if not 0 < k <= a.shape[-1]:
        raise ValueError(f"top_k: argument 'k' expected 1..{a.shape[-1]}, got {k}")
    idx = backend.get_array_module(a).argsort(-a, axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, idx, axis=-1), _const(idx.astype(np.int32))


def diagonal(x, offset=0, axis1=0, axis2=1):
    x = moveaxis(_t_arr(x), [axis1, axis2], [-2, -1])
    n, m = _a(x).shape[-2:]
    i = np.arange(_b.max(0, -offset), _b.min(n, m - offset))
    return getitem(x, (Ellipsis, i, i + offset))


def trace(x, offset=0, axis1=0, axis2=1):
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


def _tri_mask(x, k, lower):
    a = _a(x)
    n, m = a.shape[-2:]
    mask = np.tri(n, m, k, dtype=bool)
    return mask if lower else ~np.tri(n, m, k - 1, dtype=bool)


def tril(x, k=0):
    x = _t_arr(x)
    return where(_like(x, _tri_mask(x, k, True)), x, 0)


def triu(x, k=0):
    x = _t_arr(x)
    return where(_like(x, _tri_mask(x, k, False)), x, 0)


def outer(x1, x2):
    return multiply(reshape(_t_arr(x1), (-1, 1)), reshape(_t_arr(x2), (1, -1)))


def vdot(x1, x2):
    return sum(multiply(ravel(_t_arr(x1)), ravel(_t_arr(x2))))


def inner(x1, x2):
    return matmul(_t_arr(x1), transpose(_t_arr(x2))) if _a(x2).ndim > 1 else sum(multiply(x1, x2), axis=-1)


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors on the last axis (or ``axis``): composed of slices, so differentiable."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(_t_arr(x1), axisa, -1), moveaxis(_t_arr(x2), axisb, -1)
    if _a(a).shape[-1] != 3 or _a(b).shape[-1] != 3:
        raise ValueError(f"cross: arguments 'x1' and 'x2' expected 3-vectors on the axis, got sizes "
                         f"{_a(a).shape[-1]} and {_a(b).shape[-1]}")

    def c(v, i):
        return getitem(v, (Ellipsis, i))
    out = stack([subtract(multiply(c(a, 1), c(b, 2)), multiply(c(a, 2), c(b, 1))),
                 subtract(multiply(c(a, 2), c(b, 0)), multiply(c(a, 0), c(b, 2))),
                 subtract(multiply(c(a, 0), c(b, 1)), multiply(c(a, 1), c(b, 0)))], axis=-1)
    return moveaxis(out, -1, axisc)


def hstack(xs):
    return concatenate(list(xs), axis=0 if _a(xs[0]).ndim == 1 else 1)


def vstack(xs):
    return concatenate([reshape(v, (1, -1)) if _a(v).ndim == 1 else v for v in xs], axis=0)


def append(x1, x2, axis=None):
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)], axis=0)
    return concatenate([x1, x2], axis=axis)


def unstack(x, num=None, axis=0):
    x = _t_arr(x)
    n = _a(x).shape[axis]
    if num is not None and num != n:
        raise ValueError(f"unstack: argument 'num' is {num} but axis {axis} has size {n}")
    nd = _a(x).ndim
    ax = axis % nd
    return [getitem(x, tuple(i if d == ax else _b.slice(None) for d in range(nd))) for i in range(n)]


def average(x, axis=None, weights=None):
    x = _float(_t_arr(x), "average")
    if weights is None:
        return divide(sum(x, axis=axis), float(_a(x).size if axis is None else _a(x).shape[axis]))
    w = _t_arr(weights)
    if axis is not None and _a(w).ndim == 1 and _a(x).ndim > 1:  # 1-D weights along the axis, as NumPy
        shape = [1] * _a(x).ndim
        shape[axis] = -1
        w = reshape(w, shape)
    return divide(sum(multiply(x, w), axis=axis), sum(broadcast_to(w, _a(x).shape), axis=axis))


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """NumPy's quantile (methods linear, lower, higher, nearest, midpoint) from the sorted values, so the
    gradient goes to the one or two order statistics each quantile reads."""
    if method not in ("linear", "lower", "higher", "nearest", "midpoint"):
        raise ValueError(f"quantile: argument 'method' expected one of 'linear', 'lower', 'higher', 'nearest', "
                         f"'midpoint', got {method!r}")
    x = _float(_t_arr(x), "quantile")
    qs = np.asarray(backend.to_numpy(_a(q)), np.float64)
    if ((qs < 0) | (qs > 1)).any():
        raise ValueError(f"quantile: argument 'q' expected values in [0, 1], got {q!r}")
    nd = _a(x).ndim
    if axis is None:
        xs, ax = sort(ravel(x), axis=0), 0
    else:
        axes = sorted(a % nd for a in (axis if isinstance(axis, (list, tuple)) else [axis]))
        moved = moveaxis(x, axes, list(range(nd - len(axes), nd)))
        keep = _a(moved).shape[:nd - len(axes)]
        xs, ax = sort(reshape(moved, keep + (-1,)), axis=-1), -1
    n = _a(xs).shape[ax]
    pos = qs.ravel() * (n - 1)
    lo, hi, frac = _interpolation(pos, method)
    a_lo, a_hi = take(xs, lo, axis=ax), take(xs, hi, axis=ax)
    out = add(a_lo, multiply(subtract(a_hi, a_lo), _like(xs, frac.astype(_a(xs).dtype))))  # (..., len(q))
    out = moveaxis(out, -1, 0)  # NumPy puts the q axis first
    if keepdims:
        kept = [1] * nd if axis is None else [1 if i in axes else s for i, s in enumerate(_a(x).shape)]
        out = reshape(out, (len(pos),) + tuple(kept))
    if qs.ndim == 0:
        out = getitem(out, 0)
    return out


def _interpolation(pos, method):
    """The order statistics at fractional positions ``pos`` that quantile's ``method`` reads, and the weight of
    the upper one: linear lo + frac (hi - lo); lower / higher / nearest (halves to even, as NumPy) one of them;
    midpoint 1/2 between distinct neighbours."""
    lo, hi = np.floor(pos).astype(np.int64), np.ceil(pos).astype(np.int64)
    frac = pos - lo
    if method == "lower":
        hi, frac = lo, frac * 0
    elif method == "higher":
        lo, frac = hi, frac * 0
    elif method == "nearest":
        lo = hi = np.around(pos).astype(np.int64)
        frac = frac * 0
    elif method == "midpoint":
        frac = np.where(hi > lo, 0.5, 0.0)
    return lo, hi, frac


def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = _t_arr(x)
    a = _a(x)
    if a.dtype.kind != "f":
        return x
    info = np.finfo(a.dtype)
    h = backend.to_numpy(a)
    x = where(_like(x, np.isnan(h)), nan, x)
    x = where(_like(x, np.isposinf(h)), info.max if posinf is None else posinf, x)
    return where(_like(x, np.isneginf(h)), info.min if neginf is None else neginf, x)


def slice(inputs, start_indices, shape):  # noqa: A001 - keras.ops.slice
    start = [int(s) for s in np.asarray(backend.to_numpy(_a(start_indices))).ravel()]
    return getitem(_t_arr(inputs), tuple(_b.slice(s, s + int(n)) for s, n in zip(start, shape)))


def slice_update(inputs, start_indices, updates):
    """inputs with the block at start_indices replaced by updates; gradients flow to both, each where it
    shows in the result."""
    x, u = _t_arr(inputs), _t_arr(updates)
    shape, ushape = _a(x).shape, _a(u).shape
    start = [int(s) for s in np.asarray(backend.to_numpy(_a(start_indices))).ravel()]
    widths = [(s, n - s - k) for s, n, k in zip(start, shape, ushape)]
    if len(start) != len(shape) or _b.any(w[1] < 0 or w[0] < 0 for w in widths):
        raise ValueError(f"slice_update: updates of shape {ushape} at {start} do not fit inputs of shape {shape}")
    inside = np.zeros(shape, bool)
    inside[tuple(_b.slice(s, s + k) for s, k in zip(start, ushape))] = True
    return where(_like(x, inside), pad(u, widths), x)


class _ScatterAdd(Function):
    """out = zeros(shape); out[idx] += values (rows of ``values`` for index tuples); d values = g[idx]."""
    name = "scatter"

    def forward(self, values, idx=None, shape=None):
        xp = backend.get_array_module(values)
        out = xp.zeros(shape, values.dtype)
        self.idx = tuple(backend.like(values, i) for i in idx)
        _scatter_add(xp, out, self.idx, values)
        return out

    def backward(self, g):
        return g[self.idx]


def _index_tuple(indices, shape, who):
    idx = np.asarray(backend.to_numpy(_a(indices))).astype(np.int64)
    if idx.ndim < 1 or idx.shape[-1] > len(shape):
        raise ValueError(f"{who}: argument 'indices' expected shape (..., k) with k <= {len(shape)}, got "
                         f"{idx.shape}")
    return tuple(idx[..., i] for i in range(idx.shape[-1]))


def scatter(indices, values, shape):
    """A tensor of ``shape``, zero but for ``values`` at ``indices`` (duplicates add up, as tf.scatter_nd)."""
    shape = tuple(int(s) for s in shape)
    idx = _index_tuple(indices, shape, "scatter")
    return _ScatterAdd.apply(_float(_t_arr(values), "scatter"), idx=idx, shape=shape)


def scatter_update(inputs, indices, updates):
    x = _t_arr(inputs)
    shape = _a(x).shape
    idx = _index_tuple(indices, shape, "scatter_update")
    hit = np.zeros(shape, bool)
    hit[idx] = True
    return where(_like(x, hit), scatter(indices, updates, shape), x)


class _SegmentSum(Function):
    name = "segment_sum"

    def forward(self, data, ids=None, n=None):
        xp = backend.get_array_module(data)
        out = xp.zeros((n,) + data.shape[1:], data.dtype)
        self.ids = backend.like(data, ids)
        _scatter_add(xp, out, self.ids, data)
        return out

    def backward(self, g):
        return g[self.ids]


def _segments(segment_ids, num_segments, data, who):
    ids = np.asarray(backend.to_numpy(_a(segment_ids))).astype(np.int64)
    if ids.ndim != 1 or ids.shape[0] != _a(data).shape[0]:
        raise ValueError(f"{who}: argument 'segment_ids' expected shape ({_a(data).shape[0]},), got {ids.shape}")
    n = int(ids.max()) + 1 if num_segments is None and ids.size else int(num_segments or 0)
    return ids, n


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    ids, n = _segments(segment_ids, num_segments, data, "segment_sum")
    return _SegmentSum.apply(_t_arr(data), ids=ids, n=n)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Per segment, the max of its rows (-inf for an empty segment); ties share the gradient equally."""
    ids, n = _segments(segment_ids, num_segments, data, "segment_max")
    d = _t_arr(data)
    a = _a(d)
    top = np.full((n,) + a.shape[1:], -np.inf, a.dtype if a.dtype.kind == "f" else np.float64)
    np.maximum.at(top, ids, backend.to_numpy(a))
    wins = (backend.to_numpy(a) == top[ids])
    ties = np.zeros(top.shape, np.float64)
    np.add.at(ties, ids, wins)
    share = np.where(wins, 1.0 / np.maximum(ties[ids], 1), 0.0).astype(top.dtype)
    picked = _SegmentSum.apply(multiply(d, _like(d, share)), ids=ids, n=n)  # each max once, split over its ties
    return where(_like(d, np.isneginf(top)), _like(d, top), picked)


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` along the last axis every ``sequence_stride``: (..., frames, length)."""
    n = _a(x).shape[-1]
    if sequence_length > n:
        raise ValueError(f"extract_sequences: argument 'sequence_length' {sequence_length} exceeds the last axis "
                         f"({n})")
    starts = np.arange(0, n - sequence_length + 1, sequence_stride)
    return getitem(_t_arr(x), (Ellipsis, starts[:, None] + np.arange(sequence_length)))


# ============================================================================ control flow (eager)
def _truth(pred, who):
    p = _a(pred)
    if p.size != 1:
        raise ValueError(f"{who}: argument 'pred' expected a scalar, got shape {p.shape}")
    return _b.bool(p.reshape(()))


def cond(pred, true_fn, false_fn):
    return true_fn() if _truth(pred, "cond") else false_fn()


def switch(index, branches, *operands):
    i = int(np.clip(int(_a(index).reshape(())), 0, len(branches) - 1))  # out-of-range clamps, as lax.switch
    return branches[i](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):  # noqa: A002 - Keras' names
    single = not isinstance(loop_vars, (list, tuple))
    v = (loop_vars,) if single else tuple(loop_vars)
    k = 0
    while (maximum_iterations is None or k < maximum_iterations) and _truth(cond(*v), "while_loop"):
        out = body(*v)
        v = (out,) if single else tuple(out)
        k += 1
    return v[0] if single else type(loop_vars)(v) if isinstance(loop_vars, list) else v


def _tree_stack(outs):
    if isinstance(outs[0], (list, tuple)):
        return type(outs[0])(_tree_stack([o[i] for o in outs]) for i in range(len(outs[0])))
    return stack(outs, axis=0)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """carry, ys = f(carry, x) over the leading axis of xs (jax.lax.scan): the last carry and the stacked ys."""
    if xs is None:
        if length is None:
            raise ValueError("scan: arguments 'xs' and 'length' are both None; give one")
        items = [None] * int(length)
    else:
        n = _a(xs[0] if isinstance(xs, (list, tuple)) else xs).shape[0]
        items = [tuple(getitem(_t_arr(v), i) for v in xs) if isinstance(xs, (list, tuple))
                 else getitem(_t_arr(xs), i) for i in range(n)]
    order = range(len(items) - 1, -1, -1) if reverse else range(len(items))
    carry, ys = init, [None] * len(items)
    for i in order:
        carry, ys[i] = f(carry, items[i])
    if not items or ys[0] is None:
        return carry, None
    return carry, _tree_stack(ys)


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive scan of an associative f over ``axis`` (computed left to right; same values as the parallel
    prefix of jax.lax.associative_scan)."""
    seq = unstack(_t_arr(elems), axis=axis)
    if reverse:
        seq = seq[::-1]
    out = [seq[0]]
    for v in seq[1:]:
        out.append(f(out[-1], v) if not reverse else f(v, out[-1]))
    if reverse:
        out = out[::-1]
    return stack(out, axis=axis)


def map(f, xs):  # noqa: A001 - keras.ops.map
    n = _a(xs[0] if isinstance(xs, (list, tuple)) else xs).shape[0]
    items = [tuple(getitem(_t_arr(v), i) for v in xs) if isinstance(xs, (list, tuple)) else getitem(_t_arr(xs), i)
             for i in range(n)]
    return _tree_stack([f(v) for v in items])


def vectorized_map(function, elements):
    return map(function, elements)


def prod(x, axis=None, keepdims=False, dtype=None):
    return _Prod.apply(_t_arr(x), axis=axis, keepdims=keepdims)


class _Prod(Function):
    """prod over axes; d/dx_i = product of the others, from exclusive cumulative products from the left and
    from the right (exact with zeros, unlike prod / x_i)."""
    name = "prod"

    def forward(self, a, axis=None, keepdims=False):
        nd = a.ndim
        self.axes = tuple(range(nd)) if axis is None else tuple(
            sorted(v % _b.max(nd, 1) for v in (axis if isinstance(axis, (list, tuple)) else [axis])))
        self.a, self.keepdims = a, keepdims
        return a.prod(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        a, axes = self.a, self.axes
        xp = backend.get_array_module(a)
        rest = [i for i in range(a.ndim) if i not in axes]
        moved = a.transpose(tuple(rest) + axes)
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), a.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (left * right).reshape(moved.shape)
        others = others.transpose(tuple(int(i) for i in np.argsort(rest + list(axes))))
        if not self.keepdims:
            g = xp.expand_dims(g, axes) if axes else g
        return g * others


class _CumSum(Function):
    name = "cumsum"

    def forward(self, a, axis=None):
        self.shape = a.shape
        if axis is None:
            a, axis = a.ravel(), 0
        self.axis = axis
        return backend.get_array_module(a).cumsum(a, axis=axis)

    def backward(self, g):
        xp = backend.get_array_module(g)
        r = xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis)  # sum_{j>=i} g_j
        return r.reshape(self.shape)


def cumsum(x, axis=None, dtype=None):
    x = _t_arr(x)
    if dtype is not None:
        from . import cast
        x = cast(x, dtype)
    return _CumSum.apply(x, axis=axis)


def cumprod(x, axis=None, dtype=None):
    """Running products, composed of prod over growing prefixes' exclusive cumulative products: each output
    is a product of the inputs so far, so the gradient is exact with zeros (O(n^2) along the axis)."""
    x = _t_arr(x)
    if dtype is not None:
        from . import cast
        x = cast(x, dtype)
    if axis is None:
        x, axis = ravel(x), 0
    nd = _a(x).ndim
    axis = _axis(axis, nd, "cumprod")
    n = _a(x).shape[axis]
    outs = [prod(getitem(x, tuple(_b.slice(0, k + 1) if d == axis else _b.slice(None) for d in range(nd))),
                 axis=axis, keepdims=True) for k in range(n)]
    return concatenate(outs, axis=axis) if outs else x


__all__ = [n for n in dir() if not n.startswith("_") and n not in (
    "np", "math", "backend", "Function", "unbroadcast", "Tensor", "add", "concatenate", "divide", "exp",
    "getitem", "log", "matmul", "maximum", "multiply", "negative", "pad", "reshape", "sqrt", "stack",
    "subtract", "sum", "take", "transpose", "where", "zeros")]
