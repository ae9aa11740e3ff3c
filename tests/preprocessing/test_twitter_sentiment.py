"""Acceptance (issue 4, slow): on twitter_sentiment.csv (3 classes), Embedding + LSTM beats a bag-of-words
logistic-regression baseline measured in the same run on the same split and vocabulary."""
import csv
import os
import time

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.preprocessing import Tokenizer, pad_sequences

DATA = os.path.join(os.environ.get("NERVE_DATA_DIR", "/work/shared/data"), "twitter_sentiment.csv")
VOCAB, MAXLEN = 20000, 32


def load_split(seed=0, test_fraction=0.2):
    with open(DATA, encoding="utf-8", errors="replace") as f:
        rows = list(csv.DictReader(f))
    classes = sorted({r["sentiment"] for r in rows})
    texts = [r["text"] for r in rows]
    y = np.array([classes.index(r["sentiment"]) for r in rows])
    perm = np.random.default_rng(seed).permutation(len(texts))
    n_test = int(len(texts) * test_fraction)
    return texts, y, perm[n_test:], perm[:n_test], classes


def bag_of_words(seqs, n_cols):
    """Binary document-term matrix as a scipy CSR matrix (the dense one would be 38k x 20k)."""
    import scipy.sparse as sp
    rows = np.repeat(np.arange(len(seqs)), [len(q) for q in seqs])
    cols = np.concatenate([np.asarray(q, np.int64) for q in seqs])
    m = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(seqs), n_cols))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(DATA), reason=f"{DATA} not found (set NERVE_DATA_DIR)")
def test_embedding_lstm_beats_bag_of_words_logistic_regression():
    sklearn_lm = pytest.importorskip("sklearn.linear_model")
    texts, y, tr, te, classes = load_split()
    tok = Tokenizer(num_words=VOCAB, oov_token="<unk>")
    tok.fit_on_texts([texts[i] for i in tr])
    seqs = tok.texts_to_sequences(texts)

    t0 = time.perf_counter()
    x_bow = bag_of_words(seqs, VOCAB)
    lr = sklearn_lm.LogisticRegression(max_iter=1000).fit(x_bow[tr], y[tr])
    base_acc = float((lr.predict(x_bow[te]) == y[te]).mean())
    t_base = time.perf_counter() - t0

    x = pad_sequences(seqs, maxlen=MAXLEN)
    nerve.set_random_seed(0)
    model = nerve.Sequential([
        layers.Input(shape=(MAXLEN,), dtype="int32"),
        layers.Embedding(VOCAB, 100, mask_zero=True),
        layers.Dropout(0.5),
        layers.LSTM(64),
        layers.Dropout(0.5),
        layers.Dense(len(classes), activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    # two epochs: like the seed's IMDb recurrent models, these overfit after one or two epochs
    hist = model.fit(x[tr], y[tr], batch_size=128, epochs=2, verbose=0)
    t_lstm = time.perf_counter() - t0
    _, acc = model.evaluate(x[te], y[te], batch_size=512, verbose=0)
    print(f"twitter sentiment: BoW logistic regression {base_acc:.4f} ({t_base:.1f} s); Embedding+LSTM "
          f"{acc:.4f} ({len(hist.history['loss'])} epochs, {t_lstm:.1f} s)")
    assert acc > base_acc
