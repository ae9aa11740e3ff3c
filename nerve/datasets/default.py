"""ISLR's Default (credit-card default, 10,000 customers).

``load_data()`` returns the columns (default, student: 'Yes'/'No'; balance, income: float64);
``xy()`` gives X = [student (0/1), balance, income] and y = default (0/1).
File lookup: cache, ``NERVE_DATA_DIR``, the ``islp`` package, then download; SHA-256 of ISLP's CSV.
"""
import numpy as np

from ._fetch import Resource
from ._table import load_table

URL = "https://raw.githubusercontent.com/intro-stat-learning/ISLP/main/ISLP/data/Default.csv"
RESOURCE = Resource("default", ("Default.csv",), urls=(URL,), package=("ISLP", "data/Default.csv"),
                    sha256="d113590204485565bdd692b2d8430e7c2fcc72ec323df92314a745c99a0eefe9")
COLUMNS = ("default", "student", "balance", "income")


def load_data(download=True):
    cols, _, _ = load_table(RESOURCE, COLUMNS, download)
    return {k: cols[k] for k in COLUMNS}


def xy(data=None):
    """``(X, y, names)``: X float64 (n, 3) = student dummy, balance, income; y int64 default (1 = 'Yes')."""
    data = load_data() if data is None else data
    X = np.stack([(np.asarray(data["student"]) == "Yes").astype(float), np.asarray(data["balance"], float),
                  np.asarray(data["income"], float)], axis=1)
    return X, (np.asarray(data["default"]) == "Yes").astype(np.int64), ["studentYes", "balance", "income"]
