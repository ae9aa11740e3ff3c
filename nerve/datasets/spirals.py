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


def planar_spiral(n=400, k=2, seed=308, noise=0.3, turn=4.7):
    """seed-002's planar spiral data (D2, L3227-L3287): ``n`` points per class, ``k`` classes, 2-D.

    For class j: r = linspace(0.05, 1, n); t = linspace(j * turn, (j + 1) * turn, n) + N(0, noise^2);
    the point is (r sin t, r cos t). Returns X (k n, 2) float64 and y (k n,) int64 in {0, ..., k-1} (the
    book's classes 1, 2 -> 0, 1). The book draws the noise with R's ``set.seed(308)``; here a NumPy
    ``RandomState(seed)`` draws it, so the points differ in detail from the book's but follow the same law.
    The book's ``rbind(scale(X), Xtemp)`` slip is not reproduced (the intent is a plain ``rbind``).
    """
    for arg, v in (("n", n), ("k", k)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"planar_spiral: argument {arg!r} expected a positive int, got {v!r}")
    rs = np.random.RandomState(seed)
    xs, ys = [], []
    for j in range(k):
        r = np.linspace(0.05, 1, n)
        t = np.linspace(j * turn, (j + 1) * turn, n) + rs.normal(0.0, noise, n)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n, j, np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def train_test_split(X, y, n_train=600, seed=308):
    """The book's split ``indexes <- sample(1:800, 600)``: a random ``n_train`` rows for training, the rest
    for testing (NumPy permutation, not R's sampler). Returns (X_train, y_train), (X_test, y_test)."""
    idx = np.random.RandomState(seed).permutation(len(X))
    tr, te = idx[:n_train], idx[n_train:]
    return (X[tr], y[tr]), (X[te], y[te])
