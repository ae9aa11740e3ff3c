"""Exact resume across processes (issue 9): a training process killed with SIGKILL mid-epoch, or while it
writes a checkpoint, and then restarted, ends with weights bit-identical to an uninterrupted run (CPU,
one BLAS thread), and the latest checkpoint is never corrupt."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

SCRIPT = textwrap.dedent('''
    import os, signal, sys, zipfile
    import numpy as np
    import nerve
    from nerve import optimizers
    from nerve.callbacks import BackupAndRestore, Callback, CSVLogger, EarlyStopping, ReduceLROnPlateau
    from nerve.layers import Dense, Dropout, Input
    from nerve.models import Sequential

    mode, backup, out = sys.argv[1:4]
    nerve.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]).astype("float32")
    m = Sequential([Input(shape=(4,)), Dense(16, activation="relu"), Dropout(0.2), Dense(1)])
    m.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="mse")

    class KillMidEpoch(Callback):
        epoch = 0
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 3 and batch == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    if mode == "kill_during_write":
        real, saves = zipfile.ZipFile.writestr, [0]
        def writestr(self, name, data, *a, **k):
            if name == "model.weights.npz":
                saves[0] += 1
                if saves[0] == 3:  # the third backup: die with half an archive written
                    self.fp.write(b"partial")
                    self.fp.flush()
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(self, name, data, *a, **k)
        zipfile.ZipFile.writestr = writestr

    cbs = [EarlyStopping(monitor="loss", patience=50), ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
           min_delta=0.02), CSVLogger(os.path.join(os.path.dirname(out), "log.csv")), BackupAndRestore(backup)]
    if mode == "kill_mid_epoch":
        cbs.append(KillMidEpoch())
    m.fit(x, y, epochs=6, batch_size=8, verbose=0, callbacks=cbs)
    np.savez(out, *m.get_weights(), lr=np.array(m.optimizer.learning_rate), it=np.array(m.optimizer.iterations))
''')


def run(tmp_path, mode, backup, out):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, str(script), mode, str(backup), str(out)], env=env,
                          capture_output=True, text=True, timeout=120)


def weights(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("mode,expected_epoch", [("kill_mid_epoch", 3), ("kill_during_write", 2)])
def test_sigkill_then_restart_is_bit_identical(tmp_path, mode, expected_epoch):
    (tmp_path / "ref").mkdir()
    (tmp_path / "run").mkdir()
    r = run(tmp_path / "ref", "plain", tmp_path / "ref" / "bk", tmp_path / "ref" / "w.npz")
    assert r.returncode == 0, r.stderr
    bk = tmp_path / "run" / "bk"
    r = run(tmp_path / "run", mode, bk, tmp_path / "run" / "w.npz")
    assert r.returncode == -signal.SIGKILL, r.stderr
    from nerve import saving
    ck = saving.load_checkpoint(str(bk / "latest.checkpoint.zip"))  # never corrupt
    assert ck.epoch == expected_epoch
    r = run(tmp_path / "run", "resume", bk, tmp_path / "run" / "w.npz")
    assert r.returncode == 0, r.stderr
    ref, got = weights(tmp_path / "ref" / "w.npz"), weights(tmp_path / "run" / "w.npz")
    assert sorted(ref) == sorted(got)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    assert not bk.exists() and not [f for f in os.listdir(tmp_path / "run") if f.endswith(".tmp")]
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["0", "1", "2", "3", "4", "5"]
    assert log == (tmp_path / "ref" / "log.csv").read_text().splitlines()
