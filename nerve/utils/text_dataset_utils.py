"""``text_dataset_from_directory`` (Keras 3's ``keras.utils.text_dataset_from_directory``): the ``.txt`` files
under ``directory/<class>/`` as a PyDataset of (texts, labels) batches, texts a NumPy array of str. Keras
returns a tf.data Dataset of byte strings; nerve's batches feed ``TextVectorization.adapt`` / ``call`` and
``fit`` the same way."""
import numpy as np

from .dataset_utils import FolderDataset, list_labelled_files, split_files

TEXT_EXTENSIONS = (".txt",)


class TextFolderDataset(FolderDataset):
    """Texts (UTF-8, at most ``max_length`` characters each) as a NumPy array of str, labels as ``label_mode``."""
    who = "text_dataset_from_directory"

    def __init__(self, paths, labels, class_names, label_mode, batch_size, max_length, shuffle, seed):
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.max_length = max_length

    def _load(self, path):
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read() if self.max_length is None else f.read(self.max_length)

    @staticmethod
    def _stack(texts):
        return np.array(texts, dtype=object)


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
