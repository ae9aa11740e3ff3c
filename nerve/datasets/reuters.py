"""Reuters newswire topics (Keras ``keras.datasets.reuters``): 11,228 newswires, 46 topics, word indices.

Same arguments, defaults and semantics as Keras 3 (one shuffled array split by ``test_split``); the pickled
``reuters.npz`` is converted once to a plain npz (see ``_sequences.py``). Checksums are Keras' published values
(not re-verified offline here).
"""
import numpy as np

from . import _sequences as S

SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
last_source = None


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of lists of int, int64 topic labels."""
    global last_source
    if not 0 <= test_split <= 1:
        raise ValueError(f"reuters.load_data: argument 'test_split' must be in [0, 1], got {test_split!r}")
    d, last_source = S.load_arrays("reuters", path, SHA256, ("x",), ("y",), download)
    xs, labels = d["x"], d["y"]
    rng = np.random.RandomState(seed)
    idx = np.arange(len(xs))
    rng.shuffle(idx)
    xs, labels = [xs[i] for i in idx], labels[idx]
    xs = S.encode(xs, num_words, skip_top, start_char, oov_char, index_from)
    if maxlen:
        xs, labels = S.remove_long_seq(maxlen, xs, labels)
    xs = S.cut_vocab(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    return (S.as_object_array(xs[:n]), labels[:n]), (S.as_object_array(xs[n:]), labels[n:])


def get_word_index(path="reuters_word_index.json", download=True):
    """The dict word -> index."""
    return S.word_index("reuters", path, WORD_INDEX_MD5, download)
