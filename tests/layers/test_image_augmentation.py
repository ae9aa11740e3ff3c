"""Image augmentation layers and the ImageDataGenerator flow: exact geometry on small images, inference is the
identity, seeds reproduce, gradients through the resampling (float64 gradcheck), scipy.ndimage / torch as
oracles where installed, and a model.fit on the flow."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.preprocessing.image import ImageDataGenerator, apply_affine_transform, warp

from harness import layer_test


def _img(n=2, h=5, w=5, c=1):
    return np.arange(n * h * w * c, dtype="float32").reshape(n, h, w, c)


RANDOM_LAYERS = [
    (L.RandomFlip, {}),
    (L.RandomRotation, {"factor": 0.2}),
    (L.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.1}),
    (L.RandomZoom, {"height_factor": 0.3}),
    (L.RandomContrast, {"factor": 0.4}),
]


@pytest.mark.parametrize("cls, kw", RANDOM_LAYERS)
def test_random_layers_identity_in_inference_and_gradcheck(cls, kw):
    x = _img(2, 6, 5, 2)
    layer = cls(**kw)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    with nerve.backend.training_mode(False):  # evaluate / predict: inference
        np.testing.assert_array_equal(layer(x).numpy(), x)
    with nerve.backend.training_mode(True):
        assert layer(x).shape == x.shape
    extra = {"value_range": (-100, 100)} if cls is L.RandomContrast else {}
    layer_test(cls, dict(kw, **extra), input_shape=(2, 6, 5, 2), parts=("core",), gradcheck_training=True)


@pytest.mark.parametrize("cls, kw", RANDOM_LAYERS)
def test_seeded_layers_reproduce(cls, kw):
    x = np.random.default_rng(0).uniform(0, 255, (3, 6, 6, 3)).astype("float32")
    a = cls(**kw, seed=7)(x, training=True).numpy()
    b = cls(**kw, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    if cls is not L.RandomFlip:
        assert not np.allclose(a, x)
    nerve.set_random_seed(3)
    c = cls(**kw)(x, training=True).numpy()
    nerve.set_random_seed(3)
    np.testing.assert_array_equal(c, cls(**kw)(x, training=True).numpy())


def test_rotation_quarter_turn_is_rot90_counter_clockwise():
    x = _img(1, 5, 5, 2)
    y = L.RandomRotation((0.25, 0.25), fill_mode="constant")(x, training=True).numpy()
    np.testing.assert_allclose(y[0], np.rot90(x[0], 1, axes=(0, 1)), atol=1e-4)
    y = L.RandomRotation((-0.25, -0.25), interpolation="nearest")(x, training=True).numpy()
    np.testing.assert_allclose(y[0], np.rot90(x[0], -1, axes=(0, 1)), atol=1e-4)


def test_translation_zoom_flip_exact():
    x = _img(1, 5, 5)
    y = L.RandomTranslation((0.2, 0.2), (-0.4, -0.4), fill_mode="constant", fill_value=-1)(x, training=True).numpy()
    ref = np.full_like(x, -1)
    ref[0, 1:, :3] = x[0, :4, 2:]  # one row down, two columns left
    np.testing.assert_allclose(y, ref, atol=1e-5)
    y = L.RandomTranslation((0.2, 0.2), 0, fill_mode="wrap")(x, training=True).numpy()
    np.testing.assert_allclose(y, np.roll(x, 1, axis=1), atol=1e-5)
    y = L.RandomZoom((-0.5, -0.5), fill_mode="constant")(x, training=True).numpy()
    assert y[0, 2, 2, 0] == x[0, 2, 2, 0]  # zoom about the centre keeps the centre
    np.testing.assert_allclose(y[0, 1, :, 0], [8.5, 9, 9.5, 10, 10.5], atol=1e-5)  # 2x zoom in: rows 1.5, cols 1..3
    flip = L.RandomFlip("horizontal_and_vertical", seed=0)
    y = flip(_img(64, 2, 3), training=True).numpy()
    seen = {tuple(v) for v in y[:, 0, 0, :]}
    x64 = _img(64, 2, 3)
    corners = {tuple(x64[0, r, c]) for r in (0, 1) for c in (0, 2)}
    assert {tuple(v - x64[i, 0, 0] + x64[0, 0, 0]) for i, v in enumerate(y[:, 0, 0, :])} == corners
    assert len(seen) > 4


def test_contrast_rescaling_resizing():
    x = np.random.default_rng(1).uniform(0, 255, (4, 5, 6, 3)).astype("float32")
    y = L.RandomContrast((0.5, 0.5), seed=0)(x, training=True).numpy()
    assert y.min() >= 0 and y.max() <= 255
    np.testing.assert_allclose(y.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=0.2)
    r = L.Rescaling(1 / 255.0, offset=-0.5)
    np.testing.assert_allclose(r(x).numpy(), x / 255 - 0.5, atol=1e-6)
    assert r(np.zeros((1, 2, 2, 1), "uint8")).dtype == np.float32
    assert r.get_config()["scale"] == pytest.approx(1 / 255)
    torch = pytest.importorskip("torch")
    ref = torch.nn.functional.interpolate(torch.tensor(x.transpose(0, 3, 1, 2)), size=(3, 8), mode="bilinear",
                                          align_corners=False, antialias=False).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(L.Resizing(3, 8)(x).numpy(), ref, atol=1e-3)
    assert L.Resizing(4, 4, crop_to_aspect_ratio=True)(x).shape == (4, 4, 4, 3)
    assert L.Resizing(10, 12, interpolation="nearest")(x[0]).shape == (10, 12, 3)
    assert L.Resizing(7, 9)(L.Input((None, None, 3))).shape == (None, 7, 9, 3)
    layer_test(L.Resizing, {"height": 3, "width": 4}, input_shape=(2, 5, 6, 2), parts=("core",))
    layer_test(L.Rescaling, {"scale": 0.5, "offset": 1.0}, input_shape=(2, 3, 3, 1), parts=("core",))


def test_augmentation_errors():
    with pytest.raises(ValueError, match=r"RandomFlip 'f'.*mode.*'diagonal'"):
        L.RandomFlip("diagonal", name="f")
    with pytest.raises(ValueError, match="fill_mode"):
        L.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="factor"):
        L.RandomRotation((0.3, 0.1))
    with pytest.raises(ValueError, match="channels_last"):
        L.RandomZoom(0.1, data_format="channels_first")
    with pytest.raises(ValueError, match=r"RandomFlip .*rank"):
        L.RandomFlip()(np.zeros((2, 3), "float32"), training=True)


def test_augmentation_inside_a_model_trains():
    model = nerve.Sequential([L.Input((8, 8, 1)), L.RandomFlip("horizontal"), L.RandomRotation(0.05),
                              L.RandomZoom(0.1), L.Rescaling(1 / 255.0), L.Conv2D(4, 3, activation="relu"),
                              L.GlobalAveragePooling2D(), L.Dense(2, activation="softmax")])
    x = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("int64")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(x, verbose=0))  # inference: no randomness


# ----------------------------------------------------------------------------------------- ImageDataGenerator
def test_affine_transform_matches_scipy_ndimage():
    nd = pytest.importorskip("scipy.ndimage")
    from nerve.preprocessing.image import affine_matrix, centre
    x = np.random.default_rng(0).standard_normal((7, 6, 2))
    for mode in ("constant", "nearest", "reflect", "wrap"):
        for order, interp in ((1, "bilinear"), (0, "nearest")):
            m = centre(affine_matrix(theta=23, tx=0.7, ty=-1.2, shear=10, zx=0.9, zy=1.2), 7, 6)
            ref = np.stack([nd.affine_transform(x[..., k], m[:2, :2], m[:2, 2], order=order, cval=3.0,
                                                mode="grid-wrap" if mode == "wrap" else mode) for k in range(2)], -1)
            got = warp(x[None], m[None], interpolation=interp, fill_mode=mode, cval=3.0)[0]
            np.testing.assert_allclose(got, ref, atol=1e-9, err_msg=f"{mode} order {order}")
    img = _img(1, 5, 5)[0]
    np.testing.assert_allclose(apply_affine_transform(img, theta=90), np.rot90(img, -1, axes=(0, 1)), atol=1e-4)
    np.testing.assert_allclose(apply_affine_transform(img), img)


def test_image_data_generator_flow_is_a_pydataset():
    x = np.random.default_rng(0).uniform(0, 255, (10, 8, 8, 3)).astype("float32")
    y = np.arange(10)
    gen = ImageDataGenerator(rescale=1 / 255.0, rotation_range=50, width_shift_range=0.2, height_shift_range=0.2,
                             shear_range=0.2, zoom_range=0.2, horizontal_flip=True, fill_mode="nearest")
    it = gen.flow(x, y, batch_size=4, seed=61)
    assert len(it) == 3
    xb, yb = it[0]
    assert xb.shape == (4, 8, 8, 3) and yb.shape == (4,) and xb.dtype == np.float32
    assert 0 <= xb.min() and xb.max() <= 1.0  # nearest fill + rescale keeps the range
    assert it[2][0].shape == (2, 8, 8, 3)
    assert sorted(np.concatenate([b[1] for b in it])) == list(range(10))
    again = gen.flow(x, y, batch_size=4, seed=61)[0]
    np.testing.assert_array_equal(again[1], yb)
    plain = ImageDataGenerator(rescale=0.5).flow(x, batch_size=10, shuffle=False)[0]
    np.testing.assert_allclose(plain, x * 0.5)
    flipped = ImageDataGenerator(vertical_flip=True).flow(x, batch_size=10, shuffle=False, seed=0)[0]
    assert all(np.allclose(f, v) or np.allclose(f, v[::-1]) for f, v in zip(flipped, x))
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match=r"flow.*\(N, H, W, C\)"):
        gen.flow(np.zeros((3, 8, 8)), batch_size=2)
    with pytest.raises(ValueError, match="same length"):
        gen.flow(x, y[:3])


def test_model_fit_on_a_flow():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (32, 8, 8, 1)).astype("float32")
    x[:16, 2:6, 2:6] += 2.0  # class 1: a bright square in the middle
    y = np.array([1] * 16 + [0] * 16)
    model = nerve.Sequential([L.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.GlobalMaxPooling2D(),
                              L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    flow = ImageDataGenerator(rotation_range=10, horizontal_flip=True).flow(x, y, batch_size=8, seed=0)
    hist = model.fit(flow, epochs=8, verbose=0)
    assert len(hist.history["loss"]) == 8
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_flow_from_directory(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    from nerve.preprocessing.image import array_to_img, img_to_array, load_img
    rng = np.random.default_rng(0)
    for cls, level in (("cats", 40), ("dogs", 200)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            arr = np.clip(rng.normal(level, 5, (12, 10, 3)), 0, 255).astype("uint8")
            pil.fromarray(arr).save(tmp_path / cls / f"{cls}.{i}.png")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    gen = ImageDataGenerator(rescale=1 / 255.0)
    it = gen.flow_from_directory(str(tmp_path), target_size=(8, 6), class_mode="binary", batch_size=4, seed=61)
    assert len(it) == 2 and it.class_indices == {"cats": 0, "dogs": 1} and it.samples == 6
    xb, yb = it[0]
    assert xb.shape == (4, 8, 6, 3) and xb.max() <= 1.0
    assert np.all((xb.mean(axis=(1, 2, 3)) > 0.5) == (yb == 1))
    xs, ys = gen.flow_from_directory(str(tmp_path), target_size=(8, 6), color_mode="grayscale", shuffle=False,
                                     batch_size=6)[0]
    assert xs.shape == (6, 8, 6, 1) and ys.shape == (6, 2) and ys[:3, 0].all()
    img = load_img(str(tmp_path / "cats" / "cats.0.png"))
    assert img_to_array(img).shape == (12, 10, 3)
    assert array_to_img(img_to_array(img)).size == (10, 12)
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(str(tmp_path), class_mode="multi")
