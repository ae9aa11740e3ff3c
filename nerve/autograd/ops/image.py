"""``keras.ops.image`` (channels_last): resize, crop_images, pad_images, rgb_to_grayscale; each composed of
differentiable ops, so gradients flow to the pixels."""
import numpy as np

from . import _data, _t_arr, convert_to_tensor, einsum, getitem, pad


def _rank4(images, who):
    x = _t_arr(images)
    nd = np.ndim(_data(x))
    if nd not in (3, 4):
        raise ValueError(f"{who}: argument 'images' expected rank 3 (height, width, channels) or 4 (batch, ...), "
                         f"got rank {nd}")
    return x, nd == 3


def _channels_last(data_format, who):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' (nerve is channels_last only), "
                         f"got {data_format!r}")


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Images resized to ``size`` = (height, width): 'bilinear' (half-pixel centres) or 'nearest', as the
    Resizing layer (which this calls)."""
    _channels_last(data_format, "resize")
    if antialias or pad_to_aspect_ratio:
        raise ValueError("resize: 'antialias' and 'pad_to_aspect_ratio' are not supported (expected False)")
    from ...layers.preprocessing_image import Resizing
    _rank4(images, "resize")
    layer = Resizing(int(size[0]), int(size[1]), interpolation=interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio)
    return layer.call(convert_to_tensor(images))  # the kernel alone: no autocast to the layer's float32


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """The window starting at (top_cropping, left_cropping) of size (target_height, target_width) (or what
    the bottom/right croppings leave)."""
    _channels_last(data_format, "crop_images")
    x, single = _rank4(images, "crop_images")
    h, w = np.shape(_data(x))[-3:-1]
    top, left = top_cropping or 0, left_cropping or 0
    th = target_height if target_height is not None else h - top - (bottom_cropping or 0)
    tw = target_width if target_width is not None else w - left - (right_cropping or 0)
    if top < 0 or left < 0 or th <= 0 or tw <= 0 or top + th > h or left + tw > w:
        raise ValueError(f"crop_images: a crop of {th}x{tw} at ({top}, {left}) does not fit images of {h}x{w}")
    return getitem(x, (Ellipsis, slice(top, top + th), slice(left, left + tw), slice(None)))


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Zero padding: the given paddings, or what reaches (target_height, target_width)."""
    _channels_last(data_format, "pad_images")
    x, single = _rank4(images, "pad_images")
    h, w = np.shape(_data(x))[-3:-1]
    top, left = top_padding or 0, left_padding or 0
    bottom = bottom_padding if bottom_padding is not None else (target_height - h - top if target_height else 0)
    right = right_padding if right_padding is not None else (target_width - w - left if target_width else 0)
    if min(top, left, bottom, right) < 0:
        raise ValueError(f"pad_images: paddings must be >= 0, got top={top}, bottom={bottom}, left={left}, "
                         f"right={right}")
    widths = [(top, bottom), (left, right), (0, 0)]
    return pad(x, widths if single else [(0, 0)] + widths)


def rgb_to_grayscale(images, data_format=None):
    """0.2989 R + 0.5870 G + 0.1140 B (ITU-R 601, as Keras), keeping a channel axis of 1."""
    _channels_last(data_format, "rgb_to_grayscale")
    x, _ = _rank4(images, "rgb_to_grayscale")
    if np.shape(_data(x))[-1] != 3:
        raise ValueError(f"rgb_to_grayscale: expected 3 channels, got {np.shape(_data(x))[-1]}")
    weights = np.array([[0.2989], [0.5870], [0.1140]], np.dtype(_data(x).dtype) if
                       np.dtype(_data(x).dtype).kind == "f" else np.float32)
    return einsum("...c,cd->...d", x, weights)


from .image_extra import *  # noqa: F401,F403,E402 - the rest of keras.ops.image
