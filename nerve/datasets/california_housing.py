"""California housing prices (Keras ``keras.datasets.california_housing``): 20,640 block groups of the 1990
US census, 8 features (MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude),
targets the median house values in dollars. ``version="small"`` keeps the first 600 samples (Keras' stand-in
for boston_housing). Keras' ``california_housing.npz``, pinned by Keras' published SHA-256 (``file_hash``;
not re-verified offline here)."""
from ._housing import load_split

FILENAME = "california_housing.npz"
SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"  # keras california_housing file_hash
SMALL = 600
last_source = None


def load_data(version="large", path=FILENAME, test_split=0.2, seed=113, download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: (samples, 8) and (samples,), shuffled with ``seed``,
    the last ``test_split`` fraction as the test set; ``version`` 'large' (20,640 samples) or 'small' (600)."""
    global last_source
    if version not in ("large", "small"):
        raise ValueError(f"california_housing.load_data: argument 'version' expected 'large' or 'small', got "
                         f"{version!r}")
    train, test, last_source = load_split("california_housing", path, FILENAME, SHA256, 8, test_split, seed,
                                          download, limit=SMALL if version == "small" else None)
    return train, test
