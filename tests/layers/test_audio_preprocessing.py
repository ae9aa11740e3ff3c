"""STFTSpectrogram, MelSpectrogram (nerve/layers/audio_preprocessing.py) and the STFT initializer: values
against torch.stft / NumPy formulas, golden values computed with Keras 3.15 (torch backend, same inputs and
arguments), Keras weight names / shapes / parameter counts, float64 gradcheck, config round trips, save / load,
a tiny training through MelSpectrogram, clear errors, and the same values and gradients on the strict CuPy
stand-in (tests/fakecupy.py) as on the CPU."""
import os
import sys

import numpy as np
import pytest
import scipy.signal
import torch

import nerve
from nerve import initializers as I
from nerve import layers

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(5)
MODES = ["log", "magnitude", "psd", "real", "imag", "angle", "stft"]


def val(t):
    return nerve.ops.convert_to_numpy(t)


def _signal():
    """(1, 20, 2): the two-channel signal the Keras golden values were computed on."""
    t = np.arange(20.0)
    return np.stack([np.sin(0.7 * t) + 0.3 * np.cos(2.1 * t), 0.5 * np.cos(0.4 * t) - 0.2 * t / 20], -1)[None]


def _tones():
    """64 samples at 1 kHz: 125 Hz and 310 Hz tones (the MelSpectrogram golden input)."""
    n = np.arange(64) / 1000
    return 0.8 * np.sin(2 * np.pi * 125 * n) + 0.2 * np.sin(2 * np.pi * 310 * n)


# ---------------------------------------------------------------- the STFT initializer
@pytest.mark.parametrize("window", ["hann", "hamming", "blackman", "bartlett", "boxcar", "cosine"])
@pytest.mark.parametrize("periodic", [False, True])
def test_windows_match_scipy(window, periodic):
    for m in (1, 2, 7, 8):
        np.testing.assert_allclose(I.get_window(window, m, periodic), scipy.signal.get_window(window, m, periodic),
                                   atol=1e-15)
    # other SciPy names go to SciPy
    np.testing.assert_allclose(I.get_window(("kaiser", 4.0), 9, periodic),
                               scipy.signal.get_window(("kaiser", 4.0), 9, periodic))


@pytest.mark.parametrize("scaling", ["density", "spectrum", None])
def test_stft_initializer_formula(scaling):
    """K_real = cos(2 pi t k / N) w_t / s, K_imag = -sin(2 pi t k / N) w_t / s, N = 2 (bins - 1)."""
    w = scipy.signal.get_window("hamming", 6, False)
    s = {"density": np.sqrt((w ** 2).sum()), "spectrum": np.abs(w).sum(), None: 1.0}[scaling]
    arg = 2 * np.pi * np.arange(6)[:, None] * np.arange(5)[None] / 8
    re = I.STFT("real", "hamming", scaling)((6, 1, 5), "float64")
    im = I.get({"class_name": "STFTInitializer", "config": {"side": "imag", "window": "hamming",
                                                             "scaling": scaling}})((6, 1, 5), "float64")
    assert re.shape == (6, 1, 5) and re.dtype == np.float64 and I.STFT()((6, 1, 5)).dtype == np.float32
    np.testing.assert_allclose(re[:, 0], np.cos(arg) * w[:, None] / s, atol=1e-15)
    np.testing.assert_allclose(im[:, 0], -np.sin(arg) * w[:, None] / s, atol=1e-15)
    # no window: the plain DFT matrix; an array window is used as given; more input channels repeat the kernel
    np.testing.assert_allclose(I.stft("imag", None)((6, 1, 5), "float64")[:, 0], -np.sin(arg), atol=1e-15)
    aw = np.array([0.1, 0.5, 1.0, 1.0, 0.5, 0.1])
    np.testing.assert_allclose(I.STFT("real", aw, None)((6, 1, 5), "float64")[:, 0], np.cos(arg) * aw[:, None])
    k3 = I.STFT()((6, 3, 5))
    np.testing.assert_array_equal(k3[:, 2], k3[:, 0])


def test_stft_initializer_names_config_and_errors():
    assert I.get("stft") is not None and type(I.get("STFTInitializer")) is I.STFT and I.STFTInitializer is I.STFT
    init = I.STFT("imag", [1.0, 2.0, 3.0], "spectrum", True)
    again = I.deserialize(I.serialize(init))
    assert again.get_config() == {"side": "imag", "window": [1.0, 2.0, 3.0], "periodic": True, "scaling": "spectrum"}
    np.testing.assert_array_equal(again((3, 1, 4)), init((3, 1, 4)))
    with pytest.raises(ValueError, match=r"STFT: argument 'side' expected 'real' or 'imag', got 'both'"):
        I.STFT("both")
    with pytest.raises(ValueError, match=r"STFT: argument 'scaling' expected None, 'density' or 'spectrum'"):
        I.STFT(scaling="l2")
    with pytest.raises(ValueError, match=r"STFT: argument 'window' .*'nope'"):
        I.STFT(window="nope")
    with pytest.raises(ValueError, match=r"STFT: argument 'window' expected 4 values \(frame_length\), got shape"):
        I.STFT(window=[1.0, 2.0])((4, 1, 3))
    with pytest.raises(ValueError, match=r"STFT: argument 'shape' expected \(frame_length, input_channels"):
        I.STFT()((4, 3))


# ---------------------------------------------------------------- STFTSpectrogram
def _torch_stft(x, frame_length, step, window, periodic, scaling):
    """torch.stft of each channel of x (batch, time, channels), no centring: (batch, channels, frames, bins)."""
    w = scipy.signal.get_window(window, frame_length, periodic)
    s = {"density": np.sqrt((w ** 2).sum()), "spectrum": np.abs(w).sum(), None: 1.0}[scaling]
    xt = torch.tensor(x.transpose(0, 2, 1).reshape(-1, x.shape[1]))
    z = torch.stft(xt, frame_length, step, window=torch.tensor(w), center=False, return_complex=True).numpy() / s
    return z.transpose(0, 2, 1).reshape(x.shape[0], x.shape[2], -1, frame_length // 2 + 1)


@pytest.mark.parametrize("mode", MODES)
def test_stft_spectrogram_modes_match_torch(mode):
    x = R.standard_normal((2, 40, 3))
    layer = layers.STFTSpectrogram(mode=mode, frame_length=8, frame_step=3, window="hamming", periodic=True,
                                   scaling="spectrum", dtype="float64")
    z = _torch_stft(x, 8, 3, "hamming", True, "spectrum")  # (2, 3, 11, 5)
    p = np.abs(z) ** 2
    expect = {"real": z.real, "imag": z.imag, "angle": np.angle(z), "magnitude": np.abs(z), "log": np.log(np.abs(z)),
              "psd": p * np.array([1, 2, 2, 2, 1]), "stft": np.concatenate([z.real, z.imag], -1)}[mode]
    out = val(layer(x))
    bins = expect.shape[-1]
    assert out.shape == (2, 11, 3 * bins) == layer.compute_output_shape((2, 40, 3))
    out = out.reshape(2, 11, 3, bins).transpose(0, 2, 1, 3)
    if mode == "angle":  # the Nyquist bin's imaginary part is rounding noise: compare angles modulo 2 pi
        out = expect + np.angle(np.exp(1j * (out - expect)))
    np.testing.assert_allclose(out, expect, rtol=1e-9, atol=1e-9)


def test_stft_spectrogram_keras_weights_and_shapes():
    """Weight names, shapes, order and parameter counts as Keras 3.15 (checked against it)."""
    x = R.standard_normal((2, 50, 3)).astype("float32")
    layer = layers.STFTSpectrogram(frame_length=8, frame_step=3, fft_length=16, name="spec")
    assert layer(x).shape == (2, 15, 27)
    assert [w.path for w in layer.weights] == ["spec/real_kernel", "spec/imag_kernel"]
    assert [tuple(w.shape) for w in layer.weights] == [(8, 1, 9), (8, 1, 9)] and layer.count_params() == 144
    assert len(layer.trainable_weights) == 2
    for mode, name in (("real", "real_kernel"), ("imag", "imag_kernel")):
        one = layers.STFTSpectrogram(mode=mode, frame_length=8, fft_length=16)
        one(x)
        assert [w.name for w in one.weights] == [name] and one.count_params() == 72
    frozen = layers.STFTSpectrogram(frame_length=8, trainable=False)
    frozen(x)
    assert not frozen.trainable_weights and len(frozen.non_trainable_weights) == 2
    # defaults: frame_step = frame_length // 2, fft_length = the next power of two; output shapes per layout
    for kw, shape in [(dict(), (2, 6, 27)), (dict(padding="same", expand_dims=True), (2, 8, 9, 3)),
                      (dict(data_format="channels_first"), (2, 27, 6)),
                      (dict(data_format="channels_first", expand_dims=True, mode="stft"), (2, 3, 6, 18))]:
        lay = layers.STFTSpectrogram(frame_length=14, **kw)  # step 7, fft 16: 9 bins; 50 samples
        xx = x if kw.get("data_format") != "channels_first" else x.transpose(0, 2, 1)
        assert lay(xx).shape == shape == lay.compute_output_shape(xx.shape), kw
        assert lay.weights[0].shape == (14, 1, 9)


def test_stft_spectrogram_keras_golden():
    """Golden values computed with keras.layers.STFTSpectrogram (Keras 3.15.1, torch backend) on _signal()."""
    x = _signal()
    layer = layers.STFTSpectrogram(mode="log", frame_length=6, frame_step=2, fft_length=8, padding="same",
                                   dtype="float64")
    out = val(layer(x))
    assert out.shape == (1, 10, 10)
    keras_out = [[0.39990294, 0.25185335, -0.19770508, -0.87368006, -1.2253255, -0.87549096, -0.9979276,
                  -1.4649644, -2.7177117, -4.5644336],
                 [-2.8412323, -0.5275877, -0.39629805, -1.1209284, -5.023012, -1.2853268, -1.2494352,
                  -1.5108402, -2.6638622, -4.4309874]]
    np.testing.assert_allclose(out[0, 1:3], keras_out, rtol=2e-6, atol=1e-6)  # Keras returned float32
    layer = layers.STFTSpectrogram(mode="psd", frame_length=5, frame_step=3, fft_length=8, window="hamming",
                                   periodic=True, scaling="spectrum", data_format="channels_first", expand_dims=True,
                                   dtype="float64")
    out = val(layer(x.transpose(0, 2, 1)))
    assert out.shape == (1, 2, 6, 5)
    keras_out = [[[6.14796446e-01, 8.69256966e-01, 3.28185536e-01, 9.15908189e-02, 2.16212985e-02],
                  [2.18406886e-01, 4.18436043e-01, 9.85663532e-02, 9.28655969e-03, 1.79140809e-02]],
                 [[5.52992129e-02, 7.75303783e-02, 2.21672350e-02, 1.84318864e-03, 5.65624389e-08],
                  [9.94226366e-02, 1.41744774e-01, 3.77034950e-02, 1.18743630e-03, 9.15318678e-05]]]
    np.testing.assert_allclose(out[0, :, :2], keras_out, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(mode="log"), dict(mode="angle", padding="same"),
                                dict(mode="stft", data_format="channels_first", expand_dims=True),
                                dict(mode="psd", window=None, scaling=None)])
def test_stft_spectrogram_gradcheck(kw):
    """float64 gradients w.r.t. the input (and, through the same graph, the kernels train)."""
    layer = layers.STFTSpectrogram(frame_length=6, frame_step=2, fft_length=8, dtype="float64", **kw)
    shape = (2, 3, 14) if kw.get("data_format") == "channels_first" else (2, 14, 3)
    assert nerve.gradcheck(layer, [R.standard_normal(shape)]).ok


def test_stft_spectrogram_config_round_trip():
    layer = layers.STFTSpectrogram(mode="psd", frame_length=5, frame_step=2, fft_length=8, window=[0.2, 1, 1, 1, 0.2],
                                   scaling=None, padding="same", expand_dims=True, name="s", trainable=False)
    cfg = layer.get_config()
    assert {k: cfg[k] for k in ("mode", "frame_length", "frame_step", "fft_length", "window", "periodic", "scaling",
                                "padding", "data_format", "expand_dims")} == \
        {"mode": "psd", "frame_length": 5, "frame_step": 2, "fft_length": 8, "window": [0.2, 1, 1, 1, 0.2],
         "periodic": False, "scaling": None, "padding": "same", "data_format": "channels_last", "expand_dims": True}
    again = layers.deserialize(layers.serialize(layer))
    x = R.standard_normal((1, 12, 2)).astype("float32")
    np.testing.assert_allclose(val(again(x)), val(layer(x)), rtol=1e-6)
    assert again.get_config() == cfg and not again.trainable


# ---------------------------------------------------------------- MelSpectrogram
def test_mel_matrix_keras_golden():
    """keras.layers.MelSpectrogram().linear_to_mel_weight_matrix(4, 9, 1000, 50.0, 500.0) (Keras 3.15.1)."""
    keras_a = [[0, 0, 0, 0], [0.17584243, 0, 0, 0], [0.98606944, 0.01393053, 0, 0], [0.20921311, 0.7907869, 0, 0],
               [0, 0.48524487, 0.51475513, 0], [0, 0, 0.8074231, 0.19257689], [0, 0, 0.17021331, 0.8297867],
               [0, 0, 0, 0.56902426], [0, 0, 0, 0]]
    a = layers.MelSpectrogram().linear_to_mel_weight_matrix(4, 9, 1000, 50.0, 500.0, dtype="float64")
    np.testing.assert_allclose(a, keras_a, atol=1e-6)  # Keras builds it in float32


@pytest.mark.parametrize("kw", [dict(), dict(window="hamming", sequence_length=24, mag_exp=1.0),
                                dict(window=None, mag_exp=1.5, num_mel_bins=5, max_freq=400.0)])
def test_mel_spectrogram_matches_torch_stft(kw):
    """power_to_db=False: |torch.stft(centre, reflect, periodic window)|^mag_exp times the mel matrix."""
    x = R.standard_normal((3, 100))
    args = dict(fft_length=32, sequence_stride=8, sampling_rate=1000, num_mel_bins=6, power_to_db=False,
                dtype="float64")
    args.update(kw)
    layer = layers.MelSpectrogram(**args)
    n = args.get("sequence_length", 32)
    w = {"hann": torch.hann_window(n, dtype=torch.float64), "hamming": torch.hamming_window(n, dtype=torch.float64),
         None: torch.ones(32, dtype=torch.float64)}[args.get("window", "hann")]
    z = torch.stft(torch.tensor(x), 32, 8, win_length=n, window=w, center=True, pad_mode="reflect",
                   return_complex=True).abs().numpy() ** args.get("mag_exp", 2.0)  # (3, bins, frames)
    a = layer.linear_to_mel_weight_matrix(args["num_mel_bins"], 17, 1000, 20.0, args.get("max_freq", 500),
                                          "float64")
    out = val(layer(x))
    assert out.shape == (3, args["num_mel_bins"], 13) == layer.compute_output_shape((3, 100))
    np.testing.assert_allclose(out, np.einsum("bft,fm->bmt", z, a), rtol=1e-10, atol=1e-12)


def test_mel_spectrogram_db_keras_golden():
    """Golden values computed with keras.layers.MelSpectrogram (Keras 3.15.1, torch backend, float64)."""
    layer = layers.MelSpectrogram(fft_length=32, sequence_stride=8, sampling_rate=1000, num_mel_bins=6,
                                  min_freq=50.0, top_db=40.0, dtype="float64")
    out = val(layer(_tones()))
    assert out.shape == (6, 9)
    keras_out = [[13.45428658, 14.88323689, 15.14550304, 15.14489937],
                 [11.63388729, 13.7963028, 14.33693409, 14.33802605],
                 [4.69879675, -1.47359478, -24.25146103, -24.25146103],
                 [-2.37253261, 2.10386658, 3.39794183, 3.39793634],
                 [5.16671181, 3.35705137, 2.18219662, 2.18220615],
                 [1.64697695, -4.85826731, -24.25146103, -24.25146103]]
    np.testing.assert_allclose(out[:, :4], keras_out, rtol=1e-6, atol=1e-5)  # Keras: a float32 mel matrix
    # power_to_db by the formula: 10 log10(max(M, min_power) / max(|ref|, min_power)), floored at max - top_db
    raw = val(layers.MelSpectrogram(fft_length=32, sequence_stride=8, sampling_rate=1000, num_mel_bins=6,
                                    min_freq=50.0, power_to_db=False, dtype="float64")(_tones()[None]))
    db = 10 * np.log10(np.maximum(raw, 1e-10) / 2.5)
    ref = layers.MelSpectrogram(fft_length=32, sequence_stride=8, sampling_rate=1000, num_mel_bins=6, min_freq=50.0,
                                top_db=30.0, ref_power=-2.5, dtype="float64")
    np.testing.assert_allclose(val(ref(_tones()[None])), np.maximum(db, db.max() - 30.0), rtol=1e-12)


def test_mel_spectrogram_config_and_errors():
    layer = layers.MelSpectrogram(fft_length=64, sequence_stride=16, sampling_rate=4000, num_mel_bins=10,
                                  window=np.hamming(48), sequence_length=48, top_db=None, name="mel")
    cfg = layer.get_config()
    assert cfg["max_freq"] == 2000 and cfg["sequence_length"] == 48 and len(cfg["window"]) == 48
    again = layers.MelSpectrogram.from_config(cfg)
    x = R.standard_normal((2, 200)).astype("float32")
    np.testing.assert_allclose(val(again(x)), val(layer(x)), rtol=1e-6)
    assert again.get_config() == cfg and layer.weights == []
    with pytest.raises(ValueError, match=r"MelSpectrogram 'm': argument 'fft_length' expected >= sequence_length "
                                         r"\(64\), got 32"):
        layers.MelSpectrogram(fft_length=32, sequence_length=64, name="m")
    with pytest.raises(ValueError, match=r"MelSpectrogram 'm': argument 'num_mel_bins' expected an integer >= 1, "
                                         r"got 0"):
        layers.MelSpectrogram(num_mel_bins=0, name="m")
    with pytest.raises(ValueError, match=r"MelSpectrogram 'm': expected input of rank <= 2, got input of shape "
                                         r"\(1, 2, 300\)"):
        layers.MelSpectrogram(fft_length=64, name="m")(np.zeros((1, 2, 300), "float32"))


def test_stft_spectrogram_errors():
    with pytest.raises(ValueError, match=r"STFTSpectrogram 's': argument 'mode' expected one of .*, got 'power'"):
        layers.STFTSpectrogram(mode="power", name="s")
    with pytest.raises(ValueError, match=r"STFTSpectrogram 's': argument 'frame_step' expected an integer in "
                                         r"\[1, frame_length = 8\], got 9"):
        layers.STFTSpectrogram(frame_length=8, frame_step=9, name="s")
    with pytest.raises(ValueError, match=r"STFTSpectrogram 's': argument 'fft_length' expected >= frame_length "
                                         r"\(8\), got 4"):
        layers.STFTSpectrogram(frame_length=8, fft_length=4, name="s")
    with pytest.raises(ValueError, match=r"argument 'padding' expected 'valid' or 'same', got 'causal'"):
        layers.STFTSpectrogram(padding="causal")
    with pytest.raises(ValueError, match=r"argument 'scaling' expected None, 'density' or 'spectrum', got 'l1'"):
        layers.STFTSpectrogram(scaling="l1")
    with pytest.raises(ValueError, match=r"STFTSpectrogram 's': expected input of rank 3, got input of shape "
                                         r"\(4, 100\)"):
        layers.STFTSpectrogram(frame_length=8, name="s")(np.zeros((4, 100), "float32"))
    with pytest.raises(TypeError, match=r"STFTSpectrogram 's': expected a float16, float32 or float64 input, got "
                                        r"int64"):
        layers.STFTSpectrogram(frame_length=8, name="s")(np.zeros((1, 100, 1), "int64"))
    with pytest.warns(UserWarning, match=r"'fft_length' is recommended to be a power of two, got 12"):
        layers.STFTSpectrogram(frame_length=8, fft_length=12)


# ---------------------------------------------------------------- models
def test_two_tones_train_through_mel_spectrogram_and_save(tmp_path):
    """Classify 440 Hz from 1200 Hz tones (random phase, noise) from their mel spectrogram; save / load."""
    n, sr = 96, 4000
    y = R.integers(0, 2, n)
    t = np.arange(512) / sr
    f = np.where(y == 1, 1200.0, 440.0)[:, None]
    x = (np.sin(2 * np.pi * f * t + R.uniform(0, 6.3, (n, 1))) + 0.3 * R.standard_normal((n, 512))).astype("float32")
    inp = nerve.Input((512,))
    h = layers.MelSpectrogram(fft_length=128, sequence_stride=64, sampling_rate=sr, num_mel_bins=16)(inp)
    h = layers.GlobalAveragePooling1D()(layers.Permute((2, 1))(h))  # (batch, mel bins): mean over time
    h = layers.Normalization()(h)
    model = nerve.Model(inp, layers.Dense(1, activation="sigmoid")(h))
    model.layers[-2].adapt(val(nerve.Model(inp, model.layers[-3].output)(x)))
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y.astype("float32"), epochs=15, batch_size=32, verbose=0)
    assert model.evaluate(x, y.astype("float32"), verbose=0, return_dict=True)["accuracy"] > 0.95
    model.save(tmp_path / "mel.keras")
    again = nerve.models.load_model(tmp_path / "mel.keras")
    np.testing.assert_allclose(again.predict(x[:6], verbose=0), model.predict(x[:6], verbose=0), rtol=1e-5)


def test_trainable_stft_spectrogram_model_saves(tmp_path):
    """The kernels are weights: they train (change) and save / load keeps them and the predictions."""
    x = R.standard_normal((32, 64, 1)).astype("float32")
    y = (x[:, ::2, 0] ** 2).mean(1, keepdims=True).astype("float32")
    model = nerve.Sequential([nerve.Input((64, 1)), layers.STFTSpectrogram(mode="magnitude", frame_length=16),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)])
    before = val(model.layers[0].weights[0]).copy()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert not np.allclose(val(model.layers[0].weights[0]), before)
    model.save(tmp_path / "stft.keras")
    again = nerve.models.load_model(tmp_path / "stft.keras")
    np.testing.assert_allclose(again.predict(x[:4], verbose=0), model.predict(x[:4], verbose=0), rtol=1e-5)


# ---------------------------------------------------------------- device (strict CuPy stand-in or a real GPU)
@pytest.fixture
def cp():
    with fakecupy.gpu_module() as module:
        yield module


def test_on_the_device_as_on_the_cpu(cp):
    """Values and input gradients on device arrays equal the CPU's (kernels, mel matrix and windows go there)."""
    made = {}
    for where in ("cpu", "gpu"):
        with nerve.device(where):  # the STFT kernels are deterministic: the same on both
            made[where] = (layers.STFTSpectrogram(mode="log", frame_length=6, frame_step=2, fft_length=8,
                                                  dtype="float64"),
                           layers.MelSpectrogram(fft_length=16, sequence_stride=4, sampling_rate=1000, num_mel_bins=5,
                                                 dtype="float64"))

    def both(x, s):
        stft, mel = made["cpu" if isinstance(x.data, np.ndarray) else "gpu"]
        return stft(x), mel(s)

    fakecupy.check_same_on_device(cp, both, [R.standard_normal((2, 14, 2)), R.standard_normal((2, 40))])
