"""CIFAR-10 / CIFAR-100 from the *binary* archives, which hold raw bytes (no pickle at all).

Record layout: CIFAR-10 ``<label byte><3072 pixel bytes>``; CIFAR-100 ``<coarse><fine><3072>``; pixels are
the red, green and blue 32x32 planes, row-major; they are returned channels-last (N, 32, 32, 3) like Keras.
Checksums: the MD5s published on https://www.cs.toronto.edu/~kriz/cifar.html (not re-verified offline here).
"""
import io
import tarfile
import zlib

import numpy as np

from ._fetch import DatasetFormatError, read_bytes


def read_tar_members(path, dataset, wanted):
    """{basename: bytes} for the basenames in ``wanted`` found in the tar(.gz) at ``path``."""
    data = read_bytes(path, dataset, decompress=False)
    out = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for m in tf.getmembers():
                base = m.name.rsplit("/", 1)[-1]
                if m.isfile() and base in wanted:
                    out[base] = tf.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as e:
        raise DatasetFormatError(f"{dataset}: '{path}' is not a readable tar archive ({e}); delete it and "
                                 f"load again to re-download") from e
    missing = [w for w in wanted if w not in out]
    if missing:
        raise DatasetFormatError(f"{dataset}: '{path}' lacks {missing}; is it the binary version of the archive?")
    return out


def parse_records(data, n_labels, name):
    """Binary CIFAR records -> (images (N, 32, 32, 3) uint8, labels (N, n_labels) uint8)."""
    rec = n_labels + 3072
    if len(data) == 0 or len(data) % rec:
        raise DatasetFormatError(f"{name}: {len(data)} bytes is not a whole number of {rec}-byte records "
                                 f"(truncated or not a CIFAR binary batch)")
    arr = np.frombuffer(data, np.uint8).reshape(-1, rec)
    x = arr[:, n_labels:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
    return x, arr[:, :n_labels].copy()
