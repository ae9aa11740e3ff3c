"""``nerve.ops``: the functional namespace with Keras 3 ``keras.ops`` names (see autograd/ops)."""
from .autograd.ops import *  # noqa: F401,F403
from .autograd.ops import (abs, absolute, add, amax, amin, argmax, argmin, cast, clip, concatenate,  # noqa: F401
                           convert_to_numpy, convert_to_tensor, divide, dot, einsum, elu, exp, expand_dims,
                           gelu, getitem, hard_sigmoid, leaky_relu, log, log1p, log_softmax, logsumexp, matmul,
                           max, maximum, mean, min, minimum, multiply, negative, one_hot, ones, ones_like, pad,
                           power, relu, relu6, reshape, selu, shape, sigmoid, sign, silu, softmax, softplus,
                           softsign, split, sqrt, square, squeeze, stack, std, stop_gradient, subtract, sum,
                           swapaxes, swish, take, tanh, tensordot, transpose, true_divide, var, where, zeros,
                           zeros_like)
from .autograd.ops.numpy_ops import *  # noqa: F401,F403,E402 - the rest of keras.ops's NumPy namespace
from .autograd.ops import image  # noqa: F401,E402 - keras.ops.image
from .autograd.ops.nn_functional import (average_pool, batch_normalization, binary_crossentropy,  # noqa: E402,F401
                                         categorical_crossentropy, conv, conv_transpose, depthwise_conv,
                                         log_sigmoid, max_pool, moments, multi_hot, normalize, separable_conv,
                                         sparse_categorical_crossentropy)
