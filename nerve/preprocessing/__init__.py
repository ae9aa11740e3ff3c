"""``nerve.preprocessing``: data preprocessing utilities (Keras ``keras.preprocessing`` names)."""
from . import image
from .image import ImageDataGenerator
from . import sequence, text
from .sequence import TimeseriesDataset, lagged_design_matrix, pad_sequences, timeseries_dataset_from_array
from .text import Tokenizer, text_to_word_sequence, tokenizer_from_json
from .text_vectorization import TextVectorization
from .categorical import CategoryEncoding, Discretization, IntegerLookup, StringLookup


def __getattr__(name):  # keras.preprocessing.image_dataset_from_directory / text_dataset_from_directory
    if name in ("image_dataset_from_directory", "text_dataset_from_directory"):
        from .. import utils
        return getattr(utils, name)
    raise AttributeError(f"module 'nerve.preprocessing' has no attribute {name!r}")
