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


def as_strided(x, shape, strides):
    """A read-only strided view of a NumPy or CuPy array (``numpy.lib.stride_tricks.as_strided`` on either)."""
    if type(x) is np.ndarray:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return get_array_module(x).lib.stride_tricks.as_strided(x, shape, strides)


def as_array(x, dtype=None):
    """``x`` as an array: NumPy and CuPy arrays stay where they are (cast to ``dtype`` if given), anything else
    becomes a NumPy array (the device-neutral ``np.asarray``)."""
    if is_array(x):
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    return np.asarray(x, dtype)


def like(ref, a):
    """Host data ``a`` on the device of the array ``ref`` (random masks and noise are drawn on the host from
    the one Generator, so a seed gives the same numbers on the CPU and the GPU)."""
    if type(ref) is np.ndarray or not is_array(ref):
        return a
    return get_array_module(ref).asarray(a)


def step_value(a):
    """A step's scalar for a metric tracker: a Python float from the host; a device (CuPy) scalar stays on the
    device, so that a GPU step does not wait for the GPU (``Mean`` sums it there and reads it at ``result()``)."""
    return float(a) if type(a) is np.ndarray or not is_array(a) else a


def is_array(x):
    if isinstance(x, np.ndarray):
        return True
    cp = _cupy()
    return cp is not None and isinstance(x, cp.ndarray)


def unwrap(x):
    """The array inside a Tensor or Variable (its ``.data``), else ``x`` itself. Not ``getattr(x, "data", x)``:
    a CuPy array's own ``.data`` is its memory pointer and a NumPy array's a memoryview."""
    d = getattr(x, "data", None)
    return d if is_array(d) else x


def to_numpy(x):
    """Host copy of an array (NumPy passes through)."""
    if isinstance(x, np.ndarray):
        return x
    cp = _cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp.asnumpy(x)
    return np.asarray(x)


class Config:
    """Global switches (use the context managers below rather than setting them by hand), and Keras 3's
    ``keras.config`` functions as methods, so ``nerve.config.floatx()`` works where a script had
    ``keras.config.floatx()``."""

    def __init__(self):
        self.grad_enabled = True
        self.training = None  # True / False inside fit, evaluate, predict or training_mode; None: no context
        self.debug = os.environ.get("NERVE_DEBUG", "0") not in ("", "0", "false", "False")
        self.float_dtype = "float32"  # floatx(); set with set_floatx
        self.device = "cpu"   # where new variables live: "cpu" (NumPy) or "gpu" (CuPy); see device()
        # fit/evaluate/predict/*_on_batch flush denormal floats to zero while they run (nerve/denormals.py)
        self.flush_denormal = os.environ.get("NERVE_FLUSH_DENORMAL", "1") not in ("0", "false", "False")
        # keras.config debugging caps of fit (None: no cap); also from $NERVE_MAX_EPOCHS / $KERAS_MAX_EPOCHS, ...
        self._max_epochs = _env_cap("MAX_EPOCHS")
        self._max_steps_per_epoch = _env_cap("MAX_STEPS_PER_EPOCH")
        self.interactive_logging = True   # progress bars and summaries print to stdout (else: the logging module)
        self.traceback_filtering = True   # Keras' flag; nerve's tracebacks are never filtered (see below)
        self.flash_attention = None       # Keras' flag: None (auto) or False; nerve has no flash attention

    def __repr__(self):
        return (f"Config(grad_enabled={self.grad_enabled}, training={self.training}, "
                f"debug={self.debug}, floatx={self.float_dtype!r}, device={self.device!r}, "
                f"flush_denormal={self.flush_denormal})")

    # keras.config
    @staticmethod
    def backend():
        """The array library that runs the ops: 'numpy' (CuPy arrays under ``nerve.device('gpu')``)."""
        return "numpy"

    @staticmethod
    def floatx():
        return floatx()

    @staticmethod
    def set_floatx(value):
        set_floatx(value)

    @staticmethod
    def epsilon():
        return epsilon()

    @staticmethod
    def set_epsilon(value):
        set_epsilon(value)

    @staticmethod
    def image_data_format():
        return image_data_format()

    @staticmethod
    def set_image_data_format(data_format):
        set_image_data_format(data_format)

    @staticmethod
    def enable_unsafe_deserialization():
        """Accepted for Keras scripts and changes nothing: nerve's files never hold Python code (a Lambda
        layer's function is not saved), so there is no unsafe mode to unlock."""

    @staticmethod
    def set_backend(backend):
        """Keras' backend switch. nerve has one backend, 'numpy' (which runs on CuPy arrays under
        ``nerve.device('gpu')``): naming it is accepted and changes nothing, any other name raises."""
        if backend != "numpy":
            raise ValueError(f"set_backend: argument 'backend' expected 'numpy' (nerve's only backend; use "
                             f"nerve.device('gpu') for CuPy), got {backend!r}")

    # fit's debugging caps (Keras: config.set_max_epochs / set_max_steps_per_epoch)
    def max_epochs(self):
        """The cap on the epochs of any ``fit`` (None: no cap)."""
        return self._max_epochs

    def set_max_epochs(self, max_epochs):
        """Cap the epochs of every later ``fit`` at ``max_epochs`` (None removes the cap); for quick debug runs."""
        self._max_epochs = _check_cap("set_max_epochs", "max_epochs", max_epochs)

    def max_steps_per_epoch(self):
        """The cap on the steps of each epoch of ``fit`` (None: no cap)."""
        return self._max_steps_per_epoch

    def set_max_steps_per_epoch(self, max_steps_per_epoch):
        """Cap the steps of each epoch of every later ``fit`` (its validation passes included; None removes it)."""
        self._max_steps_per_epoch = _check_cap("set_max_steps_per_epoch", "max_steps_per_epoch",
                                               max_steps_per_epoch)

    # the global dtype policy: floatx(), or a mixed policy that layers created afterwards take (dtype_policies.py)
    @staticmethod
    def dtype_policy():
        """The global ``DTypePolicy``: a mixed one when set, else ``DTypePolicy(floatx())``."""
        from .dtype_policies import dtype_policy
        return dtype_policy()

    @staticmethod
    def set_dtype_policy(policy):
        """Set the global policy ('float32', 'float64', 'mixed_float16' or a DTypePolicy): a float one sets floatx,
        'mixed_float16' makes layers created afterwards compute in float16 with float32 variables."""
        from .dtype_policies import set_dtype_policy
        set_dtype_policy(policy)

    # logging: when interactive logging is off, nerve.utils.Progbar writes to the 'nerve' logger, not stdout
    def enable_interactive_logging(self):
        self.interactive_logging = True

    def disable_interactive_logging(self):
        self.interactive_logging = False

    def is_interactive_logging_enabled(self):
        return self.interactive_logging

    # Keras filters its own frames out of tracebacks; nerve shows them all. The flag keeps its state for scripts.
    def enable_traceback_filtering(self):
        self.traceback_filtering = True

    def disable_traceback_filtering(self):
        self.traceback_filtering = False

    def is_traceback_filtering_enabled(self):
        return self.traceback_filtering

    # Keras: None (default, "use flash attention where possible") or False. nerve has no flash-attention kernel:
    # attention is always the plain softmax(QK^T)V, so the flag only keeps its state.
    def enable_flash_attention(self):
        self.flash_attention = None

    def disable_flash_attention(self):
        self.flash_attention = False

    def is_flash_attention_enabled(self):
        return self.flash_attention

    @staticmethod
    def is_nnx_enabled():
        """Keras: whether Flax NNX layers are on (JAX backend only). nerve has no JAX backend: always False."""
        return False


def _env_cap(name):
    """$NERVE_<name> (or $KERAS_<name>, as Keras reads it) as a positive int, or None."""
    raw = os.environ.get(f"NERVE_{name}") or os.environ.get(f"KERAS_{name}")
    if not raw:
        return None
    try:
        return _check_cap("config", name.lower(), int(raw))
    except ValueError:
        raise ValueError(f"config: environment variable NERVE_{name} / KERAS_{name} expected a positive integer, "
                         f"got {raw!r}") from None


def _check_cap(fn, arg, value):
    if value is None:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{fn}: argument '{arg}' expected a positive integer or None, got {value!r}")
    return int(value)


config = Config()


def floatx():
    """The default float dtype name ('float32' unless changed with ``set_floatx``)."""
    return config.float_dtype


def set_floatx(value):
    if value not in _FLOATS:
        raise ValueError(f"set_floatx: argument 'value' expected one of {_FLOATS}, got {value!r}")
    config.float_dtype = str(value)


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


def _import_cupy(who):
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(f"{who}: the GPU needs CuPy (pip install 'nerve[gpu]' or cupy-cuda12x / cupy-cuda13x "
                           f"to match your CUDA), and it is not importable here ({e})") from None
    return cupy


@contextlib.contextmanager
def device(device_name):
    """Keras 3 ``keras.device``: variables created inside (layer weights, optimizer slots, metrics' state
    stays on the host) live on that device. 'cpu' or 'cpu:0' -> NumPy; 'gpu', 'gpu:K', 'cuda', 'cuda:K' -> CuPy
    on CUDA device K. A model whose weights are on the GPU takes NumPy batches in fit/evaluate/predict and
    moves them there itself; passing CuPy arrays avoids the copy."""
    name = str(device_name).lower()
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "gpu", "cuda") or (index and not index.isdigit()):
        raise ValueError(f"device: argument 'device_name' expected 'cpu', 'gpu', 'gpu:K' or 'cuda:K', got "
                         f"{device_name!r}")
    if kind == "cpu":
        with _switch("device", "cpu"):
            yield
        return
    cp = _import_cupy("device")
    with cp.cuda.Device(int(index or 0)), _switch("device", "gpu"):
        yield


def place(data):
    """``data`` (a NumPy or CuPy array) on the current device() (used when variables are created)."""
    return place_on(config.device, data)


def place_on(where, data):
    """A NumPy array ``data`` on the device ``where`` ('cpu' or 'gpu'); other arrays pass through."""
    if where == "cpu" or type(data) is not np.ndarray:
        return data
    return _import_cupy("device").asarray(data)


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
    return _switch("float_dtype", dtype)


# ---------------------------------------------------------------- the one random Generator
_rng = np.random.default_rng()


def rng():
    """The Generator every random draw in nerve uses."""
    return _rng


def keep_mask(gen, shape, rate):
    """Dropout's host mask: True with probability 1 - ``rate``. Each entry is a 16-bit integer from ``gen``
    compared with round(rate * 2**16), so the rate holds to within 2**-17; that is 3x cheaper than a float32
    uniform per entry, whose drawing dominated the step of dropout-heavy models on a GPU (the masks are drawn
    on the host so that one seed gives the same numbers on both devices)."""
    if rate <= 0:
        return np.ones(shape, bool)
    if rate >= 1:
        return np.zeros(shape, bool)
    return gen.integers(0, 1 << 16, size=shape, dtype=np.uint16) >= int(round(rate * (1 << 16)))


def dropout_mask(gen, shape, rate, ref):
    """keep_mask scaled by 1 / (1 - rate) (inverted dropout; zeros for rate 1), in ``ref``'s dtype on ``ref``'s
    device: the boolean mask travels (1 byte per entry) and becomes a float mask there."""
    keep = like(ref, keep_mask(gen, shape, rate))
    mask = keep.astype(ref.dtype)
    if rate < 1:
        mask *= ref.dtype.type(1.0 / (1.0 - rate))  # a NumPy scalar: CuPy refuses 0-d host arrays
    return mask


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
        return np.dtype(config.float_dtype)
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


def image_data_format():
    """'channels_last': images are (batch, height, width, channels) everywhere in nerve."""
    return "channels_last"


def set_image_data_format(data_format):
    if data_format != "channels_last":
        raise ValueError("set_image_data_format: argument 'data_format' expected 'channels_last' (nerve's layers "
                         f"are channels_last only), got {data_format!r}")
