"""save -> load round trips: identical predictions, optimizer state kept, weights files, clear errors."""
import json
import os
import zipfile

import numpy as np
import pytest

import nerve
from nerve import saving


def test_sequential_save_load_identical_predictions(tmp_path, make_sequential, seq_data):
    x, y = seq_data
    m = make_sequential()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / "m.keras")
    m.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == sorted(["config.json", "metadata.json", "model.weights.npz", "optimizer.json",
                                               "optimizer.npz"])
        cfg = json.loads(z.read("config.json"))
        meta = json.loads(z.read("metadata.json"))
    assert set(cfg) == {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
    assert cfg["class_name"] == "Sequential"
    assert meta["nerve_version"] == nerve.__version__ and meta["format_version"] == 1
    m2 = saving.load_model(path)
    assert type(m2).__name__ == "Sequential"
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    assert [w.shape for w in m2.weights] == [w.shape for w in m.weights]
    # the optimizer state came back: training continues identically
    assert m2.optimizer.iterations == m.optimizer.iterations
    nerve.set_random_seed(5)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    nerve.set_random_seed(5)
    m2.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_functional_multi_input_save_load(tmp_path, make_functional, func_data):
    x, y = func_data
    m = make_functional()
    m.fit(x, y, epochs=1, batch_size=4, verbose=0)
    path = tmp_path / "f.keras"
    saving.save_model(m, path)
    m2 = nerve.saving.load_model(path, compile=False)
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    assert [layer.name for layer in m2.layers] == [layer.name for layer in m.layers]


def test_uncompiled_model_saves_and_loads(tmp_path, make_sequential, seq_data):
    m = make_sequential(compile=False)
    path = tmp_path / "u.keras"
    m.save(path)
    with zipfile.ZipFile(path) as z:
        assert "optimizer.json" not in z.namelist()
    m2 = saving.load_model(path)
    np.testing.assert_array_equal(m2.predict(seq_data[0], verbose=0), m.predict(seq_data[0], verbose=0))


def test_save_weights_load_weights_round_trip(tmp_path, make_sequential, seq_data):
    x, y = seq_data
    m = make_sequential()
    m.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "w.weights.npz")
    m.save_weights(path)
    with np.load(path, allow_pickle=False) as z:  # structural keys: class name + counter, then variable
        assert z.files == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    # a second model of the same architecture (its automatic layer names differ) takes the weights
    m2 = make_sequential()
    assert m2.layers[-1].name != m.layers[-1].name
    m2.load_weights(path)
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    # .keras archives also give their weights
    m.save(str(tmp_path / "m.keras"))
    m3 = make_sequential()
    m3.load_weights(str(tmp_path / "m.keras"))
    np.testing.assert_array_equal(m3.predict(x, verbose=0), m.predict(x, verbose=0))


def test_weights_of_another_architecture_are_refused(tmp_path, make_sequential, make_functional):
    m = make_sequential()
    path = str(tmp_path / "w.weights.npz")
    m.save_weights(path)
    before = [w.copy() for w in make_functional().get_weights()]
    f = make_functional()
    f.set_weights(before)
    with pytest.raises(ValueError, match="do not match"):
        f.load_weights(path)
    for a, b in zip(f.get_weights(), before):  # nothing was assigned
        np.testing.assert_array_equal(a, b)


def test_h5_names_give_a_clear_error(tmp_path, make_sequential):
    m = make_sequential()
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        m.save_weights(str(tmp_path / "w.weights.h5"))
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        m.save_weights(str(tmp_path / "widenet.hdf5"))
    with pytest.raises(ValueError, match=r"\.keras"):
        m.save(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match=r"\.keras"):
        m.save(str(tmp_path / "m.model"))
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        m.load_weights(str(tmp_path / "w.h5"))


def test_overwrite_false(tmp_path, make_sequential):
    m = make_sequential()
    p = str(tmp_path / "m.keras")
    m.save(p)
    with pytest.raises(FileExistsError):
        m.save(p, overwrite=False)


def test_custom_layer_needs_registration_or_custom_objects(tmp_path):
    from nerve.layers import Dense, Input, Layer
    from nerve.models import Model

    class Scale(Layer):
        def __init__(self, factor=2.0, **kw):
            super().__init__(**kw)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    inp = Input(shape=(2,))
    m = Model(inp, Scale(3.0)(Dense(2)(inp)))
    p = str(tmp_path / "c.keras")
    m.save(p)
    with pytest.raises(ValueError, match="Scale"):
        saving.load_model(p)
    m2 = saving.load_model(p, custom_objects={"Scale": Scale})
    x = np.ones((2, 2), "float32")
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    with saving.custom_object_scope({"Scale": Scale}):
        saving.load_model(p)


def test_lambda_with_unregistered_function_is_refused_at_save(tmp_path):
    from nerve.layers import Input, Lambda
    from nerve.models import Model
    inp = Input(shape=(2,))
    m = Model(inp, Lambda(lambda t: t * 2)(inp))
    with pytest.raises(TypeError, match="never serialises Python code"):
        m.save(str(tmp_path / "l.keras"))
    assert not os.path.exists(tmp_path / "l.keras")


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, make_sequential, monkeypatch):
    m = make_sequential()
    p = str(tmp_path / "m.keras")
    m.save(p)
    before = open(p, "rb").read()
    import zipfile as zf
    real = zf.ZipFile.writestr

    def boom(self, name, *a, **k):  # fail half-way through writing the archive
        if name == "model.weights.npz":
            raise RuntimeError("disk full")
        return real(self, name, *a, **k)
    monkeypatch.setattr(zf.ZipFile, "writestr", boom)
    with pytest.raises(RuntimeError):
        m.save(p)
    assert open(p, "rb").read() == before
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []


def test_nested_model_batchnorm_and_registered_subclass(tmp_path):
    from nerve.layers import BatchNormalization, Dense, Dropout, Input
    from nerve.models import Model, Sequential
    from nerve.saving import register_keras_serializable

    inner = Sequential([Input(shape=(4,)), Dense(5, activation="relu"), BatchNormalization()], name="inner")
    inp = Input(shape=(4,))
    out = Dense(2)(Dropout(0.1)(inner(inp)))
    m = Model(inp, out)
    m.compile(optimizer="rmsprop", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    m.fit(x, np.zeros((16, 2), "float32"), epochs=1, verbose=0)  # moves the BN statistics
    from nerve.saving.weights import weight_map
    keys = list(weight_map(m))
    assert "sequential/batch_normalization/moving_mean" in keys and len(keys) == len(m.weights)
    p = str(tmp_path / "nested.keras")
    m.save(p)
    m2 = saving.load_model(p)
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))

    @register_keras_serializable("tests")
    class TwoLayer(Model):
        def __init__(self, units=3, **kw):
            super().__init__(**kw)
            self.units = units
            self.a = Dense(units, activation="tanh")
            self.b = Dense(1)

        def call(self, inputs, training=None):
            return self.b(self.a(inputs))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    s = TwoLayer(4)
    s.compile(optimizer="adam", loss="mse")
    s.fit(x, np.ones((16, 1), "float32"), epochs=1, verbose=0)
    p = str(tmp_path / "sub.keras")
    s.save(p)
    s2 = saving.load_model(p)
    assert type(s2) is TwoLayer and s2.units == 4
    np.testing.assert_array_equal(s2.predict(x, verbose=0), s.predict(x, verbose=0))


def test_lambda_with_registered_function_round_trips(tmp_path):
    from nerve import ops
    from nerve.layers import Input, Lambda
    from nerve.models import Model
    from nerve.saving import register_keras_serializable

    @register_keras_serializable("tests")
    def double_relu(t):
        return ops.relu(t) * 2

    inp = Input(shape=(3,))
    m = Model(inp, Lambda(double_relu)(inp))
    p = str(tmp_path / "lam.keras")
    m.save(p)
    m2 = saving.load_model(p)
    x = np.array([[-1.0, 0.5, 2.0]], "float32")
    np.testing.assert_array_equal(m2.predict(x, verbose=0), [[0.0, 1.0, 4.0]])


def test_zero_dim_weights_keep_their_shape(tmp_path):
    """A scalar weight (Attention's learnt scale) saves as shape (), not (1,) (np.ascontiguousarray's 1-D)."""
    import numpy as np
    import nerve
    from nerve import layers
    from nerve.saving.file_io import npz_bytes
    import io
    assert np.load(io.BytesIO(npz_bytes({"s": np.float32(2.0) * np.ones(())})))["s"].shape == ()
    q, v = nerve.Input((3, 4)), nerve.Input((5, 4))
    model = nerve.Model([q, v], layers.Attention(use_scale=True)([q, v]))
    model.layers[-1].scale.assign(np.array(1.7, np.float32))
    model.save(tmp_path / "att.keras")
    loaded = nerve.models.load_model(tmp_path / "att.keras")
    assert loaded.layers[-1].scale.shape == () and float(loaded.layers[-1].scale.numpy()) == np.float32(1.7)
