"""The lookup chain (cache, system, NERVE_DATA_DIR, installed package, download) and its failures
(checksum mismatch, truncated download, unreachable URL, HTTP error): a clear DatasetError, no partial file."""
import gzip
import hashlib
import os

import numpy as np
import pytest

from nerve.datasets import _fetch
from nerve.datasets._fetch import ChecksumError, DatasetError, DatasetFormatError, Resource, cache_dir, locate
from nerve.datasets._idx import read_idx, write_idx

from tests.datasets.helpers import closed_port_url

TOY = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
TOY_BYTES = write_idx(TOY)
TOY_SHA = hashlib.sha256(TOY_BYTES).hexdigest()


def toy(urls=(), sha=TOY_SHA, **kw):
    return Resource("toy", ("toy-idx3-ubyte",), urls=tuple(urls), sha256=sha, **kw)


def put(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def no_files_left(home):
    d = cache_dir("toy")
    return not os.path.isdir(d) or os.listdir(d) == []


def test_nerve_home_default(monkeypatch):
    monkeypatch.delenv("NERVE_HOME", raising=False)
    assert cache_dir("x") == os.path.join(os.path.expanduser("~"), ".nerve", "datasets", "x")


def test_cache_location(home):
    p = put(os.path.join(cache_dir("toy"), "toy-idx3-ubyte"), TOY_BYTES)
    path, source = locate(toy())
    assert (path, source) == (p, "cache")
    np.testing.assert_array_equal(read_idx(path), TOY)


def test_system_location(home, tmp_path, monkeypatch):
    sysdir = tmp_path / "usr_share"
    p = put(sysdir / "toy-idx3-ubyte", TOY_BYTES)
    monkeypatch.setattr(_fetch, "SYSTEM_DIRS", {"toy": (str(sysdir),)})
    assert locate(toy()) == (p, "system")


@pytest.mark.parametrize("sub", ["", "toy"])
def test_data_dir_location(home, tmp_path, monkeypatch, sub):
    d = tmp_path / "data"
    p = put(os.path.join(d, sub, "toy-idx3-ubyte"), TOY_BYTES)
    monkeypatch.setenv("NERVE_DATA_DIR", str(d))
    path, source = locate(toy())
    assert source == "data_dir" and os.path.samefile(path, p)


def test_data_dir_list(home, tmp_path, monkeypatch):
    p = put(tmp_path / "second" / "toy-idx3-ubyte", TOY_BYTES)
    monkeypatch.setenv("NERVE_DATA_DIR", os.pathsep.join([str(tmp_path / "first"), str(tmp_path / "second")]))
    assert locate(toy()) == (p, "data_dir")


def test_package_location(home, tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "toypkg"
    put(pkg / "__init__.py", b"raise RuntimeError('the package must not be imported')\n")
    p = put(pkg / "data" / "toy-idx3-ubyte", TOY_BYTES)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    path, source = locate(toy(package=("toypkg", "data/toy-idx3-ubyte")))
    assert source == "package" and os.path.samefile(path, p)


def test_gz_and_raw_names_with_content_checksum(home, tmp_path, monkeypatch):
    res = Resource("toy", ("toy-idx3-ubyte.gz", "toy-idx3-ubyte"), content_sha256=TOY_SHA)
    d = tmp_path / "data"
    monkeypatch.setenv("NERVE_DATA_DIR", str(d))
    put(d / "toy-idx3-ubyte.gz", gzip.compress(TOY_BYTES, mtime=0))
    path, _ = locate(res)
    np.testing.assert_array_equal(read_idx(path), TOY)
    os.unlink(path)
    put(d / "toy-idx3-ubyte", TOY_BYTES)
    path, _ = locate(res)
    assert path.endswith("toy-idx3-ubyte")


def test_cache_takes_precedence(home, tmp_path, monkeypatch):
    d = tmp_path / "data"
    put(d / "toy-idx3-ubyte", TOY_BYTES)
    monkeypatch.setenv("NERVE_DATA_DIR", str(d))
    put(os.path.join(cache_dir("toy"), "toy-idx3-ubyte"), TOY_BYTES)
    assert locate(toy())[1] == "cache"


def test_download_then_cache(home, server):
    url = server.add("/toy", TOY_BYTES)
    path, source = locate(toy([url]), verbose=False)
    assert source == "download" and path == os.path.join(cache_dir("toy"), "toy-idx3-ubyte")
    np.testing.assert_array_equal(read_idx(path), TOY)
    assert os.listdir(cache_dir("toy")) == ["toy-idx3-ubyte"]
    assert locate(toy([url]))[1] == "cache"


def test_download_progress_for_large_files(home, server, capsys):
    big = bytes(3 << 20)
    url = server.add("/big", big)
    locate(Resource("toy", ("big.bin",), urls=(url,), sha256=hashlib.sha256(big).hexdigest()))
    assert "100%" in capsys.readouterr().err


def test_download_falls_back_to_second_url(home, server):
    url = server.add("/toy", TOY_BYTES)
    assert locate(toy([closed_port_url(), url]))[1] == "download"


def test_download_checksum_mismatch(home, server):
    url = server.add("/toy", TOY_BYTES[:-1] + b"\x99")
    with pytest.raises(ChecksumError, match=r"toy: checksum mismatch for the download.*nothing was saved"):
        locate(toy([url]))
    assert no_files_left(home)


def test_truncated_download(home, server):
    url = server.add("/toy", TOY_BYTES[:20], declared_length=len(TOY_BYTES))
    with pytest.raises(DatasetError) as e:
        locate(toy([url]))
    msg = str(e.value)
    assert "toy" in msg and ("truncated" in msg or "broke off" in msg) and "NERVE_DATA_DIR" in msg
    assert no_files_left(home)


def test_unreachable_url(home):
    with pytest.raises(DatasetError) as e:
        locate(toy([closed_port_url()]))
    msg = str(e.value)
    assert "toy" in msg and "looked in" in msg and cache_dir("toy") in msg and "To fix" in msg
    assert isinstance(e.value, OSError)
    assert no_files_left(home)


def test_http_error(home, server):
    with pytest.raises(DatasetError, match="404"):
        locate(toy([server.url + "/missing"]))
    assert no_files_left(home)


def test_no_url_and_no_file(home):
    with pytest.raises(DatasetError, match="no download URL is known"):
        locate(toy())


def test_local_checksum_mismatch(home):
    p = put(os.path.join(cache_dir("toy"), "toy-idx3-ubyte"), TOY_BYTES[:-1] + b"\x01")
    with pytest.raises(ChecksumError) as e:
        locate(toy())
    assert p in str(e.value) and "delete it" in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, OSError)


def test_truncated_local_files(home, tmp_path):
    p = put(tmp_path / "t.idx", TOY_BYTES[:-3])
    with pytest.raises(DatasetFormatError, match="truncated"):
        read_idx(p, "toy")
    g = put(tmp_path / "t.idx.gz", gzip.compress(TOY_BYTES)[:-6])
    with pytest.raises(DatasetFormatError, match="corrupt or truncated gzip"):
        read_idx(g, "toy")
