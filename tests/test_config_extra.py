"""keras.config names added to nerve.config (fit's debugging caps, dtype policy, flags, set_backend), the
dtype_policies / mixed_precision modules and the top-level base-class aliases."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import nerve
from nerve import backend, layers


@pytest.fixture(autouse=True)
def defaults_after():
    yield
    nerve.config.set_max_epochs(None)
    nerve.config.set_max_steps_per_epoch(None)
    backend.set_floatx("float32")


class Counter(nerve.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs, self.steps, self.test_steps = 0, 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs += 1

    def on_train_batch_begin(self, batch, logs=None):
        self.steps += 1

    def on_test_batch_begin(self, batch, logs=None):
        self.test_steps += 1


def _model():
    model = nerve.Sequential([nerve.Input((4,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def _fit(model, *args, **kwargs):
    counter = Counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(*args, callbacks=[counter], verbose=0, **kwargs)
    return counter, history, [str(w.message) for w in caught]


# ----------------------------------------------------------------------------- fit's caps
def test_max_epochs_and_steps_cap_fit_as_keras():
    x, y = np.ones((80, 4)), np.ones((80, 1))  # 10 batches of 8
    model = _model()
    counter, _, _ = _fit(model, x, y, batch_size=8, epochs=4)
    assert (counter.epochs, counter.steps) == (4, 40)
    assert nerve.config.max_epochs() is None and nerve.config.max_steps_per_epoch() is None
    nerve.config.set_max_epochs(2)
    nerve.config.set_max_steps_per_epoch(3)
    assert (nerve.config.max_epochs(), nerve.config.max_steps_per_epoch()) == (2, 3)
    counter, history, messages = _fit(model, x, y, batch_size=8, epochs=4)
    assert (counter.epochs, counter.steps) == (2, 6) and len(history.history["loss"]) == 2  # Keras' own test
    assert "fit: limiting epochs to 2 (set by nerve.config.set_max_epochs)" in messages
    assert "fit: limiting steps per epoch to 3 (set by nerve.config.set_max_steps_per_epoch)" in messages


def test_caps_never_raise_epochs_or_steps():
    x, y = np.ones((16, 4)), np.ones((16, 1))  # 2 batches of 8
    nerve.config.set_max_epochs(5)
    nerve.config.set_max_steps_per_epoch(4)
    counter, _, messages = _fit(_model(), x, y, batch_size=8, epochs=2)
    assert (counter.epochs, counter.steps) == (2, 4) and messages == []  # no wrap-around past the data
    counter, _, _ = _fit(_model(), x, y, batch_size=8, epochs=1, steps_per_epoch=6)
    assert counter.steps == 4  # an explicit steps_per_epoch above the cap is capped


def test_max_steps_caps_generators_and_validation():
    def batches():
        while True:
            yield np.ones((2, 4)), np.ones((2, 1))
    nerve.config.set_max_steps_per_epoch(3)
    counter, _, messages = _fit(_model(), batches(), epochs=2)  # an endless generator: the cap ends each epoch
    assert (counter.epochs, counter.steps) == (2, 6)
    x, y = np.ones((40, 4)), np.ones((40, 1))
    counter, history, messages = _fit(_model(), x, y, batch_size=4, epochs=1, validation_data=(x, y))
    assert counter.steps == 3 and counter.test_steps == 3 and "val_loss" in history.history
    assert any("limiting validation steps to 3" in m for m in messages)


def test_cap_setters_validate():
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match=r"set_max_epochs: argument 'max_epochs' expected a positive integer "
                                             r"or None, got"):
            nerve.config.set_max_epochs(bad)
    with pytest.raises(ValueError, match="set_max_steps_per_epoch: argument 'max_steps_per_epoch'"):
        nerve.config.set_max_steps_per_epoch(0)
    nerve.config.set_max_epochs(np.int64(3))
    assert nerve.config.max_epochs() == 3 and type(nerve.config.max_epochs()) is int


def test_caps_from_the_environment():
    code = "import nerve; print(nerve.config.max_epochs(), nerve.config.max_steps_per_epoch())"
    env = dict(os.environ, NERVE_MAX_EPOCHS="2", KERAS_MAX_STEPS_PER_EPOCH="7")
    env.pop("KERAS_MAX_EPOCHS", None)
    env.pop("NERVE_MAX_STEPS_PER_EPOCH", None)
    root = os.path.dirname(os.path.dirname(os.path.abspath(nerve.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert out.stdout.split() == ["2", "7"], out.stderr
    env["NERVE_MAX_EPOCHS"] = "many"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
    assert out.returncode != 0 and "NERVE_MAX_EPOCHS / KERAS_MAX_EPOCHS expected a positive integer" in out.stderr


# ----------------------------------------------------------------------------- dtype policies
def test_dtype_policy_objects():
    p = nerve.DTypePolicy("float64")
    assert (p.name, p.compute_dtype, p.variable_dtype, p.quantization_mode) == ("float64", "float64", "float64", None)
    assert repr(p) == '<DTypePolicy "float64">' and p == nerve.FloatDTypePolicy("float64") != nerve.DTypePolicy()
    assert nerve.DTypePolicy().name == "float32" and nerve.dtype_policies.DTypePolicy is nerve.DTypePolicy
    config = nerve.dtype_policies.serialize(p)
    assert config == {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float64"},
                      "registered_name": None}  # what Keras 3.15 writes
    assert nerve.dtype_policies.deserialize(config) == p
    get = nerve.dtype_policies.get
    assert get(None) == nerve.DTypePolicy("float32") and get("float16").name == "float16" and get(p) is p
    assert get(config) == p and get(np.float64) == p
    assert layers.Dense(2, dtype=p).dtype == "float64"  # a policy as a layer's dtype


def test_dtype_policy_errors():
    with pytest.raises(NotImplementedError, match="'mixed_bfloat16' is not supported: NumPy and CuPy have no bfloat16"):
        nerve.dtype_policies.get("mixed_bfloat16")
    with pytest.raises(NotImplementedError, match="'bfloat16' is not supported"):
        nerve.DTypePolicy("bfloat16")
    with pytest.raises(ValueError, match="argument 'name' expected a dtype name such as 'float32' or 'mixed_float16', "
                                         "got 'mixed_float8'"):
        nerve.DTypePolicy("mixed_float8")
    assert nerve.DTypePolicy("int32").compute_dtype == "int32"  # as Keras: any dtype name (preprocessing layers)
    with pytest.raises(TypeError, match="argument 'name' expected a string"):
        nerve.DTypePolicy(32)
    with pytest.raises(ValueError, match="deserialize: unknown class 'Int4DTypePolicy'"):
        nerve.dtype_policies.deserialize({"class_name": "Int4DTypePolicy", "config": {}})
    with pytest.raises(ValueError, match="could not interpret"):
        nerve.dtype_policies.get(3.5)


def test_global_policy_is_floatx_and_shared_with_mixed_precision():
    mp = nerve.mixed_precision
    assert nerve.config.dtype_policy() == mp.global_policy() == mp.dtype_policy() == nerve.DTypePolicy("float32")
    nerve.config.set_dtype_policy("float64")
    assert nerve.config.floatx() == "float64" and mp.global_policy().name == "float64"
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert dense.kernel.numpy().dtype == np.float64
    mp.set_global_policy(nerve.DTypePolicy("float32"))
    assert nerve.config.dtype_policy().name == "float32" == backend.floatx()
    mp.set_dtype_policy(mp.Policy("float16"))
    assert nerve.config.floatx() == "float16"
    mp.set_global_policy("float32")
    for setter in (nerve.config.set_dtype_policy, mp.set_global_policy):
        try:
            setter("mixed_float16")  # mixed: floatx stays, layers made afterwards compute in float16
            assert mp.global_policy().name == "mixed_float16" and nerve.config.floatx() == "float32"
            assert layers.Dense(2).compute_dtype == "float16"
        finally:
            setter("float32")
        assert mp.global_policy().name == "float32" and layers.Dense(2).compute_dtype == "float32"
    with pytest.raises(ValueError, match="set_dtype_policy: the global policy must be a float one"):
        nerve.config.set_dtype_policy("int32")
    with pytest.raises(ValueError, match="set_dtype_policy: argument 'policy' expected a DTypePolicy"):
        nerve.config.set_dtype_policy(None)
    assert mp.DTypePolicy is mp.Policy is nerve.DTypePolicy


# ----------------------------------------------------------------------------- flags and set_backend
def test_flags_keep_their_state():
    c = nerve.config
    assert c.is_traceback_filtering_enabled() is True
    c.disable_traceback_filtering()
    assert c.is_traceback_filtering_enabled() is False
    c.enable_traceback_filtering()
    assert c.is_traceback_filtering_enabled() is True
    assert c.is_flash_attention_enabled() is None  # Keras: None means "where possible"
    c.disable_flash_attention()
    assert c.is_flash_attention_enabled() is False
    c.enable_flash_attention()
    assert c.is_flash_attention_enabled() is None
    assert c.is_nnx_enabled() is False  # no JAX backend, so no Flax NNX
    c.disable_interactive_logging()
    assert c.is_interactive_logging_enabled() is False and nerve.utils.is_interactive_logging_enabled() is False
    c.enable_interactive_logging()
    assert nerve.utils.is_interactive_logging_enabled() is True


def test_set_backend():
    assert nerve.config.backend() == "numpy"
    nerve.config.set_backend("numpy")
    with pytest.raises(ValueError, match="set_backend: argument 'backend' expected 'numpy' .* got 'jax'"):
        nerve.config.set_backend("jax")


# ----------------------------------------------------------------------------- top-level names
def test_top_level_base_classes():
    assert nerve.Loss is nerve.losses.Loss and nerve.Metric is nerve.metrics.Metric
    assert nerve.Optimizer is nerve.optimizers.Optimizer and nerve.Initializer is nerve.initializers.Initializer
    assert nerve.Regularizer is nerve.regularizers.Regularizer
    assert isinstance(nerve.losses.MeanSquaredError(), nerve.Loss)
    assert isinstance(nerve.optimizers.Adam(), nerve.Optimizer)
    for name in ("Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "DTypePolicy", "FloatDTypePolicy",
                 "name_scope", "Operation", "dtype_policies", "mixed_precision"):
        assert name in dir(nerve)
