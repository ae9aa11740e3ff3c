"""Colour augmentation layers: exact values where the draw is fixed (degenerate factor ranges), NumPy / colorsys /
scipy oracles, inference behaviour (identity, AutoContrast always acts), seeds, ranges and frequencies of the
draws, the Keras-style layer test (config round trip, symbolic shapes, float64 gradchecks in training), clear
errors, and the same images on device arrays (tests/fakecupy.py)."""
import colorsys
import os
import sys

import numpy as np
import pytest
from scipy import ndimage

import nerve
from nerve import layers as L

from harness import layer_test

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

R = np.random.default_rng(11)
GRAY = np.array([0.2989, 0.5870, 0.1140])


def _img(n=3, h=5, w=6, scale=255.0):
    return (R.random((n, h, w, 3)) * scale).astype("float32")


def _train(layer, x):
    return layer(x, training=True).numpy()


RANDOM = [
    (L.RandomBrightness, {"factor": 0.3}),
    (L.RandomGrayscale, {"factor": 0.5}),
    (L.RandomInvert, {}),
    (L.Solarization, {"addition_factor": 0.2, "threshold_factor": 0.6}),
    (L.RandomPosterization, {"factor": 4}),
    (L.RandomColorDegeneration, {"factor": 0.5}),
    (L.RandomSaturation, {"factor": 0.4}),
    (L.RandomHue, {"factor": 0.5}),
    (L.RandomColorJitter, {"brightness_factor": 0.2, "contrast_factor": 0.3, "saturation_factor": 0.3,
                           "hue_factor": 0.2}),
    (L.RandomSharpness, {"factor": 0.8}),
    (L.RandomGaussianBlur, {"factor": 0.9, "sigma": 0.8}),
    (L.Equalization, {}),
]
ALL = RANDOM + [(L.AutoContrast, {})]
DIFFERENTIABLE = {L.RandomBrightness, L.RandomGrayscale, L.RandomInvert, L.Solarization, L.RandomColorDegeneration,
                  L.RandomSaturation, L.RandomHue, L.RandomColorJitter, L.RandomSharpness, L.RandomGaussianBlur}


@pytest.mark.parametrize("cls, kw", RANDOM, ids=[c.__name__ for c, _ in RANDOM])
def test_inference_is_the_identity_and_seeds_reproduce(cls, kw):
    x = _img()
    layer = cls(**kw, seed=3) if cls is not L.Equalization else cls(**kw)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    with nerve.backend.training_mode(False):  # evaluate / predict: inference
        np.testing.assert_array_equal(layer(x).numpy(), x)
    with nerve.backend.training_mode(True):
        assert not np.array_equal(layer(x).numpy(), x)
    if cls is not L.Equalization:
        a, b = _train(cls(**kw, seed=5), x), _train(cls(**kw, seed=5), x)
        np.testing.assert_array_equal(a, b)
        nerve.set_random_seed(2)
        c = _train(cls(**kw), x)
        nerve.set_random_seed(2)
        np.testing.assert_array_equal(c, _train(cls(**kw), x))
    assert _train(layer, x[0]).shape == x[0].shape  # one image
    y = _train(layer, x.astype("uint8"))  # integer pixels: a float output
    assert y.dtype == np.float32 and y.shape == x.shape


@pytest.mark.parametrize("cls, kw", ALL, ids=[c.__name__ for c, _ in ALL])
def test_layer_test_config_and_gradients(cls, kw):
    layer_test(cls, kw, input_shape=(2, 5, 6, 3), input_range=(1, 254), parts=("core",),
               gradcheck_training=cls in DIFFERENTIABLE, run_gradcheck=cls in DIFFERENTIABLE | {L.AutoContrast})
    layer = cls(**kw)
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()  # (layer_test also goes through JSON and the registry)


def test_brightness_invert_solarization_posterization_values():
    x = _img()
    np.testing.assert_allclose(_train(L.RandomBrightness((0.1, 0.1)), x), np.clip(x + 25.5, 0, 255), rtol=1e-6)
    np.testing.assert_allclose(_train(L.RandomBrightness((-0.2, -0.2), value_range=(0, 1)), x / 255),
                               np.clip(x / 255 - 0.2, 0, 1), atol=1e-6)
    np.testing.assert_array_equal(_train(L.RandomInvert((1.0, 1.0)), x), 255 - x)
    np.testing.assert_array_equal(_train(L.RandomInvert(0.0), x), x)
    np.testing.assert_allclose(_train(L.Solarization(), x), 255 - x, rtol=1e-6)  # threshold 0: all inverted
    y = _train(L.Solarization(value_range=(0, 1)), x / 255)
    np.testing.assert_allclose(y, 1 - x / 255, atol=1e-6)
    np.testing.assert_array_equal(_train(L.RandomPosterization((3, 3)), x), (x.astype(np.uint8) >> 5) << 5)
    y = _train(L.RandomPosterization((2, 2), value_range=(0, 1)), x / 255)
    np.testing.assert_allclose(y, ((x.astype(np.uint8) >> 6) << 6) / 255, atol=1e-6)


def test_solarization_thresholds_and_posterization_bits_are_drawn_per_image():
    x = np.tile(np.linspace(0, 255, 256, dtype="float32")[None, None, :, None], (64, 1, 1, 3))
    y = _train(L.Solarization(threshold_factor=(0.2, 0.8), seed=1), x)
    flipped = ~np.isclose(y, x)
    first = np.argmax(flipped[:, 0, :, 0], axis=1)  # the per-image threshold: the first inverted value
    assert np.all(flipped[:, 0, :, 0].sum(1) == 256 - first)  # everything above it is inverted
    # thresholds ~ U(0.2, 0.8 * 255): as Keras 3.15, only the upper bound is scaled to the [0, 255] range
    assert 1 <= first.min() and first.max() <= 0.8 * 255 + 1 and first.std() > 20
    y = _train(L.RandomPosterization(8, seed=2), x)
    levels = np.array([len(np.unique(img)) for img in y[..., 0]])
    assert set(levels) <= {2 ** b for b in range(1, 8)} and len(set(levels)) >= 5  # bits in [1, 8)


def test_grayscale_degeneration_saturation_values():
    x = _img()
    gray = (x @ GRAY)[..., None]
    np.testing.assert_allclose(_train(L.RandomGrayscale(1.0), x), np.repeat(gray, 3, -1), rtol=1e-5)
    np.testing.assert_array_equal(_train(L.RandomGrayscale(0.0), x), x)
    np.testing.assert_allclose(_train(L.RandomColorDegeneration((1.0, 1.0)), x),
                               np.clip(np.repeat(gray, 3, -1), 0, 255), rtol=1e-5)
    np.testing.assert_allclose(_train(L.RandomColorDegeneration((-0.5, -0.5)), x),
                               np.clip(x - 0.5 * (gray - x), 0, 255), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(_train(L.RandomSaturation((0.5, 0.5)), x), x, rtol=1e-5, atol=1e-3)  # f / (1 - f) = 1
    y = _train(L.RandomSaturation((0.0, 0.0)), x)  # S = 0: every channel is V = max(R, G, B)
    np.testing.assert_allclose(y, np.repeat(x.max(-1, keepdims=True), 3, -1), rtol=1e-6)
    f = 0.3 / 0.7
    y = _train(L.RandomSaturation((0.3, 0.3), value_range=(0, 1)), x / 255)
    ref = [colorsys.hsv_to_rgb(h, min(s * f, 1), v) for h, s, v in
           (colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3) / 255)]
    np.testing.assert_allclose(y, np.reshape(ref, x.shape), atol=1e-5)


def test_hue_shifts_the_hue_by_the_drawn_amount():
    x = _img() / 255
    np.testing.assert_allclose(_train(L.RandomHue(0.0, value_range=(0, 1)), x), x, atol=1e-6)
    y = _train(L.RandomHue((1.0, 1.0), value_range=(0, 1), seed=0), x)  # delta = +-0.5: the same either way
    ref = [colorsys.hsv_to_rgb((h + 0.5) % 1, s, v) for h, s, v in (colorsys.rgb_to_hsv(*p) for p in x.reshape(-1, 3))]
    np.testing.assert_allclose(y, np.reshape(ref, x.shape), atol=1e-5)
    layer = L.RandomHue((0.4, 0.4), value_range=(0, 255), seed=4)
    y = _train(layer, x[:, :1, :1] * 255 + 0) / 255
    shifts = [(colorsys.rgb_to_hsv(*a)[0] - colorsys.rgb_to_hsv(*b)[0]) % 1 for a, b in
              zip(y.reshape(-1, 3), x[:, :1, :1].reshape(-1, 3))]
    assert np.allclose(np.minimum(np.abs(np.array(shifts) - 0.2), np.abs(np.array(shifts) - 0.8)), 0, atol=1e-4)


def test_sharpness_and_blur_values():
    x = _img()
    np.testing.assert_allclose(_train(L.RandomSharpness((0.5, 0.5)), x), x, rtol=1e-6)  # 1 - 2f = 0
    k = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13
    smooth = np.stack([ndimage.correlate(x[n, ..., c].astype(float), k, mode="constant") for n in range(3)
                       for c in range(3)]).reshape(3, 3, 5, 6).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(_train(L.RandomSharpness((0.0, 0.0)), x), np.clip(smooth, 0, 255), rtol=1e-5, atol=1e-3)
    y = _train(L.RandomGaussianBlur((1.0, 1.0), kernel_size=5, sigma=(0.7, 0.7)), x)
    np.testing.assert_allclose(y, np.clip(nerve.ops.image.gaussian_blur(x, (5, 5), (0.7 + 1e-6,) * 2).numpy(), 0, 255),
                               rtol=1e-5)
    np.testing.assert_array_equal(_train(L.RandomGaussianBlur(0.0), x), x)
    x2 = _img(400)
    y = _train(L.RandomGaussianBlur(0.5, seed=1), x2)
    frac = np.mean([not np.allclose(a, b) for a, b in zip(y, x2)])  # p ~ U(0, 0.5): a quarter blurred
    assert 0.17 < frac < 0.33


def test_autocontrast_acts_always_and_keeps_flat_channels():
    x = _img() * 0.5 + 40
    x[1, ..., 2] = 7.0  # a constant channel
    y = L.AutoContrast()(x).numpy()  # inference too
    lo, hi = x.min((1, 2), keepdims=True), x.max((1, 2), keepdims=True)
    ref = np.where(hi > lo, (x - lo) * 255 / np.where(hi > lo, hi - lo, 1), x)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-3)
    assert y[0].min() == 0 and y[0].max() == pytest.approx(255) and np.all(y[1, ..., 2] == 7)
    np.testing.assert_allclose(L.AutoContrast(value_range=(0, 1))(x / 255).numpy(), ref / 255, atol=1e-6)


def _np_equalize(x, bins=256):
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        ch = x[..., c]
        hist = np.bincount(np.clip((ch * (bins - 1) / 255).astype(int), 0, bins - 1).ravel(), minlength=bins)
        cdf = np.cumsum(hist)
        cmin = cdf[np.nonzero(cdf)[0][0]]
        lut = np.clip(np.round((cdf - cmin) * 255 / max(cdf[-1] - cmin, 1)), 0, 255)
        eq = lut[np.clip(ch / 255 * (bins - 1), 0, bins - 1).astype(int)]
        out[..., c] = ch if np.count_nonzero(hist) <= 1 else eq
    return out


def test_equalization_matches_the_histogram_formula():
    x = (R.beta(2, 5, (4, 8, 9, 3)) * 255).astype("float32")  # skewed to the dark
    x[..., 2] = 50.0  # one occupied bin: kept
    for bins in (256, 32):
        y = _train(L.Equalization(bins=bins), x)
        np.testing.assert_allclose(y, _np_equalize(x, bins), atol=1e-4)
    y = _train(L.Equalization(), x)
    assert y[..., 0].max() == 255 and abs(np.median(y[..., 0]) - 127.5) < 25  # spread over the range
    np.testing.assert_allclose(_train(L.Equalization(value_range=(0, 1)), x / 255), _np_equalize(x) / 255, atol=1e-6)


def test_jitter_runs_its_steps_in_order_from_one_stream():
    x = _img()
    np.testing.assert_allclose(_train(L.RandomColorJitter(brightness_factor=(0.1, 0.1)), x),
                               _train(L.RandomBrightness((0.1, 0.1)), x))
    y = _train(L.RandomColorJitter(brightness_factor=(0.1, 0.1), saturation_factor=(0.0, 0.0)), x)
    b = np.clip(x + 25.5, 0, 255)
    np.testing.assert_allclose(y, np.repeat(b.max(-1, keepdims=True), 3, -1), rtol=1e-5)
    a, b = (_train(L.RandomColorJitter(brightness_factor=0.2, hue_factor=0.3, seed=9), x) for _ in range(2))
    np.testing.assert_array_equal(a, b)


def test_draw_ranges_and_frequencies():
    x = np.full((400, 2, 2, 3), 100.0, "float32")
    d = _train(L.RandomBrightness((-0.1, 0.3), seed=1), x)[:, 0, 0, 0] - 100
    assert -25.5 - 1e-3 <= d.min() and d.max() <= 76.5 + 1e-3 and d.std() > 15
    xr = _img(400, 2, 2)
    g = _train(L.RandomGrayscale(0.3, seed=2), xr)
    assert 0.24 < np.mean(np.all(np.isclose(g[..., 0], g[..., 1]), axis=(1, 2))) < 0.36
    inv = _train(L.RandomInvert((0.5, 0.5), seed=3), xr)
    assert 0.43 < np.mean(np.all(np.isclose(inv, 255 - xr), axis=(1, 2, 3))) < 0.57
    c = np.tile(np.array([200.0, 50.0, 20.0], "float32"), (400, 1, 1, 1))
    y = _train(L.RandomColorDegeneration((0.2, 0.6), seed=4), c)  # y = x + f (gray - x): f = (y - x) / (gray - x)
    f = (y[:, 0, 0, 0] - 200) / (c[0, 0, 0] @ GRAY - 200)
    assert 0.2 - 1e-5 <= f.min() and f.max() <= 0.6 + 1e-5 and f.std() > 0.08


def test_errors_name_the_layer_and_argument():
    with pytest.raises(ValueError, match=r"RandomBrightness '.*': argument 'factor' expected a number or a pair of "
                                         r"numbers in \[-1, 1\], got 1.5"):
        L.RandomBrightness(1.5)
    with pytest.raises(ValueError, match=r"RandomHue '.*': argument 'factor' expected .* in \[0, 1\], got -0.2"):
        L.RandomHue(-0.2)
    with pytest.raises(ValueError, match=r"RandomPosterization '.*': argument 'factor' .* in \[1, 8\], got 9"):
        L.RandomPosterization(9)
    with pytest.raises(ValueError, match=r"Solarization '.*': argument 'threshold_factor' .* got \(0.2, 1.5\)"):
        L.Solarization(threshold_factor=(0.2, 1.5))
    with pytest.raises(ValueError, match=r"RandomGrayscale '.*': argument 'factor' expected a number in \[0, 1\]"):
        L.RandomGrayscale(2)
    with pytest.raises(ValueError, match=r"RandomInvert '.*': argument 'value_range' expected a pair of numbers"):
        L.RandomInvert(value_range=255)
    with pytest.raises(ValueError, match=r"RandomGaussianBlur '.*': argument 'kernel_size' expected an odd"):
        L.RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match=r"RandomGaussianBlur '.*': argument 'sigma' expected .* in \[0, 1\]"):
        L.RandomGaussianBlur(sigma=2.0)
    with pytest.raises(ValueError, match=r"Equalization '.*': argument 'bins' expected a positive int, got 0"):
        L.Equalization(bins=0)
    with pytest.raises(ValueError, match=r"AutoContrast '.*': argument 'data_format' expected 'channels_last'"):
        L.AutoContrast(data_format="channels_first")
    with pytest.raises(ValueError, match=r"RandomSaturation '.*': expected RGB images \(3 channels\), got shape"):
        L.RandomSaturation(0.3)(np.ones((1, 4, 4, 2), "float32"), training=True)


# ------------------------------------------------------------------ device arrays
@pytest.fixture
def cp():
    with fakecupy.gpu_module() as module:
        yield module


@pytest.mark.parametrize("cls, kw", ALL, ids=[c.__name__ for c, _ in ALL])
def test_layers_on_device_arrays_equal_the_cpu(cp, cls, kw):
    """Draws on the host from the seeded Generator, moved over: the same images on device arrays."""
    x = _img(4, 6, 7)
    seed = {} if cls in (L.Equalization, L.AutoContrast) else {"seed": 6}
    outs = []
    for where, to in (("cpu", np.asarray), ("gpu", cp.asarray)):
        with nerve.device(where):
            layer = cls(**kw, **seed)
        y = layer(to(x), training=True)
        assert type(y.data) is type(to(x))
        outs.append(nerve.ops.convert_to_numpy(y))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-4 if fakecupy.real_cupy() else 0)
