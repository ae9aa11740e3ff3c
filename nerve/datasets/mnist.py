"""MNIST (Keras ``keras.datasets.mnist``): Keras' ``mnist.npz`` (plain uint8 arrays, no pickle), pinned SHA-256
(Keras' published ``file_hash``; not re-verified offline here)."""
import numpy as np

from ._fetch import DatasetError, Resource, locate
from ._npz import read_npz

URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # keras.datasets.mnist file_hash
last_source = None


def load_data(path="mnist.npz", download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: uint8 (60000, 28, 28) / (10000, 28, 28), uint8 labels."""
    global last_source
    res = Resource("mnist", (path,), urls=(URL,), sha256=SHA256 if path == "mnist.npz" else None)
    fpath, last_source = locate(res, download=download)
    d = read_npz(fpath, "mnist")
    want = {"x_train": 3, "y_train": 1, "x_test": 3, "y_test": 1}
    for k, nd in want.items():
        if k not in d or d[k].ndim != nd or not np.issubdtype(d[k].dtype, np.integer):
            raise DatasetError(f"mnist: '{fpath}' has no integer array {k!r} of rank {nd} (keys {sorted(d)})")
    return (d["x_train"], d["y_train"]), (d["x_test"], d["y_test"])
