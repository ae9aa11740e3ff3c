"""Recurrent cells (Keras 3): SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells.

A cell computes one timestep, ``call(inputs, states, training) -> (output, new_states)``, with composite
ops (any activation, dropout on the inputs and on the recurrent state). The whole-sequence layers in
``recurrent.py`` use the fused kernels of ``nerve/autograd/ops/recurrent.py`` when the math allows and
fall back to a loop over these cells otherwise.

Dropout (Keras ``DropoutRNNCell``): one input mask and one recurrent mask per sequence, drawn at the
first step and shared across all timesteps (Gal & Ghahramani); ``reset_dropout_mask()`` forgets them.
"""
import numpy as np

from .. import activations, backend, constraints, initializers, ops, regularizers
from ..saving.registry import register, serialize
from .layer import Layer


def _positive_int(value, arg, who, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who} '{name}': argument '{arg}' expected a positive integer, got {value!r}")
    return int(value)


def _rate(value, arg, who, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"{who} '{name}': argument '{arg}' expected a float between 0 and 1, got {value!r}")
    return float(min(value, 1.0))


class _Cell(Layer):
    """Shared constructor arguments, dropout masks and config of the three cells."""

    _gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.units = _positive_int(units, "units", who, self.name)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout, "dropout", who, self.name)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", who, self.name)
        self.seed = seed
        self._gen = None if seed is None else np.random.default_rng(int(seed))
        self._dp_mask = self._rec_dp_mask = None

    # ------------------------------------------------------------------ sizes
    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _add_kernels(self, input_dim):
        k = self._gates * self.units
        self.kernel = self.add_weight(shape=(input_dim, k), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, k), initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the last axis of the input must be known, "
                             f"got shape {tuple(input_shape)}")
        self._add_kernels(in_dim)
        self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_init(),
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                    name="bias") if self.use_bias else None
        self.built = True

    # ------------------------------------------------------------------ dropout masks (one per sequence)
    def _rng(self):
        return self._gen if self._gen is not None else backend.rng()

    def get_dropout_mask(self, step_input):
        if self._dp_mask is None and self.dropout > 0:
            self._dp_mask = backend.dropout_mask(self._rng(), tuple(step_input.shape), self.dropout,
                                                 backend.unwrap(step_input))
        return self._dp_mask

    def get_recurrent_dropout_mask(self, step_state):
        if self._rec_dp_mask is None and self.recurrent_dropout > 0:
            self._rec_dp_mask = backend.dropout_mask(self._rng(), tuple(step_state.shape), self.recurrent_dropout,
                                                     backend.unwrap(step_state))
        return self._rec_dp_mask

    def reset_dropout_mask(self):
        self._dp_mask = None

    def reset_recurrent_dropout_mask(self):
        self._rec_dp_mask = None

    def _dropped(self, x, h, training):
        if training and self.dropout > 0:
            x = x * self.get_dropout_mask(x)
        if training and self.recurrent_dropout > 0:
            h = h * self.get_recurrent_dropout_mask(h)
        return x, h

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [ops.zeros((batch_size, s), dtype=self.compute_dtype) for s in sizes]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "units": self.units, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": serialize(self.kernel_initializer),
            "recurrent_initializer": serialize(self.recurrent_initializer),
            "bias_initializer": serialize(self.bias_initializer),
            "kernel_regularizer": serialize(self.kernel_regularizer),
            "recurrent_regularizer": serialize(self.recurrent_regularizer),
            "bias_regularizer": serialize(self.bias_regularizer),
            "kernel_constraint": serialize(self.kernel_constraint),
            "recurrent_constraint": serialize(self.recurrent_constraint),
            "bias_constraint": serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        })
        if self._gates > 1:
            cfg["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return cfg


def _states(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


@register("layers")
class SimpleRNNCell(_Cell):
    """h_t = activation(x_t W + h_{t-1} U + b)."""

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)

    def call(self, inputs, states, training=None):
        h = _states(states)[0]
        x, hd = self._dropped(inputs, h, training)
        z = ops.matmul(x, self.kernel) + ops.matmul(hd, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        out = self.activation(z)
        return out, [out]


@register("layers")
class LSTMCell(_Cell):
    """Keras gate order (i, f, c, o): z = x W + h U + b; c_t = f c_{t-1} + i act(z_c); h_t = o act(c_t).
    ``unit_forget_bias`` initialises the forget-gate bias to one (Jozefowicz et al. 2015)."""

    _gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        u, base = self.units, self.bias_initializer

        def bias_init(shape, dtype=None):  # (i, f, c, o) blocks: base, ones, base, base
            dtype = backend.resolve_dtype(dtype or backend.floatx())
            return np.concatenate([np.asarray(base((u,), dtype=dtype)), np.ones((u,), dtype),
                                   np.asarray(base((2 * u,), dtype=dtype))]).astype(dtype)
        return bias_init

    def call(self, inputs, states, training=None):
        h, c = _states(states)[:2]
        x, hd = self._dropped(inputs, h, training)
        z = ops.matmul(x, self.kernel) + ops.matmul(hd, self.recurrent_kernel)
        if self.bias is not None:
            z = z + self.bias
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        g = self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        c_new = f * c + i * g
        h_new = o * self.activation(c_new)
        return h_new, [h_new, c_new]

    def get_config(self):
        cfg = super().get_config()
        cfg["unit_forget_bias"] = self.unit_forget_bias
        return cfg


@register("layers")
class GRUCell(_Cell):
    """Keras GRU, gate order (z, r, h). reset_after=True (default, cuDNN style): bias (2, 3u),
    hh = act(x W_h + b_h + r (h U_h + b'_h)); reset_after=False: hh = act(x W_h + (r h) U_h + b_h).
    h_t = z h_{t-1} + (1 - z) hh."""

    _gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=None):
        h = _states(states)[0]
        x, hd = self._dropped(inputs, h, training)
        u = self.units
        xw = ops.matmul(x, self.kernel)
        b_in = b_rec = None
        if self.bias is not None:
            b_in, b_rec = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
            xw = xw + b_in
        if self.reset_after:
            rec = ops.matmul(hd, self.recurrent_kernel)
            if b_rec is not None:
                rec = rec + b_rec
            z = self.recurrent_activation(xw[:, :u] + rec[:, :u])
            r = self.recurrent_activation(xw[:, u:2 * u] + rec[:, u:2 * u])
            hh = self.activation(xw[:, 2 * u:] + r * rec[:, 2 * u:])
        else:
            rec = ops.matmul(hd, self.recurrent_kernel[:, :2 * u])
            z = self.recurrent_activation(xw[:, :u] + rec[:, :u])
            r = self.recurrent_activation(xw[:, u:2 * u] + rec[:, u:])
            hh = self.activation(xw[:, 2 * u:] + ops.matmul(r * hd, self.recurrent_kernel[:, 2 * u:]))
        h_new = z * h + (1.0 - z) * hh
        return h_new, [h_new]

    def get_config(self):
        cfg = super().get_config()
        cfg["reset_after"] = self.reset_after
        return cfg


@register("layers")
class StackedRNNCells(Layer):
    """Several cells run one after another at each timestep (the state is the concatenation of theirs)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for c in cells:
            if not hasattr(c, "call") or not hasattr(c, "state_size"):
                raise ValueError(f"StackedRNNCells '{self.name}': every cell needs call() and state_size, "
                                 f"got {c!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [s for c in self.cells for s in _states(c.state_size)]

    @property
    def output_size(self):
        c = self.cells[-1]
        return getattr(c, "output_size", _states(c.state_size)[0])

    def build(self, input_shape):
        shape = tuple(input_shape)
        for c in self.cells:
            if not c.built:
                c._maybe_build(shape)
            shape = shape[:-1] + (getattr(c, "output_size", _states(c.state_size)[0]),)
        self.built = True

    def call(self, inputs, states, training=None):
        states, new, x = list(states), [], inputs
        for c in self.cells:
            n = len(_states(c.state_size))
            x, s = c.call(x, states[:n], training=training)
            states = states[n:]
            new.extend(_states(s))
        return x, new

    def get_config(self):
        cfg = super().get_config()
        cfg["cells"] = [serialize(c) for c in self.cells]
        return cfg

    @classmethod
    def from_config(cls, config):
        from ..saving.registry import deserialize
        config = dict(config)
        config["cells"] = [deserialize(c, kind="layers") for c in config["cells"]]
        return cls(**config)
