"""CIFAR-100 (Keras ``keras.datasets.cifar100``) from ``cifar-100-binary.tar.gz`` (raw bytes, no pickle)."""
from ._cifar import parse_records, read_tar_members
from ._fetch import DatasetFormatError, Resource, locate

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
MD5 = "03b5dce01913d631647c71ecec9e9cb8"  # published on the CIFAR page; not re-verified offline here
RESOURCE = Resource("cifar100", ("cifar-100-binary.tar.gz",), urls=(URL,), md5=MD5)
N_TRAIN, N_TEST = 50000, 10000  # the archive must hold exactly these
last_source = None


def load_data(label_mode="fine", download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: uint8 (N, 32, 32, 3), int64 labels (N, 1);
    ``label_mode`` 'fine' (100 classes) or 'coarse' (20 superclasses)."""
    global last_source
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: argument 'label_mode' must be 'fine' or 'coarse', got {label_mode!r}")
    path, last_source = locate(RESOURCE, download=download)
    members = read_tar_members(path, "cifar100", ["train.bin", "test.bin"])
    col = 1 if label_mode == "fine" else 0
    out = []
    for m, n in (("train.bin", N_TRAIN), ("test.bin", N_TEST)):
        x, y = parse_records(members[m], 2, f"cifar100: {m}")
        if x.shape[0] != n:
            raise DatasetFormatError(f"cifar100: {m} in '{path}' holds {x.shape[0]} images, expected {n}")
        out.append((x, y[:, col:col + 1].astype("int64")))
    return tuple(out)
