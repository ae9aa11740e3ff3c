"""nerve.utils.get_file (keras.utils.get_file) against a loopback server: cache, hashes, NERVE_DATA_DIR,
safe extraction, and failures that leave no partial file."""
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from nerve.datasets._fetch import DatasetError
from nerve.utils import get_file

TEXT = b"To be, or not to be, that is the question.\n" * 50


def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def files_under(path):
    return sorted(os.path.relpath(os.path.join(r, f), path) for r, _, fs in os.walk(path) for f in fs)


def test_download_then_cache(home, server):
    url = server.add("/pg100.txt", TEXT)
    path = get_file("pg100.txt", origin=url)
    assert path == os.path.join(str(home), "datasets", "pg100.txt")
    assert open(path, "rb").read() == TEXT
    assert get_file("pg100.txt", origin=server.url + "/gone") == path  # cached: no request made
    assert get_file(origin=url, cache_dir=str(home / "k"), cache_subdir="texts") == \
        os.path.join(str(home / "k"), "texts", "pg100.txt")  # fname from the URL


def test_hashes_checked_and_a_stale_cache_downloaded_again(home, server):
    url = server.add("/pg100.txt", TEXT)
    sha, md5 = hashlib.sha256(TEXT).hexdigest(), hashlib.md5(TEXT).hexdigest()
    path = get_file("pg100.txt", url, file_hash=sha)
    assert get_file("pg100.txt", url, file_hash=md5) == path  # 'auto' tells md5 by its length
    with open(path, "wb") as f:
        f.write(b"stale")
    get_file("pg100.txt", url, file_hash=sha)
    assert open(path, "rb").read() == TEXT
    bad = server.add("/bad.txt", TEXT + b"!")
    with pytest.raises(DatasetError, match=r"checksum mismatch for the download .*nothing was saved"):
        get_file("bad.txt", bad, file_hash=sha)
    assert sorted(os.listdir(home / "datasets")) == ["pg100.txt"]  # no partial file


def test_offline_from_nerve_data_dir(home, tmp_path, monkeypatch):
    d = tmp_path / "data"
    (d / "datasets").mkdir(parents=True)
    (d / "datasets" / "pg100.txt").write_bytes(TEXT)
    monkeypatch.setenv("NERVE_DATA_DIR", str(d))
    assert get_file("pg100.txt", "http://127.0.0.1:9/pg100.txt") == str(d / "datasets" / "pg100.txt")


def test_unreachable_names_the_file_and_leaves_nothing(home):
    with pytest.raises(DatasetError, match=r"'pg100.txt' is not in .* and could not be downloaded"):
        get_file("pg100.txt", "http://127.0.0.1:9/pg100.txt")
    assert files_under(str(home)) == []


def test_extract_tar_and_zip(home, server):
    url = server.add("/flowers.tgz", tar_gz({"flowers/a.txt": b"a", "flowers/b/c.txt": b"c"}))
    folder = get_file("flower_photos", url, extract=True)  # no extension: fname names the folder
    assert folder == os.path.join(str(home), "datasets", "flower_photos")
    assert files_under(folder) == ["flowers/a.txt", "flowers/b/c.txt"]
    assert get_file("flower_photos", url, extract=True) == folder  # extracted once
    zurl = server.add("/z.zip", zip_bytes({"x/y.txt": b"y"}))
    zfolder = get_file("z.zip", zurl, extract=True)
    assert zfolder.endswith("z.zip_extracted") and files_under(zfolder) == ["x/y.txt"]


@pytest.mark.parametrize("make, name", [(tar_gz, "evil.tgz"), (zip_bytes, "evil.zip")])
def test_archives_that_escape_are_refused(home, server, make, name):
    url = server.add("/" + name, make({"../../escaped.txt": b"x"}))
    with pytest.raises(DatasetError, match="extract"):
        get_file(name, url, extract=True)
    assert not os.path.exists(home / "escaped.txt") and not os.path.exists(home.parent / "escaped.txt")


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"get_file: argument 'origin' expected the URL of the file, got None"):
        get_file("x.txt")
    with pytest.raises(ValueError, match=r"get_file: argument 'hash_algorithm' expected"):
        get_file("x.txt", "http://127.0.0.1:9/x", file_hash="ab", hash_algorithm="sha1")
