"""Tokenizer (Keras legacy semantics), text_to_word_sequence, one_hot, JSON round trip."""
import math

import numpy as np
import pytest

from nerve.preprocessing import Tokenizer, text_to_word_sequence, tokenizer_from_json
from nerve.preprocessing.text import one_hot

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "the cat ate the dog"]


def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World! It's  me.") == ["hello", "world", "it's", "me"]
    assert text_to_word_sequence("a-b", filters="", lower=False) == ["a-b"]


def test_fit_on_texts_word_index_and_counts():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    # the: 5, cat: 2, ate: 2, dog: 2 (ties keep first-seen order), then the singletons in order
    assert list(tok.word_index)[:4] == ["the", "cat", "dog", "ate"]
    assert tok.word_index["the"] == 1 and tok.word_counts["the"] == 5 and tok.word_docs["cat"] == 2
    assert tok.document_count == 3
    assert tok.texts_to_sequences(["the cat ate a fish"]) == [[1, 2, 4]]
    assert tok.sequences_to_texts([[1, 2, 4]]) == ["the cat ate"]


def test_num_words_and_oov_token():
    tok = Tokenizer(num_words=4, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<OOV>"] == 1 and tok.word_index["the"] == 2
    # kept indices < 4: <OOV>=1, the=2, cat=3; everything else -> 1
    assert tok.texts_to_sequences(["the cat ate a fish"]) == [[2, 3, 1, 1, 1]]
    assert tok.sequences_to_texts([[2, 3, 1, 9]]) == ["the cat <OOV> <OOV>"]


def test_texts_to_matrix_modes():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    n = len(tok.word_index) + 1
    docs = ["the the cat", "dog"]
    b = tok.texts_to_matrix(docs, mode="binary")
    c = tok.texts_to_matrix(docs, mode="count")
    f = tok.texts_to_matrix(docs, mode="freq")
    t = tok.texts_to_matrix(docs, mode="tfidf")
    assert b.shape == (2, n) and b[0, 1] == 1 and c[0, 1] == 2 and f[0, 1] == pytest.approx(2 / 3)
    the_df = tok.index_docs[1]
    assert t[0, 1] == pytest.approx((1 + math.log(2)) * math.log(1 + 3 / (1 + the_df)))
    assert b[:, 0].sum() == 0
    with pytest.raises(ValueError, match="mode"):
        tok.texts_to_matrix(docs, mode="bogus")


def test_char_level_and_json_round_trip():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["abca", "Bd"])
    assert tok.word_index["a"] == 1 and tok.word_index["b"] == 2
    assert tok.texts_to_sequences(["ab"]) == [[1, 2]]
    tok2 = tokenizer_from_json(tok.to_json())
    assert tok2.word_index == tok.word_index and tok2.index_word == tok.index_word
    assert tok2.texts_to_sequences(["dcba"]) == tok.texts_to_sequences(["dcba"])
    assert np.array_equal(tok2.texts_to_matrix(["abc"], "tfidf"), tok.texts_to_matrix(["abc"], "tfidf"))
    with pytest.raises(ValueError):
        tokenizer_from_json('{"class_name": "Other", "config": {}}')


def test_one_hot_hashing_is_deterministic():
    a = one_hot("the cat the", 50)
    assert a[0] == a[2] and all(1 <= i < 50 for i in a) and a == one_hot("the cat the", 50)
