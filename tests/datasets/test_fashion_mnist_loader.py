"""Fashion-MNIST: the real Debian files (system location and NERVE_DATA_DIR), pinned content checksums,
and the embedded subset fallback."""
import os

import numpy as np
import pytest

from nerve.datasets import DatasetError, fashion_mnist
from nerve.datasets import _fetch
from nerve.datasets._fetch import ChecksumError, cache_dir

from tests.datasets.helpers import DEBIAN_FASHION

NAMES = [f"{n}.gz" for n, _, _ in fashion_mnist.FILES.values()]
have_debian = all(os.path.isfile(os.path.join(DEBIAN_FASHION, n)) for n in NAMES)
needs_debian = pytest.mark.skipif(not have_debian, reason=f"Fashion-MNIST IDX files not found in {DEBIAN_FASHION} "
                                                         f"(Debian package dataset-fashion-mnist)")


def check_full(train, test):
    (x, y), (xt, yt) = train, test
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8 and y.shape == (60000,) and y.dtype == np.uint8
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(yt).tolist() == [1000] * 10
    assert y[:5].tolist() == [9, 0, 0, 3, 0]


@needs_debian
def test_debian_system_location(home, monkeypatch):
    monkeypatch.setattr(_fetch, "SYSTEM_DIRS", {"fashion_mnist": (DEBIAN_FASHION,)})
    train, test, source = fashion_mnist.load_data(return_source=True, download=False)
    check_full(train, test)
    assert source.startswith("full: system") and fashion_mnist.last_source == source


@needs_debian
def test_debian_files_via_data_dir(home, tmp_path, monkeypatch):
    d = tmp_path / "data" / "fashion_mnist"
    d.mkdir(parents=True)
    for n in NAMES:
        os.symlink(os.path.join(DEBIAN_FASHION, n), d / n)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path / "data"))
    train, test, source = fashion_mnist.load_data(return_source=True, download=False)
    check_full(train, test)
    assert "data_dir" in source


@needs_debian
def test_corrupt_copy_in_cache_is_refused(home):
    import gzip
    raw = bytearray(gzip.decompress(open(os.path.join(DEBIAN_FASHION, "t10k-labels-idx1-ubyte.gz"), "rb").read()))
    raw[100] ^= 1
    os.makedirs(cache_dir("fashion_mnist"))
    p = os.path.join(cache_dir("fashion_mnist"), "t10k-labels-idx1-ubyte")
    with open(p, "wb") as f:
        f.write(raw)
    for n in NAMES[:3]:
        os.symlink(os.path.join(DEBIAN_FASHION, n), os.path.join(cache_dir("fashion_mnist"), n))
    with pytest.raises(ChecksumError, match="decompressed content"):
        fashion_mnist.load_data(download=False)


def test_embedded_fallback(home, caplog):
    with pytest.raises(DatasetError, match="allow_embedded=True"):
        fashion_mnist.load_data(download=False)
    with caplog.at_level("WARNING", logger="nerve.datasets"):
        (x, y), (xt, yt), source = fashion_mnist.load_data(allow_embedded=True, return_source=True, download=False)
    assert source.startswith("embedded subset") and fashion_mnist.last_source == source
    assert "embedded subset" in caplog.text
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8 and xt.shape == (2000, 28, 28)
    assert np.bincount(y).tolist() == [1000] * 10 and np.bincount(yt).tolist() == [200] * 10
    assert 60 < x.mean() < 90  # real images (the full training set's mean pixel is 72.9)


def test_embedded_file_is_small():
    assert os.path.getsize(fashion_mnist.EMBEDDED) < 8e6


@needs_debian
def test_embedded_subset_is_real_data(home, monkeypatch):
    monkeypatch.setattr(_fetch, "SYSTEM_DIRS", {"fashion_mnist": (DEBIAN_FASHION,)})
    full, _ = fashion_mnist.load_full(download=False)
    sub = np.load(fashion_mnist.EMBEDDED)
    np.testing.assert_array_equal(full["x_train"][sub["train_index"]], sub["x_train"])
    np.testing.assert_array_equal(full["y_test"][sub["test_index"]], sub["y_test"])


def test_unreachable_download_falls_back(home, monkeypatch):
    from tests.datasets.helpers import closed_port_url
    monkeypatch.setattr(fashion_mnist, "BASE_URLS", (closed_port_url().rsplit("/", 1)[0] + "/",))
    with pytest.raises(DatasetError, match="download failed"):
        fashion_mnist.load_data()
    assert not os.path.isdir(cache_dir("fashion_mnist")) or os.listdir(cache_dir("fashion_mnist")) == []
    assert fashion_mnist.load_data(allow_embedded=True, return_source=True)[2].startswith("embedded")
