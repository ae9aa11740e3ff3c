"""timeseries_dataset_from_array (Keras semantics), lagged_design_matrix (NYSE), pad_sequences re-export."""
import os

import numpy as np
import pytest

import nerve
from nerve.preprocessing import lagged_design_matrix, pad_sequences, timeseries_dataset_from_array
from nerve.preprocessing.sequence import pad_sequences as ps2


def test_keras_docstring_example_windows():
    # Keras docs: data [0..99], sequence_length=10, sampling_rate=2 -> first window [0, 2, ..., 18]
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data, None, sequence_length=10, sampling_rate=2, batch_size=None)
    np.testing.assert_array_equal(ds[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(ds[1], np.arange(1, 21, 2))
    assert len(ds) == 100 - 9 * 2


def test_targets_next_value_and_batches():
    data = np.arange(20, dtype="float32")[:, None]
    ds = timeseries_dataset_from_array(data[:-3], data[3:, 0], sequence_length=3, batch_size=4)
    x, y = ds[0]
    assert x.shape == (4, 3, 1) and y.shape == (4,)
    np.testing.assert_array_equal(x[1, :, 0], [1, 2, 3])
    assert y[1] == 4  # the value right after the window
    xs = np.concatenate([b[0] for b in ds])
    assert len(xs) == 17 - 2 and len(ds) == 4


def test_stride_start_end_shuffle():
    data = np.arange(50)
    ds = timeseries_dataset_from_array(data, data, sequence_length=5, sequence_stride=3, start_index=10,
                                       end_index=40, batch_size=None)
    x0, y0 = ds[0]
    np.testing.assert_array_equal(x0, np.arange(10, 15))
    assert y0 == 10
    np.testing.assert_array_equal(ds[1][0], np.arange(13, 18))
    sh = timeseries_dataset_from_array(data, data, sequence_length=5, shuffle=True, seed=3, batch_size=8)
    xs, ys = sh.as_numpy()
    np.testing.assert_array_equal(xs[:, 0], ys)  # windows stay aligned with their targets
    assert not np.array_equal(ys, np.sort(ys))
    with pytest.raises(ValueError, match="sequence_length"):
        timeseries_dataset_from_array(data, None, 0)


def test_lagged_design_matrix_matches_windows():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(30, 3))
    x, y = lagged_design_matrix(data, 5, target_column=1)
    assert x.shape == (25, 15) and y.shape == (25,)
    np.testing.assert_array_equal(x[0, :3], data[4])  # lag 1 of row 5
    np.testing.assert_array_equal(x[0, 12:], data[0])  # lag 5
    xs, ys = lagged_design_matrix(data, 5, target_column=1, as_sequences=True)
    wx, wy = timeseries_dataset_from_array(data, data[5:, 1], 5, batch_size=None).as_numpy()
    np.testing.assert_array_equal(xs, wx)
    np.testing.assert_array_equal(ys, wy)


def test_pad_sequences_reexport():
    assert ps2 is pad_sequences
    np.testing.assert_array_equal(pad_sequences([[1, 2], [3]], maxlen=3), [[0, 1, 2], [0, 0, 3]])


NYSE = os.path.join(os.environ.get("NERVE_DATA_DIR", "/work/shared/data"), "NYSE.csv")


@pytest.mark.skipif(not os.path.exists(NYSE), reason="NYSE.csv not found (set NERVE_DATA_DIR)")
def test_nyse_lagged_rnn_fits_from_dataset():
    import csv
    with open(NYSE) as f:
        rows = list(csv.DictReader(f))
    cols = ["DJ_return", "log_volume", "log_volatility"]
    a = np.array([[float(r[c]) for c in cols] for r in rows])
    a = (a - a.mean(0)) / a.std(0)
    a = a[:800].astype("float32")
    ds = timeseries_dataset_from_array(a[:-5], a[5:, 1], sequence_length=5, batch_size=64)
    nerve.set_random_seed(0)
    model = nerve.Sequential([nerve.layers.Input(shape=(5, 3)), nerve.layers.SimpleRNN(12),
                              nerve.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(ds, epochs=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
