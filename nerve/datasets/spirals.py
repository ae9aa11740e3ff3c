"""The seeds' two-spirals data set (seed-001-part1 §3.2, the book's ``twoSpirals(N)``, L3458-3466).

The book draws the angles with ``np.random.seed(1); np.random.rand(N, 1)``; a private
``RandomState(seed)`` gives the same numbers without touching NumPy's global RNG. The book's labels are
-1 (first half) and +1 (second half); here they are mapped to 0 and 1 (class indices for softmax /
sparse cross-entropy). With the defaults, X[0] == [7.08535569, 5.20423916] as in the book.
"""
import numpy as np


def two_spirals(n=300, seed=1):
    """Two interleaved spirals: X of shape (2n, 2) float64 and y of shape (2n,) int64 in {0, 1}.

    Points i < n lie on the first spiral (the book's label -1, here 0), the rest on the second,
    which is the first rotated by 180 degrees (label +1, here 1).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"two_spirals: argument 'n' expected a positive int, got {n!r}")
    r = np.random.RandomState(seed)
    t = np.sqrt(r.rand(n, 1)) * 780 * (2 * np.pi) / 360  # angle up to 780 degrees, denser outside
    x, y = -np.cos(t) * t, np.sin(t) * t
    X = np.vstack((np.hstack((x, y)), np.hstack((-x, -y))))
    labels = np.hstack((np.zeros(n, np.int64), np.ones(n, np.int64)))
    return X, labels
