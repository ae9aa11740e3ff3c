"""boston_housing / california_housing (Keras loaders) on fixture files: offline lookup, pinned checksums, a
download from a loopback server, and Keras' shuffle and split."""
import hashlib
import io
import os

import numpy as np
import pytest

from nerve.datasets import DatasetError, _housing, boston_housing, california_housing
from nerve.datasets._fetch import ChecksumError, DatasetFormatError, cache_dir


def _npz_bytes(n, features, seed=0):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    np.savez(buf, x=rng.random((n, features)), y=np.arange(n, dtype=np.float64))
    return buf.getvalue()


def _keras_split(x, y, test_split, seed):
    """Keras 3.15's boston/california split, verbatim."""
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x))
    rng.shuffle(indices)
    x, y = x[indices], y[indices]
    n = int(len(x) * (1 - test_split))
    return (x[:n], y[:n]), (x[n:], y[n:])


def test_boston_from_data_dir_with_keras_split(home, tmp_path, monkeypatch):
    (tmp_path / "boston_fixture.npz").write_bytes(_npz_bytes(30, 13))
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    (x, y), (xt, yt) = boston_housing.load_data(path="boston_fixture.npz", download=False)
    assert boston_housing.last_source == "data_dir"
    assert x.shape == (24, 13) and xt.shape == (6, 13) and y.shape == (24,) and yt.shape == (6,)
    with np.load(tmp_path / "boston_fixture.npz") as f:
        (ex, ey), (ext, eyt) = _keras_split(f["x"], f["y"], 0.2, 113)
    np.testing.assert_array_equal(x, ex)
    np.testing.assert_array_equal(yt, eyt)
    (x2, _), (xt2, _) = boston_housing.load_data(path="boston_fixture.npz", test_split=0.5, seed=1, download=False)
    assert len(x2) == len(xt2) == 15 and not np.array_equal(x2, x[:15])
    (x0, _), (xt0, _) = boston_housing.load_data(path="boston_fixture.npz", test_split=0, download=False)
    assert len(x0) == 30 and len(xt0) == 0


def test_canonical_name_is_checksummed(home, tmp_path, monkeypatch):
    (tmp_path / "boston_housing.npz").write_bytes(_npz_bytes(10, 13))
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    with pytest.raises(ChecksumError, match="boston_housing: checksum mismatch"):
        boston_housing.load_data()


def test_download_then_cache(home, server, monkeypatch):
    body = _npz_bytes(50, 8)
    server.add("/california_housing.npz", body)
    monkeypatch.setattr(_housing, "BASE_URL", server.url + "/")
    monkeypatch.setattr(california_housing, "SHA256", hashlib.sha256(body).hexdigest())
    (x, y), (xt, yt) = california_housing.load_data()
    assert california_housing.last_source == "download"
    assert x.shape == (40, 8) and xt.shape == (10, 8)
    cached = os.path.join(cache_dir("california_housing"), "california_housing.npz")
    assert open(cached, "rb").read() == body
    assert [f for f in os.listdir(cache_dir("california_housing")) if f.endswith(".part")] == []
    (x2, _), _ = california_housing.load_data()
    assert california_housing.last_source == "cache" and np.array_equal(x, x2)


def test_download_checksum_mismatch_saves_nothing(home, server, monkeypatch):
    server.add("/boston_housing.npz", _npz_bytes(5, 13))
    monkeypatch.setattr(_housing, "BASE_URL", server.url + "/")
    with pytest.raises(ChecksumError, match="checksum mismatch for the download of 'boston_housing.npz'"):
        boston_housing.load_data()
    assert os.listdir(cache_dir("boston_housing")) == []


def test_california_versions(home, tmp_path, monkeypatch):
    (tmp_path / "cal.npz").write_bytes(_npz_bytes(700, 8))
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    (x, _), (xt, _) = california_housing.load_data(path="cal.npz", download=False)
    assert len(x) + len(xt) == 700 and len(xt) == 140
    (xs, ys), (xst, yst) = california_housing.load_data(version="small", path="cal.npz", download=False)
    assert len(xs) == 480 and len(xst) == 120
    assert sorted(np.concatenate([ys, yst]).tolist()) == list(range(600))  # the first 600 samples
    with pytest.raises(ValueError, match="california_housing.load_data: argument 'version' expected 'large' or "
                                         "'small', got 'medium'"):
        california_housing.load_data(version="medium")


@pytest.mark.parametrize("test_split", [1, 1.5, -0.1, "0.2", True])
def test_bad_test_split(home, test_split):
    with pytest.raises(ValueError, match="boston_housing.load_data: argument 'test_split' expected a fraction in "
                                         r"\[0, 1\)"):
        boston_housing.load_data(test_split=test_split)


def test_missing_and_malformed_files(home, tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="(?s)boston_housing: file 'boston_housing.npz' not found.*downloading "
                                           "was disabled.*tf-keras-datasets/boston_housing.npz"):
        boston_housing.load_data(download=False)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    (tmp_path / "wrong.npz").write_bytes(_npz_bytes(10, 5))
    with pytest.raises(DatasetError, match=r"should hold numeric arrays 'x' \(samples, 13\) and 'y'"):
        boston_housing.load_data(path="wrong.npz", download=False)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DatasetFormatError, match="boston_housing"):
        boston_housing.load_data(path="junk.npz", download=False)
