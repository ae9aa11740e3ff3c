"""Every recipe's --quick mode runs and writes its run directory (config.json, metrics.json, report.html)."""
import importlib.util
import json
import os

import pytest

from nerve import recipes


def test_registry_names_seed_section_and_book():
    assert len(recipes.available()) >= 30
    for r in recipes.REGISTRY.values():
        assert r.seed.startswith("seed-") and r.section and r.dataset and r.architecture and r.book, r.name


@pytest.mark.parametrize("name", recipes.available())
def test_quick_mode_writes_metrics(name, tmp_path):
    out = tmp_path / name
    try:
        m = recipes.run_recipe(name, quick=True, out=str(out), verbose=0, log=lambda *a: None)
    except recipes.RecipeUnavailable as e:
        pytest.skip(str(e))
    assert m["status"] == "ok" and m["mode"] == "quick"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["recipe"] == name and saved["book"] == recipes.get(name).book and saved["ours"]
    config = json.loads((out / "config.json").read_text())
    assert config["status"] == "done" and config["seed"].startswith("seed-")
    html = (out / "report.html").read_text()
    assert name in html and "<img" in html or not any(f.endswith(".png") for f in os.listdir(out))


def test_unknown_recipe_is_a_clear_error(tmp_path):
    with pytest.raises(KeyError, match="unknown recipe 'nope'.*fashion_cnn"):
        recipes.run_recipe("nope", quick=True, out=str(tmp_path))


@pytest.mark.skipif(importlib.util.find_spec("ISLP") is not None, reason="ISLP ships Hitters.csv")
def test_missing_data_is_reported_not_crashed(tmp_path, monkeypatch):
    monkeypatch.delenv("NERVE_DATA_DIR", raising=False)
    from nerve.datasets import _fetch
    monkeypatch.setattr(_fetch, "SYSTEM_DIRS", {})
    with pytest.raises(recipes.RecipeUnavailable, match="hitters.*NERVE_DATA_DIR"):
        recipes.run_recipe("hitters", quick=True, out=str(tmp_path / "h"), verbose=0, log=lambda *a: None)
    m = json.loads((tmp_path / "h" / "metrics.json").read_text())
    assert m["status"] == "unavailable" and "hitters" in m["reason"]


def test_resumable_run_continues_after_an_interruption(tmp_path, monkeypatch):
    """`nerve run NAME --resumable`: an interrupted fit leaves OUT/backup-1; the same command continues from the
    last finished epoch and ends with the result of an uninterrupted run (epoch backups resume bit-exactly)."""
    from nerve import workbench
    quiet = dict(quick=True, epochs=3, verbose=0, log=lambda *a, **k: None)
    whole = recipes.run_recipe("mlogit", out=tmp_path / "whole", **quiet)
    original = workbench.HistoryWriter.on_epoch_end

    def interrupted(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise RuntimeError("interrupted")
    monkeypatch.setattr(workbench.HistoryWriter, "on_epoch_end", interrupted)
    with pytest.raises(RuntimeError, match="interrupted"):
        recipes.run_recipe("mlogit", out=tmp_path / "resumed", resumable=True, **quiet)
    assert (tmp_path / "resumed" / "backup-1").is_dir()
    monkeypatch.setattr(workbench.HistoryWriter, "on_epoch_end", original)
    resumed = recipes.run_recipe("mlogit", out=tmp_path / "resumed", resumable=True, **quiet)
    assert resumed["ours"] == whole["ours"]
    assert not (tmp_path / "resumed" / "backup-1").exists()
    # history.csv keeps every epoch once, numbered as in the uninterrupted run (not only those after the resume)
    h_whole = workbench.read_history_csv(str(tmp_path / "whole" / "history.csv"))
    h_resumed = workbench.read_history_csv(str(tmp_path / "resumed" / "history.csv"))
    assert len(h_whole["loss"]) == 3 and h_resumed == h_whole
    assert (tmp_path / "resumed" / "history.csv").read_text() == (tmp_path / "whole" / "history.csv").read_text()


def test_resumable_gan_recipe_continues_after_an_interruption(tmp_path, monkeypatch):
    """The GAN recipes' custom loop (GAN.train) checkpoints into OUT/backup-gan with --resumable."""
    from nerve.generative import GAN
    quiet = dict(quick=True, epochs=4, verbose=0, log=lambda *a, **k: None)
    whole = recipes.run_recipe("mlp_gan", out=tmp_path / "whole", **quiet)
    step, calls = GAN.train_step, {"n": 0}

    def dying(self, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("interrupted")
        return step(self, data)
    monkeypatch.setattr(GAN, "train_step", dying)
    with pytest.raises(RuntimeError, match="interrupted"):
        recipes.run_recipe("mlp_gan", out=tmp_path / "resumed", resumable=True, **quiet)
    assert (tmp_path / "resumed" / "backup-gan" / "latest.json").is_file()
    monkeypatch.setattr(GAN, "train_step", step)
    resumed = recipes.run_recipe("mlp_gan", out=tmp_path / "resumed", resumable=True, **quiet)
    assert resumed["ours"] == whole["ours"]
    assert not (tmp_path / "resumed" / "backup-gan").exists()


def test_resumable_grid_search_reruns_only_unfinished_fits(tmp_path, monkeypatch):
    """widenet_grid_search --resumable: GridSearchCV's finished fits are scored from OUT/backup-grid-scores.json."""
    pytest.importorskip("sklearn")
    from nerve.wrappers import SKLearnClassifier
    quiet = dict(quick=True, verbose=0, log=lambda *a, **k: None)
    whole = recipes.run_recipe("widenet_grid_search", out=tmp_path / "whole", **quiet)
    fit, calls = SKLearnClassifier.fit, {"n": 0}

    class Killed(BaseException):  # like a KeyboardInterrupt: GridSearchCV only catches Exception
        pass

    def counting(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3 and calls.get("die"):
            raise Killed
        return fit(self, *a, **k)
    monkeypatch.setattr(SKLearnClassifier, "fit", counting)
    calls["die"] = True
    with pytest.raises(Killed):
        recipes.run_recipe("widenet_grid_search", out=tmp_path / "resumed", resumable=True, **quiet)
    cache = tmp_path / "resumed" / "backup-grid-scores.json"
    assert len(json.loads(cache.read_text())) == 2          # two fits were scored before the interruption
    calls.update(n=0, die=False)
    resumed = recipes.run_recipe("widenet_grid_search", out=tmp_path / "resumed", resumable=True, **quiet)
    assert calls["n"] == 3                                  # 2 candidates x 2 folds + refit, 2 of them cached
    assert resumed["ours"] == whole["ours"] and not cache.exists()
