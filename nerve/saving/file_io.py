"""Atomic writes and validated reads of zip archives and npz arrays (no pickle, nothing executed).

Writes go to a temporary file in the target's directory, are flushed and fsync'ed, then renamed over
the target with ``os.replace`` (atomic on POSIX and Windows): a crash leaves the old file or the new
one, never half of one. Reads check every member name against an allow-list, every size against a
limit, and load arrays with ``np.load(allow_pickle=False)`` keeping only plain numeric arrays.
"""
import io
import json
import os
import tempfile
import tokenize
import zipfile
import zlib

import numpy as np

MAX_JSON_BYTES = 64 * 2**20          # one JSON member (configs, states)
MAX_ARRAYS_BYTES = 16 * 2**30        # one npz member (all weights of a model)
_NUMERIC_KINDS = "biuf"              # bool, int, uint, float: nothing else is ever loaded


class ArchiveError(ValueError):
    """A saved file is corrupt, truncated, crafted or does not match what is being loaded."""


def atomic_write(path, write, mode="wb"):
    """Call ``write(fileobj)`` on a temporary file next to ``path``, then rename it to ``path``."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def npz_bytes(arrays):
    """Serialise ``{key: array}`` to npz bytes (numeric arrays only, never object arrays)."""
    clean = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        a = a if a.flags.c_contiguous else np.ascontiguousarray(a)  # not for 0-d: ascontiguousarray gives (1,)
        if a.dtype.kind not in _NUMERIC_KINDS:
            raise TypeError(f"saving: array {k!r} has dtype {a.dtype}; only numeric arrays can be saved")
        clean[k] = a
    buf = io.BytesIO()
    np.savez(buf, **clean)
    return buf.getvalue()


def write_zip(path, members):
    """Atomically write a zip of ``{name: bytes or str}`` (deflated JSON, stored arrays)."""
    def write(f):
        with zipfile.ZipFile(f, "w") as z:
            for name, data in members.items():
                if isinstance(data, str):
                    data = data.encode("utf-8")
                comp = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
                z.writestr(name, data, compress_type=comp)
    atomic_write(path, write)


def json_dumps(obj):
    return json.dumps(obj, indent=2, default=_json_default)


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"saving: cannot write an object of type {type(o).__name__} to JSON")


def _check_member_name(name, what):
    bad = (not name or name.startswith(("/", "\\")) or "\\" in name or ":" in name or "\x00" in name
           or any(part in ("..", ".") for part in name.split("/")))
    if bad:
        raise ArchiveError(f"{what}: refusing unsafe member name {name!r} (absolute path or path traversal)")


def read_zip(path, allowed, required, what):
    """Open ``path`` as a zip and return ``{name: bytes}`` after validating names and sizes.

    ``allowed``: the member names that may appear; ``required``: those that must. Anything else, a
    traversal name, an over-size member, a truncated or corrupt zip raises ``ArchiveError``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no such file: {path!r}")
    if os.path.isdir(path):
        raise ArchiveError(f"{what}: {path!r} is a directory, expected a file")
    try:
        z = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise ArchiveError(f"{what}: {path!r} is not a valid zip archive (truncated or corrupt?): {e}") from None
    out = {}
    with z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        for n in names:
            _check_member_name(n, what)
        if len(set(names)) != len(names):
            raise ArchiveError(f"{what}: {path!r} has duplicate member names")
        unexpected = sorted(set(names) - set(allowed))
        if unexpected:
            raise ArchiveError(f"{what}: {path!r} has unexpected members {unexpected}; expected only "
                               f"{sorted(allowed)}")
        missing = sorted(set(required) - set(names))
        if missing:
            raise ArchiveError(f"{what}: {path!r} is missing {missing} (not a nerve file, or truncated)")
        for info in infos:
            limit = MAX_JSON_BYTES if info.filename.endswith(".json") else MAX_ARRAYS_BYTES
            if info.file_size > limit:
                raise ArchiveError(f"{what}: member {info.filename!r} declares {info.file_size} bytes, over the "
                                   f"limit of {limit}")
            try:
                with z.open(info) as f:
                    data = f.read(limit + 1)  # never trust the declared size (zip bombs)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError,
                    NotImplementedError) as e:
                raise ArchiveError(f"{what}: member {info.filename!r} of {path!r} cannot be read (truncated or "
                                   f"corrupt?): {e}") from None
            if len(data) > limit:
                raise ArchiveError(f"{what}: member {info.filename!r} is over the limit of {limit} bytes")
            out[info.filename] = data
    return out


def parse_json(data, member, what):
    """Decode a JSON member that must be an object (dict)."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ArchiveError(f"{what}: {member!r} is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ArchiveError(f"{what}: {member!r} must hold a JSON object, got {type(obj).__name__}")
    return obj


def load_npz(data, member, what):
    """``{key: ndarray}`` from npz bytes: plain numeric arrays only, ``allow_pickle=False``, nothing run."""
    if not data.startswith(b"PK"):
        raise ArchiveError(f"{what}: {member!r} is not an npz archive (found {data[:8]!r}...; pickled or "
                           f"marshalled data is never loaded)")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        inner = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        raise ArchiveError(f"{what}: {member!r} is a corrupt npz archive: {e}") from None
    for info in inner:
        if not info.filename.endswith(".npy"):
            raise ArchiveError(f"{what}: {member!r} holds {info.filename!r}, which is not a .npy array")
        if info.file_size > MAX_ARRAYS_BYTES:
            raise ArchiveError(f"{what}: array {info.filename!r} in {member!r} is over the size limit")
    out = {}
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            for key in npz.files:
                try:
                    a = npz[key]
                except ValueError as e:  # object arrays ask for pickle: refused; or truncated data
                    why = "object arrays and pickles are refused" if "pickle" in str(e) else "truncated or corrupt"
                    raise ArchiveError(f"{what}: array {key!r} in {member!r} cannot be loaded safely ({e}); "
                                       f"{why}") from None
                if not isinstance(a, np.ndarray) or a.dtype.kind not in _NUMERIC_KINDS:
                    kind = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
                    raise ArchiveError(f"{what}: entry {key!r} in {member!r} is not a numeric array (got {kind}); "
                                       f"refused")
                out[key] = a
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError, RuntimeError,
            NotImplementedError, SyntaxError, tokenize.TokenError) as e:  # a mangled .npy header: TokenError
        raise ArchiveError(f"{what}: {member!r} cannot be read as npz: {e}") from None
    return out
