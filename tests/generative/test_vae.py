import numpy as np
import pytest

import nerve
from nerve import ops
from nerve.generative import VAE, Sampling, build_heart_vae, build_vae, kl_divergence


def test_kl_has_the_correct_sign():
    # KL(N(mu, s^2) || N(0, 1)) = 0.5 * (mu^2 + s^2 - 1 - log s^2) >= 0, zero only at mu = 0, s = 1
    rng = np.random.default_rng(0)
    mu, lv = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    kl = kl_divergence(ops.convert_to_tensor(mu), ops.convert_to_tensor(lv)).numpy()
    ref = 0.5 * np.sum(mu ** 2 + np.exp(lv) - 1 - lv, axis=1)
    assert np.allclose(kl, ref) and np.all(kl > 0)
    assert np.allclose(kl_divergence(ops.zeros((2, 3)), ops.zeros((2, 3))).numpy(), 0.0)
    nerve.gradcheck(lambda m, v: kl_divergence(m, v), [mu[:4], lv[:4]])


def test_sampling_layer_reparameterisation():
    mu = np.full((20000, 2), [1.0, -2.0], np.float32)
    lv = np.full((20000, 2), [0.0, np.log(4.0)], np.float32)
    z = Sampling(seed=0)([mu, lv]).numpy()
    assert np.allclose(z.mean(0), [1, -2], atol=0.05) and np.allclose(z.std(0), [1, 2], atol=0.05)
    # the gradient flows to mu and logvar: dz/dmu = 1, dz/dlogvar = 0.5 * exp(lv / 2) * eps
    m, v = nerve.tensor(mu[:3], requires_grad=True), nerve.tensor(lv[:3], requires_grad=True)
    layer = Sampling(seed=5)
    out = layer([m, v])
    out.sum().backward()
    eps = (out.numpy() - mu[:3]) / np.exp(0.5 * lv[:3])
    assert np.allclose(m.grad.numpy(), 1.0) and np.allclose(v.grad.numpy(), 0.5 * np.exp(0.5 * lv[:3]) * eps,
                                                            atol=1e-5)
    with pytest.raises(ValueError, match="z_mean, z_log_var"):
        Sampling()(mu)


def test_bernoulli_vae_elbo_improves_kl_positive_samples_valid(fashion):
    xtr, _, xte, _ = fashion
    xtr = (xtr[:1000] > 0.5).astype(np.float32)  # binarised for the Bernoulli decoder
    xte = (xte > 0.5).astype(np.float32)
    vae = build_vae(784, (128,), 2)
    vae.compile(nerve.optimizers.Adam(1e-3))
    before = vae.elbo(xte)
    h = vae.fit(xtr, epochs=4, batch_size=64, verbose=0, validation_data=(xte,))
    after = vae.elbo(xte)
    assert after > before + 50  # nats
    assert all(k > 0 for k in h.history["kl_loss"]) and all(k > 0 for k in h.history["val_kl_loss"])
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert np.allclose(h.history["loss"], np.add(h.history["reconstruction_loss"], h.history["kl_loss"]), rtol=1e-4)
    for prior in ("normal", "uniform"):
        s = vae.generate(16, prior=prior, seed=0)
        assert s.shape == (16, 784) and np.all(np.isfinite(s)) and s.min() >= 0 and s.max() <= 1
    grid = vae.latent_grid(5)
    assert grid.shape == (5, 5, 784) and np.all((grid >= 0) & (grid <= 1))
    assert vae.reconstruct(xte[:3]).shape == (3, 784)


def test_gaussian_heart_vae_trains():
    # synthetic standardised 13-feature table with 2-D structure (the UCI file is not available offline)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(297, 2))
    x = (z @ rng.normal(size=(2, 13)) + 0.3 * rng.normal(size=(297, 13))).astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)
    vae = build_heart_vae()
    assert vae.likelihood == "gaussian"
    vae.compile("adam")
    h = vae.fit(x, epochs=15, batch_size=18, verbose=0)  # book batch: ceil(sqrt(297)) = 18
    assert h.history["reconstruction_loss"][-1] < h.history["reconstruction_loss"][0]
    assert all(k > 0 for k in h.history["kl_loss"])
    g = vae.generate(10, prior="uniform", low=-2, high=2, seed=1)
    assert g.shape == (10, 13) and np.all(np.isfinite(g))


def test_denoising_vae(digits):
    X, _ = digits
    vae = build_vae(64, (64,), 8, noise_stddev=0.5)
    vae.compile(nerve.optimizers.Adam(3e-3))
    before = vae.elbo(X)
    vae.fit(X, epochs=20, batch_size=64, verbose=0)
    assert vae.elbo(X) > before
    noisy = np.clip(X + 0.5 * np.random.default_rng(1).normal(size=X.shape), 0, 1).astype(np.float32)
    assert np.mean((vae.reconstruct(noisy) - X) ** 2) < 0.8 * np.mean((noisy - X) ** 2)


def test_vae_argument_errors():
    with pytest.raises(ValueError, match="likelihood"):
        build_vae(8, (4,), 2, likelihood="poisson")
    assert isinstance(build_vae(8, (4,), 2), VAE)
