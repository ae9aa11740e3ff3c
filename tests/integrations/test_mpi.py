"""MPI data-parallel training: the sampler, the serial loop against Model.fit, and mpirun -n 2 against one process."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.integrations.mpi import DistributedSampler, SerialComm, distributed_fit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "mpi_train_script.py")


def test_sampler_splits_each_global_batch_across_ranks():
    parts = [list(DistributedSampler(10, 2, r, shuffle=True, seed=4).local_batches(4)) for r in range(2)]
    order = DistributedSampler(10, 1, 0, shuffle=True, seed=4).global_order()
    for k, start in enumerate(range(0, 10, 4)):
        got = sorted(np.concatenate([parts[0][k], parts[1][k]]).tolist())
        assert got == sorted(order[start:start + 4].tolist())
    s = DistributedSampler(10, 3, 2, seed=1)
    assert len(s) == len(list(s)) == 3
    s.set_epoch(1)
    assert list(s) != list(DistributedSampler(10, 3, 2, seed=1))
    with pytest.raises(ValueError, match="rank 3"):
        DistributedSampler(10, 2, 3)


def _model():
    nerve.set_random_seed(0)
    m = nerve.Sequential([nerve.Input((4,)), layers.Dense(6, activation="relu"), layers.Dense(1)])
    m.compile(optimizer=nerve.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    return m


def test_serial_distributed_fit_equals_model_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1))).astype("float32")
    a, b = _model(), _model()
    h = distributed_fit(a, x, y, batch_size=16, epochs=3, shuffle=False, comm=SerialComm())
    kh = b.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h["loss"], kh.history["loss"], rtol=1e-5)


def test_mpirun_two_ranks_match_one_process(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (run tools/install_mpi.sh)")
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("mpirun (Open MPI) is not installed (run tools/install_mpi.sh)")
    par, ser = tmp_path / "par", tmp_path / "ser"
    par.mkdir()
    ser.mkdir()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_MCA_rmaps_base_oversubscribe="1")
    cmd = [mpirun, "-n", "2"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd += ["--allow-run-as-root", "--oversubscribe"]
    run = subprocess.run(cmd + [sys.executable, SCRIPT, str(par)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    subprocess.run([sys.executable, SCRIPT, str(ser), "serial"], env=env, check=True, timeout=120)
    r0, r1, one = (np.load(p) for p in (par / "final-rank0.npz", par / "final-rank1.npz", ser / "final-rank0.npz"))
    for k in r0.files:
        np.testing.assert_array_equal(r0[k], r1[k])  # the replicas agree exactly
        np.testing.assert_allclose(r0[k], one[k], rtol=1e-5, atol=1e-6)  # and match one process
    assert sorted(os.listdir(par)) == ["ckpt-1.weights.npz", "ckpt-2.weights.npz", "ckpt-3.weights.npz",
                                       "final-rank0.npz", "final-rank1.npz"]
