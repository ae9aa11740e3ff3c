"""ISLR's NYSE (daily returns, log volume and log volatility, 6,051 trading days 1962-1986).

``load_data()`` returns the columns; ``lagged(lags=5)`` is ISLR's preparation for the RNN / AR lab:
the three series standardised (R ``scale()``), the design ``[L1..Llags of DJ_return, log_volume,
log_volatility]``, the target log_volume, and the ``train`` flag (rows before 1980), first ``lags`` rows dropped.
File lookup: cache, ``NERVE_DATA_DIR``, the ``islp`` package, then download; SHA-256 of ISLP's CSV.
"""
import numpy as np

from ._fetch import Resource
from ._table import load_table

URL = "https://raw.githubusercontent.com/intro-stat-learning/ISLP/main/ISLP/data/NYSE.csv"
RESOURCE = Resource("nyse", ("NYSE.csv",), urls=(URL,), package=("ISLP", "data/NYSE.csv"),
                    sha256="4bb3e2e9872b2f7e6e8701afb8873cd9f4b7e66ee0b1ba62c116ff2b3a2eec60")
COLUMNS = ("date", "day_of_week", "DJ_return", "log_volume", "log_volatility", "train")
SERIES = ("DJ_return", "log_volume", "log_volatility")


def load_data(download=True):
    cols, _, _ = load_table(RESOURCE, COLUMNS, download)
    return {k: cols[k] for k in COLUMNS}


def lagged(data=None, lags=5, as_sequence=False):
    """``dict(x, y, train, names)``. x: (n - lags, 3 * lags) with columns ordered lag 1 (3 series), lag 2, ...;
    with ``as_sequence=True`` x is (n - lags, lags, 3), oldest day first (the RNN input of the ISLR lab)."""
    data = load_data() if data is None else data
    z = np.stack([np.asarray(data[c], float) for c in SERIES], axis=1)
    z = (z - z.mean(0)) / z.std(0, ddof=1)
    n = len(z)
    if not 1 <= lags < n:
        raise ValueError(f"nyse.lagged: argument 'lags' must be in [1, {n}), got {lags!r}")
    seq = np.stack([z[lags - k:n - k] for k in range(lags, 0, -1)], axis=1)  # (n - lags, lags, 3), lag L..1
    names = [f"L{k}_{c}" for k in range(1, lags + 1) for c in SERIES]
    x = seq if as_sequence else seq[:, ::-1, :].reshape(n - lags, 3 * lags)
    return {"x": x, "y": z[lags:, 1], "train": np.asarray(data["train"], bool)[lags:], "names": names}
