"""TextVectorization in pure NumPy (Keras 3 ``keras.layers.TextVectorization``).

Pipeline: standardize -> split -> ngrams -> look up in the vocabulary -> output.
Vocabulary (``adapt``): tokens sorted by count, descending; ties by token, descending (Keras'
``np.lexsort((tokens, counts))[::-1]``). In 'int' mode index 0 is the padding token '' and index 1 the
OOV token '[UNK]'; in 'multi_hot' / 'count' / 'tf_idf' modes index 0 is '[UNK]'. ``max_tokens`` counts
these reserved entries. tf_idf weights: idf = log(1 + n_docs / (1 + doc_freq)); the OOV entry gets the
mean idf (Keras).
"""
import re
from collections import Counter

import numpy as np

from ..autograd.tensor import Tensor
from ..layers.layer import Layer
from ..saving.registry import register

_PUNCT = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_MODES = ("int", "multi_hot", "count", "tf_idf")
PAD, OOV = "", "[UNK]"


@register("layers")
class TextVectorization(Layer):
    """Map strings to token indices (``output_mode='int'``) or to document vectors
    ('multi_hot', 'count', 'tf_idf')."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        super().__init__(**kwargs)
        who = f"TextVectorization '{self.name}'"
        if output_mode not in _MODES:
            raise ValueError(f"{who}: argument 'output_mode' expected one of {list(_MODES)}, got {output_mode!r}")
        if max_tokens is not None and (not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1):
            raise ValueError(f"{who}: argument 'max_tokens' expected a positive integer or None, got {max_tokens!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{who}: 'output_sequence_length' only applies to output_mode='int', got "
                             f"output_mode={output_mode!r}")
        if standardize not in (None, "lower_and_strip_punctuation", "lower", "strip_punctuation") \
                and not callable(standardize):
            raise ValueError(f"{who}: argument 'standardize' expected None, 'lower_and_strip_punctuation', 'lower', "
                             f"'strip_punctuation' or a callable, got {standardize!r}")
        if split not in (None, "whitespace", "character") and not callable(split):
            raise ValueError(f"{who}: argument 'split' expected None, 'whitespace', 'character' or a callable, got "
                             f"{split!r}")
        if isinstance(ngrams, int):
            ngrams = tuple(range(1, ngrams + 1))
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.ngrams = None if ngrams is None else tuple(int(n) for n in ngrams)
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.sparse, self.ragged, self.encoding = pad_to_max_tokens, sparse, ragged, encoding
        self._vocab, self._index, self._idf = None, {}, None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------------ text -> tokens
    def _standardize(self, s):
        if callable(self.standardize):
            return self.standardize(s)
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            s = s.lower()
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            s = _PUNCT.sub("", s)
        return s

    def _tokens(self, s):
        if isinstance(s, bytes):
            s = s.decode(self.encoding)
        s = self._standardize(str(s))
        if self.split is None:
            toks = [s]
        elif self.split == "whitespace":
            toks = s.split()
        elif self.split == "character":
            toks = list(s)
        else:
            toks = list(self.split(s))
        if self.ngrams:
            toks = [" ".join(toks[i:i + n]) for n in self.ngrams for i in range(len(toks) - n + 1)]
        return toks

    @staticmethod
    def _strings(data):
        if isinstance(data, str):
            return [data]
        if isinstance(data, Tensor):
            data = data.data
        arr = np.asarray(data, dtype=object).reshape(-1)
        return list(arr)

    # ------------------------------------------------------------------ vocabulary
    def _reserved(self):
        return [PAD, OOV] if self.output_mode == "int" else [OOV]

    def adapt(self, data, batch_size=None, steps=None):
        """Build the vocabulary (and idf weights) from an array/list of strings or an iterable of batches."""
        texts = []
        if isinstance(data, (str, np.ndarray, list, tuple, Tensor)):
            texts = self._strings(data)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                texts.extend(self._strings(batch[0] if isinstance(batch, tuple) else batch))
        counts, docs = Counter(), Counter()
        for t in texts:
            toks = self._tokens(t)
            counts.update(toks)
            docs.update(set(toks))
        tokens = np.array(list(counts), dtype=object)
        freq = np.array([counts[t] for t in tokens])
        order = np.lexsort((tokens.astype(str), freq))[::-1] if len(tokens) else []
        vocab = [tokens[i] for i in order if tokens[i] not in (PAD, OOV)]
        if self.max_tokens is not None:
            vocab = vocab[:max(self.max_tokens - len(self._reserved()), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1.0 + len(texts) / (1.0 + np.array([docs[t] for t in vocab], dtype=np.float64)))
        self._set(self._reserved() + vocab, idf)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (without the reserved '' / '[UNK]' entries, or with them at the front)."""
        vocab = [str(v) for v in vocabulary]
        res = self._reserved()
        if vocab[:len(res)] == res:
            vocab = vocab[len(res):]
        if len(set(vocab)) != len(vocab):
            raise ValueError(f"TextVectorization '{self.name}': the vocabulary has repeated tokens")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"TextVectorization '{self.name}': output_mode='tf_idf' needs idf_weights with "
                                 f"the vocabulary")
            idf_weights = np.asarray(idf_weights, np.float64)
            if len(idf_weights) == len(vocab) + 1:
                idf_weights = idf_weights[1:]
            if len(idf_weights) != len(vocab):
                raise ValueError(f"TextVectorization '{self.name}': {len(idf_weights)} idf weights for a "
                                 f"vocabulary of {len(vocab)} tokens")
        self._set(res + vocab, idf_weights)

    def _set(self, vocab, idf):
        self._vocab = list(vocab)
        self._index = {t: i for i, t in enumerate(self._vocab)}
        if idf is not None:
            idf = np.asarray(idf, np.float64)
            self._idf = np.concatenate([[idf.mean() if idf.size else 0.0], idf])
        else:
            self._idf = None

    def get_vocabulary(self, include_special_tokens=True):
        if self._vocab is None:
            return []
        return list(self._vocab) if include_special_tokens else self._vocab[len(self._reserved()):]

    def vocabulary_size(self):
        return len(self._vocab or [])

    # ------------------------------------------------------------------ calling
    def __call__(self, inputs, *args, **kwargs):
        return self.call(inputs)

    def call(self, inputs):
        if self._vocab is None:
            raise ValueError(f"TextVectorization '{self.name}': no vocabulary; call adapt() or set_vocabulary() "
                             f"first")
        texts = self._strings(inputs)
        oov = self._index[OOV]
        seqs = [[self._index.get(t, oov) for t in self._tokens(s)] for s in texts]
        if self.output_mode == "int":
            length = self.output_sequence_length or max([len(q) for q in seqs] + [0])
            out = np.zeros((len(seqs), length), np.int64)
            for i, q in enumerate(seqs):
                q = q[:length]
                out[i, :len(q)] = q
            return Tensor._make(out, None, 0)
        width = self.max_tokens if self.pad_to_max_tokens and self.max_tokens else len(self._vocab)
        out = np.zeros((len(seqs), width), self.dtype)
        for i, q in enumerate(seqs):
            if not q:
                continue
            idx, cnt = np.unique(q, return_counts=True)
            out[i, idx] = 1 if self.output_mode == "multi_hot" else cnt
        if self.output_mode == "tf_idf":
            out[:, :len(self._idf)] *= self._idf.astype(self.dtype)
        return Tensor._make(out, None, 0)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        width = self.max_tokens if self.pad_to_max_tokens and self.max_tokens else self.vocabulary_size()
        return (input_shape[0], width)

    def get_config(self):
        cfg = super().get_config()
        for k in ("standardize", "split"):
            if callable(getattr(self, k)):
                raise TypeError(f"TextVectorization '{self.name}': a callable '{k}' cannot be serialised")
        cfg.update({"max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
                    "ngrams": None if self.ngrams is None else list(self.ngrams), "output_mode": self.output_mode,
                    "output_sequence_length": self.output_sequence_length,
                    "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": self.sparse, "ragged": self.ragged,
                    "encoding": self.encoding,
                    "vocabulary": None if self._vocab is None else self.get_vocabulary(False),
                    "idf_weights": None if self._idf is None else self._idf[1:].tolist()})
        return cfg
