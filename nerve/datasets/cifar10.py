"""CIFAR-10 (Keras ``keras.datasets.cifar10``) from ``cifar-10-binary.tar.gz`` (raw bytes, no pickle)."""
import numpy as np

from ._cifar import parse_records, read_tar_members
from ._fetch import DatasetFormatError, Resource, locate

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on the CIFAR page; not re-verified offline here
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
RESOURCE = Resource("cifar10", ("cifar-10-binary.tar.gz",), urls=(URL,), md5=MD5)
N_TRAIN, N_TEST = 50000, 10000  # the archive must hold exactly these
last_source = None


def load_data(download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: uint8 (N, 32, 32, 3) and uint8 labels (N, 1)."""
    global last_source
    path, last_source = locate(RESOURCE, download=download)
    train = [f"data_batch_{i}.bin" for i in range(1, 6)]
    members = read_tar_members(path, "cifar10", train + ["test_batch.bin"])
    xs, ys = zip(*(parse_records(members[m], 1, f"cifar10: {m}") for m in train))
    x_test, y_test = parse_records(members["test_batch.bin"], 1, "cifar10: test_batch.bin")
    x_train, y_train = np.concatenate(xs), np.concatenate(ys)
    if x_train.shape[0] != N_TRAIN or x_test.shape[0] != N_TEST:
        raise DatasetFormatError(f"cifar10: '{path}' holds {x_train.shape[0]} / {x_test.shape[0]} images, "
                                 f"expected {N_TRAIN} / {N_TEST}")
    return (x_train, y_train), (x_test, y_test)
