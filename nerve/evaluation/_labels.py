"""Turning labels, one-hot targets and predicted probabilities into 1-D class arrays."""
import numpy as np


def as_classes(y, name, fn):
    """1-D labels from labels (n,), one-hot / probabilities (n, k) (argmax) or one sigmoid column (n, 1) (> 0.5)."""
    if hasattr(y, "numpy"):
        y = y.numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = (y[:, 0] > 0.5).astype(np.int64) if y.dtype.kind == "f" else y[:, 0]
    elif y.ndim == 2:
        y = y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"{fn}: argument '{name}' must be 1-D labels or 2-D scores, got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{fn}: argument '{name}' holds non-integer floats; pass class labels, or "
                             f"threshold the scores first (e.g. scores > 0.5)")
        y = y.astype(np.int64)
    return y


def pair(y_true, y_pred, fn):
    t, p = as_classes(y_true, "y_true", fn), as_classes(y_pred, "y_pred", fn)
    if len(t) != len(p):
        raise ValueError(f"{fn}: y_true and y_pred have different lengths: {len(t)} vs {len(p)}")
    if len(t) == 0:
        raise ValueError(f"{fn}: empty y_true / y_pred")
    return t, p
