"""Fashion-MNIST (Keras ``keras.datasets.fashion_mnist``): 60,000 + 10,000 28x28 uint8 images, 10 classes.

Found offline first (see ``nerve.datasets._fetch``): the nerve cache, Debian's ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``), ``NERVE_DATA_DIR``, then downloaded from Keras' mirror. Each IDX file
may be gzipped or raw; the pinned SHA-256 is that of the decompressed bytes (Debian recompressed the ``.gz``
files, so their digests differ from upstream's, while the content is identical).

``load_data(allow_embedded=True)`` falls back to the stratified 10,000 / 2,000 subset shipped inside nerve
(``nerve/datasets/data/fashion_mnist_small.npz``, made by ``tools/make_embedded_fashion.py``) when the full
set is nowhere to be had, and says so. ``last_source`` (module attribute) and ``return_source=True`` tell
which source was used.
"""
import logging
import os

import numpy as np

from ._fetch import DatasetError, Resource, locate, read_bytes, verify
from ._idx import parse_idx
from ._npz import read_npz

log = logging.getLogger("nerve.datasets")

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")
BASE_URLS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
             "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
# SHA-256 of the decompressed IDX bytes (verified against the Debian files; see shared/data/README.md)
FILES = {
    "x_train": ("train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                (60000, 28, 28)),
    "y_train": ("train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                (60000,)),
    "x_test": ("t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
               (10000, 28, 28)),
    "y_test": ("t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
               (10000,)),
}
EMBEDDED = os.path.join(os.path.dirname(__file__), "data", "fashion_mnist_small.npz")
last_source = None


def resource(key):
    name, sha, _ = FILES[key]
    return Resource("fashion_mnist", (name + ".gz", name), urls=tuple(b + name + ".gz" for b in BASE_URLS),
                    content_sha256=sha)


def load_full(download=True, verbose=True):
    """The full set as a dict of arrays plus a description of where it came from."""
    arrays, sources = {}, []
    for key, (name, _, shape) in FILES.items():
        res = resource(key)
        path, source = locate(res, download=download, check=False, verbose=verbose)
        data = read_bytes(path, res.dataset)
        verify(res, path, data=data)
        arr = parse_idx(data, f"fashion_mnist: '{path}'")
        if arr.shape != shape or arr.dtype != np.uint8:
            raise DatasetError(f"fashion_mnist: '{path}' holds {arr.dtype} {arr.shape}, expected uint8 {shape}")
        arrays[key] = arr
        where = f"{source} ({os.path.dirname(path)})"
        if where not in sources:
            sources.append(where)
    return arrays, "full: " + ", ".join(sources)


def load_embedded():
    """The subset shipped with nerve: 10,000 train / 2,000 test images, 1,000 / 200 per class."""
    d = read_npz(EMBEDDED, "fashion_mnist (embedded subset)")
    return {k: d[k] for k in ("x_train", "y_train", "x_test", "y_test")}, \
        f"embedded subset ({len(d['y_train']):,} train / {len(d['y_test']):,} test images)"


def load_data(allow_embedded=False, return_source=False, download=True, verbose=True):
    """Return ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and uint8 labels (N,).

    Args:
        allow_embedded: when the full set cannot be found or downloaded, use the small subset that ships
            with nerve instead of raising (a one-line note is logged).
        return_source: also return a string saying which source was used (also in ``last_source``).
        download: allow downloading when no local copy exists.
    """
    global last_source
    try:
        arrays, source = load_full(download=download, verbose=verbose)
    except DatasetError as e:
        if not allow_embedded:
            raise type(e)(f"{e}\nOr call fashion_mnist.load_data(allow_embedded=True) to use the small "
                               f"subset shipped with nerve.") from e
        arrays, source = load_embedded()
        log.warning("fashion_mnist: full data set unavailable (%s); using the %s", str(e).splitlines()[0], source)
    else:
        log.info("fashion_mnist: using the %s", source)
    last_source = source
    out = (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
    return (*out, source) if return_source else out
