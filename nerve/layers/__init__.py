"""``nerve.layers`` (Keras 3 names)."""
from .layer import InputSpec, Layer
from .core import Dense, Input, InputLayer, Lambda
from .activation_layers import ELU, PReLU, ReLU, Activation, LeakyReLU, Softmax
from .regularization import ActivityRegularization, Dropout, GaussianDropout, GaussianNoise
from .reshaping import Flatten, Permute, RepeatVector, Reshape
from .normalization import BatchNormalization, LayerNormalization
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .merging import add, average, concatenate, dot, maximum, minimum, multiply, subtract
from .misc import Identity, Masking
from .convolutional import (Conv1D, Conv2D, Conv2DTranspose, Convolution1D, Convolution2D,
                            Convolution2DTranspose)
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D, GlobalAveragePooling1D,
                      GlobalAveragePooling2D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)
from .spatial import (Cropping1D, Cropping2D, SpatialDropout1D, SpatialDropout2D, UpSampling1D, UpSampling2D,
                      ZeroPadding1D, ZeroPadding2D)
from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from .recurrent import GRU, LSTM, RNN, SimpleRNN
from .embedding import Embedding
from .attention import AdditiveAttention, Attention, MultiHeadAttention
from .preprocessing_numeric import Normalization
from .wrappers import Bidirectional, TimeDistributed
from .preprocessing_image import (RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
                                  Rescaling, Resizing)


def __getattr__(name):  # TextVectorization lives in nerve.preprocessing (imported lazily: no import cycle)
    if name == "TextVectorization":
        from ..preprocessing.text_vectorization import TextVectorization
        return TextVectorization
    if name in ("StringLookup", "IntegerLookup", "CategoryEncoding", "Discretization"):
        from ..preprocessing import categorical
        return getattr(categorical, name)
    raise AttributeError(f"module 'nerve.layers' has no attribute {name!r}")
