"""Issue 9 item 3: one test per kind of bad input. Each error names the layer or function, the argument
(or the layer's input), what was expected and what was given."""
import gzip

import numpy as np
import pytest

import nerve
from nerve import activations, losses, metrics, optimizers
from nerve.datasets import DatasetFormatError
from nerve.datasets._csv import read_csv
from nerve.datasets._idx import read_idx, write_idx
from nerve.datasets._npz import read_npz
from nerve.layers import Conv2D, Dense, Input
from nerve.models import Model, Sequential

X = np.random.default_rng(0).random((10, 4)).astype("float32")
LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])


def classifier(loss="sparse_categorical_crossentropy", **compile_kw):
    m = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")],
                   name="clf")
    m.compile("adam", loss=loss, **compile_kw)
    return m


def regressor():
    m = Sequential([Input(shape=(4,)), Dense(1)], name="reg")
    m.compile("sgd", loss="mse")
    return m


def test_wrong_input_rank():
    with pytest.raises(ValueError, match=r"Sequential 'clf': argument 'inputs' expected rank 2 \(shape \(None, 4\)\), "
                                         r"got data of shape \(10, 2, 4\)"):
        classifier().fit(X[:, None, :].repeat(2, axis=1), LABELS, verbose=0)
    inp = Input(shape=(4,))
    f = Model(inp, Dense(1)(inp), name="f")
    with pytest.raises(ValueError, match=r"Functional 'f': input '.*' expected rank 2 \(shape \(None, 4\)\), got "
                                         r"data of shape \(10,\)"):
        f.predict(X[:, 0], verbose=0)
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d.*': expected input of rank 4 .* got shape \(None, 4\)"):
        Sequential([Conv2D(2, 3, name="conv2d")]).predict(X, verbose=0)
    # a trailing axis of size 1 is squeezed, as Keras 3 does
    assert regressor().predict(X[..., None], verbose=0).shape == (10, 1)


def test_wrong_last_dimension():
    with pytest.raises(ValueError, match=r"Dense '.*': expected last axis 4, got input of shape \(10, 3\)"):
        classifier().fit(X[:, :3], LABELS, verbose=0)


def test_x_and_y_of_different_lengths():
    with pytest.raises(ValueError, match="fit: arguments 'x' and 'y' must have the same number of samples, got x "
                                         "with 10 and y with 9"):
        classifier().fit(X, LABELS[:9], verbose=0)
    with pytest.raises(ValueError, match="evaluate: arguments 'x' and 'y' .* got x with 10 and y with 11"):
        classifier().evaluate(X, np.r_[LABELS, 0], verbose=0)


def test_labels_outside_the_classes():
    for bad, seen in ((LABELS + 1, r"\[1, 3\]"), (LABELS - 1, r"\[-1, 1\]")):
        with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: argument 'y_true' expected class "
                                             r"labels in \[0, 3\) for y_pred with 3 classes, got labels in " + seen):
            classifier().fit(X, bad, verbose=0)


def test_one_hot_targets_with_a_sparse_loss():
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: argument 'y_true' has shape \(10, 3\), "
                                         r"the same as 'y_pred' \(10, 3\): it looks one-hot encoded; use "
                                         r"loss='categorical_crossentropy'"):
        classifier().fit(X, np.eye(3, dtype="float32")[LABELS], verbose=0)


def test_large_inputs_are_checked_in_two_halves():
    """Arrays above 4 MB are summed as two halves on two threads: a NaN/Inf in either half, or an overflowing
    sum of finite values, gives the same result as the one-pass check."""
    from nerve.training.data_adapter import _SPLIT_BYTES, check_finite_and_numeric
    n = _SPLIT_BYTES // (4 * 64) + 10
    for row in (1, n - 2):
        x = np.ones((n, 64), "float32")
        x[row, 5] = np.nan if row == 1 else np.inf
        with pytest.raises(ValueError, match=rf"got 1 NaN/Inf value\(s\) out of {n * 64}; the first is .* at index "
                                             rf"\({row}, 5\)"):
            check_finite_and_numeric("fit", x)
    big = np.full((n, 64), 3e38, "float32")  # finite, but the sum overflows: the element-wise look passes it
    check_finite_and_numeric("fit", big)


def test_integer_labels_with_a_one_hot_loss():
    with pytest.raises(ValueError, match=r"categorical_crossentropy: argument 'y_true' has shape \(10,\) but "
                                         r"'y_pred' has shape \(10, 3\): .*use loss='sparse_categorical_crossentropy'"):
        classifier("categorical_crossentropy").fit(X, LABELS, verbose=0)


def test_nan_or_inf_in_x_names_the_count_and_first_index():
    x = X.copy()
    x[3, 2], x[7, 0] = np.nan, -np.inf
    with pytest.raises(ValueError, match=r"fit: argument 'x' must hold finite values, got 2 NaN/Inf value\(s\) out "
                                         r"of 40; the first is nan at index \(3, 2\)"):
        classifier().fit(x, LABELS, verbose=0)
    with pytest.raises(ValueError, match=r"argument 'x\[1\]' must hold finite values, got 1 .* inf at index \(5, 0\)"):
        a, b = Input(shape=(4,)), Input(shape=(1,))
        m = Model([a, b], Dense(1)(nerve.layers.Concatenate()([a, b])))
        m.compile("sgd", "mse")
        bad = np.ones((10, 1), "float32")
        bad[5, 0] = np.inf
        m.fit([X, bad], np.ones((10, 1)), verbose=0)


def test_nan_or_inf_in_y_and_in_validation_data():
    y = np.ones((10, 1), "float32")
    y[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"fit: argument 'y' must hold finite values, got 1 NaN/Inf value\(s\) out "
                                         r"of 10; the first is inf at index \(4, 0\)"):
        regressor().fit(X, y, verbose=0)
    with pytest.raises(ValueError, match=r"fit: argument 'y' .* got 1 NaN/Inf .* at index \(4, 0\)"):
        regressor().fit(X, np.ones((10, 1)), validation_data=(X, y), verbose=0)


def test_empty_data():
    with pytest.raises(ValueError, match=r"fit: the input data is empty \(x has 0 samples\)"):
        classifier().fit(X[:0], LABELS[:0], verbose=0)
    with pytest.raises(ValueError, match=r"predict: the input data is empty"):
        classifier().predict(X[:0], verbose=0)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_batch_size_not_positive(bad):
    with pytest.raises(ValueError, match=f"fit: argument 'batch_size' must be a positive integer, got {bad!r}"):
        classifier().fit(X, LABELS, batch_size=bad, verbose=0)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.2"])
def test_validation_split_outside_zero_one(bad):
    with pytest.raises(ValueError, match=rf"fit: argument 'validation_split' must be a float in \[0, 1\), got "
                                         rf"{bad!r}"):
        classifier().fit(X, LABELS, validation_split=bad, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split=0.5 leaves an empty training or validation set with 1 "
                                         r"samples"):
        classifier().fit(X[:1], LABELS[:1], validation_split=0.5, verbose=0)


def test_unknown_string_identifiers_suggest_a_name():
    with pytest.raises(ValueError, match=r"unknown activation 'rellu'; did you mean 'relu'"):
        Dense(3, activation="rellu")
    with pytest.raises(ValueError, match=r"unknown activation 'sigmod'; did you mean 'sigmoid'"):
        activations.get("sigmod")
    with pytest.raises(ValueError, match=r"unknown loss 'categorical_crosentropy'; did you mean "
                                         r"'categorical_crossentropy'"):
        classifier("categorical_crosentropy").fit(X, LABELS, verbose=0)
    with pytest.raises(ValueError, match=r"unknown loss 'msee'; did you mean 'mse'"):
        losses.get("msee")
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamm'; did you mean 'adam'"):
        classifier().compile("adamm", loss="mse")
    with pytest.raises(ValueError, match=r"unknown optimizer 'sgdd'; did you mean 'sgd'"):
        optimizers.get("sgdd")
    with pytest.raises(ValueError, match=r"unknown metric identifier 'acuracy'; did you mean 'accuracy'"):
        classifier(metrics=["acuracy"]).fit(X, LABELS, verbose=0)
    with pytest.raises(ValueError, match=r"unknown metric identifier 'precison'; did you mean 'precision'"):
        metrics.get("precison")


def test_unknown_identifiers_fail_at_compile():
    """A misspelt loss or metric is reported when compile() runs, not at the first batch."""
    with pytest.raises(ValueError, match=r"compile: argument 'loss': .*unknown loss 'msle2'; did you mean 'msle'"):
        regressor().compile("adam", loss="msle2")
    with pytest.raises(ValueError, match=r"compile: argument 'metrics': .*unknown metric identifier 'maee'; did you "
                                         r"mean 'mae'"):
        regressor().compile("adam", loss="mse", metrics=["maee"])
    with pytest.raises(ValueError, match=r"compile: argument 'loss': .*unknown loss 'xx'"):
        regressor().compile("adam", loss={"dense": "xx"})
    # the names compile resolves from the data shapes stay valid
    regressor().compile("adam", loss="ce", metrics=["acc", ["mae"]], weighted_metrics=["accuracy"])


@pytest.mark.parametrize("dtype", [object, str, "S3"])
def test_object_or_string_arrays(dtype):
    x = np.array([["a", "b", "c", "d"]] * 10, dtype=dtype)
    with pytest.raises(TypeError, match=r"Sequential 'clf': expected numeric input, got an array of dtype"):
        classifier().fit(x, LABELS, verbose=0)


def test_complex_arrays():
    with pytest.raises(TypeError, match=r"predict: argument 'x' expected a real numeric array \(bool, int or float\), "
                                        r"got dtype complex128 of shape \(10, 4\)"):
        regressor().predict(X.astype(complex), verbose=0)


def test_predict_before_build():
    with pytest.raises(ValueError, match=r"Sequential 'empty': cannot predict with a model that has no layers"):
        Sequential(name="empty").predict(X, verbose=0)

    class NoCall(Model):
        pass
    with pytest.raises(NotImplementedError, match=r"NoCall 'no_call': a subclassed Model must implement call"):
        NoCall(name="no_call").predict(X, verbose=0)
    with pytest.raises(ValueError, match=r"Sequential 'unbuilt': count_params needs a built model"):
        Sequential([Dense(3)], name="unbuilt").count_params()
    with pytest.raises(ValueError, match=r"Sequential 'unbuilt2': this model has not yet been built"):
        Sequential([Dense(3)], name="unbuilt2").summary()
    # Keras: a model without an input shape builds on the first predict
    assert Sequential([Dense(3)]).predict(X, verbose=0).shape == (10, 3)


def test_weights_of_the_wrong_shape(tmp_path):
    m = classifier()
    w = m.get_weights()
    with pytest.raises(ValueError, match=r"Sequential 'clf': weight 'dense.*/kernel' expected shape \(4, 8\), got "
                                         r"\(3, 8\)"):
        m.set_weights([np.zeros((3, 8), "float32")] + w[1:])
    with pytest.raises(ValueError, match=r"Sequential 'clf': set_weights expected a list of 4 arrays .* got 3"):
        m.set_weights(w[1:])
    with pytest.raises(ValueError, match=r"Dense 'd': weight 'd/kernel' expected shape \(4, 2\), got \(5, 2\)"):
        d = Dense(2, name="d")
        d.build((None, 4))
        d.set_weights([np.zeros((5, 2)), np.zeros(2)])
    other = Sequential([Input(shape=(5,)), Dense(8, activation="relu"), Dense(3)])
    p = str(tmp_path / "other.weights.npz")
    other.save_weights(p)
    with pytest.raises(ValueError, match=r"shape"):
        m.load_weights(p)


def test_dataset_file_that_is_not_what_its_name_says(tmp_path):
    csv_text = b"a,b\n1,2\n"
    fake_idx = tmp_path / "train-images-idx3-ubyte"
    fake_idx.write_bytes(csv_text)
    with pytest.raises(DatasetFormatError, match=r"not an IDX file \(bad magic number 612c620a\)"):
        read_idx(str(fake_idx), "fashion_mnist")
    fake_gz = tmp_path / "train-labels-idx1-ubyte.gz"
    fake_gz.write_bytes(b"\x1f\x8b" + csv_text)  # gzip magic, then not gzip (a raw IDX under .gz is accepted)
    with pytest.raises(DatasetFormatError, match=r"train-labels-idx1-ubyte.gz' is a corrupt or truncated gzip"):
        read_idx(str(fake_gz), "fashion_mnist")
    fake_npz = tmp_path / "imdb.npz"
    fake_npz.write_bytes(gzip.compress(csv_text))
    with pytest.raises(DatasetFormatError, match=r"imdb"):
        read_npz(str(fake_npz), "imdb")
    fake_csv = tmp_path / "Hitters.csv"
    fake_csv.write_bytes(write_idx(np.arange(300, dtype=np.uint8)))
    with pytest.raises(DatasetFormatError, match=r"hitters"):
        read_csv(str(fake_csv), "hitters")
    assert issubclass(DatasetFormatError, ValueError)
