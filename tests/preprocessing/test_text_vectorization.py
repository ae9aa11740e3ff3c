"""TextVectorization: vocabulary order, int / multi_hot / count / tf_idf outputs, ngrams, config."""
import json

import numpy as np
import pytest

import nerve
from nerve.layers import TextVectorization

DOCS = ["The cat sat.", "the dog sat", "a cat, a dog, a bird!"]


def test_adapt_vocabulary_order_and_int_output():
    tv = TextVectorization(output_sequence_length=5)
    tv.adapt(DOCS)
    # counts: a 3; cat 2, dog 2, sat 2, the 2 (ties: descending token); bird 1
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "the", "sat", "dog", "cat", "bird"]
    out = tv(["The bird ate the cat", "a"]).numpy()
    np.testing.assert_array_equal(out, [[3, 7, 1, 3, 6], [2, 0, 0, 0, 0]])
    assert out.dtype == np.int64
    tv2 = TextVectorization(max_tokens=4)
    tv2.adapt(DOCS)
    assert tv2.get_vocabulary() == ["", "[UNK]", "a", "the"]
    assert tv2(["the zebra"]).numpy().tolist() == [[3, 1]]


def test_multi_hot_count_tf_idf():
    mh = TextVectorization(output_mode="multi_hot")
    mh.adapt(DOCS)
    v = mh.get_vocabulary()
    assert v[0] == "[UNK]"
    x = mh(["a a cat zebra"]).numpy()
    assert x.shape == (1, len(v)) and x[0, v.index("a")] == 1 and x[0, 0] == 1
    cnt = TextVectorization(output_mode="count", vocabulary=v[1:])
    assert cnt(["a a cat"]).numpy()[0, v.index("a")] == 2
    tf = TextVectorization(output_mode="tf_idf")
    tf.adapt(DOCS)
    vt = tf.get_vocabulary()
    y = tf(["a a"]).numpy()
    idf_a = np.log(1 + 3 / (1 + 1))  # 'a' appears in 1 of 3 documents
    assert y[0, vt.index("a")] == pytest.approx(2 * idf_a, rel=1e-6)
    padded = TextVectorization(output_mode="multi_hot", max_tokens=20, pad_to_max_tokens=True)
    padded.adapt(DOCS)
    assert padded(["cat"]).shape == (1, 20)


def test_ngrams_split_standardize_and_config():
    tv = TextVectorization(ngrams=2, standardize="lower", split="whitespace")
    tv.adapt(["A b c"])
    assert set(tv.get_vocabulary(include_special_tokens=False)) == {"a", "b", "c", "a b", "b c"}
    ch = TextVectorization(split="character", standardize=None)
    ch.adapt(["abba"])
    assert ch.get_vocabulary()[2:] == ["b", "a"]
    cfg = json.loads(json.dumps(tv.get_config()))
    tv2 = TextVectorization.from_config(cfg)
    assert tv2.get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_array_equal(tv2(["a b c"]).numpy(), tv(["a b c"]).numpy())
    with pytest.raises(ValueError, match="output_mode"):
        TextVectorization(output_mode="dense")
    with pytest.raises(ValueError, match="adapt"):
        TextVectorization()(["x"])


def test_text_vectorization_feeds_a_model():
    texts = ["good great fine", "bad awful poor", "great good", "poor bad"] * 16
    y = np.array([1, 0, 1, 0] * 16, "float32")[:, None]
    tv = TextVectorization(output_mode="multi_hot")
    tv.adapt(texts)
    x = tv(texts).numpy()
    nerve.set_random_seed(0)
    model = nerve.Sequential([nerve.layers.Input(shape=(x.shape[1],)), nerve.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nerve.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=10, verbose=0)
    assert hist.history["accuracy"][-1] == 1.0
