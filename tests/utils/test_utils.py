"""nerve.utils: to_categorical, normalize, pad_sequences (Keras semantics), plot_model, clear_session."""
import numpy as np
import pytest

import nerve
from nerve.utils import clear_session, normalize, pad_sequences, plot_model, set_random_seed, to_categorical


def test_to_categorical_matches_keras():
    np.testing.assert_array_equal(to_categorical([0, 2, 1], 3), np.eye(3)[[0, 2, 1]])
    assert to_categorical([0, 2, 1]).shape == (3, 3)  # num_classes = max + 1
    assert to_categorical(np.array([[1], [0]]), 4).shape == (2, 4)  # trailing axis of 1 dropped
    assert to_categorical(np.zeros((2, 5), int), 3).shape == (2, 5, 3)
    assert to_categorical([1.0, 0.0], 2).dtype == np.float32
    with pytest.raises(ValueError, match=r"\[0, 3\), got 3 at flat index 1"):
        to_categorical([0, 3], 3)
    with pytest.raises(ValueError, match="got -1"):
        to_categorical([-1, 0])
    with pytest.raises(ValueError, match="non-integer"):
        to_categorical([0.5])


def test_normalize_matches_keras():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(normalize(x, axis=0), x / np.linalg.norm(x, axis=0, keepdims=True))
    np.testing.assert_allclose(normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0], [1, 0]])
    t = nerve.tensor(x.astype("float64"), requires_grad=True)
    out = normalize(t)
    np.testing.assert_allclose(out.numpy()[0], [0.6, 0.8])
    np.testing.assert_allclose(out.numpy(), normalize(x))
    (out * nerve.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    assert np.all(np.isfinite(t.grad.numpy()))  # the zero row too
    np.testing.assert_allclose(normalize(nerve.tensor(x), order=1).numpy(), normalize(x, order=1), rtol=1e-6)


def test_normalize_gradcheck():
    x = np.random.default_rng(11).normal(size=(4, 3))  # not seed 0: gradcheck's cotangent would equal x
    nerve.gradcheck(lambda t: normalize(t), [x])
    nerve.gradcheck(lambda t: normalize(t, axis=0, order=3), [x])


def test_pad_sequences_matches_keras():
    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(pad_sequences(seqs), [[0, 0, 1, 2, 3], [0, 0, 0, 0, 4], [5, 6, 7, 8, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3),
                                  [[1, 2, 3], [0, 0, 4], [7, 8, 9]])  # pre-truncation keeps the end
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, padding="post", truncating="post"),
                                  [[1, 2, 3], [4, 0, 0], [5, 6, 7]])
    out = pad_sequences(seqs, maxlen=4, value=-1.5, dtype="float32")
    assert out.dtype == np.float32 and out[1, 0] == -1.5
    assert pad_sequences([[], [1]]).tolist() == [[0], [1]]
    assert pad_sequences([[[1, 2]], [[3, 4], [5, 6]]]).shape == (2, 2, 2)
    assert pad_sequences(seqs, dtype="int32").dtype == np.int32
    with pytest.raises(ValueError, match="padding"):
        pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences(seqs, truncating="both")
    with pytest.raises(ValueError, match="non-iterable"):
        pad_sequences([1, 2])


def test_set_random_seed_is_exported():
    set_random_seed(3)
    a = nerve.backend.rng().random()
    set_random_seed(3)
    assert nerve.backend.rng().random() == a


def test_clear_session_restarts_names():
    from nerve.layers import Dense
    Dense(2)
    clear_session()
    assert Dense(2).name == "dense"
    assert Dense(2).name == "dense_1"


def test_plot_model_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from nerve.layers import Concatenate, Dense, Input
    from nerve.models import Model, Sequential
    a, b = Input(shape=(3,)), Input(shape=(2,))
    out = Dense(1)(Concatenate()([Dense(4, activation="relu")(a), Dense(4)(b)]))
    m = Model([a, b], out)
    p = tmp_path / "model.png"
    plot_model(m, to_file=str(p), show_shapes=True, show_layer_activations=True, dpi=60)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = Sequential([Input(shape=(4,)), Dense(3), Dense(1)])
    plot_model(s, to_file=str(tmp_path / "s.png"), rankdir="LR", show_dtype=True, show_trainable=True, dpi=60)
    assert (tmp_path / "s.png").stat().st_size > 1000
    from nerve.utils.model_visualization import _layer_graph
    layers, edges = _layer_graph(m)
    assert len(edges) == 5  # two inputs -> two Dense -> Concatenate -> Dense


def test_plot_model_without_matplotlib(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_mpl(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_mpl)
    from nerve.layers import Dense, Input
    from nerve.models import Sequential
    with pytest.raises(ImportError, match="matplotlib is required"):
        plot_model(Sequential([Input(shape=(2,)), Dense(1)]), to_file=str(tmp_path / "m.png"))
