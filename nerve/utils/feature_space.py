"""FeatureSpace (Keras 3 ``keras.utils.FeatureSpace``): one object that preprocesses and encodes a table of
named features (a dict of columns) into one float32 matrix ("concat") or a dict of encoded columns ("dict").

Each feature is a :class:`Feature` (dtype, preprocessing layer, output_mode): ``float`` (as is),
``float_rescaled`` (Rescaling), ``float_normalized`` (Normalization), ``float_discretized`` (Discretization),
``integer_categorical`` / ``string_categorical`` (IntegerLookup / StringLookup, index 0 is the OOV slot),
``integer_hashed`` / ``string_hashed`` (Hashing) or ``feature(dtype, preprocessor, output_mode)``. Crosses hash
the *preprocessed* values of two or more features with HashedCrossing. Integer outputs with
``output_mode="one_hot"`` are one-hot encoded to the preprocessor's cardinality. As in Keras, the encoded
columns come in sorted feature-name order, then the crosses in sorted name order.

nerve differences: ``adapt`` reads nerve data (a dict of arrays, an iterable of dict batches such as a
PyDataset or a list, (dict, labels) pairs) instead of tf.data. ``get_inputs`` gives string features Inputs of
dtype ``object`` (NumPy has no "string" dtype); a model with such an Input passes string columns through to the
FeatureSpace, so ``Model(get_inputs(), outputs)`` runs end to end from raw columns, strings included, as in Keras.
``get_config`` carries the adapted state (vocabularies, bin boundaries, normalisation mean/variance), so
``FeatureSpace.from_config(fs.get_config())`` is ready to use without ``adapt``; a model holding a FeatureSpace
saves and loads with it (the saving registry imports this module with nerve's other built-in classes).
"""
import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..layers.layer import Layer, unique_name
from ..layers.node import KerasTensor, Node, flatten, is_symbolic
from ..saving.registry import deserialize, register, serialize

_FEATURE_MODES = ("int", "one_hot", "float")


def _host(x):
    return np.asarray(backend.to_numpy(x.data if isinstance(x, Tensor) else x))


def _layers():
    from .. import layers  # imported on use: nerve.utils must not import the layers at import time
    return layers


class Cross:
    """Features crossed by hashing their combined (preprocessed) values into ``crossing_dim`` bins."""

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"FeatureSpace.cross: argument 'output_mode' expected 'int' or 'one_hot', got "
                             f"{output_mode!r}")
        if isinstance(feature_names, str) or len(feature_names) < 2:
            raise ValueError(f"FeatureSpace.cross: argument 'feature_names' expected two or more feature names, "
                             f"got {feature_names!r}")
        if not isinstance(crossing_dim, (int, np.integer)) or crossing_dim < 1:
            raise ValueError(f"FeatureSpace.cross: argument 'crossing_dim' expected a positive int, got "
                             f"{crossing_dim!r}")
        self.feature_names, self.crossing_dim, self.output_mode = tuple(feature_names), int(crossing_dim), output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": list(self.feature_names), "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """One input column: its dtype, its preprocessing layer and how its output is encoded."""

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in _FEATURE_MODES:
            raise ValueError(f"FeatureSpace.feature: argument 'output_mode' expected one of {list(_FEATURE_MODES)}, "
                             f"got {output_mode!r}")
        if isinstance(preprocessor, dict):
            preprocessor = deserialize(preprocessor, kind="layers")
        if not callable(preprocessor):
            raise TypeError(f"FeatureSpace.feature: argument 'preprocessor' expected a layer, got "
                            f"{type(preprocessor).__name__}")
        self.dtype, self.preprocessor, self.output_mode = dtype, preprocessor, output_mode

    def get_config(self):
        pre = serialize(self.preprocessor)
        layers = _layers()
        if isinstance(self.preprocessor, layers.Normalization) and self.preprocessor.built and \
                self.preprocessor.input_mean is None:  # keep the adapted statistics
            pre["config"].update(mean=_host(self.preprocessor.mean.data).tolist(),
                                 variance=_host(self.preprocessor.variance.data).tolist())
        return {"dtype": self.dtype, "preprocessor": pre, "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _needs_state(p):
    """Whether preprocessor ``p`` still lacks what ``adapt`` learns."""
    layers = _layers()
    if isinstance(p, layers.Normalization):
        return p.input_mean is None and not p.built
    if isinstance(p, (layers.StringLookup, layers.IntegerLookup)):
        return p._vocab is None
    if isinstance(p, layers.Discretization):
        return p.bin_boundaries is None
    return False


def _probe_value(feature):
    """One value the feature's preprocessor accepts: the first entry of a lookup's vocabulary (a lookup without
    OOV indices refuses anything else), else "0" / 0."""
    get_vocabulary = getattr(feature.preprocessor, "get_vocabulary", None)
    if get_vocabulary is not None:
        vocab = [v for v in get_vocabulary(include_special_tokens=False) if v not in ("", "[UNK]", -1)]
        if vocab:
            return vocab[0]
    return "0" if feature.dtype == "string" else 0


@register("layers")
class FeatureSpace(Layer):
    """Preprocess and encode structured data (see the module docstring). ``features``: {name: Feature or a
    type name such as "float_normalized"}; ``crosses``: Cross objects or tuples of feature names (hashed into
    ``crossing_dim`` bins); ``hashing_dim`` and ``num_discretization_bins`` are the defaults of the
    "*_hashed" and "float_discretized" type names."""

    # ------------------------------------------------------------------ feature constructors (Keras names)
    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        name = name or unique_name("float")
        return Feature("float32", _layers().Identity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or unique_name("float_rescaled")
        return Feature("float32", _layers().Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or unique_name("float_normalized")
        return Feature("float32", _layers().Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        name = name or unique_name("float_discretized")
        pre = _layers().Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                                       name=f"{name}_preprocessor")
        return Feature("float32", pre, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or unique_name("integer_categorical")
        pre = _layers().IntegerLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                                      name=f"{name}_preprocessor")
        return Feature("int32", pre, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        name = name or unique_name("string_categorical")
        pre = _layers().StringLookup(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                                     name=f"{name}_preprocessor")
        return Feature("string", pre, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or unique_name("string_hashed")
        return Feature("string", _layers().Hashing(num_bins=num_bins, name=f"{name}_preprocessor"), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or unique_name("integer_hashed")
        return Feature("int32", _layers().Hashing(num_bins=num_bins, name=f"{name}_preprocessor"), output_mode)

    _SHORTHANDS = ("float", "float_rescaled", "float_normalized", "float_discretized", "integer_categorical",
                   "string_categorical", "integer_hashed", "string_hashed")

    # ------------------------------------------------------------------ construction
    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32, hashing_dim=32,
                 num_discretization_bins=32, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(features, dict) or not features:
            raise ValueError(f"FeatureSpace: argument 'features' expected a non-empty dict {{name: feature type}}, "
                             f"got {features!r}")
        if output_mode not in ("concat", "dict"):
            raise ValueError(f"FeatureSpace: argument 'output_mode' expected 'concat' or 'dict', got {output_mode!r}")
        self.output_mode, self.crossing_dim = output_mode, crossing_dim
        self.hashing_dim, self.num_discretization_bins = hashing_dim, num_discretization_bins
        self.features = {n: self._standardize_feature(n, f) for n, f in features.items()}
        self.crosses = [self._standardize_cross(c) for c in crosses or []]
        self.crosses_by_name = {c.name: c for c in self.crosses}
        self.preprocessors = {n: f.preprocessor for n, f in self.features.items()}
        self.crossers = {c.name: _layers().HashedCrossing(c.crossing_dim, name=c.name) for c in self.crosses}
        self._names = sorted(self.features) + sorted(self.crosses_by_name)
        self._input_tensors = self._encoded = None
        self.built = True

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return Feature.from_config(feature.get("config", feature))
        if feature == "float_discretized":
            return self.float_discretized(self.num_discretization_bins, name=name)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=name)
        if isinstance(feature, str) and feature in self._SHORTHANDS:
            return getattr(self, feature)(name=name)
        raise ValueError(f"FeatureSpace: feature {name!r} has an invalid type {feature!r}; expected a "
                         f"FeatureSpace.<type>(...) Feature or one of {list(self._SHORTHANDS)}")

    def _standardize_cross(self, cross):
        if isinstance(cross, dict):
            cross = Cross.from_config(cross.get("config", cross))
        elif not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise ValueError("FeatureSpace: 'crosses' given as name tuples need argument 'crossing_dim', got "
                                 f"{self.crossing_dim!r}")
            cross = Cross(cross, crossing_dim=self.crossing_dim)
        unknown = [n for n in cross.feature_names if n not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace: cross {cross.feature_names} names unknown feature(s) {unknown}; the "
                             f"features are {sorted(self.features)}")
        return cross

    # ------------------------------------------------------------------ adapt
    def _adaptable(self):
        layers = _layers()
        out = []
        for name, p in self.preprocessors.items():
            if isinstance(p, layers.Normalization) and p.input_mean is not None:
                continue  # given mean/variance
            if isinstance(p, layers.Discretization) and p.num_bins is None:
                continue  # given bin boundaries
            if hasattr(p, "adapt"):
                out.append(name)
        return out

    def adapt(self, dataset):
        """Learn each adaptable preprocessor's state (vocabulary, bins, mean/variance) from ``dataset``: a dict
        of columns, a (dict, labels) pair, or an iterable of dict batches or (dict, labels, ...) batches."""
        names = self._adaptable()
        columns = {n: [] for n in names}
        batches = [dataset] if isinstance(dataset, (dict, tuple)) else dataset
        try:
            iterator = iter(batches)
        except TypeError:
            raise ValueError(f"FeatureSpace.adapt: expected a dict of arrays or an iterable of dict batches, got "
                             f"{type(dataset).__name__}") from None
        for batch in iterator:
            if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], dict):
                batch = batch[0]  # (features, labels[, sample_weight]): only the features are used
            if not isinstance(batch, dict):
                raise ValueError(f"FeatureSpace.adapt: expected dict batches (or (dict, labels) pairs), got a "
                                 f"{type(batch).__name__}")
            for n in names:
                if n not in batch:
                    raise ValueError(f"FeatureSpace.adapt: feature {n!r} is missing from the data; got keys "
                                     f"{sorted(batch)}")
                columns[n].append(np.atleast_1d(_host(batch[n])))
        for n in names:
            if not columns[n]:
                raise ValueError("FeatureSpace.adapt: the dataset is empty")
            x = self._column(n, np.concatenate(columns[n], axis=0))
            self.preprocessors[n].adapt(x)
        self._encoded = None  # shapes may have changed

    # ------------------------------------------------------------------ encoding
    def _check_adapted(self):
        missing = [n for n, p in self.preprocessors.items() if _needs_state(p)]
        if missing:
            raise ValueError(f"FeatureSpace '{self.name}': call adapt(dataset) before using it; feature(s) "
                             f"{missing} are not adapted")

    def _column(self, name, x):
        """A feature's values as a (batch, 1) column (rank-2 data passes) of the feature's dtype."""
        x = x[:, None] if x.ndim == 1 else x
        dtype = self.features[name].dtype
        try:
            if dtype.startswith("float"):
                return x.astype(dtype)
            if dtype.startswith("int") and x.dtype.kind == "f":
                if not np.all(x == np.round(x)):
                    raise ValueError
                return x.astype(np.int64)
        except ValueError:
            raise ValueError(f"FeatureSpace: feature {name!r} expected {dtype} values, got {x.dtype} data such as "
                             f"{x.ravel()[:3].tolist()}") from None
        return x

    def _cardinality(self, name):
        layers = _layers()
        p = self.preprocessors.get(name) or self.crossers.get(name)
        if isinstance(p, (layers.StringLookup, layers.IntegerLookup)):
            return p.vocabulary_size()
        if isinstance(p, layers.Discretization):
            return len(p.bin_boundaries) + 1 if p.bin_boundaries is not None else p.num_bins
        if isinstance(p, layers.CategoryEncoding):
            return p.num_tokens
        if isinstance(p, (layers.Hashing, layers.HashedCrossing)):
            return p.num_bins
        raise ValueError(f"FeatureSpace: feature {name!r} has output_mode='one_hot' but its preprocessor "
                         f"{type(p).__name__} has no known number of categories; use output_mode='int'")

    def _spec(self, name):
        return self.features.get(name) or self.crosses_by_name[name]

    def _encode(self, data):
        """dict of columns -> {name: encoded (batch, width) array}, in output order."""
        if not isinstance(data, dict):
            raise ValueError(f"FeatureSpace '{self.name}': expected a dict {{feature name: values}}, got "
                             f"{type(data).__name__}")
        missing = [n for n in self.features if n not in data]
        if missing:
            raise ValueError(f"FeatureSpace '{self.name}': feature(s) {missing} are missing from the data; got keys "
                             f"{sorted(data)}")
        cols = {n: self._column(n, _host(data[n])) for n in self.features}
        pre = {n: _host(self.preprocessors[n](x)) for n, x in cols.items()}
        for c in self.crosses:
            pre[c.name] = _host(self.crossers[c.name]([pre[n] for n in c.feature_names]))
        out = {}
        for name in self._names:
            x, mode = pre[name], self._spec(name).output_mode
            if mode == "one_hot":
                if x.dtype.kind not in "iu":
                    raise ValueError(f"FeatureSpace: feature {name!r} has output_mode='one_hot', so its preprocessor "
                                     f"must return integers; it returns {x.dtype}")
                x = _layers().CategoryEncoding(self._cardinality(name), output_mode="multi_hot")(x).numpy()
            if self.output_mode == "concat" and x.dtype.kind not in "fb":
                raise ValueError(f"FeatureSpace: cannot concatenate feature {name!r}: it is not encoded (dtype "
                                 f"{x.dtype}); use output_mode='one_hot' for it or FeatureSpace output_mode='dict'")
            out[name] = x.reshape(len(x), -1) if x.ndim == 1 else x
        return out

    def __call__(self, data, **kwargs):
        if is_symbolic(data):
            return self._symbolic(data)
        self._check_adapted()
        if isinstance(data, dict) and any(np.ndim(_host(v)) == 0 for v in data.values()):
            single = {k: np.asarray(_host(v)).reshape(1) for k, v in data.items()}  # one example
            out = self._encode(single)
            if self.output_mode == "concat":
                return Tensor(np.concatenate([v.astype("float32") for v in out.values()], -1)[0])
            return {k: Tensor(v[0]) for k, v in out.items()}
        out = self._encode(data)
        if self.output_mode == "concat":
            return Tensor(np.concatenate([v.astype("float32") for v in out.values()], -1))
        return {k: Tensor(v) for k, v in out.items()}

    def call(self, inputs):
        return self(inputs)

    def _accepts_strings(self):
        return True

    # ------------------------------------------------------------------ symbolic use
    def _output_specs(self):
        """{name: (width, dtype)} of the encoded columns, found by encoding one example of placeholders."""
        probe = {n: np.array([_probe_value(f)]) for n, f in self.features.items()}
        return {k: (v.shape[-1], str(v.dtype)) for k, v in self._encode(probe).items()}

    def _symbolic(self, inputs):
        self._check_adapted()
        specs = self._output_specs()
        if self.output_mode == "concat":
            outputs = KerasTensor((None, sum(w for w, _ in specs.values())), "float32", name=self.name)
        else:
            outputs = {k: KerasTensor((None, w), d, name=f"{self.name}_{k}") for k, (w, d) in specs.items()}
        flat_in = [t for t in flatten(inputs) if isinstance(t, KerasTensor)]
        node = Node(self, flat_in, flatten(outputs), "dict:" + ",".join(sorted(inputs)), {})
        node.args = ()
        self._inbound_nodes.append(node)
        for i, t in enumerate(flatten(outputs)):
            t._history = (self, node, i)
        return outputs

    def get_inputs(self):
        """{feature name: nerve.Input of shape (1,)} (string features: dtype object)."""
        if self._input_tensors is None:
            from ..layers.core import Input
            self._input_tensors = {n: Input(shape=(1,), dtype="object" if f.dtype == "string" else f.dtype, name=n)
                            for n, f in self.features.items()}
        return self._input_tensors

    def get_encoded_features(self):
        """The symbolic encoding of ``get_inputs()``: a (None, width) float32 KerasTensor in concat mode, a dict
        of them in dict mode. ``Model(get_encoded_features(), outputs)`` trains on ``feature_space(data)``;
        ``Model(get_inputs(), outputs)`` runs from raw (numeric) columns."""
        if self._encoded is None:
            self._encoded = self(self.get_inputs())
        return self._encoded

    # ------------------------------------------------------------------ config
    def get_config(self):
        return {"name": self.name, "features": {n: serialize(f) for n, f in self.features.items()},
                "output_mode": self.output_mode, "crosses": [serialize(c) for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
