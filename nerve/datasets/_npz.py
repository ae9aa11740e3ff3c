"""npz archives read without ``np.load``'s trust in the file, and object arrays without arbitrary pickles.

``parse_npz`` opens the zip itself, reads each ``.npy`` member's header, checks that the data length matches
the declared shape and dtype, and builds the array with ``np.frombuffer``. Object arrays (Keras' ``imdb.npz``
and ``reuters.npz`` hold object arrays of Python lists, stored as pickles) are refused unless
``allow_object=True``; then the pickle is read by ``SafeUnpickler``, which resolves only the handful of NumPy
globals needed to rebuild an ndarray (plus ``_codecs.encode``, which protocol 2 uses for bytes), and those to
stand-ins that check shape, dtype and data before an array is made: any other global (``os.system``,
``builtins.eval``, ...) is refused before it can be called, so a crafted file cannot execute code, and NumPy's
own ``__setstate__`` (which trusts its input) never runs. Every problem is a ``DatasetFormatError``.
"""
import _codecs
import io
import pickle
import warnings
import zipfile

import numpy as np

from ._fetch import DatasetFormatError

MAX_MEMBER_BYTES = 1 << 31  # refuse members that claim more than 2 GiB


class _Array:
    """What a pickle's ``_reconstruct(ndarray, ...)`` makes here: an empty shell that BUILD (``__setstate__``)
    fills with an array made by ``_array_from_state`` after checking the state. NumPy's own
    ``ndarray.__setstate__`` trusts it: an object array whose shape claims more items than its list holds
    reads past the list (a segmentation fault, found by tests/datasets/test_fuzz.py)."""
    __slots__ = ("array",)

    def __init__(self):
        self.array = None

    def __setstate__(self, state):
        self.array = _array_from_state(state)


class _Dtype:
    """``numpy.dtype(code, align, copy)`` from a pickle, made real by ``_as_dtype`` (byte order from BUILD)."""
    __slots__ = ("code", "order")

    def __init__(self, code, align=False, copy=False):
        if not isinstance(code, str):
            raise pickle.UnpicklingError(f"dtype code must be a string, got {type(code).__name__}")
        self.code, self.order = code, None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", ">", "|", "="):
            raise pickle.UnpicklingError(f"unsupported dtype state {state!r:.80}")
        if len(state) > 3 and (state[2] is not None or state[3] is not None):
            raise pickle.UnpicklingError("structured dtypes are not supported in pickles")
        self.order = state[1]


_NDARRAY = ("numpy.ndarray",)  # a token for the class, never called


def _reconstruct(cls, shape, typecode):
    if cls is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct: only numpy.ndarray can be reconstructed")
    return _Array()


def _as_dtype(d):
    if isinstance(d, np.dtype) and d.names is None:
        return d
    if not isinstance(d, _Dtype):
        raise pickle.UnpicklingError(f"expected a dtype, got {type(d).__name__}")
    try:
        dt = np.dtype(d.code)
    except Exception as e:  # noqa: BLE001 - np.dtype of hostile strings
        raise pickle.UnpicklingError(f"bad dtype code {d.code!r:.40}: {e}") from None
    if dt.names is not None or dt.subdtype is not None or dt.itemsize == 0:
        raise pickle.UnpicklingError(f"unsupported dtype {d.code!r:.40}")
    return dt.newbyteorder(d.order) if d.order in ("<", ">") else dt


def _scalar(d, data):
    dt = _as_dtype(d)
    if dt.hasobject:
        return data
    if not isinstance(data, bytes) or len(data) != dt.itemsize:
        raise pickle.UnpicklingError(f"a {dt} scalar needs {dt.itemsize} bytes")
    return np.frombuffer(data, dt)[0]


def _frombuffer(buf, dtype, shape, order):
    """Protocol 5's plain arrays: ``numpy._core.numeric._frombuffer(buffer, dtype, shape, order)``, checked."""
    if isinstance(buf, (bytearray, memoryview)):
        buf = bytes(buf)
    return _array_from_state((shape, dtype, order == "F", buf))


def _array_from_state(state):
    """ndarray's pickle state ``(version, shape, dtype, is_fortran, data)`` checked, then built: ``data`` is
    the raw bytes of a plain array, or the list of items of an object array (arrays inside it already built)."""
    if not isinstance(state, tuple) or len(state) not in (4, 5):
        raise pickle.UnpicklingError("ndarray state must be a tuple of 4 or 5 items")
    shape, dtype, fortran, data = state[-4:]
    if not isinstance(shape, tuple) or not all(type(n) is int and 0 <= n < 1 << 40 for n in shape) \
            or len(shape) > 32:
        raise pickle.UnpicklingError(f"bad array shape {shape!r:.80}")
    dt = _as_dtype(dtype)
    count = 1
    for n in shape:
        count *= n
    order = "F" if fortran else "C"
    if dt.hasobject:
        if not isinstance(data, list) or len(data) != count:
            raise pickle.UnpicklingError(f"object array of shape {shape} needs a list of {count} items, got "
                                         f"{len(data) if isinstance(data, list) else type(data).__name__}")
        arr = np.empty(count, dtype=object)
        for i, v in enumerate(data):
            if isinstance(v, _Array):  # an array inside: built (BUILD) before it was appended
                if v.array is None:
                    raise pickle.UnpicklingError("array used before its state was set")
                v = v.array
            arr[i] = v
        return arr.reshape(shape, order=order)
    if not isinstance(data, bytes) or len(data) != count * dt.itemsize:
        raise pickle.UnpicklingError(f"array of shape {shape} of {dt} needs {count * dt.itemsize} bytes")
    return np.frombuffer(data, dtype=dt, count=count).reshape(shape, order=order).copy(order="A")


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only NumPy's array-reconstruction globals, to checked stand-ins (see the
    module docstring): no NumPy constructor ever sees the file's data unchecked."""
    _ALLOWED = {**{(m, n): f for m in ("numpy.core.multiarray", "numpy._core.multiarray")
                   for n, f in (("_reconstruct", _reconstruct), ("scalar", _scalar))},
                **{(m, "_frombuffer"): _frombuffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
                ("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _Dtype,
                ("_codecs", "encode"): _codecs.encode}  # protocol-2 bytes

    def find_class(self, module, name):
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
        out = SafeUnpickler(io.BytesIO(data), encoding="latin1").load()  # latin1: Python 2 pickles
        if isinstance(out, np.ndarray):  # protocol 5's _frombuffer
            return out
        if not isinstance(out, _Array) or out.array is None:
            raise pickle.UnpicklingError("the pickle holds no array")
        return out.array
    except RecursionError as e:
        raise DatasetFormatError(f"{name}: pickle nested too deeply") from e
    except Exception as e:  # noqa: BLE001 - a malformed pickle can raise almost anything
        raise DatasetFormatError(f"{name}: unsafe or malformed pickle: {e}") from e


def _parse_npy(data, name, allow_object):
    fp = io.BytesIO(data)
    try:
        with warnings.catch_warnings():  # a mangled header makes NumPy warn (Python 2 headers) before failing
            warnings.simplefilter("ignore")
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
