"""Attention (Luong) and AdditiveAttention (Bahdanau) against NumPy formulas, with masks, the causal mask,
dropout, the Keras layer checks and a functional model that learns."""
import numpy as np
import pytest

import nerve
from nerve import layers
from tests.layers.harness import layer_test

R = np.random.default_rng(5)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_dot_attention_matches_the_formula():
    q, v, k = R.standard_normal((2, 3, 4)), R.standard_normal((2, 5, 6)), R.standard_normal((2, 5, 4))
    out, w = layers.Attention()([q, v, k], return_attention_scores=True)
    ref_w = softmax(q @ k.transpose(0, 2, 1))
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-5)
    np.testing.assert_allclose(out.numpy(), ref_w @ v, rtol=1e-5)


def test_concat_and_additive_scores():
    q, v = R.standard_normal((2, 3, 4)), R.standard_normal((2, 5, 4))
    _, w = layers.Attention(score_mode="concat")([q, v], return_attention_scores=True)
    t = np.tanh(q[:, :, None, :] + v[:, None, :, :]).sum(-1)
    np.testing.assert_allclose(w.numpy(), softmax(t), rtol=1e-5)
    add = layers.AdditiveAttention()
    _, w2 = add([q, v], return_attention_scores=True)
    scale = add.scale.numpy()
    np.testing.assert_allclose(w2.numpy(), softmax((np.tanh(q[:, :, None, :] + v[:, None, :, :]) * scale).sum(-1)),
                               rtol=1e-5)


def test_masks_and_causal():
    q, v = R.standard_normal((2, 4, 3)), R.standard_normal((2, 4, 3))
    v_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    q_mask = np.array([[1, 0, 1, 1], [1, 1, 1, 1]], bool)
    out, w = layers.Attention()([q, v], mask=[q_mask, v_mask], return_attention_scores=True,
                                use_causal_mask=True)
    w = w.numpy()
    assert np.allclose(w[0][:, 2:], 0) and np.allclose(np.triu(w[1], 1), 0)  # masked keys and the future
    np.testing.assert_allclose(w.sum(-1), 1, rtol=1e-6)
    assert np.allclose(out.numpy()[0, 1], 0)  # a masked query step gives zeros


def test_dropout_only_in_training():
    q = R.standard_normal((1, 3, 2))
    att = layers.Attention(dropout=0.5, seed=1)
    _, w_eval = att([q, q], return_attention_scores=True)
    _, w_train = att([q, q], return_attention_scores=True, training=True)
    np.testing.assert_allclose(w_eval.numpy().sum(-1), 1, rtol=1e-6)
    assert (w_train.numpy() == 0).any()


@pytest.mark.parametrize("cls, kw, n_weights", [(layers.Attention, {"use_scale": True}, 1),
                                                (layers.Attention, {"score_mode": "concat", "use_scale": True}, 2),
                                                (layers.AdditiveAttention, {}, 1)])
def test_keras_layer_checks(cls, kw, n_weights, tmp_path):
    layer_test(cls, kw, input_shape=[(2, 3, 4), (2, 5, 4)], expected_output_shape=(2, 3, 4),
               expected_num_trainable_weights=n_weights, parts=("core", "save"), tmp_path=tmp_path)


def test_functional_model_learns_to_attend():
    """y = the value at the step whose key matches the query: attention must learn to look it up."""
    n, t, d = 256, 6, 8
    keys = R.standard_normal((n, t, d)).astype(np.float32)
    pick = R.integers(0, t, n)
    query = 0.1 * keys[np.arange(n), pick][:, None, :]  # flat scores at first: the scale must grow
    vals = R.standard_normal((n, t, 1)).astype(np.float32)
    y = vals[np.arange(n), pick]
    qi, vi, ki = nerve.Input((1, d)), nerve.Input((t, 1)), nerve.Input((t, d))
    att = layers.Attention(use_scale=True)([qi, vi, ki])
    model = nerve.Model([qi, vi, ki], layers.Flatten()(att))
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="mse")
    before = model.evaluate([query, vals, keys], y, verbose=0)
    model.fit([query, vals, keys], y, epochs=40, batch_size=32, verbose=0)
    assert model.evaluate([query, vals, keys], y, verbose=0) < 0.2 * before  # only the scale learns


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"Attention 'a': expected inputs \[query, value\]"):
        layers.Attention(name="a")(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"argument 'score_mode' expected 'dot' or 'concat'"):
        layers.Attention(score_mode="general")
