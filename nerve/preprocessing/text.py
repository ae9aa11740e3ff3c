"""Keras' legacy text utilities: ``Tokenizer``, ``text_to_word_sequence``, ``one_hot``, ``hashing_trick`` and
``tokenizer_from_json`` (JSON only, never pickle).

Vocabulary rule (Keras): words are ranked by count (ties keep first-seen order); index 0 is reserved for
padding, the ``oov_token`` (if any) gets index 1, the most frequent word the next index. ``num_words``
keeps only indices < num_words when converting (the index itself is built from all words).
"""
import hashlib
import json
import math
from collections import OrderedDict, defaultdict

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Lower-case, replace every character of ``filters`` by ``split``, split, drop empty tokens."""
    if not isinstance(input_text, str):
        raise TypeError(f"text_to_word_sequence: argument 'input_text' expected a string, got "
                        f"{type(input_text).__name__}")
    if lower:
        input_text = input_text.lower()
    if filters:
        input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Words -> indices in [1, n) by hashing (``hash_function`` None or 'md5': deterministic md5)."""
    if hash_function is None or hash_function == "md5":
        def hash_function(w):
            return int(hashlib.md5(w.encode()).hexdigest(), 16)
    seq = analyzer(text) if analyzer is not None else text_to_word_sequence(text, filters, lower, split)
    return [hash_function(w) % (n - 1) + 1 for w in seq]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """``hashing_trick`` with md5 (Keras ``one_hot``: integer indices, not one-hot vectors)."""
    return hashing_trick(input_text, n, "md5", filters, lower, split, analyzer)


class Tokenizer:
    """Vectorise a text corpus into sequences of word indices or document-term matrices."""

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, document_count=0, **kwargs):
        if kwargs:
            raise TypeError(f"Tokenizer: unexpected keyword argument(s) {sorted(kwargs)}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, (int, np.integer))
                                      or num_words <= 0):
            raise ValueError(f"Tokenizer: argument 'num_words' expected a positive integer or None, got {num_words!r}")
        self.num_words = None if num_words is None else int(num_words)
        self.filters, self.lower, self.split = filters, lower, split
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.document_count = document_count
        self.word_counts = OrderedDict()
        self.word_docs = defaultdict(int)
        self.word_index, self.index_word, self.index_docs = {}, {}, defaultdict(int)

    # ------------------------------------------------------------------ tokens
    def _tokens(self, text):
        if self.char_level or isinstance(text, (list, tuple)):
            if self.lower:
                text = text.lower() if isinstance(text, str) else [t.lower() for t in text]
            return list(text)
        if self.analyzer is not None:
            return self.analyzer(text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Count words over ``texts`` (strings, or lists of tokens) and rebuild ``word_index``."""
        if isinstance(texts, str):
            raise TypeError("Tokenizer.fit_on_texts: argument 'texts' expected a list of strings, got one string")
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        wcounts = sorted(self.word_counts.items(), key=lambda kv: -kv[1])  # stable: ties keep first-seen order
        vocab = ([self.oov_token] if self.oov_token is not None else []) + [w for w, _ in wcounts]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.index_docs = defaultdict(int)
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Document frequencies from sequences of indices (needed for ``tfidf`` without texts)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    # ------------------------------------------------------------------ conversions
    def _oov_index(self):
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    def texts_to_sequences(self, texts):
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        oov, nw = self._oov_index(), self.num_words
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and (not nw or i < nw):
                    vect.append(i)
                elif oov is not None:
                    vect.append(oov)
            yield vect

    def sequences_to_texts(self, sequences):
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        oov, nw = self._oov_index(), self.num_words
        for seq in sequences:
            words = []
            for num in seq:
                w = self.index_word.get(int(num))
                if w is not None and (not nw or num < nw):
                    words.append(w)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """(n_docs, num_words) matrix. binary: 1 if present; count; freq: count / len(doc);
        tfidf: (1 + log count) * log(1 + n_docs / (1 + doc_freq)) (Keras' formula)."""
        if mode not in _MODES:
            raise ValueError(f"Tokenizer.sequences_to_matrix: argument 'mode' expected one of {list(_MODES)}, "
                             f"got {mode!r}")
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError("Tokenizer.sequences_to_matrix: specify num_words or fit the tokenizer first")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer.sequences_to_matrix: mode 'tfidf' needs document frequencies; call "
                             "fit_on_texts or fit_on_sequences first")
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts = defaultdict(int)
            for j in seq:
                if j < num_words:
                    counts[int(j)] += 1
            for j, c in counts.items():
                if mode == "count":
                    x[i, j] = c
                elif mode == "freq":
                    x[i, j] = c / len(seq)
                elif mode == "binary":
                    x[i, j] = 1
                else:
                    x[i, j] = (1 + math.log(c)) * math.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
        return x

    # ------------------------------------------------------------------ serialisation (JSON only)
    def get_config(self):
        return {
            "num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
            "char_level": self.char_level, "oov_token": self.oov_token, "document_count": self.document_count,
            "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
            "index_docs": json.dumps(self.index_docs), "index_word": json.dumps(self.index_word),
            "word_index": json.dumps(self.word_index),
        }

    def to_json(self, **kwargs):
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """Rebuild a ``Tokenizer`` from ``Tokenizer.to_json()``."""
    data = json.loads(json_string)
    if not isinstance(data, dict) or data.get("class_name") != "Tokenizer":
        raise ValueError("tokenizer_from_json: expected the JSON written by Tokenizer.to_json()")
    cfg = dict(data["config"])
    word_counts = json.loads(cfg.pop("word_counts"), object_pairs_hook=OrderedDict)
    word_docs = json.loads(cfg.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(cfg.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(cfg.pop("index_word")).items()}
    word_index = json.loads(cfg.pop("word_index"))
    tok = Tokenizer(**cfg)
    tok.word_counts = word_counts
    tok.word_docs = defaultdict(int, word_docs)
    tok.index_docs = defaultdict(int, index_docs)
    tok.index_word, tok.word_index = index_word, word_index
    return tok
