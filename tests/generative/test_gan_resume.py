"""GAN.train(checkpoint_dir=...): an interrupted run continues exactly where it stopped."""
import os

import numpy as np
import pytest

import nerve
from nerve.generative import GAN
from nerve.layers import BatchNormalization, Dense, Dropout, Input
from nerve.models import Model


def _gan():
    nerve.set_random_seed(0)
    i = Input(shape=(8,))
    g = Model(i, Dense(16, activation="sigmoid")(BatchNormalization()(Dense(32, activation="relu")(i))),
              name="generator")
    j = Input(shape=(16,))
    d = Model(j, Dense(1, activation="sigmoid")(Dense(16, activation="relu")(Dropout(0.3)(j))), name="discriminator")
    gan = GAN(g, d, latent_dim=8)
    gan.compile(nerve.optimizers.Adam(1e-3, 0.5), nerve.optimizers.Adam(1e-3, 0.5))
    return gan


class Stop(Exception):
    pass


def test_resume_equals_uninterrupted(tmp_path, monkeypatch):
    x = np.random.default_rng(1).random((64, 16)).astype(np.float32)
    ref = _gan()
    full = ref.train(x, iterations=9, batch_size=8, sample_interval=0, seed=0)

    gan = _gan()
    ck = str(tmp_path / "ck")
    calls = {"n": 0}
    step = GAN.train_step

    def dying_step(self, data):  # the process "dies" during iteration 7 (after the checkpoint at 6)
        calls["n"] += 1
        if calls["n"] == 7:
            raise Stop
        return step(self, data)
    monkeypatch.setattr(GAN, "train_step", dying_step)
    with pytest.raises(Stop):
        gan.train(x, iterations=9, batch_size=8, sample_interval=0, seed=0, checkpoint_dir=ck, checkpoint_every=3)
    monkeypatch.setattr(GAN, "train_step", step)
    assert sorted(os.listdir(ck)) == ["d-6.checkpoint.zip", "g-6.checkpoint.zip", "latest.json"]

    again = _gan()  # a new process: fresh models, same seed
    out = again.train(x, iterations=9, batch_size=8, sample_interval=0, seed=0, checkpoint_dir=ck, checkpoint_every=3)
    assert out["dloss"] == full["dloss"] and out["gloss"] == full["gloss"] and out["dacc"] == full["dacc"]
    for a, b in zip(again.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not os.path.exists(ck)  # a finished run removes its checkpoints


def test_bad_index_is_refused(tmp_path):
    ck = tmp_path / "ck"
    ck.mkdir()
    (ck / "latest.json").write_text('{"iteration": 3, "discriminator": "../../etc/passwd", "generator": "g.zip"}')
    with pytest.raises(ValueError, match="not a GAN checkpoint index"):
        _gan().train(np.zeros((4, 16), np.float32), iterations=2, batch_size=2, checkpoint_dir=str(ck))
