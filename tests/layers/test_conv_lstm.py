"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D: Keras 3.15 golden values and parameter counts, a NumPy transcription of the
equations (strides, padding, dilation, go_backwards, masks, initial and carried states, per-gate dropout),
float64 gradchecks, config / save round trips, a training that learns, and the device (CuPy) path."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import backend, initializers, layers
from nerve.autograd.ops import jit
from tests.layers.harness import layer_test

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


# ---------------------------------------------------------------------------- NumPy transcription
def _np_conv(x, w, strides, padding, dilation):
    """Cross-correlation y[n, p.., f] = sum_{k.., c} x_pad[n, p*s + k*d .., c] w[k.., c, f]; 'same' pads
    total = max((out - 1) s + (k - 1) d + 1 - n, 0), the extra zero on the right (TensorFlow / Keras)."""
    rank = x.ndim - 2
    pads, outs = [(0, 0)], []
    for n, k, s, d in zip(x.shape[1:-1], w.shape[:rank], strides, dilation):
        span = (k - 1) * d + 1
        out = -(-n // s) if padding == "same" else (n - span) // s + 1
        total = max((out - 1) * s + span - n, 0) if padding == "same" else 0
        pads.append((total // 2, total - total // 2))
        outs.append(out)
    xp = np.pad(x, pads + [(0, 0)])
    y = np.zeros((x.shape[0],) + tuple(outs) + (w.shape[-1],))
    for k in np.ndindex(*w.shape[:rank]):
        window = tuple(slice(i * d, i * d + (o - 1) * s + 1, s) for i, d, o, s in zip(k, dilation, outs, strides))
        y += xp[(slice(None),) + window] @ w[k]
    return y


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np_conv_lstm(x, kernel, recurrent_kernel, bias=None, strides=1, padding="valid", dilation=1, act=np.tanh,
                  ract=_sigmoid, go_backwards=False, mask=None, h0=None, c0=None, dp=None, rdp=None,
                  return_sequences=False):
    """Shi et al. 2015 without peepholes, Keras gate order (i, f, c, o), each gate its own convolutions:
    z_g = W_g * (x_t m_g) + U_g * (h_{t-1} r_g) + b_g; c_t = f c_{t-1} + i act(z_c); h_t = o act(c_t).
    A masked step keeps h, c and repeats the previous output (zeros before the first unmasked step).
    Checked against Keras 3.15 (torch backend) on copied weights to 1e-7."""
    rank = x.ndim - 3
    n, t, f = x.shape[0], x.shape[1], recurrent_kernel.shape[-2]
    strides, dilation = [(v,) * rank if np.isscalar(v) else tuple(v) for v in (strides, dilation)]
    one = (1,) * rank
    out_shape = _np_conv(x[:, 0], kernel, strides, padding, dilation).shape[:-1] + (f,)
    h = np.zeros(out_shape) if h0 is None else h0
    c = np.zeros(out_shape) if c0 is None else c0
    dp = np.ones((4,) + x[:, 0].shape) if dp is None else dp
    rdp = np.ones((4,) + out_shape) if rdp is None else rdp
    b = np.zeros(4 * f) if bias is None else bias
    y, outs = np.zeros(out_shape), []
    for i in (range(t - 1, -1, -1) if go_backwards else range(t)):
        z = [_np_conv(x[:, i] * dp[g], kernel[..., g * f:(g + 1) * f], strides, padding, dilation)
             + _np_conv(h * rdp[g], recurrent_kernel[..., g * f:(g + 1) * f], one, "same", one)
             + b[g * f:(g + 1) * f] for g in range(4)]
        c_new = ract(z[1]) * c + ract(z[0]) * act(z[2])
        h_new = ract(z[3]) * act(c_new)
        m = np.ones(n) if mask is None else mask[:, i].astype(float)
        m = m.reshape((n,) + (1,) * (rank + 1))
        h, c, y = m * h_new + (1 - m) * h, m * c_new + (1 - m) * c, m * h_new + (1 - m) * y
        outs.append(y)
    return np.stack(outs, axis=1) if return_sequences else y


def _random_weights(layer, seed=1):
    rs = np.random.default_rng(seed)
    layer.set_weights([rs.uniform(-0.5, 0.5, w.shape).astype(w.dtype) for w in layer.weights])
    return [w.numpy() for w in layer.weights]


# ---------------------------------------------------------------------------- Keras golden values
# Outputs and counts printed by Keras 3.15 (KERAS_BACKEND=torch) for the same layers and inputs.
KW = dict(kernel_initializer=initializers.Constant(0.01), recurrent_initializer=initializers.Constant(0.02),
          bias_initializer=initializers.Constant(0.03))


def test_keras_golden_values_2d():
    x = np.arange(2 * 3 * 4 * 4 * 2).reshape((2, 3, 4, 4, 2)).astype("float32") / 50.0
    y = layers.ConvLSTM2D(2, 3, padding="same", **KW)(x).numpy()
    keras_out = [[[0.0677432, 0.0982851, 0.1020705, 0.0725579], [0.1041976, 0.1585519, 0.1647229, 0.1120197],
                  [0.1196342, 0.1834271, 0.1897176, 0.1276421], [0.0873241, 0.1298491, 0.1338202, 0.0923496]],
                 [[0.2001899, 0.3088822, 0.313114, 0.2059497], [0.315527, 0.4710883, 0.4763892, 0.3241496],
                  [0.3323327, 0.491975, 0.4970638, 0.3408636], [0.2233089, 0.343232, 0.3473722, 0.2291153]]]
    assert y.shape == (2, 4, 4, 2)
    np.testing.assert_allclose(y[..., 0], keras_out, atol=2e-6)
    np.testing.assert_allclose(y[..., 1], y[..., 0], atol=1e-7)  # constant weights: both filters equal


def test_keras_golden_values_1d():
    x = np.arange(2 * 3 * 5 * 2).reshape((2, 3, 5, 2)).astype("float32") / 20.0
    y = layers.ConvLSTM1D(2, 2, **KW)(x).numpy()
    keras_out = [[0.0353138, 0.0379628, 0.0406317, 0.042873], [0.0772476, 0.0802025, 0.0831705, 0.0850706]]
    np.testing.assert_allclose(y[..., 0], keras_out, atol=2e-6)


def test_keras_golden_values_3d():
    x = np.arange(2 * 2 * 3 * 3 * 2).reshape((2, 2, 3, 3, 2, 1)).astype("float32") / 20.0
    y = layers.ConvLSTM3D(2, 2, padding="same", **KW)(x).numpy()
    keras_out = [[[0.044677, 0.0288236], [0.0487814, 0.0307682], [0.0312712, 0.0223293]],
                 [[0.0575221, 0.034817], [0.0617425, 0.0367924], [0.0373045, 0.0252212]],
                 [[0.0373778, 0.0252445], [0.039362, 0.0261982], [0.026443, 0.0199108]]]
    assert y.shape == (2, 3, 3, 2, 2)
    np.testing.assert_allclose(y[0, ..., 0], keras_out, atol=2e-6)  # sample 0, filter 0


@pytest.mark.parametrize("cls,kw,shape,count", [
    (layers.ConvLSTM2D, dict(filters=3, kernel_size=3, padding="same"), (2, 4, 5, 6, 2), 552),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=(2, 3), strides=(2, 1)), (2, 3, 7, 6, 3), 248),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=3, dilation_rate=2), (2, 3, 7, 6, 1), 224),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=2, use_bias=False), (1, 3, 4, 4, 2), 128),
    (layers.ConvLSTM2D, dict(filters=5, kernel_size=(3, 2)), (1, 4, 8, 8, 3), 980),
    (layers.ConvLSTM1D, dict(filters=4, kernel_size=2, strides=2), (2, 3, 7, 3), 240),
    (layers.ConvLSTM1D, dict(filters=3, kernel_size=3, padding="same"), (2, 5, 6, 2), 192),
    (layers.ConvLSTM1D, dict(filters=7, kernel_size=3, use_bias=False), (1, 4, 8, 3), 840),
    (layers.ConvLSTM3D, dict(filters=2, kernel_size=2, padding="same"), (2, 3, 3, 4, 3, 2), 264),
    (layers.ConvLSTM3D, dict(filters=3, kernel_size=(2, 3, 2), strides=(1, 2, 1)), (1, 3, 4, 5, 3, 1), 588),
])
def test_keras_parameter_counts(cls, kw, shape, count):
    layer = cls(**kw)
    layer(np.zeros(shape, "float32"))
    assert layer.count_params() == count  # Keras 3.15's count_params()


def test_weight_names_shapes_and_forget_bias():
    layer = layers.ConvLSTM2D(3, (3, 2))
    layer(np.zeros((1, 2, 5, 5, 4), "float32"))
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert [w.shape for w in layer.weights] == [(3, 2, 4, 12), (3, 2, 3, 12), (12,)]
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    no_ufb = layers.ConvLSTM1D(2, 3, unit_forget_bias=False, bias_initializer="ones")
    no_ufb(np.zeros((1, 2, 5, 1), "float32"))
    np.testing.assert_array_equal(no_ufb.cell.bias.numpy(), np.ones(8))
    assert layer.filters == 3 and layer.kernel_size == (3, 2) and layer.unit_forget_bias


# ---------------------------------------------------------------------------- the equations, per option
@pytest.mark.parametrize("cls,kw,shape", [
    (layers.ConvLSTM2D, dict(filters=3, kernel_size=3, padding="same", return_sequences=True), (2, 4, 5, 6, 2)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=(2, 3), strides=(2, 1)), (2, 3, 7, 6, 3)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=3, dilation_rate=2, go_backwards=True), (2, 3, 7, 6, 1)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=2, strides=2, padding="same", return_sequences=True),
     (1, 3, 5, 5, 2)),
    (layers.ConvLSTM2D, dict(filters=2, kernel_size=2, use_bias=False, activation="relu",
                             recurrent_activation="hard_sigmoid"), (1, 3, 4, 4, 2)),
    (layers.ConvLSTM1D, dict(filters=4, kernel_size=2, strides=2), (2, 3, 7, 3)),
    (layers.ConvLSTM1D, dict(filters=3, kernel_size=3, padding="same", return_sequences=True, go_backwards=True),
     (2, 5, 6, 2)),
    (layers.ConvLSTM3D, dict(filters=3, kernel_size=(2, 3, 2), strides=(1, 2, 1), go_backwards=True),
     (1, 3, 4, 5, 3, 1)),
    (layers.ConvLSTM3D, dict(filters=2, kernel_size=2, padding="same", return_sequences=True), (2, 3, 3, 4, 3, 2)),
], ids=["2d_same_seq", "2d_strides", "2d_dilation_back", "2d_same_stride2", "2d_nobias_relu", "1d_strides",
        "1d_same_back", "3d_strides_back", "3d_same_seq"])
def test_matches_numpy_transcription(cls, kw, shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer = cls(**kw)
    layer(x)
    ws = _random_weights(layer)
    acts = {"relu": (lambda z: np.maximum(z, 0.0)), "hard_sigmoid": (lambda z: np.clip(z / 6 + 0.5, 0, 1))}
    ref = _np_conv_lstm(x, *ws, strides=layer.strides, padding=layer.padding, dilation=layer.dilation_rate,
                        act=acts.get(kw.get("activation"), np.tanh),
                        ract=acts.get(kw.get("recurrent_activation"), _sigmoid),
                        go_backwards=layer.go_backwards, return_sequences=layer.return_sequences)
    y = layer(x).numpy()
    assert y.shape == ref.shape == layer.compute_output_shape(shape)
    np.testing.assert_allclose(y, ref, atol=1e-5)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masks_and_initial_state(go_backwards, return_sequences):
    rs = np.random.default_rng(2)
    x = rs.normal(size=(3, 5, 4, 4, 2))
    h0, c0 = rs.normal(size=(2, 3, 4, 4, 2))
    m = np.array([[True, True, False, True, False], [False, False, True, True, True], [True] * 5])
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=return_sequences, go_backwards=go_backwards,
                              return_state=True)
    layer(x)
    ws = _random_weights(layer)
    out, h, c = layer(x, mask=m, initial_state=[h0, c0])
    kw = dict(padding="same", go_backwards=go_backwards, mask=m)
    np.testing.assert_allclose(out.numpy(), _np_conv_lstm(x, *ws, h0=h0, c0=c0, return_sequences=return_sequences,
                                                          **kw), atol=1e-5)
    np.testing.assert_allclose(h.numpy(), _np_conv_lstm(x, *ws, h0=h0, c0=c0, **kw), atol=1e-5)
    # without an initial state (zeros): the same loop, and the mask travels on with the sequences
    y = layer(x, mask=m)[0]
    np.testing.assert_allclose(y.numpy(), _np_conv_lstm(x, *ws, return_sequences=return_sequences, **kw), atol=1e-5)
    assert (getattr(y, "_keras_mask", None) is not None) == return_sequences


def test_return_state_and_symbolic_initial_state():
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 5, 1)).astype("float32")
    layer = layers.ConvLSTM2D(2, 3, return_state=True, return_sequences=True)
    out, h, c = layer(x)
    assert out.shape == (2, 3, 3, 3, 2) and h.shape == c.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(out.numpy()[:, -1], h.numpy())
    inp, hi, ci = layers.Input((3, 5, 5, 1)), layers.Input((3, 3, 2)), layers.Input((3, 3, 2))
    outs = layers.ConvLSTM2D(2, 3, return_state=True)(inp, initial_state=[hi, ci])
    assert [tuple(o.shape) for o in outs] == [(None, 3, 3, 2)] * 3
    model = nerve.Model([inp, hi, ci], outs[0])
    ws = _random_weights(model.layers[-1])
    h0 = np.ones((2, 3, 3, 2), "float32")
    np.testing.assert_allclose(model.predict([x, h0, 0.5 * h0], verbose=0),
                               _np_conv_lstm(x, *ws, h0=h0, c0=0.5 * h0), atol=1e-5)


def test_bidirectional_runs_both_directions():
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 4, 1)).astype("float32")
    bi = layers.Bidirectional(layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True))
    bi(x)
    fw, bw = _random_weights(bi.forward_layer, seed=1), _random_weights(bi.backward_layer, seed=2)
    ref = np.concatenate([_np_conv_lstm(x, *fw, padding="same", return_sequences=True),
                          _np_conv_lstm(x, *bw, padding="same", go_backwards=True, return_sequences=True)[:, ::-1]],
                         axis=-1)  # the backward sequence back in input order, as Keras
    np.testing.assert_allclose(bi(x).numpy(), ref, atol=1e-5)


def test_stateful_carries_states_across_calls():
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 2)).astype("float32")
    layer = layers.ConvLSTM1D(3, 3, padding="same", stateful=True)
    layer(x)
    ws = _random_weights(layer)
    layer.reset_states()
    layer(x[:, :4])
    np.testing.assert_allclose(layer(x[:, 4:]).numpy(), _np_conv_lstm(x, *ws, padding="same"), atol=1e-5)
    assert layer.states[0].shape == (2, 6, 3)
    layer.reset_states()
    assert layer.states is None
    np.testing.assert_allclose(layer(x[:, 4:]).numpy(), _np_conv_lstm(x[:, 4:], *ws, padding="same"), atol=1e-5)
    with pytest.raises(ValueError, match="batch size"):
        layer(x[:1])


# ---------------------------------------------------------------------------- dropout (Keras ConvLSTMCell)
def test_dropout_four_gate_masks_shared_across_timesteps():
    x = np.random.default_rng(4).normal(size=(2, 4, 5, 5, 2))
    layer = layers.ConvLSTM2D(2, 3, padding="same", dropout=0.4, recurrent_dropout=0.3, return_sequences=True)
    layer(x)
    ws = _random_weights(layer)
    y = layer(x, training=True).numpy()
    dp, rdp = layer.cell._dp_mask, layer.cell._rec_dp_mask  # one draw per sequence, one mask per gate
    assert dp.shape == (4, 2, 5, 5, 2) and rdp.shape == (4, 2, 5, 5, 2)
    assert not np.array_equal(dp[0], dp[1]) and np.all(np.isclose(dp, 0) | np.isclose(dp, 1 / 0.6))
    ref = _np_conv_lstm(x, *ws, padding="same", dp=dp, rdp=rdp, return_sequences=True)
    np.testing.assert_allclose(y, ref, atol=1e-5)
    np.testing.assert_allclose(layer(x, training=False).numpy(),
                               _np_conv_lstm(x, *ws, padding="same", return_sequences=True), atol=1e-5)
    full = layers.ConvLSTM1D(2, 3, dropout=1.0)  # Keras applies dropout only for 0 < rate < 1
    xs = np.ones((1, 2, 4, 1), "float32")
    np.testing.assert_array_equal(full(xs, training=True).numpy(), full(xs).numpy())


# ---------------------------------------------------------------------------- gradients (float64)
def _gradcheck(layer, x, training=False, mask=None):
    with backend.precision("float64"):
        layer(x)
        ws = layer.trainable_weights
        for w, v in zip(ws, _random_weights(layer, seed=6)):
            w.assign(v.astype("float64"))
        state = backend.get_rng_state()

        def fn(xx, *wts):
            saved = [(layer.cell, w.name, getattr(layer.cell, w.name)) for w in ws]
            for w, t in zip(ws, wts):
                object.__setattr__(layer.cell, w.name, t)
            backend.set_rng_state(state)
            try:
                out = layer(xx, training=training, mask=mask)
                return out if not isinstance(out, list) else sum((o * (i + 1.0)).sum() for i, o in enumerate(out))
            finally:
                for owner, k, v in saved:
                    object.__setattr__(owner, k, v)
        nerve.gradcheck(fn, [x] + [w.data.copy() for w in ws], eps=1e-6, tol=1e-6)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True), (2, 3, 3, 3, 2)),
    (lambda: layers.ConvLSTM2D(2, (2, 3), strides=(2, 1), go_backwards=True, return_state=True), (1, 3, 4, 3, 1)),
    (lambda: layers.ConvLSTM1D(2, 2, dilation_rate=2, activation="relu"), (2, 3, 5, 2)),
    (lambda: layers.ConvLSTM3D(1, 2, padding="same", return_sequences=True), (1, 2, 2, 3, 2, 1)),
], ids=["2d_same_seq", "2d_strides_back_state", "1d_dilation_relu", "3d_same_seq"])
def test_gradcheck_input_and_weights(make, shape):
    _gradcheck(make(), np.random.default_rng(5).normal(size=shape))


def test_gradcheck_dropout_training_and_mask():
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 2))
    _gradcheck(layers.ConvLSTM1D(2, 3, padding="same", dropout=0.3, recurrent_dropout=0.3, return_sequences=True),
               x, training=True)
    _gradcheck(layers.ConvLSTM1D(2, 3, padding="same"), x, mask=np.array([[True, False, True], [False, True, True]]))


# ---------------------------------------------------------------------------- harness: config, save, fit
@pytest.mark.parametrize("cls,shape,out_shape", [
    (layers.ConvLSTM2D, (2, 3, 4, 4, 2), (2, 3, 4, 4, 2)),
    (layers.ConvLSTM1D, (2, 3, 5, 2), (2, 3, 5, 2)),
    (layers.ConvLSTM3D, (2, 2, 3, 3, 2, 1), (2, 2, 3, 3, 2, 2)),
])
def test_layer_harness(cls, shape, out_shape, tmp_path):
    layer_test(cls, dict(filters=2, kernel_size=2, padding="same", return_sequences=True, kernel_regularizer="l2",
                         recurrent_regularizer="l2", bias_regularizer="l1"), input_shape=shape,
               expected_output_shape=out_shape, expected_num_trainable_weights=3, expected_num_losses=3,
               supports_masking=True, run_gradcheck=False, tmp_path=tmp_path, fit_epochs=1)
    layer_test(cls, dict(filters=2, kernel_size=2, dropout=0.5, recurrent_dropout=0.5),
               input_shape=shape, expected_num_trainable_weights=3, compare_outputs_training=True,
               run_gradcheck=False, parts=("core",))


def test_config_is_keras_flat_and_round_trips():
    layer = layers.ConvLSTM2D(4, (3, 2), strides=(1, 2), padding="same", recurrent_activation="hard_sigmoid",
                              unit_forget_bias=False, dropout=0.1, return_state=True, go_backwards=True,
                              activity_regularizer="l2")
    cfg = layer.get_config()
    assert "cell" not in cfg and "units" not in cfg and "rank" not in cfg
    assert cfg["filters"] == 4 and cfg["kernel_size"] == [3, 2] and cfg["strides"] == [1, 2]
    assert cfg["recurrent_activation"] == "hard_sigmoid" and cfg["unit_forget_bias"] is False
    clone = layers.ConvLSTM2D.from_config(cfg)
    assert clone.get_config() == cfg and clone.go_backwards and clone.return_state
    assert type(clone.activity_regularizer).__name__ == "L2"


def test_keras_positional_arguments():
    layer = layers.ConvLSTM2D(4, (3, 3), (1, 1), "same", None, (1, 1), "relu")
    assert layer.padding == "same" and layer.activation.__name__ == "relu"


def test_errors_are_clear():
    x = np.zeros((2, 3, 5, 5, 1), "float32")
    with pytest.raises(ValueError, match="filters"):
        layers.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="channels_first"):
        layers.ConvLSTM2D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="padding"):
        layers.ConvLSTM1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="timesteps, rows, cols, channels"):
        layers.ConvLSTM2D(2, 3)(np.zeros((2, 3, 5, 1), "float32"))
    with pytest.raises(ValueError, match="timesteps, steps, channels"):
        layers.ConvLSTM1D(2, 3)(x)
    with pytest.raises(ValueError, match="timesteps, depth, rows, cols, channels"):
        layers.ConvLSTM3D(2, 3)(x)
    with pytest.raises(ValueError, match="too small"):
        layers.ConvLSTM2D(2, 7)(x)
    with pytest.raises(ValueError, match="static spatial"):
        layers.ConvLSTM2D(2, 3)(layers.Input((3, None, 5, 1)))
    with pytest.raises(ValueError, match="2 state tensors"):
        layers.ConvLSTM2D(2, 3)(x, initial_state=[np.zeros((2, 3, 3, 2))])
    with pytest.raises(ValueError, match=r"initial state expected shape \(2, 3, 3, 2\)"):
        layers.ConvLSTM2D(2, 3)(x, initial_state=[np.zeros((2, 5, 5, 2))] * 2)
    with pytest.raises(ValueError, match="mask expected shape"):
        layers.ConvLSTM2D(2, 3)(x, mask=np.ones((2, 4), bool))
    built = layers.ConvLSTM2D(2, 3)
    built(x)
    with pytest.raises(ValueError, match="axis 2 of size 5"):
        built(np.zeros((2, 3, 6, 5, 1), "float32"))
    with pytest.raises(ValueError, match="last axis 1|axis 4 of size 1"):
        built(np.zeros((2, 3, 5, 5, 2), "float32"))


# ---------------------------------------------------------------------------- it learns
def moving_dots(n, t=3, size=8, seed=0):
    """t frames of a dot moving one pixel per frame in one of 4 directions; the target is the index of the
    dot's pixel in frame t + 1. One frame alone leaves the direction unknown (at best 1/4 right)."""
    rs = np.random.default_rng(seed)
    v = np.array([(0, 1), (1, 0), (0, -1), (-1, 0)])[rs.integers(0, 4, n)]
    p0 = rs.integers(t, size - t, (n, 2))  # the dot stays inside for t + 1 frames
    x = np.zeros((n, t, size, size, 1), "float32")
    for k in range(t):
        p = p0 + k * v
        x[np.arange(n), k, p[:, 0], p[:, 1], 0] = 1.0
    p = p0 + t * v
    return x, p[:, 0] * size + p[:, 1]


def test_learns_the_next_frame_of_a_moving_dot():
    x, y = moving_dots(400)
    xt, yt = moving_dots(200, seed=1)
    nerve.set_random_seed(0)
    model = nerve.Sequential([layers.Input((3, 8, 8, 1)), layers.ConvLSTM2D(6, 3, padding="same"),
                              layers.Conv2D(1, 1), layers.Flatten()])  # one logit per pixel of the next frame
    model.compile(optimizer=nerve.optimizers.Adam(2e-2),
                  loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=32, epochs=8, verbose=0).history["loss"]
    assert hist[-1] < 0.05 * hist[0]
    assert model.evaluate(xt, yt, verbose=0)[1] >= 0.95  # far above the 1/4 that one frame allows


# ---------------------------------------------------------------------------- the device (CuPy) path
REAL = fakecupy.real_cupy()


@pytest.fixture
def cp():
    """The real CuPy where a GPU is visible, else the strict stand-in (installed for this test only)."""
    with fakecupy.gpu_module() as module:
        yield module


def _train(where, x, y):
    nerve.set_random_seed(3)
    with nerve.device(where):
        model = nerve.Sequential([layers.Input((3, 6, 6, 1)),
                                  layers.ConvLSTM2D(3, 3, padding="same", dropout=0.2, recurrent_dropout=0.2,
                                                    return_sequences=True),
                                  layers.ConvLSTM2D(2, 3, strides=2), layers.Flatten(), layers.Dense(3)])
        model.compile(optimizer=nerve.optimizers.Adam(1e-2),
                      loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=True).history["loss"]
    return model, [losses, model.predict(x, verbose=0)]


def test_training_on_the_device_matches_the_cpu(cp):
    rs = np.random.default_rng(1)
    x, y = rs.standard_normal((16, 3, 6, 6, 1)).astype("float32"), rs.integers(0, 3, 16)
    old = jit.set_enabled(False)  # the CPU reference takes the NumPy path (the device cannot run numba kernels)
    try:
        _, ref = _train("cpu", x, y)
        model, got = _train("gpu", x, y)
    finally:
        jit.set_enabled(old)
    assert all(isinstance(w.data, cp.ndarray) for w in model.weights)
    for a, b in zip(got, ref):
        if REAL is None:  # the stand-in does NumPy's arithmetic: bit for bit
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=1e-5)
