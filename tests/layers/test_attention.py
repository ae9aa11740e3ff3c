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


# ---------------------------------------------------------------- MultiHeadAttention
def mha_reference(layer, q, v, k=None, keep=None):
    """Vaswani et al.'s formula in NumPy from the layer's weights."""
    k = v if k is None else k
    wq, bq, wk, bk, wv, bv, wo, bo = [w.astype(np.float64) for w in layer.get_weights()]
    qh = np.einsum("btd,dhk->bthk", q, wq) + bq
    kh = np.einsum("bsd,dhk->bshk", k, wk) + bk
    vh = np.einsum("bsd,dhv->bshv", v, wv) + bv
    s = np.einsum("bthk,bshk->bhts", qh, kh) / np.sqrt(wq.shape[-1])
    if keep is not None:
        s = s - 1e9 * (~keep[:, None])
    a = softmax(s)
    return np.einsum("bhts,bshv,hvo->bto", a, vh, wo) + bo, a


def test_mha_matches_the_formula_and_keras_parameter_count():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    q, v = R.standard_normal((3, 8, 16)), R.standard_normal((3, 4, 16))
    out, scores = layer(q, v, return_attention_scores=True)
    assert layer.count_params() == 284  # Keras: query/key/value 3 x (16*2*2 + 2*2) + output 2*2*16 + 16
    ref, ref_a = mha_reference(layer, q, v)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(scores.numpy(), ref_a, rtol=1e-4, atol=1e-6)
    assert out.shape == (3, 8, 16) and scores.shape == (3, 2, 8, 4)
    proj = layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5, output_shape=7)
    k = R.standard_normal((3, 4, 6))
    out2 = proj(q, v, k)
    assert out2.shape == (3, 8, 7)
    np.testing.assert_allclose(out2.numpy(), mha_reference(proj, q, v, k)[0], rtol=1e-4, atol=1e-6)


def test_mha_masks():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    x = R.standard_normal((2, 5, 4))
    out, a = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    assert np.allclose(np.triu(a.numpy()[0, 0], 1), 0)
    np.testing.assert_allclose(out.numpy(), mha_reference(layer, x, x, keep=np.tri(5, 5, dtype=bool)[None]
                                                          .repeat(2, 0))[0], rtol=1e-4, atol=1e-6)
    am = R.random((2, 5, 5)) > 0.3
    am[:, :, 0] = True
    _, a2 = layer(x, x, attention_mask=am, return_attention_scores=True)
    assert np.allclose(a2.numpy()[~np.broadcast_to(am[:, None], a2.shape)], 0)


def test_mha_gradcheck_and_config():
    layer_test(layers.MultiHeadAttention, {"num_heads": 2, "key_dim": 3}, input_shape=[(2, 4, 5), (2, 3, 5)],
               expected_output_shape=(2, 4, 5), expected_num_trainable_weights=8, parts=("core",))


def test_transformer_block_in_a_functional_model_learns_and_saves(tmp_path):
    """Self-attention with an Embedding mask in a functional model: fits, and save/load keeps predictions."""
    n, t = 200, 6
    tokens = R.integers(1, 10, (n, t))
    tokens[:, 4:] = 0  # padding the mask must hide
    y = (tokens[:, :4] == 7).any(axis=1).astype(np.float32)
    inp = nerve.Input((t,), dtype="int32")
    x = layers.Embedding(10, 8, mask_zero=True)(inp)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(x))
    model = nerve.Model(inp, out)
    model.compile(optimizer=nerve.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(tokens, y, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(tokens, y, verbose=0, return_dict=True)["accuracy"] > 0.9
    model.save(tmp_path / "t.keras")
    again = nerve.models.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(again.predict(tokens[:5], verbose=0), model.predict(tokens[:5], verbose=0), rtol=1e-5)


def test_mha_bad_arguments():
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'm': argument 'key_dim' expected a positive int"):
        layers.MultiHeadAttention(2, 0, name="m")
    with pytest.raises(ValueError, match=r"argument 'attention_axes' expected None"):
        layers.MultiHeadAttention(2, 2, attention_axes=(1, 2))
    with pytest.raises(ValueError, match=r"expected mha\(query, value, key=None\)"):
        layers.MultiHeadAttention(2, 2)(np.ones((1, 2, 3)))


def test_mha_masked_rows_are_zeros_and_scores_are_taken_before_dropout():
    """Keras 3.15: MHA's softmax is the Softmax layer with the mask (masked positions zeroed after it, so an
    entirely masked row is zeros), and the scores it returns are those before dropout."""
    L = layers
    q = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    m = np.ones((2, 3, 3), bool)
    m[0, 1] = False  # query step 1 of sample 0 sees nothing
    m[1, :, 2] = False
    mha = L.MultiHeadAttention(2, 2, dropout=0.5, seed=3)
    out, scores = mha(q, q, attention_mask=m, return_attention_scores=True, training=True)
    s = scores.numpy()
    assert np.all(s[0, :, 1] == 0) and np.all(s[1, :, :, 2] == 0)
    np.testing.assert_allclose(s[0, :, 0].sum(-1), 1.0, rtol=1e-6)  # no dropout in the returned scores
    out_eval, scores_eval = mha(q, q, attention_mask=m, return_attention_scores=True)
    np.testing.assert_allclose(scores_eval.numpy(), s, rtol=1e-6)
    assert not np.allclose(out.numpy(), out_eval.numpy())  # dropout did act on the weights applied to the values
