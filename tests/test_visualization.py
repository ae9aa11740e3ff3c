"""nerve.visualization (keras.visualization): boxes and masks drawn on images, galleries written as PNGs."""
import numpy as np
import pytest

import nerve
from nerve import visualization as V

pytest.importorskip("matplotlib")


def test_draw_bounding_boxes_draws_the_rectangle_edges_only():
    images = np.zeros((2, 20, 30, 3), np.float32)
    boxes = {"boxes": np.array([[[5, 4, 15, 12], [0, 0, 0, 0]], [[2, 2, 8, 8], [10, 10, 20, 18]]], np.float32),
             "labels": np.array([[1, -1], [0, 1]])}
    out = V.draw_bounding_boxes(images, boxes, "xyxy", class_mapping={}, color=(255, 0, 0), line_thickness=1)
    assert out.shape == (2, 20, 30, 3) and out.dtype == np.uint8
    assert (out[0, 4, 5:16] == [255, 0, 0]).all() and (out[0, 4:13, 15] == [255, 0, 0]).all()  # top and right
    assert (out[0, 8, 10] == 0).all()  # inside stays
    assert out[0].sum(axis=-1).astype(bool).sum() == 2 * 11 + 2 * 7  # only the one box (label -1 is padding)
    labelled = V.draw_bounding_boxes(images, boxes, "xyxy", class_mapping={1: "cat"}, color=(255, 0, 0))
    assert labelled[1].sum() > out[1].sum()  # the label text adds pixels
    rel = V.draw_bounding_boxes(images, {"boxes": boxes["boxes"] / [30, 20, 30, 20], "labels": boxes["labels"]},
                                "rel_xyxy", class_mapping={}, color=(255, 0, 0), line_thickness=1)
    np.testing.assert_array_equal(rel, out)
    with pytest.raises(ValueError, match="expected a dict with 'boxes' and 'labels'"):
        V.draw_bounding_boxes(images, boxes["boxes"], "xyxy")


def test_draw_segmentation_masks_paints_every_class():
    images = np.full((1, 4, 4, 3), 100, np.uint8)
    masks = np.array([[[0, 1], [2, -1]]]).repeat(2, axis=1).repeat(2, axis=2)[..., None]
    out = V.draw_segmentation_masks(images, masks, alpha=0.5)
    colors = V._palette(3)  # num_classes = max + 1: class 2 painted too
    for c in range(3):
        r, col = np.argwhere(masks[0, ..., 0] == c)[0]
        np.testing.assert_array_equal(out[0, r, col], ((100 * 0.5 + np.array(colors[c]) * 0.5)).astype(np.uint8))
    np.testing.assert_array_equal(out[0, 3, 3], [100, 100, 100])  # ignore_index keeps the image
    with pytest.raises(TypeError, match="expected an integer dtype"):
        V.draw_segmentation_masks(images, masks.astype(float))


def test_galleries_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((6, 8, 8, 1)).astype(np.float32)
    fig = V.plot_image_gallery(images, y_true=np.arange(6) % 2, y_pred=np.zeros(6, int),
                               label_map={0: "a", 1: "b"}, value_range=(0, 1), path=str(tmp_path / "g.png"))
    assert (tmp_path / "g.png").stat().st_size > 0 and len(fig.axes) == 6
    boxes = {"boxes": np.array([[[1, 1, 6, 6]]] * 6, np.float32), "labels": np.ones((6, 1), int)}
    V.plot_bounding_box_gallery(np.repeat(images, 3, -1), "xyxy", y_true=boxes, value_range=(0, 1),
                                class_mapping={1: "x"}, legend=True, path=str(tmp_path / "b.png"))
    masks = (rng.random((6, 8, 8, 1)) * 3).astype(int)
    V.plot_segmentation_mask_gallery(np.repeat(images, 3, -1), 3, value_range=(0, 1), y_true=masks, y_pred=masks,
                                     path=str(tmp_path / "s.png"))
    assert (tmp_path / "b.png").exists() and (tmp_path / "s.png").exists()
    with pytest.raises(ValueError, match="need a 'label_map'"):
        V.plot_image_gallery(images, y_true=np.zeros(6))
    assert nerve.visualization is V
