"""Runnable examples for the integrations (a recipe or the README calls these).

- ``make_widenet`` / ``wide_deep_grid_search``: the book's grid search over a wide-net factory with
  ``KerasClassifier`` + ``GridSearchCV`` (seed-001-part2 §1.16), on ``SKLearnClassifier`` with routed
  ``model__*`` parameters.
- ``mnistnn``: the tfruns-tuned MLP (seed S0 §1.7) as a sweep target: ``mnistnn(flags(...))``.
"""
import numpy as np

BOOK_GRID = dict(dr=[0.2, 0.5], optimizer=["adam", "rmsprop"], lr=[0.01, 0.0001], units=[1024, 512, 256])
QUICK_GRID = dict(dr=[0.2, 0.5], optimizer=["adam", "rmsprop"], lr=[0.01, 0.001], units=[64, 32])


def make_widenet(dr=0.0, optimizer="adam", lr=0.001, units=128, input_dim=3072):
    """The book's ``make_widenet`` (input 3072 = a flattened CIFAR-10 image, unless ``input_dim`` says otherwise)."""
    import nerve
    from nerve.layers import Dense, Dropout, Input
    inpt_vec = Input(shape=(input_dim,))
    dl = Dropout(dr)(inpt_vec)
    l1 = Dense(units, activation="relu")(dl)
    dl = Dropout(dr)(l1)
    l2 = Dense(units, activation="relu")(dl)
    output = Dense(10, activation="sigmoid")(l2)
    widenet = nerve.Model(inpt_vec, output)
    optmzr = (nerve.optimizers.Adam(learning_rate=lr) if optimizer == "adam"
              else nerve.optimizers.RMSprop(learning_rate=lr))
    widenet.compile(loss="binary_crossentropy", optimizer=optmzr, metrics=["accuracy"])
    return widenet


def _vectorized_images(quick, n):
    """CIFAR-10 flattened to 3072 and scaled to [0, 1] when it is on this machine; otherwise Fashion-MNIST
    (784), the full set or the subset shipped with nerve. Returns x, y, and the dataset's name."""
    from nerve.datasets import cifar10, fashion_mnist
    try:
        (x, y), _ = cifar10.load_data(download=False)
        name = "cifar10"
    except Exception:  # not on this machine (no network): Fashion-MNIST, the full set or nerve's subset
        (x, y), _ = fashion_mnist.load_data(allow_embedded=True)
        name = "fashion_mnist"
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))[:n] if n else np.arange(len(x))
    x = x[idx].reshape(len(idx), -1).astype("float32") / 255.0
    return x, np.asarray(y).reshape(-1)[idx], name


def _score_cache_estimator():
    """SKLearnClassifier with a JSON file of finished (parameters, fold) scores: a GridSearchCV interrupted
    after some of its fits reruns only the others when started again with the same ``cache_path``."""
    import hashlib
    import json
    import os

    from nerve.saving import file_io
    from nerve.wrappers import SKLearnClassifier

    def digest(*arrays, params=None):
        h = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
        for a in arrays:
            a = np.ascontiguousarray(a)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.data)
        return h.hexdigest()

    class ScoreCache(SKLearnClassifier):
        def __init__(self, model, cache_path=None, warm_start=False, model_kwargs=None, fit_kwargs=None,
                     random_state=None, **routed_params):
            super().__init__(model, warm_start=warm_start, model_kwargs=model_kwargs, fit_kwargs=fit_kwargs,
                             random_state=random_state, **routed_params)
            self.cache_path = cache_path

        def _load(self):
            if not self.cache_path or not os.path.exists(self.cache_path):
                return {}
            with open(self.cache_path, "rb") as f:
                data = json.loads(f.read().decode())
            if not isinstance(data, dict) or not all(isinstance(v, (int, float)) for v in data.values()):
                raise ValueError(f"wide_deep_grid_search: {self.cache_path!r} is not a score cache")
            return data

        def fit(self, X, y, sample_weight=None, **kwargs):
            params = {k: v for k, v in self.get_params().items() if k not in ("model", "cache_path")}
            self._key = digest(X, y, params=params)
            if self.cache_path and any(k.startswith(self._key) for k in self._load()):
                self.classes_ = np.unique(y)  # scored from the cache: no training
                self._cached = True
                return self
            self._cached = False
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

        def score(self, X, y, sample_weight=None):
            key = getattr(self, "_key", None)
            key = None if key is None or sample_weight is not None else key + ":" + digest(X, y)
            cache = self._load() if self.cache_path else {}
            if key is not None and key in cache:
                return float(cache[key])
            if getattr(self, "_cached", False):  # a cached fit asked for a score the cache does not hold
                raise RuntimeError("wide_deep_grid_search: no cached score for this fold; delete the cache file")
            value = float(super().score(X, y, sample_weight=sample_weight))
            if key is not None and self.cache_path:
                cache[key] = value
                data = json.dumps(cache, sort_keys=True).encode()
                file_io.atomic_write(self.cache_path, lambda f: f.write(data))
            return value

    return ScoreCache


def wide_deep_grid_search(quick=True, n_samples=None, epochs=None, cv=3, verbose=0, seed=0, cache_path=None):
    """The book's ``GridSearchCV`` over ``make_widenet`` (dr, optimizer, lr, units), with the same fit
    parameters (validation_split=0.3, EarlyStopping and ReduceLROnPlateau on val_loss).

    ``quick=True`` (the default, about a minute on 2 cores): 600 images, units (64, 32), lr (0.01, 0.001), 8
    epochs; ``quick=False``: the book's grid (24 candidates x 3 folds, units up to 1024), all images, 100
    epochs, batch 1000 (hours on a CPU). Returns the fitted ``GridSearchCV``; ``best_params_`` as in the book.
    ``cache_path``: a JSON file of the finished fits' scores, so that an interrupted search continues (``nerve
    run widenet_grid_search --resumable``); the final refit on all the data is not cached.
    """
    from sklearn.model_selection import GridSearchCV

    import nerve
    from nerve.wrappers import SKLearnClassifier
    n = n_samples if n_samples is not None else (600 if quick else None)
    x, y, name = _vectorized_images(quick, n)
    grid = QUICK_GRID if quick else BOOK_GRID
    fit_kwargs = dict(epochs=epochs or (8 if quick else 100), batch_size=100 if quick else 1000, verbose=0)
    if cache_path is None:
        kc = SKLearnClassifier(make_widenet, model_kwargs={"input_dim": x.shape[1]}, random_state=seed,
                               fit_kwargs=fit_kwargs)
    else:
        kc = _score_cache_estimator()(make_widenet, cache_path=cache_path, model_kwargs={"input_dim": x.shape[1]},
                                      random_state=seed, fit_kwargs=fit_kwargs)
    grid_space = {f"model__{k}": v for k, v in grid.items()}
    gscv = GridSearchCV(estimator=kc, param_grid=grid_space, n_jobs=1, cv=cv, verbose=verbose)
    gscv_res = gscv.fit(x, y, validation_split=0.3,
                        callbacks=[nerve.callbacks.EarlyStopping(monitor="val_loss", patience=20,
                                                                 restore_best_weights=True),
                                   nerve.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=10)])
    gscv_res.dataset_ = name
    if verbose:
        print(f"{name}: best {gscv_res.best_params_} (mean CV accuracy {gscv_res.best_score_:.4f})")
    return gscv_res


_CACHE = {}


def _fashion_train():
    if "fashion" not in _CACHE:  # loaded once per process (a sweep calls the trial many times)
        from nerve.datasets import fashion_mnist
        _CACHE["fashion"] = fashion_mnist.load_data(allow_embedded=True)[0]
    return _CACHE["fashion"]


def _mnist_like(n=600, seed=0):
    """Small Fashion-MNIST sample, flattened, one-hot labels."""
    x, y = _fashion_train()
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    x = x[idx].reshape(n, -1).astype("float32") / 255.0
    return x, np.eye(10, dtype="float32")[np.asarray(y)[idx]]


def mnistnn(FLAGS=None):
    """tfruns' ``mnistnn.R`` (S0 §1.7) as a sweep target: flags nodes1, nodes2, dropout1, dropout2, optimizer,
    lr_annealing (plus epochs and n for quick runs); returns the History (val_loss, val_accuracy, ...)."""
    import nerve
    from nerve import layers
    from nerve.integrations.sweeps import flags
    F = flags(**{**dict(nodes1=256, nodes2=128, dropout1=0.4, dropout2=0.3, optimizer="rmsprop",
                        lr_annealing=0.1, epochs=35, n=600), **(FLAGS or {})})
    x, y = _mnist_like(int(F["n"]))
    model = nerve.Sequential([
        layers.Input((x.shape[1],)),
        layers.Dense(int(F["nodes1"]), activation="relu"), layers.Dropout(F["dropout1"]),
        layers.Dense(int(F["nodes2"]), activation="relu"), layers.Dropout(F["dropout2"]),
        layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"], optimizer=F["optimizer"])
    return model.fit(x, y, epochs=int(F["epochs"]), batch_size=128, validation_split=0.2, verbose=0,
                     callbacks=[nerve.callbacks.EarlyStopping(patience=5),
                                nerve.callbacks.ReduceLROnPlateau(factor=F["lr_annealing"])])
