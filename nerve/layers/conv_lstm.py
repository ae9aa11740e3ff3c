"""Convolutional LSTM layers (Keras 3): ConvLSTM1D, ConvLSTM2D, ConvLSTM3D and their cell, ConvLSTMCell.

Shi et al. 2015, "Convolutional LSTM Network", without the peephole terms (as Keras): the matrix products
of the LSTM become convolutions ``*``, so the states keep the spatial layout of the frames,

  z   = W * x_t + U * h_{t-1} + b          gates (i, f, c, o) stacked on the channel axis (4 * filters)
  i, f, o = recurrent_activation(z_i, z_f, z_o)
  c_t = f c_{t-1} + i activation(z_c)
  h_t = o activation(c_t)

with W (kernel_size..., in_channels, 4 * filters) convolved with the layer's strides / padding / dilation
and U (kernel_size..., filters, 4 * filters) always 'same' with stride 1, so h_t and c_t have the shape of
the input convolution's output. Inputs are (batch, timesteps, spatial..., channels), channels_last only.

The layers are ``RNN`` over a ``ConvLSTMCell`` (a subclass of ``LSTMCell`` for the arguments, weights and
dropout-mask bookkeeping), so return_sequences / return_state / go_backwards / stateful / masks / initial
states behave as for LSTM. Dropout (Keras ``ConvLSTMCell``): four independent masks per sequence, one per
gate, for the input and for the state, applied only for 0 < rate < 1.
"""
import numpy as np

from .. import backend, ops
from ..autograd.ops.conv import conv_out_len
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .convolutional import _tuple, check_data_format, check_padding
from .layer import InputSpec, Layer
from .recurrent import _RNN_ARGS, RNN
from .recurrent_cells import LSTMCell, _positive_int, _states

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_SPATIAL = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}


class ConvLSTMCell(LSTMCell):
    """One ConvLSTM step over frames (batch, spatial..., channels); ``rank`` is the number of spatial axes.
    States h, c: (batch, out_spatial..., filters). Internal to the ConvLSTM layers, as in Keras (not a
    ``keras.layers`` name): the generic ``RNN`` layer keeps flat (batch, units) states."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 **kwargs):
        who = type(self).__name__
        if rank not in (1, 2, 3):
            raise ValueError(f"{who}: argument 'rank' expected 1, 2 or 3 (1-D to 3-D convolutions), got {rank!r}")
        _positive_int(filters, "filters", who, kwargs.get("name"))
        super().__init__(filters, **kwargs)  # units = filters: activations, initializers, dropout, forget bias
        who = f"{who} '{self.name}'"
        self.rank, self.filters = rank, self.units
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size", who)
        self.strides = _tuple(strides, rank, "strides", who)
        self.padding = check_padding(padding, ("valid", "same"), who)
        self.data_format = check_data_format(data_format, who)
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate", who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{who}: strides > 1 is not supported together with dilation_rate > 1 (as Keras), "
                             f"got strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.state_shape = None  # (out_spatial..., filters), known once built

    # ------------------------------------------------------------------ shapes and weights
    @property
    def state_size(self):
        return [self.state_shape, self.state_shape]

    @property
    def output_size(self):
        return self.state_shape

    def _out_dims(self, dims):
        """Spatial size of the input convolution's output (TensorFlow/Keras 'valid' / 'same' rules)."""
        out = tuple(conv_out_len(n, k, s, d, self.padding)[0]
                    for n, k, s, d in zip(dims, self.kernel_size, self.strides, self.dilation_rate))
        if min(out) <= 0:
            raise ValueError(f"{type(self).__name__} '{self.name}': frames of spatial size {tuple(dims)} are too "
                             f"small for kernel {self.kernel_size} (dilation {self.dilation_rate}) with padding "
                             f"{self.padding!r}")
        return out

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._out_dims(input_shape[1:-1]) + (self.filters,)

    def build(self, input_shape):
        who = f"{type(self).__name__} '{self.name}'"
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{who}: expected frames of shape (batch, {_SPATIAL[self.rank]}, channels), got "
                             f"{tuple(input_shape)}")
        if any(d is None for d in input_shape[1:-1]):
            raise ValueError(f"{who}: ConvLSTM needs static spatial dimensions (as Keras), got frames of shape "
                             f"{tuple(input_shape)}")
        self.state_shape = self.compute_output_shape(input_shape)[1:]
        super().build(input_shape)  # kernel, recurrent_kernel (_add_kernels) and bias (unit_forget_bias)

    def _add_kernels(self, input_dim):
        k, f4 = self.kernel_size, 4 * self.filters
        self.kernel = self.add_weight(shape=k + (input_dim, f4), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=k + (self.filters, f4), initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size,) + self.state_shape, dtype=self.compute_dtype) for _ in range(2)]

    # ------------------------------------------------------------------ dropout: one mask per gate (Keras)
    def _gate_masks(self, x, rate):
        return backend.dropout_mask(self._rng(), (4,) + tuple(x.shape), rate, backend.unwrap(x))

    def get_dropout_mask(self, step_input):
        if self._dp_mask is None and 0 < self.dropout < 1:
            self._dp_mask = self._gate_masks(step_input, self.dropout)
        return self._dp_mask

    def get_recurrent_dropout_mask(self, step_state):
        if self._rec_dp_mask is None and 0 < self.recurrent_dropout < 1:
            self._rec_dp_mask = self._gate_masks(step_state, self.recurrent_dropout)
        return self._rec_dp_mask

    # ------------------------------------------------------------------ one timestep
    def _gate_conv(self, x, w, masks, strides, padding, dilation):
        """The four gate pre-activations conv(x_g, w_g) side by side on the channel axis: one convolution with
        the whole (k..., C, 4F) kernel, or, with dropout masks m_g, four convolutions of x * m_g."""
        kw = dict(strides=strides, padding=padding, data_format="channels_last", dilation_rate=dilation)
        if masks is None:
            return ops.conv(x, w, **kw)
        f = self.filters
        return ops.concatenate([ops.conv(x * masks[g], w[..., g * f:(g + 1) * f], **kw) for g in range(4)],
                               axis=-1)

    def call(self, inputs, states, training=None):
        h, c = _states(states)[:2]
        dp = self.get_dropout_mask(inputs) if training else None
        rdp = self.get_recurrent_dropout_mask(h) if training else None
        # z = W * x_t + U * h_{t-1} + b; the recurrent convolution is 'same' with stride 1 (h keeps its shape)
        z = self._gate_conv(inputs, self.kernel, dp, self.strides, self.padding, self.dilation_rate) + \
            self._gate_conv(h, self.recurrent_kernel, rdp, 1, "same", 1)
        if self.bias is not None:
            z = z + self.bias
        f = self.filters
        i = self.recurrent_activation(z[..., :f])
        fg = self.recurrent_activation(z[..., f:2 * f])
        g = self.activation(z[..., 2 * f:3 * f])
        o = self.recurrent_activation(z[..., 3 * f:])
        c_new = fg * c + i * g  # c_t = f c_{t-1} + i act(z_c)
        h_new = o * self.activation(c_new)  # h_t = o act(c_t)
        return h_new, [h_new, c_new]

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("units")
        cfg.update({"rank": self.rank, "filters": self.filters, "kernel_size": list(self.kernel_size),
                    "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                    "dilation_rate": list(self.dilation_rate)})
        return cfg


_FORWARDED = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


class ConvLSTM(RNN):
    """RNN over a ConvLSTMCell of rank ``rank``; inputs (batch, timesteps, spatial..., channels)."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, **kwargs):
        args = dict(locals())  # Keras's signature and argument order; the cell arguments go to the cell
        cell = ConvLSTMCell(self.rank, **{k: args[k] for k in _FORWARDED}, name="conv_lstm_cell",
                            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def __getattr__(self, name):  # filters, kernel_size, activation, dropout, ... come from the cell
        cell = self.__dict__.get("cell")
        if name in _FORWARDED and cell is not None:
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")

    # ------------------------------------------------------------------ shapes and states
    def build(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        if len(shape) != self.rank + 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input of shape (batch, timesteps, "
                             f"{_SPATIAL[self.rank]}, channels), got {tuple(shape)}")
        super().build(input_shape)
        # the weights and states fix the frame size and channels (Keras: static spatial dimensions)
        self.input_spec = InputSpec(ndim=self.rank + 3, axes={a: shape[a] for a in range(2, self.rank + 3)})

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        n, t = input_shape[0], input_shape[1]
        state = self.cell.compute_output_shape((n,) + tuple(input_shape[2:]))
        out = (n, t) + state[1:] if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def get_initial_state(self, batch_size):
        return [np.zeros((batch_size,) + self.cell.state_shape, self.compute_dtype) for _ in range(2)]

    def _initial_states(self, inputs, initial_state):
        if initial_state is None:  # zeros, or the states a stateful layer carried over
            return super()._initial_states(inputs, None)
        init = _states(initial_state)
        if len(init) != 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': argument 'initial_state' expected 2 state "
                             f"tensors [h, c], got {len(init)}")
        shape, out = (inputs.shape[0],) + self.cell.state_shape, []
        for s in init:
            s = s if isinstance(s, Tensor) else \
                Tensor._make(backend.like(inputs.data, backend.as_array(s, self.compute_dtype)), None, 0)
            if tuple(s.shape) != shape:
                raise ValueError(f"{type(self).__name__} '{self.name}': initial state expected shape {shape}, got "
                                 f"{tuple(s.shape)}")
            out.append(s)
        return out

    def _run(self, inputs, init, mask, training):
        if mask is not None:  # (batch, t) -> (batch, t, 1, ...): the loop's step mask broadcasts over the frames
            mask = mask.reshape(mask.shape + (1,) * self.rank)
        return super()._run(inputs, init, mask, training)

    # ------------------------------------------------------------------ config (Keras: flat, no 'cell')
    def get_config(self):
        cfg = Layer.get_config(self)
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype", "rank"):
            cell_cfg.pop(k, None)
        cfg.update(cell_cfg)
        cfg.update({k: getattr(self, k) for k in _RNN_ARGS})
        return cfg

    @classmethod
    def from_config(cls, config):  # Layer's (it restores activity_regularizer); there is no 'cell' entry
        return Layer.from_config.__func__(cls, config)


@register("layers")
class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM: inputs (batch, timesteps, steps, channels); kernel (k, channels, 4 * filters)."""

    rank = 1


@register("layers")
class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM: inputs (batch, timesteps, rows, cols, channels); kernel (kh, kw, channels,
    4 * filters)."""

    rank = 2


@register("layers")
class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM: inputs (batch, timesteps, depth, rows, cols, channels); kernel (kd, kh, kw,
    channels, 4 * filters)."""

    rank = 3
