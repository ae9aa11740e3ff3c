"""scikit-learn estimators around nerve models, with Keras 3's names and semantics.

``SKLearnClassifier(model, warm_start=False, model_kwargs=None, fit_kwargs=None)`` and the regressor /
transformer take ``model`` = a compiled ``nerve.Model`` (cloned and recompiled on every ``fit`` unless
``warm_start``) or a callable returning a compiled model. The callable receives ``X`` and ``y`` as keyword
arguments when its signature accepts them (Keras 3 requires it; nerve also accepts builders without them,
like the book's ``make_widenet(dr, optimizer, lr, units)``) plus ``model_kwargs``.

Routed parameters (as in scikeras) make hyper-parameter searches work on any builder argument:
``model__units=64`` goes to the builder, ``fit__epochs=5`` to ``Model.fit``, ``optimizer__learning_rate=1e-3``
is set on the compiled optimizer. They are ordinary estimator parameters: ``get_params`` lists them,
``set_params`` / ``clone`` keep them, so ``GridSearchCV(est, {"model__units": [8, 16]})`` works.

nerve extension: ``random_state`` (int) seeds weight initialisation, dropout and shuffling inside each ``fit``
(the global generator is restored afterwards), which makes fits repeatable; ``None`` (default) draws from
nerve's global generator as Keras does.
"""
import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

from ..integrations.seeding import seeded

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, X, y="no_validation", reset=True, **kw):
        return est._validate_data(X, y, reset=reset, **kw)

ROUTES = ("model__", "fit__", "optimizer__")


def _is_routed(key):
    return isinstance(key, str) and key.startswith(ROUTES) and len(key) > key.index("__") + 2


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _recompile_like(clone, original):
    """Compile ``clone`` as ``original`` was: a fresh optimizer with the same config, same loss and metrics."""
    from ..saving.registry import deserialize, serialize
    cfg = original.get_compile_config() or {}
    opt = deserialize(serialize(original.optimizer), kind="optimizers") if original.optimizer is not None else "rmsprop"

    def fresh(obj):
        if obj is None or isinstance(obj, str) or callable(obj) and not hasattr(obj, "get_config"):
            return obj
        if isinstance(obj, (list, tuple)):
            return type(obj)(fresh(o) for o in obj)
        if isinstance(obj, dict):
            return {k: fresh(v) for k, v in obj.items()}
        return type(obj).from_config(obj.get_config())

    clone.compile(optimizer=opt, loss=fresh(cfg.get("loss")), loss_weights=cfg.get("loss_weights"),
                  metrics=fresh(cfg.get("metrics")), weighted_metrics=fresh(cfg.get("weighted_metrics")))
    return clone


class SKLBase(BaseEstimator):
    """Shared logic: parameters (with routing), model creation, fitting, prediction."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None, random_state=None,
                 **routed_params):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs
        self.random_state = random_state
        for key, value in routed_params.items():  # validated in fit (scikit-learn: __init__ never raises)
            setattr(self, key, value)

    # ------------------------------------------------------------------ parameters
    def _extra(self):
        base = set(super().get_params(deep=False))
        return {k: v for k, v in vars(self).items()
                if k not in base and not k.startswith("_") and not k.endswith("_")}

    def _routed(self, prefix=""):
        return {k: v for k, v in self._extra().items() if _is_routed(k) and k.startswith(prefix)}

    def get_params(self, deep=True):
        out = super().get_params(deep=False)
        out.update(self._extra())
        return out

    def set_params(self, **params):
        """Set parameters, routed ones included; an unknown name is reported by ``fit`` (as scikeras does)."""
        for key, value in params.items():
            if not isinstance(key, str) or not key.isidentifier() or key.startswith("_") or key.endswith("_"):
                raise ValueError(f"{type(self).__name__}.set_params: invalid parameter name {key!r}")
            setattr(self, key, value)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # weight initialisation and shuffling draw from nerve's generator unless random_state is set
        tags.non_deterministic = self.random_state is None
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": self.random_state is None}

    # ------------------------------------------------------------------ the model
    def _build_model(self, X, y):
        from ..models import Model, clone_model
        routed_model = {k[len("model__"):]: v for k, v in self._routed("model__").items()}
        if isinstance(self.model, Model):
            if routed_model or self.model_kwargs:
                raise ValueError(f"{type(self).__name__}: model_kwargs / model__* parameters {sorted(routed_model)} "
                                 f"need 'model' to be a model-building function, got a Model instance")
            if not getattr(self.model, "compiled", False):
                raise ValueError(f"{type(self).__name__}: the Model given as 'model' must be compiled")
            model = _recompile_like(clone_model(self.model), self.model)
        elif callable(self.model):
            kwargs = dict(self.model_kwargs or {})
            kwargs.update(routed_model)
            for name, value in (("X", X), ("y", y)):
                if name not in kwargs and _accepts(self.model, name):
                    kwargs[name] = value
            model = self.model(**kwargs)
            if not isinstance(model, Model):
                raise TypeError(f"{type(self).__name__}: the 'model' function must return a nerve Model, got "
                                f"{type(model).__name__}")
        else:
            raise TypeError(f"{type(self).__name__}: 'model' must be a compiled nerve Model or a callable returning "
                            f"one, got {type(self.model).__name__}")
        if not getattr(model, "compiled", False):
            raise ValueError(f"{type(self).__name__}: the model must be compiled (call model.compile(...) in the "
                             f"building function)")
        for key, value in self._routed("optimizer__").items():
            attr = key[len("optimizer__"):]
            if not hasattr(model.optimizer, attr):
                raise ValueError(f"{type(self).__name__}: routed parameter {key!r}: optimizer "
                                 f"{type(model.optimizer).__name__} has no attribute {attr!r}")
            setattr(model.optimizer, attr, value)
        return model

    def _fit_keras(self, X, y, sample_weight=None, **kwargs):
        bad = sorted(k for k in self._extra() if not _is_routed(k))
        if bad:
            raise TypeError(f"{type(self).__name__}: unexpected parameter(s) {bad}; extra parameters must be routed "
                            f"with a prefix {ROUTES} (e.g. model__units=64, fit__epochs=10)")
        fit_kwargs = dict(self.fit_kwargs or {})
        fit_kwargs.update({k[len("fit__"):]: v for k, v in self._routed("fit__").items()})
        fit_kwargs.update(kwargs)
        fit_kwargs.setdefault("verbose", 0)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype="float32")
            if sample_weight.shape != (len(X),):
                raise ValueError(f"{type(self).__name__}.fit: sample_weight must have shape ({len(X)},), got "
                                 f"{sample_weight.shape}")
            if not np.any(sample_weight > 0):
                raise ValueError(f"{type(self).__name__}.fit: sample_weight is all zero; nothing to fit")
            fit_kwargs["sample_weight"] = sample_weight
        with seeded(self.random_state):
            if not (self.warm_start and hasattr(self, "model_")):
                self.model_ = self._build_model(X, y)
            self.history_ = self.model_.fit(X, y, **fit_kwargs).history
        return self

    def _predict_raw(self, X):
        check_is_fitted(self, "model_")
        X = _validate_data(self, X, reset=False, dtype="float32")
        return np.asarray(self.model_.predict(X, verbose=0))


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """Keras 3 ``keras.wrappers.SKLearnClassifier``: targets are one-hot encoded (``classes_`` keeps the labels);
    the model's output is one column per class (or one sigmoid column for two classes)."""

    def fit(self, X, y, sample_weight=None, **kwargs):
        X, y = _validate_data(self, X, y, dtype="float32")
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__}: only binary and multiclass targets are supported, got "
                             f"{type_of_target(y)!r}")
        self._target_encoder = OneHotEncoder(sparse_output=False, dtype="float32").fit(np.reshape(y, (-1, 1)))
        self.classes_ = self._target_encoder.categories_[0]
        y_enc = self._target_encoder.transform(np.reshape(y, (-1, 1)))
        return self._fit_keras(X, y_enc, sample_weight, **kwargs)

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        p = self._predict_raw(X)
        p = p.reshape(len(p), -1)
        if len(self.classes_) == 1:  # scikit-learn's one-label case: that label with probability 1
            return np.ones((len(p), 1), dtype=p.dtype)
        if p.shape[1] == 1:  # one sigmoid unit for two classes
            p = np.hstack([1.0 - p, p])
        if p.shape[1] != len(self.classes_):
            raise ValueError(f"{type(self).__name__}: the model outputs {p.shape[1]} columns but there are "
                             f"{len(self.classes_)} classes")
        return p

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class SKLearnRegressor(RegressorMixin, SKLBase):
    """Keras 3 ``keras.wrappers.SKLearnRegressor``: a 1-D ``y`` is fed as one column and predictions come back 1-D."""

    def fit(self, X, y, sample_weight=None, **kwargs):
        X, y = _validate_data(self, X, y, dtype="float32", multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype="float32")
        self._y_ndim = y.ndim
        return self._fit_keras(X, y.reshape(-1, 1) if y.ndim == 1 else y, sample_weight, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        p = self._predict_raw(X).astype("float64")  # scikit-learn expects float64 predictions
        return p.reshape(-1) if self._y_ndim == 1 and p.ndim == 2 and p.shape[1] == 1 else p


class SKLearnTransformer(TransformerMixin, SKLBase):
    """Keras 3 ``keras.wrappers.SKLearnTransformer``: ``transform(X)`` is the model's prediction.

    With ``y=None`` the model learns to reproduce ``X`` (an autoencoder). nerve extension: ``transform_layer``
    names a layer of a functional model whose output is the transform (e.g. an autoencoder's code layer).
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None, random_state=None,
                 transform_layer=None, **routed_params):
        super().__init__(model, warm_start=warm_start, model_kwargs=model_kwargs, fit_kwargs=fit_kwargs,
                         random_state=random_state, **routed_params)
        self.transform_layer = transform_layer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # nerve computes in floatx
        return tags

    def fit(self, X, y=None, sample_weight=None, **kwargs):
        if y is None:
            X = _validate_data(self, X, dtype="float32")
            y = X
        else:
            X, y = _validate_data(self, X, y, dtype="float32", multi_output=True)
        self._fit_keras(X, y, sample_weight, **kwargs)
        self._encoder = None
        if self.transform_layer is not None:
            from ..models import Model
            layer = self.model_.get_layer(self.transform_layer)
            self._encoder = Model(self.model_.inputs, layer.output)
        return self

    def transform(self, X):
        if getattr(self, "_encoder", None) is None:
            return self._predict_raw(X)
        check_is_fitted(self, "model_")
        X = _validate_data(self, X, reset=False, dtype="float32")
        return np.asarray(self._encoder.predict(X, verbose=0))
