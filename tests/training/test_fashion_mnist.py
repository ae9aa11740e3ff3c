"""Acceptance: Fashion-MNIST MLP 784-256-128-10 (relu), Adam, batch 128, 5 epochs -> test accuracy >= 0.88."""
import gzip
import os
import time

import numpy as np
import pytest

import nerve
from nerve import layers

DATA = "/usr/share/datasets/fashion-mnist"
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")


def read_idx(path):
    """IDX format: magic (0, 0, dtype code, ndim), ndim big-endian int32 sizes, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))


@pytest.mark.skipif(not all(os.path.exists(os.path.join(DATA, f)) for f in FILES),
                    reason="Fashion-MNIST IDX files not found in /usr/share/datasets/fashion-mnist "
                           "(Debian package dataset-fashion-mnist)")
def test_fashion_mnist_mlp_reaches_088():
    xtr, ytr, xte, yte = (read_idx(os.path.join(DATA, f)) for f in FILES)
    xtr = xtr.reshape(-1, 784).astype("float32") / 255.0
    xte = xte.reshape(-1, 784).astype("float32") / 255.0
    nerve.set_random_seed(0)
    model = nerve.Sequential([
        nerve.Input(shape=(784,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    hist = model.fit(xtr, ytr.astype("int64"), batch_size=128, epochs=5, verbose=0)
    elapsed = time.perf_counter() - t0
    loss, acc = model.evaluate(xte, yte.astype("int64"), batch_size=512, verbose=0)
    print(f"fashion-mnist MLP: 5 epochs in {elapsed:.1f} s, test accuracy {acc:.4f}")
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert acc >= 0.88
