"""Bernoulli restricted Boltzmann machine (seed-001 Ch.10) and a deep belief network built from RBMs.

Energy E(v, h) = -v^T W h - b_v^T v - b_h^T h (W stored as ``components_``: (n_components, n_features),
as scikit-learn). Conditionals p(h_j = 1 | v) = sigm(W_j v + b_h,j), p(v_i = 1 | h) = sigm(W^T h + b_v)_i.
Free energy F(v) = -b_v^T v - sum_j softplus(W_j v + b_h,j), so p(v) = exp(-F(v)) / Z.
Training (stochastic maximum likelihood): dW ∝ <h v^T>_data - <h v^T>_model, the model term from
  - CD-k: a k-step Gibbs chain started at the data minibatch (Hinton 2002);
  - PCD-k: chains that persist across updates (Tieleman 2008; scikit-learn's BernoulliRBM, k = 1).
With ``persistent=True, k=1`` the update is exactly scikit-learn's ``BernoulliRBM._fit`` (positive phase
with mean hiddens, negative phase with mean hiddens of sampled visibles, lr / batch size, no shuffling).
Pseudo-likelihood as scikit-learn computes it: flip one random bit i per sample,
  PL(v) = n_features * log sigm(F(v~) - F(v)).
"""
import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


def _softplus(x):
    return np.logaddexp(0.0, x)


def _as_2d(X, who):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{who}: expected a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"{who}: a Bernoulli RBM needs inputs in [0, 1] (probabilities), got values in "
                         f"[{X.min():.3g}, {X.max():.3g}]; scale the data first")
    return X


class BernoulliRBM:
    """scikit-learn-compatible Bernoulli RBM (``fit``, ``partial_fit``, ``transform``, ``gibbs``,
    ``score_samples``), plus ``k`` (CD-k / PCD-k), ``persistent``, ``free_energy``, ``pseudo_likelihood``,
    ``reconstruct`` and ``sample``. Defaults are scikit-learn's (the book quotes them)."""

    def __init__(self, n_components=256, learning_rate=0.1, batch_size=10, n_iter=10, verbose=0, random_state=None,
                 k=1, persistent=True):
        self.n_components, self.learning_rate, self.batch_size = int(n_components), float(learning_rate), \
            int(batch_size)
        self.n_iter, self.verbose, self.random_state = int(n_iter), verbose, random_state
        self.k, self.persistent = int(k), bool(persistent)
        if self.k < 1:
            raise ValueError(f"BernoulliRBM: argument 'k' expected a positive int, got {k!r}")
        self.history_ = []  # mean pseudo-likelihood after each iteration of fit

    # -------------------------------------------------------------- conditionals and sampling
    def _rng(self):
        if not hasattr(self, "random_state_"):
            rs = self.random_state
            self.random_state_ = rs if isinstance(rs, np.random.Generator) else np.random.default_rng(rs)
        return self.random_state_

    def _mean_hiddens(self, v):
        return _sigmoid(v @ self.components_.T + self.intercept_hidden_)

    def _mean_visibles(self, h):
        return _sigmoid(h @ self.components_ + self.intercept_visible_)

    def _sample_hiddens(self, v, rng):
        p = self._mean_hiddens(v)
        return (rng.random(p.shape) < p).astype(np.float64)

    def _sample_visibles(self, h, rng):
        p = self._mean_visibles(h)
        return (rng.random(p.shape) < p).astype(np.float64)

    def _check_fitted(self, who):
        if not hasattr(self, "components_"):
            raise ValueError(f"BernoulliRBM.{who}: this RBM is not fitted yet; call fit or partial_fit first")

    def transform(self, X):
        """Latent representation p(h = 1 | v) (the mean hiddens), shape (n_samples, n_components)."""
        self._check_fitted("transform")
        return self._mean_hiddens(_as_2d(X, "BernoulliRBM.transform"))

    def gibbs(self, v):
        """One Gibbs step v -> h ~ p(h|v) -> v' ~ p(v|h) (sampled, binary), as scikit-learn."""
        self._check_fitted("gibbs")
        v = np.asarray(v, dtype=np.float64)
        rng = self._rng()
        return self._sample_visibles(self._sample_hiddens(v, rng), rng)

    def reconstruct(self, v):
        """Mean-field reconstruction p(v | h = p(h|v))."""
        self._check_fitted("reconstruct")
        return self._mean_visibles(self._mean_hiddens(np.asarray(v, dtype=np.float64)))

    def sample(self, n=10, n_gibbs=1000, v0=None):
        """Run n chains for n_gibbs Gibbs steps from v0 (default: random bits); returns the visible means."""
        self._check_fitted("sample")
        rng = self._rng()
        v = rng.integers(0, 2, (int(n), self.components_.shape[1])).astype(np.float64) if v0 is None else \
            np.asarray(v0, dtype=np.float64)
        for _ in range(int(n_gibbs)):
            v = self._sample_visibles(self._sample_hiddens(v, rng), rng)
        return self._mean_visibles(self._sample_hiddens(v, rng))

    # -------------------------------------------------------------- energies and scores
    def free_energy(self, v):
        """F(v) = -v . b_v - sum_j softplus(W_j . v + b_h,j), per sample."""
        self._check_fitted("free_energy")
        v = np.asarray(v, dtype=np.float64)
        return -(v @ self.intercept_visible_) - _softplus(v @ self.components_.T + self.intercept_hidden_).sum(1)

    def score_samples(self, X):
        """Pseudo-likelihood per sample, exactly as scikit-learn (one random bit flipped per sample)."""
        self._check_fitted("score_samples")
        v = _as_2d(X, "BernoulliRBM.score_samples")
        rng = self._rng()
        ind = (np.arange(v.shape[0]), rng.integers(0, v.shape[1], v.shape[0]))
        v_ = v.copy()
        v_[ind] = 1 - v_[ind]
        fe, fe_ = self.free_energy(v), self.free_energy(v_)
        return -v.shape[1] * np.logaddexp(0, -(fe_ - fe))

    def pseudo_likelihood(self, X, exact=False):
        """Mean pseudo-likelihood: the random one-bit estimate (scikit-learn), or with ``exact=True`` the full
        sum_i log p(v_i | v_-i) = sum_i log sigm(F(v with bit i flipped) - F(v)) (deterministic)."""
        if not exact:
            return float(np.mean(self.score_samples(X)))
        v = _as_2d(X, "BernoulliRBM.pseudo_likelihood")
        fe = self.free_energy(v)
        total = np.zeros(len(v))
        for i in range(v.shape[1]):
            v_ = v.copy()
            v_[:, i] = 1 - v_[:, i]
            total += -np.logaddexp(0, -(self.free_energy(v_) - fe))
        return float(np.mean(total))

    # -------------------------------------------------------------- training
    def _init_params(self, n_features):
        rng = self._rng()
        self.components_ = rng.normal(0, 0.01, (self.n_components, n_features))
        self.intercept_hidden_ = np.zeros(self.n_components)
        self.intercept_visible_ = np.zeros(n_features)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components))
        self.n_features_in_ = n_features

    def _fit(self, v_pos):
        rng = self._rng()
        h_pos = self._mean_hiddens(v_pos)
        if self.persistent:  # all batch_size chains, also for a ragged batch (as scikit-learn)
            h = self.h_samples_
        else:
            h = self._sample_hiddens(v_pos, rng)  # CD: the chain starts at the data
        for step in range(self.k):
            v_neg = self._sample_visibles(h, rng)
            h_neg = self._mean_hiddens(v_neg)
            if step < self.k - 1:
                h = (rng.random(h_neg.shape) < h_neg).astype(np.float64)
        lr = self.learning_rate / v_pos.shape[0]
        self.components_ += lr * (h_pos.T @ v_pos - h_neg.T @ v_neg)
        self.intercept_hidden_ += lr * (h_pos.sum(0) - h_neg.sum(0))
        self.intercept_visible_ += lr * (v_pos.sum(0) - v_neg.sum(0))
        if self.persistent:
            self.h_samples_ = (rng.random(h_neg.shape) < h_neg).astype(np.float64)

    def partial_fit(self, X, y=None):
        """One update on the whole of X (scikit-learn semantics); initialises the parameters on first use."""
        X = _as_2d(X, "BernoulliRBM.partial_fit")
        if not hasattr(self, "components_"):
            self._init_params(X.shape[1])
        elif X.shape[1] != self.components_.shape[1]:
            raise ValueError(f"BernoulliRBM.partial_fit: X has {X.shape[1]} features, the RBM was fitted with "
                             f"{self.components_.shape[1]}")
        self._fit(X)
        return self

    def fit(self, X, y=None):
        """``n_iter`` passes over X in minibatches (scikit-learn's even slices, no shuffling); records the mean
        pseudo-likelihood of each iteration in ``history_`` (printed with ``verbose``)."""
        X = _as_2d(X, "BernoulliRBM.fit")
        self._init_params(X.shape[1])
        bounds = _batch_slices(X.shape[0], self.batch_size)
        self.history_ = []
        for it in range(1, self.n_iter + 1):
            for s in bounds:
                self._fit(X[s])
            pl = float(np.mean(self.score_samples(X)))
            self.history_.append(pl)
            if self.verbose:
                print(f"[BernoulliRBM] Iteration {it}, pseudo-likelihood = {pl:.2f}")
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in ("n_components", "learning_rate", "batch_size", "n_iter", "verbose",
                                              "random_state", "k", "persistent")}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self


def _batch_slices(n, batch_size):
    """scikit-learn's gen_batch_slices(n_batches * batch_size, n_batches, n_samples=n): consecutive batches of
    ``batch_size``, the last one truncated."""
    n_batches = int(np.ceil(n / batch_size))
    return [slice(i * batch_size, min((i + 1) * batch_size, n)) for i in range(n_batches)]


# ---------------------------------------------------------------------------------------- deep belief network
class DBN:
    """Deep belief network: RBMs trained greedily, each on the hidden means of the one below (Hinton et al.
    2006), then turned into a nerve classifier whose Dense layers start from the RBM weights
    (kernel = components_.T, bias = intercept_hidden_, sigmoid) and is fine-tuned with backprop.

    ``hidden_layers``: units per RBM; other keyword arguments go to every ``BernoulliRBM``.
    """

    def __init__(self, hidden_layers=(256, 128), random_state=None, **rbm_kwargs):
        if not hidden_layers:
            raise ValueError("DBN: argument 'hidden_layers' needs at least one layer size")
        self.hidden_layers = tuple(int(u) for u in hidden_layers)
        seeds = np.random.default_rng(random_state).integers(0, 2**31 - 1, len(self.hidden_layers))
        self.rbms = [BernoulliRBM(n_components=u, random_state=int(s), **rbm_kwargs)
                     for u, s in zip(self.hidden_layers, seeds)]
        self.classifier = None

    def pretrain(self, X):
        """Greedy layer-wise training; returns self."""
        h = _as_2d(X, "DBN.pretrain")
        for rbm in self.rbms:
            rbm.fit(h)
            h = rbm.transform(h)
        return self

    def transform(self, X):
        """Top-layer features (mean hiddens propagated upward)."""
        h = np.asarray(X, dtype=np.float64)
        for rbm in self.rbms:
            h = rbm.transform(h)
        return h

    def build_classifier(self, n_classes, optimizer="adam", output_activation="softmax"):
        """A compiled nerve Sequential: Dense(sigmoid) layers initialised from the RBMs, then a fresh
        Dense(n_classes) output (sparse categorical cross-entropy, accuracy)."""
        from ..layers import Dense, Input
        from ..models import Sequential
        if not hasattr(self.rbms[0], "components_"):
            raise ValueError("DBN.build_classifier: call pretrain(X) first")
        layers = [Input(shape=(self.rbms[0].components_.shape[1],))]
        dense = []
        for rbm in self.rbms:
            d = Dense(rbm.n_components, activation="sigmoid")
            layers.append(d)
            dense.append((d, rbm))
        layers.append(Dense(int(n_classes), activation=output_activation))
        model = Sequential(layers, name="dbn_classifier")
        for d, rbm in dense:
            d.set_weights([rbm.components_.T.astype(np.float32), rbm.intercept_hidden_.astype(np.float32)])
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        self.classifier = model
        return model

    def fit(self, X, y, epochs=10, batch_size=32, verbose=0, n_classes=None, optimizer="adam", **fit_kwargs):
        """Pretrain (if not yet), build the classifier (if not yet) and fine-tune it on (X, y); returns the
        History."""
        if not hasattr(self.rbms[0], "components_"):
            self.pretrain(X)
        if self.classifier is None:
            self.build_classifier(int(n_classes or (np.max(y) + 1)), optimizer=optimizer)
        return self.classifier.fit(np.asarray(X, np.float32), np.asarray(y), epochs=epochs, batch_size=batch_size,
                                   verbose=verbose, **fit_kwargs)

    def predict(self, X):
        if self.classifier is None:
            raise ValueError("DBN.predict: call fit(X, y) (or build_classifier) first")
        return np.argmax(self.classifier.predict(np.asarray(X, np.float32), verbose=0), axis=-1)

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))
