"""GroupQueryAttention, ReversibleEmbedding, Hashing and HashedCrossing (nerve/layers/layers_more.py).

The "golden" numbers below were computed with Keras 3.15.1 (torch backend) on the same weights (set_weights)
and, for the hashes, are those of Keras' own hashing_test.py / hashed_crossing_test.py (produced by
TensorFlow's string hash kernels); FarmHash and SipHash are also checked against their published test
vectors. No test imports keras; attention is also compared with torch's scaled_dot_product_attention."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.layers.layers_more import fingerprint64, siphash24
from tests.layers.harness import layer_test

R = np.random.default_rng(5)


def _weights(layer, seed=11):
    """The deterministic weights the golden values were computed with (in Keras' weight order)."""
    r = np.random.default_rng(seed)
    return [(0.3 * r.standard_normal(w.shape)).astype("float32") for w in layer.weights]


def _golden_inputs():
    r = np.random.default_rng(7)
    q = r.standard_normal((2, 5, 8)).astype("float32")
    v = r.standard_normal((2, 4, 8)).astype("float32")
    k = r.standard_normal((2, 4, 6)).astype("float32")
    return q, v, k, r.random((2, 5, 4)) > 0.3, r


# ---------------------------------------------------------------- GroupQueryAttention
@pytest.mark.parametrize("kw, n_params, n_weights", [
    (dict(head_dim=4, num_query_heads=4, num_key_value_heads=2), 408, 8),
    (dict(head_dim=3, num_query_heads=6, num_key_value_heads=2, use_gate=True), 572, 10),
    (dict(head_dim=4, num_query_heads=2, num_key_value_heads=1, use_bias=False), 184, 4)])
def test_gqa_weights_as_keras(kw, n_params, n_weights):
    layer = layers.GroupQueryAttention(**kw)
    q, v, k, _, _ = _golden_inputs()
    layer(q, v, k)
    assert layer.count_params() == n_params and len(layer.weights) == n_weights  # Keras 3.15 counts
    h, g, d = kw["num_query_heads"], kw["num_key_value_heads"], kw["head_dim"]
    shapes = {w.name: tuple(w.shape) for w in layer.weights}
    assert shapes["query/kernel"] == (8, h, d) and shapes["key/kernel"] == (6, g, d)
    assert shapes["value/kernel"] == (8, g, d) and shapes["attention_output/kernel"] == (h, d, 8)
    parts = ["query", "key"] + (["gate"] if kw.get("use_gate") else []) + ["value", "attention_output"]
    kinds = ("kernel", "bias") if kw.get("use_bias", True) else ("kernel",)
    assert [w.name for w in layer.weights] == [f"{p}/{k}" for p in parts for k in kinds]  # Keras' order


def test_gqa_matches_keras_golden_values():
    q, v, k, am, _ = _golden_inputs()
    layer = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
    layer(q, v, k)
    layer.set_weights(_weights(layer))
    out, scores = layer(q, v, k, attention_mask=am, use_causal_mask=True, return_attention_scores=True)
    # Keras 3.15.1 (torch backend), same weights and inputs
    np.testing.assert_allclose(out.numpy()[0, :2, :4], [[0.9955186, -0.1765512, 0.0923545, 0.7018432],
                                                        [-0.4217723, -0.3871714, 0.2709021, -0.1664997]], atol=2e-6)
    np.testing.assert_allclose(out.numpy().sum(), 12.209765, rtol=1e-5)
    np.testing.assert_allclose(scores.numpy()[1, -1, -1], [0.1477230, 0.5396326, 0.3126445, 0.0], atol=2e-6)
    plain = layer(q, v, k).numpy()
    np.testing.assert_allclose(plain[1, -1, :4], [0.8177663, 0.0143883, 0.1225277, 0.5556043], atol=2e-6)
    np.testing.assert_allclose(plain.sum(), 15.710422, rtol=1e-5)

    gated = layers.GroupQueryAttention(head_dim=3, num_query_heads=6, num_key_value_heads=2, use_gate=True,
                                       sliding_window=2)
    gated(q, v, k)
    gated.set_weights(_weights(gated))
    out, scores = gated(q, v, k, attention_mask=am, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(out.numpy()[0, :2, :4], [[-0.5790188, -0.3633468, -0.2673199, -0.3057488],
                                                        [-0.4215348, -0.2191335, -0.5028443, -0.1679370]], atol=2e-6)
    np.testing.assert_allclose(out.numpy().sum(), -11.050343, rtol=1e-5)
    assert np.all(scores.numpy()[1, -1, -1] == 0)  # a fully masked row is zeros, as Keras 3.15's Softmax
    plain = gated(q, v, k).numpy()
    np.testing.assert_allclose(plain[1, -1, :4], [-0.8663472, -0.7465414, -0.3245005, -0.9458587], atol=2e-6)
    np.testing.assert_allclose(plain.sum(), -10.9114, rtol=1e-5)


def _torch_gqa(layer, q, v, k, mask=None, causal=False):
    """torch.nn.functional.scaled_dot_product_attention with the key/value heads repeated per group."""
    torch = pytest.importorskip("torch")
    w = [torch.tensor(a, dtype=torch.float64) for a in layer.get_weights()]
    wq, bq, wk, bk, wv, bv, wo, bo = w
    t = [torch.tensor(a, dtype=torch.float64) for a in (q, v, k)]
    qh = torch.einsum("btm,mhd->bhtd", t[0], wq) + bq[:, None]
    kh = torch.einsum("bsm,mgd->bgsd", t[2], wk) + bk[:, None]
    vh = torch.einsum("bsm,mgd->bgsd", t[1], wv) + bv[:, None]
    r = layer.num_query_heads // layer.num_key_value_heads
    kh, vh = kh.repeat_interleave(r, dim=1), vh.repeat_interleave(r, dim=1)
    m = None if mask is None else torch.tensor(mask)[:, None]
    ctx = torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, attn_mask=m, is_causal=causal)
    return (torch.einsum("bhtd,hdm->btm", ctx, wo) + bo).numpy()


@pytest.mark.parametrize("g", [1, 2, 6])
def test_gqa_matches_torch_sdpa(g):
    q, v, k, am, _ = _golden_inputs()
    am[..., 0] = True  # no fully masked row (torch gives NaN there)
    layer = layers.GroupQueryAttention(head_dim=3, num_query_heads=6, num_key_value_heads=g, dtype="float64")
    layer(q, v, k)
    layer.set_weights(_weights(layer))
    np.testing.assert_allclose(layer(q, v, k).numpy(), _torch_gqa(layer, q, v, k), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer(q, v, k, attention_mask=am).numpy(), _torch_gqa(layer, q, v, k, mask=am),
                               rtol=1e-10, atol=1e-12)
    x = q[:, :4]
    np.testing.assert_allclose(layer(x, v, k, use_causal_mask=True).numpy(), _torch_gqa(layer, x, v, k, causal=True),
                               rtol=1e-10, atol=1e-12)


def test_gqa_input_masks_causal_and_sliding_window():
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0]])
    emb = layers.Embedding(10, 8, mask_zero=True)
    x = emb(tokens)
    layer = layers.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2, sliding_window=2)
    out, a = layer(x, x, use_causal_mask=True, return_attention_scores=True)
    a = a.numpy()
    assert a.shape == (2, 4, 5, 5) and out.shape == (2, 5, 8)
    assert np.allclose(a[0][..., 3:], 0) and np.allclose(a[1][..., 4:], 0)  # padded keys
    assert np.allclose(np.triu(a, 1), 0)  # the future
    assert np.allclose(np.tril(a, -2), 0)  # outside the band |i - j| < 2
    np.testing.assert_allclose(a[0, :, :3].sum(-1), 1, rtol=1e-6)  # real query steps
    assert np.allclose(a[0, :, 3:], 0)  # padded query steps attend to nothing (Keras 3.15)
    np.testing.assert_array_equal(nerve.ops.convert_to_numpy(out._keras_mask), tokens != 0)  # the query's mask


def test_gqa_dropout_flash_attention_and_errors():
    x = R.standard_normal((2, 4, 6)).astype("float32")
    layer = layers.GroupQueryAttention(2, 4, 2, dropout=0.5, seed=1)
    _, a_eval = layer(x, x, return_attention_scores=True)
    out_train = layer(x, x, training=True)
    assert not np.allclose(out_train.numpy(), layer(x, x).numpy())  # dropout on the weights in training only
    np.testing.assert_allclose(a_eval.numpy().sum(-1), 1, rtol=1e-6)
    flash = layers.GroupQueryAttention(2, 4, 2, flash_attention=True)
    ref = layers.GroupQueryAttention(2, 4, 2)
    flash(x, x), ref(x, x)
    ref.set_weights(flash.get_weights())
    np.testing.assert_allclose(flash(x, x).numpy(), ref(x, x).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"GroupedQueryAttention 'f': return_attention_scores=True is not "
                                         r"supported with flash_attention=True"):
        layers.GroupQueryAttention(2, 4, 2, flash_attention=True, name="f")(x, x, return_attention_scores=True)
    with pytest.raises(ValueError, match=r"argument 'dropout' expected 0.0 with flash_attention=True, got 0.1"):
        layers.GroupQueryAttention(2, 4, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match=r"'g': argument 'num_query_heads' \(4\) must be divisible by "
                                         r"'num_key_value_heads' \(3\)"):
        layers.GroupQueryAttention(2, 4, 3, name="g")
    with pytest.raises(ValueError, match=r"argument 'head_dim' expected a positive int, got 0"):
        layers.GroupQueryAttention(0, 4, 2)
    with pytest.raises(ValueError, match=r"query and value must have the same last dimension, got 6 and 5"):
        layers.GroupQueryAttention(2, 4, 2)(x, R.standard_normal((2, 3, 5)))
    with pytest.raises(ValueError, match=r"expected mha\(query, value, key=None\)"):
        layers.GroupQueryAttention(2, 4, 2)(x)


def test_gqa_gradcheck_config_and_save(tmp_path):
    """float64 gradcheck w.r.t. query, value, key and all eight weights; config round trip; save / load."""
    layer_test(layers.GroupQueryAttention, {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2},
               input_shape=[(2, 4, 5), (2, 3, 5), (2, 3, 3)], expected_output_shape=(2, 4, 5),
               expected_num_trainable_weights=8, parts=("core", "save"), tmp_path=tmp_path)
    layer_test(layers.GroupQueryAttention, {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1,
                                            "use_gate": True, "sliding_window": 2, "use_bias": False},
               input_shape=[(2, 4, 5), (2, 4, 5)], expected_output_shape=(2, 4, 5),
               expected_num_trainable_weights=5, parts=("core",))
    cfg = layers.GroupQueryAttention(2, 4, 2, dropout=0.1, seed=3, name="a").get_config()
    assert {k: cfg[k] for k in ("head_dim", "num_query_heads", "num_key_value_heads", "dropout", "use_gate",
                                "sliding_window", "seed")} == \
        {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "dropout": 0.1, "use_gate": False,
         "sliding_window": None, "seed": 3}
    from nerve.saving.registry import deserialize
    again = deserialize({"class_name": "GroupQueryAttention", "config": cfg}, kind="layers")
    assert again.get_config() == cfg


def test_gqa_decoder_model_saves_and_loads(tmp_path):
    inp = nerve.Input((6,), dtype="int32")
    x = layers.Embedding(12, 8, mask_zero=True)(inp)
    x = layers.GroupQueryAttention(4, 4, 2)(x, x, use_causal_mask=True)
    model = nerve.Model(inp, layers.Dense(3)(layers.GlobalAveragePooling1D()(x)))
    tokens = R.integers(0, 12, (5, 6))
    model.save(tmp_path / "g.keras")
    again = nerve.models.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(again.predict(tokens, verbose=0), model.predict(tokens, verbose=0), rtol=1e-6)


# ---------------------------------------------------------------- ReversibleEmbedding
def test_reversible_embedding_values_and_keras_golden():
    e = layers.ReversibleEmbedding(10, 4, tie_weights=False, logit_soft_cap=2.0)
    e(np.array([1]))
    assert [(w.name, tuple(w.shape)) for w in e.weights] == [("embeddings", (10, 4)), ("reverse_embeddings", (4, 10))]
    e.set_weights(_weights(e))
    x = _golden_inputs()[4].standard_normal((2, 4)).astype("float32")
    # Keras 3.15.1 on the same weights
    np.testing.assert_allclose(e(x, reverse=True).numpy()[0], [-0.4212279, 0.3291356, -0.0110445, -0.3671997,
                                                               -0.2892948, -1.2739227, 0.8425835, -0.3540604,
                                                               -0.0189130, -0.3186312], atol=2e-6)
    emb, rev = e.get_weights()
    np.testing.assert_allclose(e(x, reverse=True).numpy(), 2 * np.tanh(x @ rev / 2), rtol=1e-5)
    tied = layers.ReversibleEmbedding(10, 4, reverse_dtype="float64")
    tied(np.array([1]))
    tied.set_weights([emb])
    assert len(tied.weights) == 1
    logits = tied(x, reverse=True)
    assert logits.dtype == np.float64
    np.testing.assert_allclose(logits.numpy(), x.astype(np.float64) @ emb.T.astype(np.float64), rtol=1e-12)
    np.testing.assert_array_equal(tied(np.array([[3, 0]])).numpy()[0], emb[[3, 0]])


def test_reversible_embedding_gradcheck():
    """float64: d/dx and d/dE of the tied reverse projection with the soft cap, d/dR untied, d/dE forward."""
    with nerve.backend.precision("float64"):
        for tie in (True, False):
            e = layers.ReversibleEmbedding(6, 3, tie_weights=tie, logit_soft_cap=1.5, dtype="float64")
            e(np.array([0]))
            ws = list(e.trainable_weights)
            x = R.standard_normal((2, 4, 3))
            idx = np.array([[1, 5, 1], [0, 2, 3]])

            def fn(x, *wts):
                saved = [getattr(e, w.name) for w in ws]
                for w, t in zip(ws, wts):
                    object.__setattr__(e, w.name, t)
                try:
                    return e(x, reverse=True), e(idx)
                finally:
                    for w, s in zip(ws, saved):
                        object.__setattr__(e, w.name, s)
            nerve.gradcheck(fn, [x] + [w.data.copy() for w in ws], eps=1e-6, tol=1e-6)


def test_reversible_embedding_masks_model_config_and_errors(tmp_path):
    inp = nerve.Input((5,), dtype="int32")
    e = layers.ReversibleEmbedding(12, 8, mask_zero=True, logit_soft_cap=30.0)
    h = e(inp)
    assert tuple(h.shape) == (None, 5, 8)
    logits = e(layers.Dense(8)(h), reverse=True)
    assert tuple(logits.shape) == (None, 5, 12)
    model = nerve.Model(inp, logits)
    tokens = R.integers(0, 12, (4, 5))
    out = e(tokens)
    np.testing.assert_array_equal(nerve.ops.convert_to_numpy(out._keras_mask), tokens != 0)
    assert getattr(e(out, reverse=True), "_keras_mask", None) is None  # the reverse call carries no mask
    model.save(tmp_path / "r.keras")
    again = nerve.models.load_model(tmp_path / "r.keras")
    np.testing.assert_allclose(again.predict(tokens, verbose=0), model.predict(tokens, verbose=0), rtol=1e-6)
    cfg = layers.ReversibleEmbedding(7, 3, tie_weights=False, logit_soft_cap=2.0, name="r").get_config()
    assert cfg["tie_weights"] is False and cfg["logit_soft_cap"] == 2.0 and cfg["reverse_dtype"] is None
    assert layers.ReversibleEmbedding.from_config(cfg).get_config() == cfg
    untied = layers.ReversibleEmbedding(7, 3, tie_weights=False, weights=[np.ones((7, 3)), np.zeros((3, 7))])
    untied.build()
    assert untied.get_weights()[1].shape == (3, 7)
    with pytest.raises(ValueError, match=r"ReversibleEmbedding 'r': reverse=True expected inputs with last "
                                         r"dimension output_dim=3, got shape \(2, 4\)"):
        layers.ReversibleEmbedding(7, 3, name="r")(np.ones((2, 4)), reverse=True)
    with pytest.raises(ValueError, match=r"argument 'logit_soft_cap' expected a positive number"):
        layers.ReversibleEmbedding(7, 3, logit_soft_cap=0)


# ---------------------------------------------------------------- Hashing / HashedCrossing
def test_fingerprint64_and_siphash_reference_vectors():
    # FarmHash Fingerprint64 (farmhashna::Hash64) test vectors, one per length branch (0-3, 4-7, 8-16, 17-32,
    # 33-64 and > 64 bytes), as published with the portable farmhash64 ports (github.com/tecnickcom/farmhash64)
    vectors = {"": 0x9ae16a3b2f90404f, "a": 0xb3454265b6df75e3, "abc": 0x24a5b3a074e7f369,
               "abcd": 0x1a5502de4a1f8101, "abcdefgh": 0xfee9d22990c82909, "0123456789": 0xad052244b781c4eb,
               "0123456789=012345": 0x46a7416ed4861e3b, "size:  a.out:  bad magic": 0x80d73b843ba57db8,
               "Discard medicine more than two years old.": 0xe8f89ab6df9bdd25,
               "For every action there is an equal and opposite government program.": 0x55182f8859eca4ce,
               "The fugacity of a constituent in a mixture of gases at a given temperature is proportional to its "
               "mole fraction.  Lewis-Randall Rule": 0x098eff6958c5e91a}
    for s, h in vectors.items():
        assert fingerprint64(s.encode()) == h, s
    # SipHash-2-4 paper (Aumasson & Bernstein, appendix A): key 00..0f, message 00..0e
    k0, k1 = int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little")
    assert siphash24(k0, k1, bytes(range(15))) == 0xa129ca6149be45e5


def test_hashing_bins_match_keras():
    """Keras' hashing_test.py values (TensorFlow's to_hash_bucket_fast / _strong)."""
    def bins(layer, x):
        return layer(x).numpy().tolist()
    abcde = [["A"], ["B"], ["C"], ["D"], ["E"]]
    assert bins(layers.Hashing(num_bins=3), abcde) == [[1], [0], [1], [1], [2]]
    assert bins(layers.Hashing(num_bins=3, mask_value=""), [["A"], ["B"], [""], ["C"], ["D"]]) == \
        [[1], [1], [0], [2], [2]]
    assert bins(layers.Hashing(num_bins=3, salt=[133, 137]), abcde) == [[1], [2], [1], [0], [2]]
    assert bins(layers.Hashing(num_bins=3, salt=133), abcde) == [[0], [0], [2], [1], [0]]
    wire = ["omar", "stringer", "marlo", "wire", "skywalker"]
    assert bins(layers.Hashing(num_bins=2), np.array(wire)) == [0, 0, 1, 0, 0]
    assert bins(layers.Hashing(num_bins=2), np.array(wire, dtype=object).astype(bytes)) == [0, 0, 1, 0, 0]
    assert bins(layers.Hashing(num_bins=1), np.array(abcde)) == [[0]] * 5
    ints = np.array([[0], [1], [2], [3], [4]])
    assert bins(layers.Hashing(num_bins=3), ints) == [[1], [0], [1], [0], [2]]  # hashed as "0", "1", ...
    assert bins(layers.Hashing(num_bins=3), ints.astype("float32") + 0.25) == [[1], [0], [1], [0], [2]]
    assert bins(layers.Hashing(num_bins=3, salt=[133, 137]), ints) == [[1], [1], [2], [0], [1]]
    masked = np.array([["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]])
    assert bins(layers.Hashing(num_bins=3, mask_value="omar"), masked) == [[0], [1], [2], [1], [1]]
    assert bins(layers.Hashing(num_bins=3, mask_value=""), masked) == [[1], [1], [2], [1], [1]]
    out = layers.Hashing(num_bins=3)(abcde)
    assert out.dtype == np.int64


def test_hashing_output_modes_config_and_errors():
    x = np.array([["A", "B"], ["C", "A"]])
    idx = layers.Hashing(num_bins=3)(x).numpy()  # [[1, 0], [1, 1]]
    one = layers.Hashing(num_bins=3, output_mode="one_hot")
    np.testing.assert_array_equal(one(x).numpy(), np.eye(3)[idx])
    assert one(x).dtype == np.float32 and one.compute_output_shape((2, 2)) == (2, 2, 3)
    np.testing.assert_array_equal(one(np.array([["A"], ["B"]])).numpy(), np.eye(3)[[1, 0]])
    np.testing.assert_array_equal(layers.Hashing(3, output_mode="multi_hot")(x).numpy(), [[1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(layers.Hashing(3, output_mode="count")(x).numpy(), [[1, 1, 0], [0, 2, 0]])
    assert layers.Hashing(3, output_mode="count").compute_output_shape((2, 2)) == (2, 3)
    cfg = layers.Hashing(5, mask_value="", salt=7, name="h").get_config()
    assert {k: cfg[k] for k in ("num_bins", "salt", "mask_value", "output_mode", "sparse")} == \
        {"num_bins": 5, "salt": [7, 7], "mask_value": "", "output_mode": "int", "sparse": False}
    assert layers.Hashing.from_config(cfg).get_config() == cfg
    with pytest.raises(ValueError, match=r"Hashing 'h': argument 'sparse' expected False, got True \(nerve has no "
                                         r"sparse tensors\)"):
        layers.Hashing(3, output_mode="one_hot", sparse=True, name="h")
    with pytest.raises(ValueError, match=r"argument 'num_bins' expected a positive int, got -1"):
        layers.Hashing(-1)
    with pytest.raises(ValueError, match=r"argument 'salt' expected an int or a pair of ints, got \[1\]"):
        layers.Hashing(2, salt=[1])
    with pytest.raises(ValueError, match=r"argument 'output_mode' expected one of"):
        layers.Hashing(2, output_mode="tf_idf")
    with pytest.raises(ValueError, match=r"argument 'dtype' expected 'int32' or 'int64'"):
        layers.Hashing(2, dtype="float32")


def test_hashed_crossing_matches_keras_and_checks_inputs():
    feat1, feat2 = np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])
    layer = layers.HashedCrossing(num_bins=5)
    np.testing.assert_array_equal(layer((feat1, feat2)).numpy(), [1, 4, 1, 1, 3])  # Keras' documented bins
    np.testing.assert_array_equal(layer((feat1[:, None], feat2[:, None])).numpy(), [[1], [4], [1], [1], [3]])
    np.testing.assert_array_equal(layer((np.array("B"), np.array(101))).numpy(), 4)
    one = layers.HashedCrossing(num_bins=5, output_mode="one_hot")
    np.testing.assert_array_equal(one((feat1, feat2)).numpy(), np.eye(5)[[1, 4, 1, 1, 3]])
    assert one.compute_output_shape([(5,), (5,)]) == (5, 5)
    cfg = layers.HashedCrossing(7, output_mode="one_hot", name="x").get_config()
    assert layers.HashedCrossing.from_config(cfg).get_config() == cfg
    with pytest.raises(ValueError, match=r"HashedCrossing 'c': expected a list or tuple of at least two inputs"):
        layers.HashedCrossing(5, name="c")(feat1)
    with pytest.raises(ValueError, match=r"expected inputs of equal shape \(\), \(batch,\) or \(batch, 1\), got "
                                         r"shapes \[\(1, 1, 1\), \(1, 1, 1\)\]"):
        layers.HashedCrossing(10)((np.ones((1, 1, 1), int), np.ones((1, 1, 1), int)))
    with pytest.raises(ValueError, match=r"expected integer or string inputs, got dtype float64"):
        layers.HashedCrossing(10)((np.ones(2), np.ones(2)))
    with pytest.raises(ValueError, match=r"argument 'sparse' expected False"):
        layers.HashedCrossing(10, output_mode="one_hot", sparse=True)


# ---------------------------------------------------------------- the device
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


def test_gqa_model_trains_on_the_device_as_on_the_cpu():
    """A small GQA decoder (mask, causal mask, dropout, tied reverse embedding) trains to the same numbers
    under nerve.device("gpu") (the strict CuPy stand-in, or a real GPU) as on the CPU."""
    r = np.random.default_rng(2)
    x = r.integers(0, 12, (32, 6))
    x[:, -2:] = 0
    y = r.integers(0, 3, 32)
    res = []
    with fakecupy.gpu_module() as cp:
        for where in ("cpu", "gpu"):
            nerve.set_random_seed(4)
            with nerve.device(where):
                inp = nerve.Input((6,), dtype="int64")
                emb = layers.ReversibleEmbedding(12, 8, mask_zero=True)
                h = emb(inp)
                h = layers.GroupQueryAttention(4, 4, 2, dropout=0.1, seed=3)(h, h, use_causal_mask=True)
                logits = emb(h, reverse=True)  # (B, 6, 12)
                m = nerve.Model(inp, layers.Dense(3)(layers.GlobalAveragePooling1D()(logits)))
                m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
            hist = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
            res.append([hist.history["loss"], m.evaluate(x, y, verbose=0), m.predict(x[:4], verbose=0)])
            if where == "gpu":
                assert all(isinstance(w.data, cp.ndarray) for w in m.weights)
    tol = 2e-4 if fakecupy.real_cupy() is not None else 1e-5
    for a, b in zip(*res):
        np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=tol, atol=1e-5)


def test_siphash24_many_equals_the_scalar_hash():
    from nerve.layers.layers_more import siphash24_many
    rng = np.random.default_rng(0)
    strings = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in list(range(0, 41)) + [63, 64, 65, 200]]
    strings += ["héllo wörld".encode(), b""]
    for k0, k1 in ((0, 0), (133, 137), (0x0706050403020100, 0x0f0e0d0c0b0a0908), ((1 << 64) - 1, 7)):
        np.testing.assert_array_equal(siphash24_many(k0, k1, strings),
                                      np.array([siphash24(k0, k1, t) for t in strings], np.uint64))
    assert siphash24_many(1, 2, []).shape == (0,)


def test_fingerprint64_many_equals_the_scalar_hash():
    from nerve.layers.layers_more import fingerprint64_many
    rng = np.random.default_rng(1)
    strings = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in list(range(0, 20)) * 3 + [33, 64, 65, 130]]
    strings += [b"", "é".encode(), b"word123", b"0"]
    np.testing.assert_array_equal(fingerprint64_many(strings), np.array([fingerprint64(t) for t in strings], np.uint64))
    assert fingerprint64_many([]).shape == (0,)
