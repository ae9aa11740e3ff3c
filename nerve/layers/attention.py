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
from .node import KerasTensor


def _host_bool(m):
    """A mask (Tensor or array, on either device) as host booleans."""
    return np.asarray(backend.to_numpy(backend.unwrap(m))).astype(bool)


class _Attending(Layer):
    """What the attention layers share: dropout on the weights, masked scores, the query's mask passed on,
    and a second output (the weights) in a functional graph with ``return_attention_scores=True``."""

    def __init__(self, dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"{type(self).__name__} '{self.name}': argument 'dropout' expected a float in [0, 1), "
                             f"got {dropout!r}")
        self.dropout, self.seed = float(dropout), seed
        self._seed_gen = nrandom.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True

    @staticmethod
    def _masked(scores, keep):
        """scores - 1e9 where ``keep`` is False (65504, float16's largest, in float16), as Keras' masked softmax."""
        if keep is None:
            return scores
        penalty = (~keep).astype(scores.dtype) * (65504.0 if scores.dtype == np.float16 else 1e9)
        return ops.subtract(scores, backend.like(scores.data, penalty))

    def _weights(self, scores, keep, training):
        weights = ops.softmax(self._masked(scores, keep), axis=-1)
        if training and self.dropout > 0:
            weights = nrandom.dropout(weights, self.dropout, seed=self._seed_gen)
        return weights

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def _symbolic_call(self, inputs, args, kwargs):
        self._scores_out = bool(kwargs.get("return_attention_scores"))  # two outputs in the graph
        try:
            return super()._symbolic_call(inputs, args, kwargs)
        finally:
            self._scores_out = False


class _BaseAttention(_Attending):
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
            keep = _host_bool(v_mask)[:, None, :]
        if use_causal_mask:
            causal = np.tri(tq, tv, dtype=bool)[None]  # step i sees steps j <= i
            keep = causal if keep is None else keep & causal
        weights = self._weights(scores, keep, training)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            qm = _host_bool(q_mask)[..., None].astype(out.dtype)
            out = ops.multiply(out, backend.like(out.data, qm))
        return (out, weights) if return_attention_scores else out

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


class _MultiHead(_Attending):
    """What MultiHeadAttention and GroupQueryAttention share: the call ``layer(query, value, key=None)``,
    the input shape checks and the (batch, T, S) mask built from the inputs' masks, ``attention_mask`` and
    the causal mask."""

    # Keras calls mha(query, value, key=None, ...): the tensors travel as one list, so the functional graph
    # records all of them as inputs of this layer
    def __call__(self, query=None, value=None, key=None, **kwargs):
        if isinstance(query, (list, tuple)) and value is None:
            tensors = list(query)
        else:
            if query is None or value is None:
                raise ValueError(f"{type(self).__name__} '{self.name}': expected mha(query, value, key=None), got "
                                 f"query={type(query).__name__}, value={type(value).__name__}")
            tensors = [query, value] + ([key] if key is not None else [])
        for name in ("query_mask", "value_mask", "key_mask"):
            if kwargs.get(name) is not None:
                raise ValueError(f"{type(self).__name__} '{self.name}': argument '{name}' is not supported; the masks "
                                 f"come from the inputs (an Embedding with mask_zero=True) or attention_mask")
            kwargs.pop(name, None)
        return super().__call__(tensors, **kwargs)

    def _probs(self, scores, keep, training):
        """(attention scores, the weights applied to the values): softmax over the keys with masked positions
        zeroed after it (Keras' Softmax layer with a mask: an entirely masked row gives zeros, not a uniform
        row), then dropout on the weights only; the scores returned are those before dropout (as Keras)."""
        if keep is None:
            probs = ops.softmax(scores, axis=-1)
        else:
            probs = ops.softmax(self._masked(scores, keep), axis=-1)
            probs = ops.multiply(probs, backend.like(probs.data, keep.astype(probs.dtype)))
        if training and self.dropout > 0:
            return probs, nrandom.dropout(probs, self.dropout, seed=self._seed_gen)
        return probs, probs

    def _shapes(self, shapes):
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(shapes, list) or len(shapes) not in (2, 3) or any(len(s) != 3 for s in shapes):
            raise ValueError(f"{who}: expected query and value (and key) of rank 3 (batch, steps, features), got "
                             f"{shapes}")
        q, v = shapes[0], shapes[1]
        k = shapes[2] if len(shapes) == 3 else v
        if k[1] is not None and v[1] is not None and k[1] != v[1]:
            raise ValueError(f"{who}: key and value must have the same number of steps, got {k[1]} and {v[1]}")
        return q, v, k

    def _keep(self, inputs, mask, attention_mask, causal, shape):
        """(B, T, S) booleans: which keys each query step may attend to (None: all)."""
        b, _, t, s = shape
        keep = np.ones((b, t, s), bool)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        masks += [None] * (3 - len(masks))
        q_mask, v_mask = masks[0], masks[1]
        k_mask = masks[2] if len(inputs) == 3 else None
        if q_mask is not None:
            keep &= _host_bool(q_mask)[:, :, None]
        for m in (v_mask, k_mask):
            if m is not None:
                keep &= _host_bool(m)[:, None, :]
        if attention_mask is not None:
            keep &= np.broadcast_to(_host_bool(attention_mask), (b, t, s))
        if causal:
            keep &= np.tri(t, s, dtype=bool)[None]
        return None if keep.all() else keep

    def _symbolic_call(self, inputs, args, kwargs):
        if any(isinstance(v, KerasTensor) for v in kwargs.values()):
            raise ValueError(f"{type(self).__name__} '{self.name}': a symbolic 'attention_mask' is not supported in a "
                             f"functional model; use use_causal_mask=True or the inputs' masks")
        return super()._symbolic_call(inputs, args, kwargs)


@register("layers")
class MultiHeadAttention(_MultiHead):
    """Multi-head attention (Vaswani et al. 2017) over (batch, steps, features) inputs, Keras 3's weights:
        q_h = query W_q[:, h] + b_q[h]  (key_dim),   k_h, v_h likewise from key and value,
        A_h = softmax(q_h k_h^T / sqrt(key_dim) - 1e9 [masked]),   out = sum_h (A_h v_h) W_o[h] + b_o.
    Weights in Keras order: query kernel (d_q, H, key_dim) and bias (H, key_dim), key, value
    (value_dim), output kernel (H, value_dim, out) and bias (out,). Call ``mha(query, value, key=None)``;
    masks come from the inputs' Keras masks, ``attention_mask`` (batch, T, S) and ``use_causal_mask``."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, activity_regularizer=activity_regularizer, **kwargs)
        who = f"MultiHeadAttention '{self.name}'"
        for arg, v in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{who}: argument '{arg}' expected a positive int, got {v!r}")
        if attention_axes not in (None, 1, (1,), [1], -2, (-2,), [-2]):
            raise ValueError(f"{who}: argument 'attention_axes' expected None (the steps axis of rank-3 inputs), "
                             f"got {attention_axes!r}; attention over several axes is not supported")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim is not None else self.key_dim
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"{who}: argument 'output_shape' expected an int or a 1-tuple, got {output_shape!r}")
            output_shape = output_shape[0]
        self._output_dim = None if output_shape is None else int(output_shape)
        self.attention_axes = attention_axes
        self._init = dict(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                          kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                          kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        q, v, k = self._shapes(input_shape)
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out = self._output_dim or q[-1]
        kw = dict(initializer=self._init["kernel_initializer"], regularizer=self._init["kernel_regularizer"],
                  constraint=self._init["kernel_constraint"])
        bw = dict(initializer=self._init["bias_initializer"], regularizer=self._init["bias_regularizer"],
                  constraint=self._init["bias_constraint"])
        for name, dim, width in (("query", q[-1], kd), ("key", k[-1], kd), ("value", v[-1], vd)):
            setattr(self, f"{name}_kernel", self.add_weight(shape=(dim, h, width), name=f"{name}/kernel", **kw))
            setattr(self, f"{name}_bias", self.add_weight(shape=(h, width), name=f"{name}/bias", **bw)
                    if self.use_bias else None)
        self.output_kernel = self.add_weight(shape=(h, vd, out), name="attention_output/kernel", **kw)
        self.output_bias = self.add_weight(shape=(out,), name="attention_output/bias", **bw) if self.use_bias else None
        self.built = True

    def _project(self, x, name):
        y = ops.einsum("btd,dhk->bthk", x, getattr(self, f"{name}_kernel"))
        b = getattr(self, f"{name}_bias")
        return ops.add(y, b) if b is not None else y

    def call(self, inputs, mask=None, attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        q = ops.multiply(self._project(query, "query"), float(1.0 / np.sqrt(self.key_dim)))  # a Python float keeps float32
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = ops.einsum("bshk,bthk->bhts", k, q)  # (B, H, T, S)
        keep = self._keep(inputs, mask, attention_mask, use_causal_mask, scores.shape)
        probs, weights = self._probs(scores, None if keep is None else keep[:, None], training)  # (B, 1, T, S)
        ctx = ops.einsum("bhts,bshv->bthv", weights, v)
        out = ops.einsum("bthv,hvo->bto", ctx, self.output_kernel)
        if self.output_bias is not None:
            out = ops.add(out, self.output_bias)
        return (out, probs) if return_attention_scores else out

    def compute_output_shape(self, input_shape):
        q, v, k = self._shapes(input_shape)
        out = (q[0], q[1], self._output_dim or q[-1])
        if self.__dict__.get("_scores_out"):
            return [out, (q[0], self.num_heads, q[1], v[1])]
        return out

    def get_config(self):
        from .. import constraints, initializers, regularizers
        cfg = super().get_config()
        cfg.update({"num_heads": self.num_heads, "key_dim": self.key_dim, "value_dim": self.value_dim,
                    "dropout": self.dropout, "use_bias": self.use_bias, "output_shape": self._output_dim,
                    "attention_axes": self.attention_axes, "seed": self.seed})
        for k, v in self._init.items():
            mod = initializers if k.endswith("initializer") else regularizers if k.endswith("regularizer") \
                else constraints
            cfg[k] = mod.serialize(mod.get(v)) if v is not None else None
        return cfg
