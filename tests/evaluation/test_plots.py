"""Every plot writes a PNG (headless Agg canvas), History.plot included."""
import sys

import numpy as np
import pytest

from nerve.evaluation import ConfusionMatrix, plots
from nerve.training.history import History

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG


def fake_history():
    h = History()
    h.on_train_begin()
    for e in range(4):
        h.on_epoch_end(e, {"loss": 1 / (e + 1), "accuracy": 0.5 + 0.1 * e, "val_loss": 1.2 / (e + 1),
                           "val_accuracy": 0.45 + 0.1 * e})
    return h


def test_history_plot(tmp_path):
    h = fake_history()
    fig = h.plot(path=tmp_path / "h.png")
    assert is_png(tmp_path / "h.png") and len(fig.axes) == 2
    assert [a.get_ylabel() for a in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines) == 2  # training and validation
    fig = plots.plot_history(h.history, metrics="accuracy", path=tmp_path / "sub" / "a.png")
    assert len(fig.axes) == 1 and is_png(tmp_path / "sub" / "a.png")
    with pytest.raises(ValueError, match="unknown metrics"):
        h.plot(metrics=["mae"])


def test_confusion_roc_latent(tmp_path):
    rng = np.random.default_rng(0)
    cm = ConfusionMatrix(rng.integers(0, 3, 60), rng.integers(0, 3, 60), labels=[0, 1, 2])
    plots.plot_confusion_matrix(cm, path=tmp_path / "cm.png", normalize=True)
    y = rng.integers(0, 2, 80)
    plots.plot_roc(y, y + rng.normal(0, 1, 80), path=tmp_path / "roc.png")
    plots.plot_latent(rng.normal(size=(100, 2)), rng.integers(0, 10, 100), path=tmp_path / "z.png", marginals=True)
    for name in ("cm", "roc", "z"):
        assert is_png(tmp_path / f"{name}.png")


def test_images_filters_feature_maps(tmp_path):
    rng = np.random.default_rng(1)
    plots.plot_images(rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), labels=np.arange(12) % 10,
                      path=tmp_path / "img.png", ncols=6)
    plots.plot_images(rng.random((4, 784)), path=tmp_path / "flat.png")
    plots.plot_images(rng.random((3, 8, 8, 3)), path=tmp_path / "rgb.png")
    plots.plot_filters(rng.normal(size=(3, 3, 1, 16)), path=tmp_path / "filters.png")
    plots.plot_feature_maps(rng.random((1, 12, 12, 10)), path=tmp_path / "maps.png")
    for name in ("img", "flat", "rgb", "filters", "maps"):
        assert is_png(tmp_path / f"{name}.png")
    with pytest.raises(ValueError, match="square"):
        plots.plot_images(rng.random((2, 10)))


def test_filters_from_a_conv_layer(tmp_path):
    import nerve
    layer = nerve.layers.Conv2D(4, 3)
    layer(np.zeros((1, 8, 8, 2), np.float32))
    plots.plot_filters(layer, path=tmp_path / "f.png", channel=1)
    assert is_png(tmp_path / "f.png")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"nerve\[plot\]"):
        plots.plot_history({"loss": [1, 0.5]})
