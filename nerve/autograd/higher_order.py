"""Gradients as tensors: ``nerve.grad`` (PyTorch's ``torch.autograd.grad``), with ``create_graph=True`` giving
gradients that are themselves differentiable (a gradient penalty, a Hessian-vector product, double backward).

``Function.backward`` works on raw arrays and records nothing. For ``create_graph=True`` each op's backward is
written a second time here, with differentiable ops, in ``RULES`` (op class -> rule(fn, g) returning one gradient
Tensor or None per input): the same formulas as the op's backward, e.g. for C = A B: dA = dC B^T, dB = A^T dC, now
as matmul nodes whose own backward a later ``.backward()`` runs. Masks (ReLU's [z > 0], LeakyReLU's slopes, the
argmax of a maximum) are constants: their derivative is zero almost everywhere. An op without a rule raises
NotImplementedError naming it; the ops covered are those of MLPs and plain CNNs (Dense and Conv2D with their
fused activations, matmul, elementwise arithmetic and math, activations, softmax, reductions, reshapes, indexing,
casts, concatenation, batch/layer normalization through a composite of those, max and average pooling) and
their losses.
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
    return _unbroadcast(g, _shape(a)), _unbroadcast(g, _shape(b))


def _subtract(fn, g):
    a, b = fn.inputs
    return _unbroadcast(g, _shape(a)), _unbroadcast(_ops().negative(g), _shape(b))


def _multiply(fn, g):
    a, b = fn.inputs
    o = _ops()
    return _unbroadcast(o.multiply(g, b), _shape(a)), _unbroadcast(o.multiply(g, a), _shape(b))


def _divide(fn, g):
    a, b = fn.inputs  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
    o = _ops()
    return (_unbroadcast(o.divide(g, b), _shape(a)),
            _unbroadcast(o.negative(o.divide(o.multiply(g, a), o.multiply(b, b))), _shape(b)))


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
        xp = backend.get_array_module(g)
        out = xp.zeros(shape, g.dtype)
        if adv:
            from .ops.shape import _scatter_add
            _scatter_add(xp, out, idx, g)
        else:
            out[idx] = g
        self.idx = idx
        return out

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


def _numpy_elementwise(fn, g):
    table = _elementwise_table()
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


class _Im2Col(Function):
    """cols = windows(pad(x)) as (N*OH*OW, kh*kw*C), for a Conv2DFn's geometry; adjoint: col2im and crop."""
    name = "im2col"

    def forward(self, x, geom):
        from .ops.conv import _pad, windows
        xshape, pshape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow = self.geom = geom
        n, c = xshape[0], xshape[3]
        return windows(_pad(x, ph, pw), kh, kw, sh, sw, dh, dw, oh, ow).reshape(n * oh * ow, kh * kw * c).copy()

    def backward(self, g):
        return _col2im(g, self.geom), None


def _col2im(cols, geom):
    from .ops.conv import col2im
    xshape, pshape, ph, pw, kh, kw, sh, sw, dh, dw, oh, ow = geom
    n, c = xshape[0], xshape[3]
    dxp = col2im(cols.reshape(n, oh, ow, kh, kw, c), pshape, kh, kw, sh, sw, dh, dw, oh, ow)
    return backend.get_array_module(dxp).ascontiguousarray(dxp[:, ph[0]: pshape[1] - ph[1],
                                                               pw[0]: pshape[2] - pw[1], :])


class _Col2Im(Function):
    """The adjoint of _Im2Col as an op (a convolution's input gradient from its column gradient)."""
    name = "col2im"

    def forward(self, cols, geom):
        self.geom = geom
        return _col2im(cols, geom)

    def backward(self, g):
        return _Im2Col().forward(g, self.geom), None


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
    gx = _Col2Im.apply(o.matmul(d, o.transpose(w2)), fn.geom) if needs[0] else None
    gw = o.reshape(o.matmul(o.transpose(_Im2Col.apply(x, fn.geom)), d), _shape(w)) if needs[1] else None
    gb = o.sum(d, axis=0) if b is not None and needs[2] else None
    return (gx, gw, gb)[:len(fn.inputs)] + (None,) * max(0, len(fn.inputs) - 3)


def _recomputed(composite):
    """The rule of a fused op from a composite of differentiable ops computing the same thing:
    dL/dinputs = grad(<g, composite(inputs)>, inputs, create_graph=True), with the composite's own rules."""
    def rule(fn, g):
        ins = fn.inputs
        idx = [i for i, (t, need) in enumerate(zip(ins, fn.needs)) if need]
        y = composite(fn, *ins)
        gs = grad(y, [ins[i] for i in idx], grad_outputs=g, create_graph=True, allow_unused=True)
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
    A, C, E, L, N, NO, NP, P, R, S = (importlib.import_module(f"nerve.autograd.ops.{m}")  # not same-named ops
                                      for m in ("activation", "conv", "elementwise", "linalg", "nn", "norm",
                                                "numpy_ops", "pool", "reduce", "shape"))
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
        L.MatMul: _matmul, N.DenseFn: _dense, C.Conv2DFn: _conv2d,
        NO.NormalizeFn: _recomputed(_normalize), NO.AffineNormFn: _recomputed(_affine_norm),
        P.AvgPool2DFn: _avg_pool, P.MaxPool2DFn: _max_pool,
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


def _order(roots, wanted=None):
    """Functions reachable from ``roots`` in reverse topological order (outputs first); with ``wanted`` (ids of
    tensors), only those through which a wanted tensor is reached: nothing upstream of what is asked for runs."""
    order, seen = [], set()
    stack = [(r._ctx, False) for r in roots if r._ctx is not None]
    while stack:
        fn, done = stack.pop()
        if done:
            order.append(fn)
            continue
        if fn in seen:
            continue
        seen.add(fn)
        stack.append((fn, True))
        for t, need in zip(fn.inputs, fn.needs):
            if need and t._ctx is not None and t._ctx not in seen:
                stack.append((t._ctx, False))
    if wanted is not None:  # post-order: a function's inputs were decided before it
        useful = set()
        for fn in order:
            if any(need and (id(t) in wanted or t._ctx in useful) for t, need in zip(fn.inputs, fn.needs)):
                useful.add(fn)
        order = [fn for fn in order if fn in useful]
    for fn in order:
        if fn.freed:
            raise RuntimeError(f"grad: the graph through op '{type(fn).__name__}' was already freed by an earlier "
                               f"backward; pass retain_graph=True to that backward")
    return order[::-1]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(sum of outputs . grad_outputs) / d inputs, as a tuple of Tensors (PyTorch's torch.autograd.grad).

    Nothing is accumulated into ``.grad``. With ``create_graph=True`` the returned gradients are part of the
    graph (differentiate them again with ``.backward()`` or another ``grad``); otherwise they are constants.
    ``allow_unused``: an input the outputs do not depend on gets None instead of an error."""
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs_list = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs_list):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"grad: argument 'inputs' item {i} must be a Tensor that requires grad, got "
                             f"{type(t).__name__}" + ("" if not isinstance(t, Tensor) else " with requires_grad=False"))
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)) or backend.is_array(grad_outputs):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: argument 'grad_outputs' has {len(grad_outputs)} items for {len(outputs)} outputs")
    seeds = []
    for i, (out, go) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise ValueError(f"grad: argument 'outputs' item {i} does not require grad (no path to the inputs)")
        xp = backend.get_array_module(out.data)
        if go is None:
            if out.data.size != 1:
                raise ValueError(f"grad: 'grad_outputs' may be omitted only for scalar outputs, got output {i} of "
                                 f"shape {out.shape}")
            go = xp.ones_like(out.data)
        go = go if isinstance(go, Tensor) else _const(xp.asarray(go, dtype=out.data.dtype))
        if _shape(go) != _shape(out):
            raise ValueError(f"grad: argument 'grad_outputs' item {i} expected shape {out.shape}, got {go.shape}")
        seeds.append((out, go))
    with (backend.enable_grad() if create_graph else backend.no_grad()):
        result = _sweep(seeds, inputs_list, create_graph)
    for i, (t, g) in enumerate(zip(inputs_list, result)):
        if g is None and not allow_unused:
            raise ValueError(f"grad: argument 'inputs' item {i} was not used to compute the outputs; pass "
                             f"allow_unused=True to get None for it")
    return tuple(result)


def _sweep(seeds, inputs, create_graph):
    wanted = {id(t): i for i, t in enumerate(inputs)}
    result = [None] * len(inputs)
    o = _ops()

    def acc(old, new):
        if old is None:
            return new
        return o.add(old, new) if create_graph else _const(old.data + new.data)

    order = _order([s[0] for s in seeds], wanted)
    useful = set(order)
    grads = {}

    def send(t, g):  # a gradient for tensor t: captured if asked for, passed on if it leads to an input
        if id(t) in wanted:
            result[wanted[id(t)]] = acc(result[wanted[id(t)]], g)
        if t._ctx is not None and t._ctx in useful:
            slot = grads.setdefault(t._ctx, {})
            slot[t._oi] = acc(slot.get(t._oi), g)
    for out, go in seeds:
        send(out, go)
    for fn in order:
        gouts = grads.pop(fn, None)
        if gouts is None:
            continue
        meta = fn.__dict__.get("out_meta")
        if meta is not None and len(meta) > 1:
            if create_graph:
                raise NotImplementedError(f"grad(create_graph=True): op '{type(fn).__name__}' has several outputs "
                                          f"and no differentiable backward yet")
            xp = backend.get_array_module(next(iter(gouts.values())).data)
            in_grads = fn.backward(*(gouts[i].data if i in gouts else xp.zeros(s, d)
                                     for i, (s, d) in enumerate(meta)))
        elif create_graph:
            in_grads = rule_for(fn)(fn, gouts[0])
        else:
            in_grads = fn.backward(gouts[0].data)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for t, need, g in zip(fn.inputs, fn.needs, in_grads):
            if not need or g is None:
                continue
            if not isinstance(g, Tensor):
                g = _const(g)
            if g.data.dtype != t.data.dtype:
                g = o.cast(g, t.data.dtype) if create_graph else _const(g.data.astype(t.data.dtype))
            send(t, g)
    return result


def backward_with_graph(root, grad_output=None):
    """``root.backward(create_graph=True)``: every leaf that requires grad gets ``.grad += dL/dleaf`` as a
    differentiable Tensor (PyTorch's semantics)."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
    leaves, seen = [], set()
    if root._ctx is None:
        leaves.append(root)
    for fn in _order([root]):
        for t, need in zip(fn.inputs, fn.needs):
            if need and t._ctx is None and id(t) not in seen:
                seen.add(id(t))
                leaves.append(t)
    grads = grad(root, leaves, grad_outputs=grad_output, create_graph=True, allow_unused=True)
    for leaf, g in zip(leaves, grads):
        if g is not None:
            leaf.grad = g if leaf.grad is None else _ops().add(leaf.grad, g)


def jvp(fun, primals, tangents, has_aux=False):
    """Jacobian-vector product J v of ``fun`` at ``primals`` (keras.ops.jvp): ``(fun(*primals), J v)``, and
    ``fun``'s auxiliary output third with ``has_aux=True``.

    Forward mode by two reverse sweeps: for a cotangent u, g(u) = J^T u is linear in u, so d<g(u), v>/du = J v.
    The first sweep is ``grad(..., create_graph=True)``: ``fun``'s ops need differentiable backward rules."""
    from .. import tree
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: arguments 'primals' and 'tangents' expected tuples or lists (one item per argument "
                        f"of fun), got {type(primals).__name__} and {type(tangents).__name__}")
    flat_p, flat_t = tree.flatten(list(primals)), tree.flatten(list(tangents))
    if len(flat_p) != len(flat_t):
        raise ValueError(f"jvp: 'tangents' must have the structure of 'primals': {len(flat_t)} leaves for "
                         f"{len(flat_p)}")
    xs, vs = [], []
    for i, (p, t) in enumerate(zip(flat_p, flat_t)):
        pd = backend.as_array(p.data if isinstance(p, Tensor) else p)
        if pd.dtype.kind != "f":
            pd = pd.astype(backend.floatx())
        td = backend.as_array(t.data if isinstance(t, Tensor) else t)
        if tuple(td.shape) != tuple(pd.shape):
            raise ValueError(f"jvp: tangent {i} has shape {tuple(td.shape)}, expected the primal's {tuple(pd.shape)}")
        xs.append(Tensor(pd, requires_grad=True))
        vs.append(_const(td.astype(pd.dtype, copy=False)))
    with backend.enable_grad():
        result = fun(*tree.pack_sequence_as(list(primals), xs))
        aux = None
        if has_aux:
            result, aux = result
        flat_o = [o if isinstance(o, Tensor) else _const(backend.as_array(o)) for o in tree.flatten(result)]
        live = [o for o in flat_o if o.requires_grad]
        us = [Tensor(backend.get_array_module(o.data).zeros_like(o.data), requires_grad=True) for o in live]
        jv = {}
        if live:
            gs = grad(live, xs, grad_outputs=us, create_graph=True, allow_unused=True)  # J^T u
            terms = [_ops().sum(_ops().multiply(g, v)) for g, v in zip(gs, vs) if g is not None]
            if terms:
                total = terms[0]
                for t in terms[1:]:
                    total = _ops().add(total, t)
                if total.requires_grad:
                    for o, d in zip(live, grad(total, us, allow_unused=True)):  # J v
                        jv[id(o)] = d
    xp_zeros = [backend.get_array_module(o.data).zeros_like(o.data) for o in flat_o]
    tangents_out = [jv.get(id(o)) if jv.get(id(o)) is not None else _const(z) for o, z in zip(flat_o, xp_zeros)]
    primals_out = [_const(o.data) for o in flat_o]
    out = (tree.pack_sequence_as(result, primals_out), tree.pack_sequence_as(result, tangents_out))
    return out + (aux,) if has_aux else out
