"""AugMix and ContrastLimitedAdaptiveHistogramEqualization: CLAHE against golden values from Keras 3.15, AugMix's
Dirichlet / Beta mixing replayed from its seed, determinism, ranges, identity at inference (AugMix) and action at
inference (CLAHE), config round trips, a saved model, errors, and the device path on the strict CuPy stand-in."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import layers as L

from harness import layer_test

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

CLAHE = L.ContrastLimitedAdaptiveHistogramEqualization


def _uniform(shape, seed=0, lo=0.0, hi=255.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype("float32")


# ----------------------------------------------------------------------------------------------- CLAHE goldens
# Golden values: keras.layers.ContrastLimitedAdaptiveHistogramEqualization (Keras 3.15.1) on the same inputs, run on
# the torch backend with two torch-backend quirks patched to what its TensorFlow / JAX / NumPy backends do:
# histograms in float32 (torch's one_hot gives int64, which truncates the clip limit clip_limit * pixels / 256 to an
# integer) and np.pad's 'symmetric' padding (torch's pads replicate the edge beyond one row). nerve matches the
# patched Keras exactly on these and on larger random batches.
A = ((np.arange(48) * 37) % 256).reshape(1, 6, 8, 1).astype("float32")
A_OUT = np.array([  # tile_grid_size=(2, 2), clip_limit=4 (a non-integer limit: 0.1875)
    [0.0000, 34.5795, 73.2197, 115.4664, 151.3510, 184.9342, 220.2131, 6.4328],
    [41.1147, 79.7549, 122.4558, 158.4662, 192.1434, 227.5481, 12.8655, 50.9001],
    [84.7323, 125.3232, 163.1963, 196.8586, 231.9339, 14.8259, 54.6681, 89.3718],
    [122.4411, 158.7799, 195.0869, 232.4002, 13.7787, 52.3692, 89.8090, 125.8450],
    [157.0024, 194.4611, 234.5739, 16.0333, 52.9444, 91.1401, 132.9439, 170.3123],
    [198.3542, 240.3857, 22.6084, 56.6459, 92.6819, 135.7127, 178.7436, 212.7810]])
A_OUT_NOCLIP = np.array([  # clip_limit=0: plain adaptive histogram equalisation
    [0.0000, 23.1818, 69.5455, 136.1932, 167.1023, 185.4545, 212.5000, 21.2500],
    [46.3636, 92.7273, 162.2727, 193.6648, 211.5341, 239.0625, 42.5000, 85.0000],
    [107.2159, 165.1705, 207.3485, 224.8958, 249.6875, 39.8438, 92.0833, 116.8750],
    [135.2273, 169.0341, 201.8750, 239.0625, 21.2500, 66.8892, 106.2500, 138.1250],
    [144.8864, 184.1667, 237.2917, 20.3646, 56.9886, 100.4545, 162.9167, 201.8750],
    [191.2500, 255.0000, 42.5000, 63.7500, 95.6250, 164.6875, 233.7500, 255.0000]])
B = ((np.arange(70) * 53 + 11) % 256 / 255).reshape(1, 7, 5, 2).astype("float32")
B_OUT = np.array([  # value_range=(0, 1), clip_limit=2, tile_grid_size=(3, 2): tiles 3 x 3, padded by 2 rows, 1 column
    [[0.0558, 0.2646], [0.4656, 0.6745], [0.8763, 0.0810], [0.2890, 0.4964], [0.7015, 0.9079]],
    [[0.1292, 0.3381], [0.5391, 0.7480], [0.9488, 0.1535], [0.3594, 0.5668], [0.7750, 0.9814]],
    [[0.2001, 0.4076], [0.6112, 0.8188], [0.0164, 0.2239], [0.4298, 0.6371], [0.8468, 0.0503]],
    [[0.2683, 0.4732], [0.6782, 0.8831], [0.0873, 0.2931], [0.5001, 0.7075], [0.9142, 0.1195]],
    [[0.3404, 0.5427], [0.7503, 0.9526], [0.1580, 0.3620], [0.5705, 0.7779], [0.9851, 0.1921]],
    [[0.4128, 0.6159], [0.8230, 0.0225], [0.2284, 0.4330], [0.6410, 0.8484], [0.0551, 0.2653]],
    [[0.4784, 0.6858], [0.8893, 0.0930], [0.2993, 0.5068], [0.7123, 0.9197], [0.1269, 0.3344]]])
# A low-contrast 16 x 16 image with 2 x 2 tiles: the clip limit 4 * 64 / 256 = 1 is an integer, so every Keras
# backend (unpatched torch included) gives these values; every third row and column.
C = (np.arange(256) * 7 % 64 + 96).reshape(1, 16, 16, 1).astype("float32")
C_OUT_EVERY_3 = np.array([
    [51.8982, 106.2916, 155.6947, 207.0939, 97.8082, 152.2016],
    [91.8200, 146.2133, 195.6164, 87.3288, 137.7299, 192.1233],
    [131.7417, 186.1350, 75.8513, 127.2505, 177.6517, 72.3581],
    [171.6634, 66.3699, 115.7730, 167.1722, 57.8865, 112.2798],
    [51.8982, 106.2916, 155.6947, 207.0939, 97.8082, 152.2016],
    [91.8200, 146.2133, 195.6164, 87.3288, 137.7299, 192.1233]])


@pytest.mark.parametrize("x, kw, expected, view", [
    (A, {"tile_grid_size": (2, 2)}, A_OUT, lambda y: y[0, ..., 0]),
    (A, {"tile_grid_size": (2, 2), "clip_limit": 0}, A_OUT_NOCLIP, lambda y: y[0, ..., 0]),
    (B, {"value_range": (0, 1), "clip_limit": 2.0, "tile_grid_size": (3, 2)}, B_OUT, lambda y: y[0]),
    (C, {"tile_grid_size": (2, 2)}, C_OUT_EVERY_3, lambda y: y[0, ::3, ::3, 0]),
], ids=["clip", "no_clip", "padded_unit_range", "integer_limit"])
def test_clahe_matches_keras(x, kw, expected, view):
    layer = CLAHE(**kw)
    for training in (True, False):  # acts in inference too, as Keras
        y = layer(x, training=training).numpy()
        assert y.dtype == np.float32 and y.shape == x.shape
        np.testing.assert_allclose(view(y), expected, rtol=1e-5, atol=2e-4)


def test_clahe_integer_images_come_back_truncated_in_their_dtype():
    y = CLAHE(tile_grid_size=(2, 2))(A.astype("int32"))
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y.numpy()[0, ..., 0], np.floor(A_OUT + 1e-3).astype(np.int32))


def test_clahe_ranges_single_images_dicts_and_channels_first():
    x = _uniform((3, 20, 17, 3), 1, 0, 1)
    layer = CLAHE(value_range=(0, 1), tile_grid_size=(4, 3))
    y = layer(x).numpy()
    assert 0 <= y.min() and y.max() <= 1 and y.std() > 0.1
    np.testing.assert_allclose(layer(x[1]).numpy(), y[1], rtol=1e-6)  # one image: per-image histograms
    out = layer({"images": x, "labels": np.arange(3.0)})
    np.testing.assert_allclose(out["images"].numpy(), y, rtol=1e-6)
    np.testing.assert_array_equal(out["labels"].numpy(), np.arange(3.0))
    first = CLAHE(value_range=(0, 1), tile_grid_size=(4, 3), data_format="channels_first")
    np.testing.assert_allclose(first(x.transpose(0, 3, 1, 2)).numpy(), y.transpose(0, 3, 1, 2), rtol=1e-6)
    flat = CLAHE()(np.full((1, 9, 9, 1), 80.0, "float32")).numpy()  # one grey level: one constant mapping
    np.testing.assert_allclose(flat, flat.flat[0])


def test_clahe_more_tiles_than_pixels_and_no_clip_spreads_further():
    x = _uniform((1, 5, 6, 1), 2, 100, 140)  # 8 x 8 tiles of 1 pixel: padded by mirroring
    assert CLAHE()(x).shape == x.shape
    spread = [np.ptp(CLAHE(clip_limit=c, tile_grid_size=(1, 1))(x).numpy()) for c in (1.0, 4.0, 0)]
    assert spread[0] < spread[1] < spread[2]  # a lower limit bounds the contrast gain


# ----------------------------------------------------------------------------------------------- AugMix
def test_augmix_replays_the_dirichlet_beta_mixing_of_its_seed():
    """With one operation y -> y + 10 that draws nothing, the seed's stream gives m ~ Dirichlet(alpha),
    w ~ Beta(alpha, alpha) and the chains' picks: y = clip(w x + (1 - w) sum_k m_k (x + 10 d_k))."""
    x = _uniform((2, 4, 4, 3), 3, 0, 200)
    layer = L.AugMix(num_chains=4, chain_depth=5, alpha=0.7, seed=11)
    layer._ops = [lambda y, training: y + 10.0]
    rng = np.random.default_rng(11)
    m, w = rng.dirichlet([0.7] * 4), rng.beta(0.7, 0.7)
    d = [sum(rng.integers(0, 2) == 0 for _ in range(5)) for _ in range(4)]
    expected = np.clip(w * x + (1 - w) * sum(mk * (x + 10.0 * dk) for mk, dk in zip(m, d)), 0, 255)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-4)


def test_augmix_seeded_ranges_and_identity_at_inference():
    x = _uniform((4, 8, 8, 3), 4)
    a, b = L.AugMix(seed=5), L.AugMix(seed=5)
    ya = a(x).numpy()  # a direct call augments (training defaults to True, as Keras)
    np.testing.assert_array_equal(ya, b(x, training=True).numpy())
    assert not np.allclose(ya, a(x).numpy())  # the stream moves on
    assert ya.dtype == np.float32 and 0 <= ya.min() and ya.max() <= 255 and not np.allclose(ya, x)
    np.testing.assert_array_equal(a(x, training=False).numpy(), x)
    xi = (x / 255).astype("float32")
    yi = L.AugMix(value_range=(0, 1), factor=(0.5, 1.0), seed=1)(xi).numpy()
    assert 0 <= yi.min() and yi.max() <= 1
    data = {"images": x[0], "labels": np.array([0.0, 1.0])}
    out = L.AugMix(seed=5)(data)
    assert out["images"].shape == x[0].shape
    np.testing.assert_array_equal(out["labels"].numpy(), [0.0, 1.0])
    first = L.AugMix(seed=6, data_format="channels_first")(x.transpose(0, 3, 1, 2)).numpy()
    np.testing.assert_allclose(first, L.AugMix(seed=6)(x).numpy().transpose(0, 3, 1, 2), rtol=1e-6)


def test_augmix_operations_are_nerves_layers_in_keras_order_on_one_stream():
    full, some = L.AugMix(seed=0), L.AugMix(all_ops=False, seed=0)
    assert [type(v).__name__ for v in full._ops] == list(L.AugMix.OPS)
    assert [type(v).__name__ for v in some._ops] == list(L.AugMix.OPS[:7])
    assert all(v._gen is full._gen for v in full._ops if hasattr(v, "_gen"))
    posterize = full._ops[L.AugMix.OPS.index("RandomPosterization")]
    assert posterize.factor == (1, 2)  # max(1, int(8 * 0.3)) bits


def test_augmix_names_a_missing_operation(monkeypatch):
    monkeypatch.delattr(L, "RandomSharpness")
    with pytest.raises(NotImplementedError, match=r"AugMix '.*': nerve lacks .*'RandomSharpness'"):
        L.AugMix()
    L.AugMix(all_ops=False)  # not among the 7


# ----------------------------------------------------------------------------------------------- configs, saving
@pytest.mark.parametrize("cls, kw", [
    (L.AugMix, {"num_chains": 2, "chain_depth": 2, "factor": (0.1, 0.4), "alpha": 0.5, "all_ops": False,
                "interpolation": "nearest", "seed": 3}),
    (CLAHE, {"value_range": (-1, 1), "clip_limit": 2.5, "tile_grid_size": (2, 3)}),
], ids=["AugMix", "CLAHE"])
def test_layer_checks_and_config_round_trip(cls, kw, tmp_path):
    layer_test(cls, kw, input_shape=(2, 6, 7, 3), parts=("core", "save"), run_gradcheck=False, tmp_path=tmp_path)
    layer = cls(**kw)
    cfg = layer.get_config()
    assert cfg == cls.from_config(cfg).get_config() == L.deserialize(L.serialize(layer)).get_config()


def test_model_with_both_fits_saves_and_loads(tmp_path):
    r = np.random.default_rng(0)
    x, y = r.uniform(0, 255, (8, 8, 8, 3)).astype("float32"), r.integers(0, 2, 8)
    nerve.set_random_seed(0)
    model = nerve.Sequential([L.Input((8, 8, 3)), L.AugMix(seed=1), CLAHE(tile_grid_size=(2, 2)),
                              L.Rescaling(1 / 255), L.Conv2D(2, 3), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert np.all(np.isfinite(model.fit(x, y, epochs=1, batch_size=4, verbose=0).history["loss"]))
    p = model.predict(x, verbose=0)
    model.save(str(tmp_path / "m.keras"))
    loaded = nerve.models.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), p, rtol=1e-6, atol=1e-6)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


# ----------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, msg", [
    (lambda: L.AugMix(num_chains=0), "num_chains"),
    (lambda: L.AugMix(chain_depth=1.5), "chain_depth"),
    (lambda: L.AugMix(factor=1.5), "factor"),
    (lambda: L.AugMix(alpha=0), "alpha"),
    (lambda: L.AugMix(interpolation="bicubic"), "interpolation"),
    (lambda: L.AugMix(value_range=(1, 0)), "value_range"),
    (lambda: L.AugMix(seed=-1), "seed"),
    (lambda: CLAHE(clip_limit="4"), "clip_limit"),
    (lambda: CLAHE(tile_grid_size=8), "tile_grid_size"),
    (lambda: CLAHE(tile_grid_size=(0, 2)), "tile_grid_size"),
    (lambda: CLAHE(data_format="NHWC"), "data_format"),
])
def test_argument_errors(make, msg):
    with pytest.raises(ValueError, match=rf"'.*': argument '{msg}'"):
        make()


def test_input_errors():
    with pytest.raises(ValueError, match="rank 3"):
        CLAHE()(np.zeros((4, 4), "float32"))
    with pytest.raises(ValueError, match="keys"):
        L.AugMix()({"images": np.zeros((1, 4, 4, 3), "float32"), "segmentation_masks": np.zeros((1, 4, 4, 1))})


# ----------------------------------------------------------------------------------------------- device arrays
def test_on_device_arrays_equal_the_cpu():
    """On the strict CuPy stand-in (the real CuPy on a GPU machine): CLAHE's histograms and lookups stay on the
    device; AugMix's host draws are moved there, so a seed gives the CPU's images."""
    x = _uniform((3, 9, 10, 3), 7)
    outs = []
    with fakecupy.gpu_module() as cp:
        for where, to in (("cpu", np.asarray), ("gpu", cp.asarray)):
            with nerve.device(where):
                layers = [CLAHE(tile_grid_size=(2, 3)), L.AugMix(seed=4), L.AugMix(value_range=(0, 1), seed=2)]
            res = []
            for layer in layers:
                xin = to(x / 255 if layer.value_range[1] == 1 else x)
                y = layer(xin, training=True)
                assert type(y.data) is type(xin)
                res.append(nerve.ops.convert_to_numpy(y))
            outs.append(res)
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-4 if fakecupy.real_cupy() else 0)
