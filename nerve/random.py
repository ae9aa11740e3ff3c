"""``nerve.random``: Keras 3's ``keras.random`` (random tensors, and SeedGenerator for layers that draw).

``seed`` follows Keras: None draws from nerve's one Generator (``nerve.set_random_seed`` fixes it); an int
gives the same values at every call (a fresh Generator seeded with it); a ``SeedGenerator`` gives new values at
every call, reproducible from its seed. Draws are made on the host with NumPy's Generator and returned as
Tensors on the current device (``nerve.device``), so a seed gives the same numbers on CPU and GPU.
``dropout`` keeps the graph: its gradient flows into ``inputs`` through the mask.
"""
import numpy as np

from . import backend
from .autograd import ops
from .autograd.tensor import Tensor
from .initializers import _float_dtype, _shape  # the same argument checks as the initializers


class SeedGenerator:
    """A seeded stream of random draws: ``keras.random.normal(shape, seed=self.seed_generator)`` in a layer
    gives new values at every call, the same sequence for the same seed."""

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator: unexpected keyword argument(s) {sorted(kwargs)}")
        if seed is None:
            seed = int(backend.rng().integers(0, 2**31 - 1))
        _check_int_seed(seed, "SeedGenerator")
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self._gen = np.random.default_rng(self.seed)
        self._draws = 0

    def next(self):
        """A fresh int seed drawn from this stream (Keras returns the state tensor; an int serves the same use)."""
        self._draws += 1
        return int(self._gen.integers(0, 2**31 - 1))

    @property
    def state(self):
        """(seed, number of draws): with the seed, where the stream stands."""
        return np.array([self.seed, self._draws], np.int64)

    def generator(self):
        self._draws += 1
        return self._gen

    def get_config(self):
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"SeedGenerator(seed={self.seed})"


def _check_int_seed(seed, who):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{who}: argument 'seed' expected None, a non-negative int or a SeedGenerator, "
                         f"got {seed!r}")


def _gen(seed, who):
    if seed is None:
        return backend.rng()
    if isinstance(seed, SeedGenerator):
        return seed.generator()
    _check_int_seed(seed, who)
    return np.random.default_rng(int(seed))


def _out(a):
    return Tensor(backend.place(a))


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev^2)."""
    d = _float_dtype(dtype, "normal")
    return _out((_gen(seed, "normal").standard_normal(_shape(shape, "normal")) * stddev + mean).astype(d))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draws from U[minval, maxval)."""
    d = _float_dtype(dtype, "uniform")
    if not maxval > minval:
        raise ValueError(f"uniform: argument 'maxval' expected > minval={minval!r}, got {maxval!r}")
    return _out(_gen(seed, "uniform").uniform(minval, maxval, _shape(shape, "uniform")).astype(d))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev^2) with every value beyond two standard deviations drawn again."""
    d = _float_dtype(dtype, "truncated_normal")
    g = _gen(seed, "truncated_normal")
    z = g.standard_normal(_shape(shape, "truncated_normal"))
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = g.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return _out((z * stddev + mean).astype(d))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers from [minval, maxval)."""
    if not maxval > minval:
        raise ValueError(f"randint: argument 'maxval' expected > minval={minval!r}, got {maxval!r}")
    d = np.dtype(dtype)
    if d.kind not in "iu":
        raise ValueError(f"randint: argument 'dtype' expected an integer dtype, got {d.name!r}")
    return _out(_gen(seed, "randint").integers(minval, maxval, _shape(shape, "randint")).astype(d))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """For each row of ``logits`` (batch, classes), ``num_samples`` class indices drawn with probabilities
    softmax(row): shape (batch, num_samples)."""
    z = np.asarray(backend.to_numpy(ops.convert_to_numpy(logits)), np.float64)
    if z.ndim != 2:
        raise ValueError(f"categorical: argument 'logits' expected shape (batch, classes), got {z.shape}")
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = _gen(seed, "categorical").random((z.shape[0], int(num_samples)))
    idx = (u[:, :, None] >= cdf[:, None, :-1]).sum(axis=2)  # inverse CDF: the first class whose cdf exceeds u
    return _out(idx.astype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs`` with each entry zeroed with probability ``rate`` and the rest scaled by 1 / (1 - rate);
    ``noise_shape`` broadcasts one mask (e.g. (batch, 1, features) for the same mask at every step)."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout: argument 'rate' expected a float in [0, 1), got {rate!r}")
    x = ops.convert_to_tensor(inputs)
    shape = x.shape if noise_shape is None else tuple(x.shape[i] if d is None else d
                                                      for i, d in enumerate(noise_shape))
    return ops.multiply(x, Tensor(backend.dropout_mask(_gen(seed, "dropout"), _shape(shape, "dropout"), rate, x.data)))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order."""
    t = ops.convert_to_tensor(x)
    order = _gen(seed, "shuffle").permutation(t.shape[axis])
    return ops.take(t, Tensor(backend.like(t.data, order)), axis=axis)


def gamma(shape, alpha, dtype=None, seed=None):
    """Draws from Gamma(alpha, scale 1)."""
    d = _float_dtype(dtype, "gamma")
    return _out(_gen(seed, "gamma").gamma(alpha, 1.0, _shape(shape, "gamma")).astype(d))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Draws from Beta(alpha, beta)."""
    d = _float_dtype(dtype, "beta")
    return _out(_gen(seed, "beta").beta(alpha, beta, _shape(shape, "beta")).astype(d))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Draws from Binomial(counts, probabilities), as floats (Keras' default dtype)."""
    d = backend.resolve_dtype(dtype)
    return _out(_gen(seed, "binomial").binomial(counts, probabilities, _shape(shape, "binomial")).astype(d))
