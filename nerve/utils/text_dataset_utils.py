"""``text_dataset_from_directory`` (Keras 3's ``keras.utils.text_dataset_from_directory``): the ``.txt`` files
under ``directory/<class>/`` as a PyDataset of (texts, labels) batches, texts a NumPy array of str. Keras
returns a tf.data Dataset of byte strings; nerve's batches feed ``TextVectorization.adapt`` / ``call`` and
``fit`` the same way."""
import numpy as np

from .. import backend
from .dataset_utils import PyDataset, list_labelled_files, split_files

TEXT_EXTENSIONS = (".txt",)


class TextFolderDataset(PyDataset):
    """Batches of (texts, labels) read from files on demand (UTF-8, at most ``max_length`` characters each);
    ``class_names`` lists the classes in label order, ``file_paths`` the files in their current order."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, max_length, shuffle, seed):
        super().__init__()
        self.file_paths, self.labels, self.class_names = list(paths), labels, class_names
        self.label_mode, self.batch_size, self.max_length, self.shuffle = label_mode, batch_size, max_length, shuffle
        self._rng = np.random.default_rng(seed) if seed is not None else backend.rng()
        self._order = self._rng.permutation(len(self.file_paths)) if shuffle else np.arange(len(self.file_paths))

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def _text(self, path):
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read() if self.max_length is None else f.read(self.max_length)

    def _label(self, sel):
        y = self.labels[sel]
        if self.label_mode == "int":
            return y.astype(np.int32)
        if self.label_mode == "binary":
            return y.astype(np.float32)[:, None]
        return np.eye(len(self.class_names), dtype=np.float32)[y]

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"text_dataset_from_directory: batch index {i} out of range for {len(self)} batches")
        i %= len(self)
        size = self.batch_size or 1
        sel = self._order[i * size:(i + 1) * size]
        x = np.array([self._text(self.file_paths[j]) for j in sel], dtype=object)
        if self.batch_size is None:
            x = x[0]
        if self.label_mode is None:
            return x
        y = self._label(sel)
        return x, (y[0] if self.batch_size is None else y)

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(len(self.file_paths))


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """Text files under ``directory/<class>/`` (classes in alphabetical order unless ``class_names``) as a
    PyDataset of (texts, labels) batches: ``label_mode`` 'int', 'categorical', 'binary' or None (texts only);
    ``labels`` 'inferred', None or one int per file (alphanumeric order of the paths); ``max_length`` truncates
    each text; ``batch_size`` None gives single samples. With ``validation_split`` and ``subset`` 'training',
    'validation' or 'both', the files are shuffled with ``seed`` and the last fraction is the validation set.
    ``format`` ('tf' / 'grain' in Keras) is accepted and ignored: the result is always a nerve PyDataset."""
    who = "text_dataset_from_directory"
    if format not in ("tf", "grain"):
        raise ValueError(f"{who}: argument 'format' expected 'tf' or 'grain', got {format!r}")
    if max_length is not None and (not isinstance(max_length, (int, np.integer)) or max_length <= 0):
        raise ValueError(f"{who}: argument 'max_length' expected a positive integer or None, got {max_length!r}")
    if not (labels is None or isinstance(labels, str)) and class_names:
        raise ValueError(f"{who}: argument 'class_names' is only allowed with labels='inferred', got labels of type "
                         f"{type(labels).__name__}")
    paths, y, names, label_mode = list_labelled_files(who, directory, labels, label_mode, class_names,
                                                      follow_links, TEXT_EXTENSIONS)
    return split_files(who, paths, y, names, shuffle, seed, validation_split, subset, verbose,
                       lambda p, labels_: TextFolderDataset(p, labels_, names, label_mode, batch_size, max_length,
                                                            shuffle, seed))
