"""Acceptance (slow, excluded by default; run with ``pytest -m slow tests/slow``): the Fashion-MNIST CNN of
shared/bench/peers/README.md -- Conv2D(32,3,relu)-MaxPool-Conv2D(64,3,relu)-MaxPool-Flatten-Dense(128,relu)-
Dense(10), Adam 1e-3, batch 128 -- reaches test accuracy >= 0.91 (evaluated after each epoch, at most
MAX_EPOCHS epochs). Also runnable as a script: ``python tests/slow/test_fashion_cnn.py [EPOCHS] [SEED]``."""
import gzip
import os
import sys
import time

import numpy as np
import pytest

DATA = "/usr/share/datasets/fashion-mnist"
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")
MAX_EPOCHS = 15
TARGET = 0.91


def read_idx(path):
    """IDX format: magic (0, 0, dtype code, ndim), ndim big-endian int32 sizes, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))


def run(max_epochs=MAX_EPOCHS, target=TARGET, log=print, seed=0):
    import nerve
    from nerve import layers as L
    xtr, ytr, xte, yte = (read_idx(os.path.join(DATA, f)) for f in FILES)
    xtr = (xtr.astype("float32") / 255.0)[..., None]
    xte = (xte.astype("float32") / 255.0)[..., None]
    ytr, yte = ytr.astype("int64"), yte.astype("int64")
    nerve.set_random_seed(seed)
    model = nerve.Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                              L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                              L.Dense(128, activation="relu"), L.Dense(10)])
    model.compile(optimizer=nerve.optimizers.Adam(1e-3),
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    history, t_total = [], 0.0
    for epoch in range(1, max_epochs + 1):
        t0 = time.perf_counter()
        model.fit(xtr, ytr, batch_size=128, epochs=1, shuffle=True, verbose=0)
        dt = time.perf_counter() - t0
        t_total += dt
        _, acc = model.evaluate(xte, yte, batch_size=512, verbose=0)
        history.append(acc)
        log(f"fashion-mnist CNN epoch {epoch}: {dt:.1f} s ({dt / 469 * 1e3:.0f} ms/step), test accuracy {acc:.4f}")
        if acc >= target:
            break
    log(f"fashion-mnist CNN: best test accuracy {max(history):.4f} after {len(history)} epochs, "
        f"{t_total:.0f} s of training")
    return history


@pytest.mark.slow
@pytest.mark.skipif(not all(os.path.exists(os.path.join(DATA, f)) for f in FILES),
                    reason="Fashion-MNIST IDX files not found in /usr/share/datasets/fashion-mnist")
def test_fashion_mnist_cnn_reaches_091():
    history = run()
    assert max(history) >= TARGET


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    run(int(sys.argv[1]) if len(sys.argv) > 1 else MAX_EPOCHS, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
