"""``to_categorical`` and ``normalize`` with Keras 3 semantics (plus clear errors for bad labels)."""
import numpy as np

from .. import backend


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels: shape ``s`` -> ``s + (num_classes,)``.

    As Keras: a trailing axis of size 1 is dropped first ((n, 1) -> (n, C)); ``num_classes`` defaults to
    ``max(x) + 1``. Labels must be integers in ``[0, num_classes)``; the output has dtype ``floatx()``.
    """
    a = backend.to_numpy(backend.unwrap(x))  # not x.data: a CuPy array's .data is its memory pointer
    a = np.asarray(a)
    if a.dtype.kind not in "iub" and a.dtype.kind != "f":
        raise TypeError(f"to_categorical: argument 'x' expected integer class labels, got an array of dtype {a.dtype}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            bad = np.flatnonzero(~np.isfinite(a.ravel()) | (a.ravel() != np.round(a.ravel())))
            raise ValueError(f"to_categorical: argument 'x' expected integer class labels, got non-integer value "
                             f"{a.ravel()[bad[0]]!r} at flat index {int(bad[0])} ({bad.size} such values)")
    a = a.astype("int64")
    input_shape = a.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    flat = a.reshape(-1)
    if num_classes is None:
        if flat.size == 0:
            raise ValueError("to_categorical: argument 'num_classes' is required for empty input")
        num_classes = int(flat.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"to_categorical: argument 'num_classes' expected a positive int, got {num_classes!r}")
    num_classes = int(num_classes)
    bad = np.flatnonzero((flat < 0) | (flat >= num_classes))
    if bad.size:
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes}), got {int(flat[bad[0]])} at flat "
                         f"index {int(bad[0])} ({bad.size} labels out of range)")
    out = np.zeros((flat.shape[0], num_classes), dtype=backend.floatx())
    out[np.arange(flat.shape[0]), flat] = 1
    return out.reshape(input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divide ``x`` by its ``order``-norm along ``axis`` (Keras: zero norms are left as 1, so zero rows stay 0).

    NumPy input gives a NumPy array; a nerve Tensor gives a differentiable Tensor.
    """
    from ..autograd.tensor import Tensor
    if isinstance(order, bool) or not isinstance(order, (int, float, np.integer, np.floating)) or order < 1:
        raise ValueError(f"normalize: argument 'order' must be a number >= 1, got {order!r}")
    if isinstance(x, Tensor):
        from .. import ops
        ax = -1 if axis is None else axis
        eps = 1e-7  # Keras: the norm is floored at backend.epsilon(), so zero rows give zeros and finite grads
        if order == 2:
            norm = ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=ax, keepdims=True), eps ** 2))
        else:
            total = ops.sum(ops.power(ops.abs(x), order), axis=ax, keepdims=True)
            norm = ops.power(ops.maximum(total, eps ** order), 1.0 / order)
        return x / norm
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"normalize: argument 'x' expected a numeric array, got dtype {x.dtype}")
    if x.ndim == 0:
        raise ValueError("normalize: argument 'x' must have at least one axis, got a scalar")
    axis = -1 if axis is None else axis  # (Keras writes `axis or -1`, which turns axis=0 into -1: not copied)
    norm = np.linalg.norm(x, order, axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm
