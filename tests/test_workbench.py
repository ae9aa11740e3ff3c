"""Run directories: history.csv round-trips, metrics/config are JSON, report.html is self-contained."""
import base64
import json

import numpy as np
import pytest

from nerve import workbench


def _png_bytes():
    # a valid 1x1 PNG (the report inlines whatever PNG bytes it finds)
    return base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def test_history_csv_round_trip(tmp_path):
    h = {"loss": [1.5, 0.25, np.float32(0.125)], "val_loss": [1.0, 0.5, 0.375]}
    workbench.write_history_csv(str(tmp_path / "history.csv"), h)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss" and lines[1].startswith("1,")
    assert workbench.read_history_csv(str(tmp_path / "history.csv")) == {"loss": [1.5, 0.25, 0.125],
                                                                         "val_loss": [1.0, 0.5, 0.375]}


def test_run_dir_and_report_are_self_contained(tmp_path):
    rd = workbench.RunDir(tmp_path / "run")
    rd.write_config({"recipe": "toy", "title": "Toy <run>", "shape": (2, 3), "lr": np.float32(0.5)})
    rd.write_metrics({"book": "0.98", "ours": {"test_accuracy": np.float64(0.97), "ci": np.array([0.9, 1.0])},
                      "nan": float("nan")})
    rd.write_history({"loss": [2.0, 1.0]})
    (tmp_path / "run" / "plot.png").write_bytes(_png_bytes())
    path = rd.write_report()
    html = open(path, encoding="utf-8").read()
    assert "Toy &lt;run&gt;" in html  # escaped
    assert "data:image/png;base64," + base64.b64encode(_png_bytes()).decode() in html
    assert "src='http" not in html and "href=" not in html  # nothing external
    assert "0.97" in html and "book" in html and "<td>2</td>" in html
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["shape"] == [2, 3] and cfg["lr"] == 0.5
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["ours"]["ci"] == [0.9, 1.0] and m["nan"] == "nan"


def test_report_regenerates_and_rejects_non_run_dirs(tmp_path, capsys):
    rd = workbench.RunDir(tmp_path / "r")
    rd.write_metrics({"ours": {"x": 1}})
    assert workbench.report_main([str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.html").exists() and "wrote" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert workbench.report_main([str(tmp_path / "empty")]) == 1
    assert "is it a run directory" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="not a directory"):
        workbench.write_report(str(tmp_path / "missing"))


def test_history_writer_callback_writes_every_epoch(tmp_path):
    import nerve
    from nerve import layers as L
    rd = workbench.RunDir(tmp_path / "fit")
    model = nerve.Sequential([L.Input((3,)), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[workbench.HistoryWriter(rd)], validation_split=0.25)
    h = workbench.read_history_csv(str(tmp_path / "fit" / "history.csv"))
    assert sorted(h) == ["loss", "val_loss"] and len(h["loss"]) == 3


def test_default_run_dir_is_unique(tmp_path):
    a = workbench.default_run_dir("x", base=str(tmp_path))
    workbench.RunDir(a)
    b = workbench.default_run_dir("x", base=str(tmp_path))
    assert a != b and b.startswith(a)
