"""Recurrent layers: Keras's own golden values (keras/src/layers/rnn/*_test.py), PyTorch parity with copied
weights (forward and backward), float64 gradchecks of the fused and cell-loop paths, masks, states."""
import os

import numpy as np
import pytest

import nerve
from nerve import backend, initializers, layers
from tests.layers.harness import layer_test

KW = dict(kernel_initializer=initializers.Constant(0.01), recurrent_initializer=initializers.Constant(0.02),
          bias_initializer=initializers.Constant(0.03))
S24 = np.arange(24).reshape((2, 3, 4)).astype("float32")
S24b = np.arange(24).reshape((2, 4, 3)).astype("float32")
S72 = np.arange(72).reshape((3, 6, 4)).astype("float32")


def _col(v):
    return np.asarray(v, "float32")


# ---------------------------------------------------------------------------- Keras golden values
@pytest.mark.parametrize("cls,extra,x,expected", [
    (layers.SimpleRNN, dict(units=4), S24, [0.405432, 0.73605347]),
    (layers.SimpleRNN, dict(units=4, unroll=True), S24, [0.405432, 0.73605347]),
    (layers.SimpleRNN, dict(units=4, go_backwards=True), S24, [0.11144729, 0.5528889]),
    (layers.LSTM, dict(units=3), S72, [0.6288687, 0.86899155, 0.9460773]),
    (layers.LSTM, dict(units=3, go_backwards=True), S72, [0.35622165, 0.74789524, 0.8872726]),
    (layers.LSTM, dict(units=3, unit_forget_bias=False), S72, [0.57019705, 0.8661914, 0.9459622]),
    (layers.LSTM, dict(units=3, use_bias=False), S72, [0.54986924, 0.86226785, 0.9443936]),
    (layers.GRU, dict(units=3), S72, [0.5217289, 0.6371659, 0.39384964]),
    (layers.GRU, dict(units=3, go_backwards=True), S72, [0.24406259, 0.611516, 0.3928808]),
    (layers.GRU, dict(units=3, reset_after=False), S72, [0.51447755, 0.6426879, 0.40208298]),
    (layers.GRU, dict(units=3, use_bias=False), S72, [0.49988455, 0.64701194, 0.4103359]),
])
def test_keras_golden_values(cls, extra, x, expected):
    out = cls(**extra, **KW)(x).numpy()
    # every unit is equal (constant weights); the values are Keras's for each sample
    ref = np.repeat(_col(expected)[:, None], out.shape[1], axis=1)
    np.testing.assert_allclose(out, ref, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("cell_cls,units,x,expected", [
    (layers.SimpleRNNCell, 4, S24, [0.405432, 0.73605347]),
    (layers.LSTMCell, 3, S72, [0.6288687, 0.86899155, 0.9460773]),
    (layers.GRUCell, 3, S72, [0.5217289, 0.6371659, 0.39384964]),
])
def test_keras_golden_values_cell_loop(cell_cls, units, x, expected):
    out = layers.RNN(cell_cls(units, **KW))(x).numpy()
    np.testing.assert_allclose(out[:, 0], _col(expected), atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("cls,expected", [
    (layers.SimpleRNN, [0.40559256, 0.7361247]),
    (layers.LSTM, [0.3124785, 0.6863672]),
    (layers.GRU, [0.29542392, 0.5885018]),
])
def test_keras_statefulness(cls, expected):
    layer = cls(4, stateful=True, **KW)
    layer(S24)
    np.testing.assert_allclose(layer(S24).numpy()[:, 0], expected, atol=2e-6)
    layer.reset_states()
    layer(S24)
    np.testing.assert_allclose(layer(S24).numpy()[:, 0], expected, atol=2e-6)
    layer.reset_state()
    assert layer.states is None


def test_keras_initial_state():
    init = np.arange(8).reshape((2, 4)).astype("float32")
    out = layers.SimpleRNN(4, **KW)(S24b, initial_state=init).numpy()
    np.testing.assert_allclose(out[:, 0], [0.33621645, 0.6262637], atol=2e-6)
    out = layers.SimpleRNN(4, go_backwards=True, **KW)(S24b, initial_state=init).numpy()
    np.testing.assert_allclose(out[:, 0], [0.07344437, 0.43043602], atol=2e-6)
    hc = [np.arange(4).reshape((2, 2)).astype("float32")] * 2
    out = layers.LSTM(2, **KW)(S24b, initial_state=hc).numpy()
    np.testing.assert_allclose(out, [[0.20574439, 0.3558822], [0.64930826, 0.66276]], atol=2e-6)
    out = layers.LSTM(2, go_backwards=True, **KW)(S24b, initial_state=hc).numpy()
    np.testing.assert_allclose(out, [[0.13281618, 0.2790356], [0.5839337, 0.5992567]], atol=2e-6)
    h = np.arange(4).reshape((2, 2)).astype("float32")
    out, state = layers.GRU(2, return_state=True, **KW)(S24b, initial_state=h)
    np.testing.assert_allclose(out.numpy(), [[0.23774096, 0.33508456], [0.83659905, 1.0227708]], atol=2e-6)
    np.testing.assert_allclose(state.numpy(), out.numpy())
    out = layers.GRU(2, go_backwards=True, **KW)(S24b, initial_state=h).numpy()
    np.testing.assert_allclose(out, [[0.13486053, 0.23261218], [0.78257304, 0.9691353]], atol=2e-6)


MASK = np.array([[True, True, False, True], [True, False, False, True]])


@pytest.mark.parametrize("fused", [True, False])
def test_keras_masking_simple_rnn(fused):
    def make(**kw):
        if fused:
            return layers.SimpleRNN(**kw, **KW)
        units = kw.pop("units")
        return layers.RNN(layers.SimpleRNNCell(units, **KW), **kw)
    np.testing.assert_allclose(make(units=4)(S24b, mask=MASK).numpy()[:, 0], [0.32951632, 0.61799484], atol=2e-6)
    out = make(units=2, return_sequences=True)(S24b, mask=MASK).numpy()
    np.testing.assert_allclose(out[0, :, 0], [0.0599281, 0.15122814, 0.15122814, 0.32394567], atol=2e-6)
    np.testing.assert_allclose(out[1, :, 0], [0.3969304, 0.3969304, 0.3969304, 0.608085], atol=2e-6)
    out = make(units=2, return_sequences=True, zero_output_for_mask=True)(S24b, mask=MASK).numpy()
    np.testing.assert_allclose(out[0, :, 0], [0.0599281, 0.15122814, 0.0, 0.32394567], atol=2e-6)
    np.testing.assert_allclose(out[1, :, 0], [0.3969304, 0.0, 0.0, 0.608085], atol=2e-6)
    out = make(units=4, go_backwards=True)(S24b, mask=MASK).numpy()
    np.testing.assert_allclose(out[:, 0], [0.07376196, 0.43645123], atol=2e-6)


def test_keras_masking_lstm_gru():
    m = np.array([[True, True, True, False], [True, True, False, False]])
    out = layers.LSTM(2, return_sequences=True, **KW)(S24b, mask=m).numpy()
    np.testing.assert_allclose(out[0, :, 0], [0.0158891, 0.05552048, 0.11755939, 0.11755939], atol=2e-6)
    np.testing.assert_allclose(out[1, :, 0], [0.14185596, 0.28556206, 0.28556206, 0.28556206], atol=2e-6)
    bm = np.array([[False, True, True, True], [False, False, True, True]])
    out = layers.LSTM(2, go_backwards=True, **KW)(S24b, mask=bm).numpy()
    np.testing.assert_allclose(out[:, 0], [0.15341201, 0.3844719], atol=2e-6)
    out = layers.GRU(2, return_sequences=True, zero_output_for_mask=True, **KW)(S24b, mask=MASK).numpy()
    np.testing.assert_allclose(out[0, :, 0], [0.03606692, 0.09497581, 0.0, 0.19393763], atol=2e-6)
    np.testing.assert_allclose(out[1, :, 0], [0.16051409, 0.0, 0.0, 0.30818558], atol=2e-6)
    out = layers.GRU(2, go_backwards=True, **KW)(S24b, mask=MASK).numpy()
    np.testing.assert_allclose(out[:, 0], [0.11669192, 0.28380975], atol=2e-6)


def test_mask_from_embedding_flows_into_lstm():
    emb = layers.Embedding(10, 3, mask_zero=True)
    lstm = layers.LSTM(2)
    ids = np.array([[0, 0, 3, 4], [1, 2, 3, 4]])
    y = lstm(emb(ids)).numpy()
    y_short = lstm(emb(ids[:1, 2:])).numpy()  # pre-padding is skipped: same as the unpadded sequence
    np.testing.assert_allclose(y[0], y_short[0], atol=1e-6)


# ---------------------------------------------------------------------------- PyTorch parity
def _to_torch(kind, layer, tm):
    import torch
    cell = layer.cell
    w, u = cell.kernel.numpy().astype("float64"), cell.recurrent_kernel.numpy().astype("float64")
    b = cell.bias.numpy().astype("float64")
    n = cell.units
    perm = {"rnn": np.arange(n), "lstm": np.arange(4 * n), "gru": np.r_[n:2 * n, 0:n, 2 * n:3 * n]}[kind]
    bih, bhh = (b[0], b[1]) if kind == "gru" else (b, np.zeros_like(b))
    with torch.no_grad():
        tm.weight_ih_l0.copy_(torch.tensor(w[:, perm].T))
        tm.weight_hh_l0.copy_(torch.tensor(u[:, perm].T))
        tm.bias_ih_l0.copy_(torch.tensor(bih[perm]))
        tm.bias_hh_l0.copy_(torch.tensor(bhh[perm]))
    return perm


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_layer_matches_torch_forward_backward(kind):
    torch = pytest.importorskip("torch")
    N, T, D, U = 4, 7, 5, 6
    x = np.random.default_rng(0).normal(size=(N, T, D))
    with backend.precision("float64"):
        cls = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind]
        layer = cls(U, return_sequences=True, dtype="float64")
        X = nerve.tensor(x, requires_grad=True)
        y = layer(X)
        g = np.random.default_rng(1).normal(size=y.shape)
        (y * g).sum().backward()
    tcls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    tm = tcls(D, U, batch_first=True, dtype=torch.float64)
    perm = _to_torch(kind, layer, tm)
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)[0]
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy(), atol=1e-9)
    inv = np.argsort(perm)
    np.testing.assert_allclose(layer.cell.kernel.grad.numpy(), tm.weight_ih_l0.grad.numpy().T[:, inv], atol=1e-9)
    np.testing.assert_allclose(layer.cell.recurrent_kernel.grad.numpy(), tm.weight_hh_l0.grad.numpy().T[:, inv],
                               atol=1e-9)


def test_bidirectional_lstm_matches_torch():
    torch = pytest.importorskip("torch")
    N, T, D, U = 3, 6, 4, 5
    x = np.random.default_rng(2).normal(size=(N, T, D))
    with backend.precision("float64"):
        bi = layers.Bidirectional(layers.LSTM(U, return_sequences=True), dtype="float64")
        X = nerve.tensor(x, requires_grad=True)
        y = bi(X)
        g = np.random.default_rng(3).normal(size=y.shape)
        (y * g).sum().backward()
    tm = torch.nn.LSTM(D, U, batch_first=True, bidirectional=True, dtype=torch.float64)
    for sub, sfx in ((bi.forward_layer, ""), (bi.backward_layer, "_reverse")):
        c = sub.cell
        with torch.no_grad():
            getattr(tm, "weight_ih_l0" + sfx).copy_(torch.tensor(c.kernel.numpy().T))
            getattr(tm, "weight_hh_l0" + sfx).copy_(torch.tensor(c.recurrent_kernel.numpy().T))
            getattr(tm, "bias_ih_l0" + sfx).copy_(torch.tensor(c.bias.numpy()))
            getattr(tm, "bias_hh_l0" + sfx).zero_()
    tx = torch.tensor(x, requires_grad=True)
    ty = tm(tx)[0]
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(bi.backward_layer.cell.kernel.grad.numpy(),
                               tm.weight_ih_l0_reverse.grad.numpy().T, atol=1e-9)


# ---------------------------------------------------------------------------- gradchecks (float64)
def _gradcheck_layer(make, x_shape, training=False, initial_state=None):
    with backend.precision("float64"):
        layer = make()
        x = np.random.default_rng(5).normal(size=x_shape)
        layer(x)
        ws = layer.trainable_weights
        rs = np.random.default_rng(6)
        for w in ws:
            w.assign(w.data + rs.uniform(-0.3, 0.3, w.shape))
        state = backend.get_rng_state()

        def fn(xx, *wts):
            saved = [(w, w.data) for w in ws]
            originals = {}
            for w, t in zip(ws, wts):
                for sub in layer._flatten_layers():
                    for k, v in list(vars(sub).items()):
                        if v is w:
                            originals[(id(sub), k)] = (sub, k, v)
                            object.__setattr__(sub, k, t)
            backend.set_rng_state(state)
            try:
                out = layer(xx, training=training, initial_state=initial_state) if initial_state is not None \
                    else layer(xx, training=training)
                return out if not isinstance(out, list) else sum((o * (i + 1.0)).sum() for i, o in enumerate(out))
            finally:
                for sub, k, v in originals.values():
                    object.__setattr__(sub, k, v)
                del saved
        nerve.gradcheck(fn, [x] + [w.data.copy() for w in ws], eps=1e-6, tol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: layers.SimpleRNN(3, return_sequences=True),
    lambda: layers.SimpleRNN(3, activation="relu"),  # cell loop
    lambda: layers.LSTM(3, go_backwards=True),
    lambda: layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True),  # cell loop
    lambda: layers.GRU(3, return_sequences=True),
    lambda: layers.GRU(3, reset_after=False),  # cell loop
    lambda: layers.LSTM(3, return_state=True),
    lambda: layers.RNN([layers.SimpleRNNCell(3), layers.LSTMCell(2)], return_sequences=True),
    lambda: layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="mul"),
    lambda: layers.Bidirectional(layers.LSTM(2), merge_mode="ave"),
], ids=["rnn", "rnn_relu_loop", "lstm_back", "lstm_loop", "gru", "gru_reset_before", "lstm_state", "stacked",
        "bi_gru_mul", "bi_lstm_ave"])
def test_gradcheck_layers(make):
    _gradcheck_layer(make, (2, 4, 3))


def test_gradcheck_dropout_and_recurrent_dropout_training():
    _gradcheck_layer(lambda: layers.LSTM(3, dropout=0.3, recurrent_dropout=0.3, return_sequences=True), (2, 4, 3),
                     training=True)
    _gradcheck_layer(lambda: layers.GRU(3, dropout=0.4), (2, 4, 3), training=True)


def test_gradcheck_with_mask_and_initial_state():
    with backend.precision("float64"):
        m = np.array([[False, False, True, True], [True, True, False, False]])
        x = np.random.default_rng(0).normal(size=(2, 4, 3))
        h0 = np.random.default_rng(1).normal(size=(2, 3))
        lstm = layers.LSTM(3, return_sequences=True)
        lstm(x)
        ws = [w.data.copy() for w in lstm.trainable_weights]

        def fn(xx, hh, cc):
            return lstm(xx, mask=m, initial_state=[hh, cc])
        nerve.gradcheck(fn, [x, h0, h0 * 0.5])
        # the cell loop gives the same values and gradients as the fused kernel
        loop = layers.RNN(layers.LSTMCell(3), return_sequences=True)
        loop(x)
        loop.set_weights(ws)
        np.testing.assert_allclose(loop(x, mask=m, initial_state=[h0, h0 * 0.5]).numpy(),
                                   lstm(x, mask=m, initial_state=[h0, h0 * 0.5]).numpy(), atol=1e-12)


# ---------------------------------------------------------------------------- dropout semantics
def test_dropout_masks_shared_across_timesteps():
    layer = layers.SimpleRNN(4, dropout=0.5, kernel_initializer="ones", return_sequences=True,
                             recurrent_initializer="zeros")
    x = np.ones((3, 5, 6), "float32")
    y = layer(x, training=True).numpy()
    assert np.allclose(y, y[:, :1])  # same input mask at every step -> same output at every step
    y_inf = layer(x, training=False).numpy()
    np.testing.assert_allclose(y_inf, np.tanh(6.0) * np.ones_like(y_inf), rtol=1e-6)


# ---------------------------------------------------------------------------- shapes, config, harness
@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_layer_harness(cls, tmp_path):
    layer_test(cls, dict(units=3, return_sequences=True, kernel_regularizer="l2", recurrent_regularizer="l2",
                         bias_regularizer="l1"), input_shape=(3, 2, 4), expected_output_shape=(3, 2, 3),
               expected_num_trainable_weights=3, expected_num_losses=3, supports_masking=True,
               run_gradcheck=False, tmp_path=tmp_path, fit_epochs=1)
    layer_test(cls, dict(units=3, dropout=0.5, recurrent_dropout=0.5), input_shape=(3, 2, 4),
               expected_output_shape=(3, 3), expected_num_trainable_weights=3, compare_outputs_training=True,
               run_gradcheck=False, parts=("core",))


def test_return_state_shapes_and_symbolic():
    x = np.zeros((2, 5, 3), "float32")
    out, h, c = layers.LSTM(4, return_state=True, return_sequences=True)(x)
    assert out.shape == (2, 5, 4) and h.shape == (2, 4) and c.shape == (2, 4)
    np.testing.assert_allclose(out.numpy()[:, -1], h.numpy())
    inp = layers.Input(shape=(None, 3))
    outs = layers.LSTM(4, return_state=True)(inp)
    assert [tuple(o.shape) for o in outs] == [(None, 4)] * 3
    assert layers.GRU(2, return_sequences=True).compute_output_shape((None, None, 3)) == (None, None, 2)


def test_weight_names_and_shapes():
    x = np.zeros((2, 5, 3), "float32")
    gru = layers.GRU(4)
    gru(x)
    assert [w.name for w in gru.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in gru.weights] == [(3, 12), (4, 12), (2, 12)]
    gru2 = layers.GRU(4, reset_after=False)
    gru2(x)
    assert gru2.weights[2].shape == (12,)
    lstm = layers.LSTM(4)
    lstm(x)
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    assert lstm.count_params() == 4 * (3 * 4 + 4 * 4 + 4)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="timesteps"):
        layers.LSTM(2)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="initial_state"):
        layers.LSTM(2)(np.zeros((2, 3, 1), "float32"), initial_state=[np.zeros((2, 2))])
    with pytest.raises(ValueError, match="dropout"):
        layers.GRU(2, dropout=1.5)


def test_generic_rnn_with_custom_cell():
    class MinimalCell(layers.Layer):
        def __init__(self, units, **kw):
            super().__init__(**kw)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")

        def call(self, inputs, states, training=None):
            out = inputs @ self.kernel + states[0] @ self.recurrent_kernel
            return out, [out]
    layer = layers.RNN(MinimalCell(3), return_sequences=True)
    y = layer(np.ones((2, 4, 5), "float32"))
    assert y.shape == (2, 4, 3) and len(layer.trainable_weights) == 2


# ---------------------------------------------------------------------------- slow acceptance run
FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")),
                    reason="Fashion-MNIST IDX files not found in /usr/share/datasets/fashion-mnist")
def test_fashion_mnist_lstm_over_rows_reaches_087():
    """Acceptance (issue 4): LSTM(128) reading the 28 rows of each image as a sequence -> >= 0.87 test accuracy."""
    import gzip
    import time

    def read_idx(name):  # IDX: magic (0, 0, dtype, ndim), big-endian int32 sizes, then uint8 data
        with gzip.open(os.path.join(FASHION, name), "rb") as f:
            raw = f.read()
        dims = np.frombuffer(raw, dtype=">i4", count=raw[3], offset=4)
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(tuple(int(d) for d in dims))
    xtr = read_idx("train-images-idx3-ubyte.gz").astype("float32") / 255.0
    ytr = read_idx("train-labels-idx1-ubyte.gz").astype("int64")
    xte = read_idx("t10k-images-idx3-ubyte.gz").astype("float32") / 255.0
    yte = read_idx("t10k-labels-idx1-ubyte.gz").astype("int64")
    nerve.set_random_seed(0)
    model = nerve.Sequential([layers.Input(shape=(28, 28)), layers.LSTM(128),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(xtr, ytr, batch_size=128, epochs=6, verbose=0)
    elapsed = time.perf_counter() - t0
    _, acc = model.evaluate(xte, yte, batch_size=512, verbose=0)
    print(f"fashion-mnist LSTM(128) over rows: 6 epochs in {elapsed:.1f} s, test accuracy {acc:.4f}")
    assert acc >= 0.87


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_fused_and_cell_loop_agree_on_masks(go_backwards, zero_output, return_sequences):
    rs = np.random.default_rng(7)
    x = rs.normal(size=(3, 5, 2)).astype("float32")
    h0 = rs.normal(size=(3, 4)).astype("float32")
    m = np.array([[False, True, True, False, False], [True, True, True, True, True], [False] * 5])
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards, zero_output_for_mask=zero_output)
    fused = layers.GRU(4, **kw)
    loop = layers.RNN(layers.GRUCell(4), **kw)
    fused(x)
    loop(x)
    loop.set_weights(fused.get_weights())
    np.testing.assert_allclose(fused(x, mask=m, initial_state=h0).numpy(),
                               loop(x, mask=m, initial_state=h0).numpy(), atol=1e-6)


def test_masking_layer_feeds_the_mask_and_symbolic_model_uses_it():
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    x[0, :2] = 0.0  # two padded steps in front of sample 0
    inp = layers.Input(shape=(4, 3))
    out = layers.LSTM(5)(layers.Masking(0.0)(inp))
    model = nerve.Model(inp, out)
    y = model.predict(x, verbose=0)
    lstm = model.layers[-1]
    np.testing.assert_allclose(y[0], lstm(x[:1, 2:]).numpy()[0], atol=1e-6)


def test_stateful_reset_to_given_states():
    layer = layers.GRU(2, stateful=True)
    x = np.ones((3, 4, 1), "float32")
    layer(x)
    layer.reset_states([np.zeros((3, 2), "float32")])
    a = layer(x).numpy()
    layer.reset_states()
    np.testing.assert_allclose(layer(x).numpy(), a, atol=1e-6)
    with pytest.raises(ValueError, match="batch size"):
        layer(np.ones((2, 4, 1), "float32"))
