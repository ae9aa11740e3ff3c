"""Issue 9 item 5: softmax / log-sum-exp / cross-entropy stay finite and exact for logits of +-1e4 and for
probabilities of exactly 0 and 1, through the public ops, layers, losses and through model.fit on a
batch; BatchNormalization with a batch of 1 behaves as Keras 3; float16 / integer / bool inputs are cast.

Per-loss golden values and gradchecks: tests/test_losses.py (test_extreme_logits_are_finite_and_exact,
test_exact_zero_one_probabilities_are_finite); activations: tests/test_activations.py
(test_stability_at_extremes)."""
import numpy as np
import pytest

import nerve
from nerve import layers, losses, ops
from nerve.layers import BatchNormalization, Dense, Input
from nerve.models import Sequential

EPS = 1e-7  # Keras' backend.epsilon(): probabilities are clipped to [eps, 1 - eps]
BIG = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, 0.0]], "float32")


def leaf(a):
    return nerve.tensor(a, requires_grad=True)


def test_softmax_log_softmax_logsumexp_at_1e4():
    for fn, expected in ((lambda t: ops.softmax(t), [[1, 0, 0], [0, 1, 0], [1 / 3] * 3]),
                         (lambda t: ops.log_softmax(t), [[0, -2e4, -1e4], [-2e4, 0, -1e4 + 5], [-np.log(3)] * 3]),
                         (lambda t: ops.logsumexp(t, axis=-1), [1e4, 1e4, np.log(3)]),
                         (lambda t: layers.Softmax()(t), [[1, 0, 0], [0, 1, 0], [1 / 3] * 3])):
        x = leaf(BIG)
        out = fn(x)
        np.testing.assert_allclose(out.numpy(), np.array(expected, "float32"), rtol=1e-6, atol=1e-6)
        out.backward(nerve.tensor(np.random.default_rng(0).normal(size=out.shape).astype("float32")))
        assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("name", ["categorical", "sparse", "binary"])
def test_cross_entropy_from_logits_at_1e4(name):
    x = leaf(BIG)
    if name == "categorical":
        value = losses.categorical_crossentropy(np.eye(3, dtype="float32")[[1, 0, 2]], x, from_logits=True)
        expected = [2e4, 2e4, np.log(3)]
    elif name == "sparse":
        value = losses.sparse_categorical_crossentropy(np.array([1, 0, 2]), x, from_logits=True)
        expected = [2e4, 2e4, np.log(3)]
    else:
        t = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0]], "float32")
        value = losses.binary_crossentropy(t, x, from_logits=True)
        # softplus(z) - t z, exact for large |z|: row means of [0, 0, ln 2], [1e4, 1e4, 5 + softplus(-5)], ...
        expected = [np.log(2) / 3, (2e4 + 5 + np.log1p(np.exp(-5))) / 3, np.log(2)]
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-6)
    value.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and np.abs(x.grad.numpy()).max() <= 1.0 + 1e-6


def test_cross_entropy_of_probabilities_exactly_0_and_1():
    p = leaf(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "float32"))
    cce = losses.categorical_crossentropy(np.array([[0, 1, 0], [0, 1, 0]], "float32"), p)
    np.testing.assert_allclose(cce.numpy(), [-np.log(EPS), 0.0], rtol=1e-5, atol=1e-6)
    cce.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()
    q = leaf(np.array([[1.0, 0.0]], "float32"))
    bce = losses.binary_crossentropy(np.array([[0.0, 1.0]], "float32"), q)
    clipped = np.float32(1 - EPS)  # Keras 3: clip to [eps, 1 - eps], then -log
    np.testing.assert_allclose(bce.numpy(), [(-np.log(1 - clipped) - np.log(np.float32(EPS))) / 2], rtol=1e-5)
    bce.backward()
    assert np.isfinite(q.grad.numpy()).all()
    for fn in (losses.CategoricalCrossentropy(), losses.SparseCategoricalCrossentropy(), losses.BinaryCrossentropy()):
        y = np.array([1, 2]) if isinstance(fn, losses.SparseCategoricalCrossentropy) else \
            np.array([[0, 1, 0], [0, 0, 1]], "float32")
        assert np.isfinite(fn(y, np.array([[0, 0, 1], [1, 0, 0]], "float32")).numpy())


@pytest.mark.parametrize("from_logits", [True, False])
def test_fit_on_a_batch_with_saturated_outputs_stays_finite(from_logits):
    """Logits of +-1e4 (softmax outputs of exactly 0 and 1, wrong class): one fit epoch and a
    train_on_batch give finite losses, gradients and weights."""
    m = Sequential([Input(shape=(2,)), Dense(3, activation=None if from_logits else "softmax")])
    m.compile("sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=from_logits))
    m.layers[0].kernel.assign(np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0]], "float32"))
    x = np.array([[1.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 1.0]], "float32")
    y = np.array([1, 1, 0, 2])
    h = m.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(h.history["loss"]).all() and h.history["loss"][0] > 1.0
    assert np.isfinite(m.train_on_batch(x, y))
    for w in m.get_weights():
        assert np.isfinite(w).all()


def test_batch_normalization_with_batch_size_1_is_keras():
    """Keras 3 (training): mean/variance of the batch, var 0 for one sample, so the output is beta; the
    moving statistics update with momentum 0.99: mm = 0.99 mm + 0.01 x, mv = 0.99 mv + 0.01 * 0."""
    bn = BatchNormalization()
    x = np.array([[1.5, -2.0, 3.0]], "float32")
    bn.build(x.shape)
    bn.beta.assign(np.array([0.1, 0.2, 0.3], "float32"))
    out = bn(x, training=True).numpy()
    np.testing.assert_array_equal(out, np.array([[0.1, 0.2, 0.3]], "float32"))  # exactly beta
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * x[0], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [0.99] * 3, rtol=1e-6)
    infer = bn(x, training=False).numpy()  # inference: the moving statistics, epsilon 1e-3
    expected = (x - 0.01 * x) / np.sqrt(0.99 + 1e-3) + np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(infer, expected, rtol=1e-5)
    m = Sequential([Input(shape=(3,)), Dense(4), BatchNormalization(), Dense(1)])
    m.compile("sgd", loss="mse")
    h = m.fit(np.random.default_rng(0).normal(size=(5, 3)).astype("float32"), np.ones((5, 1), "float32"),
              batch_size=1, epochs=2, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
    for w in m.get_weights():
        assert np.isfinite(w).all()


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "int64", "uint8", "bool"])
def test_float16_integer_and_bool_inputs_are_cast_to_float32(dtype):
    x = (np.random.default_rng(0).random((8, 3)) * 4).astype(dtype)
    m = Sequential([Input(shape=(3,)), Dense(2)])
    m.compile("sgd", loss="mse")
    out = m.predict(x, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, m.predict(x.astype("float32"), verbose=0), rtol=1e-6)
    h = m.fit(x, np.ones((8, 2), dtype), epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
    assert all(w.dtype == np.float32 for w in m.get_weights())
