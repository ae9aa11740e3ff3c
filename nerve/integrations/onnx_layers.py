"""ONNX converters for nerve's standard layers (inference mode); used by ``onnx_export``.

``convert_layer(g, layer, inputs, in_shapes, kwargs)`` returns the names of the layer's output tensors.
Layouts: nerve tensors are channels-last, ONNX Conv/Pool are channels-first, so those are wrapped in
Transposes. Weights become initializers (float32).
"""
import math

import numpy as np

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _w(v):
    return None if v is None else np.asarray(v.data if hasattr(v, "data") else v, dtype=np.float32)


def _act_name(fn):
    from .. import activations
    name = activations.serialize(fn)
    if not isinstance(name, str):
        raise NotImplementedError(f"export: activation {fn!r} has no ONNX converter (custom activation)")
    return {"swish": "silu", "hard_swish": "hard_silu"}.get(name, name)


def activation(g, fn_or_name, x, axis=-1):
    """Emit one Keras activation on x."""
    name = fn_or_name if isinstance(fn_or_name, str) else _act_name(fn_or_name)
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
        return g.op("Elu", [x], alpha=1.0)
    if name == "selu":
        return g.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=0.2)
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
    if name == "gelu":  # exact (Keras' default): x * (1 + erf(x / sqrt 2)) / 2
        e = g.op("Erf", [g.op("Div", [x, g.const(np.float32(math.sqrt(2.0)))])])
        return g.op("Mul", [g.op("Mul", [x, g.const(np.float32(0.5))]), g.op("Add", [e, g.const(np.float32(1))])])
    raise NotImplementedError(f"export: activation {name!r} has no ONNX converter")


# ------------------------------------------------------------------------------------------ core
def _dense(g, layer, x, shape):
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


def _flatten(g, layer, x, shape):
    if getattr(layer, "data_format", "channels_last") == "channels_first" and len(shape) > 2:
        x = g.op("Transpose", [x], perm=[0] + list(range(2, len(shape))) + [1])
    return g.op("Flatten", [x], axis=1)


def _reshape(g, layer, x, shape):
    return g.op("Reshape", [x, g.ints([0] + list(layer.target_shape), f"{layer.name}/shape")])


def _embedding(g, layer, x, shape):
    idx = g.op("Cast", [x], to=g.onnx.TensorProto.INT64)
    return g.op("Gather", [g.const(_w(layer.embeddings), f"{layer.name}/embeddings"), idx], axis=0)


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
