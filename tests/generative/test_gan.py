import numpy as np
import pytest

import nerve
from nerve.generative import GAN, WGAN, build_dcgan_critic, build_dcgan_generator
from nerve.layers import Dense, Dropout, Input
from nerve.models import Model


def mean_pairwise_distance(a):
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    d = np.sqrt(((a[:, None] - a[None]) ** 2).sum(-1))
    return d[np.triu_indices(len(a), 1)].mean()


def mlp_pair(latent=16, dim=64, out_act="sigmoid"):
    i = Input(shape=(latent,))
    g = Model(i, Dense(dim, activation="sigmoid")(Dense(128, activation="relu")(i)), name="generator")
    j = Input(shape=(dim,))
    d = Model(j, Dense(1, activation=out_act)(Dense(64, activation="relu")(Dropout(0.3)(j))), name="discriminator")
    return g, d


def test_gan_trains_without_saturating_or_collapsing(digits):
    X, _ = digits
    g, d = mlp_pair()
    gan = GAN(g, d, noise="normal")
    gan.compile(nerve.optimizers.Adam(1e-3, 0.5), nerve.optimizers.Adam(1e-3, 0.5))
    out = gan.train(X, iterations=600, batch_size=64, sample_interval=200, n_samples=2, seed=0)
    dacc = np.array(out["dacc"])
    windows = dacc.reshape(6, 100).mean(1)
    assert np.all((windows > 0.3) & (windows < 0.95)), windows   # D neither always right nor always fooled
    assert sorted(out["samples"]) == [0, 200, 400]
    floor = 0.5 * mean_pairwise_distance(X[:200])                 # a floor measured on the real data
    samples = gan.generate(200, seed=1)
    assert samples.shape == (200, 64) and np.all((samples >= 0) & (samples <= 1))
    assert mean_pairwise_distance(samples) > floor


def test_each_phase_updates_only_its_network(digits):
    X, _ = digits
    g, d = mlp_pair()
    gan = GAN(g, d)
    gan.compile(nerve.optimizers.SGD(0.1), nerve.optimizers.SGD(0.0))  # generator learning rate 0
    g0, d0 = g.get_weights(), d.get_weights()
    logs = gan.train_on_batch(X[:32], return_dict=True)
    assert set(logs) == {"d_loss", "g_loss", "d_acc"}
    assert all(np.array_equal(a, b) for a, b in zip(g0, g.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(d0, d.get_weights()))
    gan.compile(nerve.optimizers.SGD(0.0), nerve.optimizers.SGD(0.1))  # discriminator learning rate 0
    d1, g1 = d.get_weights(), g.get_weights()
    gan.train_on_batch(X[:32])
    assert all(np.array_equal(a, b) for a, b in zip(d1, d.get_weights()))  # frozen during the generator step
    assert not all(np.array_equal(a, b) for a, b in zip(g1, g.get_weights()))
    assert all(w.requires_grad == w.trainable for w in g.weights + d.weights)  # flags restored


def test_fit_api_and_history(digits):
    X, _ = digits
    gan = GAN(*mlp_pair(), noise="normal")
    gan.compile(nerve.optimizers.Adam(1e-3, 0.5), nerve.optimizers.Adam(1e-3, 0.5))
    h = gan.fit(X, epochs=2, batch_size=128, verbose=0)
    assert set(h.history) == {"d_loss", "g_loss", "d_acc"} and len(h.history["d_loss"]) == 2
    assert gan.evaluate(X[:64], verbose=0, return_dict=True).keys() == {"d_loss", "g_loss", "d_acc"}
    with pytest.raises(TypeError, match="d_optimizer"):
        gan.compile(optimizer="adam")


def test_wgan_clips_critic_weights(digits):
    X, _ = digits
    g, c = mlp_pair(out_act=None)
    wgan = WGAN(g, c, clip_value=0.01, d_steps=5)
    wgan.compile(nerve.optimizers.RMSprop(5e-4), nerve.optimizers.RMSprop(5e-4))
    out = wgan.train(X, iterations=40, batch_size=64, sample_interval=0, seed=0)
    assert all(np.abs(w.numpy()).max() <= 0.01 + 1e-7 for w in c.trainable_weights)
    assert np.all(np.isfinite(out["dloss"]))
    assert out["dloss"][-1] < 0  # E[C(fake)] - E[C(real)]: the critic separates real from fake
    with pytest.raises(ValueError, match="WGAN: argument 'gradient_penalty' expected a non-negative number"):
        WGAN(g, c, gradient_penalty=-1.0)


def _critic_grad_norms(gan, X):
    from nerve import ops
    rng = np.random.default_rng(5)
    real = X[rng.integers(0, len(X), 256)]
    e = rng.random((256, 1)).astype("float32")
    x_hat = nerve.tensor(e * real + (1 - e) * gan.generate(256, seed=3), requires_grad=True)
    (g,) = nerve.grad(ops.sum(gan.discriminator(x_hat)), [x_hat])
    return np.sqrt((g.numpy() ** 2).sum(1))


def test_wgan_gp_holds_the_critic_gradient_norm_near_one(digits):
    """WGAN-GP: lambda E[(||dC/dx^|| - 1)^2] needs a double backward; trained with it the critic's gradient norm on
    the interpolates stays near 1, trained without it (and without clipping) it grows far beyond."""
    X, _ = digits
    norms = {}
    for penalty in (10.0, None):
        nerve.set_random_seed(0)
        g, c = mlp_pair(out_act=None)
        wgan = WGAN(g, c, gradient_penalty=penalty, clip_value=1e9, d_steps=5)
        wgan.compile(nerve.optimizers.Adam(1e-4, 0.0, 0.9), nerve.optimizers.Adam(1e-4, 0.0, 0.9))
        out = wgan.train(X, iterations=300, batch_size=64, sample_interval=0, seed=0)
        assert np.all(np.isfinite(out["dloss"])) and np.mean(out["dloss"][-20:]) < 0
        norms[penalty] = _critic_grad_norms(wgan, X).mean()
    assert 0.7 < norms[10.0] < 1.3 and norms[None] > 3.0, norms


def test_wgan_gp_with_the_book_dcgan_critic():
    g, c = build_dcgan_generator(ltnt_dim=8), build_dcgan_critic(output_activation=None)
    wgan = WGAN(g, c, gradient_penalty=10.0, d_steps=1)
    wgan.compile(nerve.optimizers.Adam(1e-4, 0.0, 0.9), nerve.optimizers.Adam(1e-4, 0.0, 0.9))
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype(np.float32)
    kernels = [w for w in c.trainable_weights if w.path.endswith("kernel")]  # the output bias cancels in the loss
    w0 = [w.numpy().copy() for w in kernels]
    logs = wgan.train_on_batch(x, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()) and len(kernels) == 3
    assert all(not np.array_equal(a, w.numpy()) for a, w in zip(w0, kernels))


@pytest.mark.parametrize("critic", ["mlp", "conv"])
def test_wgan_gp_penalty_gradient_matches_finite_differences(critic):
    """The penalty's gradient with respect to the critic weights (through dC/dx^) against central differences."""
    nerve.config.set_floatx("float64")  # layers without a dtype follow floatx when called
    try:
        _check_penalty_gradient(critic)
    finally:
        nerve.config.set_floatx("float32")


def _check_penalty_gradient(critic):
    from nerve.backend import no_grad
    from nerve.layers import Conv2D, Flatten, Reshape
    shape = (4,) if critic == "mlp" else (6, 6, 1)
    i = Input(shape=(3,))
    g = Model(i, Reshape(shape)(Dense(int(np.prod(shape)))(i)))
    j = Input(shape=shape)
    if critic == "mlp":
        c = Model(j, Dense(1)(Dense(5, activation="tanh")(j)))
    else:  # the DCGAN critic's layers, small: strided 'same' convolution with ReLU, flatten, linear output
        c = Model(j, Dense(1)(Flatten()(Conv2D(2, 3, strides=2, padding="same", activation="relu")(j))))
    wgan = WGAN(g, c, gradient_penalty=10.0)
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((6,) + shape), rng.standard_normal((6,) + shape)

    def penalty():
        nerve.set_random_seed(7)  # the same interpolation weights e every time
        return wgan.d_penalty(real, fake)
    penalty().backward()
    for w in c.trainable_weights:
        analytic = np.zeros(w.shape) if w.grad is None else w.grad.numpy().copy()  # output bias: no effect
        numeric = np.zeros_like(analytic)
        for idx in np.ndindex(*analytic.shape):
            old = w.data[idx]
            vals = []
            for step in (1e-6, -1e-6):
                w.data[idx] = old + step
                with no_grad():
                    vals.append(float(penalty().numpy()))
            w.data[idx] = old
            numeric[idx] = (vals[0] - vals[1]) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=w.path)
