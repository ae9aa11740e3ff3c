"""Tiny models and helpers for the callback tests."""
import numpy as np
import pytest


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.1).astype("float32")
    return x, y


@pytest.fixture
def make_model():
    def make(lr=0.01, optimizer="sgd", dropout=False):
        from nerve import optimizers
        from nerve.layers import Dense, Dropout, Input
        from nerve.models import Sequential
        layers = [Input(shape=(3,)), Dense(6, activation="tanh")]
        if dropout:
            layers.append(Dropout(0.3))
        layers.append(Dense(1))
        m = Sequential(layers)
        opt = {"sgd": optimizers.SGD, "adam": optimizers.Adam}[optimizer](learning_rate=lr)
        m.compile(optimizer=opt, loss="mse")
        return m
    return make


class Scripted:
    """A callback (put before the one under test) that writes ``values[epoch]`` into the epoch logs under
    ``key`` and snapshots the weights, so monitored values are exactly known."""

    def __new__(cls, key, values):
        from nerve.callbacks import Callback

        class _Scripted(Callback):
            def __init__(self):
                super().__init__()
                self.snapshots = []

            def on_epoch_end(self, epoch, logs=None):
                logs[key] = values[epoch]
                self.snapshots.append(self.model.get_weights())
        return _Scripted()


@pytest.fixture
def scripted():
    return Scripted
