"""Char-level text generation helpers: windows, one-hot, temperature sampling, a tiny LSTM that learns."""
import numpy as np
import pytest

import nerve
from nerve import text_generation as tg


def test_vocabulary_windows_vectorize():
    chars, ci, ic = tg.char_vocabulary("abcab")
    assert chars == ["a", "b", "c"] and ci["c"] == 2 and ic[1] == "b"
    sents, nxt = tg.make_windows("abcdefgh", maxlen=3, step=2)
    assert sents == ["abc", "cde", "efg"] and nxt == ["d", "f", "h"]
    _, ci, _ = tg.char_vocabulary("abcdefgh")
    x, y = tg.vectorize(sents, nxt, ci)
    assert x.shape == (3, 3, 8) and y.shape == (3, 8)
    assert x.sum() == 9 and np.argmax(x[1, 2]) == ci["e"] and np.argmax(y[2]) == ci["h"]


def test_temperature_reweighting_and_sampling():
    p = np.array([0.7, 0.2, 0.1, 0.0])  # an exact zero: clipped before the log (no NaN)
    ents = []
    for t in (0.2, 0.6, 1.0, 1.3):
        q = tg.reweight(p, t)
        assert np.all(np.isfinite(q)) and q.sum() == pytest.approx(1)
        ents.append(-(q[q > 0] * np.log(q[q > 0])).sum())
    assert ents == sorted(ents)  # entropy increases with the temperature
    np.testing.assert_allclose(tg.reweight(p[:3], 1.0), p[:3])
    assert tg.sample(p, 0) == 0
    rng = np.random.default_rng(0)
    draws = np.bincount([tg.sample(p, 1.0, rng) for _ in range(4000)], minlength=4) / 4000
    np.testing.assert_allclose(draws, p, atol=0.03)
    with pytest.raises(ValueError):
        tg.reweight(p, -1)


def test_char_lstm_learns_a_repeating_text():
    nerve.set_random_seed(0)
    text = "abcde" * 60
    lm = tg.CharLanguageModel(text, maxlen=6, step=1, units=16, learning_rate=0.02)
    hist = lm.fit(epochs=6, batch_size=32)
    assert hist.history["loss"][-1] < 0.3 * hist.history["loss"][0]
    out = lm.generate("abcdea", length=10, temperature=0.2, rng=np.random.default_rng(0))
    assert out == "bcdeabcdea"


def test_prepare_pg100_cleaning():
    raw = "\n".join(["header"] * 3 + ["Line ONE", "<<LICENCE>>", "Dramatis Personae x", "<<X>>", "Two"])
    out = tg.prepare_pg100(raw, first_line=3, last_line=100)
    assert "licence" not in out and "dramatis" not in out and "line one" in out and "two" in out
