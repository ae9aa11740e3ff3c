"""The Keras 3 activations added to nerve.activations (celu ... threshold): values against torch or NumPy,
resolution by name, serialisation round trips, and use in layers (Dense(4, activation="sparsemax"))."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nerve
from nerve import activations as A
from nerve import layers as L
from nerve.saving import registry

RS = np.random.default_rng(3)
X = RS.normal(0, 2, (6, 4))
for k in (-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0):  # keep away from kinks
    X[np.abs(X - k) < 1e-2] = k + 0.05

NEW = ["celu", "glu", "hard_shrink", "hard_swish", "hard_tanh", "soft_shrink", "sparse_plus", "sparse_sigmoid",
       "sparsemax", "squareplus", "tanh_shrink", "threshold"]

REF = {  # name: (call through nerve.activations, reference on a torch tensor)
    "celu": (lambda x: A.celu(x, alpha=0.5), lambda t: TF.celu(t, alpha=0.5)),
    "glu": (A.glu, TF.glu),
    "glu_axis0": (lambda x: A.glu(x, axis=0), lambda t: TF.glu(t, dim=0)),
    "hard_shrink": (A.hard_shrink, TF.hardshrink),
    "hard_swish": (A.hard_swish, TF.hardswish),
    "hard_tanh": (A.hard_tanh, TF.hardtanh),
    "soft_shrink": (lambda x: A.soft_shrink(x, threshold=1.0), lambda t: TF.softshrink(t, 1.0)),
    "sparse_plus": (A.sparse_plus, lambda t: torch.where(t <= -1, 0 * t, torch.where(t < 1, (t + 1) ** 2 / 4, t))),
    "sparse_sigmoid": (A.sparse_sigmoid, lambda t: torch.clamp((t + 1) / 2, 0, 1)),
    "squareplus": (lambda x: A.squareplus(x, b=2), lambda t: (t + torch.sqrt(t * t + 2)) / 2),
    "tanh_shrink": (A.tanh_shrink, TF.tanhshrink),
    "threshold": (lambda x: A.threshold(x, 0.5, -1.0), lambda t: TF.threshold(t, 0.5, -1.0)),
}


@pytest.mark.parametrize("key", list(REF))
def test_values_and_gradients_match_torch(key):
    f, ref = REF[key]
    x = nerve.tensor(X, requires_grad=True)
    y = f(x)
    tx = torch.tensor(X, requires_grad=True)
    ty = ref(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    cot = RS.normal(size=y.shape)
    (y * cot).sum().backward()
    (ty * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_sparsemax_rows_are_sparse_probabilities():
    p = A.sparsemax(nerve.tensor(X * 3)).numpy()
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-12)
    assert (p >= 0).all() and (p == 0).any()
    np.testing.assert_allclose(A.sparsemax(nerve.tensor(X), axis=0).numpy().sum(0), 1, rtol=1e-12)


@pytest.mark.parametrize("name", [n for n in NEW if n != "threshold"])
def test_gradcheck_float64(name):
    nerve.gradcheck(A.get(name), [X])


def test_get_serialize_deserialize():
    for n in NEW:
        f = A.get(n)
        assert callable(f) and f is getattr(A, n)
        assert A.deserialize(A.serialize(f)) is f
        cfg = json.loads(json.dumps(registry.serialize(f)))
        assert registry.deserialize(cfg, kind="activations") is f
    assert A.get("hard_swish") is A.hard_silu and A.serialize(A.hard_swish) == "hard_silu"  # an alias, as in Keras
    assert {A.serialize(A.get(n)) for n in NEW} == set(NEW) - {"hard_swish"} | {"hard_silu"}
    with pytest.raises(ValueError, match="did you mean 'sparsemax'"):
        A.get("sparsemx")
    assert A.threshold(nerve.tensor(np.array([1.0, 3.0])), 2, 0).numpy().tolist() == [0, 3]  # Keras' signature


def test_dense_with_sparsemax_trains_and_round_trips():
    nerve.set_random_seed(1)
    m = nerve.Sequential([L.Input((3,)), L.Dense(4, activation="sparsemax")])
    x = RS.normal(size=(16, 3)).astype(np.float32)
    p = m.predict(x, verbose=0)
    assert p.shape == (16, 4) and (p >= 0).all()
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-5)
    y = RS.dirichlet(np.ones(4), 16).astype(np.float32)
    m.compile(optimizer="sgd", loss="mse")
    h = m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
    layer = m.layers[-1]
    cfg = json.loads(json.dumps(layer.get_config()))
    assert cfg["activation"] == "sparsemax"
    assert L.Dense.from_config(cfg).activation is A.sparsemax


@pytest.mark.parametrize("name", ["celu", "hard_swish", "squareplus", "tanh_shrink", "soft_shrink"])
def test_activation_layer_by_name(name):
    layer = L.Activation(name)
    x = nerve.tensor(X.astype(np.float32))
    np.testing.assert_allclose(layer(x).numpy(), A.get(name)(x).numpy(), rtol=1e-6)
    cfg = json.loads(json.dumps(layer.get_config()))
    assert L.Activation.from_config(cfg).activation is A.get(name)


def test_float32_kept():
    x = nerve.tensor(X.astype(np.float32))
    for n in NEW:
        f = A.get(n)
        y = f(x, 0.5, 0.0) if n == "threshold" else f(x)
        assert y.dtype == np.float32, n


def test_an_activation_layer_with_glu_halves_the_split_axis_in_a_functional_model():
    import functools
    i = nerve.layers.Input((8,))
    h = nerve.layers.Activation("glu")(i)
    assert tuple(h.shape) == (None, 4)
    m = nerve.Model(i, nerve.layers.Dense(2)(h))
    assert m.predict(np.ones((3, 8), "float32"), verbose=0).shape == (3, 2)
    j = nerve.layers.Input((6, 5))
    assert tuple(nerve.layers.Activation(functools.partial(nerve.activations.glu, axis=1))(j).shape) == (None, 3, 5)


def test_sigmoid_and_silu_of_a_0d_input():
    """float(keras.ops.sigmoid(predictions[0][0])) as in keras.io's image classification example."""
    for x in (np.float32(0.3), np.array(0.3), 0.3):
        assert abs(float(nerve.ops.sigmoid(x)) - 1 / (1 + np.exp(-0.3))) < 1e-6
        assert abs(float(nerve.ops.silu(x)) - 0.3 / (1 + np.exp(-0.3))) < 1e-6
