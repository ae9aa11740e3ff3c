"""Keras 3's data utilities in ``keras.utils``: ``PyDataset`` (the base class of batch datasets that ``fit``
takes) and ``image_dataset_from_directory`` (seed-002's cats-vs-dogs folders; Keras returns a tf.data
Dataset, nerve a PyDataset of NumPy batches that fit/evaluate/predict iterate the same way)."""
import os

import numpy as np

from .. import backend

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
LABEL_MODES = ("int", "categorical", "binary", None)


class PyDataset:
    """Subclass it with ``__len__`` (number of batches) and ``__getitem__(i)`` (batch i: ``x``, ``(x, y)`` or
    ``(x, y, sample_weight)``); ``on_epoch_end`` runs after each epoch. ``workers``, ``use_multiprocessing``
    and ``max_queue_size`` are accepted for Keras scripts; nerve reads the batches in the training thread."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning a batch")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__() returning the number of "
                                  f"batches")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


Sequence = PyDataset  # the Keras 2 name


class FolderDataset(PyDataset):
    """Batches of (samples, labels) read from labelled files on demand, in a shuffled (each epoch) or fixed order;
    subclasses say how one file becomes a sample (``_load``) and how a batch of them is stacked (``_stack``).
    ``class_names`` lists the classes in label order, ``file_paths`` the files."""
    who = "FolderDataset"

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle, seed):
        super().__init__()
        self.file_paths, self.labels, self.class_names = list(paths), labels, class_names
        self.label_mode, self.batch_size, self.shuffle = label_mode, batch_size, shuffle
        self._rng = np.random.default_rng(seed) if seed is not None else backend.rng()
        self._order = self._rng.permutation(len(self.file_paths)) if shuffle else np.arange(len(self.file_paths))

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def _label(self, sel):
        y = self.labels[sel]
        if self.label_mode == "int":
            return y.astype(np.int32)
        if self.label_mode == "binary":
            return y.astype(np.float32)[:, None]
        return np.eye(len(self.class_names), dtype=np.float32)[y]

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"{self.who}: batch index {i} out of range for {len(self)} batches")
        i %= len(self)
        size = self.batch_size or 1
        sel = self._order[i * size:(i + 1) * size]
        x = self._stack([self._load(self.file_paths[j]) for j in sel])
        if self.batch_size is None:
            x, sel = x[0], sel[0:1]
        if self.label_mode is None:
            return x
        y = self._label(sel)
        return x, (y[0] if self.batch_size is None else y)

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(len(self.file_paths))


class ImageFolderDataset(FolderDataset):
    """Images float32 (batch, height, width, channels) in 0..255, labels as ``label_mode`` says."""
    who = "image_dataset_from_directory"

    def __init__(self, paths, labels, class_names, label_mode, color_mode, image_size, batch_size, shuffle, seed,
                 interpolation, crop_to_aspect_ratio):
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.color_mode, self.image_size = color_mode, tuple(image_size)
        self.interpolation, self.crop_to_aspect_ratio = interpolation, crop_to_aspect_ratio

    _stack = staticmethod(np.stack)

    def _load(self, path):
        from .image_utils import _pil, img_to_array
        image = _pil("image_dataset_from_directory")
        img = image.open(path)
        modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
        img = img.convert(modes[self.color_mode]) if img.mode != modes[self.color_mode] else img
        h, w = self.image_size
        if self.crop_to_aspect_ratio:  # the largest centred crop with the target's aspect ratio
            W, H = img.size  # noqa: N806
            cw, ch = min(W, round(H * w / h)), min(H, round(W * h / w))
            left, top = (W - cw) // 2, (H - ch) // 2
            img = img.crop((left, top, left + cw, top + ch))
        methods = {"nearest": image.NEAREST, "bilinear": image.BILINEAR, "bicubic": image.BICUBIC,
                   "lanczos": image.LANCZOS, "area": image.BOX}
        if img.size != (w, h):
            img = img.resize((w, h), methods[self.interpolation])
        return img_to_array(img, dtype="float32")


def _index_directory(who, directory, class_names, follow_links, extensions):
    if not os.path.isdir(directory):
        raise ValueError(f"{who}: argument 'directory' expected a folder, got {directory!r}")
    found = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    if class_names is None:
        class_names = found
    else:
        missing = [c for c in class_names if c not in found]
        if missing:
            raise ValueError(f"{who}: argument 'class_names' names folders that are not in {directory!r}: "
                             f"{missing}; found {found}")
    paths, labels = [], []
    for k, c in enumerate(class_names):
        for root, _, names in sorted(os.walk(os.path.join(directory, c), followlinks=follow_links)):
            for name in sorted(names):
                if name.lower().endswith(extensions):
                    paths.append(os.path.join(root, name))
                    labels.append(k)
    return paths, np.asarray(labels, np.int64), list(class_names)


def list_labelled_files(who, directory, labels, label_mode, class_names, follow_links, extensions):
    """``(paths, labels, class_names, label_mode)`` of the files under ``directory/<class>/`` whose names end
    with ``extensions``: labels 'inferred' from the folders (classes alphabetical unless ``class_names``),
    None (no labels: label_mode becomes None), or one integer per file in alphanumeric order of the paths."""
    if label_mode not in LABEL_MODES:
        raise ValueError(f"{who}: argument 'label_mode' expected one of {LABEL_MODES}, got {label_mode!r}")
    if isinstance(labels, str) and labels != "inferred":
        raise ValueError(f"{who}: argument 'labels' expected 'inferred', None or a list of integer labels, got "
                         f"{labels!r}")
    if isinstance(labels, str):
        paths, y, names = _index_directory(who, directory, class_names, follow_links, extensions)
    elif labels is None:
        paths = sorted(_index_directory(who, directory, None, follow_links, extensions)[0])
        y, names, label_mode = np.zeros(len(paths), np.int64), [], None
    else:  # explicit labels, one per file in alphanumeric order of the paths
        paths = sorted(_index_directory(who, directory, None, follow_links, extensions)[0])
        y = np.asarray(labels, np.int64)
        if len(y) != len(paths):
            raise ValueError(f"{who}: argument 'labels' has {len(y)} entries for {len(paths)} files")
        names = list(class_names) if class_names is not None else [str(i) for i in range(int(y.max()) + 1)]
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{who}: label_mode='binary' needs exactly 2 classes, found {len(names)}: {names}")
    if not paths:
        raise ValueError(f"{who}: no files ({', '.join(extensions)}) found under {directory!r}")
    return paths, y, names, label_mode


def split_files(who, paths, y, names, shuffle, seed, validation_split, subset, verbose, make):
    """Keras' file split: one shuffle of the list with ``seed`` (when ``shuffle`` and a seed), then the last
    ``validation_split`` fraction is the validation set; ``subset`` 'training', 'validation' or 'both'.
    ``make(paths, labels)`` builds each dataset."""
    if validation_split:
        if subset not in ("training", "validation", "both"):
            raise ValueError(f"{who}: with validation_split, argument 'subset' expected 'training', 'validation' "
                             f"or 'both', got {subset!r}")
        if shuffle and seed is None:
            raise ValueError(f"{who}: validation_split with shuffle=True needs a 'seed', so that the training and "
                             f"validation subsets do not overlap")
    if seed is not None and shuffle:  # one shuffle of the file list before splitting, as Keras
        order = np.random.default_rng(seed).permutation(len(paths))
        paths, y = [paths[i] for i in order], y[order]
    if verbose:
        print(f"Found {len(paths)} files belonging to {len(names)} classes.")

    def part(sel, name):
        if verbose and validation_split:
            print(f"Using {len(sel)} files for {name}.")
        return make([paths[i] for i in sel], y[sel])

    idx = np.arange(len(paths))
    if not validation_split:
        return part(idx, "training")
    n_val = int(validation_split * len(paths))
    train, val = idx[:len(paths) - n_val], idx[len(paths) - n_val:]
    if subset == "training":
        return part(train, "training")
    if subset == "validation":
        return part(val, "validation")
    return part(train, "training"), part(val, "validation")


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 verbose=True):
    """Images under ``directory/<class>/`` (classes in alphabetical order unless ``class_names``), as a
    PyDataset of (images, labels) batches; with ``validation_split`` and ``subset`` 'training', 'validation'
    or 'both', the files are shuffled with ``seed`` and the last fraction is the validation set (Keras)."""
    who = "image_dataset_from_directory"
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f"{who}: argument 'color_mode' expected 'grayscale', 'rgb' or 'rgba', got {color_mode!r}")
    if interpolation not in ("nearest", "bilinear", "bicubic", "lanczos", "area"):
        raise ValueError(f"{who}: argument 'interpolation' expected one of 'nearest', 'bilinear', 'bicubic', "
                         f"'lanczos', 'area', got {interpolation!r}")
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' (nerve is channels_last only), "
                         f"got {data_format!r}")
    if pad_to_aspect_ratio:
        raise ValueError(f"{who}: argument 'pad_to_aspect_ratio' is not supported; use crop_to_aspect_ratio=True "
                         f"or resize")
    paths, y, names, label_mode = list_labelled_files(who, directory, labels, label_mode, class_names,
                                                      follow_links, IMAGE_EXTENSIONS)
    return split_files(who, paths, y, names, shuffle, seed, validation_split, subset, verbose,
                       lambda p, labels_: ImageFolderDataset(p, labels_, names, label_mode, color_mode, image_size,
                                                             batch_size, shuffle, seed, interpolation,
                                                             crop_to_aspect_ratio))


# ----------------------------------------------------------------------------- arrays
def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras' packing of a batch: ``x`` alone (a 1-tuple ``(x,)`` when ``x`` is itself a tuple or list, so that
    it is not read as (x, y)), ``(x, y)`` or ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _split_size(name, size, n):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if not 0 < size < n:
            raise ValueError(f"split_dataset: argument '{name}' expected an int in [1, {n - 1}] (the dataset has {n} "
                             f"samples) or a float in (0, 1), got {size}")
        return int(size)
    if isinstance(size, (float, np.floating)):
        if not 0 < size < 1:
            raise ValueError(f"split_dataset: argument '{name}' expected a float in (0, 1) or an int in "
                             f"[1, {n - 1}], got {size}")
        return round(float(size) * n)
    raise TypeError(f"split_dataset: argument '{name}' expected an int, a float or None, got "
                    f"{type(size).__name__} {size!r}")


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None):
    """Keras' ``split_dataset`` for in-memory data: ``dataset`` is an array or a tuple / list / dict of arrays
    with the same number of samples; returns ``(left, right)`` with the same structure. A size is a fraction
    (float in (0, 1), rounded) or a sample count (int); a missing one is the complement of the other. Left is
    the first ``left_size`` samples, right the last ``right_size`` (after one permutation when ``shuffle``,
    drawn with ``seed`` or from nerve's global generator)."""
    from .. import tree
    if preferred_backend not in (None, "numpy"):
        raise ValueError(f"split_dataset: argument 'preferred_backend' expected None or 'numpy' (nerve returns "
                         f"NumPy arrays), got {preferred_backend!r}")
    leaves = [backend.to_numpy(backend.unwrap(a)) for a in tree.flatten(dataset)]
    if not leaves or any(not isinstance(a, np.ndarray) or a.ndim == 0 for a in leaves):
        raise TypeError(f"split_dataset: argument 'dataset' expected an array or a tuple / list / dict of arrays, "
                        f"got {type(dataset).__name__}")
    n = len(leaves[0])
    if any(len(a) != n for a in leaves):
        raise ValueError(f"split_dataset: the arrays of 'dataset' have different numbers of samples: "
                         f"{[len(a) for a in leaves]}")
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give 'left_size' or 'right_size' (or both)")
    if isinstance(left_size, float) and isinstance(right_size, float) and left_size + right_size > 1:
        raise ValueError(f"split_dataset: left_size + right_size must be at most 1, got {left_size} + {right_size}")
    left, right = _split_size("left_size", left_size, n), _split_size("right_size", right_size, n)
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n:
        raise ValueError(f"split_dataset: left_size + right_size = {left} + {right} samples, more than the "
                         f"{n} of the dataset")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: with {n} samples, left_size={left_size} and right_size={right_size} "
                         f"leave the {'left' if left == 0 else 'right'} split empty")
    order = np.arange(n)
    if shuffle:
        order = (np.random.default_rng(seed) if seed is not None else backend.rng()).permutation(n)

    def take(sel):
        return tree.pack_sequence_as(dataset, [a[sel] for a in leaves]) if tree.is_nested(dataset) \
            else leaves[0][sel]
    return take(order[:left]), take(order[n - right:])
