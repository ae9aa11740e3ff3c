"""UCI Cleveland Heart Disease (``processed.cleveland.data``, 303 patients, 13 features, target 0-4).

``load_data()`` follows seed-001-part1 §3.3: '?' cells are missing; with ``dropna=True`` (default) rows with a
missing value are dropped (297 remain); with ``binarize=True`` (default) the target {1, 2, 3, 4} becomes 1
(``df[13].replace([2, 3, 4], 1)``). Download-only (UCI publishes no checksum and no package ships the file):
the file is found in the cache or ``NERVE_DATA_DIR``, otherwise downloaded from UCI, and validated by
structure (14 numeric columns, target in 0..4) instead of a pinned digest.
"""
import numpy as np

from ._csv import parse_rows
from ._fetch import DatasetFormatError, Resource, locate, read_bytes

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/heart-disease/processed.cleveland.data"
RESOURCE = Resource("heart_disease", ("processed.cleveland.data",), urls=(URL,))
FEATURES = ("age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope",
            "ca", "thal")
last_source = None


def parse(data, name="heart_disease"):
    """Bytes of processed.cleveland.data -> (X float64 (n, 13) with NaN for '?', y int64 (n,) in 0..4)."""
    _, rows = parse_rows(data, name, header=False)
    if len(rows[0]) != 14:
        raise DatasetFormatError(f"{name}: expected 14 comma-separated columns, got {len(rows[0])}")
    table = np.empty((len(rows), 14))
    for i, r in enumerate(rows):
        for j, c in enumerate(r):
            c = c.strip()
            try:
                table[i, j] = np.nan if c == "?" else float(c)
            except ValueError:
                raise DatasetFormatError(f"{name}: row {i + 1}, column {j}: {c[:20]!r} is not a number") from None
    y = table[:, 13]
    if np.isnan(y).any() or not np.isin(y, (0, 1, 2, 3, 4)).all():
        raise DatasetFormatError(f"{name}: target column 13 must hold integers 0..4")
    return table[:, :13], y.astype(np.int64)


def load_data(binarize=True, dropna=True, download=True):
    """``(X, y)``: X float64 (297, 13) by default (303 with NaN when ``dropna=False``), y int64."""
    global last_source
    path, last_source = locate(RESOURCE, download=download)
    X, y = parse(read_bytes(path, "heart_disease", decompress=False), f"heart_disease: '{path}'")
    if dropna:
        keep = ~np.isnan(X).any(axis=1)
        X, y = X[keep], y[keep]
    if binarize:
        y = (y > 0).astype(np.int64)
    return X, y
