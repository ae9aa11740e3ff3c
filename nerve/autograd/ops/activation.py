"""Activation functions as fused Functions (forward + hand-written derivative), seed-002 §1.1."""
import math

import numpy as np

from ..function import Function

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


_HALF = {np.dtype(t): np.dtype(t).type(0.5) for t in ("float16", "float32", "float64")}


def _sigmoid(x):
    # sigma(x) = 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2: no overflow for large |x|
    # constants of x's own dtype: a Python float costs a conversion per ufunc call (NumPy 2)
    half = _HALF.get(x.dtype, 0.5)
    out = np.multiply(x, half)
    if out.ndim == 0:  # a 0-d input gives a NumPy scalar, which takes no out=
        return np.tanh(out) * half + half
    np.tanh(out, out=out)
    out *= half
    out += half
    return out


class Sigmoid(Function):
    name = "sigmoid"

    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, g):
        s = self.out
        return g * s * (1 - s)  # sigma' = sigma (1 - sigma)


class Tanh(Function):
    name = "tanh"

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)  # tanh' = 1 - tanh^2


class Relu(Function):
    name = "relu"

    def forward(self, x):
        self.out = np.maximum(x, 0)
        return self.out

    def backward(self, g):
        return g * (self.out > 0)  # relu' = 1[x > 0]


class LeakyRelu(Function):
    name = "leaky_relu"

    def forward(self, x, negative_slope):
        self.pos = x > 0
        self.slope = negative_slope
        return np.where(self.pos, x, x * negative_slope)

    def backward(self, g):
        return np.where(self.pos, g, g * self.slope), None


class Elu(Function):
    name = "elu"

    def forward(self, x, alpha):
        self.x, self.alpha = x, alpha
        self.neg = alpha * np.expm1(np.minimum(x, 0))  # alpha (e^x - 1) for x <= 0
        return np.where(x > 0, x, self.neg)

    def backward(self, g):
        return np.where(self.x > 0, g, g * (self.neg + self.alpha)), None  # elu' = elu + alpha for x <= 0


class Selu(Function):
    name = "selu"

    def forward(self, x):
        self.x = x
        self.neg = SELU_ALPHA * np.expm1(np.minimum(x, 0))
        return SELU_SCALE * np.where(x > 0, x, self.neg)

    def backward(self, g):
        return SELU_SCALE * np.where(self.x > 0, g, g * (self.neg + SELU_ALPHA))


class Softplus(Function):
    name = "softplus"

    def forward(self, x):
        self.x = x
        return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)  # log(1 + e^x), stable

    def backward(self, g):
        return g * _sigmoid(self.x)


class Softsign(Function):
    name = "softsign"

    def forward(self, x):
        self.d = 1 + np.abs(x)
        return x / self.d

    def backward(self, g):
        return g / (self.d * self.d)  # d/dx x / (1 + |x|) = 1 / (1 + |x|)^2


class HardSigmoid(Function):
    name = "hard_sigmoid"

    def forward(self, x):
        y = x / 6 + 0.5  # Keras 3: relu6(x + 3) / 6
        self.mask = (y > 0) & (y < 1)
        return np.clip(y, 0, 1)

    def backward(self, g):
        return g * self.mask / 6


class Silu(Function):
    name = "silu"

    def forward(self, x):
        self.x, self.s = x, _sigmoid(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * (s + self.x * s * (1 - s))  # (x sigma)' = sigma + x sigma (1 - sigma)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _erf(x):
    if type(x).__module__.startswith("cupy"):  # pragma: no cover - GPU only
        from cupyx.scipy.special import erf
        return erf(x)
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - scipy is optional
        erf = np.vectorize(math.erf, otypes=[x.dtype])
    return erf(x)


class Gelu(Function):
    name = "gelu"

    def forward(self, x, approximate=True):
        self.x, self.approximate = x, approximate
        if approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            self.t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))  # x Phi(x)
        return x * self.cdf

    def backward(self, g):
        x = self.x
        if self.approximate:
            t = self.t
            dt = (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return g * (0.5 * (1 + t) + 0.5 * x * dt), None
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return g * (self.cdf + x * pdf), None


def _axis_error(name, axis, x):
    return ValueError(f"{name}: argument 'axis' expected values in [{-x.ndim}, {x.ndim}) for an input of shape "
                      f"{tuple(x.shape)}, got {axis!r}")


class Softmax(Function):
    name = "softmax"

    def forward(self, x, axis=-1):
        try:
            m = x.max(axis=axis, keepdims=True)
        except (ValueError, IndexError):  # NumPy's AxisError; checked only on failure (hot op)
            raise _axis_error("softmax", axis, x) from None
        e = np.exp(x - m)  # max subtracted: no overflow (seed-002 §6.4)
        e /= e.sum(axis=axis, keepdims=True)
        self.out, self.axis = e, axis
        return e

    def backward(self, g):
        s = self.out
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True)), None  # J^T g = s (g - <g, s>)


class LogSoftmax(Function):
    name = "log_softmax"

    def forward(self, x, axis=-1):
        try:
            z = x - x.max(axis=axis, keepdims=True)
        except (ValueError, IndexError):
            raise _axis_error("log_softmax", axis, x) from None
        out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
        self.out, self.axis = out, axis
        return out

    def backward(self, g):
        return g - np.exp(self.out) * g.sum(axis=self.axis, keepdims=True), None
