"""KerasFileEditor: inspect a saved file, edit its weights, save, and reload with load_model / load_weights;
crafted files raise clear errors and execute nothing; saving is atomic."""
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from nerve import saving
from nerve.saving import ArchiveError, KerasFileEditor, UnknownObjectError


def dense_model(*units, use_bias=True, compile=False):
    from nerve.layers import Dense, Input
    from nerve.models import Sequential
    m = Sequential([Input(shape=(4,))] + [Dense(u, use_bias=use_bias) for u in units])
    if compile:
        m.compile(optimizer="adam", loss="mse")
    return m


def predict(m, x):
    return np.asarray(m.predict(x, verbose=0))


X = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")


def forward(x, *layers):
    for k, b in layers:
        x = x @ k + (0 if b is None else b)
    return x


@pytest.fixture
def saved(tmp_path):
    """A trained-looking Sequential (Dense 8, Dense 3) saved as .keras with optimizer state."""
    m = dense_model(8, 3, compile=True)
    m.fit(X, np.zeros((5, 3), "float32"), epochs=1, verbose=0)
    p = str(tmp_path / "m.keras")
    m.save(p)
    return m, p


def weights_of(m):
    w = m.get_weights()
    return [(w[i], w[i + 1]) for i in range(0, len(w), 2)]


def test_open_summary_and_weights_dict(saved, capsys):
    m, p = saved
    editor = KerasFileEditor(p)
    out = capsys.readouterr().out
    assert f"Keras model file '{p}'" in out and "Saved with Keras 3.0.0 (nerve" in out
    assert editor.config["class_name"] == "Sequential" and editor.metadata["format_version"] == 1
    assert list(editor.weights_dict) == ["dense", "dense_1"]
    (k0, b0), (k1, b1) = weights_of(m)
    np.testing.assert_array_equal(editor.weights_dict["dense"]["kernel"], k0)
    np.testing.assert_array_equal(editor.weights_dict["dense_1"]["bias"], b1)
    editor.summary()
    assert capsys.readouterr().out.splitlines() == [
        "Weights structure",
        "  ├─ dense",
        "  │   ├─ kernel: shape=(4, 8), dtype=float32",
        "  │   └─ bias: shape=(8,), dtype=float32",
        "  └─ dense_1",
        "      ├─ kernel: shape=(8, 3), dtype=float32",
        "      └─ bias: shape=(3,), dtype=float32"]


def test_open_a_weights_file(tmp_path, saved):
    m, _ = saved
    p = tmp_path / "w.weights.npz"
    m.save_weights(str(p))
    editor = KerasFileEditor(p)  # a pathlib.Path works too
    assert editor.config is None and editor.metadata is None
    assert {k: set(v) for k, v in editor.weights_dict.items()} == {"dense": {"kernel", "bias"},
                                                                   "dense_1": {"kernel", "bias"}}


def test_compare(saved, capsys):
    m, p = saved
    editor = KerasFileEditor(p)
    capsys.readouterr()
    assert editor.compare(dense_model(8, 3)) == {"status": "success", "error_count": 0, "match_count": 4}
    out = capsys.readouterr().out
    assert "Comparison successful: saved file is compatible with the reference model" in out
    assert "Found 4 matching weights" in out
    res = editor.compare(dense_model(8, 5, 3))
    assert res == {"status": "error", "error_count": 3, "match_count": 2}
    out = capsys.readouterr().out
    assert "Weight shape mismatch for dense_1/kernel\n    In reference model: shape=(8, 5)\n    In saved file: " \
           "shape=(8, 3)" in out
    assert "Object dense_2 present in reference model, missing from saved file" in out
    assert "Found 3 errors: saved file is not compatible with the reference model" in out
    res = editor.compare(dense_model(8, 3, use_bias=False))
    assert res["error_count"] == 2 and "Weight dense/bias present in saved file, missing from reference model" in \
        capsys.readouterr().out
    with pytest.raises(TypeError, match="compare: argument 'reference_model' expected a nerve Model"):
        editor.compare({"dense": 1})


def test_rename_and_add_object_then_load_weights_into_a_bigger_model(tmp_path, saved):
    """The saved (8, 3) model becomes (8, 5, 3): the last layer moves to dense_2, a new dense_1 is added."""
    m, p = saved
    (k0, b0), (k1, b1) = weights_of(m)
    k_mid, b_mid = np.eye(8, 5, dtype="float32"), np.full(5, 0.5, "float32")
    k_last = np.ones((5, 3), "float32")
    editor = KerasFileEditor(p)
    editor.rename_object("dense_1", "dense_2")
    editor.add_object("dense_1", {"kernel": k_mid, "bias": b_mid})
    editor.delete_weight("dense_2", "kernel")
    editor.add_weights("dense_2", {"kernel": k_last})
    out = str(tmp_path / "edited.weights.npz")
    editor.save(out)
    bigger = dense_model(8, 5, 3)
    assert KerasFileEditor(out).compare(bigger)["status"] == "success"
    bigger.load_weights(out)
    np.testing.assert_allclose(predict(bigger, X), forward(X, (k0, b0), (k_mid, b_mid), (k_last, b1)), rtol=1e-5,
                               atol=1e-5)


def test_keras_file_edited_consistently_loads_with_load_model(tmp_path, saved):
    """Insert a layer in both the config and the weights: load_model rebuilds the edited architecture. The
    optimizer state no longer fits the weights, so it is dropped with a warning."""
    m, p = saved
    (k0, b0), (k1, b1) = weights_of(m)
    editor = KerasFileEditor(p)
    layers = editor.config["config"]["layers"]
    mid = json.loads(json.dumps(layers[2]))
    mid["config"].update(name="inserted", units=8)
    mid["build_config"] = {"input_shape": [None, 8]}
    layers.insert(2, mid)
    editor.rename_object("dense_1", "dense_2")
    editor.add_object("dense_1", {"kernel": 2 * np.eye(8, dtype="float32"), "bias": np.zeros(8, "float32")})
    out = str(tmp_path / "edited.keras")
    with pytest.warns(UserWarning, match="saved without it"):
        editor.save(out)
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.npz"]
    m2 = saving.load_model(out)
    assert [la.name for la in m2.layers] == [m.layers[0].name, "inserted", m.layers[1].name]
    np.testing.assert_allclose(predict(m2, X), forward(X, (k0, b0), (2 * np.eye(8), 0), (k1, b1)), rtol=1e-5,
                               atol=1e-5)


def test_unedited_resave_keeps_everything(tmp_path, saved):
    m, p = saved
    editor = KerasFileEditor(p)
    out = str(tmp_path / "same.keras")
    editor.save(out)
    m2 = saving.load_model(out)
    np.testing.assert_array_equal(predict(m2, X), predict(m, X))
    assert m2.optimizer.iterations == m.optimizer.iterations  # the optimizer state was kept
    wout = str(tmp_path / "same.weights.npz")
    editor.resave_weights(wout)
    m3 = dense_model(8, 3)
    m3.load_weights(wout)
    np.testing.assert_array_equal(predict(m3, X), predict(m, X))


def test_delete_object_delete_weight_add_weights(tmp_path):
    m = dense_model(8, 6, 3)
    p = str(tmp_path / "three.weights.npz")
    m.save_weights(p)
    (k0, b0), (k1, b1), (k2, b2) = weights_of(m)
    editor = KerasFileEditor(p)
    editor.delete_object("dense_2")  # drop the last layer
    editor.delete_weight("dense", "bias")
    editor.delete_weight("dense_1", "bias")
    out = str(tmp_path / "two.weights.npz")
    editor.save(out)
    small = dense_model(8, 6, use_bias=False)
    small.load_weights(out)
    np.testing.assert_allclose(predict(small, X), forward(X, (k0, None), (k1, None)), rtol=1e-5, atol=1e-5)
    # and back: give the bias-free file new biases
    editor = KerasFileEditor(out)
    editor.add_weights("dense", {"bias": np.ones(8, "float32")})
    editor.add_weights("dense_1", {"bias": np.arange(6, dtype="float32")})
    editor.save(out)  # over the file it was opened from
    biased = dense_model(8, 6)
    biased.load_weights(out)
    np.testing.assert_allclose(predict(biased, X), forward(X, (k0, np.ones(8)), (k1, np.arange(6))), rtol=1e-5,
                               atol=1e-5)


def test_full_paths_and_nested_objects(tmp_path):
    editor = KerasFileEditor(_weights_file(tmp_path, {"sequential/dense/kernel": np.ones((2, 2), "float32"),
                                                      "dense/kernel": np.zeros((2, 2), "float32")}))
    with pytest.raises(ValueError, match=r"rename_object: name 'dense' occurs 2 times \(dense, sequential/dense\); "
                                         r"pass a complete path"):
        editor.rename_object("dense", "d")
    editor.rename_object("sequential/dense", "inner")
    editor.add_object("sequential/extra", {"w": np.ones(3, "float32")})
    editor.delete_weight("sequential/inner", "kernel")
    assert editor.weights_dict["sequential"]["extra"]["w"].shape == (3,) and editor.weights_dict["sequential"][
        "inner"] == {}
    out = str(tmp_path / "n.weights.npz")
    editor.save(out)
    with np.load(out) as z:
        assert sorted(z.files) == ["dense/kernel", "sequential/extra/w"]  # empty objects are not written


def _weights_file(tmp_path, arrays, name="w.weights.npz"):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    p = tmp_path / name
    p.write_bytes(buf.getvalue())
    return str(p)


def test_edit_errors_are_clear(saved):
    _, p = saved
    editor = KerasFileEditor(p)
    with pytest.raises(ValueError, match="rename_object: name 'kernel' occurs 2 times"):
        editor.rename_object("kernel", "k")
    with pytest.raises(ValueError, match="delete_object: name 'nope' does not appear in the file"):
        editor.delete_object("nope")
    with pytest.raises(ValueError, match="delete_object: path 'dense/nope' not found in the file"):
        editor.delete_object("dense/nope")
    with pytest.raises(ValueError, match="argument 'new_name' must be a non-empty name without '/'"):
        editor.rename_object("dense", "a/b")
    with pytest.raises(ValueError, match="'dense_1' already exists there"):
        editor.rename_object("dense", "dense_1")
    with pytest.raises(ValueError, match="add_object: 'dense' already exists"):
        editor.add_object("dense", {"kernel": np.ones(2)})
    with pytest.raises(ValueError, match="add_object: parent path 'nope' of 'nope/dense' is not an object"):
        editor.add_object("nope/dense", {"kernel": np.ones(2)})
    with pytest.raises(ValueError, match="add_object: argument 'weights' should be a dict.*got list"):
        editor.add_object("dense_9", [np.ones(2)])
    with pytest.raises(TypeError, match="add_weights: weight 'k' must be a numeric array, got dtype <U1"):
        editor.add_weights("dense", {"k": np.array(["x"])})
    with pytest.raises(ValueError, match=r"delete_weight: weight 'gamma' not found in object 'dense'; weights found: "
                                         r"\['kernel', 'bias'\]"):
        editor.delete_weight("dense", "gamma")
    with pytest.raises(ValueError, match="delete_weight: 'dense/kernel' is a weight, not an object"):
        editor.delete_weight("dense/kernel", "bias")
    with pytest.raises(ValueError, match=r"add_weights: object 'dense' already has \['bias'\]"):
        editor.add_weights("dense", {"bias": np.ones(8)})
    # nothing was changed by the failed edits
    assert {k: list(v) for k, v in editor.weights_dict.items()} == {"dense": ["kernel", "bias"],
                                                                    "dense_1": ["kernel", "bias"]}


def test_filename_errors(tmp_path, saved):
    _, p = saved
    with pytest.raises(ValueError, match="HDF5 files .* are not supported"):
        KerasFileEditor(str(tmp_path / "m.weights.h5"))
    with pytest.raises(ValueError, match="expected a '.keras' or '.weights.npz' extension"):
        KerasFileEditor(str(tmp_path / "m.zip"))
    with pytest.raises(FileNotFoundError):
        KerasFileEditor(str(tmp_path / "missing.keras"))
    with pytest.raises(FileNotFoundError):
        KerasFileEditor(str(tmp_path / "missing.weights.npz"))
    with pytest.raises(TypeError, match="KerasFileEditor: argument 'filepath' expected a str or os.PathLike, got int"):
        KerasFileEditor(3)
    editor = KerasFileEditor(p)
    with pytest.raises(ValueError, match="save: HDF5 files .* are not supported"):
        editor.save(str(tmp_path / "out.weights.h5"))
    with pytest.raises(ValueError, match="resave_weights: expected a '.weights.npz' filepath"):
        editor.resave_weights(str(tmp_path / "out.keras"))
    wp = str(tmp_path / "w.weights.npz")
    editor.resave_weights(wp)
    with pytest.raises(ValueError, match="is a weights file with no model config"):
        KerasFileEditor(wp).save(str(tmp_path / "out.keras"))
    assert not os.path.exists(tmp_path / "out.keras")


# -- crafted and corrupt files --------------------------------------------------------------------------------
class Touch:
    """Unpickling this would create the sentinel file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def sentinel(tmp_path):
    p = tmp_path / "PWNED"
    yield str(p)
    assert not p.exists(), "a crafted file executed code"


def members_of(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data.encode() if isinstance(data, str) else data)
    return str(path)


def test_pickles_are_refused(tmp_path, sentinel, saved):
    _, p = saved
    buf = io.BytesIO()
    np.savez(buf, **{"dense/kernel": np.array([Touch(sentinel)], dtype=object)})
    crafted = write_zip(tmp_path / "pickle.keras", dict(members_of(p), **{"model.weights.npz": buf.getvalue()}))
    with pytest.raises(ArchiveError, match="object arrays and pickles are refused"):
        KerasFileEditor(crafted)
    raw = tmp_path / "raw.weights.npz"
    raw.write_bytes(pickle.dumps(Touch(sentinel)))
    with pytest.raises(ArchiveError, match="not an npz archive"):
        KerasFileEditor(str(raw))
    crafted = write_zip(tmp_path / "opt.keras", dict(members_of(p), **{"optimizer.npz": pickle.dumps(Touch(sentinel))}))
    with pytest.raises(ArchiveError, match="'optimizer.npz' is not an npz archive"):
        KerasFileEditor(crafted)


def test_unsafe_members_and_corrupt_zips(tmp_path, sentinel, saved):
    _, p = saved
    for extra, msg in [({"../PWNED": b"x"}, "unsafe member name"),
                       ({"__init__.py": "import os"}, "unexpected members")]:
        with pytest.raises(ArchiveError, match=msg):
            KerasFileEditor(write_zip(tmp_path / "bad.keras", dict(members_of(p), **extra)))
    data = open(p, "rb").read()
    for cut in (len(data) // 2, 30, 0):
        bad = tmp_path / f"cut{cut}.keras"
        bad.write_bytes(data[:cut])
        with pytest.raises(ArchiveError, match="truncated or corrupt|not a valid zip|missing|unexpected"):
            KerasFileEditor(str(bad))
    for member, payload, msg in [("config.json", b"{not json", "not valid JSON"),
                                 ("config.json", json.dumps({"class_name": "Sequential", "config": {}, "exec": 1}),
                                  "unexpected keys"),
                                 ("metadata.json", json.dumps({"format_version": 99}), "format_version 99")]:
        with pytest.raises(ArchiveError, match=msg):
            KerasFileEditor(write_zip(tmp_path / "cfg.keras", dict(members_of(p), **{member: payload})))


def test_weight_keys_that_do_not_form_a_tree(tmp_path):
    for arrays, msg in [({"dense": np.ones(2), "dense/kernel": np.ones(2)}, "'dense' is both a weight and an object"),
                        ({"dense//kernel": np.ones(2)}, "empty or relative path component"),
                        ({"../kernel": np.ones(2)}, "empty or relative path component")]:
        with pytest.raises(ArchiveError, match=msg):
            KerasFileEditor(_weights_file(tmp_path, arrays))


def test_a_config_naming_os_system_is_only_data(tmp_path, sentinel, saved):
    """The editor reads the config as JSON and resolves nothing; load_model of the resaved file refuses it."""
    _, p = saved
    members = members_of(p)
    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"][1].update({"module": "os", "class_name": "system", "registered_name": "system",
                                       "config": {"command": f"touch {sentinel}"}})
    editor = KerasFileEditor(write_zip(tmp_path / "evil.keras", dict(members, **{"config.json": json.dumps(cfg)})))
    editor.summary()
    out = str(tmp_path / "evil2.keras")
    editor.save(out)
    with pytest.raises(UnknownObjectError, match="system"):
        saving.load_model(out)


# -- atomic saving ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["out.keras", "out.weights.npz"])
def test_failed_save_leaves_no_partial_file(tmp_path, saved, monkeypatch, target):
    _, p = saved
    editor = KerasFileEditor(p)
    out = tmp_path / target
    out.write_bytes(b"old contents")

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        editor.save(str(out))
    monkeypatch.undo()
    assert out.read_bytes() == b"old contents"
    assert sorted(os.listdir(tmp_path)) == sorted(["m.keras", target])  # no temporary file left behind


def test_invalid_edits_fail_before_writing(tmp_path, saved):
    _, p = saved
    editor = KerasFileEditor(p)
    editor.config["class_name"] = 3
    with pytest.raises(ArchiveError, match="save: config.json needs a string 'class_name'"):
        editor.save(p)
    editor = KerasFileEditor(p)
    editor.weights_dict["dense"]["kernel"] = np.array(["text"])  # edited by hand, bypassing add_weights
    with pytest.raises(TypeError, match="only numeric arrays can be saved"):
        editor.save(p)
    assert saving.load_model(p) is not None  # the original file is intact
