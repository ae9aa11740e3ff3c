"""IDX files (LeCun's MNIST format, also Fashion-MNIST): a parser that trusts nothing in the file.

Layout: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32 sizes, then the
values in C order, big-endian. The file must hold exactly prod(sizes) values: anything shorter is truncated,
anything longer is not an IDX file of that shape. Every problem is a ``DatasetFormatError``.
"""
import numpy as np

from ._fetch import DatasetFormatError, read_bytes

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def parse_idx(data, name="idx"):
    """Parse IDX bytes into a native-endian array; ``name`` appears in error messages."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DatasetFormatError(f"{name}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetFormatError(f"{name}: not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    code, ndim = data[2], data[3]
    if code not in _TYPES:
        raise DatasetFormatError(f"{name}: unknown IDX type code 0x{code:02x}")
    if ndim < 1:
        raise DatasetFormatError(f"{name}: IDX file with {ndim} dimensions")
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DatasetFormatError(f"{name}: truncated IDX header ({len(data)} bytes, {ndim} dimensions)")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = _TYPES[code]
    count = 1
    for s in shape:
        count *= s
    need = head + count * dtype.itemsize
    if len(data) != need:
        kind = "truncated" if len(data) < need else "has trailing bytes"
        raise DatasetFormatError(f"{name}: IDX file {kind}: shape {shape} needs {need} bytes, got {len(data)}")
    try:  # an empty array can still claim sizes NumPy cannot index, e.g. (0, 2**32 - 1, 2**32 - 1)
        arr = np.frombuffer(data, dtype=dtype, offset=head, count=count).reshape(shape)
    except ValueError as e:
        raise DatasetFormatError(f"{name}: IDX shape {shape} is not a valid array shape ({e})") from None
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path, dataset="idx"):
    """Read an IDX file (raw or gzipped) from ``path``."""
    return parse_idx(read_bytes(path, dataset), f"{dataset}: '{path}'")


def write_idx(array, path=None):
    """IDX bytes of ``array`` (for tests and tools); written to ``path`` when given."""
    array = np.asarray(array)
    key = array.dtype.str[1:]  # 'u1', 'i2', 'f4', ... without the byte-order character
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    if key not in codes:
        raise ValueError(f"write_idx: unsupported dtype {array.dtype}")
    out = bytes([0, 0, codes[key], array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    out += np.ascontiguousarray(array.astype(array.dtype.newbyteorder(">"))).tobytes()
    if path is not None:
        with open(path, "wb") as f:
            f.write(out)
    return out
