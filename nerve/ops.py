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
from .autograd.ops.linalg_ops import *  # noqa: F401,F403,E402 - keras.ops.linalg (and logdet, slogdet)
from .autograd.ops.nn_extra import *  # noqa: F401,F403,E402 - more of keras.ops.nn (celu ... dot_product_attention)
from .autograd.ops.numpy_extra import *  # noqa: F401,F403,E402 - more of keras.ops's NumPy namespace
from .autograd.ops.ctc import ctc_decode, ctc_loss  # noqa: F401,E402 - keras.ops.(nn.)ctc_loss / ctc_decode
from .autograd.ops.fft import *  # noqa: F401,F403,E402 - fft, fft2, ifft2, rfft, irfft, stft, istft ((real, imag) pairs)
from .autograd.ops.functional_extra import custom_gradient, rearrange, vectorize  # noqa: F401,E402
from .autograd.higher_order import jvp  # noqa: F401,E402 - keras.ops.jvp / keras.ops.linalg.jvp


# keras.ops.nn / keras.ops.numpy / keras.ops.linalg: the same functions under Keras's submodule names (Keras 3.15's
# lists; a name nerve does not have is absent there too). `import nerve.ops.nn` works through sys.modules.
_NAMESPACES = {
    "linalg": """cholesky cholesky_inverse det eig eigh inv jvp lstsq lu_factor matrix_rank norm pinv qr solve
        solve_triangular svd""",
    "nn": """adaptive_average_pool adaptive_max_pool average_pool batch_normalization binary_crossentropy
        categorical_crossentropy celu conv conv_transpose ctc_decode ctc_loss depth_to_space
        depthwise_conv dot_product_attention elu fold gelu glu hard_shrink hard_sigmoid hard_silu
        hard_swish hard_tanh layer_normalization leaky_relu log_sigmoid log_softmax max_pool moments
        multi_hot normalize one_hot polar psnr relu relu6 rms_normalization selu separable_conv
        sigmoid silu soft_shrink softmax softplus softsign space_to_depth
        sparse_categorical_crossentropy sparse_plus sparse_sigmoid sparsemax squareplus swish
        tanh_shrink threshold unfold""",
    "numpy": """abs absolute add all allclose amax amin angle any append arange arccos arccosh arcsin arcsinh arctan
        arctan2 arctanh argmax argmin argpartition argsort array array_split average bartlett
        bincount bitwise_and bitwise_invert bitwise_left_shift bitwise_not bitwise_or
        bitwise_right_shift bitwise_xor blackman broadcast_to cbrt ceil clip concatenate conj
        conjugate copy corrcoef correlate cos cosh count_nonzero cross cumprod cumsum deg2rad diag
        diagflat diagonal diff digitize divide divide_no_nan dot dsplit dstack einsum empty
        empty_like equal exp exp2 expand_dims expm1 eye fabs flip fliplr flipud floor floor_divide
        fmax fmin fmod full full_like gcd geomspace get_item greater greater_equal hamming hanning
        heaviside histogram hsplit hstack hypot i0 identity imag inner isclose isfinite isin isinf
        isnan isneginf isposinf isreal kaiser kron lcm ldexp left_shift less less_equal linspace log
        log10 log1p log2 logaddexp logaddexp2 logical_and logical_not logical_or logical_xor
        logspace matmul max maximum mean median meshgrid min minimum mod moveaxis multiply
        nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin
        nanpercentile nanprod nanquantile nanstd nansum nanvar ndim negative nextafter nonzero
        not_equal ones ones_like outer pad percentile power prod ptp quantile rad2deg ravel real
        reciprocal repeat reshape right_shift roll rot90 round searchsorted select sign signbit sin
        sinc sinh size slogdet sort split sqrt square squeeze stack std subtract sum swapaxes take
        take_along_axis tan tanh tensordot tile trace transpose trapezoid tri tril triu true_divide
        trunc unique unravel_index vander var vdot vectorize view vsplit vstack where zeros
        zeros_like""",
}


def _namespace(key, names):
    import sys
    import types
    mod = types.ModuleType(f"{__name__}.{key}", f"keras.ops.{key}: the {key} functions of nerve.ops")
    g = globals()
    mod.__all__ = [n for n in names.split() if n in g]
    for n in mod.__all__:
        setattr(mod, n, g[n])
    sys.modules[mod.__name__] = mod
    return mod


nn, numpy, linalg = (_namespace(k, _NAMESPACES[k]) for k in ("nn", "numpy", "linalg"))
del _namespace
