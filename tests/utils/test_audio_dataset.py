"""nerve.utils.audio_dataset_from_directory (.wav fixtures written with the `wave` module) and model_to_dot."""
import sys
import types
import wave

import numpy as np
import pytest

import nerve
from nerve.utils import audio_dataset_from_directory, model_to_dot


def _write_wav(path, samples, rate=16000, width=2):
    """samples: float (frames, channels) in [-1, 1) written as PCM of ``width`` bytes."""
    x = np.asarray(samples, np.float64)
    x = x[:, None] if x.ndim == 1 else x
    scale = 2 ** (8 * width - 1)
    ints = np.round(x * scale).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 3:
        u = ints.reshape(-1) & 0xFFFFFF
        raw = np.stack([u & 0xFF, (u >> 8) & 0xFF, (u >> 16) & 0xFF], 1).astype(np.uint8).tobytes()
    else:
        raw = ints.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(x.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(raw)


@pytest.fixture
def audio_dir(tmp_path):
    for c, n in (("cat", 3), ("dog", 2)):
        (tmp_path / c).mkdir()
        for i in range(n):
            _write_wav(tmp_path / c / f"{i}.wav", np.linspace(-0.5, 0.5, 100 + 50 * i))
    (tmp_path / "dog" / "notes.txt").write_text("not audio")
    return tmp_path


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_widths_and_channels_read_to_float(tmp_path, width):
    from nerve.utils.audio_dataset_utils import read_wav
    x = np.stack([np.linspace(-1, 0.75, 9), np.full(9, 0.25)], 1)
    _write_wav(tmp_path / "a.wav", x, width=width)
    y = read_wav(tmp_path / "a.wav")
    assert y.dtype == np.float32 and y.shape == (9, 2)
    np.testing.assert_allclose(y, x, atol=1.0 / 2 ** (8 * width - 1) + 1e-7)


def test_batches_padded_to_longest_and_labels(audio_dir, capsys):
    ds = audio_dataset_from_directory(audio_dir, batch_size=8, shuffle=False)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cat", "dog"] and len(ds) == 1
    x, y = ds[0]
    assert x.shape == (5, 200, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1])
    assert np.all(x[0, 100:] == 0) and abs(x[0, 0, 0] + 0.5) < 1e-3


def test_output_sequence_length_label_modes_and_split(audio_dir):
    ds = audio_dataset_from_directory(audio_dir, batch_size=2, output_sequence_length=120, label_mode="categorical",
                                      seed=1, verbose=False)
    x, y = ds[0]
    assert x.shape == (2, 120, 1) and y.shape == (2, 2)
    train, val = audio_dataset_from_directory(audio_dir, batch_size=None, validation_split=0.4, subset="both",
                                              seed=3, label_mode=None, verbose=False)
    assert len(train) == 3 and len(val) == 2
    assert val[0].ndim == 2  # single clip, no labels
    model = nerve.Sequential([nerve.layers.Input((120, 1)), nerve.layers.GlobalAveragePooling1D(),
                              nerve.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(ds, epochs=1, verbose=0)


def test_errors_sampling_rate_and_ragged(audio_dir):
    ds = audio_dataset_from_directory(audio_dir, sampling_rate=16000, verbose=False)
    assert ds[0][0].shape[0] == 5
    bad = audio_dataset_from_directory(audio_dir, sampling_rate=8000, verbose=False)
    with pytest.raises(ValueError, match="sampling rate 16000 Hz, expected sampling_rate=8000.*tensorflow-io"):
        bad[0]
    with pytest.raises(ValueError, match="ragged=True' is not supported"):
        audio_dataset_from_directory(audio_dir, ragged=True)
    with pytest.raises(ValueError, match="'output_sequence_length' expected a positive integer"):
        audio_dataset_from_directory(audio_dir, output_sequence_length=0)
    (audio_dir / "cat" / "broken.wav").write_bytes(b"RIFFjunk")
    with pytest.raises(ValueError, match="cannot read .*broken.wav"):
        audio_dataset_from_directory(audio_dir, shuffle=False, batch_size=8, verbose=False)[0]


def _fake_pydot():
    class Graph:
        def __init__(self, **kw):
            self.attrs, self.nodes, self.edges = dict(kw), [], []

        def set(self, k, v):
            self.attrs[k] = v

        def set_node_defaults(self, **kw):
            self.attrs["node"] = kw

        def add_node(self, n):
            self.nodes.append(n)

        def add_edge(self, e):
            self.edges.append(e)

    def node(name, **kw):
        return (name, kw["label"])
    return types.SimpleNamespace(Dot=Graph, Cluster=Graph, Node=node, Edge=lambda a, b: (a, b))


def test_model_to_dot_graph_and_missing_pydot(monkeypatch):
    inp = nerve.layers.Input((4,), name="inp")
    h = nerve.layers.Dense(3, activation="relu", name="hidden")(inp)
    model = nerve.Model(inp, nerve.layers.Dense(1, name="out")(h))
    monkeypatch.setitem(sys.modules, "pydot", _fake_pydot())
    dot = model_to_dot(model, show_shapes=True, show_layer_activations=True, rankdir="LR", dpi=96)
    assert dot.attrs["rankdir"] == "LR" and dot.attrs["dpi"] == 96 and dot.attrs["splines"] == "ortho"
    labels = [label for _, label in dot.nodes]
    assert len(labels) == 3 and "hidden (Dense)" in labels[1] and "activation: relu" in labels[1]
    assert "out: (None, 3)" in labels[1]
    ids = [n for n, _ in dot.nodes]
    assert dot.edges == [(ids[0], ids[1]), (ids[1], ids[2])]
    assert model_to_dot(model, subgraph=True).attrs["label"] == model.name
    with pytest.raises(ValueError, match="'rankdir' expected 'TB' or 'LR'"):
        model_to_dot(model, rankdir="BT")
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match="pip install pydot"):
        model_to_dot(model)
