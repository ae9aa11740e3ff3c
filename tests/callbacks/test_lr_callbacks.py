"""ReduceLROnPlateau and LearningRateScheduler change the optimizer's learning rate as Keras does."""
import numpy as np
import pytest

from nerve.callbacks import LearningRateScheduler, ReduceLROnPlateau


def test_reduce_lr_on_plateau_in_fit(make_model, data, scripted):
    x, y = data
    m = make_model(lr=0.1)
    s = scripted("score", [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    rl = ReduceLROnPlateau(monitor="score", factor=0.5, patience=2)
    h = m.fit(x, y, epochs=7, batch_size=10, verbose=0, callbacks=[s, rl])
    # epochs 1, 2 do not improve -> reduce after epoch 2; epochs 3, 4 -> reduce after 4; 5 improves; 6 waits
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert m.optimizer.learning_rate == pytest.approx(0.025)


class Opt:
    def __init__(self, lr):
        self.learning_rate = lr


class M:
    def __init__(self, lr):
        self.optimizer = Opt(lr)


def drive(cb, values, lr=1.0):
    m = M(lr)
    cb.set_model(m)
    cb.on_train_begin()
    lrs = []
    for epoch, v in enumerate(values):
        logs = {"val_loss": v}
        cb.on_epoch_end(epoch, logs)
        lrs.append(m.optimizer.learning_rate)
    return lrs


def test_cooldown_min_lr_and_min_delta():
    lrs = drive(ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2), [1.0] * 8)
    # Keras order: reduce at epoch 1; epoch 2 in cooldown; epoch 3 ends the cooldown and counts (wait 1) ->
    # reduce; epoch 4 cooldown; epoch 5 reduce to max(0.125, min_lr); then lr == min_lr stays
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2]
    # improvements smaller than min_delta (1e-4 default) do not count
    lrs = drive(ReduceLROnPlateau(factor=0.1, patience=1), [1.0, 1.0 - 1e-5, 1.0 - 2e-5])
    assert lrs[1] == pytest.approx(0.1)


def test_factor_must_be_below_one_and_state_round_trip():
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    rl = ReduceLROnPlateau(patience=3)
    drive(rl, [1.0, 2.0])
    rl2 = ReduceLROnPlateau(patience=3)
    rl2.set_state(rl.get_state())
    assert (rl2.wait, rl2.best, rl2.cooldown_counter) == (1, 1.0, 0)


def test_learning_rate_scheduler_sets_lr(make_model, data):
    x, y = data
    m = make_model(lr=0.08)
    h = m.fit(x, y, epochs=3, batch_size=10, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose(h.history["learning_rate"], [0.04, 0.02, 0.01])
    assert m.optimizer.learning_rate == pytest.approx(0.01)
    # the one-argument form of Keras 2
    m.fit(x, y, epochs=2, verbose=0, callbacks=[LearningRateScheduler(lambda epoch: 0.001 * (epoch + 1))])
    assert m.optimizer.learning_rate == pytest.approx(0.002)


def test_learning_rate_scheduler_rejects_non_numbers():
    cb = LearningRateScheduler(lambda e, lr: "fast")
    cb.set_model(M(0.1))
    with pytest.raises(ValueError, match="should be a float"):
        cb.on_epoch_begin(0)
