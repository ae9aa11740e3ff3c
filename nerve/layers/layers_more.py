"""Keras 3 layers: GroupQueryAttention, ReversibleEmbedding, Hashing and HashedCrossing.

GroupQueryAttention (Ainslie et al. 2023, arXiv:2305.13245): H query heads share G = num_key_value_heads
key/value heads (head g serves query heads g*H/G .. (g+1)*H/G - 1, Keras' ``ops.repeat(k, H/G, axis=2)``):
    q = query W_q + b_q  (B, T, H, d),   k, v = key W_k + b_k, value W_v + b_v  (B, S, G, d)
    A = softmax(q k^T / sqrt(d) - 1e9 [masked]) x keep    (B, H, T, S; masked entries are 0 as Keras 3.15's Softmax)
    out = (dropout(A) v) W_o + b_o   (x sigmoid(query W_g + b_g) before W_o with use_gate)
ReversibleEmbedding (Press & Wolf 2016): an Embedding that also maps back, logits = x E^T (tied) or x R.
Hashing / HashedCrossing: TensorFlow's string hashes, implemented here bit for bit (see ``fingerprint64``).
"""
import struct

import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving.registry import register, serialize
from .attention import _MultiHead
from .embedding import Embedding
from .layer import Layer

__all__ = ["GroupQueryAttention", "GroupedQueryAttention", "ReversibleEmbedding", "Hashing", "HashedCrossing",
           "fingerprint64", "fingerprint64_many", "siphash24", "siphash24_many"]


def _positive_int(who, arg, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{who}: argument '{arg}' expected a positive int, got {v!r}")
    return int(v)


# ================================================================================ GroupQueryAttention
@register("layers")
class GroupedQueryAttention(_MultiHead):
    """Grouped-query attention (Keras ``keras.layers.GroupQueryAttention``); ``num_key_value_heads=1`` is
    multi-query attention, ``= num_query_heads`` multi-head attention. Weights in Keras order: query kernel
    (d_q, H, head_dim) and bias (H, head_dim), key and value (d, G, head_dim) / (G, head_dim) (the gate
    (d_q, H, head_dim) / (H, head_dim) between key and value with ``use_gate``), output kernel
    (H, head_dim, d_q) and bias (d_q,). ``flash_attention`` computes the same values (no fused kernel here)
    and, as in Keras, forbids dropout and returning the scores."""

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        super().__init__(dropout=dropout, seed=seed, activity_regularizer=activity_regularizer, **kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.head_dim = _positive_int(who, "head_dim", head_dim)
        self.num_query_heads = _positive_int(who, "num_query_heads", num_query_heads)
        self.num_key_value_heads = _positive_int(who, "num_key_value_heads", num_key_value_heads)
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(f"{who}: argument 'num_query_heads' ({num_query_heads}) must be divisible by "
                             f"'num_key_value_heads' ({num_key_value_heads})")
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        if sliding_window is not None:
            sliding_window = _positive_int(who, "sliding_window", sliding_window)
        self.sliding_window, self.use_bias, self.use_gate = sliding_window, bool(use_bias), bool(use_gate)
        self._flash_attention = bool(flash_attention)
        if self._flash_attention and self.dropout > 0:
            raise ValueError(f"{who}: argument 'dropout' expected 0.0 with flash_attention=True, got {dropout!r}")
        self._init_kernel_bias(kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                               kernel_constraint, bias_constraint)

    def build(self, input_shape):
        q, v, k = self._shapes(input_shape)
        if q[-1] != v[-1]:
            raise ValueError(f"{type(self).__name__} '{self.name}': query and value must have the same last "
                             f"dimension, got {q[-1]} and {v[-1]}")
        h, g, d = self.num_query_heads, self.num_key_value_heads, self.head_dim
        kw = dict(initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                  constraint=self.kernel_constraint)
        bw = dict(initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                  constraint=self.bias_constraint)
        parts = [("query", q[-1], h), ("key", k[-1], g)] + ([("gate", q[-1], h)] if self.use_gate else []) + \
            [("value", v[-1], g)]
        for name, dim, heads in parts:
            setattr(self, f"{name}_kernel", self.add_weight(shape=(dim, heads, d), name=f"{name}/kernel", **kw))
            setattr(self, f"{name}_bias", self.add_weight(shape=(heads, d), name=f"{name}/bias", **bw)
                    if self.use_bias else None)
        self.output_kernel = self.add_weight(shape=(h, d, q[-1]), name="attention_output/kernel", **kw)
        self.output_bias = self.add_weight(shape=(q[-1],), name="attention_output/bias", **bw) \
            if self.use_bias else None
        self.built = True

    def _project(self, x, name):
        y = ops.einsum("btm,mhd->bthd", x, getattr(self, f"{name}_kernel"))
        b = getattr(self, f"{name}_bias")
        return ops.add(y, b) if b is not None else y

    def call(self, inputs, mask=None, attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"{type(self).__name__} '{self.name}': return_attention_scores=True is not "
                             f"supported with flash_attention=True")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        q = ops.multiply(self._project(query, "query"), float(1.0 / np.sqrt(self.head_dim)))
        k = ops.repeat(self._project(key, "key"), self.num_repeats, axis=2)  # (B, S, H, d): shared kv heads
        v = ops.repeat(self._project(value, "value"), self.num_repeats, axis=2)
        scores = ops.einsum("bthd,bshd->bhts", q, k)
        keep = self._keep(inputs, mask, attention_mask, use_causal_mask, scores.shape)
        if self.sliding_window is not None:  # |i - j| < window (Keras: a symmetric band, with causal: Mistral)
            t, s = scores.shape[-2:]
            band = np.abs(np.arange(t)[:, None] - np.arange(s)[None]) < self.sliding_window
            keep = band[None] if keep is None else keep & band
        probs, weights = self._probs(scores, None if keep is None else keep[:, None], training)  # (B, 1, T, S)
        ctx = ops.einsum("bhts,bshd->bthd", weights, v)
        if self.use_gate:
            ctx = ops.multiply(ctx, ops.sigmoid(self._project(query, "gate")))
        out = ops.einsum("bthd,hdm->btm", ctx, self.output_kernel)
        if self.output_bias is not None:
            out = ops.add(out, self.output_bias)
        return (out, probs) if return_attention_scores else out

    def compute_output_shape(self, input_shape):
        q, v, _ = self._shapes(input_shape)
        out = tuple(q)
        if self.__dict__.get("_scores_out"):
            return [out, (q[0], self.num_query_heads, q[1], v[1])]
        return out

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                    "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                    "use_gate": self.use_gate, "sliding_window": self.sliding_window, "dropout": self.dropout,
                    **self._kernel_bias_config(),
                    "activity_regularizer": serialize(self.activity_regularizer), "seed": self.seed})
        return cfg


# keras.layers.GroupQueryAttention is the class GroupedQueryAttention: both names work, also in saved configs
GroupQueryAttention = register("layers", "GroupQueryAttention")(GroupedQueryAttention)


# ================================================================================ ReversibleEmbedding
@register("layers")
class ReversibleEmbedding(Embedding):
    """An Embedding that can also project back to the vocabulary: ``layer(x, reverse=True)`` gives
    logits = x E^T (``tie_weights=True``) or x R with its own ``reverse_embeddings`` R (output_dim, input_dim),
    computed in ``reverse_dtype`` when given, then ``cap * tanh(logits / cap)`` with ``logit_soft_cap``
    (Gemma 2). The forward call carries the ``mask_zero`` mask; the reverse call carries none."""

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        if logit_soft_cap is not None and not float(logit_soft_cap) > 0:
            raise ValueError(f"ReversibleEmbedding '{self.name}': argument 'logit_soft_cap' expected a positive "
                             f"number or None, got {logit_soft_cap!r}")
        self.tie_weights, self.reverse_dtype, self.logit_soft_cap = bool(tie_weights), reverse_dtype, logit_soft_cap
        self.supports_masking = True
        self._reverse = False

    def build(self, input_shape=None):
        initial, self._initial_weights = self._initial_weights, None
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings")
        if initial is not None:
            self.set_weights(initial if isinstance(initial, (list, tuple)) else [initial])

    def call(self, inputs, reverse=False):
        self._reverse = bool(reverse)  # read by compute_mask, which Layer.__call__ runs next
        if not reverse:
            return super().call(inputs)
        x = inputs if isinstance(inputs, Tensor) else Tensor(backend.as_array(inputs))
        if x.shape[-1] != self.output_dim:
            raise ValueError(f"ReversibleEmbedding '{self.name}': reverse=True expected inputs with last dimension "
                             f"output_dim={self.output_dim}, got shape {tuple(x.shape)}")
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            x, kernel = ops.cast(x, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(x, kernel)
        if self.logit_soft_cap is not None:
            cap = float(self.logit_soft_cap)
            logits = ops.multiply(ops.tanh(ops.multiply(logits, 1.0 / cap)), cap)
        return logits

    def compute_mask(self, inputs, mask=None):
        reverse, self._reverse = self._reverse, False  # the flag lives for one call
        return None if reverse else super().compute_mask(inputs, mask)

    def _symbolic_call(self, inputs, args, kwargs):
        self._reverse = bool(kwargs.get("reverse", args[0] if args else False))
        try:
            return super()._symbolic_call(inputs, args, kwargs)
        finally:
            self._reverse = False

    def compute_output_shape(self, input_shape, reverse=None):
        if reverse if reverse is not None else self._reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def _output_dtype(self, inputs):
        return self.reverse_dtype if self._reverse and self.reverse_dtype else self.dtype

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                    "logit_soft_cap": self.logit_soft_cap})
        return cfg


# ================================================================================ hashes
# FarmHash Fingerprint64 = farmhashna::Hash64 (github.com/google/farmhash, src/farmhash.cc), which TensorFlow's
# tf.strings.to_hash_bucket_fast and tf.sparse.cross_hashed use. Arithmetic is on uint64 (Python ints & M);
# Rotate is a right rotation; Fetch64/Fetch32 read little-endian words.
_M = (1 << 64) - 1
_K0, _K1, _K2 = 0xc3a5c85c97cb3127, 0xb492b66fbe98f273, 0x9ae16a3b2f90404f


def _rot(v, s):
    return ((v >> s) | (v << (64 - s))) & _M


def _f64(s, i):
    return struct.unpack_from("<Q", s, i)[0]


def _f32(s, i):
    return struct.unpack_from("<I", s, i)[0]


def _len16(u, v, mul):  # HashLen16: a 128-to-64-bit Murmur-style mix
    a = ((u ^ v) * mul) & _M
    a ^= a >> 47
    b = ((v ^ a) * mul) & _M
    b ^= b >> 47
    return (b * mul) & _M


def _weak32(s, i, a, b):  # WeakHashLen32WithSeeds over the 32 bytes at s[i:]
    w, x, y, z = (_f64(s, i + 8 * j) for j in range(4))
    a = (a + w) & _M
    b = _rot((b + a + z) & _M, 21)
    c = a
    a = (a + x + y) & _M
    b = (b + _rot(a, 44)) & _M
    return (a + z) & _M, (b + c) & _M


def _mix3(a, b, c, d):  # the shared tail of HashLen17to32 / HashLen33to64
    return (_rot((a + b) & _M, 43) + _rot(c, 30) + d) & _M, (a + _rot((b + _K2) & _M, 18) + c) & _M


def fingerprint64(s):
    """FarmHash Fingerprint64 of bytes ``s`` (uint64 as a Python int)."""
    n = len(s)
    if n <= 16:  # HashLen0to16
        if n >= 8:
            mul = _K2 + n * 2
            a, b = (_f64(s, 0) + _K2) & _M, _f64(s, n - 8)
            return _len16((_rot(b, 37) * mul + a) & _M, ((_rot(a, 25) + b) * mul) & _M, mul)
        if n >= 4:
            return _len16(n + (_f32(s, 0) << 3), _f32(s, n - 4), _K2 + n * 2)
        if n:
            y, z = s[0] + (s[n >> 1] << 8), n + (s[n - 1] << 2)
            r = ((y * _K2) ^ (z * _K0)) & _M
            return ((r ^ (r >> 47)) * _K2) & _M
        return _K2
    mul = _K2 + n * 2
    if n <= 32:  # HashLen17to32
        a, b = (_f64(s, 0) * _K1) & _M, _f64(s, 8)
        c, d = (_f64(s, n - 8) * mul) & _M, (_f64(s, n - 16) * _K2) & _M
        return _len16(*_mix3(a, b, c, d), mul)
    if n <= 64:  # HashLen33to64
        a, b = (_f64(s, 0) * _K2) & _M, _f64(s, 8)
        c, d = (_f64(s, n - 8) * mul) & _M, (_f64(s, n - 16) * _K2) & _M
        y, u = _mix3(a, b, c, d)
        z = _len16(y, u, mul)
        e, f = (_f64(s, 16) * mul) & _M, _f64(s, 24)
        g, h = ((y + _f64(s, n - 32)) * mul) & _M, ((z + _f64(s, n - 24)) * mul) & _M
        return _len16((_rot((e + f) & _M, 43) + _rot(g, 30) + h) & _M, (e + _rot((f + a) & _M, 18) + g) & _M, mul)
    # over 64 bytes: 64-byte blocks into a 56-byte state (v, w, x, y, z), then the last 64 bytes
    y = (81 * _K1 + 113) & _M
    z = (y * _K2 + 113) & _M
    z = ((z ^ (z >> 47)) * _K2) & _M
    x = (81 * _K2 + _f64(s, 0)) & _M
    v0 = v1 = w0 = w1 = 0
    end, i = ((n - 1) // 64) * 64, 0
    while True:
        x = (_rot((x + y + v0 + _f64(s, i + 8)) & _M, 37) * _K1) & _M
        y = (_rot((y + v1 + _f64(s, i + 48)) & _M, 42) * _K1) & _M
        x ^= w1
        y = (y + v0 + _f64(s, i + 40)) & _M
        z = (_rot((z + w0) & _M, 33) * _K1) & _M
        v0, v1 = _weak32(s, i, (v1 * _K1) & _M, (x + w0) & _M)
        w0, w1 = _weak32(s, i + 32, (z + w1) & _M, (y + _f64(s, i + 16)) & _M)
        z, x, i = x, z, i + 64
        if i == end:
            break
    mul = _K1 + ((z & 0xff) << 1)
    i = n - 64
    w0 = (w0 + ((n - 1) & 63)) & _M
    v0 = (v0 + w0) & _M
    w0 = (w0 + v0) & _M
    x = (_rot((x + y + v0 + _f64(s, i + 8)) & _M, 37) * mul) & _M
    y = (_rot((y + v1 + _f64(s, i + 48)) & _M, 42) * mul) & _M
    x ^= (w1 * 9) & _M
    y = (y + v0 * 9 + _f64(s, i + 40)) & _M
    z = (_rot((z + w0) & _M, 33) * mul) & _M
    v0, v1 = _weak32(s, i, (v1 * mul) & _M, (x + w0) & _M)
    w0, w1 = _weak32(s, i + 32, (z + w1) & _M, (y + _f64(s, i + 16)) & _M)
    z, x = x, z
    return _len16((_len16(v0, w0, mul) + (y ^ (y >> 47)) * _K0 + z) & _M, (_len16(v1, w1, mul) + x) & _M, mul)


def _words_at(buf, start, nbytes):
    """Little-endian integers of ``nbytes`` bytes read at per-row offsets ``start`` of a uint8 matrix."""
    cols = start[:, None] + np.arange(nbytes)
    b = buf[np.arange(len(buf))[:, None], np.maximum(cols, 0)].astype(np.uint64)
    return (b << (np.arange(nbytes, dtype=np.uint64) * np.uint64(8))).sum(axis=1, dtype=np.uint64)


def _len16_u64(u, v, mul):
    a = (u ^ v) * mul
    a ^= a >> np.uint64(47)
    b = (v ^ a) * mul
    b ^= b >> np.uint64(47)
    return b * mul


def _byte_rows(strings, lens, width):
    """The bytes of each string left-aligned in a zero uint8 matrix of ``width`` columns (one row per string)."""
    buf = np.zeros((len(strings), width), np.uint8)
    data = np.frombuffer(b"".join(strings), np.uint8)
    buf[np.repeat(np.arange(len(strings)), lens), np.arange(data.size) - np.repeat(np.cumsum(lens) - lens, lens)] = data
    return buf


def fingerprint64_many(strings):
    """``fingerprint64`` of every bytes of ``strings`` (a uint64 array): the strings of at most 16 bytes (words,
    categories) through FarmHash's HashLen0to16 in array arithmetic, longer ones one by one."""
    n = len(strings)
    out = np.empty(n, np.uint64)
    lens = np.fromiter((len(t) for t in strings), np.int64, n)
    short = np.flatnonzero(lens <= 16)
    for i in np.flatnonzero(lens > 16):
        out[i] = fingerprint64(strings[i])
    if not short.size:
        return out
    ln = lens[short]
    buf = _byte_rows([strings[i] for i in short], ln, 16)
    K0, K2 = np.uint64(_K0), np.uint64(_K2)
    mul = K2 + (ln * 2).astype(np.uint64)
    res = np.full(short.size, K2, np.uint64)  # n == 0
    with np.errstate(over="ignore"):
        m = ln >= 8  # a = f64(0) + K2, b = f64(n - 8): HashLen16(rot(b, 37) mul + a, (rot(a, 25) + b) mul)
        if m.any():
            a = _words_at(buf[m], np.zeros(int(m.sum()), np.int64), 8) + K2
            b = _words_at(buf[m], ln[m] - 8, 8)
            rot = (lambda v, r: (v >> np.uint64(r)) | (v << np.uint64(64 - r)))
            res[m] = _len16_u64(rot(b, 37) * mul[m] + a, (rot(a, 25) + b) * mul[m], mul[m])
        m = (ln >= 4) & (ln < 8)  # HashLen16(n + (f32(0) << 3), f32(n - 4), mul)
        if m.any():
            a = _words_at(buf[m], np.zeros(int(m.sum()), np.int64), 4)
            b = _words_at(buf[m], ln[m] - 4, 4)
            res[m] = _len16_u64(ln[m].astype(np.uint64) + (a << np.uint64(3)), b, mul[m])
        m = (ln >= 1) & (ln < 4)  # y = s0 + (s[n/2] << 8), z = n + (s[n-1] << 2), r = y K2 ^ z K0
        if m.any():
            rows, lm = buf[m], ln[m]
            idx = np.arange(len(rows))
            y = rows[:, 0].astype(np.uint64) + (rows[idx, lm >> 1].astype(np.uint64) << np.uint64(8))
            z = lm.astype(np.uint64) + (rows[idx, lm - 1].astype(np.uint64) << np.uint64(2))
            r = (y * K2) ^ (z * K0)
            res[m] = (r ^ (r >> np.uint64(47))) * K2
    out[short] = res
    return out


def siphash24(k0, k1, s):
    """SipHash-2-4 (Aumasson & Bernstein 2012) of bytes ``s`` under the 128-bit key (k0, k1): TensorFlow's
    tf.strings.to_hash_bucket_strong (highwayhash::SipHash), the salted Keras Hashing."""
    v = [k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d, k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573]

    def sipround():
        v[0] = (v[0] + v[1]) & _M
        v[1] = _rot(v[1], 51) ^ v[0]  # rotl 13
        v[0] = _rot(v[0], 32)
        v[2] = (v[2] + v[3]) & _M
        v[3] = _rot(v[3], 48) ^ v[2]  # rotl 16
        v[0] = (v[0] + v[3]) & _M
        v[3] = _rot(v[3], 43) ^ v[0]  # rotl 21
        v[2] = (v[2] + v[1]) & _M
        v[1] = _rot(v[1], 47) ^ v[2]  # rotl 17
        v[2] = _rot(v[2], 32)

    n = len(s)
    data = s + bytes(7 - n % 8) + bytes([n & 0xff])  # the last word: the tail, zeros, the length byte
    for i in range(0, len(data), 8):
        m = _f64(data, i)
        v[3] ^= m
        sipround()
        sipround()
        v[0] ^= m
    v[2] ^= 0xff
    for _ in range(4):
        sipround()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _rotl_u64(v, r):
    return (v << np.uint64(r)) | (v >> np.uint64(64 - r))


def siphash24_many(k0, k1, strings):
    """``siphash24(k0, k1, s)`` for every bytes ``s`` of ``strings`` at once (a uint64 array): the strings are laid
    out as rows of little-endian 64-bit words (tail, zeros, length byte as in ``siphash24``) and each word column
    is compressed for the rows that have it; NumPy's uint64 arithmetic wraps mod 2^64 as the hash's does."""
    n = len(strings)
    lens = np.fromiter((len(t) for t in strings), np.int64, n)
    blocks = lens // 8 + 1
    width = int(blocks.max()) if n else 1
    buf = _byte_rows(strings, lens, width * 8)
    buf[np.arange(n), blocks * 8 - 1] = (lens & 0xff).astype(np.uint8)
    words = buf.view("<u8").astype(np.uint64)
    v0 = np.full(n, k0 ^ 0x736f6d6570736575, np.uint64)
    v1 = np.full(n, k1 ^ 0x646f72616e646f6d, np.uint64)
    v2 = np.full(n, k0 ^ 0x6c7967656e657261, np.uint64)
    v3 = np.full(n, k1 ^ 0x7465646279746573, np.uint64)

    def rounds(v0, v1, v2, v3, k):
        for _ in range(k):  # SipRound: the rotations of siphash24 (rotl 13, 32, 16, 21, 17, 32)
            v0 = v0 + v1
            v1 = _rotl_u64(v1, 13) ^ v0
            v0 = _rotl_u64(v0, 32)
            v2 = v2 + v3
            v3 = _rotl_u64(v3, 16) ^ v2
            v0 = v0 + v3
            v3 = _rotl_u64(v3, 21) ^ v0
            v2 = v2 + v1
            v1 = _rotl_u64(v1, 17) ^ v2
            v2 = _rotl_u64(v2, 32)
        return v0, v1, v2, v3
    for j in range(width):
        m = words[:, j]
        live = j < blocks
        w0, w1, w2, w3 = rounds(v0, v1, v2, v3 ^ m, 2)
        w0 = w0 ^ m
        v0, v1, v2, v3 = (np.where(live, a, b) for a, b in ((w0, v0), (w1, v1), (w2, v2), (w3, v3)))
    v0, v1, v2, v3 = rounds(v0, v1, v2 ^ np.uint64(0xff), v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def _fingerprint_cat64(fp1, fp2):
    """TensorFlow's FingerprintCat64 (tensorflow/core/platform/fingerprint.h): combine two fingerprints."""
    mul = 0xc6a4a7935bd1e995
    r = fp1 ^ mul
    t = (fp2 * mul) & _M
    r ^= ((t ^ (t >> 47)) * mul) & _M
    r = (r * mul) & _M
    r = ((r ^ (r >> 47)) * mul) & _M
    return r ^ (r >> 47)


def _host(x):
    x = x.data if isinstance(x, Tensor) else x
    return np.asarray(backend.to_numpy(x) if not isinstance(x, (list, tuple, str, bytes)) else x)


def _as_bytes(v):
    """What TensorFlow hashes: strings as UTF-8, integers as their decimal string (tf.as_string)."""
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    return str(int(v)).encode()


def _encode_bins(idx, depth, mode, dtype):
    """Bin indices -> Keras' encode_categorical_inputs: 'int' as is; 'one_hot' per element (a last axis of 1
    dropped); 'multi_hot' / 'count' over the last axis (one sample per row, a rank-1 input is one sample)."""
    if mode == "int":
        return idx.astype(dtype)
    if idx.ndim == 0:
        idx = idx[None]
    if mode == "one_hot":
        if idx.ndim > 1 and idx.shape[-1] == 1:
            idx = idx[..., 0]
        return np.eye(depth, dtype=dtype)[idx]
    rows = idx.reshape(-1, idx.shape[-1])
    out = np.zeros((rows.shape[0], depth), dtype)
    for r, row in zip(out, rows):
        np.add.at(r, row, 1)
    if mode == "multi_hot":
        out = np.minimum(out, 1)
    return out.reshape(idx.shape[:-1] + (depth,))


class _HashLayer(Layer):
    """Eager preprocessing (strings are host data, no gradient): calling one gives its output at once."""
    _MODES = ("int", "one_hot", "multi_hot", "count")

    def __init__(self, num_bins, output_mode, sparse, **kwargs):
        if kwargs.get("dtype") is None:  # Keras: int64 indices, float one-hot / multi-hot / count rows
            kwargs["dtype"] = "int64" if output_mode == "int" else backend.floatx()
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
            raise ValueError(f"{who}: argument 'num_bins' expected a positive int, got {num_bins!r}")
        if output_mode not in self._MODES:
            raise ValueError(f"{who}: argument 'output_mode' expected one of {self._MODES}, got {output_mode!r}")
        if output_mode == "int" and np.dtype(self.dtype).kind not in "iu":
            raise ValueError(f"{who}: argument 'dtype' expected 'int32' or 'int64' with output_mode='int', got "
                             f"{self.dtype!r}")
        if sparse:
            raise ValueError(f"{who}: argument 'sparse' expected False, got {sparse!r} (nerve has no sparse tensors)")
        self.num_bins, self.output_mode, self.sparse = int(num_bins), output_mode, False
        self.built = True

    def __call__(self, inputs, *args, **kwargs):
        kwargs.pop("training", None)
        return self.call(inputs, *args, **kwargs)

    def _out(self, idx):
        return Tensor(_encode_bins(np.asarray(idx, np.int64), self.num_bins, self.output_mode, self.dtype))


@register("layers")
class Hashing(_HashLayer):
    """Hash strings or integers into ``num_bins`` bins (Keras ``Hashing``): bin = Fingerprint64(value) mod n,
    or SipHash-2-4 under ``salt`` (an int k means (k, k)) mod n; integers are hashed as their decimal string and
    floats are first truncated to int64 (tf.as_string). With ``mask_value`` that value goes to bin 0 and the
    others to 1 + hash mod (num_bins - 1)."""

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        super().__init__(num_bins, output_mode, sparse, **kwargs)
        if salt is not None:
            if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
                salt = [int(salt), int(salt)]
            elif isinstance(salt, (list, tuple)) and len(salt) == 2 and \
                    all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in salt):
                salt = [int(s) for s in salt]
            else:
                raise ValueError(f"Hashing '{self.name}': argument 'salt' expected an int or a pair of ints, got "
                                 f"{salt!r}")
        self.mask_value, self.salt, self.strong_hash = mask_value, salt, salt is not None

    def call(self, inputs):
        x = _host(inputs)
        if x.dtype.kind == "f":
            x = x.astype(np.int64)
        if x.dtype.kind not in "iuUSO":
            raise ValueError(f"Hashing '{self.name}': expected string or integer inputs, got dtype {x.dtype}")
        bins = self.num_bins
        masked = self.mask_value is not None and bins > 1
        if masked:
            bins -= 1
        items = [_as_bytes(v) for v in x.reshape(-1).tolist()]
        if self.salt:  # SipHash-2-4 over all the strings at once
            hashes = siphash24_many(self.salt[0] & _M, self.salt[1] & _M, items)
            idx = (hashes % np.uint64(bins)).astype(np.int64).reshape(x.shape)
        else:
            idx = (fingerprint64_many(items) % np.uint64(bins)).astype(np.int64).reshape(x.shape)
        if masked:
            mv = self.mask_value
            mv = mv.decode() if isinstance(mv, bytes) else mv
            vals = np.array([v.decode() if isinstance(v, bytes) else v for v in x.reshape(-1).tolist()],
                            dtype=object).reshape(x.shape)
            idx = np.where(vals == mv, 0, idx + 1)
        return self._out(idx)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        if self.output_mode == "one_hot" and not (len(input_shape) > 1 and input_shape[-1] == 1):
            return tuple(input_shape) + (self.num_bins,)
        return tuple(input_shape[:-1]) + (self.num_bins,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                    "output_mode": self.output_mode, "sparse": self.sparse})
        return cfg


@register("layers")
class HashedCrossing(_HashLayer):
    """Cross categorical features by hashing their combination (Keras ``HashedCrossing``, i.e.
    tf.sparse.cross_hashed): h = 0xDECAFCAFFE; for each feature h = FingerprintCat64(h, f) with f =
    Fingerprint64(string) or the int64 value itself (as uint64); bin = h mod num_bins. Inputs: a list of at
    least two arrays of equal shape (), (batch,) or (batch, 1)."""

    _HASH_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash_key

    def __init__(self, num_bins, output_mode="int", sparse=False, **kwargs):
        super().__init__(num_bins, output_mode, sparse, **kwargs)

    def call(self, inputs):
        who = f"HashedCrossing '{self.name}'"
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{who}: expected a list or tuple of at least two inputs, got "
                             f"{type(inputs).__name__}{'' if not isinstance(inputs, (list, tuple)) else len(inputs)}")
        xs = [_host(x) for x in inputs]
        shape = xs[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1) or any(x.shape != shape for x in xs):
            raise ValueError(f"{who}: expected inputs of equal shape (), (batch,) or (batch, 1), got shapes "
                             f"{[x.shape for x in xs]}")
        for x in xs:
            if x.dtype.kind not in "iuUSO":
                raise ValueError(f"{who}: expected integer or string inputs, got dtype {x.dtype}")
        cols = [[fingerprint64(_as_bytes(v)) if isinstance(v, (str, bytes)) else int(v) & _M
                 for v in x.reshape(-1).tolist()] for x in xs]
        out = []
        for feats in zip(*cols):
            h = self._HASH_KEY
            for f in feats:
                h = _fingerprint_cat64(h, f)
            out.append(h % self.num_bins)
        return self._out(np.array(out, np.int64).reshape(shape))

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape[0])
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot" and not (len(shape) > 1 and shape[-1] == 1):
            return shape + (self.num_bins,)
        return shape[:-1] + (self.num_bins,)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}
