"""tfruns-like sweeps: flags, plans, run directories, the results table, Optuna, the CLI and the Dask tuner."""
import csv
import json
import os

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.integrations import sweeps
from nerve.integrations.sweep_cli import sweep_main

TARGET = "nerve.integrations.examples:mnistnn"
QUICK = {"epochs": [2], "n": [160]}


def tiny_trial(FLAGS):
    F = sweeps.flags(**{"units": 4, "lr": 0.01, **FLAGS})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(1, keepdims=True) > 0).astype("float32")
    m = nerve.Sequential([nerve.Input((3,)), layers.Dense(int(F["units"]), activation="relu"),
                          layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=nerve.optimizers.Adam(F["lr"]), loss="binary_crossentropy", metrics=["accuracy"])
    return m.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)


def test_flags_defaults_overrides_and_errors(monkeypatch):
    assert sweeps.flags(a=1, b="x") == {"a": 1, "b": "x"}
    with sweeps._active_run({"a": 3}):
        assert sweeps.flags(a=1, b="x") == {"a": 3, "b": "x"}
        with pytest.raises(ValueError, match="declares only"):
            sweeps.flags(b="x")
    monkeypatch.setenv("NERVE_FLAGS", json.dumps({"a": "0.5"}))
    assert sweeps.flags(a=1.0) == {"a": 0.5}


def test_plan_grid_and_random_sample():
    g = sweeps.plan({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(g) == 6 and g[0] == {"a": 1, "b": "x"} and g[-1] == {"a": 2, "b": "z"}
    s = sweeps.plan({"a": [1, 2], "b": ["x", "y", "z"]}, sample=0.5, seed=1)
    assert len(s) == 3 and all(c in g for c in s)
    assert s == sweeps.plan({"a": [1, 2], "b": ["x", "y", "z"]}, sample=0.5, seed=1)
    assert len(sweeps.plan({"a": [1, 2]}, sample=5)) == 2
    with pytest.raises(ValueError, match="sample"):
        sweeps.plan({"a": [1]}, sample=-1)
    with pytest.raises(TypeError, match="list of candidate"):
        sweeps.plan({"a": 3})


def test_tuning_run_records_every_run_and_sorts_the_table(tmp_path):
    res = sweeps.tuning_run(tiny_trial, flags={"units": [2, 8], "lr": [0.001, 0.05]}, runs_dir=tmp_path,
                            metric="val_loss", mode="min")
    assert len(res.rows) == 4
    vals = [r["val_loss"] for r in res.rows]
    assert vals == sorted(vals) and res.best["val_loss"] == vals[0]
    for i in range(1, 5):
        d = tmp_path / f"run-{i:04d}"
        cfg = json.loads((d / "config.json").read_text())
        assert set(cfg["flags"]) == {"units", "lr"} and cfg["seed"] == 0
        rows = list(csv.DictReader(open(d / "history.csv")))
        assert len(rows) == 3 and "val_loss" in rows[0]
        metrics = json.loads((d / "metrics.json").read_text())
        assert metrics["val_loss"] == pytest.approx(float(rows[-1]["val_loss"]))
    table = list(csv.DictReader(open(tmp_path / "results.csv")))
    assert [r["run"] for r in table] == [r["run"] for r in res.rows]
    assert "val_loss" in str(res)
    again = sweeps.tuning_run(tiny_trial, flags={"units": [2, 8], "lr": [0.001, 0.05]}, runs_dir=tmp_path / "b")
    assert [r["val_loss"] for r in again.rows] == vals  # seeded runs repeat exactly
    with pytest.raises(ValueError, match="missing"):
        sweeps.tuning_run(tiny_trial, flags={"units": [2]}, runs_dir=tmp_path / "c", metric="nope")


def test_script_target_declares_flags_and_reports(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("from nerve.integrations.sweeps import flags, report\n"
                      "FLAGS = flags(width=3, scale=1.0)\n"
                      "report({'score': FLAGS['width'] * FLAGS['scale'], 'curve': [1.0, 0.5]})\n")
    res = sweeps.tuning_run(str(script), flags={"width": [1, 2, 3], "scale": [1.0, 2.0]}, sample=4,
                            runs_dir=tmp_path / "runs", metric="score", mode="max")
    assert len(res.rows) == 4 and res.rows[0]["score"] >= res.rows[-1]["score"]
    assert json.loads((tmp_path / "runs" / "run-0001" / "config.json").read_text())["script"] == str(script)


def test_optuna_sampler(tmp_path):
    pytest.importorskip("optuna", reason="optuna is not installed (pip install optuna)")
    res = sweeps.tuning_run(tiny_trial, flags={"units": [2, 4, 8], "lr": [0.001, 0.05]}, sampler="optuna",
                            n_trials=3, runs_dir=tmp_path, metric="val_accuracy", mode="max")
    assert len(res.rows) == 3 and len(os.listdir(tmp_path)) == 4  # 3 runs + results.csv


def test_cli_sweep_main(tmp_path, capsys):
    code = sweep_main([TARGET, "--flag", "nodes1=16,32", "--flag", "epochs=2", "--flag", "n=160",
                       "--metric", "val_accuracy", "--mode", "max", "--runs-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "sorted by val_accuracy" in out and "run-0002" in out
    with pytest.raises(SystemExit):
        sweep_main([TARGET, "--flag", "novalues"])


def test_dask_local_cluster_matches_serial_sweep(tmp_path):
    pytest.importorskip("distributed", reason='Dask distributed is not installed (pip install "dask[distributed]")')
    from nerve.integrations.distributed import dask_tuning_run
    flags = {"nodes1": [16, 32], "dropout1": [0.2, 0.4], **QUICK}
    par = dask_tuning_run(TARGET, flags=flags, runs_dir=tmp_path / "dask", n_workers=2, seed=5)
    ser = sweeps.tuning_run(TARGET, flags=flags, runs_dir=tmp_path / "serial", seed=5)
    assert par.cluster_workers == 2 and len(par.workers_used) >= 1
    assert par.rows == ser.rows  # bit-identical results, same order
    for run in ("run-0001", "run-0004"):
        for name in ("config.json", "history.csv"):
            assert (tmp_path / "dask" / run / name).read_text() == (tmp_path / "serial" / run / name).read_text()
