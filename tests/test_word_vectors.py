"""Word vectors: cosine, analogies, neutralize / equalize (the book's bugs fixed), GloVe loader, and the
matrix of a trained Embedding layer."""
import numpy as np
import pytest

from nerve import layers
from nerve.word_vectors import WordVectors, cosine_similarity, equalize, load_glove, neutralize


def _toy():
    # axes: 0 = gender (female +), 1 = royalty, 2 = country, 3 = language, 4.. noise
    rng = np.random.default_rng(0)
    base = {"man": [-1, 0, 0, 0], "woman": [1, 0, 0, 0], "king": [-1, 1, 0, 0], "queen": [1, 1, 0, 0],
            "italy": [0, 0, 1, 0], "italian": [0, 0, 1, 1], "spain": [0, 0, 1.1, 0], "spanish": [0, 0, 1.1, 1],
            "receptionist": [0.6, 0, 0, 0.3], "apple": [0, 0.2, 0.2, 0.2]}
    words = list(base)
    vecs = np.array([np.r_[base[w], rng.normal(0, 0.05, 4)] for w in words], "float32")
    return WordVectors(words, vecs)


def test_cosine_similarity():
    assert cosine_similarity([1, 0], [0, 1]) == 0
    assert cosine_similarity([1, 1], [2, 2]) == pytest.approx(1)
    assert cosine_similarity([0, 0], [1, 2]) == 0
    np.testing.assert_allclose(cosine_similarity(np.eye(2), [1, 0]), [1, 0])


def test_analogies_and_most_similar():
    wv = _toy()
    assert wv.analogy("italy", "italian", "spain") == "spanish"
    assert wv.analogy("man", "woman", "king") == "queen"
    assert wv.most_similar("king", topn=1)[0][0] in ("queen", "man")
    assert wv.similarity("man", "woman") < 0
    with pytest.raises(KeyError, match="vocabulary"):
        wv["zebra"]


def test_neutralize_removes_bias_component():
    wv = _toy()
    g = wv["woman"] - wv["man"]
    before = cosine_similarity(wv["receptionist"], g)
    after = cosine_similarity(wv.neutralize("receptionist", g), g)
    assert before > 0.5 and abs(after) < 1e-12  # the book's buggy code leaves -0.0646 on GloVe
    e = np.random.default_rng(1).normal(size=50)
    gg = np.random.default_rng(2).normal(size=50)
    assert abs(cosine_similarity(neutralize(e, gg), gg)) < 1e-12


def test_equalize_gives_equal_and_opposite_projections():
    wv = _toy()
    g = wv["woman"] - wv["man"]
    a, b = wv.equalize("man", "woman", g)
    ca, cb = cosine_similarity(a, g), cosine_similarity(b, g)
    assert ca == pytest.approx(-cb, abs=1e-12) and ca < 0
    assert np.linalg.norm(a) == pytest.approx(np.linalg.norm(b))
    rng = np.random.default_rng(3)
    e1, e2, gg = (v / np.linalg.norm(v) for v in rng.normal(size=(3, 20)))
    x, y = equalize(e1, e2, gg)
    assert x @ gg == pytest.approx(-(y @ gg)) and np.linalg.norm(x) == pytest.approx(1.0)
    # the parts orthogonal to g coincide (equidistant from the orthogonal subspace)
    perp = lambda v: v - (v @ gg) * gg  # noqa: E731
    np.testing.assert_allclose(perp(x), perp(y), atol=1e-12)


def test_load_glove_file(tmp_path):
    p = tmp_path / "glove.txt"
    p.write_text("the 0.1 0.2 0.3\ncat 1 0 0\ndog 0.9 0.1 0\n")
    wv = load_glove(str(p))
    assert len(wv) == 3 and wv["cat"].dtype == np.float32
    assert wv.most_similar("cat", topn=1)[0][0] == "dog"
    assert len(load_glove(str(p), vocab={"cat"})) == 1
    m = wv.embedding_matrix({"cat": 1, "zebra": 2})
    assert m.shape == (3, 3) and m[1, 0] == 1 and not m[2].any()
    (tmp_path / "bad.txt").write_text("a 1 2\nb 1\n")
    with pytest.raises(ValueError, match="line 2"):
        load_glove(str(tmp_path / "bad.txt"))


def test_from_trained_embedding_layer():
    emb = layers.Embedding(5, 3)
    emb(np.array([[1]]))
    wv = WordVectors.from_embedding(emb, {"a": 1, "b": 2, "c": 3})
    np.testing.assert_array_equal(wv["b"], emb.get_weights()[0][2])
    assert len(wv) == 3


def test_equalize_book_form_is_symmetric_too():
    rng = np.random.default_rng(4)
    e1, e2, g = (v / np.linalg.norm(v) for v in rng.normal(size=(3, 20)))
    x, y = equalize(e1, e2, g, form="book")
    assert x @ g == pytest.approx(-(y @ g)) and np.linalg.norm(x) == pytest.approx(np.linalg.norm(y))
