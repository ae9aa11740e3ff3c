"""Keras 3 names of keras.utils / keras.tree / top level added to nerve: registry aliases, Progbar, split_dataset,
image files, text_dataset_from_directory, symbolic-tensor helpers, Config, name_scope, Operation."""
import io
import logging

import numpy as np
import pytest

import nerve
from nerve import layers, tree, utils


# ----------------------------------------------------------------------------- saving registry aliases
def test_registry_names_are_nerve_saving_ones():
    for name in ("register_keras_serializable", "custom_object_scope", "CustomObjectScope",
                 "serialize_keras_object", "deserialize_keras_object", "get_registered_name",
                 "get_registered_object", "get_custom_objects"):
        assert getattr(utils, name) is getattr(nerve.saving, name), name
    assert "get_custom_objects" in dir(utils)


def test_get_custom_objects_lists_registered_and_makes_added_names_loadable():
    @utils.register_keras_serializable(package="extra")
    class Scaled(layers.Layer):
        def call(self, x):
            return x * 2

    assert utils.get_custom_objects()["extra>Scaled"] is Scaled
    assert utils.get_registered_name(Scaled) == "extra>Scaled"
    assert utils.get_registered_object("extra>Scaled") is Scaled

    class Halved(layers.Layer):
        def call(self, x):
            return x / 2

    config = {"class_name": "Halved", "config": {"name": "h"}}
    with pytest.raises(nerve.saving.UnknownObjectError, match="Halved"):
        utils.deserialize_keras_object(config)
    objects = utils.get_custom_objects()
    objects["Halved"] = Halved
    try:
        assert isinstance(utils.deserialize_keras_object(config), Halved)
    finally:
        del objects["Halved"]
    with utils.custom_object_scope({"Halved": Halved}):
        assert isinstance(utils.deserialize_keras_object(config), Halved)


# ----------------------------------------------------------------------------- pack / unpack
def test_pack_and_unpack_x_y_sample_weight_as_keras():
    x, y, w = np.ones(3), np.zeros(3), np.full(3, 0.5)
    assert utils.pack_x_y_sample_weight(x) is x  # a lone x is not wrapped (Keras)
    assert utils.pack_x_y_sample_weight([x, x]) == ([x, x],)
    assert utils.pack_x_y_sample_weight(x, y) == (x, y)
    assert utils.pack_x_y_sample_weight(x, y, w) == (x, y, w)
    assert utils.unpack_x_y_sample_weight((x, y)) == (x, y, None)
    assert utils.unpack_x_y_sample_weight(x)[0] is x
    assert utils.unpack_x_y_sample_weight([x, y, w]) == (x, y, w)


# ----------------------------------------------------------------------------- Progbar
def test_progbar_averages_values_except_stateful_metrics(capsys):
    bar = utils.Progbar(4, verbose=1, stateful_metrics=["acc"])
    assert bar.target == 4 and bar.stateful_metrics == {"acc"} and bar.verbose == 1
    for step, v in enumerate([1.0, 2.0, 6.0], start=1):
        bar.update(step, [("loss", v), ("acc", v)])
    assert bar._values == {"loss": 3.0, "acc": 6.0}  # loss averaged over 3 steps, acc as given
    bar.add(1, [("loss", 10.0), ("acc", 0.5)])  # the final update shows the last values, as Keras
    out = capsys.readouterr().out
    assert "4/4" in out and "loss: 10.0000" in out and "acc: 0.5000" in out


def test_progbar_weights_by_steps_and_stateless_metrics():
    bar = utils.Progbar(None, verbose=0, stateless_metrics=["loss"])
    bar.update(3, [("loss", 2.0), ("lr", 0.1)])
    bar.update(4, [("loss", 6.0), ("lr", 0.2)])
    assert bar._values == {"loss": pytest.approx((3 * 2.0 + 6.0) / 4), "lr": 0.2}
    with pytest.raises(ValueError, match="at most one of 'stateful_metrics'"):
        utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_progbar_logs_when_interactive_logging_is_off(capsys, caplog):
    utils.disable_interactive_logging()
    try:
        assert not utils.is_interactive_logging_enabled() and not nerve.config.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="nerve"):
            bar = utils.Progbar(2)
            bar.update(1, [("loss", 1.0)])
            bar.update(2, [("loss", 3.0)])
    finally:
        utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    assert any("2/2" in r.getMessage() and "loss: 3.0000" in r.getMessage() for r in caplog.records)
    assert nerve.config.is_interactive_logging_enabled()


# ----------------------------------------------------------------------------- split_dataset
def test_split_dataset_fractions_ints_and_structure():
    x, y = np.arange(10) * 1.0, np.arange(10) * 2
    (lx, ly), (rx, ry) = utils.split_dataset((x, y), left_size=0.8)
    assert lx.tolist() == list(range(8)) and ry.tolist() == [16, 18]
    left, right = utils.split_dataset(x, right_size=3)
    assert left.tolist() == list(range(7)) and right.tolist() == [7, 8, 9]
    left, right = utils.split_dataset({"a": x, "b": y}, left_size=2, right_size=3)  # the middle is left out
    assert left["a"].tolist() == [0, 1] and right["b"].tolist() == [14, 16, 18]


def test_split_dataset_shuffle_is_seeded_and_disjoint():
    x = np.arange(20)
    a = utils.split_dataset([x, -x], left_size=0.75, shuffle=True, seed=7)
    b = utils.split_dataset([x, -x], left_size=0.75, shuffle=True, seed=7)
    (l0, l1), (r0, r1) = a
    assert isinstance(a[0], list) and len(l0) == 15 and len(r0) == 5
    assert np.array_equal(l0, b[0][0]) and np.array_equal(l1, -l0) and np.array_equal(r1, -r0)
    assert sorted(np.concatenate([l0, r0]).tolist()) == list(range(20)) and l0.tolist() != list(range(15))


@pytest.mark.parametrize("kwargs, error, match", [
    ({}, ValueError, "give 'left_size' or 'right_size'"),
    ({"left_size": 1.5}, ValueError, r"'left_size' expected a float in \(0, 1\)"),
    ({"left_size": 10}, ValueError, r"'left_size' expected an int in \[1, 9\]"),
    ({"right_size": "half"}, TypeError, "'right_size' expected an int, a float or None, got str"),
    ({"left_size": 0.6, "right_size": 0.6}, ValueError, "at most 1"),
    ({"left_size": 6, "right_size": 5}, ValueError, "more than the 10"),
    ({"left_size": 0.01}, ValueError, "leave the left split empty"),
    ({"left_size": 0.5, "preferred_backend": "torch"}, ValueError, "'preferred_backend' expected None or 'numpy'"),
])
def test_split_dataset_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        utils.split_dataset(np.arange(10), **kwargs)


def test_split_dataset_rejects_ragged_or_non_arrays():
    with pytest.raises(ValueError, match=r"different numbers of samples: \[3, 4\]"):
        utils.split_dataset((np.ones(3), np.ones(4)), left_size=1)
    with pytest.raises(TypeError, match="expected an array or a tuple"):
        utils.split_dataset([1, 2, 3], left_size=1)


# ----------------------------------------------------------------------------- images
Image = pytest.importorskip("PIL.Image")


def test_image_round_trip_and_options(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (6, 8, 3)).astype("float32")
    path = tmp_path / "a.png"
    utils.save_img(path, arr, scale=False)
    img = utils.load_img(path)
    assert img.size == (8, 6) and img.mode == "RGB"
    x = utils.img_to_array(img)
    assert x.dtype == np.float32 and np.array_equal(x, arr)
    assert utils.img_to_array(img, data_format="channels_first").shape == (3, 6, 8)
    gray = utils.img_to_array(utils.load_img(str(path), color_mode="grayscale", target_size=(3, 4),
                                             interpolation="bilinear"))
    assert gray.shape == (3, 4, 1)
    cropped = utils.load_img(path, target_size=(4, 4), keep_aspect_ratio=True)
    assert cropped.size == (4, 4)
    scaled = utils.img_to_array(utils.array_to_img(arr / 1000.0))  # scale=True stretches to 0..255
    assert scaled.min() == 0 and scaled.max() == 255
    assert utils.array_to_img(np.zeros((3, 2, 2)), data_format="channels_first").size == (2, 2)
    assert utils.array_to_img(np.full((2, 2, 1), 1000.0), scale=False).mode == "I"
    buf = io.BytesIO()
    with pytest.warns(UserWarning, match="JPEG has no alpha"):
        utils.save_img(buf, rng.random((4, 4, 4)), file_format="jpg")
    buf.seek(0)
    assert utils.load_img(buf, color_mode="rgba").mode == "RGBA"


def test_image_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="array_to_img: expected one image of rank 3, got shape"):
        utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected 1, 3 or 4 channels, got 2"):
        utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="load_img: argument 'color_mode'"):
        utils.load_img(tmp_path / "x.png", color_mode="cmyk")
    with pytest.raises(TypeError, match="load_img: argument 'path' expected a path or an io.BytesIO, got int"):
        utils.load_img(3)
    with pytest.raises(ValueError, match="argument 'data_format'"):
        utils.img_to_array(Image.new("RGB", (2, 2)), data_format="nhwc")
    import builtins
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name.startswith("PIL"):
            raise ImportError("no PIL")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"load_img: image files need Pillow.*pip install pillow.*nerve\[plot\]"):
        utils.load_img(tmp_path / "x.png")


# ----------------------------------------------------------------------------- text_dataset_from_directory
@pytest.fixture
def texts(tmp_path):
    """neg/ 3 files, pos/ 4 files (+ one non-.txt file)."""
    for cls, n in (("neg", 3), ("pos", 4)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            (tmp_path / cls / f"{i}.txt").write_text(f"{cls} review number {i} é", encoding="utf-8")
    (tmp_path / "pos" / "image.png").write_bytes(b"not text")
    return tmp_path


def test_text_dataset_batches_labels_and_class_names(texts, capsys):
    ds = utils.text_dataset_from_directory(texts, batch_size=4, shuffle=False)
    assert "Found 7 files belonging to 2 classes." in capsys.readouterr().out
    assert isinstance(ds, utils.PyDataset) and ds.class_names == ["neg", "pos"] and len(ds) == 2
    x, y = ds[0]
    assert x.shape == (4,) and x[0] == "neg review number 0 é" and y.dtype == np.int32
    assert np.concatenate([b[1] for b in ds]).tolist() == [0, 0, 0, 1, 1, 1, 1]
    one = utils.text_dataset_from_directory(texts, batch_size=None, max_length=3, label_mode="categorical",
                                            shuffle=False, verbose=False)
    assert len(one) == 7 and one[0][0] == "neg" and one[0][1].tolist() == [1.0, 0.0]
    binary = utils.text_dataset_from_directory(texts, label_mode="binary", verbose=False)
    assert binary[0][1].shape == (7, 1)
    only = utils.text_dataset_from_directory(texts, label_mode=None, class_names=["pos"], verbose=False)
    assert only[0].shape == (4,) and all(t.startswith("pos") for t in only[0])
    given = utils.text_dataset_from_directory(texts, labels=[1, 0, 1, 0, 1, 0, 1], shuffle=False, verbose=False)
    assert given[0][1].tolist()[:3] == [1, 0, 1]


def test_text_dataset_validation_split_and_vectorization(texts):
    train, val = utils.text_dataset_from_directory(texts, batch_size=2, validation_split=0.3, subset="both",
                                                   seed=5, verbose=False)
    assert len(train.file_paths) == 5 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    again = utils.text_dataset_from_directory(texts, validation_split=0.3, subset="validation", seed=5,
                                              verbose=False)
    assert sorted(again.file_paths) == sorted(val.file_paths)
    vectorize = nerve.layers.TextVectorization(max_tokens=20, output_mode="int", output_sequence_length=5)
    vectorize.adapt(train)
    x, _ = train[0]
    assert np.asarray(vectorize(x)).shape == (2, 5)


def test_text_dataset_errors(texts):
    f = utils.text_dataset_from_directory
    with pytest.raises(ValueError, match="argument 'label_mode' expected one of"):
        f(texts, label_mode="sparse")
    with pytest.raises(ValueError, match="'class_names' is only allowed with labels='inferred'"):
        f(texts, labels=[0] * 7, class_names=["a"])
    with pytest.raises(ValueError, match="argument 'labels' expected 'inferred', None or a list"):
        f(texts, labels="folders")
    with pytest.raises(ValueError, match="validation_split with shuffle=True needs a 'seed'"):
        f(texts, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="text_dataset_from_directory: argument 'directory' expected a folder"):
        f(texts / "missing")
    (texts / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no files \(.txt\) found under"):
        f(texts, class_names=["empty"])
    with pytest.raises(ValueError, match="argument 'max_length' expected a positive integer"):
        f(texts, max_length=0)
    with pytest.raises(ValueError, match="argument 'format' expected 'tf' or 'grain'"):
        f(texts, format="torch")


# ----------------------------------------------------------------------------- tensors and dtypes
def test_is_keras_tensor_and_get_source_inputs():
    a, b = nerve.Input((3,)), nerve.Input((3,))
    h = layers.Dense(2)(a)
    out = layers.Concatenate()([h, layers.Dense(2)(b), layers.Dense(1)(a)])
    assert utils.is_keras_tensor(a) and not utils.is_keras_tensor(np.ones(3))
    assert utils.get_source_inputs(a) == [a]
    sources = utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    x = np.ones(2)
    assert utils.get_source_inputs(x) is x


def test_standardize_dtype():
    s = utils.standardize_dtype
    assert s(None) == "float32" and s(float) == "float32" and s(int) == "int32" and s(bool) == "bool"
    assert s(str) == "string" and s("int") == "int32" and s(np.float64) == "float64"
    assert s(np.dtype("uint8")) == "uint8" and s("complex64") == "complex64"
    for bad in ("float", "bfloat16", "foo", object):
        with pytest.raises(ValueError, match="standardize_dtype: argument 'dtype' expected one of"):
            s(bad)


# ----------------------------------------------------------------------------- Config
def test_config_attribute_and_item_access_freeze_json():
    c = utils.Config(learning_rate=0.1)
    c.seed = 3
    c["momentum"] = 0.9
    assert c.learning_rate == 0.1 and c["seed"] == 3 and "momentum" in c and len(c) == 3
    assert list(c) == ["learning_rate", "momentum", "seed"] and c.as_dict() == {"learning_rate": 0.1, "seed": 3,
                                                                              "momentum": 0.9}
    assert c.to_json() == '{"learning_rate": 0.1, "seed": 3, "momentum": 0.9}' and c.get("nope", 5) == 5
    with pytest.raises(AttributeError, match="unknown attribute 'learning_rat'; did you mean 'learning_rate'"):
        c.learning_rat
    c.freeze()
    assert c.frozen
    for change in (lambda: setattr(c, "x", 1), lambda: c.__setitem__("x", 1), lambda: c.pop("seed"),
                   lambda: c.update(x=1), lambda: c.__delitem__("seed")):
        with pytest.raises(ValueError, match="frozen"):
            change()
    c.unfreeze()
    del c["seed"]
    assert c.pop("momentum") == 0.9 and dict(c.items()) == {"learning_rate": 0.1}
    assert repr(c) == "<Config {'learning_rate': 0.1}>"


# ----------------------------------------------------------------------------- tree
def test_tree_assert_same_paths():
    tree.assert_same_paths([0, 1], (2, 3))
    tree.assert_same_paths({"a": [1, 2], "b": 3}, {"b": "x", "a": (None, 4)})
    with pytest.raises(ValueError, match=r"(?s)don't have the same paths.*in `a` missing in `b`:\n\[\('b', 1\)\]"):
        tree.assert_same_paths({"a": 1, "b": [1, 2]}, {"a": 1, "b": [1]})
    with pytest.raises(ValueError, match=r"(?s)missing in `b`:\n\[\(1,\)\].*missing in `a`:\n\[\(1, 0\)\]"):
        tree.assert_same_paths([0, None], [1, [2]])


def test_tree_map_shape_structure_and_map_to_none():
    shapes = [(1, 2), [3, (4,)], None, (), [None, 2], {"k": [1, (2, 3)]}]
    got = tree.map_shape_structure(lambda s: ("S", s), shapes)
    assert got == [("S", (1, 2)), [("S", 3), ("S", (4,))], ("S", None), ("S", ()), ("S", [None, 2]),
                   {"k": [("S", 1), ("S", (2, 3))]}]  # Keras 3.15's output for the same call
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, 2, (3, 2)]) == [1, None, (3, None)]
    bottom_up = tree.traverse(lambda x: tree.MAP_TO_NONE if isinstance(x, tuple) else None, [1, (2, 3)],
                              top_down=False)
    assert bottom_up == [1, None]


# ----------------------------------------------------------------------------- name_scope and Operation
def test_name_scope_stack_and_paths():
    from nerve.utils.naming import current_path
    owner = object()
    with nerve.name_scope("encoder") as outer:
        assert outer.path == "encoder" and current_path() == "encoder"
        with nerve.name_scope("block", caller=owner) as inner:
            assert inner.path == "encoder/block"
            with nerve.name_scope("block", caller=owner) as same:  # deduplicated: no new level
                assert same.path == "encoder/block" == current_path()
            with nerve.name_scope("head", override_parent="model") as head:
                assert head.path == "model/head"
        assert current_path() == "encoder"
    assert current_path() == ""
    with pytest.raises(ValueError, match="name_scope: argument 'name' expected a string without '/'"):
        nerve.name_scope("a/b")


class Affine(nerve.Operation):
    def __init__(self, scale, name=None):
        super().__init__(name=name)
        self.scale = scale

    def call(self, x, shift=0.0):
        return x * self.scale + shift


def test_operation_eager_and_symbolic():
    op = Affine(3.0, name="affine")
    assert np.allclose(op(np.ones(2), shift=1.0), [4.0, 4.0])
    inp = nerve.Input((4,))
    dense = layers.Dense(2)
    out = op(dense(inp), shift=1.0)
    assert utils.is_keras_tensor(out) and out.shape == (None, 2)
    assert op.compute_output_spec(inp).shape == (None, 4)
    model = nerve.Model(inp, out)
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), dense(x).numpy() * 3 + 1, rtol=1e-6)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((5, 2)), epochs=1, verbose=0)
    twice = nerve.Model(inp, op(op(inp)))  # the same operation twice in one graph: distinct layer names
    assert np.allclose(twice.predict(x, verbose=0), x * 9)
    assert Affine(1.0).get_config()["name"].startswith("affine")
    with pytest.raises(NotImplementedError, match="must implement call"):
        nerve.Operation()(np.ones(1))
