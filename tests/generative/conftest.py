"""Small datasets for the generative-model tests (offline): scikit-learn digits and a Fashion-MNIST subset."""
import gzip
import os

import numpy as np
import pytest

import nerve

FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _fashion():
    try:
        from nerve.datasets import fashion_mnist
        (xtr, ytr), (xte, yte) = fashion_mnist.load_data()
        return np.asarray(xtr), np.asarray(ytr), np.asarray(xte), np.asarray(yte)
    except Exception:  # the loader is written elsewhere; read the IDX files directly until it exists
        if not os.path.exists(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")):
            pytest.skip("Fashion-MNIST IDX files not found")
        return (_read_idx(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")),
                _read_idx(os.path.join(FASHION_DIR, "train-labels-idx1-ubyte.gz")),
                _read_idx(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz")),
                _read_idx(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz")))


@pytest.fixture(scope="session")
def fashion():
    """(x_train (2000, 784), y_train, x_test (500, 784), y_test), float32 in [0, 1]."""
    xtr, ytr, xte, yte = _fashion()
    xtr = xtr[:2000].reshape(-1, 784).astype(np.float32) / 255.0
    xte = xte[:500].reshape(-1, 784).astype(np.float32) / 255.0
    return xtr, np.asarray(ytr[:2000]), xte, np.asarray(yte[:500])


@pytest.fixture(scope="session")
def digits():
    """scikit-learn digits scaled to [0, 1]: (X (1797, 64) float32, y)."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(autouse=True)
def _seed_and_one_blas_thread():
    """Seeded, and BLAS on one thread: on the shared 2-core machine a multi-threaded BLAS under load makes
    the small matmuls of these tests ~50x slower."""
    nerve.set_random_seed(0)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(1):
        yield
