"""IMDB / Reuters: Keras 3 semantics on fixture archives, the plain-npz conversion, and the refusal of
crafted pickles (no code runs)."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from nerve.datasets import imdb, reuters
from nerve.datasets._fetch import DatasetFormatError, cache_dir
from nerve.datasets._npz import parse_npz, safe_unpickle


def obj(seqs):
    a = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        a[i] = s
    return a


def fake_seqs(rng, n, vocab=60, lo=1, hi=25):
    return [rng.integers(1, vocab, rng.integers(lo, hi)).tolist() for _ in range(n)]


def keras_imdb(f, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3):
    """Keras 3's keras/src/datasets/imdb.py load_data body (after np.load), as the oracle."""
    x_train, labels_train, x_test, labels_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]
    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]
    else:
        x_train, x_test = [list(x) for x in x_train], [list(x) for x in x_test]
    if maxlen:
        keep = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        x_train, labels_train = [x_train[i] for i in keep], labels_train[keep]
        keep = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_test, labels_test = [x_test[i] for i in keep], labels_test[keep]
    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    idx = len(x_train)
    return (xs[:idx], labels[:idx]), (xs[idx:], labels[idx:])


@pytest.fixture
def imdb_file(home, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    f = {"x_train": obj(fake_seqs(rng, 40)), "y_train": rng.integers(0, 2, 40),
         "x_test": obj(fake_seqs(rng, 30)), "y_test": rng.integers(0, 2, 30)}
    np.savez(tmp_path / "imdb_fixture.npz", **f)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    return f


@pytest.mark.parametrize("kw", [{}, {"num_words": 20}, {"num_words": 30, "skip_top": 5, "maxlen": 15},
                                {"oov_char": None, "num_words": 25}, {"start_char": None, "index_from": 0},
                                {"seed": 7, "index_from": 2}])
def test_imdb_matches_keras(imdb_file, kw):
    (x, y), (xt, yt) = imdb.load_data(path="imdb_fixture.npz", **kw)
    (kx, ky), (kxt, kyt) = keras_imdb(imdb_file, **kw)
    assert x.dtype == object and x.ndim == 1 and x.tolist() == kx and xt.tolist() == kxt
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(yt, kyt)


def test_imdb_converted_once_to_plain_npz(imdb_file):
    first = imdb.load_data(path="imdb_fixture.npz", num_words=20)
    assert imdb.last_source == "data_dir"
    plain = os.path.join(cache_dir("imdb"), "imdb_fixture.plain.npz")
    assert os.path.isfile(plain)
    with np.load(plain, allow_pickle=False) as d:  # a plain npz: loads without pickle
        assert all(d[k].dtype != object for k in d.files)
    second = imdb.load_data(path="imdb_fixture.npz", num_words=20)
    assert imdb.last_source == "cache (converted)"
    assert first[0][0].tolist() == second[0][0].tolist() and first[1][0].tolist() == second[1][0].tolist()


def test_imdb_maxlen_too_small(imdb_file):
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(path="imdb_fixture.npz", maxlen=1)


def test_reuters_matches_keras(home, tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    xs, ys = obj(fake_seqs(rng, 50)), rng.integers(0, 46, 50)
    np.savez(tmp_path / "reuters_fixture.npz", x=xs, y=ys)
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    (x, y), (xt, yt) = reuters.load_data(path="reuters_fixture.npz", num_words=30, test_split=0.3)
    idx = np.arange(50)
    np.random.RandomState(113).shuffle(idx)
    ref = [[1] + [w + 3 for w in xs[i]] for i in idx]
    ref = [[w if w < 30 else 2 for w in s] for s in ref]
    assert x.tolist() + xt.tolist() == ref and len(x) == 35
    np.testing.assert_array_equal(np.concatenate([y, yt]), ys[idx])


def test_word_index(home, tmp_path, monkeypatch):
    (tmp_path / "wi.json").write_text('{"the": 1, "movie": 2}')
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    assert imdb.get_word_index("wi.json") == {"the": 1, "movie": 2}
    (tmp_path / "bad.json").write_text('{"the": "x"}')
    with pytest.raises(DatasetFormatError):
        imdb.get_word_index("bad.json")


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class _EvilEval:
    def __reduce__(self):
        return (eval, ("__import__('os')",))


def _npz_with_payload(payload):
    """An npz whose member 'x_train' is an object .npy header followed by ``payload`` (a pickle)."""
    buf = io.BytesIO()
    np.save(buf, obj([[1, 2]]), allow_pickle=True)
    raw = buf.getvalue()
    header_len = 10 + int.from_bytes(raw[8:10], "little")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("x_train.npy", raw[:header_len] + payload)
    return out.getvalue()


@pytest.mark.parametrize("evil", ["system", "eval"])
def test_crafted_pickle_cannot_execute_code(tmp_path, evil):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(marker) if evil == "system" else _EvilEval(), protocol=2)
    with pytest.raises(DatasetFormatError, match="refusing to load global"):
        parse_npz(_npz_with_payload(payload), allow_object=True)
    with pytest.raises(DatasetFormatError, match="refusing"):
        safe_unpickle(payload)
    assert not marker.exists()


def test_crafted_pickle_through_loader(home, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.npz").write_bytes(_npz_with_payload(pickle.dumps(_Evil(marker))))
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetFormatError, match="refusing to load global 'posix.system'|refusing to load global"):
        imdb.load_data(path="evil.npz")
    assert not marker.exists()
    assert not os.path.exists(os.path.join(cache_dir("imdb"), "evil.plain.npz"))


def test_numpy1_pickles_of_object_arrays_load():
    """Keras' archives were written with numpy 1.x, whose pickles name numpy.core.multiarray._reconstruct."""
    for protocol in (2, 3):
        payload = pickle.dumps(obj([[1, 2], [3]]), protocol=protocol)
        payload = payload.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        assert b"numpy.core.multiarray" in payload
        assert safe_unpickle(payload).tolist() == [[1, 2], [3]]


def test_object_arrays_refused_by_default():
    buf = io.BytesIO()
    np.savez(buf, x=obj([[1]]))
    with pytest.raises(DatasetFormatError, match="object array"):
        parse_npz(buf.getvalue())


def test_non_int_sequences_refused(home, tmp_path, monkeypatch):
    np.savez(tmp_path / "bad.npz", x_train=obj([[1, "a"]]), y_train=np.zeros(1), x_test=obj([[1]]),
             y_test=np.zeros(1))
    monkeypatch.setenv("NERVE_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetFormatError, match="not a list of non-negative ints"):
        imdb.load_data(path="bad.npz")


def test_a_pickled_shape_that_claims_more_items_than_its_list_is_an_error_not_a_crash():
    """NumPy's ndarray.__setstate__ reads past the list of an object array whose shape claims more items (a
    segmentation fault the fuzz test found); the safe unpickler checks the state before any array is made."""
    payload = pickle.dumps(obj([[1, 2, 3], [4, 5]]), protocol=4)
    bad = payload.replace(b"K\x02\x85", b"K\x12\x85", 1)  # the shape (2,) -> (18,)
    assert bad != payload
    with pytest.raises(DatasetFormatError, match=r"shape \(18,\) needs a list of 18 items, got 2"):
        safe_unpickle(bad)
    with pytest.raises(DatasetFormatError, match="needs a list of 18 items"):
        parse_npz(_npz_with_payload(bad), allow_object=True)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickled_arrays_round_trip_through_the_checked_stand_ins(protocol):
    a = obj([[1, 2], [3]] + [None])
    a[2] = np.arange(3, dtype=">i4")
    out = safe_unpickle(pickle.dumps(a, protocol=protocol))
    assert out.dtype == object and out[0] == [1, 2] and out[1] == [3]
    assert out[2].dtype == np.dtype(">i4") and out[2].tolist() == [0, 1, 2]
    f = np.arange(6.0).reshape(2, 3).T.copy(order="F")
    g = safe_unpickle(pickle.dumps(f, protocol=protocol))
    np.testing.assert_array_equal(g, f)
    assert g.flags["F_CONTIGUOUS"] and g.flags["WRITEABLE"]


@pytest.mark.parametrize("tamper, match", [
    (lambda p: p.replace(b"\x8c\x02O8", b"\x8c\x02V0"), "unsupported dtype|bad dtype"),
    (lambda p: p.replace(b"\x8c\x07ndarray", b"\x8c\x07matrix\x00", 1), "refusing to load global"),
])
def test_tampered_array_pickles_are_refused(tamper, match):
    payload = pickle.dumps(obj([[1], [2]]), protocol=4)
    bad = tamper(payload)
    assert bad != payload
    with pytest.raises(DatasetFormatError, match=match):
        safe_unpickle(bad)
