"""MNIST / CIFAR loaders on fixture files (Keras layouts), and the generators of the seeds."""
import io
import os
import tarfile

import numpy as np
import pytest

from nerve import datasets as D
from nerve.datasets import cifar10, cifar100
from nerve.datasets._cifar import parse_records
from nerve.datasets._fetch import ChecksumError, DatasetFormatError, cache_dir


def test_mnist_npz(home, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    np.savez_compressed(tmp_path / "mnist_fixture.npz", **arrays)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    (x, y), (xt, yt) = D.mnist.load_data(path="mnist_fixture.npz")
    np.testing.assert_array_equal(x, arrays["x_train"])
    np.testing.assert_array_equal(yt, arrays["y_test"])
    # under the canonical name the pinned SHA-256 applies
    os.rename(tmp_path / "mnist_fixture.npz", tmp_path / "mnist.npz")
    with pytest.raises(ChecksumError, match="mnist"):
        D.mnist.load_data()


def _records(n, n_labels, rng):
    labels = rng.integers(0, 10, (n, n_labels), dtype=np.uint8)
    planes = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    return labels, planes, np.concatenate([labels, planes.reshape(n, -1)], axis=1).tobytes()


def test_cifar_record_layout():
    rng = np.random.default_rng(0)
    labels, planes, raw = _records(3, 2, rng)
    x, y = parse_records(raw, 2, "t")
    assert x.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(x[1, 4, 5], planes[1, :, 4, 5])  # channels-last: (r, g, b) of pixel (4, 5)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(DatasetFormatError, match="whole number"):
        parse_records(raw[:-1], 2, "t")


def _tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cifar10_binary_archive(home, monkeypatch):
    rng = np.random.default_rng(1)
    batches = {f"cifar-10-batches-bin/data_batch_{i}.bin": _records(4, 1, rng)[2] for i in range(1, 6)}
    batches["cifar-10-batches-bin/test_batch.bin"] = _records(3, 1, rng)[2]
    os.makedirs(cache_dir("cifar10"))
    with open(os.path.join(cache_dir("cifar10"), "cifar-10-binary.tar.gz"), "wb") as f:
        f.write(_tar(batches))
    with pytest.raises(ChecksumError, match="md5"):
        cifar10.load_data(download=False)
    monkeypatch.setattr(cifar10, "RESOURCE", cifar10.RESOURCE.__class__("cifar10", ("cifar-10-binary.tar.gz",)))
    with pytest.raises(DatasetFormatError, match="expected 50000 / 10000"):
        cifar10.load_data(download=False)
    monkeypatch.setattr(cifar10, "N_TRAIN", 20)
    monkeypatch.setattr(cifar10, "N_TEST", 3)
    (x, y), (xt, yt) = cifar10.load_data(download=False)
    assert x.shape == (20, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (20, 1) and y.dtype == np.uint8
    assert xt.shape == (3, 32, 32, 3)


def test_cifar100_binary_archive(home, monkeypatch):
    rng = np.random.default_rng(2)
    train_labels, _, train = _records(5, 2, rng)
    os.makedirs(cache_dir("cifar100"))
    with open(os.path.join(cache_dir("cifar100"), "cifar-100-binary.tar.gz"), "wb") as f:
        f.write(_tar({"cifar-100-binary/train.bin": train, "cifar-100-binary/test.bin": _records(2, 2, rng)[2]}))
    monkeypatch.setattr(cifar100, "RESOURCE", cifar100.RESOURCE.__class__("cifar100", ("cifar-100-binary.tar.gz",)))
    monkeypatch.setattr(cifar100, "N_TRAIN", 5)
    monkeypatch.setattr(cifar100, "N_TEST", 2)
    (x, y), _ = cifar100.load_data(download=False)
    np.testing.assert_array_equal(y[:, 0], train_labels[:, 1])
    (_, yc), _ = cifar100.load_data(label_mode="coarse", download=False)
    np.testing.assert_array_equal(yc[:, 0], train_labels[:, 0])
    assert y.shape == (5, 1) and y.dtype == np.int64
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_cifar_not_a_tar(home):
    os.makedirs(cache_dir("cifar10"))
    with open(os.path.join(cache_dir("cifar10"), "x.tar.gz"), "wb") as f:
        f.write(b"\x1f\x8b garbage")
    from nerve.datasets._cifar import read_tar_members
    with pytest.raises(DatasetFormatError, match="not a readable tar"):
        read_tar_members(os.path.join(cache_dir("cifar10"), "x.tar.gz"), "cifar10", ["a"])


def test_two_spirals_book_values():
    X, y = D.two_spirals(300)
    assert X.shape == (600, 2) and y.tolist() == [0] * 300 + [1] * 300
    np.testing.assert_allclose(X[0], [7.08535569, 5.20423916], atol=1e-8)  # seed-001-part1 §3.2


def test_planar_spiral():
    X, y = D.planar_spiral()
    assert X.shape == (800, 2) and np.bincount(y).tolist() == [400, 400]
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[:400], np.linspace(0.05, 1, 400))
    (xtr, ytr), (xte, yte) = D.spirals.train_test_split(X, y)
    assert xtr.shape == (600, 2) and xte.shape == (200, 2)
    np.testing.assert_array_equal(D.planar_spiral()[0], X)  # deterministic for a seed
    with pytest.raises(ValueError, match="'n'"):
        D.planar_spiral(n=0)


def test_make_classification_and_blobs():
    from sklearn.datasets import make_classification
    kw = dict(n_samples=100, n_features=2, n_informative=2, n_redundant=0, n_repeated=0, n_clusters_per_class=1,
              class_sep=1.5, random_state=5)
    X, y = D.make_classification(**kw)
    Xs, ys = make_classification(**kw)
    np.testing.assert_array_equal(X, Xs)
    np.testing.assert_array_equal(y, ys)
    Xb, yb = D.make_blobs(90, centers=3, seed=0)
    assert Xb.shape == (90, 2) and np.bincount(yb).tolist() == [30, 30, 30]


def test_make_classification_without_sklearn(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    X, y = D.make_classification(n_samples=60, class_sep=3.0, random_state=0)
    assert X.shape == (60, 2) and set(y.tolist()) == {0, 1}
    assert abs(X[y == 0].mean(0) - X[y == 1].mean(0)).max() > 3
    with pytest.raises(ImportError, match=r"nerve\[sklearn\]"):
        D.make_classification(n_redundant=1, n_features=3)
