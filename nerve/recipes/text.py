"""Text recipes: sentiment with Embedding / SimpleRNN / LSTM / stacked RNN / BiLSTM (seed-000-003-004 §1.15,
IMDB; offline on the twitter corpus), and character-level text generation (seed-002 §1.22)."""
import numpy as np

from ._base import RecipeUnavailable, recipe
from ._data import table

S0 = "seed-000-003-004.md"
VOCAB, MAXLEN = 10000, 20


def sentiment_data(ctx, maxlen=MAXLEN):
    """IMDB (num_words 10,000, padded to maxlen) when a local copy exists; else the twitter corpus, negative
    vs positive tweets (neutral dropped), tokenised to the 10,000 most frequent words, 80/20 split."""
    from ..datasets import DatasetError, imdb
    from ..preprocessing import Tokenizer, pad_sequences
    try:
        (xtr, ytr), (xte, yte) = imdb.load_data(num_words=VOCAB, download=False)
        ctx.set(data_source="IMDB (local copy)")
    except DatasetError:
        ctx.note("IMDB is not available offline: running on the twitter sentiment corpus (negative vs positive "
                 "tweets, neutral dropped) as the nearest offline stand-in; tweets are short, so maxlen 20 fits")
        texts, labels = table(ctx, "twitter_sentiment")
        keep = labels != 1
        texts, y = texts[keep], (labels[keep] == 2).astype("int64")
        idx = np.random.default_rng(1001).permutation(len(texts))
        if ctx.quick:
            idx = idx[:800]
        ntr = int(0.8 * len(idx))
        tok = Tokenizer(num_words=VOCAB)
        tok.fit_on_texts(list(texts[idx[:ntr]]))
        xtr, xte = (tok.texts_to_sequences(list(texts[i])) for i in (idx[:ntr], idx[ntr:]))
        ytr, yte = y[idx[:ntr]], y[idx[ntr:]]
    else:
        if ctx.quick:
            xtr, ytr, xte, yte = xtr[:600], ytr[:600], xte[:300], yte[:300]
    xtr, xte = (pad_sequences(x, maxlen=maxlen).astype("int64") for x in (xtr, xte))
    ctx.set(n_train=len(xtr), n_test=len(xte), vocab=VOCAB, maxlen=maxlen,
            positive_rate_test=float(np.mean(yte)))
    return (xtr, np.asarray(ytr, "float32")), (xte, np.asarray(yte, "float32"))


def _sentiment(ctx, body, batch_size):
    from .. import layers as L
    from ..models import Sequential
    (xtr, ytr), (xte, yte) = sentiment_data(ctx)
    model = Sequential([L.Input((MAXLEN,), dtype="int64"), L.Embedding(VOCAB, 8), *body(L),
                        L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    ctx.set(params=int(model.count_params()), batch_size=batch_size)
    ctx.fit(model, xtr, ytr, epochs=ctx.epochs(10, 1), batch_size=batch_size, validation_split=0.2)
    p = np.asarray(model.predict(xte, batch_size=512, verbose=0)).ravel()
    out = ctx.classification(yte.astype("int64"), (p > 0.5).astype("int64"), class_names=("negative", "positive"))
    try:
        from ..evaluation import roc_auc_score
        out["auc"] = float(roc_auc_score(yte, p))
    except (ImportError, ValueError):
        pass
    out["params"] = int(model.count_params())
    return out


_ARCH = "Embedding(10000, 8) -> {} -> Dense(1, sigmoid); RMSprop, binary CE, 10 epochs, validation_split 0.2"


@recipe("sentiment_embedding", "Sentiment: Embedding + Flatten + Dense", S0, "§1.15 M10, R15-R16",
        "IMDB (maxlen 20); offline stand-in: twitter sentiment corpus", _ARCH.format("Flatten") + ", batch 32",
        "IMDB test accuracy 0.760 (Kappa 0.521); 80,161 params", needs=("twitter",))
def sentiment_embedding(ctx):
    return _sentiment(ctx, lambda L: [L.Flatten()], 32)


@recipe("sentiment_simplernn", "Sentiment: SimpleRNN(32)", S0, "§1.15 M11, R17",
        "IMDB (maxlen 20); offline stand-in: twitter sentiment corpus", _ARCH.format("SimpleRNN(32)") + ", batch 128",
        "IMDB test accuracy 72% (maxlen 100: ~80%); 81,345 params", needs=("twitter",))
def sentiment_simplernn(ctx):
    return _sentiment(ctx, lambda L: [L.SimpleRNN(32)], 128)


@recipe("sentiment_stacked_rnn", "Sentiment: three stacked SimpleRNN(32)", S0, "§1.15 M12, R18",
        "IMDB (maxlen 20); offline stand-in: twitter sentiment corpus",
        _ARCH.format("SimpleRNN(32, return_sequences) x2 -> SimpleRNN(32)") + ", batch 128",
        "IMDB test accuracy ~70% (maxlen 100: ~82%); 85,505 params", needs=("twitter",))
def sentiment_stacked_rnn(ctx):
    return _sentiment(ctx, lambda L: [L.SimpleRNN(32, return_sequences=True), L.SimpleRNN(32, return_sequences=True),
                                      L.SimpleRNN(32)], 128)


@recipe("sentiment_lstm", "Sentiment: LSTM(32)", S0, "§1.15 M13, R20",
        "IMDB (maxlen 20); offline stand-in: twitter sentiment corpus", _ARCH.format("LSTM(32)") + ", batch 128",
        "IMDB test accuracy ~76% (maxlen 100: ~82%); 85,281 params", needs=("twitter",))
def sentiment_lstm(ctx):
    return _sentiment(ctx, lambda L: [L.LSTM(32)], 128)


@recipe("sentiment_bilstm", "Sentiment: Bidirectional LSTM(32)", S0, "§1.15 M14, R21",
        "IMDB (maxlen 20); offline stand-in: twitter sentiment corpus",
        _ARCH.format("Bidirectional(LSTM(32))") + ", batch 128",
        "IMDB test accuracy ~75% (maxlen 100: ~83%); 90,561 params", needs=("twitter",))
def sentiment_bilstm(ctx):
    return _sentiment(ctx, lambda L: [L.Bidirectional(L.LSTM(32))], 128)


def _corpus(ctx):
    """Shakespeare (pg100.txt) when it is in NERVE_DATA_DIR / the cache; else English prose that ships with
    Python itself (pydoc's topic help texts) as the offline stand-in."""
    import os
    from ..datasets import cache_dir
    from ..text_generation import prepare_pg100
    dirs = [cache_dir("pg100")] + [d for d in os.environ.get("NERVE_DATA_DIR", "").split(os.pathsep) if d]
    for d in dirs:
        p = os.path.join(d, "pg100.txt")
        if os.path.exists(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                ctx.set(data_source=f"Shakespeare, Project Gutenberg pg100.txt ({p})")
                return prepare_pg100(f.read())
    try:
        from pydoc_data.topics import topics
    except ImportError as e:  # pragma: no cover - stripped Python builds
        raise RecipeUnavailable("char_textgen: no corpus (pg100.txt not found and pydoc_data missing)") from e
    ctx.note("Shakespeare (pg100.txt) is not available offline: training on the English help texts that ship "
             "with Python (pydoc_data.topics) as the stand-in corpus")
    ctx.set(data_source="pydoc_data.topics (Python's help texts)")
    return "\n".join(topics[k] for k in sorted(topics)).lower()


@recipe("char_textgen", "Character-level LSTM text generation with temperature", "seed-002.md",
        "§1.22 (Ch. 8.7), §5.15", "Shakespeare pg100.txt; offline stand-in: Python's help texts",
        "one-hot windows of 60 chars (step 3) -> LSTM(128) -> Dense(n_chars, softmax); RMSprop(0.01), "
        "categorical CE, batch 128", "samples at temperatures 0.2 / 0.5 / 1.0 / 1.2 (qualitative; no number)")
def char_textgen(ctx):
    from ..text_generation import CharLanguageModel
    text = _corpus(ctx)
    text = text[:ctx.pick(60_000, 4_000)]  # one-hot windows: 60k chars -> 20k x 60 x n_chars floats
    maxlen = ctx.pick(60, 20)
    lm = CharLanguageModel(text, maxlen=maxlen, step=3, units=ctx.pick(128, 32))
    x, y = lm.data()
    ctx.set(corpus_chars=len(text), n_chars=len(lm.chars), windows=len(x), maxlen=maxlen)
    ctx.fit(lm.model, x, y, epochs=ctx.epochs(20, 1), batch_size=128)
    seed_text = text[:maxlen]
    rng = np.random.default_rng(ctx.seed)
    samples = {f"T={t}": lm.generate(seed_text, length=ctx.pick(300, 40), temperature=t, rng=rng)
               for t in (0.2, 0.5, 1.0, 1.2)}
    for k, v in samples.items():
        ctx.log(f"  {k}: {v[:120]!r}")
    loss = float(ctx.history.history["loss"][-1])
    return {"final_loss": loss, "perplexity_per_char": float(np.exp(loss)), "seed_text": seed_text,
            "samples": samples}
