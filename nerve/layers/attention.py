"""Attention over a sequence (Keras 3 ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau)).

Inputs ``[query (B, Tq, d), value (B, Tv, d)]`` or ``[query, value, key]`` (key defaults to value):
    Attention, 'dot':      scores = query key^T          (x scale, a learnt scalar, with use_scale)
    Attention, 'concat':   scores = c sum_d tanh(query_i + key_j)   (c learnt; tanh(scale (q + k)) with use_scale)
    AdditiveAttention:     scores = sum_d scale_d tanh(query_i + key_j)   (scale learnt per feature)
    weights = softmax_j(scores - 1e9 [j masked or j > i under use_causal_mask]);  output = weights value
and the output rows of masked query steps are zeroed. ``mask=[query_mask, value_mask]``.
"""
import numpy as np

from .. import backend, ops
from .. import random as nrandom
from ..saving.registry import register
from .layer import Layer


class _BaseAttention(Layer):
    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{type(self).__name__} '{self.name}': argument 'dropout' expected a float in [0, 1), "
                             f"got {dropout!r}")
        self.dropout, self.seed = float(dropout), seed
        self._seed_gen = nrandom.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True

    def _split(self, inputs):
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(f"{who}: expected inputs [query, value] or [query, value, key], got "
                             f"{type(inputs).__name__}{'' if not isinstance(inputs, (list, tuple)) else len(inputs)}")
        return inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else inputs[1]

    def _check_shapes(self, shapes):
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(shapes, list) or len(shapes) not in (2, 3):
            raise ValueError(f"{who}: expected inputs [query, value] or [query, value, key], got one input of "
                             f"shape {tuple(shapes)}")
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) == 3 else v
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"{who}: expected rank-3 inputs (batch, steps, features), got shapes {shapes}")
        if k[1] is not None and v[1] is not None and k[1] != v[1]:
            raise ValueError(f"{who}: key and value must have the same number of steps, got {k[1]} and {v[1]}")
        return q, v, k

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        q, v, k = self._split(inputs)
        q_mask = mask[0] if mask is not None else None
        v_mask = mask[1] if mask is not None and len(mask) > 1 else None
        scores = self._scores(q, k)
        tq, tv = scores.shape[-2], scores.shape[-1]
        keep = None
        if v_mask is not None:
            keep = np.asarray(backend.to_numpy(getattr(v_mask, "data", v_mask))).astype(bool)[:, None, :]
        if use_causal_mask:
            causal = np.tri(tq, tv, dtype=bool)[None]  # step i sees steps j <= i
            keep = causal if keep is None else keep & causal
        if keep is not None:
            penalty = (~keep).astype(scores.dtype) * (65504.0 if scores.dtype == np.float16 else 1e9)
            scores = ops.subtract(scores, backend.like(scores.data, penalty))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = nrandom.dropout(weights, self.dropout, seed=self._seed_gen)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            qm = np.asarray(backend.to_numpy(getattr(q_mask, "data", q_mask)))[..., None].astype(out.dtype)
            out = ops.multiply(out, backend.like(out.data, qm))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def _symbolic_call(self, inputs, args, kwargs):
        self._scores_out = bool(kwargs.get("return_attention_scores"))  # two outputs in the graph
        try:
            return super()._symbolic_call(inputs, args, kwargs)
        finally:
            self._scores_out = False

    def compute_output_shape(self, input_shape):
        q, v, _ = self._check_shapes(input_shape)
        out = (q[0], q[1], v[2])
        return [out, (q[0], q[1], v[1])] if self.__dict__.get("_scores_out") else out

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"dropout": self.dropout, "seed": self.seed})
        return cfg


@register("layers")
class Attention(_BaseAttention):
    """Dot-product (Luong) attention; ``score_mode='concat'`` scores with tanh(query + key)."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention '{self.name}': argument 'score_mode' expected 'dot' or 'concat', got "
                             f"{score_mode!r}")
        self.use_scale, self.score_mode = bool(use_scale), score_mode

    def build(self, input_shape):
        q, v, k = self._check_shapes(input_shape)
        if self.score_mode == "dot" and q[2] != k[2]:
            raise ValueError(f"Attention '{self.name}': query and key must have the same features for dot scores, "
                             f"got {q[2]} and {k[2]}")
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale") if self.use_scale else None
        self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight") \
            if self.score_mode == "concat" else None
        self.built = True

    def _scores(self, q, k):
        if self.score_mode == "dot":
            s = ops.matmul(q, ops.transpose(k, (0, 2, 1)))
            return ops.multiply(s, self.scale) if self.scale is not None else s
        z = ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3))  # (B, Tq, Tv, d)
        if self.scale is not None:
            z = ops.multiply(z, self.scale)
        return ops.multiply(ops.sum(ops.tanh(z), axis=-1), self.concat_score_weight)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"use_scale": self.use_scale, "score_mode": self.score_mode})
        return cfg


@register("layers")
class AdditiveAttention(_BaseAttention):
    """Additive (Bahdanau) attention: scores = sum_d scale_d tanh(query_i + key_j)."""

    def __init__(self, use_scale=True, dropout=0.0, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        self.use_scale = bool(use_scale)

    def build(self, input_shape):
        q, v, k = self._check_shapes(input_shape)
        if q[2] != k[2]:
            raise ValueError(f"AdditiveAttention '{self.name}': query and key must have the same features, got "
                             f"{q[2]} and {k[2]}")
        self.scale = self.add_weight(shape=(q[2],), initializer="glorot_uniform", name="scale") \
            if self.use_scale else None
        self.built = True

    def _scores(self, q, k):
        t = ops.tanh(ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3)))  # (B, Tq, Tv, d)
        if self.scale is not None:
            t = ops.multiply(t, self.scale)
        return ops.sum(t, axis=-1)

    def get_config(self):
        cfg = super().get_config()
        cfg["use_scale"] = self.use_scale
        return cfg
