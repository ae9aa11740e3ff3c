"""Issue 9 item 1, the parts the callback tests do not cover: a checkpoint restored by hand followed by
``fit(initial_epoch=ck.epoch)`` continues bit-exactly, with the learning-rate schedule (optimizer
iterations), ReduceLROnPlateau / EarlyStopping / ModelCheckpoint state, the learning rate set by
LearningRateScheduler and the RNG state (Dropout masks, shuffling) all restored.

The SIGKILL and kill-during-write tests live in tests/callbacks/test_resume_sigkill.py; BackupAndRestore
resume in tests/callbacks/test_backup_and_restore.py."""
import numpy as np
import pytest

import nerve
from nerve import optimizers, saving
from nerve.callbacks import EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau
from nerve.layers import Dense, Dropout, Input
from nerve.models import Sequential
from nerve.optimizers.schedules import ExponentialDecay

RNG = np.random.default_rng(5)
X = RNG.normal(size=(48, 3)).astype("float32")
Y = (np.tanh(X @ np.array([[1.0], [-2.0], [0.5]])) + 0.1 * X[:, :1] ** 2).astype("float32")


def model(kind):
    m = Sequential([Input(shape=(3,)), Dense(8, activation="tanh"), Dropout(0.25), Dense(1)])
    if kind == "schedule":
        opt = optimizers.SGD(learning_rate=ExponentialDecay(0.1, decay_steps=4, decay_rate=0.7), momentum=0.9)
    else:
        opt = optimizers.Adam(learning_rate=0.03)
    m.compile(optimizer=opt, loss="mse")
    return m


def callbacks(kind, tmp_path):
    es = EarlyStopping(monitor="loss", patience=100)
    mc = ModelCheckpoint(str(tmp_path / "best.weights.npz"), monitor="loss", save_best_only=True,
                         save_weights_only=True)
    if kind == "schedule":
        return [es, mc]
    # ReduceLROnPlateau fires on a plateau; the scheduler reads the rate the optimizer has now
    return [es, mc, ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.05),
            LearningRateScheduler(lambda epoch, lr: lr * 0.95)]


def lr_of(m):
    return float(m.optimizer.learning_rate)


def states(cbs):
    return [cb.get_state() for cb in cbs if hasattr(cb, "get_state") and cb.get_state()]


def same_state(a, b):
    assert len(a) == len(b)
    for sa, sb in zip(a, b):
        assert sorted(sa) == sorted(sb)
        for k in sa:
            if k == "best_weights" and sa[k] is not None:
                for wa, wb in zip(sa[k], sb[k]):
                    np.testing.assert_array_equal(wa, wb)
            else:
                assert sa[k] == sb[k], k


@pytest.mark.parametrize("kind", ["schedule", "plateau"])
def test_restore_checkpoint_then_fit_initial_epoch_is_bit_exact(tmp_path, kind):
    nerve.set_random_seed(11)
    ref = model(kind)
    ref_cbs = callbacks(kind, tmp_path / "a")
    (tmp_path / "a").mkdir()
    h_ref = ref.fit(X, Y, epochs=6, batch_size=8, verbose=0, callbacks=ref_cbs)

    (tmp_path / "b").mkdir()
    nerve.set_random_seed(11)
    first = model(kind)
    cbs = callbacks(kind, tmp_path / "b")
    first.fit(X, Y, epochs=3, batch_size=8, verbose=0, callbacks=cbs)
    ck_path = str(tmp_path / "resume.checkpoint.zip")
    saving.save_checkpoint(ck_path, first, epoch=3, callbacks=cbs)

    nerve.set_random_seed(999)  # another seed and fresh weights: everything must come from the checkpoint
    resumed = model(kind)
    resumed(X[:1])
    new_cbs = callbacks(kind, tmp_path / "b")
    ck = saving.restore_checkpoint(ck_path, resumed, callbacks=new_cbs)
    assert ck.epoch == 3
    h = resumed.fit(X, Y, epochs=6, batch_size=8, verbose=0, callbacks=new_cbs, initial_epoch=ck.epoch)

    for a, b in zip(resumed.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == ref.optimizer.iterations == 6 * 6
    assert lr_of(resumed) == lr_of(ref)
    np.testing.assert_array_equal(h.history["loss"], h_ref.history["loss"][3:])
    same_state(states(new_cbs), states(ref_cbs))
    if kind == "plateau":
        assert lr_of(ref) < 0.03 * 0.95 ** 6  # ReduceLROnPlateau did fire, so its state mattered


def test_the_rng_state_matters(tmp_path):
    """Control: the same resume without restoring the RNG state does NOT match (Dropout and shuffling draw
    from backend.rng()), so the bit-exact match above is evidence that the RNG state was restored."""
    nerve.set_random_seed(11)
    ref = model("plateau")
    ref.fit(X, Y, epochs=4, batch_size=8, verbose=0)
    nerve.set_random_seed(11)
    first = model("plateau")
    first.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    ck_path = str(tmp_path / "c.zip")
    saving.save_checkpoint(ck_path, first, epoch=2)
    nerve.set_random_seed(999)
    resumed = model("plateau")
    resumed(X[:1])
    ck = saving.restore_checkpoint(ck_path, resumed, restore_rng=False)
    resumed.fit(X, Y, epochs=4, batch_size=8, verbose=0, initial_epoch=ck.epoch)
    assert any(not np.array_equal(a, b) for a, b in zip(resumed.get_weights(), ref.get_weights()))
