"""Small models for the saving tests (the real nerve Model / Sequential / functional API)."""
import numpy as np
import pytest


@pytest.fixture
def make_sequential():
    def make(compile=True):
        from nerve.layers import Dense, Input
        from nerve.models import Sequential
        m = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
        if compile:
            m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        return m
    return make


@pytest.fixture
def make_functional():
    """Two inputs, a merge, two Dense branches."""
    def make(compile=True):
        from nerve.layers import Concatenate, Dense, Input
        from nerve.models import Model
        a, b = Input(shape=(3,), name="a"), Input(shape=(2,), name="b")
        h = Concatenate()([Dense(5, activation="tanh")(a), Dense(4)(b)])
        out = Dense(1)(h)
        m = Model([a, b], out)
        if compile:
            m.compile(optimizer="sgd", loss="mse")
        return m
    return make


@pytest.fixture
def seq_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    return x, y


@pytest.fixture
def func_data():
    rng = np.random.default_rng(2)
    x = [rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2)).astype("float32")]
    y = rng.normal(size=(16, 1)).astype("float32")
    return x, y
