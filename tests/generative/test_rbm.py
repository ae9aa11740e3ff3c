import itertools

import numpy as np
import pytest
from scipy.ndimage import convolve
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SkRBM
from sklearn.preprocessing import minmax_scale

import nerve
from nerve.generative import DBN, BernoulliRBM


@pytest.fixture(scope="module")
def binary_digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X > 7).astype(np.float64), y


def _copy_params(src):
    r = BernoulliRBM(src.components_.shape[0])
    r.components_, r.intercept_hidden_, r.intercept_visible_ = src.components_, src.intercept_hidden_, \
        src.intercept_visible_
    return r


def test_free_energy_is_marginal_energy():
    # F(v) = -log sum_h exp(-E(v, h)), by brute force over the 2^3 hidden states
    rng = np.random.default_rng(0)
    r = BernoulliRBM(3)
    r.components_, r.intercept_hidden_, r.intercept_visible_ = rng.normal(size=(3, 4)), rng.normal(size=3), \
        rng.normal(size=4)
    V = np.array(list(itertools.product([0, 1], repeat=4)), float)
    H = np.array(list(itertools.product([0, 1], repeat=3)), float)
    for v in V:
        E = -(H @ r.components_ @ v) - v @ r.intercept_visible_ - H @ r.intercept_hidden_
        assert np.isclose(r.free_energy(v[None])[0], -np.log(np.sum(np.exp(-E))))
    # exact pseudo-likelihood = sum_i log p(v_i | v_-i) from the joint
    logp = -r.free_energy(V)  # unnormalised log p(v)
    exact = []
    for v in V:
        tot = 0.0
        for i in range(4):
            u = v.copy()
            u[i] = 1 - u[i]
            tot += -np.logaddexp(0, -(r.free_energy(u[None])[0] - r.free_energy(v[None])[0]))
        exact.append(tot)
    assert np.isclose(r.pseudo_likelihood(V, exact=True), np.mean(exact))
    assert np.allclose(np.exp(logp - np.logaddexp.reduce(logp)).sum(), 1.0)


def test_score_samples_matches_sklearn_formula(binary_digits):
    X, _ = binary_digits
    sk = SkRBM(n_components=16, n_iter=2, random_state=0).fit(X)
    ours = _copy_params(sk)
    assert np.allclose(ours.free_energy(X), sk._free_energy(X))
    assert np.allclose(ours.transform(X), sk.transform(X))
    # one flipped bit per sample: the values lie between the extremes of the exact per-bit terms
    s = ours.score_samples(X[:50])
    assert s.shape == (50,) and np.all(s <= 0)


def test_pseudo_likelihood_increases_and_matches_sklearn(binary_digits):
    X, _ = binary_digits
    ours, theirs = [], []
    for seed in range(3):
        r = BernoulliRBM(32, learning_rate=0.06, n_iter=8, random_state=seed).fit(X)
        assert len(r.history_) == 8 and r.history_[-1] > r.history_[0] + 3
        s = SkRBM(32, learning_rate=0.06, n_iter=8, random_state=seed).fit(X)
        ours.append(r.pseudo_likelihood(X, exact=True))
        theirs.append(_copy_params(s).pseudo_likelihood(X, exact=True))
    # at least as good at equal epochs (same algorithm; tolerance = seed noise of the mean, ~0.15 nats)
    assert np.mean(ours) >= np.mean(theirs) - 0.3, (ours, theirs)


def test_cd_k_and_partial_fit(binary_digits):
    X, _ = binary_digits
    r = BernoulliRBM(32, learning_rate=0.05, n_iter=5, k=3, persistent=False, random_state=0)
    r.fit(X)
    assert r.history_[-1] > r.history_[0]
    p = BernoulliRBM(32, learning_rate=0.05, batch_size=20, random_state=0)
    start = None
    for epoch in range(3):
        for i in range(0, len(X), 20):
            p.partial_fit(X[i:i + 20])
        if start is None:
            start = p.pseudo_likelihood(X, exact=True)
    assert p.pseudo_likelihood(X, exact=True) > start
    with pytest.raises(ValueError, match="features"):
        p.partial_fit(X[:, :10])


def test_gibbs_transform_and_errors(binary_digits):
    X, _ = binary_digits
    r = BernoulliRBM(20, n_iter=2, random_state=0).fit(X)
    g = r.gibbs(X[:5])
    assert g.shape == (5, 64) and set(np.unique(g)) <= {0.0, 1.0}
    h = r.transform(X[:5])
    assert h.shape == (5, 20) and np.all((h > 0) & (h < 1))
    assert r.reconstruct(X[:5]).shape == (5, 64) and r.sample(3, n_gibbs=5).shape == (3, 64)
    with pytest.raises(ValueError, match="not fitted"):
        BernoulliRBM().transform(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BernoulliRBM().fit(X * 16)


def _nudge(X, Y):
    """scikit-learn's 'RBM features for digit classification' example: 1-pixel shifts x4."""
    vecs = [[[0, 1, 0], [0, 0, 0], [0, 0, 0]], [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
            [[0, 0, 0], [0, 0, 1], [0, 0, 0]], [[0, 0, 0], [0, 0, 0], [0, 1, 0]]]

    def shift(x, w):
        return convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel()
    X = np.concatenate([X] + [np.apply_along_axis(shift, 1, X, v) for v in vecs])
    return X, np.concatenate([Y] * 5)


def test_logistic_regression_on_rbm_features_beats_raw_pixels():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X, y = _nudge(np.asarray(X[:900], np.float64), y[:900])  # a subset keeps the test short
    X = minmax_scale(X, feature_range=(0, 1))
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    rbm = BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=0).fit(Xtr)
    lr_rbm = LogisticRegression(C=100, max_iter=1000).fit(rbm.transform(Xtr), ytr)
    lr_raw = LogisticRegression(C=100, max_iter=1000).fit(Xtr, ytr)
    acc_rbm, acc_raw = lr_rbm.score(rbm.transform(Xte), yte), lr_raw.score(Xte, yte)
    assert acc_rbm > acc_raw + 0.05, (acc_rbm, acc_raw)


def test_dbn_greedy_stacking_then_fine_tuning(digits):
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    dbn = DBN((48, 32), random_state=0, learning_rate=0.05, n_iter=5)
    dbn.pretrain(Xtr)
    assert dbn.transform(Xtr[:3]).shape == (3, 32)
    model = dbn.build_classifier(10, optimizer=nerve.optimizers.Adam(0.01))
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    assert np.allclose(dense[0].kernel.numpy(), dbn.rbms[0].components_.T, atol=1e-6)
    assert np.allclose(dense[1].bias.numpy(), dbn.rbms[1].intercept_hidden_, atol=1e-6)
    h = dbn.fit(Xtr, ytr, epochs=10, batch_size=32)
    assert h.history["accuracy"][-1] > h.history["accuracy"][0]
    assert dbn.score(Xte, yte) > 0.9
