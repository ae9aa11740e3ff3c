"""``nerve.utils.bounding_boxes``: Keras 3's ``keras.utils.bounding_boxes`` (convert_format, clip_to_image_size,
affine_transform, crop, pad, compute_iou, compute_ciou, encode_box_to_deltas, decode_deltas_to_boxes).

Boxes are ``(..., 4)`` tensors or arrays (NumPy or CuPy: the work stays on the input's device), or for
convert_format / clip_to_image_size Keras's dict ``{"boxes": ..., "labels": ...}``. Everything is built from
nerve ops, so gradients flow through the conversions, IoU, CIoU and the delta codecs.

Formats (case-insensitive): xyxy [left, top, right, bottom], yxyx [top, left, bottom, right],
xywh [left, top, width, height], center_xywh [center_x, center_y, width, height],
center_yxhw [center_y, center_x, height, width], and rel_xyxy, rel_yxyx, rel_xywh, rel_center_xywh: the same
divided by the image's width (x values) and height (y values).

Where nerve differs from Keras 3.15 (each a case where Keras fails or loses precision):
- compute_iou / compute_ciou / the delta codecs keep float64 boxes in float64 (Keras casts them to float32);
- compute_iou with use_masking=True accepts boxes1 and boxes2 of different ranks (Keras's transpose fails);
- compute_ciou accepts relative formats when image_shape is given (Keras always refuses them);
- affine_transform also takes scalar parameters and (N, 4) boxes (Keras needs (batch,) parameters and
  (batch, N, 4) boxes); crop takes height/width None as "no limit".
"""
import math

import numpy as np

from .. import backend
from .. import ops
from ..autograd.tensor import Tensor

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")

# (a, b, c, d) = the four columns of the source format, h, w = image height and width -> (x1, y1, x2, y2)
_TO_XYXY = {
    "xyxy": lambda a, b, c, d, h, w: (a, b, c, d),
    "yxyx": lambda a, b, c, d, h, w: (b, a, d, c),
    "xywh": lambda a, b, c, d, h, w: (a, b, a + c, b + d),
    "center_xywh": lambda a, b, c, d, h, w: (a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0),
    "center_yxhw": lambda a, b, c, d, h, w: (b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0),
    "rel_xyxy": lambda a, b, c, d, h, w: (a * w, b * h, c * w, d * h),
    "rel_yxyx": lambda a, b, c, d, h, w: (b * w, a * h, d * w, c * h),
    "rel_xywh": lambda a, b, c, d, h, w: (a * w, b * h, (a + c) * w, (b + d) * h),
    "rel_center_xywh": lambda a, b, c, d, h, w: ((a - c / 2.0) * w, (b - d / 2.0) * h, (a + c / 2.0) * w,
                                                 (b + d / 2.0) * h),
}
# (x1, y1, x2, y2), h, w -> the four columns of the target format (Keras's formulas, operation for operation)
_FROM_XYXY = {
    "xyxy": lambda x1, y1, x2, y2, h, w: (x1, y1, x2, y2),
    "yxyx": lambda x1, y1, x2, y2, h, w: (y1, x1, y2, x2),
    "xywh": lambda x1, y1, x2, y2, h, w: (x1, y1, x2 - x1, y2 - y1),
    "center_xywh": lambda x1, y1, x2, y2, h, w: (x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1),
    "center_yxhw": lambda x1, y1, x2, y2, h, w: (y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1),
    "rel_xyxy": lambda x1, y1, x2, y2, h, w: (x1 / w, y1 / h, x2 / w, y2 / h),
    "rel_yxyx": lambda x1, y1, x2, y2, h, w: (y1 / h, x1 / w, y2 / h, x2 / w),
    "rel_xywh": lambda x1, y1, x2, y2, h, w: (x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h),
    "rel_center_xywh": lambda x1, y1, x2, y2, h, w: ((x1 + (x2 - x1) / 2.0) / w, (y1 + (y2 - y1) / 2.0) / h,
                                                     (x2 - x1) / w, (y2 - y1) / h),
}


# ---------------------------------------------------------------------------- helpers
def _tensor(x):
    return x if isinstance(x, Tensor) else ops.convert_to_tensor(x)


def _on_device(x):
    """Whether x (a Tensor or an array) holds device (CuPy) data."""
    d = backend.unwrap(x)
    return backend.is_array(d) and type(d) is not np.ndarray


def _scalar(v, dtype=None):
    """An image size or offset (in ``dtype`` when given): a Python number, or a Tensor where it is on the
    device, so that no host array mixes into device work."""
    if _on_device(v):
        return ops.cast(v, dtype or backend.unwrap(v).dtype)
    return np.asarray(backend.unwrap(v), dtype).item()


def _like(v, ref, dtype):
    """``v`` (number, list, array, Tensor) as a ``dtype`` Tensor on the device of the Tensor ``ref``."""
    if (isinstance(v, Tensor) or backend.is_array(v)) and (_on_device(v) or not _on_device(ref)):
        return ops.cast(v, dtype)  # Tensors keep their gradient
    return Tensor(backend.like(ref.data, np.asarray(backend.unwrap(v), dtype)))


def _float_dtype(x):
    """float64 for float64 boxes, float32 for everything else (Keras's default)."""
    return "float64" if getattr(x, "dtype", None) == np.float64 else "float32"


def _columns(boxes):
    return ops.split(boxes, 4, axis=-1)


def _check_format(who, fmt, arg="bounding_box_format"):
    if not isinstance(fmt, str) or fmt.lower() not in SUPPORTED_FORMATS:
        raise ValueError(f"{who}: argument '{arg}' expected one of {SUPPORTED_FORMATS}, got {fmt!r}")
    return fmt.lower()


def _xyxy_only(who, fmt):
    if fmt != "xyxy":
        raise NotImplementedError(f"{who}: argument 'bounding_box_format' supports only 'xyxy' (as in Keras), "
                                  f"got {fmt!r}; convert with convert_format() first")


def _image_size(image_shape):
    return (None, None) if image_shape is None else (image_shape[0], image_shape[1])


# ---------------------------------------------------------------------------- conversions
def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Convert ``boxes`` of shape ``(..., 4)`` from format ``source`` to ``target``, cast to ``dtype``.

    ``height`` and ``width`` (the image size) are needed when either format is relative. A dict
    ``{"boxes": ..., "labels": ...}`` gets its "boxes" replaced in place and is returned (as in Keras).
    Example: ``convert_format([[10, 20, 30, 40]], "xyxy", "xywh")`` -> ``[[10., 20., 20., 20.]]``.
    """
    if isinstance(boxes, dict):
        if "boxes" not in boxes:
            raise ValueError(f"convert_format: argument 'boxes' is a dict without the key 'boxes' "
                             f"(keys: {sorted(boxes)})")
        boxes["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return boxes
    boxes = _tensor(boxes)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(f"convert_format: argument 'boxes' must have a last dimension of 4, "
                         f"got shape {tuple(boxes.shape)}")
    source = _check_format("convert_format", source, "source")
    target = _check_format("convert_format", target, "target")
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ValueError(f"convert_format: arguments 'height' and 'width' are required to convert between "
                         f"relative and absolute formats (source={source!r}, target={target!r}), "
                         f"got height={height}, width={width}")
    boxes = ops.cast(boxes, dtype)
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):  # no pixels involved
        source, target = source[4:], target[4:]
    h = None if height is None else _scalar(height, dtype)
    w = None if width is None else _scalar(width, dtype)
    xyxy = _TO_XYXY[source](*_columns(boxes), h, w)
    return ops.concatenate(list(_FROM_XYXY[target](*xyxy, h, w)), axis=-1)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Clip the boxes of the dict ``bounding_boxes`` to the image (``[0, width] x [0, height]``, or
    ``[0, 1]`` for rel_xyxy); labels of boxes left with no area become -1. Returns a new dict."""
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        raise ValueError(f"clip_to_image_size: argument 'bounding_boxes' must be a dict with the keys 'boxes' "
                         f"and 'labels', got {type(bounding_boxes).__name__}")
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size: argument 'bounding_box_format' supports 'xyxy' and "
                                  f"'rel_xyxy' (as in Keras), got {bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError(f"clip_to_image_size: arguments 'height' and 'width' are required for the 'xyxy' "
                         f"format, got height={height}, width={width}")
    boxes = _tensor(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels")
    if bounding_box_format == "xyxy":
        h, w = _scalar(height, boxes.dtype), _scalar(width, boxes.dtype)
    else:
        h = w = 1.0
    x1, y1, x2, y2 = _columns(boxes)
    boxes = ops.concatenate([ops.clip(x1, 0, w), ops.clip(y1, 0, h), ops.clip(x2, 0, w), ops.clip(y2, 0, h)],
                            axis=-1)
    result = dict(bounding_boxes, boxes=boxes)
    if labels is not None:
        x1, y1, x2, y2 = _columns(boxes)
        area = ops.squeeze((x2 - x1) * (y2 - y1), axis=-1)
        if _on_device(boxes) and not _on_device(labels):  # host labels join device boxes
            labels = Tensor(backend.like(boxes.data, np.asarray(backend.unwrap(labels))))
        result["labels"] = ops.where(area > 0, labels, -1)
    return result


# ---------------------------------------------------------------------------- geometry
def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width,
                     center_x=None, center_y=None, bounding_box_format="xyxy"):
    """The boxes that enclose ``boxes`` (xyxy pixels) after the image is rotated by ``angle`` degrees,
    translated by ``translate_x`` / ``translate_y`` (fractions of the size), scaled by ``scale`` and sheared
    by ``shear_x`` / ``shear_y`` degrees around (``center_x``, ``center_y``) (fractions, 0.5 by default),
    as Keras maps the corners (by the inverse of the image's affine matrix).

    Parameters are numbers or ``(batch,)`` arrays for boxes ``(batch, N, 4)``; the result has the boxes'
    shape and the parameters' float dtype."""
    _xyxy_only("affine_transform", bounding_box_format)
    boxes = _tensor(boxes)
    dtype = _float_dtype(angle)
    boxes = ops.cast(boxes, dtype)

    def param(v):
        t = _like(0.5 if v is None else v, boxes, dtype)
        return ops.reshape(t, (-1, 1, 1)) if t.ndim == 1 else t

    angle, tx, ty, scale, sx, sy, cx, cy = map(param, (angle, translate_x, translate_y, scale, shear_x, shear_y,
                                                       center_x, center_y))
    deg = math.pi / 180.0
    rot, sx, sy = -angle * deg, -sx * deg, -sy * deg
    cx, cy = cx * (width - 1), cy * (height - 1)
    tx, ty = -tx * (width - 1), -ty * (height - 1)
    a = ops.cos(rot - sy) / ops.cos(sy)
    b = a * ops.tan(sx) + ops.sin(rot)
    c = -ops.sin(rot - sy) / ops.cos(sy)
    d = ops.cos(rot) - c * ops.tan(sx)
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    x1, y1, x2, y2 = _columns(boxes)
    xs = ops.concatenate([x1, x2, x2, x1], axis=-1)  # the four corners
    ys = ops.concatenate([y1, y1, y2, y2], axis=-1)
    new_x, new_y = a0 * xs + a1 * ys + a2, b0 * xs + b1 * ys + b2
    return ops.concatenate([ops.min(new_x, axis=-1, keepdims=True), ops.min(new_y, axis=-1, keepdims=True),
                            ops.max(new_x, axis=-1, keepdims=True), ops.max(new_y, axis=-1, keepdims=True)],
                           axis=-1)


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes (xyxy) in the frame of the crop whose top-left corner is (``left``, ``top``), clipped to
    ``[0, width] x [0, height]`` (None: no upper limit). The dtype is kept, integers included."""
    _xyxy_only("crop", bounding_box_format)
    boxes = _tensor(boxes)
    top, left = _scalar(top), _scalar(left)

    def clip(v, hi):
        return ops.maximum(v, 0) if hi is None else ops.clip(v, 0, _scalar(hi))

    x1, y1, x2, y2 = _columns(boxes)
    return ops.concatenate([clip(x1 - left, width), clip(y1 - top, height), clip(x2 - left, width),
                            clip(y2 - top, height)], axis=-1)


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes (xyxy) moved by the padding ``top`` and ``left`` added before the image (``height`` and
    ``width`` are accepted for Keras's signature and not used)."""
    _xyxy_only("pad", bounding_box_format)
    boxes = _tensor(boxes)
    top, left = _scalar(top), _scalar(left)
    x1, y1, x2, y2 = _columns(boxes)
    return ops.concatenate([x1 + left, y1 + top, x2 + left, y2 + top], axis=-1)


# ---------------------------------------------------------------------------- IoU
def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1, image_shape=None):
    """Pairwise IoU of ``boxes1`` ``(M, 4)`` or ``(batch, M, 4)`` with ``boxes2`` ``(N, 4)`` or
    ``(batch, N, 4)``: ``(M, N)``, or ``(batch, M, N)`` when either is batched. With ``use_masking``, pairs
    where a box has all four coordinates negative (padding) get ``mask_val``. Relative formats need
    ``image_shape`` (height, width, channels)."""
    boxes1, boxes2 = _tensor(boxes1), _tensor(boxes2)
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        if b.ndim not in (2, 3):
            raise ValueError(f"compute_iou: argument '{name}' must have rank 2 (N, 4) or 3 (batch, N, 4), "
                             f"got shape {tuple(b.shape)}")
    fmt = _check_format("compute_iou", bounding_box_format)
    if fmt.startswith("rel_") and image_shape is None:
        raise ValueError(f"compute_iou: argument 'image_shape' is required for the relative format {fmt!r}")
    height, width = _image_size(image_shape)
    dtype = _float_dtype(boxes1)
    y1a, x1a, y2a, x2a = _columns(convert_format(boxes1, fmt, "yxyx", height, width, dtype))  # (..., M, 1)
    y1b, x1b, y2b, x2b = (ops.swapaxes(v, -1, -2)                                          # (..., 1, N)
                          for v in _columns(convert_format(boxes2, fmt, "yxyx", height, width, dtype)))
    inter_h = ops.maximum(ops.minimum(y2a, y2b) - ops.maximum(y1a, y1b), 0.0)
    inter_w = ops.maximum(ops.minimum(x2a, x2b) - ops.maximum(x1a, x1b), 0.0)
    inter = inter_h * inter_w
    union = (y2a - y1a) * (x2a - x1a) + (y2b - y1b) * (x2b - x1b) - inter
    iou = inter / (union + backend.epsilon())
    if not use_masking:
        return iou
    pad1 = ops.maximum(ops.maximum(y1a, x1a), ops.maximum(y2a, x2a)) < 0
    pad2 = ops.maximum(ops.maximum(y1b, x1b), ops.maximum(y2b, x2b)) < 0
    return ops.where(ops.logical_or(pad1, pad2), ops.full_like(iou, mask_val), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """Complete IoU of the boxes ``boxes1[i]`` and ``boxes2[i]`` (shapes ``(..., 4)`` that broadcast):
    IoU - (center distance^2 / enclosing diagonal^2) - alpha * v, v measuring the aspect-ratio mismatch.
    Returns shape ``(...)``."""
    fmt = _check_format("compute_ciou", bounding_box_format)
    if fmt.startswith("rel_") and image_shape is None:
        raise ValueError(f"compute_ciou: argument 'image_shape' is required for the relative format {fmt!r}")
    height, width = _image_size(image_shape)
    dtype = _float_dtype(boxes1)
    eps = backend.epsilon()
    x1a, y1a, x2a, y2a = _columns(convert_format(boxes1, fmt, "xyxy", height, width, dtype))
    x1b, y1b, x2b, y2b = _columns(convert_format(boxes2, fmt, "xyxy", height, width, dtype))
    wa, ha = x2a - x1a, y2a - y1a + eps
    wb, hb = x2b - x1b, y2b - y1b + eps
    inter = (ops.maximum(ops.minimum(x2a, x2b) - ops.maximum(x1a, x1b), 0.0)
             * ops.maximum(ops.minimum(y2a, y2b) - ops.maximum(y1a, y1b), 0.0))
    union = wa * ha + wb * hb - inter + eps
    iou = ops.squeeze(inter / (union + eps), axis=-1)
    enclose_w = ops.maximum(x2a, x2b) - ops.minimum(x1a, x1b)
    enclose_h = ops.maximum(y2a, y2b) - ops.minimum(y1a, y1b)
    diagonal2 = ops.squeeze(enclose_w ** 2 + enclose_h ** 2 + eps, axis=-1)
    center2 = ops.squeeze(((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2,
                          axis=-1)
    v = ops.squeeze((4 / math.pi ** 2) * (ops.arctan(wb / hb) - ops.arctan(wa / ha)) ** 2, axis=-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (center2 / diagonal2 + v * alpha)


# ---------------------------------------------------------------------------- anchor deltas
def _variance(who, variance, ref):
    if variance is None:
        return None
    v = _like(variance, ref, ref.dtype)
    if v.ndim == 0 or v.shape[-1] != 4:
        raise ValueError(f"{who}: argument 'variance' must have length 4, got shape {tuple(v.shape)}")
    return v


def _center_format(who, arg, fmt):
    if fmt not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"{who}: argument '{arg}' expected 'center_xywh' or 'center_yxhw', got {fmt!r}")


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format, encoding_format="center_yxhw",
                         variance=None, image_shape=None):
    """Deltas of ``boxes`` ``(N, 4)`` or ``(batch, N, 4)`` from ``anchors`` ``(N, 4)``: in ``encoding_format``
    (center_yxhw or center_xywh), ``(center - anchor center) / anchor size`` and ``log(size / anchor size)``,
    divided by ``variance`` (4 numbers) when given. ``image_shape`` serves relative formats."""
    _center_format("encode_box_to_deltas", "encoding_format", encoding_format)
    height, width = _image_size(image_shape)
    dtype = _float_dtype(boxes)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width, dtype)
    boxes = convert_format(boxes, box_format, encoding_format, height, width, dtype)
    variance = _variance("encode_box_to_deltas", variance, boxes)
    anchor_size = ops.maximum(anchors[..., 2:], backend.epsilon())
    box_size = ops.maximum(boxes[..., 2:], backend.epsilon())
    deltas = ops.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                              ops.log(box_size / anchor_size)], axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format, encoded_format="center_yxhw",
                           variance=None, image_shape=None):
    """The inverse of encode_box_to_deltas: boxes in ``box_format`` from ``anchors`` and ``boxes_delta``
    (each a tensor, or dicts {level: tensor} with the same keys, giving a dict)."""
    _center_format("decode_deltas_to_boxes", "encoded_format", encoded_format)
    height, width = _image_size(image_shape)

    def decode(anchor, delta):
        delta = _tensor(delta)
        dtype = _float_dtype(delta)
        delta = ops.cast(delta, dtype)
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width, dtype)
        v = _variance("decode_deltas_to_boxes", variance, delta)
        if v is not None:
            delta = delta * v
        box = ops.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               ops.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert_format(box, encoded_format, box_format, height, width, dtype)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        missing = set(anchors) - set(boxes_delta)
        if missing:
            raise ValueError(f"decode_deltas_to_boxes: argument 'boxes_delta' lacks the levels {sorted(missing)} "
                             f"that 'anchors' has")
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


__all__ = ["affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
           "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]
