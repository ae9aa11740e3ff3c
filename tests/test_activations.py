"""Activations: values and gradients against torch, float64 gradchecks, Keras relu arguments, get/serialize."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nerve
from nerve import activations as A
from nerve.saving import registry

RS = np.random.default_rng(1)
X = RS.normal(0, 2, (5, 7))
X[np.abs(X) < 1e-3] = 0.5  # keep away from kinks

TORCH = {
    "linear": (A.linear, lambda x: x),
    "relu": (A.relu, torch.relu),
    "leaky_relu": (A.leaky_relu, lambda x: TF.leaky_relu(x, 0.2)),
    "relu6": (A.relu6, TF.relu6),
    "elu": (A.elu, TF.elu),
    "elu_alpha": (lambda x: A.elu(x, alpha=0.5), lambda x: TF.elu(x, alpha=0.5)),
    "selu": (A.selu, TF.selu),
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "hard_sigmoid": (A.hard_sigmoid, TF.hardsigmoid),
    "hard_silu": (A.hard_silu, TF.hardswish),
    "log_sigmoid": (A.log_sigmoid, TF.logsigmoid),
    "tanh": (A.tanh, torch.tanh),
    "softplus": (A.softplus, TF.softplus),
    "softsign": (A.softsign, TF.softsign),
    "silu": (A.silu, TF.silu),
    "swish": (A.swish, TF.silu),
    "gelu": (A.gelu, TF.gelu),
    "gelu_tanh": (lambda x: A.gelu(x, approximate=True), lambda x: TF.gelu(x, approximate="tanh")),
    "mish": (A.mish, TF.mish),
    "exponential": (A.exponential, torch.exp),
    "softmax": (A.softmax, lambda x: torch.softmax(x, -1)),
    "softmax_axis0": (lambda x: A.softmax(x, axis=0), lambda x: torch.softmax(x, 0)),
    "log_softmax": (A.log_softmax, lambda x: torch.log_softmax(x, -1)),
}


@pytest.mark.parametrize("key", list(TORCH))
def test_value_and_gradient_match_torch(key):
    f, tf = TORCH[key]
    x = nerve.tensor(X, requires_grad=True)
    y = f(x)
    tx = torch.tensor(X, requires_grad=True)
    ty = tf(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-9)
    cot = RS.normal(size=X.shape)
    (y * cot).sum().backward()
    (ty * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("key", [k for k in TORCH if k != "linear"])
def test_gradcheck_float64(key):
    nerve.gradcheck(TORCH[key][0], [X])


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    return np.minimum(y, max_value) if max_value is not None else y


@pytest.mark.parametrize("kw", [{"negative_slope": 0.1}, {"max_value": 1.5}, {"threshold": 0.5},
                                {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.3},
                                {"negative_slope": 0.2, "threshold": -0.4}, {"max_value": 6.0}])
def test_relu_keras_arguments(kw):
    np.testing.assert_allclose(A.relu(nerve.tensor(X), **kw).numpy(), keras_relu(X, **kw), rtol=1e-12)
    nerve.gradcheck(lambda x: A.relu(x, **kw), [X])


def test_default_dtype_and_arrays():
    x = X.astype(np.float32)
    for name in ("relu", "sigmoid", "softmax", "gelu", "elu"):
        assert A.get(name)(nerve.tensor(x)).dtype == np.float32
    assert A.relu(X).shape == X.shape  # plain arrays are accepted


def test_stability_at_extremes():
    x = np.array([[-1e4, 0.0, 1e4]], dtype=np.float32)
    for name in ("sigmoid", "softplus", "softmax", "log_softmax", "tanh", "silu", "elu", "selu", "log_sigmoid",
                 "softsign", "gelu", "mish"):
        t = nerve.tensor(x, requires_grad=True)
        y = A.get(name)(t)
        y.sum().backward()
        assert np.isfinite(y.numpy()).all() and np.isfinite(t.grad.numpy()).all(), name


def test_get_serialize_deserialize():
    names = ["linear", "relu", "sigmoid", "tanh", "softmax", "softplus", "softsign", "elu", "selu", "leaky_relu",
             "hard_sigmoid", "exponential", "silu", "gelu", "log_softmax", "relu6", "mish", "swish"]
    for n in names:
        f = A.get(n)
        assert callable(f)
        assert A.deserialize(A.serialize(f)) is f
        cfg = json.loads(json.dumps(registry.serialize(f)))
        assert registry.deserialize(cfg, kind="activations") is f
    assert A.get(None) is A.linear
    assert A.serialize(A.swish) == "silu" and A.get("swish") is A.silu
    custom = lambda x: x * 2  # noqa: E731
    assert A.get(custom) is custom
    with pytest.raises(ValueError, match="did you mean 'relu'"):
        A.get("rellu")
    with pytest.raises(ValueError, match="could not interpret"):
        A.get(3)
