"""EarlyStopping: Keras 3 semantics (patience, min_delta, mode, baseline, start_from_epoch, restore)."""
import numpy as np
import pytest

from nerve.callbacks import EarlyStopping


def test_stops_at_the_right_epoch_and_restores_best_weights(make_model, data, scripted):
    x, y = data
    m = make_model()
    scores = [1.0, 0.5, 0.7, 0.4, 0.6, 0.45, 0.3, 0.2]
    s = scripted("score", scores)
    es = EarlyStopping(monitor="score", patience=2, mode="min", restore_best_weights=True)
    h = m.fit(x, y, epochs=8, batch_size=10, verbose=0, callbacks=[s, es])
    # best at epoch 3 (0.4); epochs 4 and 5 do not improve -> wait reaches 2 -> stop after epoch 5
    assert len(h.history["loss"]) == 6
    assert es.stopped_epoch == 5 and es.best_epoch == 3 and es.best == 0.4
    for w, best in zip(m.get_weights(), s.snapshots[3]):
        np.testing.assert_array_equal(w, best)
    assert not np.array_equal(s.snapshots[3][0], s.snapshots[5][0])


def test_val_loss_default_monitor_without_restore(make_model, data):
    x, y = data
    m = make_model(lr=0.05)
    es = EarlyStopping(patience=1)
    assert es.monitor == "val_loss" and es.patience == 1 and not es.restore_best_weights
    h = m.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_split=0.25, callbacks=[es])
    assert "val_loss" in h.history


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.w = [np.zeros(2)]
        self.metrics = []

    def get_weights(self):
        return [a.copy() for a in self.w]

    def set_weights(self, ws):
        self.w = [a.copy() for a in ws]


def run(cb, values, key="val_loss"):
    m = FakeModel()
    cb.set_model(m)
    cb.on_train_begin()
    stopped = None
    for epoch, v in enumerate(values):
        m.w = [np.full(2, float(epoch))]
        cb.on_epoch_end(epoch, {key: v})
        if m.stop_training:
            stopped = epoch
            break
    cb.on_train_end()
    return stopped, m


def test_min_delta_counts_small_gains_as_no_improvement():
    stopped, _ = run(EarlyStopping(min_delta=0.1, patience=1), [1.0, 0.95, 0.92, 0.5])
    assert stopped == 1


def test_max_mode_and_auto_mode_for_accuracy():
    stopped, _ = run(EarlyStopping(monitor="val_accuracy", patience=1), [0.5, 0.6, 0.55], key="val_accuracy")
    assert stopped == 2
    stopped, _ = run(EarlyStopping(monitor="val_accuracy", mode="max", patience=0), [0.5, 0.4], key="val_accuracy")
    assert stopped == 1


def test_auto_mode_for_unknown_metric_raises():
    with pytest.raises(ValueError, match="mode='max'"):
        run(EarlyStopping(monitor="val_weird"), [1.0], key="val_weird")


def test_baseline_and_start_from_epoch():
    # values never beat the baseline 0.1, so wait is not reset by the first epoch's "improvement"
    stopped, _ = run(EarlyStopping(patience=2, baseline=0.1), [1.0, 1.2, 1.3, 1.4])
    assert stopped == 1
    stopped, _ = run(EarlyStopping(patience=2), [1.0, 1.2, 1.3, 1.4])
    assert stopped == 2
    # the first two epochs are ignored
    es = EarlyStopping(patience=0, start_from_epoch=2)
    stopped, _ = run(es, [1.0, 2.0, 3.0, 4.0])
    assert stopped == 3 and es.best == 3.0


def test_restore_best_weights_even_without_stopping():
    es = EarlyStopping(patience=5, restore_best_weights=True)
    stopped, m = run(es, [1.0, 0.2, 0.5])
    assert stopped is None
    np.testing.assert_array_equal(m.w[0], [1.0, 1.0])


def test_missing_monitor_warns():
    with pytest.warns(UserWarning, match="not available"):
        run(EarlyStopping(monitor="val_loss"), [1.0], key="loss")


def test_state_round_trip():
    es = EarlyStopping(patience=3, restore_best_weights=True)
    run(es, [1.0, 0.5, 0.7])
    es2 = EarlyStopping(patience=3, restore_best_weights=True)
    es2.set_state(es.get_state())
    assert (es2.wait, es2.best, es2.best_epoch) == (1, 0.5, 1)
    np.testing.assert_array_equal(es2.best_weights[0], es.best_weights[0])
