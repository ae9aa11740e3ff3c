"""Keras 3.15 losses for segmentation (Dice, Tversky), noisy labels (CategoricalGeneralizedCrossEntropy),
metric learning (Circle) and sequences (CTC), with the functions of the same names.

Imported by the package ``__init__`` once ``LossFunctionWrapper`` exists; the classes follow Keras' constructor
argument order, so their configs are Keras'.
"""
import numpy as np

from .. import backend, ops
from ..autograd.ops.ctc import ctc_loss
from ..saving.registry import register
from . import LossFunctionWrapper
from .functions import EPSILON, _as_pred, _as_true, _data, _prep

_NEG = -1e30  # stands for -inf in masked logsumexp entries: exp(_NEG - m) == 0, and no inf - inf = NaN


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis  # a JSON config gives lists


def _labels(name, y_true, n, arg="y_true"):
    """Integer labels of shape (n,) from (n,) or (n, 1) (floats truncated, as Keras' cast to int)."""
    lab = np.asarray(backend.to_numpy(_data(y_true)))
    if lab.ndim == 2 and lab.shape[1] == 1:
        lab = lab[:, 0]
    if lab.shape != (n,):
        raise ValueError(f"{name}: argument {arg!r} must hold one integer label per sample, shape ({n},) or "
                         f"({n}, 1); got shape {tuple(np.shape(_data(y_true)))}")
    return lab.astype(np.int64)


# ----------------------------------------------------------------------------- segmentation
def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(t p) / (sum t + sum p + eps), the sums over ``axis`` (None: all axes, one value)."""
    y_true, y_pred = _prep("dice", y_true, y_pred)
    axis = _axis(axis)
    inter = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    denom = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)), EPSILON)
    return ops.subtract(1.0, ops.divide(ops.multiply(inter, 2.0), denom))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Salehi et al. 2017: 1 - TP / (TP + alpha A + beta B + eps), TP = sum(t p), sums over ``axis``, with Keras
    3.15's terms A = sum(t (1 - p)) (missed positives) and B = sum((1 - t) p) (false alarms). alpha = beta = 0.5
    is the Dice loss."""
    y_true, y_pred = _prep("tversky", y_true, y_pred)
    axis = _axis(axis)
    tp = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    a = ops.sum(ops.multiply(y_true, ops.subtract(1.0, y_pred)), axis=axis)
    b = ops.sum(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=axis)
    denom = ops.add(ops.add(ops.add(tp, ops.multiply(a, float(alpha))), ops.multiply(b, float(beta))), EPSILON)
    return ops.subtract(1.0, ops.divide(tp, denom))


# ----------------------------------------------------------------------------- noisy labels
def _check_q(name, q):
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating)) or not 0 < q < 1:
        raise ValueError(f"{name}: argument 'q' must be a float in the interval (0, 1), got {q!r}")


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Zhang & Sabuncu 2018: (1 - p_y^q) / q, p_y = y_pred's probability of the integer label y (shape (N,) or
    (N, 1) for y_pred (N, C)); q -> 0 tends to cross-entropy, q = 1 is MAE."""
    name = "categorical_generalized_cross_entropy"
    _check_q(name, q)
    y_pred = _as_pred(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(f"{name}: argument 'y_pred' must have shape (batch_size, num_classes), got "
                         f"{tuple(y_pred.shape)}")
    n, c = y_pred.shape
    if tuple(np.shape(_data(y_true))) == (n, c) and c > 1:
        raise ValueError(f"{name}: argument 'y_true' has shape {(n, c)}, the same as 'y_pred': it looks one-hot "
                         f"encoded; pass integer class labels of shape ({n},)")
    lab = _labels(name, y_true, n)
    if lab.size and (lab.min() < 0 or lab.max() >= c):
        raise ValueError(f"{name}: argument 'y_true' expected class labels in [0, {c}), got labels in "
                         f"[{lab.min()}, {lab.max()}]")
    xp = backend.get_array_module(y_pred.data)
    one_hot = xp.asarray(np.eye(c, dtype=y_pred.dtype)[lab])
    p = ops.sum(ops.multiply(y_pred, one_hot), axis=-1)
    return ops.divide(ops.subtract(1.0, ops.power(p, float(q))), float(q))


# ----------------------------------------------------------------------------- metric learning
def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Sun et al. 2020, on unit-norm embeddings y_pred (N, D) with integer labels y_true (N,), against
    ``ref_embeddings`` / ``ref_labels`` (default: the batch itself). With cosine distances
    d = max(1 - y_pred ref^T, 0), a positive pair (same label; the diagonal removed) scores
    s_p = -gamma max(d + m, 0) (m - d) and a negative pair s_n = gamma max(1 + m - d, 0) (1 - m - d);
    loss_i = softplus(logsumexp_p s_p + logsumexp_n s_n). Rows without positives or negatives give 0 and
    are masked out of the mean, as in Keras (mask = loss > 0)."""
    y_pred = _as_pred(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(f"circle: argument 'y_pred' must be embeddings of shape (batch_size, dim), got "
                         f"{tuple(y_pred.shape)}")
    lab = _labels("circle", y_true, y_pred.shape[0])
    ref = y_pred if ref_embeddings is None else _as_true(ref_embeddings, y_pred)
    if ref.ndim != 2 or ref.shape[1] != y_pred.shape[1]:
        raise ValueError(f"circle: argument 'ref_embeddings' must have shape (num_refs, {y_pred.shape[1]}), got "
                         f"{tuple(ref.shape)}")
    ref_lab = lab if ref_labels is None else _labels("circle", ref_labels, ref.shape[0], "ref_labels")
    xp = backend.get_array_module(y_pred.data)
    pos = lab[:, None] == ref_lab[None, :]
    neg = ~pos
    if remove_diagonal:
        pos &= ~np.eye(pos.shape[0], pos.shape[1], dtype=bool)
    pos, neg = xp.asarray(pos), xp.asarray(neg)
    d = ops.maximum(ops.subtract(1.0, ops.matmul(y_pred, ops.transpose(ref))), 0.0)
    pos_w = ops.maximum(ops.multiply(ops.add(d, float(margin)), pos.astype(d.dtype)), 0.0)  # alpha_p
    neg_w = ops.maximum(ops.multiply(ops.subtract(1.0 + margin, d), neg.astype(d.dtype)), 0.0)  # alpha_n
    s_p = ops.multiply(ops.multiply(pos_w, ops.subtract(float(margin), d)), -float(gamma))
    s_n = ops.multiply(ops.multiply(neg_w, ops.subtract(1.0 - margin, d)), float(gamma))
    fill = xp.asarray(_NEG, dtype=d.dtype)
    p_loss = ops.logsumexp(ops.where(pos, s_p, fill), axis=1)
    n_loss = ops.logsumexp(ops.where(neg, s_n, fill), axis=1)
    loss = ops.softplus(ops.add(p_loss, n_loss))
    loss._keras_mask = loss.data > 0
    return loss


# ----------------------------------------------------------------------------- sequences
def ctc(y_true, y_pred):
    """Connectionist temporal classification loss (Keras ``ctc``): y_true (B, L) integer labels padded with 0,
    which is also the blank class; y_pred (B, T, C) logits (softmax applied here). The label sequence of a row is
    its non-zero entries in order; every row uses all T steps. One loss per sample."""
    y_pred = _as_pred(y_pred)
    lab = np.asarray(backend.to_numpy(_data(y_true)))
    if lab.ndim != 2:
        raise ValueError(f"ctc: argument 'y_true' must be integer labels of shape (batch_size, max_length), got "
                         f"shape {tuple(lab.shape)}")
    if y_pred.ndim != 3:
        raise ValueError(f"ctc: argument 'y_pred' must be logits of shape (batch_size, max_length, num_classes), "
                         f"got shape {tuple(y_pred.shape)}")
    if lab.shape[0] != y_pred.shape[0]:
        raise ValueError(f"ctc: arguments 'y_true' and 'y_pred' must have the same batch size, got "
                         f"{lab.shape[0]} and {y_pred.shape[0]}")
    lab = lab.astype(np.int64)
    c = y_pred.shape[2]
    if lab.size and (lab.min() < 0 or lab.max() >= c):
        raise ValueError(f"ctc: argument 'y_true' expected labels in [0, {c}) (0 = blank / padding), got labels in "
                         f"[{lab.min()}, {lab.max()}]")
    # the non-zero labels of each row moved to the front (in order), counted as its target_length
    nonzero = lab != 0
    packed = np.take_along_axis(lab, np.argsort(~nonzero, axis=1, kind="stable"), axis=1)
    b, t_len = y_pred.shape[0], y_pred.shape[1]
    return ctc_loss(packed, y_pred, nonzero.sum(1), np.full(b, t_len), mask_index=0)


# ----------------------------------------------------------------------------- Loss classes
@register("losses")
class Dice(LossFunctionWrapper):
    """``dice`` over ``axis`` (None: the whole batch, one value); e.g. axis=(1, 2, 3) for one loss per image."""

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=_axis(axis))
        self.axis = _axis(axis)


@register("losses")
class Tversky(LossFunctionWrapper):
    """``tversky`` over ``axis``; alpha = beta = 0.5 is the Dice loss."""

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta,
                         axis=_axis(axis))
        self.alpha, self.beta, self.axis = alpha, beta, _axis(axis)


@register("losses")
class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """``categorical_generalized_cross_entropy`` with noise parameter q in (0, 1)."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
                 dtype=None):
        _check_q("CategoricalGeneralizedCrossEntropy", q)
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
        self.q = q


@register("losses")
class Circle(LossFunctionWrapper):
    """``circle`` on the batch's own pairs (use unit-norm embeddings, e.g. after UnitNormalization)."""

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size", name="circle",
                 dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)
        self.gamma, self.margin, self.remove_diagonal = gamma, margin, remove_diagonal


@register("losses")
class CTC(LossFunctionWrapper):
    """``ctc``: y_true (B, L) labels padded with 0 (the blank), y_pred (B, T, C) logits."""

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


register("losses")(categorical_generalized_cross_entropy)  # serializable by name; not a get() string (as Keras)
