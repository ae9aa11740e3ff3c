"""Categorical preprocessing layers of Keras 3 (structured data, e.g. the heart-disease table): StringLookup,
IntegerLookup, CategoryEncoding, Discretization. Like TextVectorization they run eagerly on NumPy data (they
have no gradient) and return constant Tensors.

Lookup index layout (Keras): ``[mask_token]`` (when given) then ``num_oov_indices`` OOV slots, then the
vocabulary. ``adapt`` orders the vocabulary by count, most frequent first, ties by token descending (Keras'
``lexsort((tokens, counts))[::-1]``). With several OOV slots a token goes to slot crc32(token) mod n
(Keras hashes with farmhash, so the slot numbers differ from TensorFlow's; the layout is the same).
Output modes: 'int' (indices, same shape as the input), 'one_hot' (one row per element), 'multi_hot' /
'count' / 'tf_idf' (one row per sample; tf_idf weights log(1 + n_samples / (1 + doc_freq)) from adapt).
"""
import zlib
from collections import Counter

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..layers.layer import Layer
from ..saving.registry import register

_LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _np(x):
    return np.asarray(backend.to_numpy(x.data if isinstance(x, Tensor) else x))


def _encode(idx, depth, mode, who, weights=None, dtype="float32"):
    """Index array -> one_hot (per element) or multi_hot / count (per sample) rows of width ``depth``."""
    idx = np.asarray(idx)
    if idx.size and (idx.min() < 0 or idx.max() >= depth):
        raise ValueError(f"{who}: input values must be in [0, {depth}), got range [{idx.min()}, {idx.max()}]")
    if mode == "one_hot":
        if idx.ndim >= 2 and idx.shape[-1] == 1:
            idx = idx[..., 0]
        return np.eye(depth, dtype=dtype)[idx]
    rows = idx.reshape(-1, 1) if idx.ndim <= 1 else idx.reshape(idx.shape[0], -1)  # rank 1: one value per sample
    out = np.zeros((rows.shape[0], depth), dtype)
    for i, r in enumerate(rows):
        if mode == "multi_hot":
            out[i, r] = 1
        else:
            np.add.at(out[i], r, 1 if weights is None else np.asarray(weights).reshape(rows.shape)[i])
    return out


class _Eager(Layer):
    """Preprocessing layers run on data, not on the graph: calling one gives its output at once."""

    def __call__(self, inputs, *args, **kwargs):
        return self.call(inputs, *args, **kwargs)


# ================================================================================ CategoryEncoding
@register("layers")
class CategoryEncoding(_Eager):
    """Integer categories in [0, num_tokens) -> 'one_hot', 'multi_hot' or 'count' vectors (keras.layers)."""

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        who = f"CategoryEncoding '{self.name}'"
        if output_mode not in ("one_hot", "multi_hot", "count"):
            raise ValueError(f"{who}: argument 'output_mode' expected 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError(f"{who}: argument 'num_tokens' expected a positive int, got {num_tokens!r}")
        if sparse:
            raise ValueError(f"{who}: argument 'sparse' expected False (nerve has no sparse tensors)")
        self.num_tokens, self.output_mode, self.sparse = int(num_tokens), output_mode, False
        self.built = True

    def call(self, inputs, count_weights=None):
        x = _np(inputs)
        if x.dtype.kind == "f" and np.all(x == np.round(x)):
            x = x.astype(np.int64)
        if x.dtype.kind not in "iu":
            raise ValueError(f"CategoryEncoding '{self.name}': inputs must be integers, got dtype {x.dtype}")
        if self.output_mode == "count" and count_weights is not None:
            return Tensor(_encode(x, self.num_tokens, "count", f"CategoryEncoding '{self.name}'", _np(count_weights),
                                  backend.floatx()))
        return Tensor(_encode(x, self.num_tokens, self.output_mode, f"CategoryEncoding '{self.name}'",
                              dtype=backend.floatx()))

    def compute_output_shape(self, input_shape):
        if self.output_mode == "one_hot" and not (len(input_shape) >= 2 and input_shape[-1] == 1):
            return tuple(input_shape) + (self.num_tokens,)
        return (input_shape[0], self.num_tokens)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode, "sparse": False})
        return cfg


# ================================================================================ Discretization
@register("layers")
class Discretization(_Eager):
    """Bucket floats by ``bin_boundaries`` (bucket i holds boundaries[i-1] <= x < boundaries[i]); ``adapt``
    places ``num_bins - 1`` boundaries at the data's quantiles (exact here; Keras approximates within
    ``epsilon``). ``output_mode`` 'int' gives bucket indices; 'one_hot', 'multi_hot', 'count' encode them."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, **kwargs):
        super().__init__(**kwargs)
        who = f"Discretization '{self.name}'"
        if (bin_boundaries is None) == (num_bins is None):
            raise ValueError(f"{who}: give exactly one of 'bin_boundaries' and 'num_bins', got "
                             f"bin_boundaries={bin_boundaries!r}, num_bins={num_bins!r}")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError(f"{who}: argument 'output_mode' expected 'int', 'one_hot', 'multi_hot' or 'count', got "
                             f"{output_mode!r}")
        if num_bins is not None and (not isinstance(num_bins, (int, np.integer)) or num_bins < 2):
            raise ValueError(f"{who}: argument 'num_bins' expected an int >= 2, got {num_bins!r}")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        if self.bin_boundaries is not None and np.any(np.diff(self.bin_boundaries) < 0):
            raise ValueError(f"{who}: argument 'bin_boundaries' must be sorted ascending, got {bin_boundaries!r}")
        self.num_bins, self.epsilon, self.output_mode, self.sparse = num_bins, epsilon, output_mode, False
        self.built = True

    def adapt(self, data, batch_size=None, steps=None):
        x = _np(data).astype(np.float64).ravel()
        x = x[np.isfinite(x)]
        if not x.size:
            raise ValueError(f"Discretization '{self.name}': adapt got no finite values")
        self.bin_boundaries = np.quantile(x, np.arange(1, self.num_bins) / self.num_bins).tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}': no bin boundaries; call adapt() first")
        idx = np.digitize(_np(inputs), self.bin_boundaries).astype(np.int64)
        if self.output_mode == "int":
            return Tensor(idx)
        return Tensor(_encode(idx, len(self.bin_boundaries) + 1, self.output_mode, f"Discretization '{self.name}'",
                              dtype=backend.floatx()))

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins if self.bin_boundaries is None
                    else None, "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": False})
        return cfg


# ================================================================================ lookups
class _Lookup(_Eager):
    kind = "lookup"

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                 output_mode, pad_to_max_tokens, sparse, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if output_mode not in _LOOKUP_MODES:
            raise ValueError(f"{who}: argument 'output_mode' expected one of {list(_LOOKUP_MODES)}, got "
                             f"{output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{who}: invert=True needs output_mode='int', got {output_mode!r}")
        if not isinstance(num_oov_indices, (int, np.integer)) or num_oov_indices < 0:
            raise ValueError(f"{who}: argument 'num_oov_indices' expected an int >= 0, got {num_oov_indices!r}")
        if max_tokens is not None and (not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1):
            raise ValueError(f"{who}: argument 'max_tokens' expected a positive int or None, got {max_tokens!r}")
        if sparse:
            raise ValueError(f"{who}: argument 'sparse' expected False (nerve has no sparse tensors)")
        self.max_tokens, self.num_oov_indices, self.mask_token = max_tokens, int(num_oov_indices), mask_token
        self.oov_token, self.invert, self.output_mode = oov_token, bool(invert), output_mode
        self.pad_to_max_tokens, self.sparse = pad_to_max_tokens, False
        self._vocab, self._index, self._idf = None, {}, None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    def _who(self):
        return f"{type(self).__name__} '{self.name}'"

    def _reserved(self):
        return ([self.mask_token] if self.mask_token is not None else []) + [self.oov_token] * self.num_oov_indices

    def _key(self, v):  # StringLookup: str; IntegerLookup: int
        raise NotImplementedError

    def set_vocabulary(self, vocabulary, idf_weights=None):
        vocab = [self._key(v) for v in vocabulary]
        if vocab[:len(self._reserved())] == self._reserved() and self._reserved():
            vocab = vocab[len(self._reserved()):]
        dup = [t for t, c in Counter(vocab).items() if c > 1]
        if dup:
            raise ValueError(f"{self._who()}: the vocabulary repeats {dup[:5]}")
        if any(t == self.mask_token or t == self.oov_token for t in vocab):
            raise ValueError(f"{self._who()}: the vocabulary holds the mask or OOV token")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{self._who()}: output_mode='tf_idf' needs 'idf_weights' with the vocabulary")
            idf_weights = np.asarray(idf_weights, np.float64)
            if len(idf_weights) != len(vocab):
                raise ValueError(f"{self._who()}: {len(idf_weights)} idf weights for {len(vocab)} tokens")
        self._vocab = list(vocab)
        self._index = {t: i + len(self._reserved()) for i, t in enumerate(self._vocab)}
        self._idf = None if idf_weights is None else np.concatenate(
            [np.full(len(self._reserved()), idf_weights.mean() if len(idf_weights) else 0.0), idf_weights])

    def adapt(self, data, batch_size=None, steps=None):
        rows = [self._keys(r) for r in self._rows(_np(data))]
        counts = Counter(t for r in rows for t in r if t != self.mask_token)
        docs = Counter(t for r in rows for t in set(r) if t != self.mask_token)
        tokens = list(counts)
        if tokens:
            keys = np.array([str(t) for t in tokens]) if isinstance(tokens[0], str) else np.array(tokens)
            order = np.lexsort((keys, np.array([counts[t] for t in tokens])))[::-1]
            tokens = [tokens[i] for i in order]
        if self.max_tokens is not None:
            tokens = tokens[:max(self.max_tokens - len(self._reserved()), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1.0 + len(rows) / (1.0 + np.array([docs[t] for t in tokens], np.float64)))
        self._vocab, self._idf = None, None
        self.set_vocabulary(tokens, idf)

    @staticmethod
    def _rows(x):
        return x.reshape(-1, 1) if x.ndim <= 1 else x.reshape(x.shape[0], -1)  # rank 1: one value per sample

    def _keys(self, arr):
        return [self._key(v) for v in np.asarray(arr).ravel()]

    def get_vocabulary(self, include_special_tokens=True):
        vocab = list(self._vocab or [])
        return self._reserved() + vocab if include_special_tokens else vocab

    def vocabulary_size(self):
        return len(self._reserved()) + len(self._vocab or [])

    def _lookup(self, t):
        i = self._index.get(t)
        if i is not None:
            return i
        if self.mask_token is not None and t == self.mask_token:
            return 0
        if self.num_oov_indices == 0:
            raise ValueError(f"{self._who()}: {t!r} is not in the vocabulary and num_oov_indices=0")
        first = 1 if self.mask_token is not None else 0
        return first + (zlib.crc32(str(t).encode()) % self.num_oov_indices if self.num_oov_indices > 1 else 0)

    def call(self, inputs):
        if self._vocab is None:
            raise ValueError(f"{self._who()}: no vocabulary; call adapt() or set_vocabulary() first")
        x = _np(inputs)
        if self.invert:
            table = self.get_vocabulary()
            idx = x.astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= len(table)):
                raise ValueError(f"{self._who()}: indices must be in [0, {len(table)}), got range [{idx.min()}, "
                                 f"{idx.max()}]")
            return np.asarray(table, dtype=object)[idx]
        idx = np.array([self._lookup(t) for t in self._keys(x)], np.int64).reshape(x.shape)
        if self.output_mode == "int":
            return Tensor(idx)
        depth = self.max_tokens if self.pad_to_max_tokens and self.max_tokens else self.vocabulary_size()
        if self.output_mode in ("one_hot", "multi_hot", "count"):
            return Tensor(_encode(idx, depth, self.output_mode, self._who(), dtype=backend.floatx()))
        out = _encode(idx, depth, "count", self._who(), dtype=np.float64)
        out[:, :len(self._idf)] *= self._idf
        return Tensor(out.astype(backend.floatx()))

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
                    "mask_token": self.mask_token, "oov_token": self.oov_token, "invert": self.invert,
                    "output_mode": self.output_mode, "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False,
                    "vocabulary": None if self._vocab is None else list(self._vocab),
                    "idf_weights": None if self._idf is None else self._idf[len(self._reserved()):].tolist()})
        return cfg


@register("layers")
class StringLookup(_Lookup):
    """Strings -> integer indices (or encodings) through a vocabulary; ``invert=True`` maps indices back."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", **kwargs):
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)

    def _key(self, v):
        return v.decode(self.encoding) if isinstance(v, bytes) else str(v)

    def get_config(self):
        cfg = super().get_config()
        cfg["encoding"] = self.encoding
        return cfg


@register("layers")
class IntegerLookup(_Lookup):
    """Integers (e.g. codes of a categorical column) -> contiguous indices (or encodings) through a
    vocabulary; ``invert=True`` maps indices back. The OOV token is -1; ``mask_token`` None by default."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, **kwargs):
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
                         output_mode, pad_to_max_tokens, sparse, **kwargs)

    def _key(self, v):
        f = float(v)
        if f != int(f):
            raise ValueError(f"{self._who()}: expected integers, got {v!r}")
        return int(f)

    def get_config(self):
        cfg = super().get_config()
        cfg["vocabulary_dtype"] = self.vocabulary_dtype
        return cfg
