"""Weight initializers with Keras 3 names, arguments and defaults (``keras.initializers``).

``init(shape, dtype=None)`` returns an array of ``backend.resolve_dtype(dtype)`` (floatx by default). Draws
come from ``nerve.backend.rng()``, so ``nerve.set_random_seed`` fixes them; an initializer built with an
integer ``seed`` uses its own Generator seeded afresh at every call (same values each call, as in Keras).

Variance scaling (Glorot & Bengio 2010; He et al. 2015; LeCun 1998): with n = fan_in, fan_out or their
mean, the weights have variance scale / n: uniform on [-sqrt(3 scale / n), +sqrt(3 scale / n)], or a normal
truncated at 2 standard deviations with stddev sqrt(scale / n) / 0.87962566103423978 (the standard
deviation of a unit normal truncated to [-2, 2]), so the variance is exactly scale / n.
"""
import math

import numpy as np

from . import backend
from .saving import registry
from .saving.registry import register

TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def compute_fans(shape):
    """(fan_in, fan_out) as Keras: a conv kernel (..., in, out) multiplies both by the receptive field size."""
    shape = tuple(shape)
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive = int(np.prod(shape[:-2]))
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    return int(fan_in), int(fan_out)


def _shape(shape, who):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"{who}: argument 'shape' expected a tuple of ints, got {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{who}: argument 'shape' must not have negative sizes, got {shape}")
    return shape


def _float_dtype(dtype, who):
    dt = backend.resolve_dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"{who}: argument 'dtype' expected a float dtype, got {dt}")
    return dt


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)`` and ``get_config``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__}: initializers must implement __call__(shape, dtype)")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register("initializers")
class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape, "Zeros"), backend.resolve_dtype(dtype))


@register("initializers")
class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape, "Ones"), backend.resolve_dtype(dtype))


@register("initializers")
class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(_shape(shape, "Constant"), self.value, backend.resolve_dtype(dtype))

    def get_config(self):
        v = self.value
        return {"value": v.tolist() if hasattr(v, "tolist") else v}


class RandomInitializer(Initializer):
    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: argument 'seed' expected an int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)

    def _rng(self):
        return backend.rng() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


def _truncated_normal(rng, shape, mean, stddev, dtype):
    """N(mean, stddev^2) restricted to mean +- 2 stddev: out-of-range draws are redrawn."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return (z * stddev + mean).astype(dtype, copy=False)


@register("initializers")
class RandomNormal(RandomInitializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        dt = _float_dtype(dtype, "RandomNormal")
        return self._rng().normal(self.mean, self.stddev, _shape(shape, "RandomNormal")).astype(dt, copy=False)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@register("initializers")
class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        dt = _float_dtype(dtype, "TruncatedNormal")
        return _truncated_normal(self._rng(), _shape(shape, "TruncatedNormal"), self.mean, self.stddev, dt)


@register("initializers")
class RandomUniform(RandomInitializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        dt = _float_dtype(dtype, "RandomUniform")
        return self._rng().uniform(self.minval, self.maxval, _shape(shape, "RandomUniform")).astype(dt, copy=False)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@register("initializers")
class VarianceScaling(RandomInitializer):
    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTS = ("uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if not scale > 0.0:
            raise ValueError(f"VarianceScaling: argument 'scale' must be positive, got {scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: argument 'mode' expected one of {self._MODES}, got {mode!r}")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTS:
            raise ValueError(f"VarianceScaling: argument 'distribution' expected one of "
                             f"{self._DISTS + ('normal',)}, got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        who = type(self).__name__
        shape, dt = _shape(shape, who), _float_dtype(dtype, who)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, 0.0, math.sqrt(scale) / TRUNC_STD, dt)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), shape).astype(dt, copy=False)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape).astype(dt, copy=False)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _scaled(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self):
        return {"seed": self.seed}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                          "__module__": __name__})
    return register("initializers")(cls)


GlorotUniform = _scaled("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).")
GlorotNormal = _scaled("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / 0.8796...")
HeUniform = _scaled("HeUniform", 2.0, "fan_in", "uniform", "U(-a, a), a = sqrt(6 / fan_in) (He et al. 2015).")
HeNormal = _scaled("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal, stddev sqrt(2 / fan_in) / 0.8796...")
LecunUniform = _scaled("LecunUniform", 1.0, "fan_in", "uniform", "U(-a, a), a = sqrt(3 / fan_in).")
LecunNormal = _scaled("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal, stddev sqrt(1 / fan_in) / 0.8796...")


@register("initializers")
class Orthogonal(RandomInitializer):
    """gain * Q from the QR decomposition of a normal matrix (signs fixed by diag(R)), reshaped (Saxe et al.)."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape, "Orthogonal"), _float_dtype(dtype, "Orthogonal")
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: argument 'shape' must be at least two-dimensional, got {shape} "
                             f"of rank {len(shape)}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))  # unique Q: the Haar-distributed orthogonal matrix
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dt, copy=False)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


@register("initializers")
class Identity(Initializer):
    """gain * I for 2D shapes (rectangular: ones on the main diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape, "Identity")
        if len(shape) != 2:
            raise ValueError(f"Identity: the identity initializer needs a 2D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(backend.resolve_dtype(dtype), copy=False)

    def get_config(self):
        return {"gain": self.gain}


# ------------------------------------------------------------------------------------------ STFT kernels
_COSINE_WINDOWS = {"hann": (0.5, 0.5), "hanning": (0.5, 0.5), "hamming": (0.54, 0.46),
                   "blackman": (0.42, 0.5, 0.08)}
_WINDOWS = tuple(_COSINE_WINDOWS) + ("boxcar", "bartlett", "cosine")


def get_window(window, length, periodic=False, who="get_window"):
    """scipy.signal.get_window(window, length, fftbins=periodic) in NumPy for the windows named in _WINDOWS
    (other names go to SciPy when it is installed). A symmetric window of M points uses N = M - 1 below, a
    periodic one N = M (the first M points of the symmetric window of M + 1):
      generalised cosine  w_n = sum_k (-1)^k a_k cos(2 pi k n / N)  (hann a = (.5, .5), hamming (.54, .46),
                          blackman (.42, .5, .08));
      bartlett  w_n = 1 - |2 n / N - 1|;   cosine  w_n = sin(pi (n + 1/2) / (N + 1));   boxcar  w_n = 1."""
    name = window.lower() if isinstance(window, str) else window
    if name not in _WINDOWS:
        try:
            import scipy.signal
        except ImportError:
            raise ValueError(f"{who}: argument 'window' expected one of {_WINDOWS} (others need SciPy), got "
                             f"{window!r}") from None
        try:
            return np.asarray(scipy.signal.get_window(window, length, fftbins=periodic), np.float64)
        except ValueError as e:
            raise ValueError(f"{who}: argument 'window' {window!r} is not a known window: {e}") from None
    if length == 1:
        return np.ones(1)
    n, big_n = np.arange(length, dtype=np.float64), length if periodic else length - 1
    if name in _COSINE_WINDOWS:
        return sum((-1) ** k * a * np.cos(2 * np.pi * k * n / big_n) for k, a in enumerate(_COSINE_WINDOWS[name]))
    if name == "bartlett":
        return 1 - np.abs(2 * n / big_n - 1)
    if name == "cosine":
        return np.sin(np.pi * (n + 0.5) / (big_n + 1))
    return np.ones(length)


@register("initializers")
class STFT(Initializer):
    """Convolution kernels of a short-time Fourier transform (Keras ``keras.initializers.STFT``), for
    ``layers.STFTSpectrogram``. For shape (T, C, F) and N = 2 (F - 1) (the fft_length of F one-sided bins):
        real:  K[t, c, k] =  cos(2 pi t k / N) w_t / s,      imag:  K[t, c, k] = -sin(2 pi t k / N) w_t / s
    so that sum_t x_t K[t, :, k] is the real / imaginary part of the DFT of the windowed frame (x_t w_t)
    zero-padded to N. w is ``window`` (a name as scipy.signal.get_window, symmetric unless ``periodic``, an
    array of T values, or None: no window and s = 1); s is sqrt(sum w^2) for scaling 'density', sum |w| for
    'spectrum', 1 for None."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: argument 'side' expected 'real' or 'imag', got {side!r}")
        if isinstance(window, str):
            get_window(window, 1, who="STFT")  # an unknown name fails here, as in Keras
        elif window is not None:
            window = np.asarray(backend.to_numpy(backend.unwrap(window)), np.float64)
            if window.ndim != 1:
                raise ValueError(f"STFT: argument 'window' expected a name, None or a 1-D array, got shape "
                                 f"{window.shape}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT: argument 'scaling' expected None, 'density' or 'spectrum', got {scaling!r}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, bool(periodic)

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape, "STFT"), _float_dtype(dtype, "STFT")
        if len(shape) != 3:
            raise ValueError(f"STFT: argument 'shape' expected (frame_length, input_channels, fft_bins), got {shape}")
        frame_length, _, bins = shape
        t, k = np.arange(frame_length)[:, None], np.arange(bins)[None, :]
        arg = 2 * np.pi * t * k / max(2 * (bins - 1), 1)
        kernel = np.cos(arg) if self.side == "real" else -np.sin(arg)
        if self.window is not None:
            w = get_window(self.window, frame_length, self.periodic, "STFT") if isinstance(self.window, str) \
                else self.window
            if w.shape != (frame_length,):
                raise ValueError(f"STFT: argument 'window' expected {frame_length} values (frame_length), got "
                                 f"shape {w.shape}")
            s = {"density": np.sqrt(np.sum(w * w)), "spectrum": np.sum(np.abs(w)), None: 1.0}[self.scaling]
            kernel = kernel * (w[:, None] / s)
        return np.ascontiguousarray(np.broadcast_to(kernel[:, None, :], shape), dtype=dt)

    def get_config(self):
        w = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": w, "periodic": self.periodic, "scaling": self.scaling}


_CLASSES = (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
            GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity, STFT)
_ALIASES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
            "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal, "normal": RandomNormal,
            "uniform": RandomUniform, "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
            "glorot_normal": GlorotNormal, "he_uniform": HeUniform, "he_normal": HeNormal,
            "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
            "identity": Identity, "OrthogonalInitializer": Orthogonal, "IdentityInitializer": Identity,
            "stft": STFT, "STFTInitializer": STFT}
ALL_OBJECTS = registry.builtin_table("initializers", _ALIASES, classes=_CLASSES)

# snake_case names as module attributes too (keras.initializers.glorot_uniform is the class)
zeros, ones, constant, random_normal, random_uniform = Zeros, Ones, Constant, RandomNormal, RandomUniform
truncated_normal, variance_scaling, orthogonal, identity = TruncatedNormal, VarianceScaling, Orthogonal, Identity
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
OrthogonalInitializer, IdentityInitializer, STFTInitializer = Orthogonal, Identity, STFT  # Keras 3's long names
stft = STFT


def serialize(initializer):
    return registry.serialize(initializer)


def deserialize(config, custom_objects=None):
    return registry.deserialize_builtin(config, "initializers", ALL_OBJECTS, custom_objects)


def get(identifier):
    """An initializer from None, a name ('glorot_uniform', 'HeNormal', ...), a config dict, a class or callable."""
    known = f"Known names: {', '.join(sorted(k for k in ALL_OBJECTS if k.islower() or '_' in k))}"
    return registry.resolve(identifier, "initializers", ALL_OBJECTS, deserialize, "initializer", known=known)
