"""nerve.utils.bounding_boxes (Keras 3.15's keras.utils.bounding_boxes): conversions, clipping, cropping, padding,
affine maps, IoU / CIoU, anchor deltas, gradients, errors and the device path.

The golden values below were computed with Keras 3.15 (torch backend) on the same inputs while this module was
written; nerve matched them to float32 rounding. Keras is not imported here."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import nerve
from nerve import ops
from nerve.utils import bounding_boxes as bb

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fakecupy  # noqa: E402

FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh"]
RNG = np.random.default_rng(7)
P = np.array([[1, 2, 11, 14], [3, 3, 9, 9]], "float32")   # xyxy
Q = np.array([[2, 1, 12, 13], [0, 4, 10, 8]], "float32")


def np_(x):
    return ops.convert_to_numpy(x)


def random_xyxy(*shape, seed=0):
    r = np.random.default_rng(seed)
    lo = r.uniform(0, 50, shape + (2,))
    return np.concatenate([lo, lo + r.uniform(1, 40, shape + (2,))], axis=-1)


def brute_iou(a, b):
    """IoU of every pair of xyxy boxes, one pair at a time."""
    out = np.zeros((len(a), len(b)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(a):
        for j, (bx1, by1, bx2, by2) in enumerate(b):
            inter = max(0, min(ax2, bx2) - max(ax1, bx1)) * max(0, min(ay2, by2) - max(ay1, by1))
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            out[i, j] = inter / (union + 1e-7)
    return out


# ----------------------------------------------------------------------------- module and names
def test_public_names_match_keras_and_module_is_lazy():
    assert sorted(bb.__all__) == ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou",
                                  "convert_format", "crop", "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]
    assert nerve.utils.bounding_boxes is bb and "bounding_boxes" in dir(nerve.utils)
    code = "import sys, nerve; print('nerve.utils.bounding_boxes' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(nerve.__file__)))
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- conversions
@pytest.mark.parametrize("source,target", list(itertools.product(FORMATS, FORMATS)))
def test_round_trip_between_every_pair(source, target):
    xyxy = random_xyxy(2, 5)                                   # batched (2, 5, 4)
    src = bb.convert_format(xyxy, "xyxy", source, height=90, width=120, dtype="float64")
    tgt = bb.convert_format(src, source, target, height=90, width=120, dtype="float64")
    back = bb.convert_format(tgt, target, "xyxy", height=90, width=120, dtype="float64")
    np.testing.assert_allclose(np_(back), xyxy, rtol=1e-12, atol=1e-12)
    assert tgt.shape == (2, 5, 4) and tgt.dtype == np.float64


def test_conversion_golden_values():
    box = np.array([[10, 20, 30, 40], [50, 60, 70, 80]])   # Keras's docstring example
    golden = {"yxyx": [[20, 10, 40, 30], [60, 50, 80, 70]], "xywh": [[10, 20, 20, 20], [50, 60, 20, 20]],
              "center_xywh": [[20, 30, 20, 20], [60, 70, 20, 20]],
              "center_yxhw": [[30, 20, 20, 20], [70, 60, 20, 20]],
              "rel_xyxy": [[0.033333335, 0.1, 0.1, 0.2], [0.16666667, 0.3, 0.23333333, 0.4]],
              "rel_yxyx": [[0.1, 0.033333335, 0.2, 0.1], [0.3, 0.16666667, 0.4, 0.23333333]],
              "rel_xywh": [[0.033333335, 0.1, 0.06666667, 0.1], [0.16666667, 0.3, 0.06666667, 0.1]],
              "rel_center_xywh": [[0.06666667, 0.15, 0.06666667, 0.1], [0.2, 0.35, 0.06666667, 0.1]]}
    for target, want in golden.items():
        got = bb.convert_format(box, "xyxy", target.upper(), height=200, width=300)  # names are case-insensitive
        assert got.dtype == np.float32
        np.testing.assert_allclose(np_(got), want, rtol=1e-6, err_msg=target)


def test_convert_format_dict_and_sizes_as_tensors():
    d = {"boxes": np.array([[10, 20, 50, 60]]), "labels": np.array([3])}
    out = bb.convert_format(d, "xyxy", "center_xywh", dtype="float64")
    assert out is d and d["labels"].tolist() == [3]             # Keras replaces "boxes" in place
    np.testing.assert_array_equal(np_(d["boxes"]), [[30, 40, 40, 40]])
    rel = bb.convert_format(np.array([[0.5, 0.5, 1.0, 1.0]]), "rel_xyxy", "xyxy",
                            height=nerve.tensor(np.float32(10)), width=np.array(20))
    np.testing.assert_array_equal(np_(rel), [[10, 5, 20, 10]])
    same = bb.convert_format([[1, 2, 3, 4]], "xywh", "xywh", dtype="int32")
    assert same.dtype == np.int32                               # cast even when nothing converts


# ----------------------------------------------------------------------------- clip / crop / pad / affine
def test_clip_to_image_size():
    d = {"boxes": np.array([[-10, -20, 150, 160], [50, 40, 70, 80], [130, 10, 140, 20]]),
         "labels": np.array([0, 1, 2]), "extra": "kept"}
    out = bb.clip_to_image_size(d, height=100, width=120)       # golden: Keras 3.15
    np.testing.assert_array_equal(np_(out["boxes"]), [[0, 0, 120, 100], [50, 40, 70, 80], [120, 10, 120, 20]])
    np.testing.assert_array_equal(np_(out["labels"]), [0, 1, -1])
    assert out["extra"] == "kept" and out is not d and d["labels"].tolist() == [0, 1, 2]
    rel = bb.clip_to_image_size({"boxes": np.array([[-.1, .2, .5, 1.3], [1.2, .1, 1.5, .4]], "float32"),
                                 "labels": np.array([3, 4])}, bounding_box_format="rel_xyxy")
    np.testing.assert_allclose(np_(rel["boxes"]), [[0, .2, .5, 1], [1, .1, 1, .4]], rtol=1e-6)
    np.testing.assert_array_equal(np_(rel["labels"]), [3, -1])
    batched = bb.clip_to_image_size({"boxes": random_xyxy(2, 3) * 3}, height=64, width=64)
    assert batched["boxes"].shape == (2, 3, 4) and float(ops.max(batched["boxes"])) <= 64


def test_crop_and_pad():
    boxes = np.array([[10, 20, 50, 60], [70, 80, 100, 120]])
    cropped = bb.crop(boxes, top=10, left=20, height=40, width=30)   # golden: Keras 3.15
    np.testing.assert_array_equal(np_(cropped), [[0, 10, 30, 40], [30, 40, 30, 40]])
    assert cropped.dtype == boxes.dtype
    np.testing.assert_array_equal(np_(bb.crop(boxes, 10, 20, None, None)), [[0, 10, 30, 50], [50, 70, 80, 110]])
    np.testing.assert_array_equal(np_(bb.pad(boxes, 3, 4)), [[14, 23, 54, 63], [74, 83, 104, 123]])
    batched = random_xyxy(2, 4)
    np.testing.assert_allclose(np_(bb.crop(bb.pad(batched, 7.0, 5.0), 7.0, 5.0, 200, 200)), batched, rtol=1e-12)


def test_affine_transform_golden_and_identity():
    params = [np.array(v, "float32") for v in ([10., -20.], [.1, 0.], [0., -.05], [1.2, .9], [5., 0.], [0., 8.])]
    out = bb.affine_transform(np.stack([P, Q]), *params, 100, 200)     # golden: Keras 3.15
    want = [[[-9.629042, 7.660673, 6.1121893, 23.925684], [-6.9172726, 9.259198, 2.1533423, 17.600082]],
            [[29.801033, -34.9926, 41.952084, -21.096283], [29.648676, -33.438564, 39.33718, -25.961948]]]
    np.testing.assert_allclose(np_(out), want, rtol=1e-5, atol=1e-4)
    same = bb.affine_transform(P, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 100, 200)   # scalars, unbatched boxes
    np.testing.assert_allclose(np_(same), P, atol=1e-5)
    moved = bb.affine_transform(P, 0.0, 0.5, 0.0, 1.0, 0.0, 0.0, 101, 201)  # translate right by half the width
    np.testing.assert_allclose(np_(moved), P + [100, 0, 100, 0], atol=1e-4)
    turned = bb.affine_transform(np.array([[0., 0., 2., 1.]]), 90.0, 0.0, 0.0, 1.0, 0.0, 0.0, 3, 3,
                                 center_x=0.0, center_y=0.0)  # a quarter turn about the origin: w, h swap
    x1, y1, x2, y2 = np_(turned)[0]
    assert (x2 - x1, y2 - y1) == pytest.approx((1.0, 2.0), abs=1e-5)


# ----------------------------------------------------------------------------- IoU / CIoU
@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy"])
def test_iou_against_brute_force(fmt):
    a, b = random_xyxy(3, 6, seed=1), random_xyxy(3, 4, seed=2)
    b[0, 1] = a[0, 2]                                             # one exact overlap
    conv = lambda x: np_(bb.convert_format(x, "xyxy", fmt, height=100, width=80, dtype="float64"))  # noqa: E731
    iou = bb.compute_iou(conv(a), conv(b), fmt, image_shape=(100, 80, 3))
    want = np.stack([brute_iou(a[i], b[i]) for i in range(3)])
    np.testing.assert_allclose(np_(iou), want, rtol=1e-10, atol=1e-12)
    assert iou.dtype == np.float64 and np_(iou)[0, 2, 1] == pytest.approx(1.0)
    # mixed ranks broadcast over the batch
    np.testing.assert_allclose(np_(bb.compute_iou(conv(a[0]), conv(b), fmt, image_shape=(100, 80, 3))),
                               np.stack([brute_iou(a[0], b[i]) for i in range(3)]), rtol=1e-10)
    np.testing.assert_allclose(np_(bb.compute_iou(conv(a), conv(b[1]), fmt, image_shape=(100, 80, 3))),
                               np.stack([brute_iou(a[i], b[1]) for i in range(3)]), rtol=1e-10)


def test_iou_golden_masking_and_float32():
    iou = bb.compute_iou(P, Q, "xyxy")                            # golden: Keras 3.15
    assert iou.dtype == np.float32
    np.testing.assert_allclose(np_(iou), [[0.70212764, 0.29032257], [0.3, 0.46153846]], rtol=1e-6)
    a = np.array([[0, 0, 10, 10], [-1, -1, -1, -1]], "float32")  # the second box is padding
    b = np.array([[[0, 0, 10, 10], [-2, -2, -2, -2]]], "float32")
    masked = np_(bb.compute_iou(a, b, "xyxy", use_masking=True, mask_val=-5))   # mixed ranks: Keras fails here
    np.testing.assert_allclose(masked, [[[1, -5], [-5, -5]]], atol=1e-6)


def test_iou_against_torchvision():
    tv = pytest.importorskip("torchvision")
    import torch
    a, b = random_xyxy(7, seed=3), random_xyxy(5, seed=4)
    want = tv.ops.box_iou(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(np_(bb.compute_iou(a, b, "xyxy")), want, rtol=1e-6)


def test_ciou():
    np.testing.assert_allclose(np_(bb.compute_ciou(P, Q, "xyxy")), [0.6952311, 0.44688773], rtol=1e-6)  # Keras
    np.testing.assert_allclose(np_(bb.compute_ciou(P, Q, "center_xywh")), [0.7287843, 0.39368734], rtol=1e-6)
    a = random_xyxy(4, seed=5)
    np.testing.assert_allclose(np_(bb.compute_ciou(a, a, "xyxy")), np.ones(4), atol=1e-6)  # identical boxes
    # with equal aspect ratios v = 0 and CIoU = IoU - center distance^2 / enclosing diagonal^2
    b = a + [3, 4, 3, 4]
    want = np.diag(brute_iou(a, b)) - 25 / ((a[:, 2] - a[:, 0] + 3) ** 2 + (a[:, 3] - a[:, 1] + 4) ** 2)
    np.testing.assert_allclose(np_(bb.compute_ciou(a, b, "xyxy")), want, rtol=1e-5)
    rel = bb.compute_ciou(a / 100, b / 100, "rel_xyxy", image_shape=(100, 100, 3))
    np.testing.assert_allclose(np_(rel), want, rtol=1e-5)


# ----------------------------------------------------------------------------- anchor deltas
def test_encode_decode_golden_and_round_trip():
    deltas = bb.encode_box_to_deltas(P, Q, "xyxy", "xyxy", variance=[0.1, 0.1, 0.2, 0.2])   # golden: Keras 3.15
    np.testing.assert_allclose(np_(deltas), [[-0.8333334, 1.0, 0.0, 0.0], [0.0, -1.6666667, -2.0273254, 2.554128]],
                               rtol=1e-5, atol=1e-6)
    anchors = random_xyxy(6, seed=8)
    boxes = random_xyxy(2, 6, seed=9)                # xywh here (positive sizes); batched, the anchors not
    for fmt, var in itertools.product(["center_yxhw", "center_xywh"], [None, [0.1, 0.1, 0.2, 0.2]]):
        d = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xywh", fmt, var)
        back = bb.decode_deltas_to_boxes(anchors, d, "xyxy", "xywh", fmt, var)
        assert d.shape == (2, 6, 4)
        np.testing.assert_allclose(np_(back), boxes, rtol=1e-5, atol=1e-4)
    levels = bb.decode_deltas_to_boxes({"P3": P, "P4": Q}, {"P3": np.zeros((2, 4)), "P4": np.zeros((2, 4))},
                                       "xyxy", "rel_xyxy", image_shape=(20, 30, 3))
    np.testing.assert_allclose(np_(levels["P4"]), Q / [30, 20, 30, 20], rtol=1e-6)   # zero deltas: the anchors


# ----------------------------------------------------------------------------- gradients
def test_gradients_float64():
    boxes, other = random_xyxy(2, 3, seed=10), random_xyxy(2, 4, seed=11)
    for s, t in [("xyxy", "rel_center_xywh"), ("center_yxhw", "xywh"), ("rel_yxyx", "center_xywh")]:
        nerve.gradcheck(lambda x, s=s, t=t: bb.convert_format(x, s, t, 50, 70, dtype="float64"), [boxes])
    nerve.gradcheck(lambda x, y: bb.compute_iou(x, y, "xyxy"), [boxes, other])
    nerve.gradcheck(lambda x, y: bb.compute_ciou(x, y, "xywh"), [boxes, other[:, :3]])
    nerve.gradcheck(lambda a, x: bb.encode_box_to_deltas(a, x, "xyxy", "xyxy"), [boxes[0], boxes + 1])
    nerve.gradcheck(lambda a, d: bb.decode_deltas_to_boxes(a, d, "xyxy", "xyxy"), [boxes[0], other[:, :3] / 50])


# ----------------------------------------------------------------------------- errors
def test_clear_errors():
    with pytest.raises(ValueError, match=r"convert_format: argument 'source' expected one of .*'xyxy'.*got 'xyz'"):
        bb.convert_format(P, "xyz", "xyxy")
    with pytest.raises(ValueError, match=r"convert_format: argument 'target' .* got 'rel_center_yxhw'"):
        bb.convert_format(P, "xyxy", "rel_center_yxhw")
    with pytest.raises(ValueError, match=r"convert_format: argument 'boxes' must have a last dimension of 4, "
                                         r"got shape \(2, 3\)"):
        bb.convert_format(np.zeros((2, 3)), "xyxy", "xywh")
    with pytest.raises(ValueError, match=r"convert_format: arguments 'height' and 'width' are required .*"
                                         r"got height=None, width=10"):
        bb.convert_format(P, "xyxy", "rel_xyxy", width=10)
    with pytest.raises(ValueError, match=r"convert_format: argument 'boxes' is a dict without the key 'boxes'"):
        bb.convert_format({"labels": [1]}, "xyxy", "xywh")
    with pytest.raises(ValueError, match=r"clip_to_image_size: arguments 'height' and 'width' are required"):
        bb.clip_to_image_size({"boxes": P})
    with pytest.raises(ValueError, match=r"clip_to_image_size: argument 'bounding_boxes' must be a dict"):
        bb.clip_to_image_size(P, 10, 10)
    with pytest.raises(NotImplementedError, match=r"clip_to_image_size: .* got 'xywh'"):
        bb.clip_to_image_size({"boxes": P}, 10, 10, bounding_box_format="xywh")
    for fn, args in [(bb.crop, (P, 0, 0, 5, 5)), (bb.pad, (P, 1, 1)),
                     (bb.affine_transform, (P, 0., 0., 0., 1., 0., 0., 9, 9))]:
        with pytest.raises(NotImplementedError, match=rf"{fn.__name__}: argument 'bounding_box_format' supports "
                                                      r"only 'xyxy'.*got 'yxyx'"):
            fn(*args, bounding_box_format="yxyx")
    with pytest.raises(ValueError, match=r"compute_iou: argument 'boxes2' must have rank 2 .* got shape \(4,\)"):
        bb.compute_iou(P, P[0], "xyxy")
    with pytest.raises(ValueError, match=r"compute_iou: argument 'image_shape' is required .* 'rel_xyxy'"):
        bb.compute_iou(P, P, "REL_XYXY")
    with pytest.raises(ValueError, match=r"compute_ciou: argument 'bounding_box_format' expected one of"):
        bb.compute_ciou(P, P, "corners")
    with pytest.raises(ValueError, match=r"encode_box_to_deltas: argument 'encoding_format' expected "
                                         r"'center_xywh' or 'center_yxhw', got 'xyxy'"):
        bb.encode_box_to_deltas(P, Q, "xyxy", "xyxy", encoding_format="xyxy")
    with pytest.raises(ValueError, match=r"decode_deltas_to_boxes: argument 'variance' must have length 4, "
                                         r"got shape \(3,\)"):
        bb.decode_deltas_to_boxes(P, Q, "xyxy", "xyxy", variance=[1, 1, 1])
    with pytest.raises(ValueError, match=r"decode_deltas_to_boxes: argument 'boxes_delta' lacks the levels \['b'\]"):
        bb.decode_deltas_to_boxes({"a": P, "b": P}, {"a": Q}, "xyxy", "xyxy")


# ----------------------------------------------------------------------------- device
def test_same_on_device():
    boxes, other = random_xyxy(2, 3, seed=12), random_xyxy(2, 3, seed=13)

    def fn(x, y):
        rel = bb.convert_format(x, "xyxy", "rel_center_xywh", height=60, width=90)
        iou = bb.compute_iou(x, y, "xyxy", use_masking=True)
        ciou = bb.compute_ciou(x, y, "xyxy")
        deltas = bb.encode_box_to_deltas(x[0], y, "xyxy", "xyxy", variance=[0.1, 0.1, 0.2, 0.2])
        decoded = bb.decode_deltas_to_boxes(x[0], deltas, "xyxy", "center_yxhw", variance=[0.1, 0.1, 0.2, 0.2])
        moved = bb.affine_transform(x, np.array([10., -5.]), 0.1, 0.0, 1.1, 3.0, 0.0, 60, 90)
        clipped = bb.clip_to_image_size({"boxes": bb.pad(bb.crop(x, 5, 5, 40, 40), 2, 2),
                                         "labels": ops.ones((2, 3))}, 30, 30)
        return rel, iou, ciou, decoded, moved, clipped["boxes"], clipped["labels"]

    with fakecupy.gpu_module() as cp:
        fakecupy.check_same_on_device(cp, fn, [boxes, other])
