"""Character-level text generation with an LSTM language model (seed-002 §8.7, Chollet & Allaire).

Pipeline: a character vocabulary -> windows of ``maxlen`` characters every ``step`` characters, each with
the next character as target -> one-hot arrays -> LSTM(128) + Dense(softmax), RMSprop(0.01), categorical
cross-entropy -> generation by sliding the window and sampling the next character.

Temperature sampling: p_i(T) = exp(log p_i / T) / sum_j exp(log p_j / T). Low T is conservative and
repetitive, high T more diverse with more mistakes. The probabilities are clipped to [1e-12, 1] before
the log (seed-002 errata: log(0) = -inf would give NaN); T = 0 means greedy (argmax).
"""
import re

import numpy as np

from . import backend

EPS = 1e-12


def char_vocabulary(text):
    """Sorted unique characters, ``char -> index`` and ``index -> char`` dicts."""
    chars = sorted(set(text))
    return chars, {c: i for i, c in enumerate(chars)}, dict(enumerate(chars))


def make_windows(text, maxlen=60, step=3):
    """``sentences`` (windows of ``maxlen`` chars starting every ``step`` chars) and ``next_chars``."""
    if maxlen <= 0 or step <= 0:
        raise ValueError(f"make_windows: 'maxlen' and 'step' must be positive, got {maxlen}, {step}")
    if len(text) <= maxlen:
        raise ValueError(f"make_windows: the text has {len(text)} characters, need more than maxlen={maxlen}")
    starts = range(0, len(text) - maxlen, step)
    return [text[i:i + maxlen] for i in starts], [text[i + maxlen] for i in starts]


def vectorize(sentences, next_chars, char_indices, dtype="float32"):
    """One-hot x of shape (n, maxlen, n_chars) and y of shape (n, n_chars) (vectorised, no Python loop per char)."""
    n, maxlen, v = len(sentences), len(sentences[0]), len(char_indices)
    lut = np.zeros(0x110000 if max(map(ord, char_indices)) >= 256 else 256, np.int64)
    for c, i in char_indices.items():
        lut[ord(c)] = i
    codes = np.array([[ord(c) for c in s] for s in sentences], np.int64)
    x = np.zeros((n, maxlen, v), dtype)
    np.put_along_axis(x, lut[codes][..., None], 1, axis=-1)
    y = np.zeros((n, v), dtype)
    y[np.arange(n), lut[np.array([ord(c) for c in next_chars], np.int64)]] = 1
    return x, y


def reweight(preds, temperature=1.0):
    """The temperature-reweighted distribution (clip before log; max-subtracted softmax)."""
    p = np.asarray(preds, np.float64).reshape(-1)
    if temperature < 0:
        raise ValueError(f"reweight: argument 'temperature' must be >= 0, got {temperature}")
    if temperature == 0:
        out = np.zeros_like(p)
        out[np.argmax(p)] = 1.0
        return out
    z = np.log(np.clip(p, EPS, 1.0)) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


def sample(preds, temperature=1.0, rng=None):
    """Index drawn from ``preds`` reweighted by ``temperature`` (one multinomial draw; T=0: argmax)."""
    p = reweight(preds, temperature)
    if temperature == 0:
        return int(np.argmax(p))
    rng = rng or backend.rng()
    return int(rng.choice(len(p), p=p))


def build_char_model(maxlen, n_chars, units=128, learning_rate=0.01):
    """The book's model: LSTM(units) on one-hot windows -> Dense(n_chars, softmax); RMSprop(lr)."""
    from . import layers, optimizers
    from .models import Sequential
    model = Sequential([layers.Input(shape=(maxlen, n_chars)), layers.LSTM(units),
                        layers.Dense(n_chars, activation="softmax")])
    model.compile(optimizer=optimizers.RMSprop(learning_rate=learning_rate), loss="categorical_crossentropy")
    return model


class CharLanguageModel:
    """A char-level LSTM language model: ``fit`` on a text, ``generate`` from a seed."""

    def __init__(self, text, maxlen=60, step=3, units=128, learning_rate=0.01, chars=None):
        self.text, self.maxlen, self.step = text, int(maxlen), int(step)
        self.chars = sorted(set(chars or text))
        self.char_indices = {c: i for i, c in enumerate(self.chars)}
        self.indices_char = dict(enumerate(self.chars))
        self.model = build_char_model(self.maxlen, len(self.chars), units, learning_rate)

    def data(self):
        return vectorize(*make_windows(self.text, self.maxlen, self.step), self.char_indices)

    def fit(self, epochs=1, batch_size=128, verbose=0, **kwargs):
        x, y = self.data()
        return self.model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, **kwargs)

    def next_char_probs(self, window):
        x = np.zeros((1, self.maxlen, len(self.chars)), "float32")
        window = window[-self.maxlen:]
        off = self.maxlen - len(window)  # a short seed is left-padded with all-zero steps
        for t, c in enumerate(window):
            if c in self.char_indices:
                x[0, off + t, self.char_indices[c]] = 1
        with backend.no_grad():
            return self.model(x, training=False).numpy()[0]

    def generate(self, seed, length=500, temperature=1.0, rng=None):
        """``length`` new characters after ``seed``, sliding the ``maxlen`` window."""
        rng = rng or backend.rng()
        out = []
        window = seed
        for _ in range(length):
            c = self.indices_char[sample(self.next_char_probs(window), temperature, rng)]
            out.append(c)
            window = (window + c)[-self.maxlen:]
        return "".join(out)


def prepare_pg100(raw, first_line=173, last_line=124195):
    """The book's cleaning of Project Gutenberg's complete Shakespeare (pg100.txt): drop the first
    ``first_line`` lines and lines from ``last_line`` on, join with spaces, split at the licence blocks
    ``<<...>>``, drop pieces containing 'Dramatis Personae', lower-case, join with newlines."""
    lines = raw.splitlines()[first_line:last_line - 1]
    pieces = re.split(r"<<[^>]*>>", " ".join(lines))
    return "\n".join(p.lower() for p in pieces if "Dramatis Personae" not in p)
