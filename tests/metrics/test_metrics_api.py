"""Metric API: Keras golden values, identifiers, compile-time resolution, configs, state, custom metrics, errors."""
import json

import numpy as np
import pytest

import nerve
from nerve import metrics as M
from nerve import ops
from nerve.saving import register_keras_serializable

RNG = np.random.default_rng(7)


def test_keras_docstring_values():
    """Values printed in Keras 3's docstrings and tests."""
    yt, yp = np.array([0, 0, 1, 1]), np.array([0, 0.5, 0.3, 0.9])
    assert M.AUC(num_thresholds=3)(yt, yp) == pytest.approx(0.75)
    assert M.AUC(num_thresholds=3)(yt, yp, sample_weight=[1, 0, 0, 1]) == pytest.approx(1.0)
    # PR interpolation (Davis & Goadrich) worked example from Keras' tests
    expected = (0.5 * (3 + 2 * np.log(2.5)) + 4) / 7
    assert M.AUC(num_thresholds=3, curve="PR")(yt, yp, sample_weight=[1, 2, 3, 4]) == pytest.approx(expected)
    assert M.Precision()([0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)
    assert M.Precision(top_k=2)([0, 0, 1, 1], [1, 1, 1, 1]) == 0.0
    assert M.Precision(top_k=4)([0, 0, 1, 1], [1, 1, 1, 1]) == 0.5
    assert M.FalseNegatives()([0, 1, 1, 1], [0, 1, 0, 0], sample_weight=[0, 0, 1, 0]) == 1.0
    f1 = M.F1Score(threshold=0.5)
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]])
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    np.testing.assert_allclose(f1(y_true, y_pred), [0.5, 0.8, 0.6666667], atol=1e-6)
    np.testing.assert_allclose(M.FBetaScore(beta=2.0, threshold=0.5)(y_true, y_pred),
                               [0.3846154, 0.90909094, 0.8333334], atol=1e-6)
    assert M.R2Score()(np.array([[1], [4], [3.0]]), np.array([[2], [4], [4.0]])) == pytest.approx(0.57142854)
    assert M.MeanAbsolutePercentageError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]) == pytest.approx(2.5e8)
    assert M.RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0]) == pytest.approx(
        0.70710677)
    assert M.MeanSquaredLogarithmicError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]) == pytest.approx(0.12011322)
    assert M.LogCoshError()([[0, 1], [0, 0]], [[1, 1], [0, 0]]) == pytest.approx(0.10844523)
    assert M.CosineSimilarity(axis=1)([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]],
                                      sample_weight=[0.3, 0.7]) == pytest.approx(0.7)
    assert M.Sum()([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]) == 4.0
    assert M.Mean()([1, 3, 5, 7], sample_weight=[1, 1, 0, 0]) == 2.0
    assert M.CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
                                   sample_weight=[0.7, 0.3]) == pytest.approx(0.3)


def test_call_accumulates_and_reset_state():
    m = M.BinaryAccuracy()
    assert isinstance(m([[1], [0]], [[0.9], [0.8]]), float)
    assert m([[1], [1]], [[0.9], [0.8]]) == pytest.approx(0.75)  # no reset between calls
    m.reset_state()
    assert m.result() == 0.0
    assert M.Mean().result() == 0.0 and M.AUC().result() == 0.0 and M.Precision().result() == 0.0


def test_tensor_inputs_and_results_types():
    yt = nerve.tensor(RNG.integers(0, 2, (20, 1)).astype("float32"))
    yp = nerve.tensor(RNG.uniform(size=(20, 1)).astype("float32"), requires_grad=True)
    for m in (M.AUC(), M.BinaryAccuracy(), M.Precision(), M.MeanSquaredError(), M.BinaryCrossentropy()):
        assert isinstance(m(yt, yp), float)
    assert isinstance(M.F1Score(threshold=0.5)(np.eye(3), np.eye(3)), np.ndarray)
    assert isinstance(M.F1Score(average="macro", threshold=0.5)(np.eye(3), np.eye(3)), float)


def test_strings_resolve_like_keras():
    cases = {"mse": M.MeanSquaredError, "MSE": M.MeanSquaredError, "mae": M.MeanAbsoluteError,
             "mape": M.MeanAbsolutePercentageError, "msle": M.MeanSquaredLogarithmicError,
             "bce": M.BinaryCrossentropy, "mean_squared_error": M.MeanSquaredError, "auc": M.AUC,
             "AUC": M.AUC, "precision": M.Precision, "recall": M.Recall, "f1_score": M.F1Score,
             "r2_score": M.R2Score, "binary_accuracy": M.BinaryAccuracy,
             "categorical_accuracy": M.CategoricalAccuracy,
             "sparse_categorical_accuracy": M.SparseCategoricalAccuracy,
             "top_k_categorical_accuracy": M.TopKCategoricalAccuracy,
             "sparse_top_k_categorical_accuracy": M.SparseTopKCategoricalAccuracy,
             "root_mean_squared_error": M.RootMeanSquaredError, "RootMeanSquaredError": M.RootMeanSquaredError,
             "categorical_crossentropy": M.CategoricalCrossentropy, "accuracy": M.Accuracy,
             "kl_divergence": M.KLDivergence, "f_beta_score": M.FBetaScore}
    for s, cls in cases.items():
        assert type(M.get(s)) is cls, s
    assert isinstance(M.get(M.AUC), M.AUC)
    inst = M.Recall(name="r")
    assert M.get(inst) is inst
    assert M.get(None) is None


def test_unknown_string_suggests():
    with pytest.raises(ValueError, match="did you mean 'mean_squared_error'"):
        M.get("mean_sqared_error")
    with pytest.raises(ValueError, match="unknown metric identifier 'rmse'"):
        M.get("rmse")  # not a Keras 3 string
    with pytest.raises(ValueError, match="could not interpret"):
        M.get(3)


@pytest.mark.parametrize("yt_shape,yp_shape,cls", [
    ((8, 1), (8, 1), M.BinaryAccuracy), ((8,), (8, 1), M.BinaryAccuracy), ((8,), (8,), M.BinaryAccuracy),
    ((8,), (8, 10), M.SparseCategoricalAccuracy), ((8, 1), (8, 10), M.SparseCategoricalAccuracy),
    ((8, 10), (8, 10), M.CategoricalAccuracy), ((8, 2), (8, 2), M.CategoricalAccuracy)])
def test_get_metric_accuracy_from_shapes(yt_shape, yp_shape, cls):
    for ident in ("accuracy", "acc", "Accuracy"):
        m = M.get_metric(ident, np.zeros(yt_shape), np.zeros(yp_shape))
        assert type(m) is cls and m.name == ident
    assert type(M.resolve_accuracy(yt_shape, yp_shape)) is cls  # shapes work too


def test_get_metric_names():
    yt, yp = np.zeros((4, 1)), np.zeros((4, 1))
    assert M.get_metric("mae", yt, yp).name == "mae"
    assert M.get_metric("mean_absolute_error", yt, yp).name == "mean_absolute_error"
    assert M.get_metric(M.AUC(name="my_auc"), yt, yp).name == "my_auc"
    assert M.get_metric(None, yt, yp) is None

    def my_error(y_true, y_pred):
        return np.abs(y_true - y_pred)
    m = M.get_metric(my_error, yt, yp)
    assert isinstance(m, M.MeanMetricWrapper) and m.name == "my_error"


def pearson_in_epoch(y_true, y_pred):
    """The seed's custom metric (seed-000-003-004 S4 12.1.8), with nerve.ops in place of K."""
    fsp = y_pred - ops.mean(y_pred, axis=0)
    fst = y_true - ops.mean(y_true, axis=0)
    dev_p = ops.std(y_pred, axis=0)
    dev_t = ops.std(y_true, axis=0)
    return ops.mean(fsp * fst, axis=0) / (dev_p * dev_t + 1e-7)


def test_custom_function_metric_is_averaged_per_batch():
    y = RNG.normal(size=(96, 1))
    p = y + RNG.normal(size=(96, 1))
    m = M.get(pearson_in_epoch)
    assert m.name == "pearson_in_epoch"
    per_batch = []
    for i in range(0, 96, 32):
        m.update_state(y[i:i + 32], p[i:i + 32])
        per_batch.append(np.corrcoef(y[i:i + 32, 0], p[i:i + 32, 0])[0, 1])
    assert m.result() == pytest.approx(np.mean(per_batch), rel=1e-5)  # computed per batch, averaged per epoch


def test_custom_per_sample_function_with_weights_and_kwargs():
    def scaled_abs(y_true, y_pred, scale=1.0):
        return scale * np.abs(y_true - y_pred).mean(-1)
    y, p, w = RNG.normal(size=(50, 3)), RNG.normal(size=(50, 3)), RNG.uniform(size=50)
    m = M.MeanMetricWrapper(scaled_abs, name="sa", scale=2.0)
    m.update_state(y[:20], p[:20], w[:20])
    m.update_state(y[20:], p[20:], w[20:])
    assert m.result() == pytest.approx(np.average(2 * np.abs(y - p).mean(-1), weights=w))
    lam = M.get(lambda a, b: (a - b) ** 2)
    assert lam.name == "lambda" and lam([1.0, 2.0], [1.0, 4.0]) == pytest.approx(2.0)


class BinaryTruePositives(M.Metric):
    """Keras' documented subclassing pattern, with nerve.ops and Variable.assign."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.multiply(ops.cast(y_true, "float64"), ops.cast(y_pred, "float64"))
        if sample_weight is not None:
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign(self.true_positives + ops.sum(values))

    def result(self):
        return float(self.true_positives.data)


def test_subclassed_metric_with_add_variable():
    m = BinaryTruePositives()
    assert m([1, 1, 0, 1], [1, 0, 1, 1]) == 2.0
    assert m([1, 1], [1, 1], sample_weight=[0.5, 0.25]) == 2.75
    assert m.get_state() == {"true_positives": 2.75}
    assert [v.path for v in m.variables] == ["binary_true_positives/true_positives"]
    assert all(not v.trainable for v in m.variables)
    m.reset_state()
    assert m.result() == 0.0


def all_metric_instances():
    return [M.Mean(), M.Sum(), M.Accuracy(), M.BinaryAccuracy(threshold=0.3), M.CategoricalAccuracy(),
            M.SparseCategoricalAccuracy(), M.TopKCategoricalAccuracy(k=2), M.SparseTopKCategoricalAccuracy(k=3),
            M.AUC(num_thresholds=50, curve="PR", summation_method="majoring"), M.AUC(thresholds=[0.1, 0.4, 0.9]),
            M.AUC(multi_label=True, num_labels=3, label_weights=[1, 2, 3], from_logits=True),
            M.Precision(thresholds=[0.2, 0.6], class_id=1), M.Recall(top_k=2), M.TruePositives(thresholds=0.3),
            M.F1Score(average="macro", threshold=0.4), M.FBetaScore(beta=0.5), M.MeanSquaredError(name="m"),
            M.RootMeanSquaredError(), M.MeanAbsoluteError(), M.MeanAbsolutePercentageError(), M.CosineSimilarity(),
            M.R2Score(class_aggregation=None, num_regressors=2),
            M.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
            M.CategoricalCrossentropy(label_smoothing=0.2), M.SparseCategoricalCrossentropy(from_logits=True),
            M.KLDivergence(), M.Poisson(), M.Hinge(), M.LogCoshError()]


@pytest.mark.parametrize("metric", all_metric_instances(), ids=lambda m: m.name)
def test_config_round_trip(metric):
    config = metric.get_config()
    json.dumps(config)
    clone = type(metric).from_config(config)
    assert clone.get_config() == config
    data = M.serialize(metric)
    again = M.deserialize(json.loads(json.dumps(data)))
    assert type(again) is type(metric) and again.get_config() == config


def test_wrapper_config_round_trip_with_registered_and_custom_functions():
    m = M.MeanMetricWrapper(M.mean_squared_error, name="w")
    again = M.deserialize(json.loads(json.dumps(M.serialize(m))))
    assert again._fn is M.mean_squared_error and again.name == "w"

    def unregistered(y_true, y_pred):
        return y_true - y_pred
    cfg = json.loads(json.dumps(M.serialize(M.get(unregistered))))
    with pytest.raises(ValueError, match="unregistered"):
        M.deserialize(cfg)  # needs custom_objects: nothing is imported or executed
    assert M.deserialize(cfg, custom_objects={"unregistered": unregistered})._fn is unregistered

    @register_keras_serializable(package="Test")
    def registered_fn(y_true, y_pred):
        return np.abs(y_true - y_pred)
    back = M.deserialize(json.loads(json.dumps(M.serialize(M.get(registered_fn)))))
    assert back._fn is registered_fn and back.name == "registered_fn"


def _batch(n):
    return np.eye(3)[RNG.integers(0, 3, n)], RNG.uniform(size=(n, 3)), RNG.uniform(size=n)


@pytest.mark.parametrize("factory", [lambda: M.AUC(), lambda: M.AUC(multi_label=True), lambda: M.F1Score(),
                                     lambda: M.F1Score(average="micro"), lambda: M.R2Score(), lambda: M.Precision(),
                                     lambda: M.CategoricalAccuracy(), lambda: M.RootMeanSquaredError(),
                                     lambda: M.Mean()])
def test_get_set_state_round_trip(factory):
    a, b = factory(), factory()
    update = (lambda m, yt, yp, w: m.update_state(yp, sample_weight=w)) if isinstance(a, M.Mean) and not \
        isinstance(a, (M.MeanMetricWrapper, M.RootMeanSquaredError)) else \
        (lambda m, yt, yp, w: m.update_state(yt, yp, sample_weight=w))
    update(a, *_batch(40))
    state = a.get_state()
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in state.values())
    b.set_state(json.loads(json.dumps({k: v.tolist() for k, v in state.items()})))  # survives JSON
    np.testing.assert_array_equal(a.result(), b.result())
    batch = _batch(30)
    update(a, *batch), update(b, *batch)
    np.testing.assert_allclose(a.result(), b.result(), rtol=1e-12)
    with pytest.raises(ValueError, match="set_state expected the keys"):
        b.set_state({"nope": np.zeros(3)})


def test_clear_shape_errors():
    with pytest.raises(ValueError, match=r"MeanSquaredError metric 'mean_squared_error'.*'y_true'.*\(32, 10\).*"
                                         r"\(32, 5\)"):
        M.MeanSquaredError().update_state(np.zeros((32, 10)), np.zeros((32, 5)))
    with pytest.raises(ValueError, match=r"SparseCategoricalAccuracy.*'y_true'.*\(8, 4\).*expected \(8,\)"):
        M.SparseCategoricalAccuracy().update_state(np.zeros((8, 4)), np.zeros((8, 4)))
    with pytest.raises(ValueError, match=r"CategoricalAccuracy.*'y_true'.*\(8,\).*'y_pred'.*\(8, 4\)"):
        M.CategoricalAccuracy().update_state(np.zeros(8), np.zeros((8, 4)))
    with pytest.raises(ValueError, match=r"BinaryAccuracy metric 'binary_accuracy'.*'sample_weight'.*\(3,\)"):
        M.BinaryAccuracy().update_state(np.zeros((8, 1)), np.zeros((8, 1)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"AUC metric '.*'.*'y_true'.*\(8, 2\).*'y_pred'.*\(8, 3\)"):
        M.AUC().update_state(np.zeros((8, 2)), np.zeros((8, 3)))
    with pytest.raises(ValueError, match=r"F1Score metric 'f1_score'.*y_true.shape=\(8,\)"):
        M.F1Score().update_state(np.zeros(8), np.zeros((8, 3)))
    with pytest.raises(ValueError, match=r"R2Score metric 'r2_score'.*y_pred.shape=\(8, 3\)"):
        M.R2Score().update_state(np.zeros((8, 2)), np.zeros((8, 3)))
    with pytest.raises(ValueError, match=r"labels outside \[0, 3\)"):
        M.SparseTopKCategoricalAccuracy(k=1).update_state(np.array([0, 5]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Precision metric.*class_id"):
        M.Precision(class_id=4).update_state(np.zeros((2, 3)), np.zeros((2, 3)))


def test_bad_constructor_arguments():
    for make, arg in [(lambda: M.AUC(curve="XY"), "curve"), (lambda: M.AUC(num_thresholds=1), "num_thresholds"),
                      (lambda: M.Precision(thresholds=[0.5, 1.5]), "thresholds"),
                      (lambda: M.BinaryAccuracy(threshold=1.0), "threshold"),
                      (lambda: M.F1Score(average="sum"), "average"), (lambda: M.FBetaScore(beta=-1.0), "beta"),
                      (lambda: M.R2Score(class_aggregation="x"), "class_aggregation"),
                      (lambda: M.TopKCategoricalAccuracy(k=0), "'k'"), (lambda: M.AUC(num_labels=3), "num_labels")]:
        with pytest.raises(ValueError, match=arg):
            make()


def test_auto_names_are_unique_like_keras():
    M.reset_uids()
    assert [M.Precision().name, M.Precision().name, M.AUC().name] == ["precision", "precision_1", "auc"]


def test_mean_as_loss_tracker_and_keras_mask():
    m = M.Mean(name="loss")
    m.update_state(0.5, sample_weight=32)  # the training loop's loss tracker: batch mean weighted by batch size
    m.update_state(1.0, sample_weight=16)
    assert m.result() == pytest.approx((16 + 16) / 48)
    yp = nerve.tensor(np.array([[0.9], [0.2], [0.9], [0.9]]))
    yp._keras_mask = np.array([True, True, False, False])  # masked steps do not count (Keras apply_mask)
    assert M.BinaryAccuracy()(np.array([[1], [0], [0], [0]]), yp) == 1.0
