"""ONNX converters for nerve's standard layers (inference mode); used by ``onnx_export``.

``convert_layer(g, layer, inputs, in_shapes, kwargs)`` returns the names of the layer's output tensors.
Layouts: nerve tensors are channels-last, ONNX Conv/Pool are channels-first, so those are wrapped in
Transposes. Weights become initializers (float32). Opset 17 (``onnx_export.OPSET``): what has no op there
(GroupNormalization, RMS / unit normalisation, sparsemax, most newer activations) is decomposed into basic ops.
Activations may be given as a name, a built-in function or ``functools.partial`` of one with keyword arguments.
"""
import functools
import math

import numpy as np

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _w(v):
    from .. import backend
    return None if v is None else np.asarray(backend.to_numpy(backend.unwrap(v)), dtype=np.float32)


def _act_spec(fn):
    """(registered name, keyword arguments) of a built-in activation, or of ``functools.partial`` of one with
    keyword arguments only (e.g. partial(activations.threshold, threshold=0.1, default_value=0.0))."""
    from .. import activations
    kw = {}
    if isinstance(fn, functools.partial) and not fn.args:
        fn, kw = fn.func, dict(fn.keywords)
    try:
        name = activations.serialize(fn)
    except TypeError:
        name = None
    if not isinstance(name, str):
        raise NotImplementedError(f"export: activation {fn!r} has no ONNX converter (custom activation)")
    return {"swish": "silu", "hard_swish": "hard_silu"}.get(name, name), kw


def _act_name(fn):
    return _act_spec(fn)[0]


def _f(g, v):
    return g.const(np.float32(v))


def _sparsemax(g, x, axis):
    """Sparsemax (Martins & Astudillo 2016) along ``axis`` from ONNX ops: z sorted descending (TopK with k = the
    axis' size), cs = CumSum(z), j = 1..n (a CumSum of ones), support k = #{j : 1 + j z_j > cs_j}, then
    tau = (sum over the support of z - 1) / k and y = max(x - tau, 0)."""
    shape = g.op("Shape", [x])
    n = g.op("Gather", [shape, g.ints([axis])], axis=0)
    z = g.op("TopK", [x, n], n_out=2, axis=axis, largest=1, sorted=1)[0]
    ax = g.ints(axis)
    cs = g.op("CumSum", [z, ax])
    f32 = g.onnx.TensorProto.FLOAT
    j = g.op("CumSum", [g.op("ConstantOfShape", [shape], value=g.helper.make_tensor("one", f32, [1], [1.0])), ax])
    support = g.op("Cast", [g.op("Greater", [g.op("Add", [g.op("Mul", [j, z]), _f(g, 1)]), cs])], to=f32)
    k = g.op("ReduceSum", [support, g.ints([axis])], keepdims=1)
    total = g.op("ReduceSum", [g.op("Mul", [z, support]), g.ints([axis])], keepdims=1)
    tau = g.op("Div", [g.op("Sub", [total, _f(g, 1)]), k])
    return g.op("Relu", [g.op("Sub", [x, tau])])


def _extra_activation(g, name, x, kw, axis):
    """The activations of Keras 3's newer set (nerve/activations.py), with their keyword arguments."""
    if name == "celu":  # max(x, 0) + alpha (e^(min(x, 0) / alpha) - 1)
        return g.op("Celu", [x], alpha=float(kw.get("alpha", 1.0)))
    if name == "glu":  # a sigmoid(b), x = [a, b] halves along axis
        a, b = g.op("Split", [x], n_out=2, axis=int(kw.get("axis", -1)))
        return g.op("Mul", [a, g.op("Sigmoid", [b])])
    if name in ("hard_shrink", "soft_shrink"):  # Shrink: x -+ bias beyond +-lambd, else 0
        t = float(kw.get("threshold", 0.5))
        return g.op("Shrink", [x], lambd=t, bias=t if name == "soft_shrink" else 0.0)
    if name == "hard_tanh":
        return g.op("Clip", [x, _f(g, -1), _f(g, 1)])
    if name == "sparse_sigmoid":  # clip((x + 1) / 2, 0, 1)
        return g.op("HardSigmoid", [x], alpha=0.5, beta=0.5)
    if name == "sparse_plus":  # (u + 1)^2 / 4 + relu(x - 1), u = clip(x, -1, 1): 0, (x + 1)^2 / 4, x on the pieces
        u1 = g.op("Add", [g.op("Clip", [x, _f(g, -1), _f(g, 1)]), _f(g, 1)])
        return g.op("Add", [g.op("Mul", [g.op("Mul", [u1, u1]), _f(g, 0.25)]),
                            g.op("Relu", [g.op("Sub", [x, _f(g, 1)])])])
    if name == "squareplus":  # (x + sqrt(x^2 + b)) / 2
        r = g.op("Sqrt", [g.op("Add", [g.op("Mul", [x, x]), _f(g, kw.get("b", 4))])])
        return g.op("Mul", [g.op("Add", [x, r]), _f(g, 0.5)])
    if name == "tanh_shrink":
        return g.op("Sub", [x, g.op("Tanh", [x])])
    if name == "threshold":  # x where x > threshold, else default_value
        if "threshold" not in kw or "default_value" not in kw:
            raise NotImplementedError("export: activation 'threshold' needs its arguments: use "
                                      "functools.partial(activations.threshold, threshold=..., default_value=...)")
        keep = g.op("Greater", [x, _f(g, kw["threshold"])])
        return g.op("Where", [keep, x, _f(g, kw["default_value"])])
    if name == "sparsemax":
        return _sparsemax(g, x, int(kw.get("axis", axis)))
    return None


def activation(g, fn_or_name, x, axis=-1):
    """Emit one Keras activation on x (a built-in name or function, or a functools.partial of one)."""
    name, kw = (fn_or_name, {}) if isinstance(fn_or_name, str) else _act_spec(fn_or_name)
    extra = _extra_activation(g, name, x, kw, axis)
    if extra is not None:
        return extra
    params = {"leaky_relu": ("negative_slope",), "elu": ("alpha",), "gelu": ("approximate",),
              "softmax": ("axis",), "log_softmax": ("axis",)}.get(name, ())
    if set(kw) - set(params):
        raise NotImplementedError(f"export: activation {name!r} with arguments {sorted(kw)} has no ONNX converter")
    axis = int(kw.get("axis", axis))
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus", "softsign": "Softsign",
              "exponential": "Exp"}
    if name == "linear":
        return x
    if name in simple:
        return g.op(simple[name], [x])
    if name == "softmax":
        return g.op("Softmax", [x], axis=axis)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], axis=axis)
    if name == "elu":
        return g.op("Elu", [x], alpha=float(kw.get("alpha", 1.0)))
    if name == "selu":
        return g.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(kw.get("negative_slope", 0.2)))
    if name == "relu6":
        return g.op("Clip", [x, g.const(np.float32(0)), g.const(np.float32(6))])
    if name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        return g.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)
    if name == "hard_silu":
        return g.op("Mul", [x, g.op("HardSigmoid", [x], alpha=1.0 / 6, beta=0.5)])
    if name == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
    if name == "log_sigmoid":
        return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])])
    if name == "gelu" and kw.get("approximate", False):  # x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2
        inner = g.op("Add", [x, g.op("Mul", [g.op("Mul", [g.op("Mul", [x, x]), x]), _f(g, 0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, _f(g, math.sqrt(2.0 / math.pi))])])
        return g.op("Mul", [g.op("Mul", [x, _f(g, 0.5)]), g.op("Add", [t, _f(g, 1)])])
    if name == "gelu":  # exact (Keras' default): x * (1 + erf(x / sqrt 2)) / 2
        e = g.op("Erf", [g.op("Div", [x, g.const(np.float32(math.sqrt(2.0)))])])
        return g.op("Mul", [g.op("Mul", [x, g.const(np.float32(0.5))]), g.op("Add", [e, g.const(np.float32(1))])])
    raise NotImplementedError(f"export: activation {name!r} has no ONNX converter")


# ------------------------------------------------------------------------------------------ core
def _dense(g, layer, x, shape):
    if layer.quantization_mode == "int8":  # the int8 call: rows quantized by abs-max, int8 products summed
        from .. import backend
        sx = g.op("Div", [g.const(np.float32(127.0)), g.op("Add", [
            g.op("ReduceMax", [g.op("Abs", [x])], axes=[-1], keepdims=1), g.const(np.float32(backend.epsilon()))])])
        qx = g.op("Clip", [g.op("Round", [g.op("Mul", [x, sx])]), g.const(np.float32(-127)), g.const(np.float32(127))])
        y = g.op("MatMul", [qx, g.const(_w(layer.kernel), f"{layer.name}/kernel")])  # int8 values, exact in float
        y = g.op("Div", [y, g.op("Mul", [sx, g.const(_w(layer.kernel_scale), f"{layer.name}/kernel_scale")])])
    else:
        y = g.op("MatMul", [x, g.const(_w(layer.kernel), f"{layer.name}/kernel")])
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(_w(layer.bias), f"{layer.name}/bias")])
    return activation(g, layer.activation, y)


def _channels_first_perm(rank):
    return [0, rank + 1] + list(range(1, rank + 1)), [0] + list(range(2, rank + 2)) + [1]


def _same_pads(in_sizes, kernel, strides, dilations):
    """TensorFlow 'same' padding: out = ceil(in / s), the extra pixel at the end; None if sizes are unknown."""
    if any(s is None for s in in_sizes):
        return None
    begin, end = [], []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return begin + end


def _spatial(layer, x, shape, g, body):
    """Run body(x_channels_first, spatial_sizes) between layout Transposes (none if channels_first)."""
    rank = layer.rank
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return body(x, list(shape[2:]))
    to_cf, to_cl = _channels_first_perm(rank)
    y = body(g.op("Transpose", [x], perm=to_cf), list(shape[1:-1]))
    return g.op("Transpose", [y], perm=to_cl)


def _pad_attrs(layer, sizes, kernel, strides, dilations):
    if layer.padding == "valid":
        return {"pads": [0] * (2 * len(kernel))}
    if layer.padding == "causal":
        return {"pads": [(kernel[0] - 1) * dilations[0], 0]}
    pads = _same_pads(sizes, kernel, strides, dilations)
    return {"auto_pad": "SAME_UPPER"} if pads is None else {"pads": pads}


def _conv(g, layer, x, shape):
    if getattr(layer, "transpose", False) or getattr(layer, "groups", 1) != 1:
        raise NotImplementedError(f"export: {type(layer).__name__} '{layer.name}' has no ONNX converter")
    rank = layer.rank
    k = _w(layer.kernel)  # (k..., cin, cout) -> (cout, cin, k...)
    w = np.transpose(k, (rank + 1, rank) + tuple(range(rank)))
    kernel, strides, dil = list(layer.kernel_size), list(layer.strides), list(layer.dilation_rate)

    def body(xc, sizes):
        ins = [xc, g.const(w, f"{layer.name}/kernel")]
        if layer.bias is not None:
            ins.append(g.const(_w(layer.bias), f"{layer.name}/bias"))
        return g.op("Conv", ins, kernel_shape=kernel, strides=strides, dilations=dil, group=1,
                    **_pad_attrs(layer, sizes, kernel, strides, dil))
    return activation(g, layer.activation, _spatial(layer, x, shape, g, body), axis=-1)


def _conv_transpose(g, layer, x, shape):
    """Conv1DTranspose / Conv2DTranspose as ConvTranspose. nerve's output is the full transposed convolution
    ((n - 1) s + ke per axis, ke = (k - 1) d + 1) cropped by the padding ``before`` its equivalent forward
    convolution uses and cut to the Keras output length (``deconv_len``), zero-extended when that length
    exceeds the full one; in ONNX: pads = (before, crop at the end) and output_padding = the zero extension."""
    from ..autograd.ops.conv import _deconv_pad_before, _fit_pad, deconv_len
    rank = layer.rank
    w = np.transpose(_w(layer.kernel), (rank + 1, rank) + tuple(range(rank)))  # (k..., F, C) -> (C, F, k...)
    kernel, strides, dil = list(layer.kernel_size), list(layer.strides), list(layer.dilation_rate)
    out_pad = getattr(layer, "output_padding", None) or (None,) * rank

    def body(xc, sizes):
        if None in sizes:
            raise NotImplementedError(f"export: {type(layer).__name__} '{layer.name}' needs known input sizes "
                                      f"along its spatial axes, got input shape {tuple(shape)}")
        begin, end, extra = [], [], []
        for n, k, s, d, p in zip(sizes, kernel, strides, dil, out_pad):
            out = deconv_len(n, k, s, d, layer.padding, p)
            before = _fit_pad(out, n, k, s, d, (_deconv_pad_before(k, s, d, layer.padding, p),))[0]
            crop = (n - 1) * s + (k - 1) * d + 1 - before - out  # < 0: zeros appended
            begin.append(before)
            end.append(max(crop, 0))
            extra.append(max(-crop, 0))
        ins = [xc, g.const(w, f"{layer.name}/kernel")]
        if layer.bias is not None:
            ins.append(g.const(_w(layer.bias), f"{layer.name}/bias"))
        return g.op("ConvTranspose", ins, kernel_shape=kernel, strides=strides, dilations=dil, pads=begin + end,
                    output_padding=extra)
    return activation(g, layer.activation, _spatial(layer, x, shape, g, body), axis=-1)


def _depthwise_kernel(layer, kernel):
    """Keras depthwise kernel (k..., C, M) -> ONNX grouped Conv weight (C M, 1, k...): output channel c M + m is
    group c's m-th filter, as Keras orders them."""
    k = _w(kernel)
    rank = layer.rank
    k = k.reshape(k.shape[:rank] + (-1,))  # (k..., C M)
    return np.transpose(k, (rank,) + tuple(range(rank)))[:, None]


def _depthwise_conv(g, layer, x, shape):
    """DepthwiseConv1D/2D (Conv with group = C, no pointwise step) and SeparableConv1D/2D (that grouped Conv,
    then a 1x1 Conv with the pointwise kernel and the bias)."""
    separable = hasattr(layer, "pointwise_kernel")
    dw = _depthwise_kernel(layer, layer.depthwise_kernel if separable else layer.kernel)
    c = shape[-1]
    kernel, strides, dil = list(layer.kernel_size), list(layer.strides), list(layer.dilation_rate)

    def body(xc, sizes):
        ins = [xc, g.const(dw, f"{layer.name}/depthwise_kernel")]
        if layer.bias is not None and not separable:
            ins.append(g.const(_w(layer.bias), f"{layer.name}/bias"))
        y = g.op("Conv", ins, kernel_shape=kernel, strides=strides, dilations=dil, group=int(c),
                 **_pad_attrs(layer, sizes, kernel, strides, dil))
        if not separable:
            return y
        pw = _w(layer.pointwise_kernel)  # (1..., C M, F) -> (F, C M, 1...)
        pw = np.transpose(pw, (layer.rank + 1, layer.rank) + tuple(range(layer.rank)))
        ins = [y, g.const(pw, f"{layer.name}/pointwise_kernel")]
        if layer.bias is not None:
            ins.append(g.const(_w(layer.bias), f"{layer.name}/bias"))
        return g.op("Conv", ins, kernel_shape=[1] * layer.rank)
    return activation(g, layer.activation, _spatial(layer, x, shape, g, body), axis=-1)


def _pool(g, layer, x, shape):
    kernel, strides = list(layer.pool_size), list(layer.strides)
    op = "MaxPool" if "Max" in type(layer).__name__ else "AveragePool"

    def body(xc, sizes):
        extra = {"count_include_pad": 0} if op == "AveragePool" else {}
        return g.op(op, [xc], kernel_shape=kernel, strides=strides,
                    **_pad_attrs(layer, sizes, kernel, strides, [1] * len(kernel)), **extra)
    return _spatial(layer, x, shape, g, body)


def _global_pool(g, layer, x, shape):
    rank = layer.rank
    cf = getattr(layer, "data_format", "channels_last") == "channels_first"
    axes = list(range(2, rank + 2)) if cf else list(range(1, rank + 1))
    op = "ReduceMax" if "Max" in type(layer).__name__ else "ReduceMean"
    return g.op(op, [x], axes=axes, keepdims=int(layer.keepdims))


def _batch_norm(g, layer, x, shape):
    mean, var = _w(layer.moving_mean), _w(layer.moving_variance)
    gamma = _w(getattr(layer, "gamma", None)) if layer.scale else np.ones_like(mean)
    beta = _w(getattr(layer, "beta", None)) if layer.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + np.float32(layer.epsilon))  # y = (x - m) / sqrt(v + eps) * gamma + beta
    shift = beta - mean * scale
    bshape = layer._bshape
    return g.op("Add", [g.op("Mul", [x, g.const(scale.reshape(bshape), f"{layer.name}/scale")]),
                        g.const(shift.reshape(bshape), f"{layer.name}/shift")])


def _layer_norm(g, layer, x, shape):
    if getattr(layer, "rms_scaling", False):
        raise NotImplementedError(f"export: LayerNormalization '{layer.name}' with rms_scaling has no converter")
    axes = list(layer._axes)
    mean = g.op("ReduceMean", [x], axes=axes, keepdims=1)
    d = g.op("Sub", [x, mean])
    var = g.op("ReduceMean", [g.op("Mul", [d, d])], axes=axes, keepdims=1)
    y = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.const(np.float32(layer.epsilon))])])])
    bshape = layer._bshape
    if layer.scale:
        y = g.op("Mul", [y, g.const(_w(layer.gamma).reshape(bshape), f"{layer.name}/gamma")])
    if layer.center:
        y = g.op("Add", [y, g.const(_w(layer.beta).reshape(bshape), f"{layer.name}/beta")])
    return y


def _group_norm(g, layer, x, shape):
    """GroupNormalization decomposed (the GroupNormalization op needs opset 18): x reshaped to
    (..., G, C / G, ...) at the channel axis, mean and population variance over every axis but the batch and the
    group axis, (x - mean) / sqrt(var + epsilon), reshaped back, times gamma plus beta (per channel)."""
    ax, groups, rank = layer._ax, layer._g, len(shape)
    c = shape[ax]
    dims = g.op("Shape", [x])
    grouped_shape = g.op("Concat", [g.op("Slice", [dims, g.ints([0]), g.ints([ax])]), g.ints([groups, c // groups]),
                                    g.op("Slice", [dims, g.ints([ax + 1]), g.ints([rank])])], axis=0)
    xg = g.op("Reshape", [x, grouped_shape])
    axes = [i for i in range(1, rank + 1) if i != ax]
    d = g.op("Sub", [xg, g.op("ReduceMean", [xg], axes=axes, keepdims=1)])
    var = g.op("ReduceMean", [g.op("Mul", [d, d])], axes=axes, keepdims=1)
    y = g.op("Reshape", [g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, _f(g, layer.epsilon)])])]), dims])
    bshape = [c if i == ax else 1 for i in range(rank)]
    if getattr(layer, "gamma", None) is not None:
        y = g.op("Mul", [y, g.const(_w(layer.gamma).reshape(bshape), f"{layer.name}/gamma")])
    if getattr(layer, "beta", None) is not None:
        y = g.op("Add", [y, g.const(_w(layer.beta).reshape(bshape), f"{layer.name}/beta")])
    return y


def _unit_norm(g, layer, x, shape):
    """x / sqrt(max(sum(x^2 over axis), 1e-24)) = x / max(||x||_2, 1e-12) (UnitNormalization)."""
    ss = g.op("ReduceSum", [g.op("Mul", [x, x]), g.ints(list(layer._axes))], keepdims=1)
    return g.op("Div", [x, g.op("Sqrt", [g.op("Max", [ss, _f(g, 1e-24)])])])


def _rms_norm(g, layer, x, shape):
    """x / sqrt(mean(x^2 over axis) + epsilon) * scale (RMSNormalization)."""
    ms = g.op("ReduceMean", [g.op("Mul", [x, x])], axes=list(layer._axes), keepdims=1)
    y = g.op("Div", [x, g.op("Sqrt", [g.op("Add", [ms, _f(g, layer.epsilon)])])])
    return g.op("Mul", [y, g.const(_w(layer.scale).reshape(layer._bshape), f"{layer.name}/scale")])


def _einsum_dense(g, layer, x, shape):
    """activation(Einsum(equation, x, kernel) + bias); the bias is laid out to broadcast from the right."""
    y = g.op("Einsum", [x, g.const(_w(layer.kernel), f"{layer.name}/kernel")],
             equation=layer.equation.replace(" ", ""))
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(_w(layer.bias), f"{layer.name}/bias")])
    return activation(g, layer.activation, y)


def _flatten(g, layer, x, shape):
    if getattr(layer, "data_format", "channels_last") == "channels_first" and len(shape) > 2:
        x = g.op("Transpose", [x], perm=[0] + list(range(2, len(shape))) + [1])
    return g.op("Flatten", [x], axis=1)


def _reshape(g, layer, x, shape):
    return g.op("Reshape", [x, g.ints([0] + list(layer.target_shape), f"{layer.name}/shape")])


def _embedding(g, layer, x, shape):
    idx = g.op("Cast", [x], to=g.onnx.TensorProto.INT64)
    table = _w(layer.embeddings)
    if layer.quantization_mode == "int8":  # the dequantized rows, as the layer computes them
        table = table / _w(layer.embeddings_scale)[:, None]
    return g.op("Gather", [g.const(table, f"{layer.name}/embeddings"), idx], axis=0)


# ------------------------------------------------------------------------------------------ recurrent
_ONNX_ACT = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}


def _rnn_act(layer, fn):
    name = _act_name(fn)
    if name not in _ONNX_ACT:
        raise NotImplementedError(f"export: {type(layer).__name__} '{layer.name}': activation {name!r} is not an "
                                  f"ONNX recurrent activation ({sorted(_ONNX_ACT)})")
    return _ONNX_ACT[name]


def _recurrent(g, layer, x, shape):
    from ..layers import recurrent_cells as rc
    cell = layer.cell
    u = cell.units
    kernel, rec = _w(cell.kernel), _w(cell.recurrent_kernel)
    bias = _w(cell.bias)
    attrs = {"hidden_size": u}
    if isinstance(cell, rc.LSTMCell):
        op, order = "LSTM", [0, 3, 1, 2]  # Keras (i, f, c, o) -> ONNX (i, o, f, c)

        def reorder(a):
            return np.concatenate([np.split(a, 4, axis=-1)[i] for i in order], axis=-1)
        kernel, rec = reorder(kernel), reorder(rec)
        b = np.concatenate([reorder(bias) if bias is not None else np.zeros(4 * u, np.float32),
                            np.zeros(4 * u, np.float32)])
        acts = [cell.recurrent_activation, cell.activation, cell.activation]
    elif isinstance(cell, rc.GRUCell):  # gate order (z, r, h) in both
        op = "GRU"
        attrs["linear_before_reset"] = int(cell.reset_after)
        if bias is None:
            b = np.zeros(6 * u, np.float32)
        elif cell.reset_after:
            b = np.concatenate([bias[0], bias[1]])
        else:
            b = np.concatenate([bias, np.zeros(3 * u, np.float32)])
        acts = [cell.recurrent_activation, cell.activation]
    elif isinstance(cell, rc.SimpleRNNCell):
        op = "RNN"
        b = np.concatenate([bias if bias is not None else np.zeros(u, np.float32), np.zeros(u, np.float32)])
        acts = [cell.activation]
    else:
        raise NotImplementedError(f"export: RNN '{layer.name}' with cell {type(cell).__name__} has no converter")
    attrs["activations"] = [_rnn_act(layer, a) for a in acts]
    xt = g.op("Transpose", [x], perm=[1, 0, 2])  # (batch, time, features) -> (time, batch, features)
    if layer.go_backwards:  # Keras reads the sequence from the end and returns outputs in that order
        xt = g.op("Slice", [xt, g.ints([-1]), g.ints([-(2 ** 62)]), g.ints([0]), g.ints([-1])])
    ins = [xt, g.const(kernel.T[None], f"{layer.name}/W"), g.const(rec.T[None], f"{layer.name}/R"),
           g.const(b[None], f"{layer.name}/B")]
    n_out = 3 if op == "LSTM" else 2
    outs = g.op(op, ins, n_out=n_out, direction="forward", **attrs)
    y, y_h = outs[0], outs[1]
    states = [g.op("Squeeze", [y_h, g.ints([0])])]
    if op == "LSTM":
        states.append(g.op("Squeeze", [outs[2], g.ints([0])]))
    if layer.return_sequences:  # Y: (time, 1, batch, units) -> (batch, time, units)
        out = g.op("Transpose", [g.op("Squeeze", [y, g.ints([1])])], perm=[1, 0, 2])
    else:
        out = states[0]
    return [out] + states if layer.return_state else out


# ------------------------------------------------------------------------------------------ dispatch
def _merge(op):
    def convert(g, layer, xs, shapes):
        if op == "Sub":
            return g.op("Sub", xs)
        return g.op(op, xs) if op in ("Sum", "Mean", "Max", "Min") else _chain(g, op, xs)
    return convert


def _chain(g, op, xs):
    y = xs[0]
    for x in xs[1:]:
        y = g.op(op, [y, x])
    return y


def _single(fn):
    return lambda g, layer, xs, shapes: fn(g, layer, xs[0], shapes[0])


def _relu_layer(g, layer, x, shape):
    if layer.max_value is None and not layer.negative_slope and not layer.threshold:
        return g.op("Relu", [x])
    if layer.negative_slope or layer.threshold:
        raise NotImplementedError(f"export: ReLU '{layer.name}' with negative_slope/threshold has no converter")
    return g.op("Clip", [x, g.const(np.float32(0)), g.const(np.float32(layer.max_value))])


CONVERTERS = {
    "Dense": _single(_dense),
    "Activation": _single(lambda g, layer, x, s: activation(g, layer.activation, x)),
    "ReLU": _single(_relu_layer),
    "LeakyReLU": _single(lambda g, layer, x, s: g.op("LeakyRelu", [x], alpha=float(layer.negative_slope))),
    "ELU": _single(lambda g, layer, x, s: g.op("Elu", [x], alpha=float(layer.alpha))),
    "Softmax": _single(lambda g, layer, x, s: g.op("Softmax", [x], axis=int(layer.axis))),
    "Conv1D": _single(_conv), "Conv2D": _single(_conv),
    "Conv1DTranspose": _single(_conv_transpose), "Conv2DTranspose": _single(_conv_transpose),
    "DepthwiseConv1D": _single(_depthwise_conv), "DepthwiseConv2D": _single(_depthwise_conv),
    "SeparableConv1D": _single(_depthwise_conv), "SeparableConv2D": _single(_depthwise_conv),
    "GroupNormalization": _single(_group_norm), "UnitNormalization": _single(_unit_norm),
    "RMSNormalization": _single(_rms_norm), "EinsumDense": _single(_einsum_dense),
    "SpectralNormalization": lambda g, layer, xs, shapes: convert_layer(g, layer.layer, xs, shapes),  # inference
    "MaxPooling1D": _single(_pool), "MaxPooling2D": _single(_pool),
    "AveragePooling1D": _single(_pool), "AveragePooling2D": _single(_pool),
    "GlobalMaxPooling1D": _single(_global_pool), "GlobalMaxPooling2D": _single(_global_pool),
    "GlobalAveragePooling1D": _single(_global_pool), "GlobalAveragePooling2D": _single(_global_pool),
    "BatchNormalization": _single(_batch_norm), "LayerNormalization": _single(_layer_norm),
    "Dropout": _single(lambda g, layer, x, s: x), "SpatialDropout1D": _single(lambda g, layer, x, s: x),
    "SpatialDropout2D": _single(lambda g, layer, x, s: x), "GaussianNoise": _single(lambda g, layer, x, s: x),
    "GaussianDropout": _single(lambda g, layer, x, s: x), "AlphaDropout": _single(lambda g, layer, x, s: x),
    "ActivityRegularization": _single(lambda g, layer, x, s: x),
    "Flatten": _single(_flatten), "Reshape": _single(_reshape),
    "Permute": _single(lambda g, layer, x, s: g.op("Transpose", [x], perm=[0] + list(layer.dims))),
    "RepeatVector": _single(lambda g, layer, x, s: g.op("Tile", [g.op("Unsqueeze", [x, g.ints([1])]),
                                                                 g.ints([1, layer.n, 1])])),
    "Embedding": _single(_embedding),
    "SimpleRNN": _single(_recurrent), "LSTM": _single(_recurrent), "GRU": _single(_recurrent),
    "RNN": _single(_recurrent),
    "Add": _merge("Sum"), "Subtract": _merge("Sub"), "Multiply": _merge("Mul"), "Average": _merge("Mean"),
    "Maximum": _merge("Max"), "Minimum": _merge("Min"),
    "Concatenate": lambda g, layer, xs, shapes: g.op("Concat", xs, axis=int(layer.axis)),
}


def convert_layer(g, layer, inputs, in_shapes, kwargs=None):
    """ONNX for one layer call; returns its output names (a list)."""
    fn = None
    for cls in type(layer).__mro__:  # a subclass of a known layer converts like its base
        fn = CONVERTERS.get(cls.__name__)
        if fn is not None:
            break
    if fn is None:
        raise NotImplementedError(f"export: layer '{layer.name}' ({type(layer).__name__}) has no ONNX converter; "
                                  f"supported: {sorted(CONVERTERS)}")
    out = fn(g, layer, list(inputs), list(in_shapes))
    return list(out) if isinstance(out, (list, tuple)) else [out]
