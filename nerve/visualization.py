"""``nerve.visualization`` (Keras 3's ``keras.visualization``): image galleries, bounding boxes and segmentation
masks drawn on batches of images (NHWC; values in ``value_range``). Galleries need matplotlib (the ``plot``
extra); boxes are drawn with Pillow, which matplotlib brings, where Keras uses OpenCV.
"""
import math

import numpy as np

from . import backend
from .utils.bounding_boxes import convert_format


def _numpy(x):
    return backend.to_numpy(backend.unwrap(x))  # a Tensor's array (not a CuPy array's .data pointer), on the host


def _batch(images, who):
    a = np.asarray(_numpy(images))
    if a.ndim != 4:
        raise ValueError(f"{who}: argument 'images' expected a batch (batch, height, width, channels), got shape "
                         f"{a.shape}")
    return a


def _to_uint8(images, value_range):
    lo, hi = value_range
    a = (np.asarray(images, np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(np.round(a), 0, 255).astype(np.uint8)


def _palette(n):
    """Keras' palette: color i = i * (2^25 - 1, 2^15 - 1, 2^21 - 1) mod 255."""
    p = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [((i * p) % 255).tolist() for i in range(n)]


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None, color=(128, 128, 128),
                        line_thickness=2, text_thickness=1, font_scale=1.0, data_format=None):
    """uint8 copies of ``images`` with each box of ``bounding_boxes`` ({'boxes': (batch, n, 4), 'labels':
    (batch, n)[, 'confidences']}) drawn as a rectangle, labelled with ``class_mapping[label]`` (and the
    confidence); boxes labelled -1 are padding and skipped. Float images in [0, 1] are scaled to [0, 255]."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError("draw_bounding_boxes needs Pillow (pip install pillow, or nerve's 'plot' extra)") from None
    who = "draw_bounding_boxes"
    a = _batch(images, who)
    if data_format == "channels_first":
        a = a.transpose(0, 2, 3, 1)
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"{who}: argument 'bounding_boxes' expected a dict with 'boxes' and 'labels', got "
                         f"{type(bounding_boxes).__name__}")
    h, w = a.shape[1:3]
    boxes = np.asarray(_numpy(convert_format(dict(bounding_boxes), bounding_box_format, "xyxy", h, w)["boxes"]))
    labels = np.asarray(_numpy(bounding_boxes["labels"]))
    conf = bounding_boxes.get("confidences")
    conf = None if conf is None else np.asarray(_numpy(conf))
    if a.dtype.kind == "f" and a.size:
        a = np.clip(a, 0, 1) * 255 if a.max() <= 1.0 else np.clip(a, 0, 255)
    a = a.astype(np.uint8)
    class_mapping = class_mapping or {}
    out = []
    for i in range(a.shape[0]):
        img = Image.fromarray(a[i, ..., 0] if a.shape[-1] == 1 else a[i]).convert("RGB")
        draw = ImageDraw.Draw(img)
        for j in range(boxes.shape[1]):
            c = int(labels[i, j])
            if c == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in boxes[i, j])
            draw.rectangle([x1, y1, x2, y2], outline=tuple(int(v) for v in color), width=int(line_thickness))
            if c in class_mapping:
                text = str(class_mapping[c]) + (f" | {float(conf[i, j]):.2f}" if conf is not None else "")
                draw.text((x1 + 2, max(y1 - 11, 0)), text, fill=tuple(int(v) for v in color))
        out.append(np.asarray(img))
    out = np.stack(out)
    if a.shape[-1] == 1:
        out = out[..., :1]
    return out.transpose(0, 3, 1, 2) if data_format == "channels_first" else out


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None, alpha=0.8, blend=True,
                            ignore_index=-1, data_format=None):
    """``images`` with each class of the integer ``segmentation_masks`` (batch, height, width, 1) painted in its
    color (``color_mapping[c]`` or Keras' palette), blended with weight ``alpha`` when ``blend``; pixels equal to
    ``ignore_index`` keep the image. ``num_classes`` defaults to max(mask) + 1 (Keras 3.15 takes max(mask), which
    leaves the last class unpainted)."""
    who = "draw_segmentation_masks"
    a = _batch(images, who).astype(np.float32)
    m = np.asarray(_numpy(segmentation_masks))
    if data_format == "channels_first":
        a, m = a.transpose(0, 2, 3, 1), m.transpose(0, 2, 3, 1)
    if m.dtype.kind not in "iu":
        raise TypeError(f"{who}: argument 'segmentation_masks' expected an integer dtype, got {m.dtype}")
    if m.ndim == 3:
        m = m[..., None]
    num_classes = int(m.max()) + 1 if num_classes is None else int(num_classes)
    colors = _palette(num_classes) if color_mapping is None else [color_mapping[i] for i in range(num_classes)]
    painted = a.copy()
    cls = m[..., 0]
    for c, col in enumerate(colors):
        painted[cls == c] = np.asarray(col, np.float32)[None, :painted.shape[-1]]
    if not blend:
        return painted
    out = a * (1 - alpha) + painted * alpha
    out = np.where((cls != ignore_index)[..., None], out, a)
    out = out.astype(np.uint8)
    return out.transpose(0, 3, 1, 2) if data_format == "channels_first" else out


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None, value_range=(0, 255),
                       scale=2, path=None, show=None, transparent=True, dpi=60, legend_handles=None,
                       data_format=None):
    """A rows x cols grid of ``images`` (scaled from ``value_range``), titled with ``label_map`` of the true and
    predicted labels. Returns the matplotlib Figure, built headless (no display needed); ``path`` saves it as a
    PNG; ``show=True`` displays it through pyplot (Keras shows by default when there is no path)."""
    from .evaluation.plots import _figure
    who = "plot_image_gallery"
    if path is not None and show:
        raise ValueError(f"{who}: give either 'path' (save) or show=True, not both")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(f"{who}: 'y_true' / 'y_pred' need a 'label_map' (class index -> name)")
    a = np.asarray(_numpy(images))
    if a.ndim == 3:
        a = a[None]
    a = _batch(a, who)
    if data_format == "channels_first":
        a = a.transpose(0, 2, 3, 1)
    n = a.shape[0]
    rows = rows or int(math.ceil(math.sqrt(n)))
    cols = cols or int(math.ceil(n / rows))
    a = _to_uint8(a[:rows * cols], value_range)
    yt = None if y_true is None else np.asarray(_numpy(y_true)).reshape(-1)
    yp = None if y_pred is None else np.asarray(_numpy(y_pred)).reshape(-1)
    if show:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(cols * scale, rows * scale))
    else:
        fig = _figure((cols * scale, rows * scale))
    axes = fig.subplots(rows, cols, squeeze=False)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    for k, ax in enumerate(axes.reshape(-1)):
        ax.axis("off")
        if k >= len(a):
            continue
        img = a[k]
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                  vmin=0, vmax=255)
        parts = []
        if yt is not None and k < len(yt):
            parts.append(f"Label: {label_map.get(int(yt[k]), 'Unknown')}")
        if yp is not None and k < len(yp):
            parts.append(f"Pred: {label_map.get(int(yp[k]), 'Unknown')}")
        if parts:
            ax.set_title("  ".join(parts), fontsize=8)
    if path is not None:
        fig.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
    if show:
        plt.show()
    return fig


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None, value_range=(0, 255),
                              true_color=(0, 188, 212), pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None, ground_truth_mapping=None,
                              prediction_mapping=None, legend=False, legend_handles=None, rows=None, cols=None,
                              data_format=None, **kwargs):
    """A gallery of ``images`` with the true boxes (``true_color``) and the predicted ones (``pred_color``)."""
    a = _to_uint8(_batch(images, "plot_bounding_box_gallery"), value_range)
    gt_map = ground_truth_mapping or class_mapping
    pred_map = prediction_mapping or class_mapping
    if y_true is not None:
        a = draw_bounding_boxes(a, y_true, bounding_box_format, gt_map, true_color, line_thickness,
                                text_thickness or 1, font_scale, data_format)
    if y_pred is not None:
        a = draw_bounding_boxes(a, y_pred, bounding_box_format, pred_map, pred_color, line_thickness,
                                text_thickness or 1, font_scale, data_format)
    if legend and legend_handles is None:
        from matplotlib import patches
        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(a, value_range=(0, 255), legend_handles=legend_handles, rows=rows, cols=cols,
                              data_format=data_format, **kwargs)


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None, y_pred=None,
                                   color_mapping=None, blend=True, alpha=0.8, ignore_index=-1, data_format=None,
                                   **kwargs):
    """The images, then the true masks drawn on them, then the predicted ones (one row per kind)."""
    a = _to_uint8(_batch(images, "plot_segmentation_mask_gallery"), value_range)
    panels = [a]
    for masks in (y_true, y_pred):
        if masks is not None:
            panels.append(draw_segmentation_masks(a, masks, num_classes, color_mapping, alpha, blend, ignore_index,
                                                  data_format))
    grid = np.concatenate(panels, axis=0)
    kwargs.setdefault("rows", len(panels))
    kwargs.setdefault("cols", a.shape[0])
    return plot_image_gallery(grid, value_range=(0, 255), data_format=data_format, **kwargs)
