"""Functional graphs, Sequential, subclassed models: building, calling, config round trips, inspection."""
import json

import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.models import Functional, Sequential
from nerve.saving.registry import deserialize, serialize


def two_in_two_out():
    a = nerve.Input(shape=(4,), name="a")
    b = nerve.Input(shape=(3,), name="b")
    h = layers.Concatenate()([layers.Dense(8, activation="tanh")(a), layers.Dense(8, activation="tanh")(b)])
    reg = layers.Dense(1, name="reg")(h)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    return nerve.Model([a, b], [reg, cls])


def data(n=96):
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(n, 4)).astype("float32")
    xb = rng.normal(size=(n, 3)).astype("float32")
    y_reg = (xa[:, :1] - xb[:, 1:2]).astype("float32")
    y_cls = (xa[:, 0] > 0).astype("int64") + (xb[:, 0] > 0)
    return xa, xb, y_reg, y_cls


def test_model_call_returns_functional_and_names():
    m = two_in_two_out()
    assert isinstance(m, Functional) and isinstance(m, nerve.Model)
    assert m.name.startswith("functional")
    assert m.output_names == ["reg", "cls"]
    assert m.input_names == ["a", "b"]
    assert [type(l).__name__ for l in m.layers][:2] == ["InputLayer", "InputLayer"]
    assert m.count_params() == 40 + 32 + 17 + 51


def test_multi_input_multi_output_losses_weights_and_logs():
    m = two_in_two_out()
    m.compile("adam", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
              metrics={"cls": ["accuracy"]})
    xa, xb, y_reg, y_cls = data()
    hist = m.fit([xa, xb], [y_reg, y_cls], epochs=3, batch_size=32, verbose=0)
    assert set(hist.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    logs = m.evaluate({"a": xa, "b": xb}, {"reg": y_reg, "cls": y_cls}, verbose=0, return_dict=True)
    # total = 1.0 * mse + 0.5 * crossentropy (no regularisers)
    assert logs["loss"] == pytest.approx(logs["reg_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)
    reg, cls = m.predict([xa, xb], verbose=0)
    mse = float(np.mean((reg - y_reg) ** 2))
    assert logs["reg_loss"] == pytest.approx(mse, rel=1e-4)
    assert logs["cls_accuracy"] == pytest.approx(float(np.mean(cls.argmax(1) == y_cls)))
    values = m.evaluate([xa, xb], [y_reg, y_cls], verbose=0)
    assert dict(zip(m.metrics_names, values)) == pytest.approx(logs)
    assert m.metrics_names[0] == "loss"


def test_loss_dict_and_per_output_weights_dict():
    m = two_in_two_out()
    m.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
              loss_weights={"reg": 2.0, "cls": 0.0})
    xa, xb, y_reg, y_cls = data(32)
    logs = m.evaluate([xa, xb], [y_reg, y_cls], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(2.0 * logs["reg_loss"], rel=1e-5)
    with pytest.raises(ValueError, match="not model outputs"):
        m.compile("sgd", loss={"nope": "mse"})
        m.evaluate([xa, xb], [y_reg, y_cls], verbose=0)


@pytest.mark.filterwarnings("ignore:SGD. gradients do not exist")
def test_dict_outputs_and_missing_loss():
    x = nerve.Input((2,))
    h = layers.Dense(4)(x)
    m = nerve.Model(x, {"p": layers.Dense(1)(h), "q": layers.Dense(1)(h)})
    out = m.predict(np.ones((3, 2), "float32"), verbose=0)
    assert set(out) == {"p", "q"} and out["p"].shape == (3, 1)
    m.compile("sgd", loss={"p": "mse"})  # no loss on q: only p is trained (q's kernel gets no gradient)
    logs = m.train_on_batch(np.ones((3, 2), "float32"), {"p": np.zeros((3, 1), "float32")}, return_dict=True)
    assert set(logs) == {"loss"}


def test_shared_layer_has_one_set_of_weights_and_two_nodes():
    shared = layers.Dense(5, name="shared")
    a, b = nerve.Input((3,)), nerve.Input((3,))
    out = layers.Add()([shared(a), shared(b)])
    m = nerve.Model([a, b], out)
    assert m.count_params() == 20
    assert len(shared._inbound_nodes) == 2
    xa = np.random.rand(4, 3).astype("float32")
    xb = np.random.rand(4, 3).astype("float32")
    k, bias = shared.get_weights()
    np.testing.assert_allclose(m.predict([xa, xb], verbose=0), xa @ k + xb @ k + 2 * bias, rtol=1e-5, atol=1e-6)
    lines = []
    m.summary(print_fn=lines.append)
    assert "Connected to" in lines[0] and "shared[1][0]" in lines[0]


def test_nested_models_and_intermediate_outputs():
    inner = nerve.Sequential([layers.Dense(4, activation="relu", name="h1"), layers.Dense(2, name="h2")],
                             name="inner")
    x = nerve.Input((3,))
    outer = nerve.Model(x, layers.Dense(1, name="top")(inner(x)))
    assert outer.count_params() == 16 + 10 + 3
    xs = np.random.rand(5, 3).astype("float32")
    expected = inner.predict(xs, verbose=0) @ outer.get_layer("top").get_weights()[0] + \
        outer.get_layer("top").get_weights()[1]
    np.testing.assert_allclose(outer.predict(xs, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # intermediate-output model from a Sequential built from an input shape
    seq = nerve.Sequential([layers.Dense(6, activation="relu", input_shape=(3,), name="d1"), layers.Dense(2)])
    feat = nerve.Model(seq.input, seq.get_layer("d1").output)
    k, b = seq.get_layer("d1").get_weights()
    np.testing.assert_allclose(feat.predict(xs, verbose=0), np.maximum(xs @ k + b, 0), rtol=1e-5, atol=1e-6)
    # the encoder of an autoencoder shares its layers with the autoencoder
    inp = nerve.Input((8,))
    code = layers.Dense(2, activation="tanh")(inp)
    ae = nerve.Model(inp, layers.Dense(8)(code))
    enc = nerve.Model(inp, code)
    assert enc.layers[1] is ae.layers[1]


def test_graph_disconnected_error():
    a, b = nerve.Input((2,)), nerve.Input((2,))
    out = layers.Add()([layers.Dense(2)(a), layers.Dense(2)(b)])
    with pytest.raises(ValueError, match="graph disconnected"):
        nerve.Model(a, out)


def test_sequential_build_paths():
    s1 = nerve.Sequential([nerve.Input((5,)), layers.Dense(3)])
    s2 = nerve.Sequential([layers.Dense(3, input_shape=(5,))])
    s3 = nerve.Sequential()
    s3.add(layers.Dense(3))
    assert s1.built and s2.built and not s3.built
    with pytest.raises(ValueError, match="not yet been built"):
        s3.summary()
    with pytest.raises(ValueError, match="count_params needs a built model"):
        s3.count_params()
    out = s3(np.ones((2, 5), "float32"))
    assert out.shape == (2, 3) and s3.built and s3.count_params() == 18
    assert s3.input.shape == (None, 5)
    assert len(s1.layers) == 1 and s1.layers[0].name.startswith("dense")
    s1.add(layers.Dense(7))
    assert s1.output_shape == (None, 7)
    s1.pop()
    assert s1.output_shape == (None, 3)
    with pytest.raises(TypeError, match="expected a Layer instance"):
        nerve.Sequential().add("dense")


def test_predict_on_empty_sequential_and_unimplemented_call_errors():
    with pytest.raises(ValueError, match="no layers"):
        nerve.Sequential().predict(np.ones((2, 3)), verbose=0)

    class NoCall(nerve.Model):
        pass
    with pytest.raises(NotImplementedError, match="must implement"):
        NoCall().predict(np.ones((2, 3)), verbose=0)


def test_wrong_input_last_dimension_surfaces_layer_error():
    m = nerve.Sequential([nerve.Input((784,)), layers.Dense(128), layers.Dense(10)])
    with pytest.raises(ValueError, match=r"expected last axis 784, got input of shape \(32, 245\)"):
        m.predict(np.zeros((32, 245), "float32"), verbose=0)


def test_get_layer_errors():
    m = nerve.Sequential([layers.Dense(2, input_shape=(3,), name="first"), layers.Dense(1, name="second")])
    assert m.get_layer("second") is m.layers[1]
    assert m.get_layer(index=0) is m.layers[0]
    with pytest.raises(ValueError, match="no such layer: 'third'.*first.*second"):
        m.get_layer("third")
    with pytest.raises(ValueError, match="index 5.*has 2 layers"):
        m.get_layer(index=5)
    with pytest.raises(ValueError, match="only a layer name or a layer index"):
        m.get_layer("first", 0)
    with pytest.raises(ValueError, match="either a layer name or a layer index"):
        m.get_layer()


def _roundtrip(model):
    cfg = serialize(model)
    json.dumps(cfg)  # JSON-able
    return deserialize(json.loads(json.dumps(cfg)), kind="models")


def test_config_round_trips_give_identical_predictions():
    xs = np.random.rand(6, 4).astype("float32")
    xb = np.random.rand(6, 3).astype("float32")
    seq = nerve.Sequential([layers.Dense(5, activation="relu", input_shape=(4,)), layers.Dropout(0.2),
                            layers.Dense(2)])
    fun = two_in_two_out()
    nested_in = nerve.Input((4,))
    nested = nerve.Model(nested_in, layers.Dense(1)(seq(nested_in)))
    for model, x in ((seq, xs), (fun, [xs, xb]), (nested, xs)):
        clone = _roundtrip(model)
        assert type(clone) is type(model)
        assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
        clone.set_weights(model.get_weights())
        p, q = model.predict(x, verbose=0), clone.predict(x, verbose=0)
        for a, b in zip(p if isinstance(p, list) else [p], q if isinstance(q, list) else [q]):
            np.testing.assert_array_equal(a, b)
    cfg = fun.get_config()
    assert cfg["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert cfg["output_layers"] == [["reg", 0, 0], ["cls", 0, 0]]
    dense_cfg = next(l for l in cfg["layers"] if l["name"] == "reg")
    hist = dense_cfg["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
    assert hist[0].startswith("concatenate")
    scfg = seq.get_config()
    assert scfg["layers"][0]["class_name"] == "InputLayer" and scfg["build_input_shape"] == [None, 4]
    # Sequential and Functional are registered as models and as layers
    assert deserialize(serialize(seq), kind="layers").count_params() == seq.count_params()


def test_subclassed_model_with_call_trains():
    class TwoLayer(nerve.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(16, activation="tanh")
            self.out = layers.Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    m = TwoLayer()
    assert m.name == "two_layer" and not m.built
    x = np.linspace(-1, 1, 64, dtype="float32")[:, None]
    y = x ** 2
    m.compile(nerve.optimizers.Adam(0.02), loss="mse")
    hist = m.fit(x, y, epochs=60, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.2 * hist.history["loss"][0]
    assert len(m.weights) == 4 and m.count_params() == 16 * 2 + 17
    assert [l.name for l in m.layers] == [m.hidden.name, m.out.name]
    lines = []
    m.summary(print_fn=lines.append)
    assert "Trainable params: 49 (196.00 B)" in lines[0] and "Optimizer params: " in lines[0]


def test_subclass_calling_super_with_inputs_and_outputs_is_functional():
    class Wrapped(nerve.Model):
        def __init__(self):
            x = nerve.Input((3,))
            super().__init__(x, layers.Dense(2)(x))

    m = Wrapped()
    assert isinstance(m, Functional) and isinstance(m, Wrapped)
    assert m.predict(np.ones((1, 3), "float32"), verbose=0).shape == (1, 2)


def test_to_json_and_clone_model():
    from nerve.models import clone_model, model_from_json
    m = nerve.Sequential([layers.Dense(3, input_shape=(2,)), layers.Dense(1)])
    again = model_from_json(m.to_json())
    assert isinstance(again, Sequential) and again.count_params() == m.count_params()
    c = clone_model(m)
    assert c.count_params() == 13 and c.weights[0] is not m.weights[0]
