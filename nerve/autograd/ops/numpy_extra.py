"""The rest of ``keras.ops``'s NumPy namespace (the Keras 3.15 names numpy_ops.py lacks), same style and rules.

- elementwise math with a gradient (cbrt, exp2, sinc, erfc, erfinv, i0, hypot, fmax, fmin, fmod, logaddexp2,
  ldexp): ``_Elementwise`` / ``_BinaryMath`` with the local derivative;
- composed of differentiable ops, so the gradient follows the values chosen (nan* reductions, percentile,
  ptp, diff, kron, rot90, vander, corrcoef, correlate, trapezoid, select, divide_no_nan, diag, the splits
  and stacks, segment_min / segment_prod ...), or a small Function (cdist);
- no gradient, as in Keras and torch (bitwise and integer ops, comparisons, rounding, searches, windows and
  other constructors): Tensors that need none.
Everything runs on the input's array module (NumPy or CuPy); the few host computations (index tables,
``unique``'s data-dependent shape, SciPy's special functions where CuPy has no counterpart) move data
explicitly with ``backend.to_numpy`` / ``backend.like``.

Imported by ``nerve.ops`` only, like numpy_ops.py; built-ins are reached as ``_b.max`` etc.
"""
import builtins as _b
import math

import numpy as np

from ... import backend
from ..function import Function, unbroadcast
from ..tensor import Tensor
from . import (_data, _float, _t, _t_arr, absolute, add, amax, amin, cast, clip, concatenate, divide, getitem,
               matmul, mean, multiply, pad, reshape, split, sqrt, stack, subtract, sum, take, transpose, where)
from .numpy_ops import (_BinaryMath, _Elementwise, _a, _axis, _const, _erf, _interpolation, _like, _xp, cumprod,
                        cumsum, diagonal, flip, moveaxis, prod, quantile, ravel, sort, take_along_axis)


# ============================================================================ helpers
def _arg(v, ref=None):
    """An operand: Tensors and numbers pass (numbers mix with CuPy arrays and keep NumPy's weak promotion; a 0-d
    array would not); a host array moves to the device of ``ref`` when ``ref`` lives there."""
    v = _t(v)
    if isinstance(v, (Tensor, _b.bool, int, float, complex, np.generic)):
        return v
    r = _data(_t(ref)) if ref is not None else None
    return backend.like(r, v) if isinstance(v, np.ndarray) and backend.is_array(r) else v


def _farg(v, ref, who):
    """A float operand. A Python number beside a tensor stays one (weakly typed: the tensor's float dtype wins);
    two numbers give floatx, as _float."""
    v, r = _arg(v, ref), _data(_t(ref))
    return float(v) if isinstance(v, (_b.bool, int, float)) and backend.is_array(r) else _float(v, who)


def _dtype(v):
    d = _data(v)
    return np.dtype(d.dtype) if hasattr(d, "dtype") else np.asarray(d).dtype


def _host(x):
    return np.asarray(backend.to_numpy(_a(x)))


def _axes(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _ints(who, **arrays):
    for name, a in arrays.items():
        if _dtype(a).kind not in "iub":
            raise TypeError(f"{who}: argument '{name}' expected an integer or bool tensor, got dtype {_dtype(a)}")


def _nan_mask(x):
    """x's NaN mask on its device, or None for data that holds no NaN (integers, bools)."""
    a = _a(x)
    return _xp(x).isnan(a) if a.dtype.kind in "fc" else None


# ============================================================================ elementwise math with a gradient
def _special(name, a):
    """scipy.special.<name> on the host, cupyx.scipy.special.<name> on the device. Without that function on the
    device the values are computed on the host and moved back; without SciPy, _FALLBACK's (below)."""
    xp = backend.get_array_module(a)
    try:
        if xp is np:
            from scipy import special
        else:
            from cupyx.scipy import special
    except ImportError:
        special = None
    f = getattr(special, name, None)
    if f is not None:
        return f(a)
    if xp is not np:
        return backend.like(a, _special(name, backend.to_numpy(a)))
    return _FALLBACK[name](a)


def _erfinv_newton(a):
    """erf^-1 without SciPy: Winitzki's closed form (a = 0.147) as the start, then Newton steps on erf(y) = a,
    y <- y - (erf(y) - a) / (2/sqrt(pi) e^(-y^2)); +-1 -> +-inf, |a| > 1 -> NaN."""
    with np.errstate(all="ignore"):
        ln = np.log1p(-a * a)
        t = 2 / (math.pi * 0.147) + ln / 2
        y = np.sign(a) * np.sqrt(np.sqrt(t * t - ln / 0.147) - t)
        for _ in range(4):
            y = y - (_erf(y) - a) / ((2 / math.sqrt(math.pi)) * np.exp(-y * y))
        return np.where(np.abs(a) == 1, np.sign(a) * np.inf, y)


def _i1_series(a):
    """I1(x) = sum_k (x/2)^(2k+1) / (k! (k+1)!) (Abramowitz & Stegun 9.6.10), summed until the terms vanish."""
    term = out = a / 2
    q, eps = (a / 2) ** 2, np.finfo(np.result_type(a, np.float32)).eps
    for k in range(2000):
        if not (np.abs(term) > eps * np.abs(out)).any():
            break
        term = term * q / ((k + 1) * (k + 2))
        out = out + term
    return out


_FALLBACK = {"erfc": lambda a: np.vectorize(math.erfc, otypes=[np.result_type(a, np.float32)])(a),
             "erfinv": _erfinv_newton, "i0": np.i0, "i1": _i1_series}


def _unary(name, f, df, doc):
    def op(x):
        return _Elementwise.apply(_float(_t_arr(x), name), f=f, df=df, op=name)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"keras.ops.{name}: {doc}"
    return op


cbrt = _unary("cbrt", np.cbrt, lambda x, y: 1 / (3 * y * y), "x^(1/3); d/dx = 1 / (3 y^2).")
exp2 = _unary("exp2", np.exp2, lambda x, y: y * math.log(2), "2^x; d/dx = 2^x ln 2.")
sinc = _unary("sinc", np.sinc, lambda x, y: np.where(x == 0, 0, (np.cos(math.pi * x) - y) / x),
              "sin(pi x) / (pi x); d/dx = (cos(pi x) - sinc(x)) / x, 0 at x = 0.")
erfc = _unary("erfc", lambda a: _special("erfc", a), lambda x, y: (-2 / math.sqrt(math.pi)) * np.exp(-x * x),
              "1 - erf(x), without the cancellation; d/dx = -2/sqrt(pi) e^(-x^2).")
erfinv = _unary("erfinv", lambda a: _special("erfinv", a), lambda x, y: (math.sqrt(math.pi) / 2) * np.exp(y * y),
                "erf^-1(x); d/dx = 1 / erf'(y) = sqrt(pi)/2 e^(y^2).")
i0 = _unary("i0", lambda a: _special("i0", a), lambda x, y: _special("i1", x),
            "the modified Bessel function I0; d/dx = I1(x) (A&S 9.6.27; scipy.special.i1, else its series).")


def deg2rad(x):
    """x pi / 180 (linear, so differentiable)."""
    return multiply(_float(_t_arr(x), "deg2rad"), math.pi / 180)


def rad2deg(x):
    """x 180 / pi."""
    return multiply(_float(_t_arr(x), "rad2deg"), 180 / math.pi)


def fabs(x):
    """|x| as a float; d/dx = sign(x)."""
    return absolute(_float(_t_arr(x), "fabs"))


def _binary(who, x1, x2, f, grads, floats=True):
    a, b = (_farg(x1, x2, who), _farg(x2, x1, who)) if floats else (_arg(x1, x2), _arg(x2, x1))
    return _BinaryMath.apply(a, b, f=f, grads=grads, op=who)


def _safe_div(a, b):
    return np.where(b == 0, 0, a / np.where(b == 0, 1, b))


def hypot(x1, x2):
    """sqrt(x1^2 + x2^2); d/dx1 = x1 / y, d/dx2 = x2 / y (0 at the origin)."""
    return _binary("hypot", x1, x2, np.hypot, lambda a, b, y: (_safe_div(a, y), _safe_div(b, y)))


def fmax(x1, x2):
    """The larger of x1, x2, ignoring a NaN; the gradient goes to the one chosen (x1 on ties)."""
    def grads(a, b, y):
        m = (a >= b) | np.isnan(b)
        return m, ~m
    return _binary("fmax", x1, x2, np.fmax, grads, floats=False)


def fmin(x1, x2):
    """The smaller of x1, x2, ignoring a NaN; the gradient goes to the one chosen (x1 on ties)."""
    def grads(a, b, y):
        m = (a <= b) | np.isnan(b)
        return m, ~m
    return _binary("fmin", x1, x2, np.fmin, grads, floats=False)


def fmod(x1, x2):
    """x1 - trunc(x1 / x2) x2 (the sign of x1, as C's fmod); d/dx1 = 1, d/dx2 = -trunc(x1 / x2)."""
    return _binary("fmod", x1, x2, np.fmod, lambda a, b, y: (np.ones_like(y), -np.trunc(a / b)), floats=False)


def logaddexp2(x1, x2):
    """log2(2^x1 + 2^x2); d/dx1 = 2^(x1 - y), d/dx2 = 2^(x2 - y)."""
    return _binary("logaddexp2", x1, x2, np.logaddexp2, lambda a, b, y: (np.exp2(a - y), np.exp2(b - y)))


def ldexp(x1, x2):
    """x1 2^x2 for integer x2; d/dx1 = 2^x2 (x2, an integer, has none)."""
    b = _arg(x2, x1)
    if _dtype(b).kind not in "iu":
        raise TypeError(f"ldexp: argument 'x2' expected an integer tensor, got dtype {_dtype(b)}")
    return _BinaryMath.apply(_farg(x1, x2, "ldexp"), b, f=np.ldexp, op="ldexp",
                             grads=lambda a, e, y: (np.ldexp(np.ones_like(y), e), np.zeros_like(y)))


def divide_no_nan(x1, x2):
    """x1 / x2, 0 where x2 == 0; the divisor is made safe first, so the gradient stays finite there."""
    a, b = _farg(x1, x2, "divide_no_nan"), _farg(x2, x1, "divide_no_nan")
    zero = _data(b) == 0
    safe = where(zero, 1, b) if isinstance(b, Tensor) or backend.is_array(b) else (1.0 if zero else b)
    return where(zero, 0, divide(a, safe))


def select(condlist, choicelist, default=0):
    """choicelist[i] where condlist[i] is the first true condition, else default: nested wheres from the last
    pair, so each output's gradient goes to the choice it took."""
    if len(condlist) != len(choicelist) or not len(condlist):
        raise ValueError(f"select: arguments 'condlist' and 'choicelist' expected the same non-zero length, got "
                         f"{len(condlist)} and {len(choicelist)}")
    ref = next((v for v in choicelist if isinstance(v, Tensor) or backend.is_array(v)), None)
    out = _arg(default, ref)
    for c, v in reversed(list(zip(condlist, choicelist))):
        c = _data(_arg(c, ref))
        if _dtype(c).kind != "b":
            raise TypeError(f"select: argument 'condlist' expected boolean tensors, got dtype {_dtype(c)}")
        out = where(c, _arg(v, ref), out)
    return out


# ============================================================================ without a gradient
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return _const(_xp(x1).asarray(_xp(x1).allclose(_a(x1), _data(_arg(x2, x1)), rtol=rtol, atol=atol,
                                                   equal_nan=equal_nan)))


def angle(x):
    """The complex argument; for real x, 0 or pi (piecewise constant, no gradient)."""
    a = _a(x)
    return _const(_xp(x).angle(a if a.dtype.kind in "fc" else a.astype(backend.floatx())))


def bitwise_invert(x):
    a = _a(x)
    _ints("bitwise_invert", x=a)
    return _const(_xp(x).invert(a))


bitwise_not = bitwise_invert


def bitwise_left_shift(x, y):
    a, b = _a(x), _data(_arg(y, x))
    _ints("bitwise_left_shift", x=a, y=b)
    return _const(_xp(x).left_shift(a, b))


def bitwise_right_shift(x, y):
    a, b = _a(x), _data(_arg(y, x))
    _ints("bitwise_right_shift", x=a, y=b)
    return _const(_xp(x).right_shift(a, b))


left_shift, right_shift = bitwise_left_shift, bitwise_right_shift


def gcd(x1, x2):
    a, b = _a(x1), _data(_arg(x2, x1))
    _ints("gcd", x1=a, x2=b)
    return _const(_xp(x1).gcd(a, b))


def lcm(x1, x2):
    a, b = _a(x1), _data(_arg(x2, x1))
    _ints("lcm", x1=a, x2=b)
    return _const(_xp(x1).lcm(a, b))


def heaviside(x1, x2):
    """0 for x1 < 0, x2 for x1 == 0, 1 for x1 > 0 (a step: no gradient)."""
    a, b = _data(_farg(x1, x2, "heaviside")), _data(_farg(x2, x1, "heaviside"))
    return _const(_xp(a).heaviside(a, b))


def nextafter(x1, x2):
    a, b = _data(_farg(x1, x2, "nextafter")), _data(_farg(x2, x1, "nextafter"))
    return _const(_xp(a).nextafter(a, b))


def isin(x1, x2, assume_unique=False, invert=False):
    return _const(_xp(x1).isin(_a(x1), _data(_arg(x2, x1)), assume_unique=assume_unique, invert=invert))


def isneginf(x):
    a = _a(x)
    return _const(_xp(x).isinf(a) & _xp(x).signbit(a))


def isposinf(x):
    a = _a(x)
    return _const(_xp(x).isinf(a) & ~_xp(x).signbit(a))


def isreal(x):
    return _const(_xp(x).imag(_a(x)) == 0)


def signbit(x):
    return _const(_xp(x).signbit(_a(x)))


def trunc(x):
    """Rounding toward zero (no gradient); integers come back unchanged."""
    a = _a(x)
    return _const(a if a.dtype.kind in "iub" else _xp(x).trunc(a))


def view(x, dtype=None):
    """The same bytes read as ``dtype`` (no gradient)."""
    a = _a(x)
    return _const(a.view() if dtype is None else a.view(np.dtype(dtype)))


def empty_like(x, dtype=None):
    return _const(_xp(x).empty_like(_a(x), dtype=None if dtype is None else backend.resolve_dtype(dtype)))


def argpartition(x, kth, axis=-1):
    return _const(_xp(x).argpartition(_a(x), kth, axis=axis).astype(np.int32))


def searchsorted(sorted_sequence, values, side="left"):
    s = _a(sorted_sequence)
    if s.ndim != 1:
        raise ValueError(f"searchsorted: argument 'sorted_sequence' expected a 1-D tensor, got shape {s.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: argument 'side' expected 'left' or 'right', got {side!r}")
    out = _xp(s).searchsorted(s, _data(_arg(values, sorted_sequence)), side=side)
    return _const(out.astype(np.int32 if s.shape[0] <= np.iinfo(np.int32).max else np.int64))


def unravel_index(indices, shape):
    a = _a(indices)
    _ints("unravel_index", indices=a)
    return tuple(_const(i.astype(a.dtype)) for i in _xp(indices).unravel_index(a, tuple(int(s) for s in shape)))


def histogram(x, bins=10, range=None):  # noqa: A002 - Keras' name
    """(counts, bin edges) of a 1-D tensor over ``bins`` equal bins of ``range`` (default: min to max)."""
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"histogram: argument 'bins' expected a positive int, got {bins!r}")
    if range is not None and (len(range) != 2 or range[1] < range[0]):
        raise ValueError(f"histogram: argument 'range' expected (low, high) with low <= high, got {range!r}")
    a = _a(x)
    if a.ndim != 1:
        raise ValueError(f"histogram: argument 'x' expected a 1-D tensor, got shape {a.shape}")
    counts, edges = _xp(x).histogram(a, bins=int(bins), range=range)
    return _const(counts), _const(edges)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None,  # noqa: A002
           size=None, fill_value=None):
    """NumPy's unique (values in ascending order, also for sorted=False), computed on the host because its
    shape depends on the data, and moved back to x's device. With ``size`` the values (and index, counts) are
    cut or padded to that length along the axis: values with ``fill_value`` (0), counts with 0 and the index
    with 1, as Keras' NumPy and torch backends pad."""
    a = _a(x)
    out = np.unique(backend.to_numpy(a), return_index=return_index, return_inverse=return_inverse,
                    return_counts=return_counts, axis=axis, equal_nan=False)
    out = list(out) if (return_index or return_inverse or return_counts) else [out]
    if size is not None:
        dim = 0 if axis is None else _axis(axis, a.ndim, "unique")
        n = out[0].shape[dim]
        width = [(0, 0)] * out[0].ndim
        width[dim] = (0, _b.max(0, int(size) - n))
        keep = tuple(_b.slice(0, int(size)) if d == dim else _b.slice(None) for d in range(out[0].ndim))
        out[0] = np.pad(out[0][keep], width, constant_values=0 if fill_value is None else fill_value)
        if return_index:
            out[1] = np.pad(out[1][:int(size)], width[dim], constant_values=1)
        if return_counts:
            out[-1] = np.pad(out[-1][:int(size)], width[dim], constant_values=0)
    out = [_const(backend.like(a, o)) for o in out]
    return out[0] if len(out) == 1 else tuple(out)


# ---------------------------------------------------------------------------- constructors (host, no gradient)
def _window(who, fn, x, *args):
    m = _host(x)
    if m.size != 1:
        raise ValueError(f"{who}: argument 'x' expected the window length (a scalar), got shape {m.shape}")
    return _const(fn(int(m.reshape(())), *args).astype(backend.floatx()))


def bartlett(x):
    return _window("bartlett", np.bartlett, x)


def blackman(x):
    return _window("blackman", np.blackman, x)


def hamming(x):
    return _window("hamming", np.hamming, x)


def hanning(x):
    return _window("hanning", np.hanning, x)


def kaiser(x, beta):
    """w[n] = I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)."""
    return _window("kaiser", np.kaiser, x, float(beta))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    return _const(np.geomspace(_host(start), _host(stop), num, endpoint=endpoint, axis=axis)
                  .astype(backend.resolve_dtype(dtype)))


# ============================================================================ selection and shape (composed)
def get_item(x, key):
    """x[key], differentiable (keras.ops.get_item)."""
    return getitem(_t_arr(x), key)


def fliplr(x):
    if _a(x).ndim < 2:
        raise ValueError(f"fliplr: argument 'x' expected rank >= 2, got rank {_a(x).ndim}")
    return flip(x, 1)


def flipud(x):
    if _a(x).ndim < 1:
        raise ValueError("flipud: argument 'x' expected rank >= 1, got a scalar")
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    """Rotation by k x 90 degrees from axes[0] towards axes[1], as NumPy: flips and one transposition."""
    x = _t_arr(array)
    nd = _a(x).ndim
    if nd < 2:
        raise ValueError(f"rot90: argument 'array' expected rank >= 2, got rank {nd}")
    if len(axes) != 2 or axes[0] % nd == axes[1] % nd:
        raise ValueError(f"rot90: argument 'axes' expected two different axes, got {axes!r}")
    a0, a1 = _axis(axes[0], nd, "rot90"), _axis(axes[1], nd, "rot90")
    k = int(k) % 4
    if k == 0:
        return getitem(x, (Ellipsis,))
    if k == 2:
        return flip(x, [a0, a1])
    perm = list(range(nd))
    perm[a0], perm[a1] = a1, a0
    return transpose(flip(x, a1), perm) if k == 1 else flip(transpose(x, perm), a1)


def diff(a, n=1, axis=-1):
    """The n-th forward difference along ``axis``: out[i] = a[i + 1] - a[i], n times."""
    x = _t_arr(a)
    nd = _a(x).ndim
    if nd == 0:
        raise ValueError("diff: argument 'a' expected rank >= 1, got a scalar")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: argument 'n' expected a non-negative int, got {n!r}")
    ax = _axis(axis, nd, "diff")
    if _a(x).dtype == bool:  # NumPy's bool diff is "not equal" (no gradient)
        return _const(_xp(x).diff(_a(x), n=n, axis=ax))

    def part(s):
        return getitem(x, tuple(s if d == ax else _b.slice(None) for d in range(nd)))
    for _ in range(n):
        x = subtract(part(_b.slice(1, None)), part(_b.slice(None, -1)))
    return x


def _split_along(who, x, indices_or_sections, axis):
    x = _t_arr(x)
    n = _a(x).shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)) and (indices_or_sections < 1 or n % indices_or_sections):
        raise ValueError(f"{who}: argument 'indices_or_sections' {indices_or_sections} does not divide axis {axis} "
                         f"of length {n} equally")
    return split(x, indices_or_sections, axis)


def array_split(x, indices_or_sections, axis=0):
    """Like split, but k sections need not be equal: the first n % k get one more entry (NumPy)."""
    x = _t_arr(x)
    ax = _axis(axis, _a(x).ndim, "array_split")
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k < 1:
            raise ValueError(f"array_split: argument 'indices_or_sections' expected a positive int, got {k}")
        n = _a(x).shape[ax]
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        indices_or_sections = [int(i) for i in np.cumsum(sizes)[:-1]]
    return split(x, list(indices_or_sections), ax)


def hsplit(x, indices_or_sections):
    nd = _a(x).ndim
    if nd == 0:
        raise ValueError("hsplit: argument 'x' expected rank >= 1, got a scalar")
    return _split_along("hsplit", x, indices_or_sections, 1 if nd > 1 else 0)


def vsplit(x, indices_or_sections):
    if _a(x).ndim < 2:
        raise ValueError(f"vsplit: argument 'x' expected rank >= 2, got rank {_a(x).ndim}")
    return _split_along("vsplit", x, indices_or_sections, 0)


def dsplit(x, indices_or_sections):
    if _a(x).ndim < 3:
        raise ValueError(f"dsplit: argument 'x' expected rank >= 3, got rank {_a(x).ndim}")
    return _split_along("dsplit", x, indices_or_sections, 2)


def dstack(xs):
    """Concatenation along the third axis of each input made 3-D: () -> (1, 1, 1), (N,) -> (1, N, 1),
    (M, N) -> (M, N, 1), as np.atleast_3d."""
    if not len(xs):
        raise ValueError("dstack: argument 'xs' is empty; expected at least one tensor")

    def at3(v):
        s = _a(v).shape
        return reshape(v, {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s))
    return concatenate([at3(_t_arr(v)) for v in xs], axis=2)


def diag(x, k=0):
    """1-D x: the square matrix with x on its k-th diagonal; 2-D x: its k-th diagonal. The matrix is
    take(x, min(row, col)) masked to the diagonal, so the gradient reads back the diagonal."""
    x = _t_arr(x)
    a = _a(x)
    if a.ndim == 2:
        return diagonal(x, k)
    if a.ndim != 1:
        raise ValueError(f"diag: argument 'x' expected a 1-D or 2-D tensor, got shape {a.shape}")
    n = a.shape[0] + _b.abs(int(k))
    if a.shape[0] == 0:
        return _const(_xp(x).zeros((n, n), a.dtype))
    r, c = np.indices((n, n))
    idx = np.minimum(np.minimum(r, c), a.shape[0] - 1)  # on diagonal k: x[r] above (k >= 0), x[c] below
    return where(_like(x, c - r == k), take(x, idx), 0)


def diagflat(x, k=0):
    return diag(ravel(x), k)


def kron(x1, x2):
    """Kronecker product: out[i p + k, j q + l] = x1[i, j] x2[k, l] (any rank, the smaller padded with leading
    1s), as one broadcast multiply of (m, 1, n, 1) by (1, p, 1, q) and a reshape."""
    a, b = _t_arr(x1), _arg(x2, x1)
    sa, sb = _a(a).shape, _a(b).shape
    nd = _b.max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    out = multiply(reshape(a, [v for s in sa for v in (s, 1)]), reshape(b, [v for s in sb for v in (1, s)]))
    return reshape(out, [p * q for p, q in zip(sa, sb)])


def vander(x, N=None, increasing=False):  # noqa: N803 - Keras' name
    """Columns x^(N-1), ..., x, 1 (reversed if increasing), built by repeated products, so the gradient is
    exact (d x^j / dx = j x^(j-1), also at 0)."""
    x = _t_arr(x)
    a = _a(x)
    if a.ndim != 1:
        raise ValueError(f"vander: argument 'x' expected a 1-D tensor, got shape {a.shape}")
    n = a.shape[0] if N is None else int(N)
    if n <= 0:
        return _const(_xp(x).zeros((a.shape[0], 0), a.dtype))
    cols = [_const(_xp(x).ones_like(a))]
    for _ in range(n - 1):
        cols.append(multiply(cols[-1], x))
    return stack(cols if increasing else cols[::-1], axis=1)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoidal rule: sum_i d_i (y[i + 1] + y[i]) / 2, with d = diff(x) or dx."""
    y = _float(_t_arr(y), "trapezoid")
    nd = _a(y).ndim
    ax = _axis(axis, nd, "trapezoid")

    def part(t, s):
        return getitem(t, tuple(s if d == ax else _b.slice(None) for d in range(nd)))
    mid = multiply(add(part(y, _b.slice(1, None)), part(y, _b.slice(None, -1))), 0.5)
    if x is None:
        d = _farg(dx, y, "trapezoid")
    else:
        x = _farg(x, y, "trapezoid")
        if _a(x).ndim == 1:
            shape = [1] * nd
            shape[ax] = -1
            d = reshape(diff(x), shape)
        else:
            d = diff(x, axis=ax)
    return sum(multiply(d, mid), axis=ax)


# ============================================================================ statistics
def ptp(x, axis=None, keepdims=False):
    """max - min; the gradient splits over ties as max and min do."""
    x = _t_arr(x)
    return subtract(amax(x, _axes(axis), keepdims), amin(x, _axes(axis), keepdims))


_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _qs(q, top, who):
    d = _data(q)
    qs = np.asarray(backend.to_numpy(d) if backend.is_array(d) else d, np.float64)
    if ((qs < 0) | (qs > top)).any():
        raise ValueError(f"{who}: argument 'q' expected values in [0, {top}], got {q!r}")
    return qs


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """quantile at q / 100 (the gradient goes to the order statistics read)."""
    return quantile(x, _qs(q, 100, "percentile") / 100, axis=axis, method=method, keepdims=keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """quantile over the non-NaN values of each slice (NaN where a slice has none): the values are sorted
    with NaNs (as +inf) last and each slice reads its order statistics at q (n_valid - 1), NumPy's positions;
    the per-slice counts and positions are computed on the host."""
    if method not in _METHODS:
        raise ValueError(f"nanquantile: argument 'method' expected one of {', '.join(map(repr, _METHODS))}, "
                         f"got {method!r}")
    qs = _qs(q, 1, "nanquantile")
    x = _float(_t_arr(x), "nanquantile")
    shape = _a(x).shape
    nd = len(shape)
    axes = range(nd) if axis is None else [_axis(v, nd, "nanquantile") for v in
                                            (axis if isinstance(axis, (list, tuple)) else [axis])]
    keep = [d for d in range(nd) if d not in axes]
    flat = reshape(transpose(x, keep + [d for d in range(nd) if d in axes]), tuple(shape[d] for d in keep) + (-1,))
    nan = _nan_mask(flat)
    xs = sort(where(nan, np.inf, flat), axis=-1)
    n = _a(xs).shape[-1]
    count = np.asarray(backend.to_numpy((~nan).sum(axis=-1)))[..., None]  # valid values per slice (host)
    pos = qs.ravel() * (count - 1)  # (kept..., len(q))
    lo, hi, frac = _interpolation(pos, method)
    lo, hi = np.clip(lo, 0, _b.max(n - 1, 0)), np.clip(hi, 0, _b.max(n - 1, 0))
    a_lo, a_hi = take_along_axis(xs, lo, axis=-1), take_along_axis(xs, hi, axis=-1)
    with np.errstate(invalid="ignore"):  # inf - inf in the slices without values, replaced by NaN below
        out = add(a_lo, multiply(subtract(a_hi, a_lo), _like(xs, frac.astype(_a(xs).dtype))))
    out = where(_like(xs, np.broadcast_to(count == 0, pos.shape)), np.nan, out)
    out = moveaxis(out, -1, 0)  # the q axis first, as NumPy
    if keepdims:
        out = reshape(out, (pos.shape[-1],) + tuple(1 if d in axes else s for d, s in enumerate(shape)))
    return getitem(out, 0) if qs.ndim == 0 else out


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, _qs(q, 100, "nanpercentile") / 100, axis=axis, method=method, keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


def nansum(x, axis=None, keepdims=False):
    """sum with NaNs taken as 0 (they get no gradient)."""
    x = _t_arr(x)
    m = _nan_mask(x)
    return sum(x if m is None else where(m, 0, x), axis=_axes(axis), keepdims=keepdims)


def _count(x, m, axis, keepdims):
    """The number of non-NaN values in each reduced slice, as x's dtype (a constant)."""
    return (~m).sum(axis=_axes(axis), keepdims=keepdims).astype(_a(x).dtype)


def nanmean(x, axis=None, keepdims=False):
    """nansum / (number of non-NaN values); NaN for a slice of NaNs only."""
    x = _float(_t_arr(x), "nanmean")
    m = _nan_mask(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return divide(nansum(x, axis, keepdims), _count(x, m, axis, keepdims))


def nanvar(x, axis=None, keepdims=False):
    """sum over the non-NaN values of (x - nanmean)^2 / their number (ddof 0, as NumPy)."""
    x = _float(_t_arr(x), "nanvar")
    m = _nan_mask(x)
    d = where(m, 0, subtract(x, nanmean(x, axis, keepdims=True)))
    with np.errstate(invalid="ignore", divide="ignore"):
        return divide(sum(multiply(d, d), axis=_axes(axis), keepdims=keepdims), _count(x, m, axis, keepdims))


def nanstd(x, axis=None, keepdims=False):
    return sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(x, axis, keepdims, reduce, fill):
    x = _t_arr(x)
    m = _nan_mask(x)
    if m is None:
        return reduce(x, _axes(axis), keepdims)
    out = reduce(where(m, fill, x), _axes(axis), keepdims)  # NaNs filled with the reduction's identity
    return where(m.all(axis=_axes(axis), keepdims=keepdims), np.nan, out)


def nanmax(x, axis=None, keepdims=False):
    """max over the non-NaN values (NaN for a slice of NaNs only); ties share the gradient."""
    return _nan_extreme(x, axis, keepdims, amax, -np.inf)


def nanmin(x, axis=None, keepdims=False):
    return _nan_extreme(x, axis, keepdims, amin, np.inf)


def nanprod(x, axis=None, keepdims=False):
    """prod with NaNs taken as 1 (exact gradient with zeros, as prod)."""
    x = _t_arr(x)
    m = _nan_mask(x)
    return prod(x if m is None else where(m, 1, x), axis=_axes(axis), keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None):
    x = _t_arr(x)
    m = _nan_mask(x)
    return cumsum(x if m is None else where(m, 0, x), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    x = _t_arr(x)
    m = _nan_mask(x)
    return cumprod(x if m is None else where(m, 1, x), axis=axis, dtype=dtype)


def _nan_arg(who, x, axis, keepdims, fill):
    """argmax / argmin ignoring NaNs; -1 for a slice of NaNs only (Keras' choice; NumPy raises)."""
    a = _a(x)
    xp = _xp(x)
    if axis is not None:
        axis = _axis(axis, a.ndim, who)
    f = xp.argmax if fill < 0 else xp.argmin
    if a.dtype.kind not in "fc":
        idx = f(a, axis=axis)
    else:
        m = xp.isnan(a)
        idx = xp.where(m.all(axis=axis), -1, f(xp.where(m, fill, a), axis=axis))
    if keepdims:
        idx = idx.reshape((1,) * a.ndim if axis is None else a.shape[:axis] + (1,) + a.shape[axis + 1:])
    return _const(idx.astype(np.int32))


def nanargmax(x, axis=None, keepdims=False):
    return _nan_arg("nanargmax", x, axis, keepdims, -np.inf)


def nanargmin(x, axis=None, keepdims=False):
    return _nan_arg("nanargmin", x, axis, keepdims, np.inf)


def corrcoef(x):
    """Pearson correlations of the rows (variables) of x: c = xm xm^T with xm = x - row means, then
    c_ij / sqrt(c_ii c_jj), clipped to [-1, 1] as NumPy; a 1-D x gives the scalar 1."""
    x = _float(_t_arr(x), "corrcoef")
    nd = _a(x).ndim
    if nd not in (1, 2):
        raise ValueError(f"corrcoef: argument 'x' expected a 1-D or 2-D tensor, got shape {_a(x).shape}")
    v = reshape(x, (1, -1)) if nd == 1 else x
    xm = subtract(v, mean(v, axis=1, keepdims=True))
    c = matmul(xm, transpose(xm))
    s = sqrt(diagonal(c))
    r = clip(divide(divide(c, reshape(s, (-1, 1))), reshape(s, (1, -1))), -1.0, 1.0)
    return reshape(r, ()) if nd == 1 else r


def correlate(x1, x2, mode="valid"):
    """NumPy's cross-correlation of 1-D x1 (length M) and x2 (length N): full[k] = sum_n a[k + n - (N - 1)]
    v[n] over the zero-padded a (k = 0 .. M + N - 2); 'valid' keeps the |M - N| + 1 full overlaps and 'same'
    max(M, N) centred values, at NumPy's offsets. Windows of the padded a times v, so differentiable."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: argument 'mode' expected 'valid', 'same' or 'full', got {mode!r}")
    a, v = _float(_t_arr(x1), "correlate"), _farg(x2, x1, "correlate")
    if _a(a).ndim != 1 or _a(v).ndim != 1 or not _a(a).size or not _a(v).size:
        raise ValueError(f"correlate: arguments 'x1' and 'x2' expected non-empty 1-D tensors, got shapes "
                         f"{_a(a).shape} and {_a(v).shape}")
    m, n = _a(a).shape[0], _a(v).shape[0]
    windows = getitem(pad(a, [(n - 1, n - 1)]), np.arange(m + n - 1)[:, None] + np.arange(n))  # (M + N - 1, N)
    full = sum(multiply(windows, v), axis=1)
    if mode == "full":
        return full
    start, length = (_b.min(m, n) - 1, _b.abs(m - n) + 1) if mode == "valid" else \
        ((n - 1) // 2 if m >= n else m // 2, _b.max(m, n))
    return getitem(full, _b.slice(start, start + length))


class _Cdist(Function):
    """d_ij = ||x_i - y_j||_2 over the last axis (leading axes broadcast); d d_ij / d x_i = (x_i - y_j) / d_ij
    = -d d_ij / d y_j, taken as 0 where d_ij = 0 (torch.cdist's subgradient)."""
    name = "cdist"

    def forward(self, x, y):
        xp = backend.get_array_module(x)
        self.diff = x[..., :, None, :] - y[..., None, :, :]
        self.d = xp.sqrt((self.diff * self.diff).sum(axis=-1))
        self.sx, self.sy = x.shape, y.shape
        return self.d

    def backward(self, g):
        xp = backend.get_array_module(g)
        zero = self.d == 0
        w = xp.where(zero, 0, g / xp.where(zero, 1, self.d))[..., None] * self.diff  # (..., m, n, d)
        return (unbroadcast(w.sum(axis=-2), self.sx) if self.needs[0] else None,
                unbroadcast(-w.sum(axis=-3), self.sy) if self.needs[1] else None)


def cdist(x, y):
    """Euclidean distances between the rows of x (..., m, d) and y (..., n, d): (..., m, n)."""
    a, b = _float(_t_arr(x), "cdist"), _farg(y, x, "cdist")
    sa, sb = _a(a).shape, _a(b).shape
    if len(sa) < 2 or len(sb) < 2 or sa[-1] != sb[-1]:
        raise ValueError(f"cdist: arguments 'x' and 'y' expected shapes (..., m, d) and (..., n, d), got {sa} and "
                         f"{sb}")
    return _Cdist.apply(a, b)


# ============================================================================ segments
def _segment_table(who, data, segment_ids, num_segments):
    """Rows of data grouped by segment: the host gather index (n, longest) and its mask (n, longest). Rows with
    a negative id are dropped, as Keras; N-D ids over data's leading axes are flattened."""
    d = _t_arr(data)
    ids = np.asarray(backend.to_numpy(_a(segment_ids))).astype(np.int64)
    shape = _a(d).shape
    if ids.ndim < 1 or shape[:ids.ndim] != ids.shape:
        raise ValueError(f"{who}: argument 'segment_ids' expected the leading shape of data "
                         f"{shape[:_b.max(ids.ndim, 1)]}, got {ids.shape}")
    if ids.ndim > 1:
        d, ids = reshape(d, (-1,) + shape[ids.ndim:]), ids.ravel()
    n = (int(ids.max()) + 1 if ids.size else 0) if num_segments is None else int(num_segments)
    if ids.size and ids.max() >= n:
        raise ValueError(f"{who}: argument 'segment_ids' holds {int(ids.max())}, out of range for {n} segments")
    rows = np.flatnonzero(ids >= 0)
    rows = rows[np.argsort(ids[rows], kind="stable")]
    counts = np.bincount(ids[rows], minlength=n)
    slot = np.arange(len(rows)) - (np.cumsum(counts) - counts)[ids[rows]]  # place within its segment
    width = _b.max(int(counts.max()) if n else 0, 1)
    idx, mask = np.zeros((n, width), np.int64), np.zeros((n, width), bool)
    idx[ids[rows], slot], mask[ids[rows], slot] = rows, True
    return d, idx, mask


def _segment_reduce(who, data, segment_ids, num_segments, reduce, fill):
    """reduce over each segment's rows, gathered into a dense (n, longest, ...) block padded with ``fill``."""
    d, idx, mask = _segment_table(who, data, segment_ids, num_segments)
    a = _a(d)
    if a.shape[0] == 0:
        return _const(_xp(d).full((idx.shape[0],) + a.shape[1:], fill, a.dtype))
    block = take(d, idx, axis=0)  # (n, longest, ...)
    mask = _like(d, mask.reshape(mask.shape + (1,) * (a.ndim - 1)))
    return reduce(where(mask, block, fill), axis=1)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Per segment, the min of its rows (the dtype's largest value for an empty segment, +inf for floats, as
    tf.math.unsorted_segment_min); ties share the gradient."""
    dt = _a(data).dtype
    fill = np.inf if dt.kind == "f" else np.iinfo(dt).max if dt.kind in "iu" else True
    return _segment_reduce("segment_min", data, segment_ids, num_segments, amin, fill)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Per segment, the product of its rows (1 for an empty segment), exact gradient with zeros (as prod)."""
    return _segment_reduce("segment_prod", data, segment_ids, num_segments, prod, 1)


# ============================================================================ casts
def _limits(dt):
    if dt.kind == "b":
        return 0, 1
    info = np.iinfo(dt) if dt.kind in "iu" else np.finfo(dt)
    return (int(info.min), int(info.max)) if dt.kind in "iu" else (float(info.min), float(info.max))


def saturate_cast(x, dtype):
    """Cast to ``dtype`` after clipping to its range (Keras' limits: the target's range as representable in
    x's dtype, nudged inward where rounding would overshoot); the gradient passes where nothing was clipped."""
    x = _t_arr(x)
    src, dst = np.dtype(_a(x).dtype), np.dtype(backend.resolve_dtype(dtype))
    (in_lo, in_hi), (out_lo, out_hi) = _limits(src), _limits(dst)
    lo, hi = np.asarray(_b.max(in_lo, out_lo)).astype(src), np.asarray(_b.min(in_hi, out_hi)).astype(src)
    if float(lo) < out_lo:
        lo = np.nextafter(lo, 0, dtype=src)
    if float(hi) > out_hi:
        hi = np.nextafter(hi, 0, dtype=src)
    return cast(clip(x, lo[()], hi[()]), dst)


__all__ = [
    "allclose", "angle", "argpartition", "array_split", "bartlett", "bitwise_invert", "bitwise_left_shift",
    "bitwise_not", "bitwise_right_shift", "blackman", "cbrt", "cdist", "corrcoef", "correlate", "deg2rad", "diag",
    "diagflat", "diff", "divide_no_nan", "dsplit", "dstack", "empty_like", "erfc", "erfinv", "exp2", "fabs",
    "fliplr", "flipud", "fmax", "fmin", "fmod", "gcd", "geomspace", "get_item", "hamming", "hanning", "heaviside",
    "histogram", "hsplit", "hypot", "i0", "isin", "isneginf", "isposinf", "isreal", "kaiser", "kron", "lcm",
    "ldexp", "left_shift", "logaddexp2", "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean",
    "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum", "nanvar", "nextafter",
    "percentile", "ptp", "rad2deg", "right_shift", "rot90", "saturate_cast", "searchsorted", "segment_min",
    "segment_prod", "select", "signbit", "sinc", "trapezoid", "trunc", "unique", "unravel_index", "vander", "view",
    "vsplit",
]
