"""Bidirectional and TimeDistributed: merge modes, states, masks, gradchecks, and the seeds' recurrent
worked examples built layer by layer with their exact parameter counts (seed-001-part2 §1.18-1.22)."""
import numpy as np
import pytest

import nerve
from nerve import backend, layers
from tests.layers.harness import layer_test


def _x(shape=(2, 5, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(mode):
    x = _x()
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=mode)
    out = bi(x)
    fw = bi.forward_layer(x).numpy()
    bw = bi.backward_layer(x).numpy()[:, ::-1]
    expect = {"concat": np.concatenate([fw, bw], -1), "sum": fw + bw, "mul": fw * bw, "ave": (fw + bw) / 2}
    if mode is None:
        np.testing.assert_allclose(out[0].numpy(), fw, atol=1e-6)
        np.testing.assert_allclose(out[1].numpy(), bw, atol=1e-6)
    else:
        np.testing.assert_allclose(out.numpy(), expect[mode], atol=1e-6)
    shape = bi.compute_output_shape((None, 5, 3))
    got = [tuple(o.shape) for o in out] if mode is None else tuple(out.shape)
    want = [tuple(s) for s in shape] if mode is None else tuple(shape)
    assert [(2,) + w[1:] for w in want] == got if mode is None else (2,) + want[1:] == got


def test_bidirectional_names_weights_and_states():
    bi = layers.Bidirectional(layers.GRU(3, name="gru"), merge_mode="concat")
    out = bi(_x())
    assert out.shape == (2, 6)
    assert bi.forward_layer.name == "forward_gru" and bi.backward_layer.name == "backward_gru"
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    assert len(bi.weights) == 6 and bi.count_params() == 2 * (3 * 9 + 3 * 9 + 2 * 9)
    bi2 = layers.Bidirectional(layers.LSTM(3, return_state=True))
    res = bi2(_x())
    assert len(res) == 5 and res[0].shape == (2, 6) and all(r.shape == (2, 3) for r in res[1:])
    init = [r.numpy() for r in res[1:]]
    res2 = bi2(_x(), initial_state=init)
    assert res2[0].shape == (2, 6)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")


def test_bidirectional_mask_zeroes_padded_outputs():
    ids = np.array([[0, 0, 1, 2], [3, 4, 5, 6]])
    emb = layers.Embedding(8, 3, mask_zero=True)
    bi = layers.Bidirectional(layers.LSTM(2, return_sequences=True))
    y = bi(emb(ids)).numpy()
    assert np.all(y[0, :2] == 0) and np.all(y[0, 2:] != 0)
    assert y.shape == (2, 4, 4)


def test_bidirectional_harness(tmp_path):
    layer_test(layers.Bidirectional, dict(layer=layers.SimpleRNN(3, return_sequences=True), merge_mode="sum"),
               input_shape=(2, 4, 3), expected_output_shape=(2, 4, 3), expected_num_trainable_weights=6,
               run_gradcheck=False, tmp_path=tmp_path, fit_epochs=1)


def test_time_distributed_dense_and_gradcheck(tmp_path):
    x = _x((2, 5, 3))
    td = layers.TimeDistributed(layers.Dense(4))
    y = td(x).numpy()
    d = td.layer
    np.testing.assert_allclose(y, x @ d.kernel.numpy() + d.bias.numpy(), atol=1e-6)
    assert td.compute_output_shape((None, 5, 3)) == (None, 5, 4)
    with backend.precision("float64"):
        td64 = layers.TimeDistributed(layers.Dense(2, activation="tanh"), dtype="float64")
        nerve.gradcheck(lambda a: td64(a), [np.random.default_rng(1).normal(size=(2, 3, 4))])
    layer_test(layers.TimeDistributed, dict(layer=layers.Dense(2)), input_shape=(2, 3, 4),
               expected_output_shape=(2, 3, 2), expected_num_trainable_weights=2, tmp_path=tmp_path,
               fit_epochs=1)


# ---------------------------------------------------------------------------- seed worked examples
def test_seed_toy_rnn_130_params():
    model = nerve.Sequential([layers.Input(shape=(5, 2)), layers.SimpleRNN(10)])
    assert model.count_params() == 130 and model.output_shape == (None, 10)


def _imdb(recurrent):
    inp = layers.Input(shape=(128,))
    x = layers.Embedding(10000, 64)(inp)
    x = layers.Dropout(0.3)(x)
    x = recurrent(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.2)(x)
    return nerve.Model(inp, layers.Dense(1, activation="sigmoid")(x))


def _counts(model):
    nt = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return model.count_params(), nt


def test_seed_imdb_rnn_and_lstm_params():
    assert _counts(_imdb(layers.SimpleRNN(32))) == (643265, 64)
    assert _counts(_imdb(layers.LSTM(32))) == (652577, 64)


def test_seed_lstm_autoencoder_params():
    inp = layers.Input(shape=(28, 28))
    x = layers.Dropout(0.1)(inp)
    x = layers.LSTM(28, activation="tanh", recurrent_activation="sigmoid")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.1)(x)
    z = layers.Dense(2, activation="sigmoid")(x)
    x = layers.RepeatVector(28)(z)
    x = layers.LSTM(28, return_sequences=True)(x)
    x = layers.BatchNormalization()(x)
    out = layers.TimeDistributed(layers.Dense(28, activation="sigmoid"))(x)
    ae = nerve.Model(inp, out)
    assert _counts(ae) == (10950, 112)
    assert ae.predict(np.random.default_rng(0).random((3, 28, 28)).astype("float32"), verbose=0).shape == (3, 28, 28)


def test_seed_bilstm_autoencoder_params():
    inp = layers.Input(shape=(28, 28))
    x = layers.Dropout(0.5)(inp)
    x = layers.Bidirectional(layers.LSTM(28))(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.5)(x)
    encoder = nerve.Model(inp, layers.Dense(100, activation="sigmoid")(x), name="encoder")
    lat = layers.Input(shape=(100,))
    x = layers.Dropout(0.1)(lat)
    x = layers.RepeatVector(28)(x)
    x = layers.Bidirectional(layers.LSTM(28, return_sequences=True))(x)
    x = layers.BatchNormalization()(x)
    decoder = nerve.Model(lat, layers.TimeDistributed(layers.Dense(28, activation="sigmoid"))(x), name="decoder")
    ae = nerve.Model(inp, decoder(encoder(inp)), name="ae")
    assert encoder.count_params() == 18692 and decoder.count_params() == 30716
    assert _counts(ae) == (49408, 224)
    z = np.random.default_rng(0).random((1, 100)).astype("float32")
    assert decoder.predict(z, verbose=0).shape == (1, 28, 28)


def test_seq2seq_encoder_states_as_initial_state_in_functional_model():
    enc_in = layers.Input(shape=(None, 3))
    _, h, c = layers.LSTM(4, return_state=True)(enc_in)
    dec_in = layers.Input(shape=(None, 2))
    dec = layers.LSTM(4, return_sequences=True)(dec_in, initial_state=[h, c])
    model = nerve.Model([enc_in, dec_in], layers.Dense(2)(dec))
    xa, xb = _x((2, 5, 3)), _x((2, 6, 2), 1)
    y = model.predict([xa, xb], verbose=0)
    assert y.shape == (2, 6, 2)
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit([xa, xb], np.zeros((2, 6, 2), "float32"), epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
