"""Loading a CSV data set through the lookup chain, with a check of its columns."""
from ._csv import read_csv
from ._fetch import DatasetFormatError, locate

_last = {}


def load_table(res, required, download=True):
    """({column: array}, path, source) for the CSV resource ``res``; ``required`` columns must be present."""
    path, source = locate(res, download=download)
    head, cols = read_csv(path, res.dataset)
    missing = [c for c in required if c not in cols]
    if missing:
        raise DatasetFormatError(f"{res.dataset}: '{path}' lacks columns {missing} (has {head})")
    _last[res.dataset] = f"{source} ({path})"
    return cols, path, source
