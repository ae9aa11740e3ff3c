"""keras.ops.image: resize against torch's bilinear / nearest, crops and pads against slicing, grayscale
weights, float64 gradchecks, clear errors."""
import numpy as np
import pytest
import torch

import nerve
from nerve import ops

R = np.random.default_rng(3)


def test_resize_matches_torch():
    x = R.random((2, 5, 7, 3))
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    for size in ((3, 4), (9, 11)):
        ours = ops.image.resize(x, size).numpy()
        ref = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=False)
        np.testing.assert_allclose(ours, ref.permute(0, 2, 3, 1).numpy(), atol=1e-6)
    near = ops.image.resize(x, (10, 14), interpolation="nearest").numpy()
    np.testing.assert_array_equal(near, np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))


def test_crop_pad_grayscale_values():
    x = R.random((4, 6, 3))
    np.testing.assert_array_equal(ops.image.crop_images(x, 1, 2, target_height=2, target_width=3).numpy(),
                                  x[1:3, 2:5])
    np.testing.assert_array_equal(ops.image.crop_images(x, 1, 0, bottom_cropping=1, right_cropping=2).numpy(),
                                  x[1:3, 0:4])
    padded = ops.image.pad_images(x[None], 1, 2, target_height=7, target_width=9).numpy()
    assert padded.shape == (1, 7, 9, 3) and np.array_equal(padded[0, 1:5, 2:8], x) and padded.sum() == pytest.approx(x.sum())
    gray = ops.image.rgb_to_grayscale(x).numpy()
    np.testing.assert_allclose(gray[..., 0], x @ np.array([0.2989, 0.5870, 0.1140]))


@pytest.mark.parametrize("fn", [
    lambda x: ops.image.resize(x, (3, 5)),
    lambda x: ops.image.resize(x, (8, 3), interpolation="nearest"),
    lambda x: ops.image.crop_images(x, 1, 1, target_height=2, target_width=2),
    lambda x: ops.image.pad_images(x, 1, 0, 2, 1),
    ops.image.rgb_to_grayscale,
], ids=["resize", "resize_nearest", "crop", "pad", "grayscale"])
def test_gradcheck(fn):
    assert nerve.gradcheck(fn, [R.random((2, 4, 4, 3))]).ok


def test_errors_name_the_function():
    with pytest.raises(ValueError, match=r"crop_images: a crop of 5x2 at \(0, 0\) does not fit images of 4x6"):
        ops.image.crop_images(np.ones((4, 6, 3)), target_height=5, target_width=2)
    with pytest.raises(ValueError, match=r"resize: argument 'images' expected rank 3"):
        ops.image.resize(np.ones((4, 6)), (2, 2))
    with pytest.raises(ValueError, match=r"rgb_to_grayscale: argument 'data_format' expected 'channels_last'"):
        ops.image.rgb_to_grayscale(np.ones((2, 2, 3)), data_format="channels_first")
