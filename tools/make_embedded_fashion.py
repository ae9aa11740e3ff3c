"""Build nerve/datasets/data/fashion_mnist_small.npz: a stratified real subset of Fashion-MNIST.

Reads the full set from the usual lookup chain (Debian's /usr/share/datasets/fashion-mnist on the build
machine), takes the first ``--train`` / 10 and ``--test`` / 10 images of each class in file order (so the
subset is deterministic and balanced), keeps the original order of the chosen rows, and writes a compressed
npz of uint8 arrays (x_train, y_train, x_test, y_test, train_index, test_index: the rows' indices in the full
set). Usage: python tools/make_embedded_fashion.py [--train 10000] [--test 2000] [--out PATH]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nerve.datasets import fashion_mnist  # noqa: E402
from nerve.datasets._npz import write_npz  # noqa: E402


def stratified_first(y, n, classes=10):
    per = n // classes
    idx = np.concatenate([np.flatnonzero(y == c)[:per] for c in range(classes)])
    return np.sort(idx)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--out", default=fashion_mnist.EMBEDDED)
    a = ap.parse_args(argv)
    arrays, source = fashion_mnist.load_full(download=False)
    tr = stratified_first(arrays["y_train"], a.train)
    te = stratified_first(arrays["y_test"], a.test)
    write_npz(a.out, x_train=arrays["x_train"][tr], y_train=arrays["y_train"][tr], x_test=arrays["x_test"][te],
              y_test=arrays["y_test"][te], train_index=tr.astype(np.int32), test_index=te.astype(np.int32))
    print(f"wrote {a.out}: {len(tr)} train / {len(te)} test images from {source}; "
          f"{os.path.getsize(a.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
