"""The perceptron learning algorithm (PLA) and the pocket algorithm (seed-001 §1.2, §6.2; Ch.1, Ch.5).

PLA (Rosenblatt 1958): w = 0, x augmented with a leading 1 (bias trick); while some point is
misclassified (sign(w . x_n) != y_n, with NumPy's sign(0) = 0 counting as an error, so every point is
misclassified at t = 0 as in the book), pick a misclassified point (x*, y*) AT RANDOM and set
w <- w + y* x*. Converges when the data are linearly separable (Novikoff 1962).
Pocket (Gallant 1990; Muselli 1997): the same updates with an iteration cap; keep ("pocket") the weights
with the fewest training errors seen so far; stop early at zero errors.
Labels may be {-1, +1} or any two values (mapped to -1 / +1 in sorted order).
"""
import numpy as np


def _augment(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"perceptron: expected X of shape (n_samples, n_features), got {X.shape}")
    return np.hstack([np.ones((X.shape[0], 1)), X])


def classification_error(w, X, y):
    """Number of points with sign(X w) != y (X already augmented), the book's vectorised version."""
    return int(np.sum(np.sign(X @ w) != y))


class Perceptron:
    """PLA with the book's random choice of a misclassified point.

    ``max_iter``: cap on updates (None = until separated; a cap is advisable on data that may not be
    separable); ``random_state``: seed of the point choice. After ``fit``: ``coef_`` (weights, bias first as
    in the book: w = [b, w1..wd]), ``n_iter_`` (updates made), ``errors_`` (misclassified count after each
    update, starting with the count at w = 0), ``converged_``.
    """

    def __init__(self, max_iter=None, random_state=None):
        self.max_iter = None if max_iter is None else int(max_iter)
        self.random_state = random_state

    def _labels(self, y):
        y = np.asarray(y).ravel()
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(f"{type(self).__name__}: expected exactly two classes, got {classes.tolist()}")
        self.classes_ = classes
        return np.where(y == classes[1], 1.0, -1.0)

    def _choose(self, w, X, y, rng):
        """A random misclassified point (the book stresses that the choice must be randomised)."""
        mis = np.flatnonzero(np.sign(X @ w) != y)
        if len(mis) == 0:
            return None
        n = mis[rng.integers(0, len(mis))]
        return X[n], y[n]

    def fit(self, X, y):
        Xa, ys = _augment(X), self._labels(y)
        if len(ys) != len(Xa):
            raise ValueError(f"{type(self).__name__}.fit: X has {len(Xa)} samples but y has {len(ys)}")
        rng = np.random.default_rng(self.random_state)
        w = np.zeros(Xa.shape[1])
        err = classification_error(w, Xa, ys)
        self.errors_ = [err]
        it = 0
        while err != 0 and (self.max_iter is None or it < self.max_iter):
            it += 1
            xs, s = self._choose(w, Xa, ys, rng)
            w = w + s * xs
            err = classification_error(w, Xa, ys)
            self.errors_.append(err)
            self._after_update(w, err, it)
        self.coef_ = w
        self.n_iter_ = it
        self.converged_ = err == 0
        self._finish()
        return self

    def _after_update(self, w, err, it):
        pass

    def _finish(self):
        pass

    def decision_function(self, X):
        return _augment(X) @ self.coef_

    def predict(self, X):
        s = np.sign(self.decision_function(X))
        return np.where(s > 0, self.classes_[1], self.classes_[0])

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y).ravel()))


class PocketPerceptron(Perceptron):
    """Pocket algorithm: PLA capped at ``max_iter`` (book: 1000) that keeps the best weights seen.

    After ``fit``: ``coef_`` = the pocket (best) weights, ``best_error_`` (their training errors, the book's
    ``bestW['err']``), ``best_iter_`` (the update that produced them, ``bestW['it']``), ``last_coef_`` (the
    weights when the loop stopped), ``n_iter_``.
    """

    def __init__(self, max_iter=1000, random_state=None):
        super().__init__(max_iter=max_iter, random_state=random_state)

    def fit(self, X, y):
        self._best = {"err": len(np.asarray(y).ravel()) + 1, "w": None, "it": 0}
        return super().fit(X, y)

    def _after_update(self, w, err, it):
        if err < self._best["err"]:
            self._best = {"err": err, "w": w.copy(), "it": it}

    def _finish(self):
        self.last_coef_ = self.coef_
        if self._best["w"] is not None and self._best["err"] <= self.errors_[-1]:
            self.coef_ = self._best["w"]
            self.best_error_, self.best_iter_ = self._best["err"], self._best["it"]
        else:  # no update improved on w = 0 (or no update at all)
            self.best_error_, self.best_iter_ = self.errors_[-1], self.n_iter_
