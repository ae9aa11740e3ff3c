"""Gradient clipping as Keras applies it (new arrays; the caller's gradients are never modified)."""
import math

import numpy as np

from .. import backend


def _sq_norm(g):
    return float((g.astype(np.float64) ** 2).sum()) if g.size else 0.0


def clip_by_norm(grads, clipnorm):
    """Per variable: g * clipnorm / max(||g||, clipnorm)."""
    out = []
    for g in grads:
        norm = math.sqrt(_sq_norm(g))
        out.append(g if norm <= clipnorm else g * (clipnorm / norm))
    return out


def clip_by_global_norm(grads, clipnorm):
    """All together: g * clipnorm / max(sqrt(Σ ||g||²), clipnorm); a non-finite norm gives NaN (as Keras)."""
    total = math.sqrt(sum(_sq_norm(g) for g in grads))
    if not math.isfinite(total):
        return [g * np.nan for g in grads]
    if total <= clipnorm:
        return list(grads)
    return [g * (clipnorm / total) for g in grads]


def clip_by_value(grads, clipvalue):
    xp = backend.get_array_module(*grads)
    return [xp.clip(g, -clipvalue, clipvalue) for g in grads]
