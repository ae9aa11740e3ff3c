"""Differentiable backward rules for ``grad(create_graph=True)`` (autograd/higher_order.py).

``Function.backward`` works on raw arrays and records nothing. Here each op's backward is written a second
time, with differentiable ops: ``rule(fn, g)`` returns one gradient Tensor (or None) per input of ``fn``, with the
same formulas as the op's backward, e.g. for C = A B: dA = dC B^T, dB = A^T dC as matmul nodes, whose own backward
a later ``.backward()`` runs. Masks (ReLU's [z > 0], LeakyReLU's slopes, the argmax of a maximum or of a pooling
window) are constants: their derivative is zero almost everywhere. Fused normalization gets its rule from a
composite of differentiable ops (``_recomputed``), and so do the fused recurrences (unrolled step by step); linear
maps (pooling, im2col) from their adjoint (``_LinearMap``). An op without a rule raises NotImplementedError
naming it (cumulative sums, sorting, ...).
"""
import numpy as np

from .. import backend
from .function import Function
from .tensor import Tensor


def _ops():
    from .. import ops
    return ops


def _const(a):
    return Tensor._make(a, None, 0)


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _unbroadcast(g, shape):
    """Differentiable adjoint of broadcasting: sum g down to ``shape`` (function.unbroadcast on tensors)."""
    shape = tuple(shape)
    if _shape(g) == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return _ops().reshape(_ops().sum(g, axis=axes), shape)


def _broadcast(g, shape):
    """g (already with the reduced axes as size 1) broadcast to ``shape``; its backward sums back."""
    if _shape(g) == tuple(shape):
        return g
    xp = backend.get_array_module(g.data)
    return _ops().multiply(g, _const(xp.ones(shape, g.data.dtype)))


def _mask(g, m):
    """g times a constant mask array (a derivative that is piecewise constant)."""
    return _ops().multiply(g, _const(m.astype(g.data.dtype, copy=False)))


def _elementwise(fn_derivative):
    def rule(fn, g):
        return (_ops().multiply(g, fn_derivative(fn.inputs[0])),) + (None,) * (len(fn.inputs) - 1)
    return rule


def _add(fn, g):
    a, b = fn.inputs
    ga, gb = fn.needs
    return (_unbroadcast(g, _shape(a)) if ga else None), (_unbroadcast(g, _shape(b)) if gb else None)


def _subtract(fn, g):
    a, b = fn.inputs
    ga, gb = fn.needs
    return (_unbroadcast(g, _shape(a)) if ga else None), (_unbroadcast(_ops().negative(g), _shape(b)) if gb else None)


def _multiply(fn, g):
    a, b = fn.inputs
    o = _ops()
    return (_unbroadcast(o.multiply(g, b), _shape(a)) if fn.needs[0] else None,
            _unbroadcast(o.multiply(g, a), _shape(b)) if fn.needs[1] else None)


def _divide(fn, g):
    a, b = fn.inputs  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
    o = _ops()
    return (_unbroadcast(o.divide(g, b), _shape(a)) if fn.needs[0] else None,
            _unbroadcast(o.negative(o.divide(o.multiply(g, a), o.multiply(b, b))), _shape(b)) if fn.needs[1] else None)


def _power(fn, g):
    a, b = fn.inputs
    if fn.needs[1]:
        raise NotImplementedError("grad(create_graph=True): op 'power' with a tensor exponent that requires grad "
                                  "has no differentiable backward yet (a constant exponent has)")
    o = _ops()  # d(a^b)/da = b a^(b-1)
    bb = b.data if isinstance(b, Tensor) else b
    return _unbroadcast(o.multiply(g, o.multiply(bb, o.power(a, bb - 1))), _shape(a)), None


def _sum(fn, g, scale=None):
    keep = [1 if i in fn.axes else n for i, n in enumerate(fn.shape)]
    g = _ops().reshape(g, keep)
    if scale is not None:
        g = _ops().divide(g, scale)
    return _broadcast(g, fn.shape), None, None


def _reshape(fn, g):
    return _ops().reshape(g, fn.shape), None


def _transpose(fn, g):
    return _ops().transpose(g, fn.inv), None


def _matmul(fn, g):
    a, b = fn.inputs
    if a.ndim < 2 or b.ndim < 2:
        raise NotImplementedError("grad(create_graph=True): op 'matmul' with a vector operand has no "
                                  "differentiable backward yet; reshape it to a matrix")
    o = _ops()
    ga = _unbroadcast(o.matmul(g, o.swapaxes(b, -1, -2)), _shape(a)) if fn.needs[0] else None
    gb = _unbroadcast(o.matmul(o.swapaxes(a, -1, -2), g), _shape(b)) if fn.needs[1] else None
    return ga, gb


def _dense(fn, g):
    """Dense: z = x2 W + b, y = act(z); d = dy act'(z); dx = d W^T, dW = x2^T d, db = sum_rows d."""
    x, w, b = fn.inputs[:3]
    o = _ops()
    x2 = o.reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
    g = o.reshape(g, fn.out.shape) if g.ndim != 2 else g
    act = fn.act
    if act == "relu":
        d = _mask(g, fn.out > 0)
    elif act in ("sigmoid", "tanh"):
        z = o.matmul(x2, w) if b is None else o.add(o.matmul(x2, w), b)  # act'(z) depends on W: recomputed
        y = o.sigmoid(z) if act == "sigmoid" else o.tanh(z)
        d = o.multiply(g, o.multiply(y, o.subtract(1.0, y)) if act == "sigmoid" else o.subtract(1.0, o.square(y)))
    else:
        d = g
    gx = o.reshape(o.matmul(d, o.transpose(w)), _shape(x)) if fn.needs[0] else None
    gw = o.matmul(o.transpose(x2), d) if fn.needs[1] else None
    gb = o.sum(d, axis=0) if b is not None and fn.needs[2] else None
    return gx, gw, gb, None


def _maximum(fn, g, first_wins):
    a, b = fn.inputs
    ad = a.data if isinstance(a, Tensor) else a
    bd = b.data if isinstance(b, Tensor) else b
    m = ad >= bd if first_wins else ad <= bd
    return _unbroadcast(_mask(g, m), _shape(a)), _unbroadcast(_mask(g, ~m), _shape(b))


def _where(fn, g):
    zero = _const(backend.get_array_module(g.data).zeros((), g.data.dtype))
    o = _ops()
    return (None, _unbroadcast(o.where(fn.cond, g, zero), fn.sa), _unbroadcast(o.where(fn.cond, zero, g), fn.sb))


def _concatenate(fn, g):
    o = _ops()
    out, start = [], 0
    bounds = list(fn.splits) + [g.shape[fn.ax]]
    for stop in bounds:
        idx = (slice(None),) * fn.ax + (slice(start, stop),)
        out.append(o.getitem(g, idx))
        start = stop
    return tuple(out)


class _ScatterInto(Function):
    """The adjoint of x[idx] as an op: zeros of ``shape`` with g added at ``idx`` (repeated indices accumulate);
    its own backward reads g back with ``[idx]``, so getitem's gradient is differentiable."""
    name = "scatter_into"

    def forward(self, g, idx, shape, adv):
        from .ops.shape import scatter_into
        self.idx = idx
        return scatter_into(g, idx, shape, g.dtype, adv)

    def backward(self, go):
        return go[self.idx], None, None, None


def _getitem(fn, g):
    return _ScatterInto.apply(g, fn.idx, fn.shape, fn.adv), None


def _elementwise_table():
    """Derivatives of ops/numpy_ops.py's elementwise functions as differentiable expressions of x."""
    import math
    o = _ops()
    return {
        "sin": lambda x: o.cos(x), "cos": lambda x: o.negative(o.sin(x)),
        "tan": lambda x: o.add(1.0, o.square(o.tan(x))),
        "arcsin": lambda x: o.divide(1.0, o.sqrt(o.subtract(1.0, o.square(x)))),
        "arccos": lambda x: o.divide(-1.0, o.sqrt(o.subtract(1.0, o.square(x)))),
        "arctan": lambda x: o.divide(1.0, o.add(1.0, o.square(x))),
        "sinh": lambda x: o.cosh(x), "cosh": lambda x: o.sinh(x),
        "arcsinh": lambda x: o.divide(1.0, o.sqrt(o.add(o.square(x), 1.0))),
        "arccosh": lambda x: o.divide(1.0, o.sqrt(o.subtract(o.square(x), 1.0))),
        "arctanh": lambda x: o.divide(1.0, o.subtract(1.0, o.square(x))),
        "expm1": lambda x: o.exp(x),
        "log2": lambda x: o.divide(1.0 / math.log(2), x), "log10": lambda x: o.divide(1.0 / math.log(10), x),
        "reciprocal": lambda x: o.divide(-1.0, o.square(x)),
        "rsqrt": lambda x: o.multiply(-0.5, o.power(x, -1.5)),
        "erf": lambda x: o.multiply(2 / math.sqrt(math.pi), o.exp(o.negative(o.square(x)))),
    }


_TABLE = []


def _numpy_elementwise(fn, g):
    if not _TABLE:
        _TABLE.append(_elementwise_table())
    table = _TABLE[0]
    if fn.name not in table:
        raise NotImplementedError(f"grad(create_graph=True): op '{fn.name}' has no differentiable backward yet")
    return (_ops().multiply(g, table[fn.name](fn.inputs[0])),)


def _gelu(fn, g):
    import math
    o = _ops()
    x = fn.inputs[0]
    if fn.approximate:  # d/dx 0.5 x (1 + t), t = tanh(c (x + 0.044715 x^3))
        c = math.sqrt(2 / math.pi)
        t = o.tanh(o.multiply(c, o.add(x, o.multiply(0.044715, o.power(x, 3.0)))))
        dt = o.multiply(o.subtract(1.0, o.square(t)), o.multiply(c, o.add(1.0, o.multiply(3 * 0.044715, o.square(x)))))
        d = o.add(o.multiply(0.5, o.add(1.0, t)), o.multiply(o.multiply(0.5, x), dt))
    else:  # Phi(x) + x phi(x)
        cdf = o.multiply(0.5, o.add(1.0, o.erf(o.divide(x, math.sqrt(2.0)))))
        pdf = o.divide(o.exp(o.multiply(-0.5, o.square(x))), math.sqrt(2 * math.pi))
        d = o.add(cdf, o.multiply(x, pdf))
    return o.multiply(g, d), None


def _elu_like(fn, g, alpha, scale=1.0):
    o = _ops()
    x = fn.inputs[0]
    pos = x.data > 0  # d/dx = scale for x > 0, scale alpha e^x below
    neg = o.multiply(scale * alpha, o.exp(o.minimum(x, 0.0)))
    d = o.where(_const(pos), _const(backend.get_array_module(pos).asarray(scale, x.data.dtype)), neg)
    return (o.multiply(g, d),) + (None,) * (len(fn.inputs) - 1)


def _softmax(fn, g):
    o = _ops()
    s = o.softmax(fn.inputs[0], axis=fn.axis)  # J^T g = s (g - <g, s>)
    return o.multiply(s, o.subtract(g, o.sum(o.multiply(g, s), axis=fn.axis, keepdims=True))), None


def _log_softmax(fn, g):
    o = _ops()
    s = o.softmax(fn.inputs[0], axis=fn.axis)
    return o.subtract(g, o.multiply(s, o.sum(g, axis=fn.axis, keepdims=True))), None


def _maps2d(geom):
    """im2col / col2im of a Conv2DFn's geometry (cols (N*OH*OW, kh*kw*C)) as mutually adjoint array functions."""
    from .ops.conv import _pad, col2im, windows
    xshape, pshape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow = geom
    n, c = xshape[0], xshape[3]

    def im2col(a):
        return windows(_pad(a, ph, pw), kh, kw, sh, sw, dh, dw, oh, ow).reshape(n * oh * ow, kh * kw * c).copy()

    def cols2im(cols):
        dxp = col2im(cols.reshape(n, oh, ow, kh, kw, c), pshape, kh, kw, sh, sw, dh, dw, oh, ow)
        return backend.get_array_module(dxp).ascontiguousarray(dxp[:, ph[0]: pshape[1] - ph[1],
                                                                   pw[0]: pshape[2] - pw[1], :])
    return im2col, cols2im


def _conv2d(fn, g):
    """conv2d as cols @ W2 (+ b, ReLU): dW = cols^T d, dx = col2im(d W2^T), db = sum_rows d, d = dy [y > 0]."""
    o = _ops()
    x, w = fn.inputs[:2]
    b = fn.inputs[2] if len(fn.inputs) > 2 else None
    xshape, pshape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow = fn.geom
    f = w.shape[3]
    d = o.reshape(g, (-1, f))
    if fn.act == "relu":
        d = _mask(d, fn.out > 0)
    w2 = o.reshape(w, (kh * kw * xshape[3], f))
    needs = tuple(fn.needs) + (False,) * (3 - len(fn.needs))
    im2col, cols2im = _maps2d(fn.geom)
    gx = _LinearMap.apply(o.matmul(d, o.transpose(w2)), cols2im, im2col) if needs[0] else None
    gw = o.reshape(o.matmul(o.transpose(_LinearMap.apply(x, im2col, cols2im)), d), _shape(w)) if needs[1] else None
    gb = o.sum(d, axis=0) if b is not None and needs[2] else None
    return (gx, gw, gb)[:len(fn.inputs)] + (None,) * max(0, len(fn.inputs) - 3)


def _conv2d_transpose(fn, g):
    """Transposed convolution y = col2im(x2 W2^T) (the adjoint of conv2d): its backward reads the windows of the
    padded output gradient, cols = im2col(g): dx = cols W2, dW = cols^T x2, db = sum g."""
    o = _ops()
    x, w = fn.inputs[:2]
    b = fn.inputs[2] if len(fn.inputs) > 2 else None
    pshape, ph, pw, kh, kw, sh, sw, dh, dw, h, wd = fn.geom
    f, c = w.shape[2], w.shape[3]
    im2col, cols2im = _maps2d((_shape(g), pshape, ph, pw, kh, kw, sh, sw, dh, dw, h, wd))  # a conv over g
    needs = tuple(fn.needs) + (False,) * (3 - len(fn.needs))
    cols = _LinearMap.apply(g, im2col, cols2im) if needs[0] or needs[1] else None
    gx = o.reshape(o.matmul(cols, o.reshape(w, (kh * kw * f, c))), _shape(x)) if needs[0] else None
    gw = o.reshape(o.matmul(o.transpose(cols), o.reshape(x, (-1, c))), _shape(w)) if needs[1] else None
    gb = o.sum(g, axis=(0, 1, 2)) if b is not None and needs[2] else None
    return (gx, gw, gb)[:len(fn.inputs)] + (None,) * max(0, len(fn.inputs) - 3)


def _maps3d(geom_pads, k, s, d, o, pshape):
    """im2col / col2im of a 3-D convolution's geometry as a pair of mutually adjoint array functions."""
    import math
    from .ops.conv3d import _crop, _pad, col2im, windows

    def im2col(a):
        return windows(_pad(a, geom_pads), k, s, d, o).reshape(-1, math.prod(k) * a.shape[-1]).copy()

    def cols2im(cols):
        c = pshape[-1]
        dx = col2im(cols.reshape((pshape[0],) + tuple(o) + tuple(k) + (c,)), pshape, k, s, d, o)
        return backend.get_array_module(dx).ascontiguousarray(_crop(dx, geom_pads))
    return im2col, cols2im


def _conv3d(fn, g):
    """conv3d as cols @ W2 (+ b, ReLU), as _conv2d: dW = cols^T d, dx = col2im(d W2^T), db = sum_rows d."""
    o = _ops()
    x, w = fn.inputs[:2]
    b = fn.inputs[2] if len(fn.inputs) > 2 else None
    xshape, pshape, pads, k, st, dl, out = fn.geom
    f = w.shape[4]
    im2col, cols2im = _maps3d(pads, k, st, dl, out, pshape)
    d = o.reshape(g, (-1, f))
    if fn.act == "relu":
        d = _mask(d, fn.out > 0)
    w2 = o.reshape(w, (-1, f))
    needs = tuple(fn.needs) + (False,) * (3 - len(fn.needs))
    gx = _LinearMap.apply(o.matmul(d, o.transpose(w2)), cols2im, im2col) if needs[0] else None
    gw = o.reshape(o.matmul(o.transpose(_LinearMap.apply(x, im2col, cols2im)), d), _shape(w)) if needs[1] else None
    gb = o.sum(d, axis=0) if b is not None and needs[2] else None
    return (gx, gw, gb)[:len(fn.inputs)] + (None,) * max(0, len(fn.inputs) - 3)


def _conv3d_transpose(fn, g):
    """Transposed 3-D convolution: cols = im2col(g) over the forward conv's geometry; dx = cols W2,
    dW = cols^T x2, db = sum g (as _conv2d_transpose)."""
    o = _ops()
    x, w = fn.inputs[:2]
    b = fn.inputs[2] if len(fn.inputs) > 2 else None
    pads, k, st, dl, spatial = fn.geom
    f, c = w.shape[3], w.shape[4]
    pshape = (g.shape[0],) + tuple(n + lo + hi for n, (lo, hi) in zip(g.shape[1:4], pads)) + (f,)
    im2col, cols2im = _maps3d(pads, k, st, dl, spatial, pshape)
    needs = tuple(fn.needs) + (False,) * (3 - len(fn.needs))
    cols = _LinearMap.apply(g, im2col, cols2im) if needs[0] or needs[1] else None
    gx = o.reshape(o.matmul(cols, o.reshape(w, (-1, c))), _shape(x)) if needs[0] else None
    gw = o.reshape(o.matmul(o.transpose(cols), o.reshape(x, (-1, c))), _shape(w)) if needs[1] else None
    gb = o.sum(g, axis=(0, 1, 2, 3)) if b is not None and needs[2] else None
    return (gx, gw, gb)[:len(fn.inputs)] + (None,) * max(0, len(fn.inputs) - 3)


def _max_pool3d(fn, g):
    """3-D max pooling: its backward routes g by the forward's arg-max (a constant scatter); the adjoint gathers
    each window's arg-max element."""
    from .ops.conv3d import _pad, windows
    pshape, pads, k, st, out = fn.geom
    arg = fn.arg

    def gather(h):
        n, c = h.shape[0], h.shape[4]
        flat = windows(_pad(h, pads), k, st, (1, 1, 1), out).transpose(0, 1, 2, 3, 7, 4, 5, 6)
        flat = flat.reshape((n,) + tuple(out) + (c, -1))
        return backend.get_array_module(h).take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return _LinearMap.apply(g, lambda a: fn.backward(a)[0], gather), None, None, None


def _avg_pool3d(fn, g):
    from .ops.conv3d import AvgPool3DFn
    return (_LinearMap.apply(g, lambda a: fn.backward(a)[0], lambda h: AvgPool3DFn().forward(h, *fn.params)),
            None, None, None)


def _recomputed(composite):
    """The rule of a fused op from a composite of differentiable ops computing the same thing:
    dL/dinputs = grad(<g, composite(inputs)>, inputs, create_graph=True), with the composite's own rules (one g
    per output of the op)."""
    def rule(fn, *g):
        ins = fn.inputs
        idx = [i for i, (t, need) in enumerate(zip(ins, fn.needs)) if need]
        from .higher_order import grad
        y = composite(fn, *ins)
        ys = list(y) if isinstance(y, tuple) else [y]
        gs = grad(ys, [ins[i] for i in idx], grad_outputs=list(g), create_graph=True, allow_unused=True)
        out = [None] * len(ins)
        for i, gi in zip(idx, gs):
            out[i] = gi
        return tuple(out)
    return rule


def _normalize(fn, x, gamma, beta, *_):
    """NormalizeFn (batch / layer normalization in training): y = gamma (x - mean) / sqrt(var + eps) + beta."""
    o = _ops()
    xc = o.subtract(x, o.mean(x, axis=fn.axes, keepdims=True))
    y = o.divide(xc, o.sqrt(o.add(o.mean(o.multiply(xc, xc), axis=fn.axes, keepdims=True), fn.epsilon)))
    if gamma is not None:
        y = o.multiply(y, o.reshape(gamma, fn.bshape))
    return y if beta is None else o.add(y, o.reshape(beta, fn.bshape))


def _affine_norm(fn, x, gamma, beta, mean, var, *_):
    """AffineNormFn (batch normalization in inference): y = (x - mean) / sqrt(var + eps) gamma + beta, with the
    moving statistics constant."""
    o = _ops()
    y = o.multiply(o.subtract(x, _const(fn.mean)), _const(fn.inv_std))
    if gamma is not None:
        y = o.multiply(y, o.reshape(gamma, fn.bshape))
    return y if beta is None else o.add(y, o.reshape(beta, fn.bshape))


def _rnn(fn, x, states, step):
    """The recurrences of ops/recurrent.py unrolled with differentiable ops: ``step(x_t, states)`` gives the new
    states (h first); a mask keeps the previous state where it is 0 (Keras); returns (output, *final states)."""
    o = _ops()
    xt = o.transpose(x, (1, 0, 2))  # time-major
    T = xt.shape[0]
    m = fn.m  # (T, N, 1) in processing order, or None
    hs = []
    for k, t in enumerate(range(T - 1, -1, -1) if fn.go_backwards else range(T)):
        new = step(xt[t], states)
        if m is not None:
            mt = _const(m[k])
            new = [o.add(s, o.multiply(mt, o.subtract(n, s))) for s, n in zip(states, new)]
        states = new
        hs.append(states[0])
    if fn.return_sequences:
        out = o.stack(hs, axis=1)
        if fn.zero_masked and m is not None:
            out = o.multiply(out, _const(m.transpose(1, 0, 2)))
    else:
        out = hs[-1]
    return (out,) + tuple(states)


def _initial(fn, s, x, n):
    if s is None:
        return _const(backend.get_array_module(x.data).zeros((x.shape[0], n), x.data.dtype))
    return s if isinstance(s, Tensor) else _const(s)


def _simple_rnn(fn, x, w, u, b, h0, *_):
    """SimpleRNNFn: h_t = tanh(x_t W + h_{t-1} U + b)."""
    o = _ops()

    def step(xs, st):
        z = o.add(o.matmul(xs, w), o.matmul(st[0], u))
        return [o.tanh(z if b is None else o.add(z, b))]
    return _rnn(fn, x, [_initial(fn, h0, x, u.shape[0])], step)


def _lstm(fn, x, w, u, b, h0, c0, *_):
    """LSTMFn (Keras gate order i, f, c, o): c_t = f c_{t-1} + i tanh(z_c), h_t = o tanh(c_t)."""
    o = _ops()
    n = u.shape[0]

    def step(xs, st):
        z = o.add(o.matmul(xs, w), o.matmul(st[0], u))
        if b is not None:
            z = o.add(z, b)
        i, f, g, og = (z[:, k * n:(k + 1) * n] for k in range(4))
        c = o.add(o.multiply(o.sigmoid(f), st[1]), o.multiply(o.sigmoid(i), o.tanh(g)))
        return [o.multiply(o.sigmoid(og), o.tanh(c)), c]
    return _rnn(fn, x, [_initial(fn, h0, x, n), _initial(fn, c0, x, n)], step)


def _gru(fn, x, w, u, b, h0, *_):
    """GRUFn (reset_after): z = sigma(xz + rz), r = sigma(xr + rr), hh = tanh(xh + r rh), h_t = z h + (1 - z) hh."""
    o = _ops()
    n = u.shape[0]

    def step(xs, st):
        xw, rec = o.matmul(xs, w), o.matmul(st[0], u)
        if b is not None:
            xw, rec = o.add(xw, b[0]), o.add(rec, b[1])
        z = o.sigmoid(o.add(xw[:, :n], rec[:, :n]))
        r = o.sigmoid(o.add(xw[:, n:2 * n], rec[:, n:2 * n]))
        hh = o.tanh(o.add(xw[:, 2 * n:], o.multiply(r, rec[:, 2 * n:])))
        return [o.add(hh, o.multiply(z, o.subtract(st[0], hh)))]
    return _rnn(fn, x, [_initial(fn, h0, x, n)], step)


class _LinearMap(Function):
    """y = A(g) for a constant linear map A given with its adjoint (a pooling's backward: dy/dg = A, so the
    gradient of y is A^T)."""
    name = "linear_map"

    def forward(self, g, apply, adjoint):
        self.adjoint = adjoint
        return apply(g)

    def backward(self, h):
        return self.adjoint(h), None, None


def _avg_pool(fn, g):
    """Average pooling is linear, y = P x: its backward is P^T g, whose own adjoint is P (the forward again)."""
    from .ops.pool import AvgPool2DFn
    return (_LinearMap.apply(g, lambda a: fn.backward(a)[0], lambda h: AvgPool2DFn().forward(h, *fn.params)),
            None, None, None)


def _max_pool(fn, g):
    """Max pooling routes each output's gradient to its window's first maximum p(o): dx = S g with S a constant
    scatter(-add); its adjoint gathers, (S^T h)[o] = h[p(o)]. p is read back from the input (first maximum in
    row-major window order, the forward's tie rule)."""
    from .ops.conv import windows
    from .ops.shape import _scatter_add
    xshape, ph, pw, kh, kw, sh, sw, oh, ow = fn.geom
    x = fn.inputs[0].data
    xp = backend.get_array_module(x)
    n, h, w, c = xshape
    if ph != (0, 0) or pw != (0, 0):
        x = xp.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=-xp.inf)
    ph_, pw_ = x.shape[1], x.shape[2]
    win = windows(x, kh, kw, sh, sw, 1, 1, oh, ow)  # (N, OH, OW, kh, kw, C)
    k = win.transpose(0, 1, 2, 5, 3, 4).reshape(n, oh, ow, c, kh * kw).argmax(axis=-1)
    ni, ii, ji, ci = xp.indices((n, oh, ow, c), sparse=True)
    flat = (((ni * ph_ + ii * sh + k // kw) * pw_ + ji * sw + k % kw) * c + ci).reshape(-1)

    def scatter(a):
        out = xp.zeros(n * ph_ * pw_ * c, a.dtype)
        _scatter_add(xp, out, flat, a.reshape(-1))
        return xp.ascontiguousarray(out.reshape(n, ph_, pw_, c)[:, ph[0]: ph_ - ph[1], pw[0]: pw_ - pw[1], :])

    def gather(a):
        if ph != (0, 0) or pw != (0, 0):
            a = xp.pad(a, ((0, 0), ph, pw, (0, 0)))
        return xp.ascontiguousarray(a).reshape(-1)[flat].reshape(n, oh, ow, c)
    return _LinearMap.apply(g, scatter, gather), None, None, None


def _rules():
    import importlib
    A, C, C3, E, L, N, NO, NP, P, R, RN, S = (
        importlib.import_module(f"nerve.autograd.ops.{m}")  # the modules, not the same-named ops
        for m in ("activation", "conv", "conv3d", "elementwise", "linalg", "nn", "norm", "numpy_ops", "pool",
                  "reduce", "recurrent", "shape"))
    from .ops.activation import SELU_ALPHA, SELU_SCALE
    o = _ops()
    return {
        E.Add: _add, E.Subtract: _subtract, E.Multiply: _multiply, E.Divide: _divide, E.Power: _power,
        E.Negative: lambda fn, g: (o.negative(g),),
        E.Exp: _elementwise(lambda a: o.exp(a)),
        E.Log: _elementwise(lambda a: o.divide(1.0, a)),
        E.Sqrt: _elementwise(lambda a: o.divide(0.5, o.sqrt(a))),
        E.Square: _elementwise(lambda a: o.multiply(a, 2.0)),
        E.Abs: lambda fn, g: (_mask(g, np.sign(fn.inputs[0].data) if isinstance(fn.inputs[0].data, np.ndarray)
                                    else backend.get_array_module(fn.inputs[0].data).sign(fn.inputs[0].data)),),
        E.Cast: lambda fn, g: (o.cast(g, fn.src), None),
        E.Clip: lambda fn, g: (_mask(g, fn.mask), None, None),
        E.Maximum: lambda fn, g: _maximum(fn, g, True), E.Minimum: lambda fn, g: _maximum(fn, g, False),
        E.Where: _where,
        A.Sigmoid: _elementwise(lambda a: o.multiply(o.sigmoid(a), o.subtract(1.0, o.sigmoid(a)))),
        A.Tanh: _elementwise(lambda a: o.subtract(1.0, o.square(o.tanh(a)))),
        A.Relu: lambda fn, g: (_mask(g, fn.out > 0),),
        A.LeakyRelu: lambda fn, g: (_mask(g, backend.get_array_module(fn.pos).where(fn.pos, 1.0, fn.slope)), None),
        A.Softplus: _elementwise(lambda a: o.sigmoid(a)),
        A.Softsign: _elementwise(lambda a: o.divide(1.0, o.square(o.add(1.0, o.abs(a))))),
        A.HardSigmoid: lambda fn, g: (o.divide(_mask(g, fn.mask), 6.0),),
        A.Silu: _elementwise(lambda a: o.add(o.sigmoid(a), o.multiply(o.multiply(a, o.sigmoid(a)),
                                                                     o.subtract(1.0, o.sigmoid(a))))),
        A.Gelu: _gelu, A.Elu: lambda fn, g: _elu_like(fn, g, fn.alpha),
        A.Selu: lambda fn, g: _elu_like(fn, g, SELU_ALPHA, SELU_SCALE),
        A.Softmax: _softmax, A.LogSoftmax: _log_softmax, NP._Elementwise: _numpy_elementwise,
        R.Sum: _sum, R.Mean: lambda fn, g: _sum(fn, g, fn.n),
        S.Reshape: _reshape, S.Transpose: _transpose, S.Concatenate: _concatenate, S.GetItem: _getitem,
        L.MatMul: _matmul, N.DenseFn: _dense, C.Conv2DFn: _conv2d, C.Conv2DTransposeFn: _conv2d_transpose,
        NO.NormalizeFn: _recomputed(_normalize), NO.AffineNormFn: _recomputed(_affine_norm),
        P.AvgPool2DFn: _avg_pool, P.MaxPool2DFn: _max_pool,
        C3.Conv3DFn: _conv3d, C3.Conv3DTransposeFn: _conv3d_transpose, C3.MaxPool3DFn: _max_pool3d,
        C3.AvgPool3DFn: _avg_pool3d,
        RN.SimpleRNNFn: _recomputed(_simple_rnn), RN.LSTMFn: _recomputed(_lstm), RN.GRUFn: _recomputed(_gru),
        S.Stack: lambda fn, g: tuple(o.getitem(g, (slice(None),) * fn.axis + (i,)) for i in range(g.shape[fn.axis])),
    }


_RULES = []


def rule_for(fn):
    if not _RULES:
        _RULES.append(_rules())
    rule = _RULES[0].get(type(fn))
    if rule is None:
        names = sorted(c.name or c.__name__ for c in _RULES[0])
        raise NotImplementedError(
            f"grad(create_graph=True): op '{type(fn).name or type(fn).__name__}' has no differentiable backward "
            f"yet; second-order gradients go through these ops: {', '.join(names)}")
    return rule
