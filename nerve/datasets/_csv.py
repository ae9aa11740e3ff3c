"""CSV parsing in pure Python / NumPy (no pandas): a header row, then rectangular rows.

``parse_csv`` returns ``(header, columns)`` where each column is a NumPy array: float64 when every non-missing
cell parses as a number (missing cells, by default '' / 'NA' / '?', become NaN), bool when every cell is
TRUE/FALSE, otherwise an object array of str (missing cells stay as written). Every problem (not text, ragged
rows, no header, empty file) is a ``DatasetFormatError`` naming the file and the line.
"""
import csv
import io

import numpy as np

from ._fetch import DatasetFormatError, read_bytes

NA = ("", "NA", "?", "NaN", "nan")


def decode_text(data, name="csv"):
    """bytes -> str: UTF-8 (BOM dropped), falling back to Latin-1 for files with stray 8-bit bytes."""
    if isinstance(data, str):
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DatasetFormatError(f"{name}: expected bytes or str, got {type(data).__name__}")
    data = bytes(data)
    if b"\x00" in data:
        raise DatasetFormatError(f"{name}: not a text file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_rows(data, name="csv", header=True):
    """(header or None, list of rows); rows must all have the header's length."""
    text = decode_text(data, name)
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    except (csv.Error, ValueError) as e:
        raise DatasetFormatError(f"{name}: malformed CSV: {e}") from e
    if not rows:
        raise DatasetFormatError(f"{name}: empty CSV file")
    head = rows[0] if header else None
    body = rows[1:] if header else rows
    width = len(rows[0])
    for i, r in enumerate(body):
        if len(r) != width:
            raise DatasetFormatError(f"{name}: row {i + 1 + bool(header)} has {len(r)} fields, expected {width}")
    if header and len(set(head)) != len(head):
        raise DatasetFormatError(f"{name}: duplicate column names in header {head}")
    return head, body


def convert_column(cells, na=NA):
    """One column of strings -> float64 (NaN for missing), bool, or object str array."""
    if cells and all(c.upper() in ("TRUE", "FALSE") for c in cells):
        return np.array([c.upper() == "TRUE" for c in cells], dtype=bool)
    out = np.empty(len(cells), dtype=np.float64)
    for i, c in enumerate(cells):
        c = c.strip()
        if c in na:
            out[i] = np.nan
            continue
        try:
            out[i] = float(c)
        except ValueError:
            arr = np.empty(len(cells), dtype=object)
            arr[:] = cells
            return arr
    return out


def parse_csv(data, name="csv", na=NA):
    """CSV bytes/str with a header -> (header list, {column: array})."""
    head, body = parse_rows(data, name, header=True)
    cols = list(zip(*body)) if body else [()] * len(head)
    return head, {h: convert_column(list(c), na) for h, c in zip(head, cols)}


def read_csv(path, dataset="csv", na=NA):
    return parse_csv(read_bytes(path, dataset), f"{dataset}: '{path}'", na)
