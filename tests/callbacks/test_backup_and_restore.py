"""BackupAndRestore + checkpoints: an interrupted fit resumes exactly (weights, optimizer slots, learning
rate, RNG, callback states), and a failed checkpoint write never replaces the last good backup."""
import os

import numpy as np
import pytest

import nerve
from nerve import saving
from nerve.callbacks import BackupAndRestore, Callback, CSVLogger, EarlyStopping, ReduceLROnPlateau


class Crash(Exception):
    pass


class CrashAt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Crash(f"simulated crash at epoch {epoch}")


def train(make_model, data, backup_dir, seed, crash_at=None, epochs=6, log=None):
    nerve.set_random_seed(seed)
    m = make_model(optimizer="adam", lr=0.05, dropout=True)
    es = EarlyStopping(monitor="loss", patience=100, restore_best_weights=True)
    rl = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.05)
    cbs = [es, rl, BackupAndRestore(backup_dir)]
    if log:
        cbs.insert(0, CSVLogger(log))
    if crash_at is not None:
        cbs.insert(0, CrashAt(crash_at))
    try:
        h = m.fit(*data, epochs=epochs, batch_size=8, shuffle=True, verbose=0, callbacks=cbs)
    except Crash:
        return m, None, es, rl
    return m, h, es, rl


def test_interrupted_fit_resumes_bit_exactly(tmp_path, make_model, data):
    ref, h_ref, es_ref, rl_ref = train(make_model, data, str(tmp_path / "ref"), seed=7)
    assert not os.path.exists(tmp_path / "ref")  # delete_checkpoint after a normal end
    bk = str(tmp_path / "bk")
    log = str(tmp_path / "log.csv")
    _, h, _, _ = train(make_model, data, bk, seed=7, crash_at=3, log=log)
    assert h is None and os.path.exists(os.path.join(bk, "latest.checkpoint.zip"))
    ck = saving.load_checkpoint(os.path.join(bk, "latest.checkpoint.zip"))
    assert ck.epoch == 3 and set(ck.callback_states) >= {"EarlyStopping", "ReduceLROnPlateau", "CSVLogger"}
    # a different seed and fresh weights: everything must come from the backup
    m, h, es, rl = train(make_model, data, bk, seed=123, log=log)
    assert len(h.history["loss"]) == 3  # epochs 3, 4, 5
    np.testing.assert_array_equal(h.history["loss"], h_ref.history["loss"][3:])
    np.testing.assert_array_equal(h.history["learning_rate"], h_ref.history["learning_rate"][3:])
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert m.optimizer.iterations == ref.optimizer.iterations
    assert (es.best, es.best_epoch, rl.wait, rl.best) == (es_ref.best, es_ref.best_epoch, rl_ref.wait, rl_ref.best)
    rows = open(log).read().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3", "4", "5"]
    assert not os.path.exists(bk)


def test_failed_checkpoint_write_keeps_the_previous_backup(tmp_path, make_model, data, monkeypatch):
    bk = str(tmp_path / "bk")
    nerve.set_random_seed(0)
    m = make_model()
    m.fit(*data, epochs=2, verbose=0, callbacks=[BackupAndRestore(bk, delete_checkpoint=False)])
    latest = os.path.join(bk, "latest.checkpoint.zip")
    before = open(latest, "rb").read()
    import zipfile
    real = zipfile.ZipFile.writestr

    def die(self, name, *a, **k):
        if name == "model.weights.npz":
            raise Crash("killed while writing")
        return real(self, name, *a, **k)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", die)
    with pytest.raises(Crash):
        m.fit(*data, epochs=3, verbose=0, callbacks=[BackupAndRestore(bk, delete_checkpoint=False)])
    assert open(latest, "rb").read() == before
    assert saving.load_checkpoint(latest).epoch == 2


def test_double_checkpoint_falls_back_to_previous(tmp_path, make_model, data):
    bk = str(tmp_path / "bk")
    m = make_model()
    m.fit(*data, epochs=2, verbose=0, callbacks=[BackupAndRestore(bk, double_checkpoint=True,
                                                                  delete_checkpoint=False)])
    latest, prev = os.path.join(bk, "latest.checkpoint.zip"), os.path.join(bk, "previous.checkpoint.zip")
    assert saving.load_checkpoint(prev).epoch == 1
    with open(latest, "r+b") as f:
        f.truncate(50)
    br = BackupAndRestore(bk, double_checkpoint=True)
    h = m.fit(*data, epochs=3, verbose=0, callbacks=[br])
    assert br.restored.epoch == 1 and len(h.history["loss"]) == 2
    with open(os.path.join(tmp_path, "x"), "w"):
        pass
    br = BackupAndRestore(str(tmp_path / "bk2"), delete_checkpoint=False)
    m.fit(*data, epochs=1, verbose=0, callbacks=[br])
    with open(os.path.join(tmp_path, "bk2", "latest.checkpoint.zip"), "r+b") as f:
        f.truncate(50)
    with pytest.raises(saving.ArchiveError, match="cannot be read"):
        m.fit(*data, epochs=2, verbose=0, callbacks=[BackupAndRestore(str(tmp_path / "bk2"))])


def test_checkpoint_functions_directly(tmp_path, make_model, data):
    nerve.set_random_seed(1)
    m = make_model(optimizer="adam")
    m.fit(*data, epochs=1, verbose=0)
    es = EarlyStopping(monitor="loss", restore_best_weights=True)
    es.set_model(m)
    es.on_train_begin()
    es.on_epoch_end(0, {"loss": 0.5})
    p = str(tmp_path / "c.zip")
    saving.save_checkpoint(p, m, epoch=1, callbacks=[es], extra={"note": "x"})
    draw = nerve.backend.rng().random(3)
    m2 = make_model(optimizer="adam")
    m2(data[0][:1])
    es2 = EarlyStopping(monitor="loss", restore_best_weights=True)
    ck = saving.restore_checkpoint(p, m2, callbacks=[es2])
    np.testing.assert_array_equal(nerve.backend.rng().random(3), draw)  # RNG state restored
    assert ck.epoch == 1 and ck.extra == {"note": "x"} and es2.best == 0.5
    for a, b in zip(es2.best_weights, es.best_weights):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(m2.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    # optimizer slots are pending until the first step, iterations and lr are set now
    assert m2.optimizer.iterations == m.optimizer.iterations
    nerve.set_random_seed(2)
    m.fit(*data, epochs=1, verbose=0, shuffle=False)
    nerve.set_random_seed(2)
    m2.fit(*data, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(m2.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(str(tmp_path), save_freq="often")
