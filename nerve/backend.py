"""The one place where NumPy or CuPy is chosen, the dtype policy, the global config and the one RNG.

Everything else asks this module: ``xp = get_array_module(x)`` for array functions, ``floatx()`` for
the default float dtype, ``config`` for the gradient / training / debug switches, ``rng()`` for every
random draw (initialisers, dropout, shuffling, noise), so one seed gives the same bits everywhere.
"""
import contextlib
import os
import random as _pyrandom
import sys

import numpy as np

_FLOATS = ("float16", "float32", "float64")


def _cupy():
    """CuPy only if it is already imported by the user (never imported here: keeps import fast)."""
    return sys.modules.get("cupy")


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy`` (the ``xp`` switch)."""
    cp = _cupy()
    if cp is not None:
        for a in arrays:
            if isinstance(a, cp.ndarray):
                return cp
    return np


def is_array(x):
    if isinstance(x, np.ndarray):
        return True
    cp = _cupy()
    return cp is not None and isinstance(x, cp.ndarray)


def to_numpy(x):
    """Host copy of an array (NumPy passes through)."""
    if isinstance(x, np.ndarray):
        return x
    cp = _cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp.asnumpy(x)
    return np.asarray(x)


class Config:
    """Global switches. Use the context managers below rather than setting them by hand."""

    def __init__(self):
        self.grad_enabled = True
        self.training = False
        self.debug = os.environ.get("NERVE_DEBUG", "0") not in ("", "0", "false", "False")
        self.floatx = "float32"

    def __repr__(self):
        return (f"Config(grad_enabled={self.grad_enabled}, training={self.training}, "
                f"debug={self.debug}, floatx={self.floatx!r})")


config = Config()


def floatx():
    """The default float dtype name ('float32' unless changed with ``set_floatx``)."""
    return config.floatx


def set_floatx(value):
    if value not in _FLOATS:
        raise ValueError(f"set_floatx: argument 'value' expected one of {_FLOATS}, got {value!r}")
    config.floatx = str(value)


@contextlib.contextmanager
def _switch(name, value):
    old = getattr(config, name)
    setattr(config, name, value)
    try:
        yield
    finally:
        setattr(config, name, old)


class _GradMode(contextlib.ContextDecorator):
    """``with no_grad():`` or ``@no_grad()``: no graph is recorded inside."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = config.grad_enabled
        config.grad_enabled = self.mode

    def __exit__(self, *exc):
        config.grad_enabled = self.prev
        return False


def no_grad():
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


def set_grad_enabled(mode):
    return _GradMode(mode)


def is_grad_enabled():
    return config.grad_enabled


def training_mode(mode=True):
    """Context manager setting the training flag read by Dropout, BatchNormalization, ..."""
    return _switch("training", bool(mode))


def debug_mode(flag=True):
    """Context manager: every forward op checks its output for NaN/Inf (see autograd.function)."""
    return _switch("debug", bool(flag))


def precision(dtype):
    """Context manager setting floatx, e.g. ``with precision('float64'):`` for gradient checks."""
    if dtype not in _FLOATS:
        raise ValueError(f"precision: argument 'dtype' expected one of {_FLOATS}, got {dtype!r}")
    return _switch("floatx", dtype)


# ---------------------------------------------------------------- the one random Generator
_rng = np.random.default_rng()


def rng():
    """The Generator every random draw in nerve uses."""
    return _rng


def set_random_seed(seed):
    """Seed nerve's Generator, NumPy's legacy global RNG and Python's ``random`` (Keras semantics)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: argument 'seed' expected a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % (2**32))
    _pyrandom.seed(int(seed))
    cp = _cupy()
    if cp is not None:  # pragma: no cover - GPU only
        cp.random.seed(int(seed) % (2**32))


def get_rng_state():
    """JSON-friendly state of the Generator (for exact resume)."""
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state


def resolve_dtype(dtype):
    """None -> floatx; names and NumPy dtypes -> np.dtype, with a clear error otherwise."""
    if dtype is None:
        return np.dtype(config.floatx)
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected a NumPy dtype or name such as 'float32', got {dtype!r}") from None


_EPSILON = 1e-7


def epsilon():
    """Fuzz factor used in numeric expressions (Keras ``keras.backend.epsilon``), 1e-7 by default."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)
