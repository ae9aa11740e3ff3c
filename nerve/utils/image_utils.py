"""Image files <-> arrays (Keras 3's ``keras.utils.load_img`` / ``img_to_array`` / ``array_to_img`` /
``save_img``). Pillow is optional: it is imported on first use, with an ImportError naming what to install."""
import io
import os
import pathlib
import warnings

import numpy as np

from .. import backend

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def _pil(who):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{who}: image files need Pillow, which is not installed: pip install pillow (the 'plot' "
                          f"extra brings it too: pip install 'nerve[plot]')") from None
    return Image


def _data_format(who, data_format):
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return data_format


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """A PIL image read from ``path`` (a path or a BytesIO), converted to ``color_mode`` ('grayscale', 'rgb',
    'rgba') and resized to ``target_size`` = (height, width) if given; ``keep_aspect_ratio`` first takes the
    largest centred crop with the target's aspect ratio."""
    image = _pil("load_img")
    if color_mode not in _MODES:
        raise ValueError(f"load_img: argument 'color_mode' expected 'grayscale', 'rgb' or 'rgba', got {color_mode!r}")
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as f:  # read whole, so that the file is closed on return
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: argument 'path' expected a path or an io.BytesIO, got {type(path).__name__}")
    keep = ("L", "I;16", "I") if color_mode == "grayscale" else (_MODES[color_mode],)
    if img.mode not in keep:
        img = img.convert(_MODES[color_mode])
    if target_size is None:
        return img
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"load_img: argument 'interpolation' expected one of {INTERPOLATIONS}, got "
                         f"{interpolation!r}")
    size = (int(target_size[1]), int(target_size[0]))  # PIL sizes are (width, height)
    if img.size == size:
        return img
    resample = getattr(getattr(image, "Resampling", image), interpolation.upper())  # Pillow >= 9.1: the enum
    box = None
    if keep_aspect_ratio:
        width, height = img.size
        crop_w = min(width, height * size[0] // size[1])
        crop_h = min(height, width * size[1] // size[0])
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize(size, resample, box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a 3-D array (height, width, channels), or (channels, height, width) for 'channels_first';
    ``dtype`` defaults to floatx."""
    data_format = _data_format("img_to_array", data_format)
    x = np.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of rank 2 or 3, got shape {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array (one image with 1, 3 or 4 channels) as a PIL image; ``scale`` maps its minimum..maximum to
    0..255 first."""
    image = _pil("array_to_img")
    data_format = _data_format("array_to_img", data_format)
    x = np.array(backend.to_numpy(backend.unwrap(x)), dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3, got shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - x.min()
        if x.max() != 0:
            x /= x.max()
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if x.max() > 255:  # 32-bit grayscale
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: expected 1, 3 or 4 channels, got {channels} (shape {x.shape})")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write the image array ``x`` to ``path`` (a path or a file object); the format comes from the file
    extension unless ``file_format`` is given (needed for file objects). ``kwargs`` go to ``PIL.Image.save``."""
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG has no alpha channel; the RGBA image is saved as RGB")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)
