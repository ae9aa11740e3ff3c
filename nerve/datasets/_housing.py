"""The house-price regression sets of Keras (``boston_housing``, ``california_housing``): one ``.npz`` of plain
arrays ``x`` (samples, features) and ``y`` (samples,), shuffled with ``seed`` and split as Keras does."""
import numpy as np

from ._fetch import DatasetError, Resource, locate
from ._npz import read_npz

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def load_split(dataset, path, filename, sha256, n_features, test_split, seed, download, limit=None):
    """``((x_train, y_train), (x_test, y_test), source)``: the first ``limit`` samples (all when None), shuffled
    with ``np.random.RandomState(seed)``, the last ``test_split`` fraction as the test set. The pinned SHA-256
    applies under Keras' file name ``filename`` only."""
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise ValueError(f"{dataset}.load_data: argument 'test_split' expected a fraction in [0, 1), got "
                         f"{test_split!r}")
    res = Resource(dataset, (path,), urls=(BASE_URL + filename,), sha256=sha256 if path == filename else None)
    fpath, source = locate(res, download=download)
    d = read_npz(fpath, dataset)
    x, y = d.get("x"), d.get("y")
    if x is None or y is None or x.ndim != 2 or x.shape[1] != n_features or y.ndim != 1 or len(y) != len(x) \
            or not (np.issubdtype(x.dtype, np.number) and np.issubdtype(y.dtype, np.number)):
        raise DatasetError(f"{dataset}: '{fpath}' should hold numeric arrays 'x' (samples, {n_features}) and 'y' "
                           f"(samples,); got {({k: v.shape for k, v in d.items()})}")
    if limit is not None:
        x, y = x[:limit], y[:limit]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), source
