"""scikit-learn wrappers: the estimator checks, routed parameters, Pipeline and the model-selection tools."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install nerve[sklearn])")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import nerve  # noqa: E402
from nerve import layers  # noqa: E402
from nerve.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


def classifier_model(X, y, units=16, learning_rate=0.01):
    m = nerve.Sequential([nerve.Input((X.shape[1],)), layers.Dense(units, activation="relu"),
                          layers.Dense(y.shape[1], activation="softmax")])
    m.compile(optimizer=nerve.optimizers.Adam(learning_rate), loss="categorical_crossentropy", metrics=["accuracy"])
    return m


def regressor_model(X, y, units=16):
    m = nerve.Sequential([nerve.Input((X.shape[1],)), layers.Dense(units, activation="relu"),
                          layers.Dense(y.shape[1] if y.ndim == 2 else 1)])
    m.compile(optimizer=nerve.optimizers.Adam(0.01), loss="mse")
    return m


def autoencoder(X, y, code=2):
    inp = nerve.Input((X.shape[1],))
    z = layers.Dense(code, name="code")(inp)
    out = layers.Dense(y.shape[1])(z)
    m = nerve.Model(inp, out)
    m.compile(optimizer=nerve.optimizers.Adam(0.01), loss="mse")
    return m


class Named:
    """A model-building function with a stable repr (pytest-xdist needs identical test ids in every worker)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, X, y, **kwargs):
        return self.fn(X, y, **kwargs)

    def __repr__(self):
        return self.fn.__name__


FIT = dict(epochs=20, batch_size=32)
# Mini-batch gradient descent is not invariant to repeating rows versus weighting them (the batches, their
# count and the per-batch means differ), so this one check cannot hold for any SGD-trained network.
SW_REASON = "mini-batch SGD: weighting a row is not equivalent to repeating it (batch composition and step count)"
EXPECTED_FAILED = {"check_sample_weight_equivalence_on_dense_data": SW_REASON}


@parametrize_with_checks(
    [SKLearnClassifier(Named(classifier_model), fit_kwargs=FIT, random_state=0),
     SKLearnRegressor(Named(regressor_model), fit_kwargs=FIT, random_state=0),
     SKLearnTransformer(Named(regressor_model), fit_kwargs=dict(epochs=2), random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible_estimator(estimator, check, monkeypatch):
    # scikit-learn runs its array-API check (NumPy inputs under array-API dispatch) only when this is set;
    # set for this test alone so that no other test sees it
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [3, 3], [0, 3]], dtype="float32")
    y = rng.integers(0, 3, n)
    X = centers[y] + rng.normal(0, 0.5, (n, 2)).astype("float32")
    return X, np.array(["a", "b", "c"])[y]


def test_routed_parameters_roundtrip_through_clone_and_set_params():
    est = SKLearnClassifier(classifier_model, fit_kwargs=FIT, model__units=8, fit__epochs=3,
                            optimizer__learning_rate=0.05)
    params = est.get_params()
    assert params["model__units"] == 8 and params["fit__epochs"] == 3 and params["optimizer__learning_rate"] == 0.05
    c = clone(est)
    assert c.get_params()["model__units"] == 8
    c.set_params(model__units=4)
    X, y = _blobs()
    c.fit(X, y)
    assert c.model_.layers[0].units == 4
    assert len(c.history_["loss"]) == 3  # fit__epochs overrides fit_kwargs
    assert np.isclose(float(c.model_.optimizer.learning_rate), 0.05)
    assert set(c.classes_) == {"a", "b", "c"}


def test_unknown_parameter_is_reported_by_fit():
    est = SKLearnClassifier(classifier_model, units=4)
    X, y = _blobs()
    with pytest.raises(TypeError, match="routed"):
        est.fit(X, y)


def test_compiled_model_instance_is_cloned_and_recompiled():
    m = nerve.Sequential([nerve.Input((2,)), layers.Dense(3, activation="softmax")])
    m.compile(optimizer=nerve.optimizers.Adam(0.05), loss="categorical_crossentropy")
    before = [w.copy() for w in m.get_weights()]
    est = SKLearnClassifier(m, fit_kwargs=FIT, random_state=0).fit(*_blobs())
    assert est.model_ is not m
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))  # the template is untouched
    assert est.score(*_blobs(seed=1)) > 0.8
    assert isinstance(est.model_.optimizer, nerve.optimizers.Adam)
    with pytest.raises(ValueError, match="model-building function"):
        SKLearnClassifier(m, model__units=3).fit(*_blobs())
    # scikit-learn's clone deep-copies the template model: it works inside the model-selection tools
    scores = cross_val_score(SKLearnClassifier(m, fit_kwargs=FIT, random_state=0), *_blobs(), cv=2)
    assert scores.mean() > 0.8


def test_warm_start_keeps_training_the_same_model():
    X, y = _blobs()
    est = SKLearnClassifier(classifier_model, warm_start=True, fit_kwargs=dict(epochs=2), random_state=0).fit(X, y)
    first = est.model_
    est.fit(X, y)
    assert est.model_ is first
    est2 = SKLearnClassifier(classifier_model, fit_kwargs=dict(epochs=2), random_state=0).fit(X, y)
    m = est2.model_
    est2.fit(X, y)
    assert est2.model_ is not m


def test_random_state_makes_fits_identical_and_leaves_global_rng_alone():
    X, y = _blobs()
    nerve.set_random_seed(123)
    state = nerve.backend.get_rng_state()
    a = SKLearnClassifier(classifier_model, fit_kwargs=FIT, random_state=7).fit(X, y).predict_proba(X)
    assert nerve.backend.get_rng_state() == state
    b = SKLearnClassifier(classifier_model, fit_kwargs=FIT, random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_pipeline_grid_search_randomized_search_and_cross_val_score():
    X, y = _blobs(150)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("clf", SKLearnClassifier(classifier_model, fit_kwargs=FIT, random_state=0))])
    gs = GridSearchCV(pipe, {"clf__model__units": [2, 16], "clf__optimizer__learning_rate": [0.01, 0.05]}, cv=3)
    gs.fit(X, y)
    assert set(gs.best_params_) == {"clf__model__units", "clf__optimizer__learning_rate"}
    assert len(gs.cv_results_["params"]) == 4
    assert gs.best_score_ > 0.8
    rs = RandomizedSearchCV(SKLearnClassifier(classifier_model, fit_kwargs=FIT, random_state=0),
                            {"model__units": [4, 8, 16], "fit__batch_size": [16, 32]}, n_iter=2, cv=2,
                            random_state=0)
    rs.fit(X, y)
    assert len(rs.cv_results_["params"]) == 2
    scores = cross_val_score(SKLearnRegressor(regressor_model, fit_kwargs=dict(epochs=30), random_state=0),
                             X, X[:, 0] * 2 + X[:, 1], cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_fit_params_reach_model_fit_like_the_books_grid_search():
    X, y = _blobs()
    gs = GridSearchCV(SKLearnClassifier(classifier_model, fit_kwargs=dict(epochs=5), random_state=0),
                      {"model__units": [4]}, cv=2)
    gs.fit(X, y, validation_split=0.25, callbacks=[nerve.callbacks.EarlyStopping(patience=2)])
    assert "val_loss" in gs.best_estimator_.history_


def test_transformer_as_autoencoder_encoder():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 2)).astype("float32")
    X = z @ rng.normal(size=(2, 6)).astype("float32")
    t = SKLearnTransformer(autoencoder, fit_kwargs=dict(epochs=60, batch_size=32), transform_layer="code",
                           random_state=0)
    codes = t.fit_transform(X)
    assert codes.shape == (200, 2)
    recon = t.model_.predict(X, verbose=0)
    assert np.mean((recon - X) ** 2) < 0.1 * np.mean(X ** 2)
    full = SKLearnTransformer(autoencoder, fit_kwargs=dict(epochs=1), random_state=0).fit(X)
    assert full.transform(X).shape == X.shape


def test_bad_model_arguments_have_clear_errors():
    X, y = _blobs()
    with pytest.raises(TypeError, match="must return a nerve Model"):
        SKLearnClassifier(lambda X, y: None).fit(X, y)
    with pytest.raises(TypeError, match="'model' must be"):
        SKLearnClassifier(42).fit(X, y)
    uncompiled = nerve.Sequential([nerve.Input((2,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="must be compiled"):
        SKLearnClassifier(uncompiled).fit(X, y)
