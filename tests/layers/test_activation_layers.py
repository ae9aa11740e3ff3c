"""Activation layers against torch / hand formulas, defaults and validation."""
import numpy as np
import pytest
import torch

import nerve
from nerve import layers as L


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_activation_layer_uses_named_function():
    x = _rand(3, 4)
    np.testing.assert_allclose(L.Activation("sigmoid")(x).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-6)
    assert L.Activation("relu").get_config()["activation"] == "relu"
    with pytest.raises(ValueError, match="unknown activation"):
        L.Activation("relux")


def test_relu_variants_formula():
    x = np.linspace(-3, 3, 25, dtype="float32").reshape(5, 5)
    np.testing.assert_allclose(L.ReLU()(x).numpy(), np.maximum(x, 0))
    y = L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.5)(x).numpy()
    ref = np.where(x >= 1.5, 1.5, np.where(x > 0.5, x, 0.1 * (x - 0.5)))
    np.testing.assert_allclose(y, ref, rtol=1e-6, atol=1e-7)
    tr = torch.nn.functional.relu6(torch.tensor(x)).numpy()
    np.testing.assert_allclose(L.ReLU(max_value=6.0)(x * 3).numpy(), np.minimum(np.maximum(x * 3, 0), 6))
    assert tr.shape == x.shape
    for bad in ({"max_value": -1.0}, {"negative_slope": -0.1}, {"threshold": -1.0}):
        with pytest.raises(ValueError, match=f"ReLU .*{list(bad)[0]}"):
            L.ReLU(**bad)


def test_leaky_relu_default_and_torch():
    layer = L.LeakyReLU()
    assert layer.negative_slope == 0.3 and layer.name.startswith("leaky_re_lu")
    x = _rand(4, 5)
    np.testing.assert_allclose(layer(x).numpy(), torch.nn.functional.leaky_relu(torch.tensor(x), 0.3).numpy(),
                               rtol=1e-6)
    assert L.LeakyReLU(alpha=0.1).negative_slope == 0.1  # Keras 2 argument name still accepted
    with pytest.raises(ValueError, match="negative_slope"):
        L.LeakyReLU(negative_slope=-1)


def test_elu_matches_torch():
    x = _rand(4, 5)
    np.testing.assert_allclose(L.ELU(alpha=0.5)(x).numpy(), torch.nn.functional.elu(torch.tensor(x), 0.5).numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,shared", [((4, 5), None), ((2, 3, 3, 4), [1, 2]), ((2, 3, 4), [2])])
def test_prelu_matches_torch(shape, shared):
    x = _rand(*shape)
    layer = L.PReLU(alpha_initializer="random_uniform", shared_axes=shared)
    xn = nerve.tensor(x, requires_grad=True)
    y = layer(xn)
    alpha = layer.alpha.numpy()
    expected_shape = tuple(1 if shared and i + 1 in shared else d for i, d in enumerate(shape[1:]))
    assert alpha.shape == expected_shape
    xt, at = torch.tensor(x, requires_grad=True), torch.tensor(alpha, requires_grad=True)
    yt = torch.where(xt >= 0, xt, at * xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6)
    v = _rand(*shape, seed=1)
    (y * v).sum().backward()
    (yt * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(layer.alpha.grad.numpy(), at.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_prelu_defaults_and_spec():
    layer = L.PReLU(name="pr")
    layer(np.zeros((2, 3), "float32"))
    assert np.all(layer.alpha.numpy() == 0) and layer.weights[0].path == "pr/alpha"
    with pytest.raises(ValueError, match=r"PReLU 'pr': expected last axis 3, got input of shape \(2, 4\)"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[3])(np.zeros((2, 3), "float32"))


def test_softmax_matches_torch_and_axis():
    x = _rand(3, 4, 5)
    np.testing.assert_allclose(L.Softmax()(x).numpy(), torch.softmax(torch.tensor(x), -1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(L.Softmax(axis=1)(x).numpy(), torch.softmax(torch.tensor(x), 1).numpy(), rtol=1e-5)
    y = L.Softmax(axis=[1, 2])(x).numpy()
    np.testing.assert_allclose(y.sum(axis=(1, 2)), np.ones(3), rtol=1e-5)
    ref = torch.softmax(torch.tensor(x).reshape(3, -1), -1).reshape(3, 4, 5).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-7)


def test_softmax_mask_as_keras():
    x = _rand(2, 4)
    mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)
    y = L.Softmax()(x, mask=mask).numpy()
    ref = torch.softmax(torch.tensor(x).masked_fill(~torch.tensor(mask), -1e9), -1).numpy() * mask
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-7)
    assert y[0, 2] == 0 and np.all(y[1] == 0)  # a fully masked row gives zeros
    nerve.gradcheck(lambda t: L.Softmax(dtype="float64")(t, mask=mask), [x.astype("float64")])
