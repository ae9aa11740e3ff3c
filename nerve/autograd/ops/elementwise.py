"""Elementwise arithmetic and math. Each backward is the local derivative times the output gradient,
summed back to the input's shape by ``unbroadcast`` (the adjoint of broadcasting)."""
import numpy as np

from ..function import Function, unbroadcast


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


def _broadcast_error(name, a, b):
    return ValueError(f"{name}: arguments 'x1' and 'x2' have shapes {tuple(_shape(a))} and {tuple(_shape(b))} "
                      f"that do not broadcast (trailing axes must be equal or 1)")


def _binary_error(name, a, b, err):
    """A ValueError from a binary op: a broadcast mismatch, or another NumPy complaint named by the op."""
    try:
        np.broadcast_shapes(tuple(_shape(a)), tuple(_shape(b)))
    except ValueError:
        return _broadcast_error(name, a, b)
    return ValueError(f"{name}: arguments 'x1' {tuple(_shape(a))} {getattr(a, 'dtype', type(a).__name__)} and "
                      f"'x2' {tuple(_shape(b))} {getattr(b, 'dtype', type(b).__name__)}: {err}")


class _Binary(Function):
    def forward(self, a, b):
        try:
            out = self.f(a, b)
        except ValueError as e:
            raise _binary_error(self.name, a, b, e) from None
        self.a, self.b = a, b
        return out


class Add(_Binary):
    name = "add"
    f = staticmethod(np.add)

    def forward(self, a, b):
        try:
            out = a + b
        except ValueError:
            raise _broadcast_error(self.name, a, b) from None
        self.sa, self.sb = _shape(a), _shape(b)
        return out

    def backward(self, g):
        return unbroadcast(g, self.sa), unbroadcast(g, self.sb)


class Subtract(Add):
    name = "subtract"

    def forward(self, a, b):
        try:
            out = a - b
        except ValueError:
            raise _broadcast_error(self.name, a, b) from None
        self.sa, self.sb = _shape(a), _shape(b)
        return out

    def backward(self, g):
        return unbroadcast(g, self.sa), (unbroadcast(-g, self.sb) if self.needs[1] else None)


class Multiply(_Binary):
    name = "multiply"
    f = staticmethod(np.multiply)

    def backward(self, g):
        a, b = self.a, self.b
        return (unbroadcast(g * b, _shape(a)) if self.needs[0] else None,
                unbroadcast(g * a, _shape(b)) if self.needs[1] else None)


class Divide(_Binary):
    name = "divide"
    f = staticmethod(np.true_divide)

    def backward(self, g):
        a, b = self.a, self.b
        ga = unbroadcast(g / b, _shape(a)) if self.needs[0] else None
        gb = unbroadcast(-g * a / (b * b), _shape(b)) if self.needs[1] else None  # d(a/b)/db = -a/b^2
        return ga, gb


class Power(_Binary):
    name = "power"
    f = staticmethod(np.power)

    def forward(self, a, b):
        self.out = out = super().forward(a, b)
        return out

    def backward(self, g):
        a, b, out = self.a, self.b, self.out
        ga = gb = None
        if self.needs[0]:  # d(a^b)/da = b a^(b-1)
            ga = unbroadcast(g * (2 * a if isinstance(b, (int, float)) and b == 2 else b * np.power(a, b - 1)),
                             _shape(a))
        if self.needs[1]:  # d(a^b)/db = a^b log a; taken as 0 at a == 0 (as PyTorch), NaN for a < 0
            with np.errstate(divide="ignore", invalid="ignore"):
                la = np.log(a)
            la = np.where(a == 0, 0, la)
            gb = unbroadcast(g * out * la, _shape(b))
        return ga, gb


class Maximum(_Binary):
    name = "maximum"
    f = staticmethod(np.maximum)

    def backward(self, g):
        a, b = self.a, self.b
        m = a >= b  # ties send the gradient to the first argument (as NumPy-style reference impls)
        return (unbroadcast(g * m, _shape(a)) if self.needs[0] else None,
                unbroadcast(g * ~m, _shape(b)) if self.needs[1] else None)


class Minimum(_Binary):
    name = "minimum"
    f = staticmethod(np.minimum)

    def backward(self, g):
        a, b = self.a, self.b
        m = a <= b
        return (unbroadcast(g * m, _shape(a)) if self.needs[0] else None,
                unbroadcast(g * ~m, _shape(b)) if self.needs[1] else None)


class Where(Function):
    name = "where"

    def forward(self, cond, a, b):
        try:
            out = np.where(cond, a, b)
        except ValueError:
            raise ValueError(f"where: arguments 'condition', 'x1', 'x2' have shapes {_shape(cond)}, "
                             f"{_shape(a)}, {_shape(b)} that do not broadcast") from None
        self.cond, self.sa, self.sb = cond, _shape(a), _shape(b)
        return out

    def backward(self, g):
        z = g.dtype.type(0)
        return (None,
                unbroadcast(np.where(self.cond, g, z), self.sa) if self.needs[1] else None,
                unbroadcast(np.where(self.cond, z, g), self.sb) if self.needs[2] else None)


# ---------------------------------------------------------------- unary
class _Unary(Function):
    pass


class Negative(_Unary):
    name = "negative"

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(_Unary):
    name = "exp"

    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, g):
        return g * self.out  # d e^x = e^x


class Log(_Unary):
    name = "log"

    def forward(self, a):
        self.a = a
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(a)

    def backward(self, g):
        return g / self.a


class Log1p(_Unary):
    name = "log1p"

    def forward(self, a):
        self.a = a
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log1p(a)

    def backward(self, g):
        return g / (1 + self.a)


class Sqrt(_Unary):
    name = "sqrt"

    def forward(self, a):
        with np.errstate(invalid="ignore"):
            self.out = np.sqrt(a)
        return self.out

    def backward(self, g):
        with np.errstate(divide="ignore"):
            return g / (2 * self.out)  # d sqrt(x) = 1 / (2 sqrt(x))


class Square(_Unary):
    name = "square"

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        return 2 * g * self.a


class Abs(_Unary):
    name = "abs"

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g):
        return g * np.sign(self.a)


class Sign(_Unary):
    name = "sign"

    def forward(self, a):
        return np.sign(a)

    def backward(self, g):
        return g * 0  # piecewise constant: zero almost everywhere


class Clip(_Unary):
    name = "clip"

    def forward(self, a, lo, hi):
        self.mask = (a >= lo) & (a <= hi)  # gradient passes where not clipped (boundaries included)
        return np.clip(a, lo, hi)

    def backward(self, g):
        return g * self.mask, None, None


class Cast(_Unary):
    name = "cast"

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src) if self.src.kind in "fc" else None, None
