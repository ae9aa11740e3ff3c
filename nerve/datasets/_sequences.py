"""Shared logic of Keras' IMDB and Reuters loaders (word-index sequences).

Keras ships ``imdb.npz`` / ``reuters.npz`` whose sequence arrays are object arrays of Python lists, i.e.
pickles. On first load nerve reads them with ``SafeUnpickler`` (NumPy array reconstruction only; see
``_npz.py``), checks every sequence is a list of non-negative ints, and writes a plain npz to the cache
(``<name>.plain.npz``: concatenated int32 values + int64 lengths per array); later loads read only that.
"""
import json
import os

import numpy as np

from ._fetch import DatasetFormatError, Resource, cache_dir, locate, read_bytes
from ._npz import read_npz, write_npz

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _to_lists(arr, name):
    """Validate an object array of int sequences -> list of lists of int."""
    if not isinstance(arr, np.ndarray) or arr.ndim != 1:
        raise DatasetFormatError(f"{name}: expected a 1-D array of sequences, got {getattr(arr, 'shape', arr)!r}")
    out = []
    for i, s in enumerate(arr):
        if isinstance(s, np.ndarray):
            s = s.tolist()
        if not isinstance(s, list) or not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w < 2**31
                                              for w in s):
            raise DatasetFormatError(f"{name}: sequence {i} is not a list of non-negative ints")
        out.append(s)
    return out


def _pack(seqs):
    lengths = np.array([len(s) for s in seqs], np.int64)
    values = np.fromiter((w for s in seqs for w in s), np.int32, count=int(lengths.sum()))
    return values, lengths


def _unpack(values, lengths, name):
    if values.ndim != 1 or lengths.ndim != 1 or lengths.min(initial=0) < 0 or lengths.sum() != values.size:
        raise DatasetFormatError(f"{name}: inconsistent packed sequences")
    ends = np.cumsum(lengths)
    vals = values.tolist()
    return [vals[e - n:e] for e, n in zip(ends.tolist(), lengths.tolist())]


def load_arrays(dataset, filename, sha256, seq_keys, label_keys, download=True):
    """{key: list of sequences or label array} from the plain cache, or converted from Keras' npz."""
    plain = os.path.join(cache_dir(dataset), filename.replace(".npz", ".plain.npz"))
    name = f"{dataset}: '{plain}'"
    if os.path.isfile(plain):
        d = read_npz(plain, dataset)
        try:
            out = {k: _unpack(d[k + "_values"], d[k + "_lengths"], name) for k in seq_keys}
            out.update({k: d[k] for k in label_keys})
            return out, "cache (converted)"
        except KeyError as e:
            raise DatasetFormatError(f"{name}: missing array {e}; delete the file to rebuild it") from None
    res = Resource(dataset, (filename,), urls=(ORIGIN + filename,), sha256=sha256 if filename in (
        "imdb.npz", "reuters.npz") else None)
    path, source = locate(res, download=download)
    d = read_npz(path, dataset, allow_object=True)
    try:
        out = {k: _to_lists(d[k], f"{dataset}: '{path}'[{k}]") for k in seq_keys}
        out.update({k: np.asarray(d[k]).astype(np.int64) for k in label_keys})
    except KeyError as e:
        raise DatasetFormatError(f"{dataset}: '{path}' has no array {e}") from None
    except (TypeError, ValueError) as e:
        raise DatasetFormatError(f"{dataset}: '{path}' has bad labels: {e}") from None
    packed = {}
    for k in seq_keys:
        packed[k + "_values"], packed[k + "_lengths"] = _pack(out[k])
    packed.update({k: out[k] for k in label_keys})
    try:
        write_npz(plain, **packed)
    except OSError:
        pass  # a read-only cache only costs a conversion next time
    return out, source


def remove_long_seq(maxlen, seq, label):
    """Keep (sequence, label) pairs with len(sequence) < maxlen (Keras' rule)."""
    keep = [i for i, x in enumerate(seq) if len(x) < maxlen]
    return [seq[i] for i in keep], np.asarray(label)[keep]


def encode(xs, num_words, skip_top, start_char, oov_char, index_from):
    """Keras' index shift, start/oov characters and vocabulary cut on a list of sequences."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    return xs


def cut_vocab(xs, num_words, skip_top, oov_char):
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_object_array(seqs):
    """1-D object array of lists (always 1-D, unlike np.array on equal-length lists)."""
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def word_index(dataset, filename, md5, download=True):
    canonical = filename == f"{dataset}_word_index.json"  # another file name: the pinned digest does not apply
    res = Resource(dataset, (filename,), urls=(ORIGIN + filename,), md5=md5 if canonical else None)
    path, _ = locate(res, download=download)
    try:
        d = json.loads(read_bytes(path, dataset, decompress=False).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise DatasetFormatError(f"{dataset}: '{path}' is not a JSON word index: {e}") from e
    if not isinstance(d, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in d.items()):
        raise DatasetFormatError(f"{dataset}: '{path}' is not a mapping of words to integer indices")
    return d
