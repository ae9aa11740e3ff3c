"""The progress bar: one line per epoch in a log file, throttled in-place redraws in a terminal/notebook."""
import io
import re
import sys
import types

import numpy as np

import nerve
from nerve import layers
from nerve.training.progbar import Progbar, format_eta, format_time_per_unit


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def small_model():
    model = nerve.Sequential([nerve.Input((2,)), layers.Dense(1)])
    model.compile("sgd", loss="mse", metrics=["mae"])
    return model


def data():
    return np.random.rand(40, 2).astype("float32"), np.random.rand(40, 1).astype("float32")


def test_log_file_gets_one_line_per_epoch(capsys):
    model = small_model()
    model.fit(*data(), epochs=2, batch_size=10, validation_data=data(), verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    lines = out.strip().split("\n")
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"4/4 [━=]{20} \d+s \d+[mu]?s/step - loss: \S+ - mae: \S+ - val_loss: \S+ - val_mae: \S+",
                        lines[1]), lines[1]


def test_verbose_2_and_0(capsys):
    model = small_model()
    model.fit(*data(), epochs=1, batch_size=10, verbose=2)
    out = capsys.readouterr().out
    assert re.fullmatch(r"4/4 - \d+s - \d+[mu]?s/step - loss: \S+ - mae: \S+\n", out), out
    model.fit(*data(), epochs=3, batch_size=10, verbose=0)
    model.evaluate(*data(), verbose=0)
    model.predict(data()[0], verbose=0)
    assert capsys.readouterr().out == ""


def test_evaluate_and_predict_bars(capsys):
    model = small_model()
    model.evaluate(*data(), batch_size=8, verbose=1)
    model.predict(data()[0], batch_size=8, verbose="auto")
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 2
    assert lines[0].startswith("5/5 ") and "loss:" in lines[0]
    assert lines[1].startswith("5/5 ") and "loss" not in lines[1]


def test_terminal_redraws_in_place_and_is_throttled():
    stream = FakeTTY()
    bar = Progbar(1000, verbose=1, interval=3600, stream=stream)
    for i in range(1, 1001):
        bar.update(i, [("loss", 1.0 / i)])
    out = stream.getvalue()
    # the first update draws; the throttle drops the rest until the final one
    assert out.count("\r") == 2 and out.endswith("\n")
    assert "1000/1000" in out and "loss: 1.0000e-03" in out


def test_notebook_counts_as_dynamic(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    stream = io.StringIO()
    bar = Progbar(3, verbose=1, interval=0, stream=stream)
    for i in (1, 2, 3):
        bar.update(i, [("acc", 0.5)])
    assert stream.getvalue().count("\r") == 3


def test_unknown_target_for_generators(capsys):
    x, y = data()

    def gen():
        for i in range(0, 40, 10):
            yield x[i:i + 10], y[i:i + 10]
    model = small_model()
    hist = model.fit(gen(), epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert out.startswith("4/4 ") and len(hist.history["loss"]) == 1


def test_time_formats():
    assert format_time_per_unit(0.0042) == "4ms/step"
    assert format_time_per_unit(2.0) == "2s/step"
    assert format_time_per_unit(4e-5) == "40us/step"
    assert format_eta(42) == "42s" and format_eta(154) == "2:34" and format_eta(3725) == "1:02:05"
