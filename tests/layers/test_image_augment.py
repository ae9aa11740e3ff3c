"""Geometric and mixing augmentation layers (CenterCrop, RandomCrop, RandomErasing, RandomShear, RandomPerspective,
RandomElasticTransform, MixUp, CutMix, RandAugment, Pipeline, MaxNumBoundingBoxes): exact geometry on small
images, identity at inference, seeds reproduce, statistics of the draws (MixUp's and CutMix's label weights),
float64 gradchecks through the resampling, config round trips, a saved model, errors, and the device path on the
strict CuPy stand-in compared with the CPU."""
import os
import sys

import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.layers.image_augment import _homography

from harness import layer_test

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402


def _img(n=2, h=5, w=6, c=1):
    return np.arange(n * h * w * c, dtype="float32").reshape(n, h, w, c)


def _uniform(shape, seed=0, lo=0.0, hi=255.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype("float32")


def _coords_image(n, h, w):
    """Channel 0 holds the row, channel 1 the column: bilinear sampling of it returns the source coordinate."""
    rr, cc = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    return np.broadcast_to(np.stack([rr, cc], -1), (n, h, w, 2)).astype("float64")


RANDOM = [
    (L.RandomCrop, {"height": 4, "width": 3}),
    (L.RandomErasing, {"factor": (1, 1), "value_range": (-100, 100)}),
    (L.RandomShear, {"x_factor": 0.3, "y_factor": 0.2}),
    (L.RandomPerspective, {"factor": (1, 1), "scale": 0.5}),
    (L.RandomElasticTransform, {"factor": (1, 1), "value_range": (-100, 100)}),
    (L.MixUp, {}),
    (L.CutMix, {}),
]
ALL = RANDOM + [
    (L.CenterCrop, {"height": 4, "width": 3}),
    (L.RandomErasing, {"fill_value": 0.5}),
    (L.CenterCrop, {"height": 8, "width": 3}),  # taller than the input: aspect crop + resize
    (L.RandomShear, {"x_factor": (0.1, 0.4), "interpolation": "nearest", "fill_mode": "wrap"}),
    (L.RandomElasticTransform, {"scale": 0.5, "fill_mode": "mirror", "value_range": (-100, 100)}),
    (L.Pipeline, {"layers": [L.RandomShear(0.2), L.CenterCrop(4, 4)]}),
]


@pytest.mark.parametrize("cls, kw", ALL, ids=[c[0].__name__ for c in ALL])
def test_layer_checks_gradcheck_in_training_and_save(cls, kw, tmp_path):
    """Config round trip (also through the registry), symbolic shapes, a saved model's predictions and float64
    gradchecks in inference and in training (the draws replayed for every evaluation)."""
    layer_test(cls, kw, input_shape=(3, 6, 5, 2), parts=("core", "save"), gradcheck_training=True,
               tmp_path=tmp_path)


@pytest.mark.parametrize("cls, kw", RANDOM, ids=[c[0].__name__ for c in RANDOM])
def test_identity_in_inference_and_seeds_reproduce(cls, kw):
    x = _uniform((4, 6, 6, 3))
    layer = cls(**kw)
    # RandomCrop in inference: the centred 4:3 window (6 x 4, columns 1:5) resized to 4 x 3
    expect = L.Resizing(4, 3)(x[:, :, 1:5]).numpy() if cls is L.RandomCrop else x
    np.testing.assert_allclose(layer(x, training=False).numpy(), expect, rtol=1e-6)
    with nerve.backend.training_mode(False):  # inside evaluate / predict: inference without the flag
        np.testing.assert_allclose(layer(x).numpy(), expect, rtol=1e-6)
    assert not np.allclose(cls(**kw, seed=7)(x).numpy(), expect)  # a direct call augments (Keras's default)
    a = cls(**kw, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, cls(**kw, seed=7)(x, training=True).numpy())
    assert a.shape != x.shape or not np.allclose(a, x)
    nerve.set_random_seed(3)
    b = cls(**kw)(x, training=True).numpy()
    nerve.set_random_seed(3)
    np.testing.assert_array_equal(b, cls(**kw)(x, training=True).numpy())
    seeded = cls(**kw, seed=7)
    assert not np.array_equal(seeded(x, training=True).numpy(), seeded(x, training=True).numpy())  # draws advance


# ----------------------------------------------------------------------------------------------- crops
def test_center_crop_slices_or_resizes_and_always_acts():
    x = _img(2, 7, 8, 2)
    layer = L.CenterCrop(4, 5)
    for training in (False, True):
        np.testing.assert_array_equal(layer(x, training=training).numpy(), x[:, 1:5, 1:6])
    np.testing.assert_array_equal(layer(x[0]).numpy(), x[0, 1:5, 1:6])  # one image
    # smaller than the target: the largest centred 10:4 window (6 x 2, columns 3:5), resized (bilinear)
    y = L.CenterCrop(10, 4)(x[:, :6]).numpy()
    np.testing.assert_allclose(y, L.Resizing(10, 4)(x[:, :6, 3:5]).numpy(), rtol=1e-6)
    cf = L.CenterCrop(4, 5, data_format="channels_first")
    np.testing.assert_array_equal(cf(np.moveaxis(x, -1, 1)).numpy(), np.moveaxis(x[:, 1:5, 1:6], -1, 1))
    assert cf.compute_output_shape((None, 2, 7, 8)) == (None, 2, 4, 5)
    assert "seed" not in layer.get_config()


def test_random_crop_one_window_per_batch_covering_all_positions():
    x = _img(3, 6, 7, 2)
    layer = L.RandomCrop(3, 4, seed=0)
    seen = set()
    for _ in range(200):
        y = layer(x, training=True).numpy()
        top, left = divmod(int(y[0, 0, 0, 0]) // 2, 7)  # pixel value = 2 (7 row + col) + channel
        np.testing.assert_array_equal(y, x[:, top:top + 3, left:left + 4])  # the same window for every image
        seen.add((top, left))
    assert seen == {(t, l) for t in range(4) for l in range(4)}
    # inference, or a side not larger than the target: the centred 3:4 window (int(7 * 3 / 4) = 5 rows, top
    # int((6 - 5) / 2) = 0; all 7 columns), resized
    np.testing.assert_allclose(layer(x, training=False).numpy(), L.Resizing(3, 4)(x[:, 0:5]).numpy(), rtol=1e-6)
    y = L.RandomCrop(6, 4, seed=0)(x, training=True).numpy()  # as tall as the input: the centred window
    np.testing.assert_array_equal(y, x[:, :, 1:5])


def test_crops_carry_segmentation_masks_and_labels():
    x = _img(2, 6, 7, 1)
    masks = (x % 3).astype("int32")
    labels = np.eye(2, dtype="float32")
    out = L.RandomCrop(3, 4, seed=1)({"images": x, "labels": labels, "segmentation_masks": masks}, training=True)
    top, left = divmod(int(out["images"].numpy()[0, 0, 0, 0]), 7)
    np.testing.assert_array_equal(out["segmentation_masks"].numpy(), masks[:, top:top + 3, left:left + 4])
    np.testing.assert_array_equal(out["labels"].numpy(), labels)


# ----------------------------------------------------------------------------------------------- erasing
def test_random_erasing_boxes_fill_and_probability():
    x = _uniform((32, 10, 12, 3), lo=10, hi=20)
    layer = L.RandomErasing(factor=(1, 1), scale=(0.1, 0.3), fill_value=7, seed=0)
    y = layer(x, training=True).numpy()
    for xi, yi in zip(x, y):
        erased = np.any(yi != xi, -1)
        rows, cols = np.nonzero(erased.any(1))[0], np.nonzero(erased.any(0))[0]
        box = erased[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert box.all() and erased.sum() == box.size  # one filled rectangle
        assert np.all(yi[erased] == 7)
        # sides sqrt(U(scale)) of the image's (a pixel more where the box starts between pixels)
        assert np.sqrt(0.1) * 10 - 1 <= box.shape[0] <= np.sqrt(0.3) * 10 + 1
        assert np.sqrt(0.1) * 12 - 1 <= box.shape[1] <= np.sqrt(0.3) * 12 + 1
    np.testing.assert_array_equal(L.RandomErasing(factor=0.0, seed=0)(x, training=True).numpy(), x)
    # probability p ~ U(0, 1): about half of the images erased; Gaussian fill clipped to value_range
    y = L.RandomErasing(value_range=(0, 1), seed=1)(_uniform((400, 8, 8, 1), lo=0.4, hi=0.6), training=True).numpy()
    erased = np.any(np.abs(y - 0.5) > 0.1 + 1e-6, axis=(1, 2, 3))
    assert 0.4 < erased.mean() < 0.6 and y.min() >= 0 and y.max() <= 1
    assert np.mean(y == 0) > 0.01 and np.mean(y == 1) > 0.01  # noise * 1 clipped at both ends
    y = L.RandomErasing(factor=(1, 1), fill_value=[1, 2, 3], seed=2)(x, training=True).numpy()
    changed = y != x
    assert np.all(y[changed[..., 0], 0] == 1) and np.all(y[changed[..., 2], 2] == 3)


# ----------------------------------------------------------------------------------------------- warps
def test_random_shear_exact_integer_shears():
    x = _img(16, 5, 6, 1)
    rr, cc = np.meshgrid(np.arange(5), np.arange(6), indexing="ij")

    def read(img, r, c):  # constant fill -1 outside
        inside = (r >= 0) & (r < 5) & (c >= 0) & (c < 6)
        return np.where(inside[..., None], img[np.clip(r, 0, 4), np.clip(c, 0, 5)], -1)

    y = L.RandomShear(x_factor=(1, 1), fill_mode="constant", fill_value=-1, seed=0)(x, training=True).numpy()
    signs = set()
    for xi, yi in zip(x, y):  # out(r, c) = in(r, c + s r), s = +-1, about the top-left corner (Keras)
        ok = [s for s in (1, -1) if np.allclose(yi, read(xi, rr, cc + s * rr))]
        assert len(ok) == 1
        signs.add(ok[0])
    assert signs == {1, -1}
    y = L.RandomShear(y_factor=(1, 1), fill_mode="constant", fill_value=-1, seed=0)(x, training=True).numpy()
    assert all(any(np.allclose(yi, read(xi, rr + s * cc, cc)) for s in (1, -1)) for xi, yi in zip(x, y))
    np.testing.assert_array_equal(L.RandomShear(seed=0)(x, training=True).numpy(), x)  # zero factors


def test_random_shear_fill_modes_and_masks_follow_with_nearest():
    x = _uniform((4, 6, 7, 2))
    masks = np.random.default_rng(1).integers(0, 3, (4, 6, 7, 1)).astype("float32")
    for mode in ("reflect", "wrap", "nearest", "mirror"):
        out = L.RandomShear(0.5, 0.5, fill_mode=mode, seed=3)({"images": x, "segmentation_masks": masks},
                                                             training=True)
        y = out["images"].numpy()
        assert y.min() >= x.min() - 1e-3 and y.max() <= x.max() + 1e-3  # only input pixels are read
        assert set(np.unique(out["segmentation_masks"].numpy())) <= {0.0, 1.0, 2.0}
    a = L.RandomShear(0.5, 0.5, seed=3)(x, training=True).numpy()
    b = L.RandomShear(0.5, 0.5, seed=3, data_format="channels_first")(np.moveaxis(x, -1, 1), training=True).numpy()
    np.testing.assert_allclose(np.moveaxis(b, 1, -1), a, rtol=1e-6)


def test_homography_maps_the_moved_corners_back():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 10, (3, 4, 2))
    dst = src + rng.uniform(-1, 1, (3, 4, 2))
    a = _homography(src, dst)
    x, y = dst[..., 0], dst[..., 1]
    den = a[:, 6:7] * x + a[:, 7:8] * y + 1
    np.testing.assert_allclose((a[:, 0:1] * x + a[:, 1:2] * y + a[:, 2:3]) / den, src[..., 0], atol=1e-9)
    np.testing.assert_allclose((a[:, 3:4] * x + a[:, 4:5] * y + a[:, 5:6]) / den, src[..., 1], atol=1e-9)


def test_random_perspective_is_projective_and_keeps_the_origin():
    x = _coords_image(8, 12, 14)
    layer = L.RandomPerspective(factor=(1, 1), scale=0.8, fill_value=-1e6, seed=0, dtype="float64")
    y = layer(x, training=True).numpy()
    assert not np.allclose(y, x)
    np.testing.assert_allclose(y[:, 0, 0], 0, atol=1e-9)  # the top-left corner does not move
    for img in y:  # a projective map sends each output row to a line of source points
        for row in img:
            pts = row[(row > -0.5).all(-1)]  # read inside the image: bilinear reproduces the coordinates
            if len(pts) > 2:
                assert np.linalg.svd(pts - pts.mean(0), compute_uv=False)[-1] < 1e-6
    for kw in ({"scale": 0.0}, {"factor": 0.0}):
        np.testing.assert_array_equal(L.RandomPerspective(seed=0, **kw)(x, training=True).numpy(), x)
    # probability U(0, 1) per image: about half of them change
    y = L.RandomPerspective(seed=1)(_uniform((200, 6, 6, 1)), training=True).numpy()
    changed = np.any(y != _uniform((200, 6, 6, 1)), axis=(1, 2, 3))
    assert 0.4 < changed.mean() < 0.6


def test_random_elastic_transform_smooth_bounded_displacement():
    x = _coords_image(4, 32, 32)
    layer = L.RandomElasticTransform(factor=(1, 1), scale=(1, 1), fill_mode="nearest", value_range=(-1e3, 1e3),
                                     seed=0, dtype="float64")
    d = layer(x, training=True).numpy() - x  # the displacement (alpha dy, alpha dx), clamped at the borders
    inner = d[:, 4:-4, 4:-4]  # beyond the blur's radius (4 px) from the zero-padded edges
    # white noise of std sigma blurred by the normalised Gaussian g (sigma = 0.05 * 32 = 1.6 px, 9 taps), times
    # alpha = 0.1 * 32: std alpha sigma sum(g^2) (sum_ij (g_i g_j)^2 = (sum g^2)^2), neighbours correlated
    sigma, alpha, t = 1.6, 3.2, np.arange(9) - 4
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    assert abs(inner.std() / (alpha * sigma * np.sum(g ** 2)) - 1) < 0.15
    assert np.corrcoef(inner[:, :-1].ravel(), inner[:, 1:].ravel())[0, 1] > 0.8
    # constant images stay constant under any displacement ('reflect' reads image pixels only)
    c = np.full((2, 9, 9, 1), 5.0, "float32")
    np.testing.assert_allclose(L.RandomElasticTransform(seed=1)(c, training=True).numpy(), c, rtol=1e-6)
    for kw in ({"scale": 0.0}, {"factor": 0.0}):
        np.testing.assert_array_equal(L.RandomElasticTransform(seed=0, **kw)(c, training=True).numpy(), c)
    y = L.RandomElasticTransform(factor=(1, 1), value_range=(60, 200), seed=2)(_uniform((2, 8, 8, 1)),
                                                                               training=True).numpy()
    assert y.min() == 60 and y.max() == 200  # clipped to value_range


# ----------------------------------------------------------------------------------------------- mixing
def test_mixup_images_and_labels_share_lambda():
    n = 8
    x = np.arange(n, dtype="float32")[:, None, None, None] * np.ones((n, 3, 4, 2), "float32")
    labels = np.eye(n, dtype="float32")
    out = L.MixUp(alpha=0.4, seed=0)({"images": x, "labels": labels}, training=True)
    y, lab = out["images"].numpy(), out["labels"].numpy()
    np.testing.assert_allclose(lab.sum(1), 1, rtol=1e-6)
    np.testing.assert_allclose(y[:, 0, 0, 0], lab @ np.arange(n), rtol=1e-5)  # the same lambda_i
    assert np.all(y == y[:, :1, :1, :1])
    assert (np.count_nonzero(lab > 1e-7, axis=1) <= 2).all()
    # lambda ~ Beta(alpha, alpha): mean 1/2, variance 1 / (4 (2 alpha + 1))
    layer, lams = L.MixUp(alpha=0.4, seed=1), []
    for _ in range(100):
        lab = layer({"images": x, "labels": labels}, training=True)["labels"].numpy()
        lams.append(lab[np.arange(n), np.arange(n)])
    lams = np.concatenate(lams)
    own = lams[lams < 1]  # a sample paired with itself keeps weight 1 whatever lambda is
    assert abs(own.mean() - 0.5) < 0.05 and abs(own.var() - 1 / (4 * 1.8)) < 0.03
    assert L.MixUp(seed=0)({"images": x, "labels": np.arange(n)}, training=True)["labels"].dtype.kind == "f"
    np.testing.assert_array_equal(L.MixUp(seed=0)(x[0], training=True).numpy(), x[0])  # one image: itself


def test_cutmix_pastes_a_box_and_label_weights_equal_its_area():
    n, h, w = 16, 9, 11
    x = np.arange(n, dtype="float32")[:, None, None, None] * np.ones((n, h, w, 2), "float32")
    labels = np.eye(n, dtype="float32")
    out = L.CutMix(seed=0)({"images": x, "labels": labels}, training=True)
    y, lab = out["images"].numpy()[..., 0], out["labels"].numpy()
    sources = set()
    for i in range(n):
        pasted = y[i] != i
        own_weight = 1.0 - pasted.mean()
        if pasted.any():
            rows, cols = np.nonzero(pasted.any(1))[0], np.nonzero(pasted.any(0))[0]
            assert pasted[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()  # a rectangle
            (src,) = np.unique(y[i][pasted]).astype(int)
            sources.add(src)
            np.testing.assert_allclose(lab[i, src], 1 - own_weight, rtol=1e-6)
        np.testing.assert_allclose(lab[i, i], own_weight, rtol=1e-6)  # 1 when pasted from itself
        np.testing.assert_allclose(lab[i].sum(), 1, rtol=1e-6)
    assert len(sources) > n // 2  # a permutation of the batch
    np.testing.assert_array_equal(L.CutMix(seed=0)(x[0], training=True).numpy(), x[0])
    np.testing.assert_array_equal(L.CutMix(seed=0)(x, training=False).numpy(), x)


# ----------------------------------------------------------------------------------------------- containers
def test_pipeline_applies_in_order_and_round_trips(tmp_path):
    x = _img(2, 6, 6, 1)
    pipe = L.Pipeline([L.Rescaling(2.0), L.CenterCrop(4, 4), L.RandomFlip("horizontal", seed=0)])
    assert [type(v).__name__ for v in pipe.layers] == ["Rescaling", "CenterCrop", "RandomFlip"]
    np.testing.assert_array_equal(pipe(x, training=False).numpy(), 2 * x[:, 1:5, 1:5])  # the flip is inactive
    flipped = pipe(x, training=True).numpy()
    assert all(np.array_equal(f, 2 * v[1:5, 1:5]) or np.array_equal(f, 2 * v[1:5, 4:0:-1]) for f, v in zip(flipped, x))
    clone = L.Pipeline.from_config(pipe.get_config())
    assert [v.get_config() for v in clone.layers][1:] == [v.get_config() for v in pipe.layers][1:]
    model = nerve.Sequential([L.Input((6, 6, 1)), pipe, L.Flatten(), L.Dense(2)])
    assert model.output_shape == (None, 2)
    model.save(str(tmp_path / "p.keras"))
    loaded = nerve.models.load_model(str(tmp_path / "p.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(TypeError, match="list of layers"):
        L.Pipeline([L.Dense(2), "relu"])


def test_max_num_bounding_boxes_pads_and_truncates():
    boxes = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    data = {"images": _img(2), "bounding_boxes": {"boxes": boxes, "labels": np.array([[1, 2, 3], [4, 5, 6]])}}
    out = L.MaxNumBoundingBoxes(5, fill_value=-2)(data)
    np.testing.assert_array_equal(out["bounding_boxes"]["boxes"].numpy()[:, :3], boxes)
    assert np.all(out["bounding_boxes"]["boxes"].numpy()[:, 3:] == -2)
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"].numpy(), [[1, 2, 3, -2, -2], [4, 5, 6, -2, -2]])
    np.testing.assert_array_equal(out["images"].numpy(), _img(2))
    out = L.MaxNumBoundingBoxes(2)({"images": _img(1)[0], "bounding_boxes": {"boxes": boxes[0], "labels": [7, 8, 9]}})
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"].numpy(), [7, 8])
    cfg = L.MaxNumBoundingBoxes(4, fill_value=0, bounding_box_format="xyxy").get_config()
    assert L.MaxNumBoundingBoxes.from_config(cfg).get_config() == cfg


class _Recorder(L.Layer):
    """A stand-in sub-augmentation: records its constructor arguments and each call."""
    calls = []

    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def call(self, inputs, training=None):
        _Recorder.calls.append((type(self).__name__, training))
        return inputs + 1.0


def test_rand_augment_draws_num_ops_sub_layers(monkeypatch):
    stubs = {name: type(name, (_Recorder,), {}) for name in L.RandAugment.OPS}
    for name, cls in stubs.items():
        monkeypatch.setattr(L, name, cls, raising=False)
    _Recorder.calls.clear()
    layer = L.RandAugment(value_range=(0, 1), num_ops=3, factor=0.4, seed=5)
    kw = {type(op).__name__: op.kwargs for op in layer._ops}
    assert kw["RandomShear"] == {"x_factor": (0.0, 0.4), "y_factor": (0.0, 0.4), "interpolation": "bilinear",
                                 "seed": 5}
    assert kw["RandomPosterization"]["factor"] == 3 and kw["AutoContrast"] == {"value_range": (0.0, 1.0)}
    x = np.zeros((2, 4, 4, 3), "float32")
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)  # inference: nothing drawn
    assert _Recorder.calls == []
    y = layer(x, training=True).numpy()
    np.testing.assert_array_equal(y, x + 3)
    assert len(_Recorder.calls) == 3 and all(t is True for _, t in _Recorder.calls)
    drawn = []
    for _ in range(40):
        _Recorder.calls.clear()
        layer(x, training=True)
        drawn += [name for name, _ in _Recorder.calls]
    assert set(drawn) == set(L.RandAugment.OPS)  # uniform over the 11 operations
    again = L.RandAugment(value_range=(0, 1), num_ops=3, factor=0.4, seed=5)
    _Recorder.calls.clear()
    again(x, training=True)
    first = list(_Recorder.calls)
    _Recorder.calls.clear()
    L.RandAugment(value_range=(0, 1), num_ops=3, factor=0.4, seed=5)(x, training=True)
    assert _Recorder.calls == first
    cfg = layer.get_config()
    assert L.RandAugment.from_config(cfg).get_config() == cfg


def test_rand_augment_names_the_missing_sub_augmentations(monkeypatch):
    monkeypatch.delattr(L, "RandomContrast")
    if hasattr(L, "Equalization"):
        monkeypatch.delattr(L, "Equalization")
    with pytest.raises(NotImplementedError, match=r"RandomContrast.*Equalization"):
        L.RandAugment()


def test_rand_augment_with_nerve_layers(tmp_path):
    if not all(hasattr(L, name) for name in L.RandAugment.OPS):
        pytest.skip("nerve's color augmentation layers are not all there yet")
    x = _uniform((3, 8, 8, 3))
    layer = L.RandAugment(num_ops=2, seed=0)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    ys = [layer(x, training=True).numpy() for _ in range(4)]
    assert all(y.shape == x.shape and y.min() >= -1e-3 and y.max() <= 255 + 1e-3 for y in ys)
    assert any(not np.allclose(y, x) for y in ys)
    layer_test(L.RandAugment, {"num_ops": 3, "factor": 0.3}, input_shape=(2, 8, 8, 3), input_range=(0, 255),
               parts=("core", "save"), run_gradcheck=False, tmp_path=tmp_path)


# ----------------------------------------------------------------------------------------------- models
def _augmenting_model():
    return [L.RandomCrop(8, 8), L.RandomShear(0.2), L.RandomPerspective(scale=0.3),
            L.RandomElasticTransform(value_range=(-10, 10)), L.RandomErasing(value_range=(-10, 10)),
            L.RandomErasing(fill_value=1.0, value_range=(-10, 10)), L.MixUp(),
            L.CutMix(), L.Conv2D(4, 3, activation="relu"), L.AdaptiveMaxPooling2D(3), L.Flatten(), L.Dense(3)]


def test_model_with_augmentation_fits_saves_and_loads(tmp_path):
    r = np.random.default_rng(0)
    x, y = r.standard_normal((16, 10, 10, 2)).astype("float32"), r.integers(0, 3, 16)
    nerve.set_random_seed(0)
    model = nerve.Sequential([L.Input((10, 10, 2))] + _augmenting_model())
    model.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    h = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(h.history["loss"]))
    p = model.predict(x, verbose=0)
    np.testing.assert_array_equal(p, model.predict(x, verbose=0))  # inference: the augmentations are inactive
    model.save(str(tmp_path / "aug.keras"))
    loaded = nerve.models.load_model(str(tmp_path / "aug.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), p, rtol=1e-6, atol=1e-6)
    assert [type(v).__name__ for v in loaded.layers] == [type(v).__name__ for v in model.layers]


def test_augmentations_on_the_device_compute_what_the_cpu_does():
    """nerve.device("gpu") on the strict CuPy stand-in (the real CuPy on a GPU machine): host draws moved with
    backend.like, so a fit with the same seed gives the CPU's losses; MixUp's and CutMix's dict paths too."""
    from nerve.autograd.ops import jit
    r = np.random.default_rng(4)
    x, y = r.standard_normal((16, 10, 10, 2)).astype("float32"), r.integers(0, 3, 16)
    res = []
    with fakecupy.gpu_module() as cp:
        old = jit.set_enabled(False)
        try:
            for where in ("cpu", "gpu"):
                nerve.set_random_seed(1)
                with nerve.device(where):
                    m = nerve.Sequential([L.Input((10, 10, 2))] + _augmenting_model())
                    m.compile(optimizer="adam", loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
                h = m.fit(x, y, batch_size=8, epochs=2, verbose=0)
                on = (lambda a: a) if where == "cpu" else cp.asarray
                data = {"images": on(x), "labels": on(np.eye(16, dtype="float32")[:, :3])}
                res.append([h.history["loss"], m.predict(x[:4], verbose=0)])
                for mix in (L.MixUp(seed=2), L.CutMix(seed=2)):
                    out = mix(data, training=True)
                    res[-1] += [out["images"].numpy(), out["labels"].numpy()]
        finally:
            jit.set_enabled(old)
    for a, b in zip(*res):
        if fakecupy.real_cupy() is None:
            np.testing.assert_array_equal(np.asarray(b, dtype=float), np.asarray(a, dtype=float))
        else:
            np.testing.assert_allclose(np.asarray(b, dtype=float), np.asarray(a, dtype=float), rtol=2e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("make, err, msg", [
    (lambda: L.CenterCrop(0, 3), ValueError, "height"),
    (lambda: L.RandomCrop(3, 2.5), ValueError, "width"),
    (lambda: L.RandomErasing(factor=1.5), ValueError, "factor"),
    (lambda: L.RandomErasing(fill_value=[1, 2]), ValueError, "fill_value"),
    (lambda: L.RandomErasing(value_range=(1, 0)), ValueError, "value_range"),
    (lambda: L.RandomShear(x_factor=(0.1, 0.2, 0.3)), ValueError, "x_factor"),
    (lambda: L.RandomShear(fill_mode="edge"), ValueError, "fill_mode"),
    (lambda: L.RandomPerspective(scale=2), ValueError, "scale"),
    (lambda: L.RandomPerspective(interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: L.RandomElasticTransform(scale=-0.1), ValueError, "scale"),
    (lambda: L.MixUp(alpha=0), ValueError, "alpha"),
    (lambda: L.CutMix(factor="big"), ValueError, "factor"),
    (lambda: L.CutMix(data_format="NCHW"), ValueError, "data_format"),
    (lambda: L.RandomCrop(2, 2, seed=-1), ValueError, "seed"),
    (lambda: L.MaxNumBoundingBoxes(0), ValueError, "max_number"),
])
def test_argument_errors(make, err, msg):
    with pytest.raises(err, match=msg):
        make()


def test_input_errors():
    with pytest.raises(ValueError, match="rank 3"):
        L.RandomShear(0.2)(np.zeros((2, 4), "float32"), training=True)
    with pytest.raises(ValueError, match="bounding boxes"):
        L.RandomShear(0.2)({"images": np.zeros((1, 4, 4, 1), "float32"),
                            "bounding_boxes": {"boxes": np.zeros((1, 1, 4)), "labels": np.zeros((1, 1))}})
    with pytest.raises(ValueError, match="keys"):
        L.MixUp()({"image": np.zeros((1, 4, 4, 1), "float32")})
