"""The functional op namespace (``nerve.ops``), with Keras 3 ``keras.ops`` names and signatures.

Every function takes Tensors, NumPy/CuPy arrays or Python numbers and returns a Tensor; gradients flow
through Tensor arguments that require them.
"""
import numpy as np

from ... import backend
from ..tensor import Tensor, tensor
from . import activation as A
from . import elementwise as E
from . import linalg as L
from . import reduce as R
from . import shape as S
from .reduce import norm_axis


def _t(x):
    """Tensor or array/number passed through; lists become arrays."""
    if isinstance(x, (Tensor, int, float)) or backend.is_array(x):
        return x
    if isinstance(x, (np.generic, bool)):
        return x
    a = np.asarray(x)
    if a.dtype == np.float64:
        a = a.astype(backend.floatx())
    if a.dtype.kind in "OUS":
        raise TypeError(f"ops: expected a tensor, array or number, got {type(x).__name__} of dtype {a.dtype}")
    return a


def _float(x, name):
    """Inputs of float-only ops: integer/bool data is cast to floatx (as torch/keras do)."""
    x = _t(x)
    if isinstance(x, Tensor):  # op outputs may hold NumPy scalars (full reductions): keep the Tensor
        return x if x.data.dtype.kind in "fc" else x.data.astype(backend.floatx())
    d = x
    if isinstance(d, (int, float, bool, np.generic)) and not backend.is_array(d):
        return np.dtype(backend.floatx()).type(d)  # a NumPy scalar: mixes with CuPy arrays, a 0-d array does not
    if d.dtype.kind not in "fc":
        return d.astype(backend.floatx())
    return x


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def convert_to_tensor(x, dtype=None):
    return x if isinstance(x, Tensor) and dtype is None else tensor(_data(x), dtype=dtype)


def convert_to_numpy(x):
    return backend.to_numpy(_data(x))


# ----------------------------------------------------------------------- arithmetic
def add(x1, x2): return E.Add.apply(_t(x1), _t(x2))
def subtract(x1, x2): return E.Subtract.apply(_t(x1), _t(x2))
def multiply(x1, x2): return E.Multiply.apply(_t(x1), _t(x2))
def divide(x1, x2):
    x2 = _t(x2)
    d2 = x2.data if isinstance(x2, Tensor) else x2
    if type(x1) in (int, float) and backend.is_array(d2) and d2.dtype.kind == "f":
        return E.Divide.apply(float(x1), x2)  # a weak Python scalar over a float tensor: the tensor's precision
    return E.Divide.apply(_float(x1, "divide"), x2)
true_divide = divide
def negative(x): return E.Negative.apply(_t(x))
def power(x1, x2): return E.Power.apply(_t(x1), _t(x2))
def square(x): return E.Square.apply(_t(x))
def sqrt(x): return E.Sqrt.apply(_float(x, "sqrt"))
def exp(x): return E.Exp.apply(_float(x, "exp"))
def log(x): return E.Log.apply(_float(x, "log"))
def log1p(x): return E.Log1p.apply(_float(x, "log1p"))
def abs(x): return E.Abs.apply(_t(x))
absolute = abs
def sign(x): return E.Sign.apply(_t(x))
def maximum(x1, x2): return E.Maximum.apply(_t(x1), _t(x2))
def minimum(x1, x2): return E.Minimum.apply(_t(x1), _t(x2))


def clip(x, x_min, x_max):
    return E.Clip.apply(_t(x), _data(x_min), _data(x_max))


def where(condition, x1=None, x2=None):
    c = _data(condition)
    if x1 is None and x2 is None:
        return tuple(Tensor(i) for i in np.nonzero(backend.to_numpy(c)))
    if x1 is None or x2 is None:
        raise ValueError("where: arguments 'x1' and 'x2' must both be given or both be None")
    return E.Where.apply(c, _t(x1), _t(x2))


def cast(x, dtype):
    return E.Cast.apply(_t(x), backend.resolve_dtype(dtype))


# ----------------------------------------------------------------------- reductions
def sum(x, axis=None, keepdims=False): return R.Sum.apply(_t_arr(x), axis=axis, keepdims=keepdims)
def mean(x, axis=None, keepdims=False): return R.Mean.apply(_float_arr(x), axis=axis, keepdims=keepdims)
def max(x, axis=None, keepdims=False, initial=None): return R.Max.apply(_t_arr(x), axis=axis, keepdims=keepdims)
def min(x, axis=None, keepdims=False, initial=None): return R.Min.apply(_t_arr(x), axis=axis, keepdims=keepdims)
amax, amin = max, min
def var(x, axis=None, keepdims=False): return R.Var.apply(_float_arr(x), axis=axis, keepdims=keepdims)
def std(x, axis=None, keepdims=False): return sqrt(var(x, axis, keepdims))
def logsumexp(x, axis=None, keepdims=False): return R.LogSumExp.apply(_float_arr(x), axis=axis, keepdims=keepdims)


def _t_arr(x):
    x = _t(x)
    return np.asarray(x) if isinstance(x, (int, float)) else x


def _float_arr(x):
    return _float(_t_arr(x), "reduce")


def argmax(x, axis=None, keepdims=False):
    return Tensor(np.argmax(_data(x), axis=axis, keepdims=keepdims) if backend.get_array_module(_data(x)) is np
                  else _data(x).argmax(axis=axis))


def argmin(x, axis=None, keepdims=False):
    return Tensor(np.argmin(_data(x), axis=axis, keepdims=keepdims))


# ----------------------------------------------------------------------- linear algebra
def matmul(x1, x2): return L.MatMul.apply(_t_arr(x1), _t_arr(x2))
dot = matmul


def tensordot(x1, x2, axes=2):
    """Contract ``axes`` of x1 with x2 (NumPy semantics), as transpose + reshape + one matmul."""
    a, b = _t_arr(x1), _t_arr(x2)
    sa, sb = tuple(a.shape), tuple(b.shape)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(len(sa) - axes, len(sa))), list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [i % len(sa) for i in ax_a]
    ax_b = [i % len(sb) for i in ax_b]
    if len(ax_a) != len(ax_b) or any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError(f"tensordot: contracted axes {ax_a} of shape {sa} do not match axes {ax_b} of shape {sb}")
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [i for i in range(len(sb)) if i not in ax_b]
    k = int(np.prod([sa[i] for i in ax_a])) if ax_a else 1
    am = reshape(transpose(a, free_a + ax_a), (-1, k))
    bm = reshape(transpose(b, ax_b + free_b), (k, -1))
    return reshape(matmul(am, bm), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def einsum(subscripts, *operands):
    return L.Einsum.apply(subscripts, *[_t_arr(o) for o in operands])


# ----------------------------------------------------------------------- shape
def reshape(x, newshape):
    if isinstance(newshape, (int, np.integer)):
        newshape = (int(newshape),)
    return S.Reshape.apply(_t_arr(x), tuple(newshape))


def transpose(x, axes=None):
    return S.Transpose.apply(_t_arr(x), None if axes is None else tuple(axes))


def swapaxes(x, axis1, axis2):
    n = len(_data(_t_arr(x)).shape)
    perm = list(range(n))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


def expand_dims(x, axis):
    x = _t_arr(x)
    shape = list(x.shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    n = len(shape) + len(axes)
    norm = sorted(int(i) % n for i in axes if -n <= i < n)
    if len(norm) != len(axes) or len(set(norm)) != len(norm):
        raise ValueError(f"expand_dims: argument 'axis' expected distinct ints in [{-n}, {n}) for an input of "
                         f"rank {len(shape)}, got {axis!r}")
    for a in norm:
        shape.insert(a, 1)
    return reshape(x, shape)


def squeeze(x, axis=None):
    x = _t_arr(x)
    shape = tuple(x.shape)
    axes = norm_axis(axis, len(shape), "squeeze") if axis is not None else \
        tuple(i for i, n in enumerate(shape) if n == 1)
    for a in axes:
        if shape[a] != 1:
            raise ValueError(f"squeeze: argument 'axis' {axis} has length {shape[a]} (expected 1) in shape {shape}")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in axes))


def concatenate(xs, axis=0):
    if not len(xs):
        raise ValueError("concatenate: argument 'xs' is empty; expected at least one tensor")
    return S.Concatenate.apply(*[_t_arr(x) for x in xs], axis=axis)


def stack(x, axis=0):
    if not len(x):
        raise ValueError("stack: argument 'x' is empty; expected at least one tensor")
    return S.Stack.apply(*[_t_arr(v) for v in x], axis=axis)


def split(x, indices_or_sections, axis=0):
    out = S.Split.apply(_t_arr(x), indices_or_sections, axis)
    return list(out)


def pad(x, pad_width, mode="constant", constant_values=None):
    return S.Pad.apply(_t_arr(x), pad_width, mode, 0 if constant_values is None else constant_values)


def take(x, indices, axis=None):
    idx = _data(indices)
    idx = np.asarray(idx) if not backend.is_array(idx) else idx
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: argument 'indices' expected an integer array, got dtype {idx.dtype}")
    idx = _on(backend.get_array_module(_data(x)), idx)
    return S.Take.apply(_t_arr(x), idx, axis)


def getitem(x, idx):
    if isinstance(idx, Tensor):
        idx = idx.data
    elif isinstance(idx, tuple):
        idx = tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    elif isinstance(idx, list):
        idx = np.asarray(idx)
    xp = backend.get_array_module(_data(x))
    if xp is not np:  # CuPy data: index arrays must live on the device too
        idx = tuple(_on(xp, i) for i in idx) if isinstance(idx, tuple) else _on(xp, idx)
    return S.GetItem.apply(x, idx)


def _on(xp, a):
    return xp.asarray(a) if isinstance(a, np.ndarray) else a


def one_hot(x, num_classes, axis=-1, dtype=None):
    """Constant one-hot encoding (no gradient): integer labels -> float array with a 1 at each label."""
    lab = backend.to_numpy(_data(x))
    if lab.dtype.kind not in "iu":
        if lab.dtype.kind == "f" and np.all(lab == np.round(lab)):
            lab = lab.astype(np.int64)
        else:
            raise TypeError(f"one_hot: argument 'x' expected integer labels, got dtype {lab.dtype}")
    if lab.size and (lab.min() < 0 or lab.max() >= num_classes):
        raise ValueError(f"one_hot: argument 'x' expected labels in [0, {num_classes}), got range "
                         f"[{lab.min()}, {lab.max()}]")
    xp = backend.get_array_module(_data(x))  # CuPy labels give a CuPy one-hot
    out = xp.eye(num_classes, dtype=backend.resolve_dtype(dtype))[xp.asarray(lab)]
    if axis != -1:
        out = xp.moveaxis(out, -1, axis)
    return Tensor(out)


# ----------------------------------------------------------------------- activations
def sigmoid(x): return A.Sigmoid.apply(_float(x, "sigmoid"))
def tanh(x): return A.Tanh.apply(_float(x, "tanh"))
def relu(x): return A.Relu.apply(_t_arr(x))
def leaky_relu(x, negative_slope=0.2): return A.LeakyRelu.apply(_t_arr(x), negative_slope)
def elu(x, alpha=1.0): return A.Elu.apply(_float(x, "elu"), alpha)
def selu(x): return A.Selu.apply(_float(x, "selu"))
def softplus(x): return A.Softplus.apply(_float(x, "softplus"))
def softsign(x): return A.Softsign.apply(_float(x, "softsign"))
def hard_sigmoid(x): return A.HardSigmoid.apply(_float(x, "hard_sigmoid"))
def silu(x): return A.Silu.apply(_float(x, "silu"))
swish = silu
def gelu(x, approximate=True): return A.Gelu.apply(_float(x, "gelu"), approximate)
def softmax(x, axis=-1): return A.Softmax.apply(_float(x, "softmax"), axis)
def log_softmax(x, axis=-1): return A.LogSoftmax.apply(_float(x, "log_softmax"), axis)
def relu6(x): return minimum(relu(x), 6.0)


def zeros(shape, dtype=None): return Tensor(np.zeros(shape, backend.resolve_dtype(dtype)))
def ones(shape, dtype=None): return Tensor(np.ones(shape, backend.resolve_dtype(dtype)))
def zeros_like(x, dtype=None): return Tensor(np.zeros_like(_data(x), dtype=dtype))
def ones_like(x, dtype=None): return Tensor(np.ones_like(_data(x), dtype=dtype))
def shape(x): return tuple(_data(_t_arr(x)).shape)
def stop_gradient(x): return x.detach() if isinstance(x, Tensor) else Tensor(x)
