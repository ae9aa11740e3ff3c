"""Embedding: gather forward, scatter-add backward (vs PyTorch), gradcheck, mask_zero, errors, harness."""
import numpy as np
import pytest

import nerve
from nerve import backend, layers
from tests.layers.harness import layer_test


def test_embedding_matches_torch_forward_backward():
    torch = pytest.importorskip("torch")
    ids = np.array([[1, 2, 2, 0], [3, 3, 3, 9]])
    emb = layers.Embedding(10, 4)
    y = emb(ids)
    g = np.random.default_rng(0).normal(size=y.shape).astype("float32")
    (y * g).sum().backward()
    te = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        te.weight.copy_(torch.tensor(emb.embeddings.numpy()))
    ty = te(torch.tensor(ids))
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy())
    np.testing.assert_allclose(emb.embeddings.grad.numpy(), te.weight.grad.numpy(), atol=1e-6)


def test_embedding_gradcheck_float64():
    with backend.precision("float64"):
        emb = layers.Embedding(6, 3, dtype="float64")
        ids = np.array([[0, 5, 5], [2, 1, 5]])
        emb(ids)

        def fn(w):
            saved = emb.embeddings
            object.__setattr__(emb, "embeddings", w)
            try:
                return emb(ids)
            finally:
                object.__setattr__(emb, "embeddings", saved)
        nerve.gradcheck(fn, [emb.embeddings.data.copy()])


def test_embedding_mask_zero_and_float_indices():
    emb = layers.Embedding(30, 10, mask_zero=True)
    x = np.array([[0, 0, 4, 5, 6]], "float32")  # pad_sequences output stored as float32 (seed code)
    y = emb(x)
    assert y.shape == (1, 5, 10)
    np.testing.assert_array_equal(y._keras_mask.numpy(), [[False, False, True, True, True]])
    assert emb.count_params() == 300  # seed: Embedding(30, 10, input_length=5) has 300 parameters
    with pytest.raises(ValueError, match="out of range"):
        emb(np.array([[30]]))
    with pytest.raises(ValueError, match="integer"):
        emb(np.array([[1.5]]))
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(3, 0)


def test_embedding_pretrained_weights_and_symbolic():
    w = np.arange(12, dtype="float32").reshape(4, 3)
    emb = layers.Embedding(4, 3, weights=[w], trainable=False)
    np.testing.assert_array_equal(emb(np.array([3, 1])).numpy(), w[[3, 1]])
    assert emb.trainable_weights == [] and len(emb.non_trainable_weights) == 1
    out = layers.Embedding(4, 3)(layers.Input(shape=(7,)))
    assert tuple(out.shape) == (None, 7, 3)


def test_embedding_harness(tmp_path):
    layer_test(layers.Embedding, dict(input_dim=5, output_dim=3, mask_zero=True),
               input_data=np.array([[0, 1, 2], [4, 3, 0]], "int32"), expected_output_shape=(2, 3, 3),
               expected_num_trainable_weights=1, supports_masking=True, run_gradcheck=False, tmp_path=tmp_path,
               fit_epochs=1)


def test_embedding_lstm_learns_sequence_classification():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 8, size=(256, 6))
    y = (x == 3).any(axis=1).astype("float32")[:, None]  # does token 3 occur?
    nerve.set_random_seed(0)
    model = nerve.Sequential([layers.Input(shape=(6,), dtype="int32"), layers.Embedding(8, 8),
                              layers.LSTM(16), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nerve.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert hist.history["accuracy"][-1] > 0.95


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_backward_compiled_equals_numpy(dtype):
    """The compiled scatter-add (ops/jit.py scatter_add_rows) sums repeated indices in order of occurrence
    (np.add.at's order, bit for bit) and agrees with the NumPy path (sort + reduceat) to rounding; negative
    indices count from the end, as the lookup read them."""
    from nerve.autograd.ops import jit
    from nerve.layers.embedding import EmbeddingGatherFn
    r = np.random.default_rng(4)
    e = r.standard_normal((7, 5)).astype(dtype)
    idx = np.array([[1, 3, 1, -1], [6, 1, 0, 3], [3, 3, -7, 2]])
    g = r.standard_normal((3, 4, 5)).astype(dtype)
    grads = {}
    for on in (True, False):
        old = jit.set_enabled(on)
        try:
            t = nerve.tensor(e, requires_grad=True)
            EmbeddingGatherFn.apply(t, idx).backward(g)
            grads[on] = t.grad.numpy()
        finally:
            jit.set_enabled(old)
    want = np.zeros_like(e)
    np.add.at(want, idx.reshape(-1) % 7, g.reshape(-1, 5))
    np.testing.assert_array_equal(grads[True], want)
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(grads[False], want, rtol=tol, atol=tol)
