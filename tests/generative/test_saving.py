"""Safe-format round trips (.keras archives through the registry allow-list) of the generative models."""
import json
import zipfile

import numpy as np
import pytest

import nerve
from nerve.generative import (GAN, VAE, WGAN, Autoencoder, Sampling, build_autoencoder, build_contractive_autoencoder,
                              build_dcgan_critic, build_sparse_autoencoder, build_vae)
from nerve.layers import Dense, Input
from nerve.models import Model, load_model


def _config(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def test_functional_model_with_sampling_layer(tmp_path):
    inp = Input(shape=(5,))
    h = Dense(4, activation="relu")(inp)
    z = Sampling(seed=1)([Dense(2)(h), Dense(2)(h)])
    enc = Model(inp, z)
    x = np.random.default_rng(0).random((3, 5)).astype(np.float32)
    enc.predict(x, verbose=0)
    path = str(tmp_path / "enc.keras")
    enc.save(path)
    assert "Sampling" in json.dumps(_config(path))
    back = load_model(path)
    for a, b in zip(enc.get_weights(), back.get_weights()):
        assert np.array_equal(a, b)
    assert back.predict(x, verbose=0).shape == (3, 2)


def test_vae_roundtrip(tmp_path, digits):
    X, _ = digits
    vae = build_vae(64, (16,), 2)
    vae.compile("adam")
    vae.fit(X[:128], epochs=1, batch_size=32, verbose=0)
    path = str(tmp_path / "vae.keras")
    vae.save(path)
    back = load_model(path)
    assert isinstance(back, VAE) and back.likelihood == "bernoulli"
    assert np.allclose(back.encode(X[:10]), vae.encode(X[:10]))
    assert np.allclose(back.decode(np.zeros((2, 2))), vae.decode(np.zeros((2, 2))))
    h = back.fit(X[:64], epochs=1, batch_size=32, verbose=0)  # compiled from the archive
    assert set(h.history) == {"loss", "reconstruction_loss", "kl_loss"}


@pytest.mark.parametrize("kind", ["tied", "sparse_kl", "contractive"])
def test_autoencoder_variants_roundtrip(tmp_path, digits, kind):
    X, _ = digits
    if kind == "tied":
        ae = build_autoencoder(64, (16,), 4, tied=True)
    elif kind == "sparse_kl":
        ae = build_sparse_autoencoder(64, 16, kl_target=0.1)
    else:
        ae = build_contractive_autoencoder(64, 8, lam=0.01)
    ae.compile("adam", "mse")
    ae.fit(X[:64], X[:64], epochs=1, batch_size=32, verbose=0)
    path = str(tmp_path / "ae.keras")
    ae.save(path)
    back = load_model(path)
    assert type(back) is type(ae) and isinstance(back, Autoencoder)
    assert np.allclose(back.predict(X[:5], verbose=0), ae.predict(X[:5], verbose=0), atol=1e-6)
    assert back.count_params() == ae.count_params()


@pytest.mark.parametrize("cls", [GAN, WGAN])
def test_gan_roundtrip(tmp_path, cls):
    i = Input(shape=(4,))
    g = Model(i, Dense(2)(Dense(8, activation="relu")(i)))
    j = Input(shape=(2,))
    d = Model(j, Dense(1, activation="sigmoid" if cls is GAN else None)(Dense(8, activation="relu")(j)))
    gan = cls(g, d)
    gan.compile(nerve.optimizers.Adam(1e-3), nerve.optimizers.RMSprop(1e-3))
    gan.fit(np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32), epochs=1, batch_size=32, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    back = load_model(path)
    assert type(back) is cls and back.latent_dim == 4 and back.noise == gan.noise
    z = gan.sample_noise(5)
    assert np.allclose(back.generator.predict(z, verbose=0), gan.generator.predict(z, verbose=0))
    assert np.allclose(back.discriminator.predict(z[:, :2], verbose=0), gan.discriminator.predict(z[:, :2], verbose=0))
    assert type(back.d_optimizer).__name__ == "Adam" and type(back.g_optimizer).__name__ == "RMSprop"


def test_dcgan_critic_roundtrip(tmp_path):
    c = build_dcgan_critic()
    path = str(tmp_path / "critic.keras")
    c.save(path)
    assert load_model(path).count_params() == 212865


def test_unknown_class_is_refused(tmp_path):
    vae = build_vae(8, (4,), 2)
    path = str(tmp_path / "vae.keras")
    vae.save(path)
    cfg = _config(path)
    cfg["class_name"] = cfg["registered_name"] = "NotAllowedVAE"
    with pytest.raises(ValueError, match="not a registered"):
        nerve.saving.deserialize_model(cfg)
