"""Data sets (``nerve.datasets``): Keras-style loaders, the seeds' tabular and text data, and generators.

Keras loaders (``load_data()`` returning ``(x_train, y_train), (x_test, y_test)``): ``fashion_mnist``,
``mnist``, ``cifar10``, ``cifar100``, ``imdb``, ``reuters``, ``boston_housing``, ``california_housing``. Seed
data: ``hitters``, ``nyse``, ``default`` (ISLR), ``heart_disease`` (UCI Cleveland), ``twitter_sentiment``.
Generators: ``two_spirals``, ``planar_spiral``, ``make_blobs``, ``make_classification``.

Files are looked up offline first (cache under ``$NERVE_HOME/datasets``, system locations, ``NERVE_DATA_DIR``,
installed packages) and downloaded only as a last resort, checksummed and written atomically; failures raise
``DatasetError`` (an ``OSError``; ``ChecksumError`` and ``DatasetFormatError`` are also ``ValueError``s).
"""
from . import (boston_housing, california_housing, cifar10, cifar100, default, fashion_mnist,  # noqa: F401
               heart_disease, hitters, imdb, mnist, nyse, reuters, twitter_sentiment)
from ._fetch import ChecksumError, DatasetError, DatasetFormatError, cache_dir, nerve_home  # noqa: F401
from .spirals import planar_spiral, two_spirals  # noqa: F401
from .synthetic import make_blobs, make_classification  # noqa: F401
