import numpy as np
import pytest
from sklearn.datasets import make_classification

from nerve.generative import Perceptron, PocketPerceptron, classification_error


def book_data(sep, n=100):
    X, y = make_classification(n_samples=n, n_features=2, n_classes=2, n_informative=2, n_redundant=0,
                               n_repeated=0, n_clusters_per_class=1, class_sep=sep, random_state=5)
    y = y.copy()
    y[y == 0] = -1
    return X, y


def test_pla_converges_on_separable_data():
    X, y = book_data(1.2)
    for seed in range(20):
        p = Perceptron(random_state=seed).fit(X, y)
        assert p.converged_ and p.errors_[-1] == 0
        assert p.score(X, y) == 1.0
        assert p.errors_[0] == 100  # sign(0) = 0: every point misclassified at w = 0, as in the book
        assert len(p.errors_) == p.n_iter_ + 1
        assert classification_error(p.coef_, np.hstack([np.ones((100, 1)), X]), y) == 0


def test_pla_iterations_match_book_table():
    # seed-001 N17: mean updates over 1000 runs, 2.79 at class_sep 2.0 and 184.41 at 1.1 (RNG differs: +-30%)
    for sep, book in ((2.0, 2.79), (1.1, 184.41)):
        X, y = book_data(sep)
        its = [Perceptron(random_state=s).fit(X, y).n_iter_ for s in range(150)]
        assert abs(np.mean(its) - book) / book < 0.3, (sep, np.mean(its))


def test_pla_is_seedable_and_random():
    X, y = book_data(1.1)
    a, b = Perceptron(random_state=3).fit(X, y), Perceptron(random_state=3).fit(X, y)
    assert a.n_iter_ == b.n_iter_ and np.array_equal(a.coef_, b.coef_)
    assert len({Perceptron(random_state=s).fit(X, y).n_iter_ for s in range(10)}) > 1


def test_labels_zero_one_and_errors():
    X, y = book_data(2.0)
    y01 = (y > 0).astype(int)
    p = Perceptron(random_state=0).fit(X, y01)
    assert set(np.unique(p.predict(X))) <= {0, 1} and p.score(X, y01) == 1.0
    with pytest.raises(ValueError, match="two classes"):
        Perceptron().fit(X, np.arange(len(X)) % 3)


def test_pocket_keeps_best_weights_on_non_separable_data():
    X, y = book_data(1.0)  # not separable (book: best 1 error, i.e. 99/100)
    plain = Perceptron(max_iter=1000, random_state=0).fit(X, y)
    assert not plain.converged_ and plain.n_iter_ == 1000
    for seed in range(5):
        p = PocketPerceptron(max_iter=1000, random_state=seed).fit(X, y)
        assert p.best_error_ == min(p.errors_)          # the pocket holds the best weights visited
        assert p.best_error_ <= 2 and p.score(X, y) >= 0.98
        Xa = np.hstack([np.ones((100, 1)), X])
        assert classification_error(p.coef_, Xa, y) == p.best_error_
        assert p.errors_[p.best_iter_] == p.best_error_
        assert p.best_error_ <= classification_error(p.last_coef_, Xa, y)


def test_pocket_stops_early_when_separable():
    X, y = book_data(2.0)
    p = PocketPerceptron(random_state=0).fit(X, y)
    assert p.best_error_ == 0 and p.n_iter_ < 1000 and p.best_iter_ == p.n_iter_
