"""The ``ImageDataGenerator.flow_from_directory`` iterator (one sub-folder per class, classes sorted by name,
as Keras; seed-002 §2.5 cats vs dogs). Images are read with ``nerve.utils``' ``load_img`` / ``img_to_array``
(Pillow, optional), re-exported here for ``keras.preprocessing.image``'s names."""
import os

import numpy as np

from .. import backend
from ..utils.image_utils import array_to_img, img_to_array, load_img  # noqa: F401 - keras.preprocessing.image names
from .image import BatchIterator

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".gif")
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


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
