"""nerve.config as keras.config: a Keras script's config calls run with `keras` replaced by `nerve`."""
import numpy as np
import pytest

import nerve
from nerve import backend, layers


@pytest.fixture(autouse=True)
def defaults_after():
    yield
    backend.set_floatx("float32")
    backend.set_epsilon(1e-7)


def test_floatx_round_trip_changes_new_weights_and_tensors():
    assert nerve.config.floatx() == "float32" == backend.floatx()
    nerve.config.set_floatx("float64")
    assert nerve.config.floatx() == "float64"
    assert nerve.tensor([1.0]).dtype == np.float64
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert dense.kernel.numpy().dtype == np.float64
    with pytest.raises(ValueError, match=r"set_floatx: argument 'value' expected one of .* got 'int8'"):
        nerve.config.set_floatx("int8")


def test_epsilon_and_image_data_format():
    assert nerve.config.epsilon() == 1e-7
    nerve.config.set_epsilon(1e-5)
    assert backend.epsilon() == 1e-5
    assert nerve.config.image_data_format() == "channels_last"
    nerve.config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match=r"set_image_data_format: argument 'data_format' expected "
                                         r"'channels_last' .* got 'channels_first'"):
        nerve.config.set_image_data_format("channels_first")


def test_backend_name_and_unsafe_deserialization():
    assert nerve.config.backend() == "numpy"
    assert nerve.config.enable_unsafe_deserialization() is None
    assert "floatx='float32'" in repr(nerve.config)


def test_version():
    assert nerve.version() == nerve.__version__


def test_keras_tensor_is_the_symbolic_input_type():
    assert isinstance(nerve.Input((3,)), nerve.KerasTensor)
