"""Flatten / Reshape / Permute / RepeatVector against NumPy, symbolic shapes and errors."""
import numpy as np
import pytest

from nerve import layers as L


def _x(*shape):
    return np.arange(np.prod(shape), dtype="float32").reshape(shape)


def test_flatten_orders():
    x = _x(2, 3, 4, 5)
    np.testing.assert_array_equal(L.Flatten()(x).numpy(), x.reshape(2, -1))
    cf = L.Flatten(data_format="channels_first")(x).numpy()
    np.testing.assert_array_equal(cf, x.transpose(0, 2, 3, 1).reshape(2, -1))
    assert L.Flatten()(_x(2, 3)).shape == (2, 3)
    assert L.Flatten().compute_output_shape((None, 3, None)) == (None, None)
    assert L.Flatten().get_config()["data_format"] == "channels_last"
    assert L.Flatten()(L.Input((3, 4))).shape == (None, 12)
    with pytest.raises(ValueError, match="data_format"):
        L.Flatten(data_format="nchw")


def test_reshape_with_minus_one_and_errors():
    x = _x(2, 3, 4)
    np.testing.assert_array_equal(L.Reshape((4, 3))(x).numpy(), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(L.Reshape((-1, 2))(x).numpy(), x.reshape(2, 6, 2))
    assert L.Reshape((-1, 2))(L.Input((3, 4))).shape == (None, 6, 2)
    assert L.Reshape((-1,)).compute_output_shape((None, 3, None)) == (None, None)
    with pytest.raises(ValueError, match=r"Reshape 'rs'.*\(2, 3, 4\).*12 values per sample.*\(5, 2\)"):
        L.Reshape((5, 2), name="rs")(x)
    with pytest.raises(ValueError, match="at most one -1"):
        L.Reshape((-1, -1))
    with pytest.raises(ValueError, match="Reshape .*5"):
        L.Reshape((-1, 5))(x)


def test_permute_one_based():
    x = _x(2, 3, 4, 5)
    np.testing.assert_array_equal(L.Permute((3, 1, 2))(x).numpy(), x.transpose(0, 3, 1, 2))
    assert L.Permute((2, 1))(L.Input((10, 64))).shape == (None, 64, 10)
    with pytest.raises(ValueError, match="Permute .*permutation of 1..2"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match=r"Permute 'pm': expected input of rank 3, got input of shape \(2, 3\)"):
        L.Permute((2, 1), name="pm")(_x(2, 3))


def test_repeat_vector():
    x = _x(2, 3)
    y = L.RepeatVector(4)(x).numpy()
    assert y.shape == (2, 4, 3) and np.all(y == x[:, None, :])
    assert L.RepeatVector(4)(L.Input((3,))).shape == (None, 4, 3)
    with pytest.raises(TypeError, match="RepeatVector .*'n'"):
        L.RepeatVector(2.5)
    with pytest.raises(ValueError, match="RepeatVector .*rank 2"):
        L.RepeatVector(2)(_x(2, 3, 4))
