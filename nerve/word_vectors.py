"""Word vectors (seed-002 §8.8): cosine similarity, nearest words, analogies, and Bolukbasi et al. (2016)
debiasing (neutralize, equalize) on any embedding matrix: a trained ``Embedding`` layer or a GloVe-format
text file (``word v1 v2 ... vd`` per line).

The book's bugs are fixed (seed-002 errata 35):
- neutralize: e_bias = (e . g / ||g||^2) g and e_debiased = e - e_bias (the book divides the dot product
  by the unit vector), so cos(e_debiased, g) = 0 up to rounding;
- equalize: projections use dot products (the book multiplies elementwise), so the pair ends up with
  equal and opposite components along g and the same distance to the orthogonal subspace.
"""
import numpy as np


def cosine_similarity(u, v, eps=0.0):
    """u . v / (||u|| ||v||); 0 when either vector is zero. Broadcasts over leading axes of ``u``."""
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    num = np.sum(u * v, axis=-1)
    den = np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1) + eps
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    return float(out) if out.ndim == 0 else out


def project(e, g):
    """Component of ``e`` along ``g``: (e . g / ||g||^2) g."""
    e, g = np.asarray(e, np.float64), np.asarray(g, np.float64)
    gg = g @ g
    if gg == 0:
        raise ValueError("project: the bias direction 'g' is the zero vector")
    return (e @ g / gg) * g


def neutralize(e, g):
    """Remove the bias component: e - proj_g(e) (then cos(result, g) = 0)."""
    return np.asarray(e, np.float64) - project(e, g)


def equalize(e1, e2, g, form="paper"):
    """Equalize a pair (e.g. man/woman) along the bias axis ``g`` (Bolukbasi et al. 2016, Algorithm 1):
    mu = (e1 + e2)/2, mu_B = proj_g(mu), nu = mu - mu_B, and for each word
    e_i = nu + sqrt(|1 - ||nu||^2|) (proj_g(e_i) - mu_B) / ||proj_g(e_i) - mu_B||.
    The pair gets equal and opposite components along g, the same orthogonal part nu, and unit norm.
    ``form='book'``: the seed's (Coursera) denominator ||e_i - nu - mu_B|| instead, with the book's
    elementwise products replaced by dot products (same symmetry, norms below one).
    The inputs are expected to have unit norm (``WordVectors.equalize`` normalises them)."""
    if form not in ("paper", "book"):
        raise ValueError(f"equalize: argument 'form' expected 'paper' or 'book', got {form!r}")
    e1, e2, g = (np.asarray(a, np.float64) for a in (e1, e2, g))
    mu = (e1 + e2) / 2
    mu_b = project(mu, g)
    mu_perp = mu - mu_b
    scale = np.sqrt(abs(1 - mu_perp @ mu_perp))
    out = []
    for e in (e1, e2):
        e_b = project(e, g)
        d = np.linalg.norm(e_b - mu_b) if form == "paper" else np.linalg.norm(e - mu_perp - mu_b)
        out.append(scale * (e_b - mu_b) / (d if d > 0 else 1.0) + mu_perp)
    return out[0], out[1]


class WordVectors:
    """A vocabulary and its (n_words, dim) matrix, with similarity queries, analogies and debiasing."""

    def __init__(self, words, vectors):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or len(words) != len(vectors):
            raise ValueError(f"WordVectors: expected {len(words)} words and a (n_words, dim) matrix, got shape "
                             f"{vectors.shape}")
        self.words = list(words)
        self.vectors = vectors
        self.index = {w: i for i, w in enumerate(self.words)}
        self._unit = None

    @classmethod
    def from_embedding(cls, embedding, word_index):
        """From an ``Embedding`` layer (or a matrix) and a ``word -> row`` dict (e.g. ``Tokenizer.word_index``)."""
        m = embedding.get_weights()[0] if hasattr(embedding, "get_weights") else np.asarray(embedding)
        items = sorted((i, w) for w, i in word_index.items() if 0 <= i < len(m))
        return cls([w for _, w in items], m[[i for i, _ in items]])

    # ------------------------------------------------------------------ lookup
    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word):
        try:
            return self.vectors[self.index[word]]
        except KeyError:
            raise KeyError(f"WordVectors: {word!r} is not in the vocabulary ({len(self)} words)") from None

    def _vec(self, w):
        return self[w] if isinstance(w, str) else np.asarray(w)

    @property
    def unit(self):
        if self._unit is None:
            v = self.vectors.astype(np.float64)
            n = np.linalg.norm(v, axis=1, keepdims=True)
            self._unit = v / np.where(n > 0, n, 1)
        return self._unit

    # ------------------------------------------------------------------ queries
    def similarity(self, a, b):
        return cosine_similarity(self._vec(a), self._vec(b))

    def most_similar(self, query, topn=10, exclude=()):
        """The ``topn`` (word, cosine) pairs closest to a word or a vector (the query word excluded)."""
        v = np.asarray(self._vec(query), np.float64)
        nv = np.linalg.norm(v)
        sims = self.unit @ (v / nv if nv > 0 else v)
        skip = set(exclude) | ({query} if isinstance(query, str) else set())
        for w in skip:
            if w in self.index:
                sims[self.index[w]] = -np.inf
        top = np.argsort(-sims)[:topn]
        return [(self.words[i], float(sims[i])) for i in top]

    def analogy(self, a, b, c, topn=1):
        """a : b :: c : ?  -> argmax over the vocabulary (a, b, c excluded) of cos(e_b - e_a, e_w - e_c)
        (seed-002 ``word_analogy``, vectorised). ``topn`` > 1 returns a list of (word, cosine)."""
        ea, eb, ec = (np.asarray(self[w], np.float64) for w in (a, b, c))
        d = eb - ea
        diff = self.vectors.astype(np.float64) - ec
        sims = cosine_similarity(diff, d)
        for w in (a, b, c):
            sims[self.index[w]] = -np.inf
        top = np.argsort(-sims)[:topn]
        res = [(self.words[i], float(sims[i])) for i in top]
        return res[0][0] if topn == 1 else res

    # ------------------------------------------------------------------ debiasing
    def bias_direction(self, pairs):
        """Mean of e_b - e_a over pairs like [('man', 'woman'), ('he', 'she')] (one pair: the book's g)."""
        return np.mean([np.asarray(self[b], np.float64) - self[a] for a, b in pairs], axis=0)

    def neutralize(self, word, g, inplace=False):
        out = neutralize(self[word], g)
        if inplace:
            self._set(word, out)
        return out

    def equalize(self, w1, w2, g, inplace=False, form="paper"):
        """Equalize the pair on unit-normalised vectors (as the algorithm assumes)."""
        e1, e2 = (self.unit[self.index[w]] for w in (w1, w2))
        a, b = equalize(e1, e2, g, form=form)
        if inplace:
            self._set(w1, a)
            self._set(w2, b)
        return a, b

    def _set(self, word, vec):
        self.vectors = self.vectors.copy() if not self.vectors.flags.writeable else self.vectors
        self.vectors[self.index[word]] = vec
        self._unit = None

    def embedding_matrix(self, word_index, dim=None, missing="zeros"):
        """(max index + 1, dim) matrix for ``Embedding(weights=[...])`` from a ``word -> index`` dict; rows of
        words not found are zeros (``missing='zeros'``) or small random values ('random')."""
        dim = dim or self.vectors.shape[1]
        n = max(word_index.values()) + 1
        m = np.zeros((n, dim), self.vectors.dtype)
        if missing == "random":
            m = np.random.default_rng(0).uniform(-0.05, 0.05, (n, dim)).astype(self.vectors.dtype)
        for w, i in word_index.items():
            if w in self.index:
                m[i] = self.vectors[self.index[w]][:dim]
        return m


def load_glove(path, dtype="float32", max_words=None, vocab=None, encoding="utf-8"):
    """Read a GloVe-format text file (``word v1 ... vd`` per line) into ``WordVectors``. ``vocab`` keeps only
    those words; ``max_words`` stops after that many lines. Malformed lines raise with their line number."""
    words, rows, dim = [], [], None
    keep = set(vocab) if vocab is not None else None
    with open(path, encoding=encoding) as f:
        for n, line in enumerate(f, 1):
            if max_words is not None and n > max_words:
                break
            parts = line.rstrip("\n").rstrip().split(" ")
            if len(parts) < 2:
                continue
            word = parts[0]
            if keep is not None and word not in keep:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise ValueError(f"load_glove: line {n} of {path} has {len(parts) - 1} values, expected {dim}")
            words.append(word)
            rows.append(np.asarray(parts[1:], dtype=dtype))
    if not rows:
        raise ValueError(f"load_glove: no vectors read from {path}")
    return WordVectors(words, np.stack(rows))
