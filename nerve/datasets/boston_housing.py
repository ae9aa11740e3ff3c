"""Boston housing prices (Keras ``keras.datasets.boston_housing``): 506 samples of 13 attributes of Boston
suburbs in the 1970s, targets the median home values in k$. Keras warns that the data set has an ethical
problem (its attribute "B" assumes that racial self-segregation influences house prices) and discourages its
use; ``california_housing`` (``version="small"``) is its replacement. Keras' ``boston_housing.npz``, pinned by
Keras' published SHA-256 (``file_hash``; not re-verified offline here)."""
from ._housing import load_split

FILENAME = "boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"  # keras boston_housing file_hash
last_source = None


def load_data(path=FILENAME, test_split=0.2, seed=113, download=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: float64 (samples, 13) and (samples,), shuffled with
    ``seed``, the last ``test_split`` fraction as the test set (404 / 102 samples by default)."""
    global last_source
    train, test, last_source = load_split("boston_housing", path, FILENAME, SHA256, 13, test_split, seed, download)
    return train, test
