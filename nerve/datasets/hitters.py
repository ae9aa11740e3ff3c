"""ISLR's Hitters (baseball salaries, 322 players, Salary missing for 59).

``load_data()`` returns the raw columns; ``model_matrix()`` is the seed's preprocessing
(seed-000-003-004 §3.1: ``na.omit(Hitters)``; ``model.matrix(Salary ~ . - 1)``; ``scale()``;
``log(Salary)``): 263 rows, 20 predictors (R's no-intercept model matrix keeps both League levels, which is
why the seed's Dense(64) -> Dense(1) network has 64*21 + 65 = 1,409 parameters). ``drop_first=True`` gives the
19 predictors of ISLP's Python lab (one dummy per two-level factor).
File lookup: cache, ``NERVE_DATA_DIR``, the ``islp`` package (``ISLP/data/Hitters.csv``), then download.
The SHA-256 is that of ISLP's CSV (as in shared/data).
"""
import numpy as np

from ._fetch import Resource
from ._table import load_table

URL = "https://raw.githubusercontent.com/intro-stat-learning/ISLP/main/ISLP/data/Hitters.csv"
RESOURCE = Resource("hitters", ("Hitters.csv",), urls=(URL,), package=("ISLP", "data/Hitters.csv"),
                    sha256="ebf7b9dff89366b0544fea09c0ac2df9abdbf5b4ce8d96651316c2c12793d952")
NUMERIC = ("AtBat", "Hits", "HmRun", "Runs", "RBI", "Walks", "Years", "CAtBat", "CHits", "CHmRun", "CRuns",
           "CRBI", "CWalks", "PutOuts", "Assists", "Errors", "Salary")
FACTORS = {"League": ("A", "N"), "Division": ("E", "W"), "NewLeague": ("A", "N")}
ORDER = ("AtBat", "Hits", "HmRun", "Runs", "RBI", "Walks", "Years", "CAtBat", "CHits", "CHmRun", "CRuns", "CRBI",
         "CWalks", "League", "Division", "PutOuts", "Assists", "Errors", "Salary", "NewLeague")


def load_data(download=True):
    """{column: array}: numeric columns float64 (Salary NaN where missing), League/Division/NewLeague str."""
    cols, _, _ = load_table(RESOURCE, ORDER, download)
    return {k: cols[k] for k in ORDER}


def model_matrix(data=None, drop_first=False, scale=False, log_salary=False):
    """``(X, y, names)``: rows with missing Salary dropped; numeric predictors plus dummies in R's column order.

    drop_first: one dummy per factor (19 columns, ISLP) instead of R's full first factor (20 columns).
    scale: standardise every column like R's ``scale()`` (mean 0, sample sd 1, over all rows, as the seed
    does before splitting). log_salary: y = log(Salary) as in the seed.
    """
    data = load_data() if data is None else data
    keep = ~np.isnan(np.asarray(data["Salary"], float))
    cols, names, first_factor = [], [], True
    for c in ORDER:
        if c == "Salary":
            continue
        v = np.asarray(data[c])[keep]
        if c in FACTORS:
            levels = FACTORS[c] if (first_factor and not drop_first) else FACTORS[c][1:]
            first_factor = False
            for lv in levels:
                cols.append((v == lv).astype(float))
                names.append(c + lv)
        else:
            cols.append(v.astype(float))
            names.append(c)
    X = np.stack(cols, axis=1)
    if scale:
        X = (X - X.mean(0)) / X.std(0, ddof=1)
    y = np.asarray(data["Salary"], float)[keep]
    return X, (np.log(y) if log_salary else y), names
