"""``nerve.layers`` (Keras 3 names)."""
from .layer import InputSpec, Layer
from .core import Dense, Input, InputLayer, Lambda
from .activation_layers import ELU, PReLU, ReLU, Activation, LeakyReLU, Softmax
from .regularization import ActivityRegularization, Dropout, GaussianDropout, GaussianNoise
from .reshaping import Flatten, Permute, RepeatVector, Reshape
from .normalization import BatchNormalization, LayerNormalization
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract
from .misc import Identity, Masking
