"""Masking / Identity, mask propagation, and a check that the harness catches a wrong gradient."""
import numpy as np
import pytest

from nerve import layers as L, ops
from nerve.autograd.gradcheck import GradcheckError
from nerve.saving.registry import register_keras_serializable

from harness import layer_test


def test_masking_sets_mask_and_zeroes_steps():
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    x[0, 2] = 0.0
    x[1, 0] = 0.0
    y = L.Masking()(x)
    mask = np.asarray(y._keras_mask)
    np.testing.assert_array_equal(mask, [[True, True, False, True], [False, True, True, True]])
    np.testing.assert_array_equal(y.numpy(), x)  # masked steps were zero already
    x2 = x.copy()
    x2[0, 1] = -1.0
    y2 = L.Masking(mask_value=-1.0)(x2)
    assert not np.asarray(y2._keras_mask)[0, 1] and np.all(y2.numpy()[0, 1] == 0)
    # the mask flows through mask-supporting layers
    z = L.Dropout(0.5)(L.Identity()(y))
    np.testing.assert_array_equal(np.asarray(z._keras_mask), mask)
    np.testing.assert_array_equal(np.asarray(L.Masking().compute_mask(x)), mask)


def test_identity_returns_input():
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(L.Identity()(x).numpy(), x)
    assert L.Identity()(L.Input((3,))).shape == (None, 3)


@register_keras_serializable("nerve_tests")
class _WrongGradLayer(L.Layer):
    """y = x * |x| but written with a wrong derivative (stop-gradient on one factor)."""

    def call(self, inputs):
        return ops.multiply(inputs, ops.stop_gradient(ops.abs(inputs)))

    def compute_output_shape(self, input_shape):
        return input_shape


def test_harness_catches_a_wrong_gradient():
    with pytest.raises(GradcheckError):
        layer_test(_WrongGradLayer, {}, input_shape=(3, 2), expected_output_shape=(3, 2), parts=("core",))


def test_harness_catches_a_wrong_weight_count():
    with pytest.raises(AssertionError, match="trainable weights"):
        layer_test(L.PReLU, {}, input_shape=(3, 2), expected_output_shape=(3, 2), expected_num_trainable_weights=2,
                   parts=("core",))


def test_supports_masking_flags_as_keras():
    yes = [L.Activation("relu"), L.Dropout(0.1), L.GaussianNoise(0.1), L.GaussianDropout(0.1),
           L.ActivityRegularization(), L.ReLU(), L.LeakyReLU(), L.PReLU(), L.ELU(), L.Softmax(), L.Masking(),
           L.Identity(), L.BatchNormalization(), L.LayerNormalization(), L.Add(), L.Concatenate(), L.Permute((1,))]
    no = [L.Flatten(), L.Reshape((2,)), L.RepeatVector(2)]
    assert all(layer.supports_masking for layer in yes)
    assert not any(layer.supports_masking for layer in no)
    assert L.Dot(axes=1).compute_mask([None, None], [np.ones(2, bool), None]) is None
