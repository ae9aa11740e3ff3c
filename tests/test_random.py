"""nerve.random as keras.random: distributions (moments on large draws), seed semantics, dropout's gradient,
and the Keras 3 VAE's Sampling layer written with keras.random + SeedGenerator."""
import numpy as np
import pytest

import nerve
from nerve import layers, ops
from nerve import random as nr


def arr(t):
    return ops.convert_to_numpy(t)


@pytest.mark.parametrize("fn, kwargs, mean, std", [
    (nr.normal, dict(mean=2.0, stddev=3.0), 2.0, 3.0),
    (nr.uniform, dict(minval=-1.0, maxval=3.0), 1.0, 4 / np.sqrt(12)),
    # N(0, 1) truncated at +-2: variance 1 - 2*2*phi(2)/(2*Phi(2)-1) = 0.7737
    (nr.truncated_normal, dict(mean=1.0, stddev=2.0), 1.0, 2.0 * np.sqrt(0.773741)),
    (nr.gamma, dict(alpha=3.0), 3.0, np.sqrt(3.0)),
    (nr.beta, dict(alpha=2.0, beta=5.0), 2 / 7, np.sqrt(10 / (49 * 8))),
    (nr.binomial, dict(counts=10, probabilities=0.3), 3.0, np.sqrt(2.1)),
])
def test_moments_and_dtype(fn, kwargs, mean, std):
    x = arr(fn((200_000,), seed=3, **kwargs))
    assert x.dtype == np.float32 and x.shape == (200_000,)
    assert abs(x.mean() - mean) < 5 * std / np.sqrt(x.size)
    assert abs(x.std() - std) < 0.01 * std


def test_truncated_normal_stays_within_two_stddev():
    x = arr(nr.truncated_normal((10_000,), mean=1.0, stddev=0.5, seed=0))
    assert x.min() >= 0.0 and x.max() <= 2.0


def test_randint_and_categorical():
    r = arr(nr.randint((50_000,), 3, 7, seed=1))
    assert r.dtype == np.int32 and set(np.unique(r)) == {3, 4, 5, 6}
    logits = np.log(np.array([[0.2, 0.5, 0.3], [1.0, 1e-9, 1e-9]]))
    c = arr(nr.categorical(logits, 40_000, seed=2))
    assert c.shape == (2, 40_000) and c.dtype == np.int32
    np.testing.assert_allclose(np.bincount(c[0], minlength=3) / 40_000, [0.2, 0.5, 0.3], atol=0.01)
    assert (c[1] == 0).all()


def test_seed_semantics():
    assert np.array_equal(arr(nr.normal((5,), seed=7)), arr(nr.normal((5,), seed=7)))  # int: same each call
    g = nr.SeedGenerator(42)
    a, b = arr(nr.normal((5,), seed=g)), arr(nr.normal((5,), seed=g))
    assert not np.array_equal(a, b)  # a generator: new values each call ...
    g2 = nr.SeedGenerator(42)
    assert np.array_equal(a, arr(nr.normal((5,), seed=g2)))  # ... the same stream for the same seed
    nerve.set_random_seed(5)
    u = arr(nr.uniform((3,)))
    nerve.set_random_seed(5)
    assert np.array_equal(u, arr(nr.uniform((3,))))  # None: nerve's Generator, fixed by set_random_seed


def test_dropout_scales_and_passes_the_gradient():
    x = nerve.tensor(np.ones((1000, 20), np.float64), requires_grad=True)
    y = nr.dropout(x, 0.25, seed=0)
    kept = arr(y) != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(arr(y)[kept], 1 / 0.75)
    ops.sum(y).backward()
    np.testing.assert_allclose(x.grad.numpy(), arr(y))  # d sum(x * mask) / dx = mask
    same = arr(nr.dropout(np.ones((4, 3, 5), np.float32), 0.5, noise_shape=(None, 1, None), seed=1))
    assert (same == same[:, :1, :]).all()  # one mask broadcast over axis 1


def test_shuffle_permutes_along_the_axis():
    x = np.arange(12.0).reshape(6, 2)
    s = arr(nr.shuffle(x, seed=3))
    assert sorted(map(tuple, s)) == sorted(map(tuple, x)) and not np.array_equal(s, x)


def test_bad_arguments_name_the_function_and_argument():
    with pytest.raises(ValueError, match=r"normal: argument 'seed' expected None, a non-negative int or a "
                                         r"SeedGenerator, got 'a'"):
        nr.normal((2,), seed="a")
    with pytest.raises(ValueError, match=r"uniform: argument 'maxval' expected > minval=1.0, got 0.0"):
        nr.uniform((2,), 1.0, 0.0)
    with pytest.raises(ValueError, match=r"normal: argument 'shape' must not have negative sizes"):
        nr.normal((2, -1))
    with pytest.raises(ValueError, match=r"normal: argument 'dtype' expected a float dtype, got int32"):
        nr.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match=r"dropout: argument 'rate' expected a float in \[0, 1\), got 1.0"):
        nr.dropout(np.ones(3), 1.0)


class Sampling(layers.Layer):
    """The Keras 3 VAE example's layer, verbatim but for the import: z = mean + exp(log_var / 2) * eps."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = nerve.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = nerve.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def test_keras3_vae_sampling_layer_trains():
    inp = nerve.Input((4,))
    z = Sampling()([layers.Dense(2)(inp), layers.Dense(2)(inp)])
    model = nerve.Model(inp, layers.Dense(4)(z))
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    first = model.evaluate(x, x, verbose=0)
    model.fit(x, x, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x, x, verbose=0) < 0.8 * first
