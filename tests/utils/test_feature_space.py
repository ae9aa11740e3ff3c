"""nerve.utils.FeatureSpace: the keras.io "Structured data classification with FeatureSpace" pattern on a small
synthetic heart-disease-like table, encoded values checked against hand-computed ones, config round trip and
errors."""
import json

import numpy as np
import pytest

import nerve as keras
from nerve import layers
from nerve.utils import FeatureSpace, PyDataset


def heart_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    data = {
        "sex": rng.integers(0, 2, n), "cp": rng.integers(0, 4, n), "fbs": rng.integers(0, 2, n),
        "restecg": rng.integers(0, 3, n), "exang": rng.integers(0, 2, n), "ca": rng.integers(0, 4, n),
        "thal": rng.choice(["normal", "fixed", "reversible"], n, p=[0.5, 0.2, 0.3]),
        "age": rng.uniform(29, 77, n).round(), "trestbps": rng.normal(130, 17, n).round(),
        "chol": rng.normal(245, 50, n).round(), "thalach": rng.normal(150, 22, n).round(),
        "oldpeak": rng.exponential(1.0, n).round(1), "slope": rng.integers(0, 3, n).astype(float),
    }
    score = (1.5 * data["exang"] + 0.8 * data["ca"] + 1.2 * (data["thal"] == "reversible") + 0.9 * data["oldpeak"]
             - 0.04 * (data["thalach"] - 150) + 0.5 * data["sex"] - 2.6)
    target = (score > 0).astype("float32")
    return data, target


def heart_feature_space(**kwargs):
    return FeatureSpace(
        features={
            "sex": "integer_categorical", "cp": "integer_categorical", "fbs": "integer_categorical",
            "restecg": "integer_categorical", "exang": "integer_categorical", "ca": "integer_categorical",
            "thal": "string_categorical", "age": "float_discretized",
            "trestbps": "float_normalized", "chol": "float_normalized", "thalach": "float_normalized",
            "oldpeak": "float_normalized", "slope": "float_normalized",
        },
        crosses=[FeatureSpace.cross(feature_names=("sex", "age"), crossing_dim=64),
                 FeatureSpace.cross(feature_names=("thal", "ca"), crossing_dim=16)],
        **kwargs)


def test_keras_io_structured_data_example_learns():
    data, target = heart_table()
    train = {k: v[:320] for k, v in data.items()}
    val = {k: v[320:] for k, v in data.items()}
    batches = [({k: v[i:i + 32] for k, v in train.items()}, target[i:i + 32]) for i in range(0, 320, 32)]
    feature_space = heart_feature_space(output_mode="concat")
    feature_space.adapt(batches)  # (dict, labels) batches: only the dicts are read

    x_train, x_val = feature_space(train), feature_space(val)
    # 6 integer features of 2..4 values (+1 OOV each), thal 3 (+1), age 32 bins, 5 floats, crosses 64 + 16
    width = (3 + 5 + 3 + 4 + 3 + 5) + 4 + 32 + 5 + 64 + 16
    assert x_train.shape == (320, width) and str(x_train.dtype) == "float32"

    encoded_features = feature_space.get_encoded_features()
    assert encoded_features.shape == (None, width)
    x = layers.Dense(32, activation="relu")(encoded_features)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid")(x)
    training_model = keras.Model(inputs=encoded_features, outputs=predictions)
    training_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    keras.utils.set_random_seed(0)
    history = training_model.fit(x_train, target[:320], epochs=30, batch_size=32,
                                 validation_data=(x_val, target[320:]), verbose=0)
    assert history.history["accuracy"][-1] > 0.85
    assert history.history["val_accuracy"][-1] > 0.75

    sample = {"age": 60, "sex": 1, "cp": 1, "trestbps": 145, "chol": 233, "fbs": 1, "restecg": 2, "thalach": 150,
              "exang": 0, "oldpeak": 2.3, "slope": 3, "ca": 0, "thal": "fixed"}
    one = feature_space(sample)  # a single example: unbatched output
    assert one.shape == (width,)
    prob = training_model.predict(np.asarray(one)[None], verbose=0)
    assert prob.shape == (1, 1) and 0 <= float(prob[0, 0]) <= 1


def test_numeric_inference_model_from_get_inputs(tmp_path):
    data, target = heart_table(300, seed=1)
    numeric = {k: data[k] for k in ("exang", "ca", "oldpeak", "thalach", "sex")}
    fs = FeatureSpace({"exang": "integer_categorical", "ca": "integer_categorical", "oldpeak": "float_normalized",
                       "thalach": "float_normalized", "sex": "integer_categorical"}, crosses=[("sex", "exang")],
                      crossing_dim=8)
    fs.adapt(numeric)
    inputs, encoded = fs.get_inputs(), fs.get_encoded_features()
    assert sorted(inputs) == sorted(numeric) and inputs["ca"].shape == (None, 1)
    outputs = layers.Dense(1, activation="sigmoid")(encoded)
    training_model = keras.Model(encoded, outputs)
    training_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    training_model.fit(fs(numeric), target, epochs=40, batch_size=32, verbose=0)
    inference_model = keras.Model(inputs, outputs)  # raw columns in, probabilities out
    direct = inference_model.predict(numeric, verbose=0)
    np.testing.assert_allclose(direct, training_model.predict(fs(numeric), verbose=0), rtol=1e-5, atol=1e-6)
    assert training_model.evaluate(fs(numeric), target, verbose=0)[1] > 0.7
    inference_model.save(tmp_path / "heart.keras")  # the FeatureSpace travels in the model's config
    reloaded = keras.models.load_model(tmp_path / "heart.keras")
    np.testing.assert_allclose(reloaded.predict(numeric, verbose=0), direct, rtol=1e-5, atol=1e-6)


def test_encoded_values_by_hand():
    age = np.arange(1.0, 9.0)  # 1..8
    chol = np.array([200.0, 240.0, 260.0, 300.0, 180.0, 220.0, 250.0, 270.0])
    thal = np.array(["normal"] * 4 + ["reversible"] * 3 + ["fixed"])
    cp = np.array([2, 2, 2, 0, 0, 1, 3, 3])
    city = np.array(["a", "b", "c", "d", "e", "f", "g", "h"])
    data = {"age": age, "chol": chol, "thal": thal, "cp": cp, "city": city, "slope": age,
            "ids": np.arange(8), "raw": chol}
    fs = FeatureSpace({
        "age": FeatureSpace.float_discretized(num_bins=4), "chol": "float_normalized", "thal": "string_categorical",
        "cp": FeatureSpace.integer_categorical(output_mode="int"), "city": FeatureSpace.string_hashed(num_bins=8),
        "slope": FeatureSpace.float_rescaled(scale=0.5, offset=1.0), "ids": FeatureSpace.integer_hashed(4),
        "raw": "float"}, crosses=[FeatureSpace.cross(("thal", "cp"), crossing_dim=16)], output_mode="dict")
    fs.adapt(data)
    out = {k: np.asarray(v) for k, v in fs(data).items()}
    assert list(out) == ["age", "chol", "city", "cp", "ids", "raw", "slope", "thal", "thal_X_cp"]

    # quantile boundaries of 1..8 at 1/4, 2/4, 3/4: 2.75, 4.5, 6.25 -> bins 0,0,1,1,2,2,3,3
    assert fs.preprocessors["age"].bin_boundaries == pytest.approx([2.75, 4.5, 6.25])
    np.testing.assert_array_equal(out["age"].argmax(1), [0, 0, 1, 1, 2, 2, 3, 3])
    assert out["age"].shape == (8, 4) and out["age"].sum() == 8
    mean, std = chol.mean(), chol.std()  # population std, as Keras' Normalization
    np.testing.assert_allclose(out["chol"][:, 0], (chol - mean) / std, rtol=1e-5)
    # vocabulary by count: [UNK], normal (4), reversible (3), fixed (1); OOV is index 0
    assert fs.preprocessors["thal"].get_vocabulary() == ["[UNK]", "normal", "reversible", "fixed"]
    np.testing.assert_array_equal(out["thal"].argmax(1), [1, 1, 1, 1, 2, 2, 2, 3])
    np.testing.assert_array_equal(np.asarray(fs({**data, "thal": np.array(["?"] * 8)})["thal"]).argmax(1), 0)
    # cp in 'int' mode: indices (vocabulary 2 (3x), 3 (2x), 0 (2x), 1) shifted by the OOV slot
    assert fs.preprocessors["cp"].get_vocabulary() == [-1, 2, 3, 0, 1]
    np.testing.assert_array_equal(out["cp"][:, 0], [1, 1, 1, 3, 3, 4, 2, 2])
    np.testing.assert_array_equal(out["city"].argmax(1), np.asarray(layers.Hashing(num_bins=8)(city)))
    np.testing.assert_array_equal(out["ids"].argmax(1), np.asarray(layers.Hashing(num_bins=4)(np.arange(8))))
    np.testing.assert_allclose(out["slope"][:, 0], age * 0.5 + 1.0)
    np.testing.assert_allclose(out["raw"][:, 0], chol)
    crossed = layers.HashedCrossing(16)([np.array([1, 1, 1, 1, 2, 2, 2, 3]), out["cp"][:, 0]])
    np.testing.assert_array_equal(out["thal_X_cp"].argmax(1), np.asarray(crossed).ravel())
    assert all(np.all(out[k].sum(1) == 1) for k in ("age", "thal", "city", "ids", "thal_X_cp"))

    # concat mode: the same columns side by side (cp must be encoded to be concatenated)
    with pytest.raises(ValueError, match="cannot concatenate feature 'cp'"):
        FeatureSpace.from_config({**fs.get_config(), "output_mode": "concat"})(data)


def test_adapt_sources_agree_and_single_example():
    data, _ = heart_table(96, seed=2)
    cols = {k: data[k] for k in ("thal", "chol", "ca")}
    spec = {"thal": "string_categorical", "chol": "float_normalized", "ca": "integer_categorical"}

    class Batches(PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {k: v[i * 32:(i + 1) * 32] for k, v in cols.items()}

    a, b, c = FeatureSpace(spec), FeatureSpace(spec), FeatureSpace(spec)
    a.adapt(cols)
    b.adapt(Batches())
    c.adapt([{k: v[i] for k, v in cols.items()} for i in range(96)])  # unbatched examples
    for other in (b, c):
        np.testing.assert_allclose(np.asarray(other(cols)), np.asarray(a(cols)), rtol=1e-5, atol=1e-6)
    one = {"thal": "fixed", "chol": 240.0, "ca": 2}
    np.testing.assert_allclose(np.asarray(a(one)), np.asarray(a({k: [v] for k, v in one.items()}))[0])


def test_get_config_round_trip():
    data, _ = heart_table(120, seed=3)
    fs = heart_feature_space(output_mode="concat", name="heart_fs")
    fs.adapt(data)
    cfg = json.loads(json.dumps(fs.get_config()))  # JSON-able, adapted state included
    restored = FeatureSpace.from_config(cfg)
    assert restored.name == "heart_fs" and restored.output_mode == "concat"
    assert sorted(restored.crosses_by_name) == ["sex_X_age", "thal_X_ca"]
    np.testing.assert_allclose(np.asarray(restored(data)), np.asarray(fs(data)), rtol=1e-6)
    assert restored.get_encoded_features().shape == fs.get_encoded_features().shape


def test_errors_are_clear():
    with pytest.raises(ValueError, match="feature 'x' has an invalid type 'floaty'"):
        FeatureSpace({"x": "floaty"})
    with pytest.raises(ValueError, match="'output_mode' expected 'concat' or 'dict', got 'stack'"):
        FeatureSpace({"x": "float"}, output_mode="stack")
    with pytest.raises(ValueError, match=r"names unknown feature\(s\) \['y'\]"):
        FeatureSpace({"x": "integer_categorical"}, crosses=[("x", "y")])
    with pytest.raises(ValueError, match="non-empty dict"):
        FeatureSpace({})
    with pytest.raises(ValueError, match="'output_mode' expected one of"):
        FeatureSpace.integer_categorical(output_mode="multi_hot")
    fs = FeatureSpace({"x": "float_normalized", "c": "string_categorical"})
    with pytest.raises(ValueError, match=r"call adapt\(dataset\).*\['x', 'c'\]"):
        fs({"x": [1.0], "c": ["a"]})
    with pytest.raises(ValueError, match="feature 'c' is missing from the data; got keys \\['x'\\]"):
        fs.adapt({"x": np.arange(3.0)})
    with pytest.raises(ValueError, match="expected a dict of arrays or an iterable"):
        fs.adapt(3)
    fs.adapt({"x": np.arange(3.0), "c": np.array(["a", "b", "a"])})
    with pytest.raises(ValueError, match=r"feature\(s\) \['c'\] are missing from the data"):
        fs({"x": [1.0]})
    with pytest.raises(ValueError, match="feature 'x' expected float32 values"):
        fs({"x": ["high"], "c": ["a"]})
    with pytest.raises(ValueError, match="expected a dict"):
        fs([1.0, 2.0])
    custom = FeatureSpace({"x": FeatureSpace.feature("float32", layers.Identity(), "one_hot")})
    with pytest.raises(ValueError, match="feature 'x' has output_mode='one_hot'.*returns float32"):
        custom({"x": [1.0]})


def test_a_saved_model_with_a_feature_space_loads_in_a_fresh_process(tmp_path):
    """The saving registry imports FeatureSpace with nerve's built-in classes: no custom_objects needed."""
    import os
    import subprocess
    import sys
    fs = FeatureSpace({"a": "float_normalized", "b": "integer_categorical"})
    fs.adapt({"a": np.arange(6.0), "b": np.array([1, 2, 1, 3, 2, 1])})
    model = keras.Model(fs.get_inputs(), layers.Dense(1)(fs.get_encoded_features()))
    path = tmp_path / "fs.keras"
    model.save(path)
    want = model.predict({"a": np.arange(3.0), "b": np.array([1, 2, 3])}, verbose=0)
    code = ("import json, sys, numpy as np, nerve; m = nerve.models.load_model(sys.argv[1]); "
            "print(json.dumps(m.predict({'a': np.arange(3.0), 'b': np.array([1, 2, 3])}, verbose=0).ravel().tolist()))")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=root))
    np.testing.assert_allclose(__import__("json").loads(out.stdout.strip()), want.ravel(), rtol=1e-6)
