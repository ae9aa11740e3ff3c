"""``keras.utils.get_file``: a file from a URL, downloaded once into a cache, checked, optionally extracted.

Offline first, as nerve's data sets (datasets/_fetch.py): the cache ``<cache_dir>/<cache_subdir>/<fname>``
(``cache_dir`` defaults to ``NERVE_HOME``, ``~/.nerve``, where Keras uses ``~/.keras``), then the directories
named by ``NERVE_DATA_DIR`` (the file itself or ``<cache_subdir>/<fname>`` in each), then the download:
streamed into a temporary file next to the target, its length and hash checked, moved into place atomically;
a failure leaves no partial file. A cached file whose hash differs is downloaded again (as Keras does).
Archives (tar, tar.gz/bz2/xz, zip) are extracted safely: tar through the ``data`` filter (no absolute paths,
no ``..``, no links or devices out of the target), zip members checked to stay inside the target.
"""
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import zipfile

from ..datasets._fetch import DatasetError, Resource, _stream, nerve_home

_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.bz", ".tar.xz", ".tgz", ".tbz", ".tar", ".zip")


def _hash_algorithm(file_hash, hash_algorithm):
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"get_file: argument 'hash_algorithm' expected 'auto', 'sha256' or 'md5', got "
                         f"{hash_algorithm!r}")
    if hash_algorithm != "auto":
        return hash_algorithm
    return "sha256" if len(file_hash) == 64 else "md5"


def file_hash_of(path, algorithm="sha256", chunk_size=1 << 16):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.hexdigest()


def _matches(path, file_hash, algorithm):
    return file_hash is None or file_hash_of(path, algorithm) == file_hash.lower()


def _download(origin, fpath, file_hash, algorithm, name):
    folder = os.path.dirname(fpath) or "."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"get_file: cannot create the cache directory '{folder}': {e}; pass cache_dir= or set "
                           f"NERVE_HOME to a writable directory") from e
    print(f"Downloading data from {origin}")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(fpath)}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(Resource(dataset=name, filenames=(os.path.basename(fpath),)), origin, out, True)
        if not _matches(tmp, file_hash, algorithm):
            raise DatasetError(f"get_file: checksum mismatch for the download of {origin}: {algorithm} is "
                               f"{file_hash_of(tmp, algorithm)}, expected {file_hash}; nothing was saved")
        os.replace(tmp, fpath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _inside(root, path):
    root = os.path.realpath(root)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar or zip archive into ``path``; True if it was one of the formats tried, else False."""
    if archive_format is None:
        return False
    formats = ("tar", "zip") if archive_format == "auto" else (
        (archive_format,) if isinstance(archive_format, str) else tuple(archive_format))
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as t:
                try:
                    t.extractall(path, filter="data")  # refuses absolute names, '..', links out, devices
                except tarfile.FilterError as e:
                    raise DatasetError(f"get_file: the archive '{file_path}' holds a member that may not be "
                                       f"extracted ({e}); extraction stopped") from e
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as z:
                for member in z.namelist():
                    if not _inside(path, os.path.join(path, member)):
                        raise DatasetError(f"get_file: the archive '{file_path}' holds the member {member!r} "
                                           f"that would be written outside '{path}'; nothing was extracted")
                z.extractall(path)
            return True
        if fmt not in ("tar", "zip"):
            raise ValueError(f"get_file: argument 'archive_format' expected 'auto', 'tar', 'zip' or None, got "
                             f"{archive_format!r}")
    return False


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The local path of the file at URL ``origin`` (downloaded once), or of the folder it was extracted to
    with ``extract=True``. ``file_hash``: its sha256 or md5 (``hash_algorithm='auto'`` tells them by length)."""
    if not origin or not isinstance(origin, str):
        raise ValueError(f"get_file: argument 'origin' expected the URL of the file, got {origin!r}")
    if fname is None:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"get_file: cannot take a file name from origin={origin!r}: pass fname=")
    fname = os.fspath(fname)
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _hash_algorithm(file_hash, hash_algorithm) if file_hash is not None else None
    extract = extract or untar
    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else nerve_home()
    datadir = cache_subdir if os.path.isabs(cache_subdir) else os.path.join(base, cache_subdir)
    if extract and not fname.lower().endswith(_ARCHIVE_SUFFIXES):  # fname names the folder (Keras 3)
        archive = os.path.basename(urllib.parse.urlsplit(origin).path) or fname + ".archive"
        fpath, target = os.path.join(datadir, archive), os.path.join(datadir, fname)
    else:
        fpath = fname if os.path.isabs(fname) else os.path.join(datadir, fname)
        target = fpath + "_extracted"

    found = None
    if not force_download:
        candidates = [fpath] + [os.path.join(d, sub, os.path.basename(fpath))
                                for d in filter(None, os.environ.get("NERVE_DATA_DIR", "").split(os.pathsep))
                                for sub in ("", cache_subdir if not os.path.isabs(cache_subdir) else "")]
        for path in candidates:
            if os.path.isfile(path) and _matches(path, file_hash, algorithm):
                found = path
                break
    if found is None:
        try:
            _download(origin, fpath, file_hash, algorithm, os.path.basename(fpath))
        except DatasetError as e:
            raise DatasetError(f"{e}\nget_file: '{os.path.basename(fpath)}' is not in {datadir} nor in NERVE_DATA_DIR "
                               f"and could not be downloaded. To fix: connect to the network, or copy the file "
                               f"there") from e
        found = fpath
    if not extract:
        return found
    if os.path.isdir(target) and not force_download and os.path.getmtime(target) >= os.path.getmtime(found):
        return target  # extracted before, from this archive
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.", dir=os.path.dirname(target) or ".")
    try:
        if not extract_archive(found, tmp, archive_format):
            raise DatasetError(f"get_file: '{found}' is not a {archive_format} archive (tar or zip); nothing was "
                               f"extracted")
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
