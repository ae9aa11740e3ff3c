"""ModelCheckpoint, CSVLogger, TerminateOnNaN, LambdaCallback."""
import csv
import os

import numpy as np
import pytest

from nerve import saving
from nerve.callbacks import Callback, CSVLogger, LambdaCallback, ModelCheckpoint, TerminateOnNaN


def test_model_checkpoint_save_best_only_writes_on_improvement(tmp_path, make_model, data, scripted):
    x, y = data
    m = make_model()
    s = scripted("val_score", [0.9, 0.5, 0.7, 0.3, 0.4])
    path = str(tmp_path / "ck-{epoch:02d}-{val_score:.2f}.keras")
    ck = ModelCheckpoint(path, monitor="val_score", mode="min", save_best_only=True)
    m.fit(x, y, epochs=5, batch_size=10, verbose=0, callbacks=[s, ck])
    assert sorted(os.listdir(tmp_path)) == ["ck-01-0.90.keras", "ck-02-0.50.keras", "ck-04-0.30.keras"]
    loaded = saving.load_model(str(tmp_path / "ck-04-0.30.keras"))
    for a, b in zip(loaded.get_weights(), s.snapshots[3]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_weights_only_every_epoch_and_initial_threshold(tmp_path, make_model, data, scripted):
    x, y = data
    m = make_model()
    ck = ModelCheckpoint(str(tmp_path / "w{epoch}.weights.npz"), monitor="loss", save_weights_only=True)
    m.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[ck])
    assert sorted(os.listdir(tmp_path)) == ["w1.weights.npz", "w2.weights.npz"]
    m2 = make_model()
    m2.load_weights(str(tmp_path / "w2.weights.npz"))
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    s = scripted("val_score", [0.5, 0.2])
    ck = ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_score", mode="min", save_best_only=True,
                         initial_value_threshold=0.3)
    m.fit(x, y, epochs=2, verbose=0, callbacks=[s, ck])
    assert ck.best == 0.2 and os.path.exists(tmp_path / "best.keras")


def test_model_checkpoint_argument_checks(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.keras"):
        ModelCheckpoint(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="sometimes")


def test_model_checkpoint_batch_frequency(tmp_path, make_model, data):
    x, y = data
    m = make_model()
    ck = ModelCheckpoint(str(tmp_path / "m-{epoch}-{batch}.weights.npz"), save_weights_only=True, save_freq=3)
    m.fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[ck])  # 4 batches per epoch, 8 in all
    assert sorted(os.listdir(tmp_path)) == ["m-1-3.weights.npz", "m-2-2.weights.npz"]


def test_csv_logger_content_and_append(tmp_path, make_model, data):
    x, y = data
    m = make_model()
    f = str(tmp_path / "log.csv")
    m.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_split=0.25, callbacks=[CSVLogger(f)])
    rows = list(csv.DictReader(open(f)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["epoch", "loss", "val_loss"]
    hist = m.history.history
    np.testing.assert_allclose([float(r["loss"]) for r in rows], hist["loss"])
    m.fit(x, y, epochs=2, batch_size=10, verbose=0, validation_split=0.25, callbacks=[CSVLogger(f, append=True)])
    lines = open(f).read().splitlines()
    assert len(lines) == 1 + 3 + 2 and lines[0] == "epoch,loss,val_loss"
    m.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(f, separator=";")])
    lines = open(f).read().splitlines()
    assert lines[0] == "epoch;loss;val_loss" and lines[1].endswith(";NA") and len(lines) == 2


def test_terminate_on_nan_stops_after_the_bad_batch(make_model, data):
    x, y = data
    m = make_model()
    m.layers[-1].kernel.assign(np.full(m.layers[-1].kernel.shape, np.nan, "float32"))
    batches = []
    counter = LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    h = m.fit(x, y, epochs=5, batch_size=10, verbose=0, callbacks=[TerminateOnNaN(), counter])
    assert batches == [0] and len(h.history["loss"]) == 1 and m.stop_training


def test_lambda_callback_hooks(make_model, data):
    x, y = data
    m = make_model()
    calls = []
    cb = LambdaCallback(on_train_begin=lambda logs: calls.append("train_begin"),
                        on_epoch_begin=lambda e, logs: calls.append(f"epoch_begin{e}"),
                        on_epoch_end=lambda e, logs: calls.append(f"epoch_end{e}:{sorted(logs)}"),
                        on_train_end=lambda logs: calls.append("train_end"),
                        on_batch_end=lambda b, logs: calls.append("batch"))
    m.fit(x, y, epochs=2, batch_size=20, verbose=0, callbacks=[cb])
    assert calls == ["train_begin", "epoch_begin0", "batch", "batch", "epoch_end0:['loss']", "epoch_begin1", "batch",
                     "batch", "epoch_end1:['loss']", "train_end"]
    with pytest.raises(TypeError, match="unknown hook"):
        LambdaCallback(on_epoch_finish=print)


def test_base_callback_hooks_and_model():
    cb = Callback()
    cb.set_params({"epochs": 1})
    cb.set_model("m")
    assert cb.model == "m" and cb.params == {"epochs": 1} and cb.get_state() == {}
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_predict_end"):
        getattr(cb, hook)()
    cb.on_train_batch_end(0, {})


def test_keras_names_from_the_training_package():
    import nerve.callbacks as cbs
    from nerve.training import CallbackList, History, ProgbarLogger
    assert cbs.History is History and cbs.ProgbarLogger is ProgbarLogger and cbs.CallbackList is CallbackList
    assert isinstance(History(), Callback)
    with pytest.raises(AttributeError):
        cbs.TensorBoardX


def test_batch_hooks_reach_overrides_legacy_aliases_and_late_callbacks():
    """CallbackList skips batch hooks that no callback overrides (as Keras); overrides of the hook, of its
    legacy alias (on_batch_end), instance attributes and callbacks appended later are still called."""
    from nerve.training.callback_list import CallbackList

    seen = []

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(("legacy", batch, logs))

    class Plain(Callback):
        pass

    class Duck:  # not a Callback: only the hooks it has are called
        def set_model(self, m):
            pass

        def on_epoch_end(self, epoch, logs=None):
            pass

    cbs = CallbackList([Plain(), Duck()])
    cbs.on_train_batch_end(0, {"loss": 1.0})
    assert seen == []
    cbs.append(Legacy())
    cbs.on_train_batch_end(1, {"loss": np.float32(2.0)})
    assert seen == [("legacy", 1, {"loss": 2.0})] and type(seen[0][2]["loss"]) is float
    lam = LambdaCallback(on_train_batch_begin=lambda b, logs: seen.append(("lambda", b)))
    cbs.append(lam)
    cbs.on_train_batch_begin(2)
    assert seen[-1] == ("lambda", 2)
