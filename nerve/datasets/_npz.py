"""npz archives read without ``np.load``'s trust in the file, and object arrays without arbitrary pickles.

``parse_npz`` opens the zip itself, reads each ``.npy`` member's header, checks that the data length matches
the declared shape and dtype, and builds the array with ``np.frombuffer``. Object arrays (Keras' ``imdb.npz``
and ``reuters.npz`` hold object arrays of Python lists, stored as pickles) are refused unless
``allow_object=True``; then the pickle is read by ``SafeUnpickler``, which resolves only the handful of NumPy
globals needed to rebuild an ndarray (plus ``_codecs.encode``, which protocol 2 uses for bytes): any other
global (``os.system``, ``builtins.eval``, ...) is refused before it can be called, so a crafted file cannot
execute code. Every problem is a ``DatasetFormatError``.
"""
import _codecs
import io
import pickle
import zipfile

import numpy as np

from ._fetch import DatasetFormatError

MAX_MEMBER_BYTES = 1 << 31  # refuse members that claim more than 2 GiB


def _np_fn(fn):
    try:
        from numpy._core import multiarray as m
    except ImportError:  # numpy < 2
        from numpy.core import multiarray as m
    return getattr(m, fn)


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that only resolves NumPy's array-reconstruction globals (see the module docstring)."""
    _ALLOWED = None

    def find_class(self, module, name):
        if SafeUnpickler._ALLOWED is None:
            SafeUnpickler._ALLOWED = {(m, n): _np_fn(n) for m in ("numpy.core.multiarray", "numpy._core.multiarray")
                                      for n in ("_reconstruct", "scalar")}
            SafeUnpickler._ALLOWED.update({("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                           ("_codecs", "encode"): _codecs.encode})  # protocol-2 bytes
        try:
            return SafeUnpickler._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}': only NumPy array "
                                         f"reconstruction is allowed") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def safe_unpickle(data, name="pickle"):
    """Unpickle ``data`` allowing only NumPy array reconstruction; DatasetFormatError otherwise."""
    try:
        return SafeUnpickler(io.BytesIO(data), encoding="latin1").load()  # latin1: Python 2 pickles
    except RecursionError as e:
        raise DatasetFormatError(f"{name}: pickle nested too deeply") from e
    except Exception as e:  # noqa: BLE001 - a malformed pickle can raise almost anything
        raise DatasetFormatError(f"{name}: unsafe or malformed pickle: {e}") from e


def _parse_npy(data, name, allow_object):
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:  # noqa: BLE001 - header parsing of hostile bytes
        raise DatasetFormatError(f"{name}: bad .npy header: {e}") from e
    offset = fp.tell()
    if dtype.hasobject:
        if not allow_object:
            raise DatasetFormatError(f"{name}: holds an object array (a pickle), which is not allowed here")
        arr = safe_unpickle(data[offset:], name)
        if not isinstance(arr, np.ndarray):
            raise DatasetFormatError(f"{name}: object pickle did not hold an array")
        return arr
    if dtype.itemsize == 0 and dtype.names is None and dtype.kind not in "SUV":
        raise DatasetFormatError(f"{name}: zero-size dtype {dtype}")
    count = 1
    for s in shape:
        count *= int(s)
    need = count * dtype.itemsize
    if len(data) - offset != need:
        raise DatasetFormatError(f"{name}: array data is {len(data) - offset} bytes, shape {shape} of {dtype} "
                                 f"needs {need} (truncated or corrupt)")
    try:
        arr = np.frombuffer(data, dtype=dtype, offset=offset, count=count)
        return arr.reshape(shape, order="F" if fortran else "C").copy()
    except Exception as e:  # noqa: BLE001
        raise DatasetFormatError(f"{name}: cannot build array: {e}") from e


def parse_npz(data, name="npz", allow_object=False):
    """npz bytes -> {key: array}."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DatasetFormatError(f"{name}: expected bytes, got {type(data).__name__}")
    out = {}
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.file_size > MAX_MEMBER_BYTES:
                    raise DatasetFormatError(f"{name}: member {info.filename} claims {info.file_size} bytes")
                out[info.filename[:-4]] = _parse_npy(zf.read(info), f"{name}[{info.filename[:-4]}]", allow_object)
    except DatasetFormatError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile raises BadZipFile, ValueError, OSError, EOFError, ...
        raise DatasetFormatError(f"{name}: not a valid npz archive: {e}") from e
    if not out:
        raise DatasetFormatError(f"{name}: npz archive holds no arrays")
    return out


def read_npz(path, dataset="npz", allow_object=False):
    from ._fetch import read_bytes
    return parse_npz(read_bytes(path, dataset, decompress=False), f"{dataset}: '{path}'", allow_object)


def write_npz(path, **arrays):
    """Compressed npz of plain (non-object) arrays, written atomically (temporary file + os.replace)."""
    import os
    import tempfile
    for k, v in arrays.items():
        if np.asarray(v).dtype.hasobject:
            raise ValueError(f"write_npz: array {k!r} has dtype object; only plain arrays are written")
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
