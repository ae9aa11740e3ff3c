"""StringLookup, IntegerLookup, CategoryEncoding, Discretization: Keras 3's documented examples (values from
the keras.io layer pages) and the structured-data pattern (lookup -> encoding -> Dense)."""
import numpy as np
import pytest

import nerve
from nerve import layers


def arr(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def test_string_lookup_vocabulary_and_oov():
    lookup = layers.StringLookup(vocabulary=["a", "b", "c", "d"])
    assert arr(lookup(np.array([["a", "c", "d"], ["d", "z", "b"]]))).tolist() == [[1, 3, 4], [4, 0, 2]]
    assert lookup.get_vocabulary() == ["[UNK]", "a", "b", "c", "d"] and lookup.vocabulary_size() == 5
    masked = layers.StringLookup(vocabulary=["a", "b"], mask_token="")
    assert arr(masked(np.array(["", "b", "q"]))).tolist() == [0, 3, 1]  # mask 0, OOV 1, vocabulary from 2
    inv = layers.StringLookup(vocabulary=["a", "b", "c", "d"], invert=True)
    assert arr(inv(np.array([[1, 3, 4], [4, 0, 2]]))).tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_string_lookup_adapt_orders_by_frequency_then_token():
    lookup = layers.StringLookup()
    lookup.adapt(np.array([["d", "z", "b", "z"], ["a", "c", "d", "d"]]))
    assert lookup.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    capped = layers.StringLookup(max_tokens=3)
    capped.adapt(np.array(["x", "y", "y", "z", "z", "z"]))
    assert capped.get_vocabulary() == ["[UNK]", "z", "y"]


def test_lookup_output_modes():
    data = np.array([["a", "c", "d", "d"], ["d", "z", "b", "z"]])
    vocab = ["a", "b", "c", "d"]
    mh = layers.StringLookup(vocabulary=vocab, output_mode="multi_hot")
    assert arr(mh(data)).tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    cnt = layers.StringLookup(vocabulary=vocab, output_mode="count")
    assert arr(cnt(data)).tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    oh = layers.StringLookup(vocabulary=vocab, output_mode="one_hot")
    assert arr(oh(np.array(["a", "b", "z"]))).tolist() == [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [1, 0, 0, 0, 0]]
    idf = [0.25, 0.75, 0.6, 0.4]
    tfidf = layers.StringLookup(output_mode="tf_idf", vocabulary=vocab, idf_weights=idf)
    np.testing.assert_allclose(arr(tfidf(data)), [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]], rtol=1e-6)


def test_integer_lookup():
    lookup = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    assert arr(lookup(np.array([[12, 1138, 42], [42, 1000, 36]]))).tolist() == [[1, 3, 4], [4, 0, 2]]
    adapted = layers.IntegerLookup()
    adapted.adapt(np.array([[42, 1138, 1138, 1138], [1000, 36, 12, 36]]))
    assert adapted.get_vocabulary() == [-1, 1138, 36, 1000, 42, 12]
    inv = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], invert=True)
    assert arr(inv(np.array([[1, 3, 4], [4, 0, 2]]))).tolist() == [[12, 1138, 42], [42, -1, 36]]
    strict = layers.IntegerLookup(vocabulary=[1, 2], num_oov_indices=0, name="strict")
    with pytest.raises(ValueError, match=r"IntegerLookup 'strict': 7 is not in the vocabulary"):
        strict(np.array([1, 7]))
    two = layers.IntegerLookup(vocabulary=[5], num_oov_indices=2)
    out = arr(two(np.array([5, 8, 9, 8])))
    assert out[0] == 2 and set(out[1:]) <= {0, 1} and out[1] == out[3]  # an OOV value keeps its slot


def test_category_encoding():
    mh = layers.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
    assert arr(mh(np.array([[0, 1], [0, 0], [1, 2], [3, 1]]))).tolist() == \
        [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    oh = layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    assert arr(oh(np.array([3, 2, 0, 1]))).tolist() == [[0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    cnt = layers.CategoryEncoding(num_tokens=4, output_mode="count")
    np.testing.assert_allclose(arr(cnt(np.array([[0, 1], [0, 0], [1, 2], [3, 1]]),
                                       count_weights=np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]]))),
                               [[0.1, 0.2, 0, 0], [0.2, 0, 0, 0], [0, 0.2, 0.3, 0], [0, 0.2, 0, 0.4]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"CategoryEncoding 'ce': input values must be in \[0, 4\), got range"):
        layers.CategoryEncoding(num_tokens=4, name="ce")(np.array([4]))


def test_discretization():
    d = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    assert arr(d(np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]))).tolist() == [[0, 2, 3, 1], [1, 3, 2, 1]]
    q = layers.Discretization(num_bins=4)
    q.adapt(np.arange(100.0))
    np.testing.assert_allclose(q.bin_boundaries, np.quantile(np.arange(100.0), [0.25, 0.5, 0.75]))
    assert np.bincount(arr(q(np.arange(100.0)))).tolist() == [25, 25, 25, 25]
    with pytest.raises(ValueError, match=r"give exactly one of 'bin_boundaries' and 'num_bins'"):
        layers.Discretization()


def test_configs_round_trip():
    for layer in (layers.StringLookup(vocabulary=["a", "b"], mask_token=""), layers.IntegerLookup(vocabulary=[3, 1]),
                  layers.CategoryEncoding(num_tokens=3, output_mode="count"),
                  layers.Discretization(bin_boundaries=[0.5])):
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()


def test_structured_data_pattern_learns():
    """A heart-disease-like table: a string column and a numeric column -> lookup/encoding -> Dense."""
    rng = np.random.default_rng(0)
    thal = rng.choice(["normal", "fixed", "reversible"], 300)
    age = rng.normal(55, 9, 300)
    y = ((thal == "reversible") | (age > 62)).astype(np.float32)
    lookup = layers.StringLookup(output_mode="one_hot")
    lookup.adapt(thal)
    bins = layers.Discretization(num_bins=4, output_mode="one_hot")
    bins.adapt(age)
    x = np.concatenate([arr(lookup(thal)), arr(bins(age))], axis=1)
    assert x.shape == (300, 4 + 4)
    model = nerve.Sequential([nerve.Input((8,)), layers.Dense(8, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9
