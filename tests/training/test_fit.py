"""The training loop: fit / evaluate / predict semantics, weights, frozen layers, errors, learning."""
import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.callbacks import Callback


def mlp(n_in=2, hidden=8, n_out=1, out_act="sigmoid", **kw):
    return nerve.Sequential([nerve.Input((n_in,)), layers.Dense(hidden, activation="tanh", **kw),
                             layers.Dense(n_out, activation=out_act)])


def test_xor_is_learned():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
    y = np.array([[0], [1], [1], [0]], "float32")
    model = mlp()
    model.compile(nerve.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=300, batch_size=4, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc == 1.0 and loss < 0.1
    assert hist.history["accuracy"][-1] == 1.0


def test_two_spirals_reach_95_percent():
    rng = np.random.default_rng(1)
    n = 200
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
    a = np.stack([t * np.cos(t), t * np.sin(t)], 1) / np.pi  # 1.5 turns, radius up to 3
    x = np.concatenate([a, -a]).astype("float32")
    y = np.concatenate([np.zeros(n), np.ones(n)]).astype("int64")
    model = nerve.Sequential([nerve.Input((2,)), layers.Dense(64, activation="tanh"),
                              layers.Dense(64, activation="tanh"), layers.Dense(2, activation="softmax")])
    model.compile(nerve.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=100, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] >= 0.95


def test_history_params_and_logs_order():
    x, y = np.random.rand(40, 2).astype("float32"), np.random.randint(0, 2, (40, 1))
    model = mlp()
    model.compile("adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=3, batch_size=16, validation_data=(x, y), verbose=0)
    assert hist is model.history
    assert list(hist.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert hist.epoch == [0, 1, 2]
    assert hist.params == {"verbose": 0, "epochs": 3, "steps": 3}
    assert all(isinstance(v, float) for v in hist.history["loss"])
    # the validation numbers of the last epoch are evaluate() on the same data with the final weights
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] == pytest.approx(hist.history["val_loss"][-1])
    # warm start: a second fit continues from the current weights (seed-000 "Warm start")
    w = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(w, model.get_weights()))
    h2 = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert h2.epoch == [2, 3]


class Recorder(nerve.Sequential):
    """Records which samples train_step and test_step see (x is the sample index)."""

    def train_step(self, data):
        self.seen_train.extend(np.asarray(data[0]).ravel().tolist())
        return super().train_step(data)

    def test_step(self, data):
        self.seen_val.extend(np.asarray(data[0]).ravel().tolist())
        return super().test_step(data)


def test_validation_split_takes_the_last_fraction_before_shuffling():
    n = 40
    x = np.arange(n, dtype="float32")[:, None]
    y = np.zeros((n, 1), "float32")
    model = Recorder([nerve.Input((1,)), layers.Dense(1)])
    model.seen_train, model.seen_val = [], []
    model.compile("sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=5, validation_split=0.25, shuffle=True, verbose=0)
    assert sorted(model.seen_train) == list(range(30))           # the first 75%
    assert model.seen_train != list(range(30))                   # shuffled
    assert model.seen_val == list(range(30, 40))                 # the last 25%, in order
    model.seen_train = []
    model.fit(x, y, epochs=1, batch_size=5, shuffle=False, verbose=0)
    assert model.seen_train == list(range(40))


def test_sample_weight_and_class_weight_weight_the_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3)).astype("float32")
    y = (rng.uniform(size=(12, 1)) > 0.5).astype("float32")
    model = mlp(3)
    model.compile(nerve.optimizers.SGD(0.0), loss="binary_crossentropy")  # lr 0: weights never move
    p = np.clip(model.predict(x, verbose=0), 1e-7, 1 - 1e-7)
    per_sample = -(y * np.log(p) + (1 - y) * np.log(1 - p))[:, 0]
    sw = rng.uniform(0, 2, 12).astype("float32")
    # Keras' default reduction: sum(w_i * l_i) / number of samples
    assert model.evaluate(x, y, sample_weight=sw, verbose=0) == pytest.approx(np.sum(sw * per_sample) / 12, rel=1e-5)
    cw = {0: 0.5, 1: 3.0}
    w = np.where(y[:, 0] > 0.5, 3.0, 0.5)
    loss = model.train_on_batch(x, y, class_weight=cw)
    assert loss == pytest.approx(np.sum(w * per_sample) / 12, rel=1e-5)
    hist = model.fit(x, y, class_weight=cw, sample_weight=sw, batch_size=12, epochs=1, shuffle=False, verbose=0)
    assert hist.history["loss"][0] == pytest.approx(np.sum(w * sw * per_sample) / 12, rel=1e-5)


def test_class_weight_changes_what_is_learned():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype("float32")
    y = (rng.uniform(size=200) > 0.5).astype("int64")  # labels independent of x
    preds = []
    for cw in ({0: 1.0, 1: 10.0}, {0: 10.0, 1: 1.0}):
        nerve.set_random_seed(0)
        model = mlp(2, out_act="softmax", n_out=2)
        model.compile(nerve.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        model.fit(x, y, class_weight=cw, epochs=20, batch_size=50, verbose=0)
        preds.append(model.predict(x, verbose=0)[:, 1].mean())
    assert preds[0] > 0.75 > 0.25 > preds[1]


def test_regularisation_losses_are_added_to_the_loss():
    x = np.random.rand(8, 3).astype("float32")
    y = np.random.rand(8, 1).astype("float32")
    model = nerve.Sequential([nerve.Input((3,)), layers.Dense(1, kernel_regularizer=nerve.regularizers.l2(0.1))])
    model.compile("sgd", loss="mse")
    k, b = model.get_weights()
    mse = np.mean((x @ k + b - y) ** 2)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + 0.1 * np.sum(k ** 2), rel=1e-5)


def test_frozen_layers_keep_their_weights_and_get_no_gradients():
    x, y = np.random.rand(32, 2).astype("float32"), np.random.rand(32, 1).astype("float32")
    model = mlp()
    model.layers[0].trainable = False
    model.compile("adam", loss="mse")
    frozen = [w.copy() for w in model.layers[0].get_weights()]
    free = [w.copy() for w in model.layers[1].get_weights()]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(free, model.layers[1].get_weights()))
    assert all(w.grad is None and not w.requires_grad for w in model.layers[0].weights)
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 9 " in lines[0] and "Non-trainable params: 24 " in lines[0]


def test_gan_frozen_discriminator_inside_combined_model():
    """seed-001-part2 §1.24: D compiled, then frozen, then the combined G->D model compiled."""
    g_in = nerve.Input((4,))
    generator = nerve.Model(g_in, layers.Dense(3)(layers.Dense(8, activation="relu")(g_in)))
    d_in = nerve.Input((3,))
    discriminator = nerve.Model(d_in, layers.Dense(1, activation="sigmoid")(layers.Dense(8, activation="relu")(d_in)))
    discriminator.compile(loss="binary_crossentropy", optimizer=nerve.optimizers.Adam(0.01), metrics=["accuracy"])
    discriminator.trainable = False
    z = nerve.Input((4,))
    combined = nerve.Model(z, discriminator(generator(z)))
    combined.compile(loss="binary_crossentropy", optimizer=nerve.optimizers.Adam(0.01))
    assert len(combined.trainable_weights) == 4  # only G's
    noise = np.random.rand(16, 4).astype("float32")
    real = np.random.rand(16, 3).astype("float32")
    d0, g0 = discriminator.get_weights(), generator.get_weights()
    d_loss = discriminator.train_on_batch(real, np.ones((16, 1), "float32"))
    assert isinstance(d_loss, list) and len(d_loss) == 2  # [loss, accuracy]
    d1 = discriminator.get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(d0, d1))  # D trains through its own compile
    g_loss = combined.train_on_batch(noise, np.ones((16, 1), "float32"))
    assert isinstance(g_loss, float)
    for a, b in zip(d1, discriminator.get_weights()):  # ... but not through the combined model
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(g0, generator.get_weights()))
    discriminator.train_on_batch(generator.predict(noise, verbose=0), np.zeros((16, 1), "float32"))
    assert any(not np.array_equal(a, b) for a, b in zip(d1, discriminator.get_weights()))


def test_train_on_batch_reports_this_batch_only():
    x, y = np.random.rand(8, 2).astype("float32"), np.random.randint(0, 2, (8, 1)).astype("float32")
    model = mlp()
    model.compile(nerve.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=["accuracy"])
    first = model.train_on_batch(x, y)
    model.train_on_batch(x[:4], 1 - y[:4])
    assert model.train_on_batch(x, y) == pytest.approx(first)
    assert model.test_on_batch(x, y, return_dict=True) == pytest.approx({"loss": first[0], "accuracy": first[1]})
    np.testing.assert_allclose(model.predict_on_batch(x), model.predict(x, verbose=0), rtol=1e-6)


def test_predict_batched_equals_one_shot():
    x = np.random.rand(103, 5).astype("float32")
    model = nerve.Sequential([nerve.Input((5,)), layers.Dense(7, activation="relu"), layers.Dropout(0.5),
                              layers.Dense(3)])
    one_shot = model(x).numpy()  # inference mode by default: dropout is the identity
    for bs in (1, 10, 32, 103, 500):
        np.testing.assert_allclose(model.predict(x, batch_size=bs, verbose=0), one_shot, rtol=1e-5, atol=1e-6)


def test_evaluate_returns_scalar_list_or_dict():
    x, y = np.random.rand(10, 2).astype("float32"), np.random.rand(10, 1).astype("float32")
    model = mlp(out_act=None)
    model.compile("sgd", loss="mse")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile("sgd", loss="mse", metrics=["mae", "mse"])
    out = model.evaluate(x, y, verbose=0)
    assert len(out) == 3 and model.metrics_names == ["loss", "mae", "mse"]
    assert out[0] == pytest.approx(out[2], rel=1e-5)


class HookLog(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_") and not name.startswith("on_batch"):
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name,) + tuple(a if not isinstance(a, dict) else sorted(a)
                                                                for a in args))
        return object.__getattribute__(self, name)


def test_callback_hooks_order_and_stop_training():
    x, y = np.random.rand(20, 2).astype("float32"), np.random.rand(20, 1).astype("float32")
    model = mlp(out_act=None)
    model.compile("sgd", loss="mse", metrics=["mae"])
    log = HookLog()
    model.fit(x, y, epochs=1, batch_size=10, validation_data=(x[:5], y[:5]), callbacks=[log], verbose=0)
    names = [c[0] for c in log.calls]
    assert names == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                     "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_batch_begin",
                     "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end"]
    assert log.calls[3] == ("on_train_batch_end", 0, ["loss", "mae"])
    assert log.calls[10] == ("on_epoch_end", 0, ["loss", "mae", "val_loss", "val_mae"])

    class StopAfter(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True
    hist = model.fit(x, y, epochs=10, callbacks=[StopAfter()], verbose=0)
    assert hist.epoch == [0, 1]
    with pytest.raises(TypeError, match="Callback instances"):
        model.fit(x, y, callbacks=[StopAfter], verbose=0)


def test_validation_freq_and_steps_per_epoch():
    x, y = np.random.rand(30, 2).astype("float32"), np.random.rand(30, 1).astype("float32")
    model = mlp(out_act=None)
    model.compile("sgd", loss="mse")
    hist = model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0)
    assert len(hist.history["loss"]) == 4 and len(hist.history["val_loss"]) == 2
    hist = model.fit(x, y, epochs=2, batch_size=4, steps_per_epoch=3, verbose=0)
    assert hist.params["steps"] == 3 and model.optimizer.iterations > 0


def test_generators_and_pydataset_inputs():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 2)).astype("float32"), rng.random((40, 1)).astype("float32")

    def gen():
        while True:
            for i in range(0, 40, 10):
                yield x[i:i + 10], y[i:i + 10]

    class Batches:  # PyDataset-like
        def __init__(self):
            self.epochs_ended = 0

        def __len__(self):
            return 4

        def __getitem__(self, i):
            return x[i * 10:(i + 1) * 10], y[i * 10:(i + 1) * 10], np.ones(10, "float32")

        def on_epoch_end(self):
            self.epochs_ended += 1

    model = mlp(out_act=None)
    model.compile("sgd", loss="mse")
    hist = model.fit(gen(), steps_per_epoch=4, epochs=2, validation_data=gen(), validation_steps=2, verbose=0)
    assert len(hist.history["val_loss"]) == 2
    ds = Batches()
    hist = model.fit(ds, epochs=3, verbose=0)
    assert hist.params["steps"] == 4 and ds.epochs_ended == 3
    np.testing.assert_allclose(model.predict(Batches(), verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert model.evaluate(ds, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
    with pytest.raises(ValueError, match="validation_split.*only supported for array"):
        model.fit(gen(), steps_per_epoch=2, validation_split=0.2, verbose=0)


def test_dict_inputs_by_input_name():
    a, b = nerve.Input((2,), name="left"), nerve.Input((1,), name="right")
    model = nerve.Model({"left": a, "right": b}, layers.Dense(1)(layers.Concatenate()([a, b])))
    model.compile("sgd", loss="mse")
    xs = {"left": np.random.rand(6, 2).astype("float32"), "right": np.random.rand(6, 1).astype("float32")}
    model.fit(xs, np.zeros((6, 1), "float32"), epochs=1, verbose=0)
    assert model.predict(xs, verbose=0).shape == (6, 1)


def test_custom_train_step_vae_style():
    class Custom(nerve.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.tracker = nerve.metrics.Mean(name="my_loss")

        def call(self, x, training=None):
            return self.dense(x)

        @property
        def metrics(self):
            return [self.tracker]

        def train_step(self, data):
            x, y = data[0], data[1]
            with nerve.enable_grad():
                loss = nerve.ops.mean(nerve.ops.square(self(x, training=True) - y))
            for v in self.trainable_variables:
                v.grad = None
            loss.backward()
            self.optimizer.apply([v.grad for v in self.trainable_variables], self.trainable_variables)
            self.tracker.update_state(float(loss.data))
            return {"my_loss": self.tracker.result()}

    x = np.random.rand(64, 3).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = Custom()
    model.compile(nerve.optimizers.Adam(0.05))
    hist = model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    assert list(hist.history) == ["my_loss"]
    assert hist.history["my_loss"][-1] < 0.05 * hist.history["my_loss"][0]


def test_lbfgs_fits_full_batch_with_closures():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 1)).astype("float32")
    y = np.sin(3 * x).astype("float32")
    model = nerve.Sequential([nerve.Input((1,)), layers.Dense(16, activation="tanh"), layers.Dense(1)])
    model.compile(nerve.optimizers.LBFGS(), loss="mse")
    hist = model.fit(x, y, epochs=10, verbose=0)
    assert hist.params["steps"] == 1  # full batch
    assert hist.history["loss"][-1] < 0.01 < hist.history["loss"][0]


def test_input_validation_errors():
    model = mlp()
    x, y = np.random.rand(10, 2).astype("float32"), np.random.rand(10, 1).astype("float32")
    with pytest.raises(ValueError, match=r"compile\(\) before fit"):
        model.fit(x, y, verbose=0)
    model.compile("sgd", loss="mse")
    with pytest.raises(ValueError, match="'x' and 'y' must have the same number of samples, got x with 10 and y "
                                         "with 9"):
        model.fit(x, y[:9], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="'batch_size' must be a positive integer, got 0"):
        model.fit(x, y, batch_size=0, verbose=0)
    for bad in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"'validation_split' must be a float in \[0, 1\)"):
            model.fit(x, y, validation_split=bad, verbose=0)
    with pytest.raises(ValueError, match="'verbose' must be 0, 1, 2 or 'auto'"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="argument 'x' is required"):
        model.predict(None)
    with pytest.raises(ValueError, match="expected last axis 2"):
        model.fit(np.random.rand(10, 3).astype("float32"), y, verbose=0)


def test_predict_and_evaluate_steps_stop_at_the_end_of_the_data():
    x = np.random.rand(10, 2).astype("float32")
    model = mlp()
    assert model.predict(x, batch_size=4, steps=2, verbose=0).shape == (8, 1)
    assert model.predict(x, batch_size=4, steps=50, verbose=0).shape == (10, 1)
