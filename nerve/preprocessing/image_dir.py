"""Images from files (Pillow, optional): ``load_img``, ``img_to_array``, ``array_to_img`` and the
``ImageDataGenerator.flow_from_directory`` iterator (one sub-folder per class, classes sorted by name,
as Keras; seed-002 §2.5 cats vs dogs)."""
import os

import numpy as np

from .. import backend
from .image import BatchIterator

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".gif")
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("nerve.preprocessing.image: reading image files needs Pillow (pip install pillow)") \
            from None
    return Image


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest"):
    """A PIL image, converted to 'grayscale' / 'rgb' / 'rgba' and resized to target_size (rows, cols)."""
    image = _pil()
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ValueError(f"load_img: argument 'color_mode' expected one of {sorted(modes)}, got {color_mode!r}")
    img = image.open(path)
    img = img.convert(modes[color_mode]) if img.mode != modes[color_mode] else img
    if target_size is not None:
        size = (int(target_size[1]), int(target_size[0]))
        if img.size != size:
            methods = {"nearest": image.NEAREST, "bilinear": image.BILINEAR, "bicubic": image.BICUBIC}
            img = img.resize(size, methods.get(interpolation, image.NEAREST))
    return img


def img_to_array(img, dtype=None):
    """PIL image -> (rows, cols, channels) float array."""
    x = np.asarray(img, dtype=dtype or backend.floatx())
    return x[..., None] if x.ndim == 2 else x


def array_to_img(x, scale=True):
    """(rows, cols, channels) array -> PIL image (scaled to 0..255 when ``scale``)."""
    image = _pil()
    x = np.asarray(x, dtype="float64")
    if scale:
        x = x - x.min()
        x = x / x.max() * 255 if x.max() > 0 else x
    x = np.clip(x, 0, 255).astype("uint8")
    return image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


class DirectoryIterator(BatchIterator):
    """Batches (x, y) of images found under ``directory/<class>/*`` (a PyDataset: len, [i], iteration)."""

    def __init__(self, directory, generator, target_size=(256, 256), color_mode="rgb", classes=None,
                 class_mode="categorical", batch_size=32, shuffle=True, seed=None, interpolation="nearest"):
        if class_mode not in CLASS_MODES:
            raise ValueError(f"flow_from_directory: argument 'class_mode' expected one of {CLASS_MODES}, got "
                             f"{class_mode!r}")
        if not os.path.isdir(directory):
            raise ValueError(f"flow_from_directory: {directory!r} is not a directory")
        self.classes_list = sorted(classes or [d for d in os.listdir(directory)
                                               if os.path.isdir(os.path.join(directory, d))])
        self.class_indices = {c: i for i, c in enumerate(self.classes_list)}
        files, labels = [], []
        for c in self.classes_list:
            folder = os.path.join(directory, c)
            for root, _, names in sorted(os.walk(folder)):
                for name in sorted(names):
                    if name.lower().endswith(IMAGE_EXTENSIONS):
                        files.append(os.path.join(root, name))
                        labels.append(self.class_indices[c])
        self.filepaths, self.classes = files, np.asarray(labels, dtype="int64")
        self.generator, self.target_size, self.color_mode = generator, tuple(target_size), color_mode
        self.class_mode, self.batch_size, self.shuffle = class_mode, int(batch_size), bool(shuffle)
        self.interpolation = interpolation
        self._init_order(len(files), seed)
        self.samples = self.n
        print(f"Found {self.n} images belonging to {len(self.classes_list)} classes.")

    def __getitem__(self, i):
        sel = self._batch_indices(i)
        x = np.stack([img_to_array(load_img(self.filepaths[j], self.color_mode, self.target_size,
                                            self.interpolation)) for j in sel])
        x = self.generator.augment_batch(x, self.rng)
        y = self.classes[sel]
        if self.class_mode == "input":
            return x, x.copy()
        if self.class_mode is None:
            return x
        if self.class_mode == "binary":
            return x, y.astype(backend.floatx())
        if self.class_mode == "categorical":
            return x, np.eye(len(self.classes_list), dtype=backend.floatx())[y]
        return x, y
