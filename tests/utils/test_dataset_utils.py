"""keras.utils.image_dataset_from_directory and PyDataset: files on disk -> batches fit can train on."""
import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.utils import PyDataset, image_dataset_from_directory

Image = pytest.importorskip("PIL.Image")


@pytest.fixture
def folder(tmp_path):
    """cats/ (5 dark images) and dogs/ (7 bright ones), sizes varying, one non-image file."""
    rng = np.random.default_rng(0)
    for cls, n, level in (("cats", 5, 40), ("dogs", 7, 210)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            h, w = 10 + i, 12 + 2 * i
            arr = np.clip(rng.normal(level, 10, (h, w, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    return tmp_path


def test_batches_labels_and_class_names(folder, capsys):
    ds = image_dataset_from_directory(folder, image_size=(8, 8), batch_size=5, shuffle=False)
    assert "Found 12 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 3
    x, y = ds[0]
    assert x.shape == (5, 8, 8, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert y.tolist() == [0] * 5 and 0 <= x.min() and x.max() <= 255
    xs, ys = zip(*ds)
    assert sum(len(v) for v in ys) == 12 and np.concatenate(ys).tolist() == [0] * 5 + [1] * 7
    cat = image_dataset_from_directory(folder, image_size=(6, 4), label_mode="categorical", batch_size=None,
                                       color_mode="grayscale", shuffle=False, verbose=False)
    xi, yi = cat[0]
    assert xi.shape == (6, 4, 1) and yi.tolist() == [1.0, 0.0]
    binary = image_dataset_from_directory(folder, image_size=(8, 8), label_mode="binary", verbose=False)
    assert binary[0][1].shape[1:] == (1,)
    only = image_dataset_from_directory(folder, image_size=(8, 8), label_mode=None, verbose=False)
    assert only[0].shape[1:] == (8, 8, 3)


def test_validation_split_is_disjoint_and_complete(folder):
    train, val = image_dataset_from_directory(folder, image_size=(8, 8), validation_split=0.25, subset="both",
                                              seed=3, verbose=False)
    assert len(train.file_paths) == 9 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    again = image_dataset_from_directory(folder, image_size=(8, 8), validation_split=0.25, subset="validation",
                                         seed=3, verbose=False)
    assert sorted(again.file_paths) == sorted(val.file_paths)  # the same seed gives the same split


def test_fit_on_the_folder_learns_dark_vs_bright(folder):
    nerve.set_random_seed(0)
    ds = image_dataset_from_directory(folder, image_size=(8, 8), batch_size=4, seed=1, verbose=False)
    model = nerve.Sequential([nerve.Input((8, 8, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(ds, epochs=15, verbose=0)
    assert model.evaluate(ds, verbose=0, return_dict=True)["accuracy"] == 1.0


def test_bad_arguments(folder):
    with pytest.raises(ValueError, match=r"image_dataset_from_directory: argument 'label_mode' expected"):
        image_dataset_from_directory(folder, label_mode="sparse")
    with pytest.raises(ValueError, match=r"validation_split with shuffle=True needs a 'seed'"):
        image_dataset_from_directory(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match=r"argument 'class_names' names folders that are not in"):
        image_dataset_from_directory(folder, class_names=["cats", "birds"])
    with pytest.raises(ValueError, match=r"argument 'directory' expected a folder"):
        image_dataset_from_directory(folder / "nope")


class Squares(PyDataset):
    """x -> x^2 batches, as a Keras 3 PyDataset subclass; counts its epochs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
        self.epochs = 0

    def __len__(self):
        return 4

    def __getitem__(self, i):
        x = self.x[i::4]  # every 4th point: each batch spans the whole range
        return x, x ** 2

    def on_epoch_end(self):
        self.epochs += 1


def test_pydataset_subclass_trains():
    data = Squares(workers=2, use_multiprocessing=False)
    model = nerve.Sequential([nerve.Input((1,)), layers.Dense(16, activation="tanh"), layers.Dense(1)])
    model.compile(optimizer=nerve.optimizers.Adam(0.05), loss="mse")
    h = model.fit(data, epochs=60, verbose=0)
    assert data.epochs == 60 and h.history["loss"][-1] < 0.1 * h.history["loss"][0]
    assert nerve.utils.Sequence is PyDataset and data.num_batches == 4
    with pytest.raises(NotImplementedError, match="must implement __len__"):
        len(PyDataset())
