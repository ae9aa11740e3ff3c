"""IMDB movie-review sentiment (Keras ``keras.datasets.imdb``): 25,000 + 25,000 reviews as word indices.

Same arguments, defaults and semantics as Keras 3. Keras' ``imdb.npz`` stores pickled object arrays; nerve
converts it once to a plain npz without running arbitrary pickles (see ``_sequences.py``). The SHA-256 and MD5
below are Keras' published ``file_hash`` values (not re-verified offline here).
"""
import numpy as np

from . import _sequences as S

SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
last_source = None


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, download=True, **kwargs):
    """Return ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of lists of int, int64 labels (0/1).

    num_words: keep the most frequent words (indices < num_words), others become ``oov_char`` (or are dropped
    when ``oov_char`` is None); skip_top: the most frequent words to treat likewise; maxlen: drop sequences
    of length >= maxlen; seed: shuffling seed; start_char: index marking a sequence start; index_from: shift
    of the word indices.
    """
    global last_source
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognized keyword arguments: {sorted(kwargs)}")
    d, last_source = S.load_arrays("imdb", path, SHA256, ("x_train", "x_test"), ("y_train", "y_test"), download)
    x_train, labels_train, x_test, labels_test = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    rng = np.random.RandomState(seed)
    idx = np.arange(len(x_train))
    rng.shuffle(idx)
    x_train, labels_train = [x_train[i] for i in idx], labels_train[idx]
    idx = np.arange(len(x_test))
    rng.shuffle(idx)
    x_test, labels_test = [x_test[i] for i in idx], labels_test[idx]
    x_train = S.encode(x_train, num_words, skip_top, start_char, oov_char, index_from)
    x_test = S.encode(x_test, num_words, skip_top, start_char, oov_char, index_from)
    if maxlen:
        x_train, labels_train = S.remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = S.remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: after filtering for sequences shorter than maxlen={maxlen}, no "
                             f"sequence was kept. Increase maxlen.")
    xs = S.cut_vocab(x_train + x_test, num_words, skip_top, oov_char)
    n = len(x_train)
    labels = np.concatenate([labels_train, labels_test])
    return (S.as_object_array(xs[:n]), labels[:n]), (S.as_object_array(xs[n:]), labels[n:])


def get_word_index(path="imdb_word_index.json", download=True):
    """The dict word -> index (1-based by frequency rank; shift by ``index_from`` to match the sequences)."""
    return S.word_index("imdb", path, WORD_INDEX_MD5, download)
