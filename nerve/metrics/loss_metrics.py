"""The loss functions that Keras 3 also exports as ``keras.metrics.*`` (huber, binary_focal_crossentropy,
categorical_focal_crossentropy): per-sample values on host float64 NumPy arrays, for MeanMetricWrapper or
``compile(metrics=[fn])``. Same formulas and defaults as the losses of the same name."""
import numpy as np

from ..saving.registry import register
from .base import EPSILON, ShapeMismatch, float_pair, to_numpy


@register("metrics")
def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2, e = y_pred - y_true."""
    y_true, y_pred = float_pair("huber", y_true, y_pred)
    e = np.abs(y_pred - y_true)
    return np.mean(np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta * delta), axis=-1)


@register("metrics")
def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Lin et al. 2017: mean over ``axis`` of (1 - p_t)^gamma bce, p_t = t p + (1 - t)(1 - p), bce on p clipped
    to [eps, 1 - eps]; with class balancing each term is weighted by t alpha + (1 - t)(1 - alpha)."""
    y_true, y_pred = float_pair("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = 0.5 * (1.0 + np.tanh(0.5 * y_pred)) if from_logits else y_pred  # sigmoid without overflow
    c = np.clip(p, EPSILON, 1.0 - EPSILON)
    bce = -(y_true * np.log(c) + (1.0 - y_true) * np.log1p(-c))
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    focal = np.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return np.mean(focal, axis=axis)


@register("metrics")
def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """sum over ``axis`` of alpha (1 - q)^gamma (-t log q), q = softmax(logits) or the probabilities normalised
    to sum 1, clipped to [eps, 1 - eps] (Keras)."""
    y_true, y_pred = to_numpy(y_true, np.float64), to_numpy(y_pred, np.float64)
    if y_true.shape != y_pred.shape:
        raise ShapeMismatch(f"categorical_focal_crossentropy: argument 'y_true' (one-hot labels) has shape "
                            f"{tuple(y_true.shape)} but 'y_pred' has shape {tuple(y_pred.shape)}; expected the same "
                            f"shape")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        z = np.exp(y_pred - np.max(y_pred, axis=axis, keepdims=True))
        y_pred = z / np.sum(z, axis=axis, keepdims=True)
    q = np.clip(y_pred / np.sum(y_pred, axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    return np.sum(alpha * np.power(1.0 - q, gamma) * -y_true * np.log(q), axis=axis)
