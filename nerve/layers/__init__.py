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
from .wrappers import Bidirectional, TimeDistributed, Wrapper
from .preprocessing_image import (RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
                                  Rescaling, Resizing)
from .convolutional_extra import (Conv1DTranspose, Convolution1DTranspose, DepthwiseConv1D, DepthwiseConv2D,
                                  SeparableConv1D, SeparableConv2D, SeparableConvolution1D, SeparableConvolution2D)
from .normalization_extra import (AlphaDropout, GroupNormalization, RMSNormalization, SpectralNormalization,
                                  UnitNormalization)
from .einsum_dense import EinsumDense
from .layers_3d import *  # noqa: F401,F403 - Conv3D, pooling / padding / cropping / upsampling in 3-D
from .adaptive_pooling import *  # noqa: F401,F403
from .conv_lstm import *  # noqa: F401,F403
from .image_color import *  # noqa: F401,F403 - color augmentation layers
from .image_augment import *  # noqa: F401,F403 - geometric and mixing augmentation layers
from .layers_more import *  # noqa: F401,F403 - GroupQueryAttention, ReversibleEmbedding, Hashing, HashedCrossing
from .audio_preprocessing import *  # noqa: F401,F403 - STFTSpectrogram, MelSpectrogram
from .image_more import *  # noqa: F401,F403 - AugMix, ContrastLimitedAdaptiveHistogramEqualization


def serialize(layer):
    """Keras 3 ``keras.layers.serialize``: the layer's {'class_name', 'config', 'registered_name'} dict."""
    from ..saving.registry import serialize as _serialize
    if not isinstance(layer, Layer):
        raise TypeError(f"layers.serialize: argument 'layer' expected a Layer instance, got {type(layer).__name__}")
    return _serialize(layer)


def deserialize(config, custom_objects=None):
    """Keras 3 ``keras.layers.deserialize``: the layer described by ``serialize``'s dict (class names resolve
    through the registry of nerve's layers, ``custom_objects`` and registered custom classes only)."""
    from ..saving.registry import deserialize as _deserialize
    obj = _deserialize(config, kind="layers", custom_objects=custom_objects)
    if not isinstance(obj, Layer):
        raise ValueError(f"layers.deserialize: the config describes a {type(obj).__name__}, not a Layer: {config!r}")
    return obj


def __getattr__(name):  # TextVectorization lives in nerve.preprocessing (imported lazily: no import cycle)
    if name == "TextVectorization":
        from ..preprocessing.text_vectorization import TextVectorization
        return TextVectorization
    if name in ("StringLookup", "IntegerLookup", "CategoryEncoding", "Discretization"):
        from ..preprocessing import categorical
        return getattr(categorical, name)
    raise AttributeError(f"module 'nerve.layers' has no attribute {name!r}")
