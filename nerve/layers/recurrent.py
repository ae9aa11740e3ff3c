"""Recurrent layers (Keras 3): the generic ``RNN(cell)`` layer and SimpleRNN, LSTM, GRU.

Inputs are (batch, timesteps, features). ``RNN`` loops over the timesteps in Python, calling the cell
(any cell: ``call(x_t, states, training) -> (output, new_states)`` and ``state_size``). SimpleRNN, LSTM and
GRU use the fused whole-sequence kernels (one GEMM for the input projection of all timesteps, one fused
BPTT backward; ``nerve/autograd/ops/recurrent.py``) whenever the activations are the defaults (tanh /
sigmoid), there is no recurrent dropout in training and (GRU) ``reset_after=True``; otherwise the cell loop
runs the same math with composite ops.

Masks (from ``Embedding(mask_zero=True)`` or ``Masking``, or the ``mask`` argument) are (batch, timesteps)
booleans: at a masked step the states are kept and the output repeats the previous one (zeros with
``zero_output_for_mask=True``; before the first unmasked step the output is zeros even with an initial
state). With ``go_backwards`` the sequence is read from the end and a returned sequence is in processing
(reversed) order, as in Keras.
"""
import numpy as np

from .. import backend, ops
from ..autograd.ops.recurrent import GRUFn, LSTMFn, SimpleRNNFn
from ..autograd.tensor import Tensor
from ..saving.registry import deserialize, register, serialize
from .layer import InputSpec, Layer
from .node import is_symbolic
from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells, _Cell, _states


def _as_mask(mask):
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if mask is None:
        return None
    m = mask.data if isinstance(mask, Tensor) else mask
    return backend.as_array(m, bool)


@register("layers")
class RNN(Layer):
    """Base class of recurrent layers: runs ``cell`` over the time axis (Keras ``keras.layers.RNN``)."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
            raise ValueError(f"{type(self).__name__} '{self.name}': argument 'cell' expected an RNN cell with "
                             f"call() and state_size, got {cell!r}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_spec = InputSpec(min_ndim=3)
        self.states = None

    # ------------------------------------------------------------------ shapes
    @property
    def _state_sizes(self):
        return _states(self.cell.state_size)

    def build(self, input_shape):
        if isinstance(input_shape, list):  # [x, *initial_states]
            input_shape = input_shape[0]
        if len(input_shape) < 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input of shape (batch, timesteps, "
                             f"features), got {tuple(input_shape)}")
        if not self.cell.built:
            self.cell._maybe_build((input_shape[0],) + tuple(input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        n, t = input_shape[0], input_shape[1]
        u = getattr(self.cell, "output_size", self._state_sizes[0])
        out = (n, t, u) if self.return_sequences else (n, u)
        if self.return_state:
            return [out] + [(n, s) for s in self._state_sizes]
        return out

    def compute_mask(self, inputs, mask=None):
        m = mask[0] if isinstance(mask, (list, tuple)) else mask
        return m if self.return_sequences else None

    # ------------------------------------------------------------------ states
    def reset_states(self, states=None):
        """Stateful layers: forget the carried state (zeros at the next call), or set it to ``states``."""
        self.states = None if states is None else [backend.as_array(s) for s in _states(states)]

    reset_state = reset_states

    def get_initial_state(self, batch_size):
        return [np.zeros((batch_size, s), self.compute_dtype) for s in self._state_sizes]

    def _initial_states(self, inputs, initial_state):
        n = inputs.shape[0]
        if initial_state is not None:
            init = _states(initial_state)
            if len(init) != len(self._state_sizes):
                raise ValueError(f"{type(self).__name__} '{self.name}': argument 'initial_state' expected "
                                 f"{len(self._state_sizes)} state tensor(s), got {len(init)}")
            out = []
            for s, size in zip(init, self._state_sizes):
                s = s if isinstance(s, Tensor) else \
                    Tensor._make(backend.like(inputs.data, backend.as_array(s, self.compute_dtype)), None, 0)
                if tuple(s.shape) != (n, size):
                    raise ValueError(f"{type(self).__name__} '{self.name}': initial state expected shape "
                                     f"{(n, size)}, got {tuple(s.shape)}")
                out.append(s)
            return out
        if self.stateful and self.states is not None:
            if self.states[0].shape[0] != n:
                raise ValueError(f"{type(self).__name__} '{self.name}': stateful layer holds states for batch size "
                                 f"{self.states[0].shape[0]}, got a batch of {n}; call reset_states() first")
            return [Tensor._make(backend.like(inputs.data, s), None, 0) for s in self.states]
        return None

    # ------------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        # initial states given as symbolic tensors become extra inputs of the graph node
        init = kwargs.get("initial_state")
        if init is not None and is_symbolic(args[0] if args else kwargs.get("inputs")):
            kwargs.pop("initial_state")
            x = args[0] if args else kwargs.pop("inputs")
            return super().__call__([x] + _states(init), *args[1:], **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], list(inputs[1:]) or initial_state
        mask = _as_mask(mask)
        if mask is not None:
            mask = backend.like(inputs.data, mask)  # a host mask for a model on the GPU
        if mask is not None and mask.shape != tuple(inputs.shape[:2]):
            raise ValueError(f"{type(self).__name__} '{self.name}': mask expected shape {tuple(inputs.shape[:2])}, "
                             f"got {mask.shape}")
        init = self._initial_states(inputs, initial_state)
        out, states = self._run(inputs, init, mask, training)
        if self.stateful:
            self.states = [s.data.copy() for s in states]
        if self.return_state:
            return [out] + list(states)
        return out

    def _run(self, inputs, init, mask, training):
        """Generic loop over the timesteps calling the cell."""
        cell = self.cell
        for c in getattr(cell, "cells", [cell]):
            if isinstance(c, _Cell):
                c.reset_dropout_mask()
                c.reset_recurrent_dropout_mask()
        n, t = inputs.shape[0], inputs.shape[1]
        states = init if init is not None else [Tensor._make(backend.like(inputs.data, s), None, 0)
                                                for s in self.get_initial_state(n)]
        steps = range(t - 1, -1, -1) if self.go_backwards else range(t)
        outs, prev = [], None
        for i in steps:
            x_t = inputs[:, i]
            y, new = cell.call(x_t, states, training=training)
            new = _states(new)
            if mask is not None:
                m = mask[:, i:i + 1].astype(y.dtype)
                new = [s + m * (ns - s) for s, ns in zip(states, new)]  # masked step keeps the state
                if self.zero_output_for_mask:
                    y = y * m
                elif prev is not None:
                    y = prev + m * (y - prev)
                else:
                    y = y * m
            states, prev = new, y
            if self.return_sequences:
                outs.append(y)
        out = ops.stack(outs, axis=1) if self.return_sequences else prev
        return out, states

    # ------------------------------------------------------------------ config
    def get_config(self):
        cfg = super().get_config()
        cfg.update({"return_sequences": self.return_sequences, "return_state": self.return_state,
                    "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                    "zero_output_for_mask": self.zero_output_for_mask})
        if type(self) is RNN:
            cfg["cell"] = serialize(self.cell)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "cell" in config and isinstance(config["cell"], dict):
            config["cell"] = deserialize(config["cell"], kind="layers")
        return cls(**config)


_CELL_ARGS = ("activation", "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
              "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")
_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask")


class _FusedRNN(RNN):
    """SimpleRNN / LSTM / GRU: a fixed cell type built from the layer's arguments, plus the fused path."""

    _cell_cls = None
    _cell_name = None
    _extra_cell_args = ()
    # Under mixed_float16 the recurrence runs in float32 and the outputs are cast to float16: its per-step gate
    # kernels (ops/gpu.py) and GEMMs are launch-bound, float16 would only lose precision over the steps (and
    # NumPy's float16 has no BLAS). On an H200: LSTM 24.1 -> 6.4 ms/step, GRU 27.6 -> 6.3 (bench/gpu/bench_mixed*).
    _mixed_in_float32 = True

    def __init__(self, units, **kwargs):
        rnn_kw = {k: kwargs.pop(k) for k in _RNN_ARGS if k in kwargs}
        cell_kw = {k: kwargs.pop(k) for k in _CELL_ARGS + self._extra_cell_args + ("recurrent_activation",)
                   if k in kwargs}
        kwargs.pop("implementation", None)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        cell = self._cell_cls(units, name=self._cell_name, dtype=kwargs.get("dtype"),
                              trainable=kwargs.get("trainable", True), **cell_kw)
        super().__init__(cell, activity_regularizer=activity_regularizer, **rnn_kw, **kwargs)

    def __getattr__(self, name):  # units, activation, dropout, kernel_initializer, ... come from the cell
        if name in ("units", "recurrent_activation", "unit_forget_bias", "reset_after") + _CELL_ARGS:
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!s} object has no attribute {name!r}")

    def _fusable(self, training):
        c = self.cell
        return (getattr(c.activation, "__name__", "") == "tanh"
                and (self._cell_cls is SimpleRNNCell or getattr(c.recurrent_activation, "__name__", "") == "sigmoid")
                and not (training and c.recurrent_dropout > 0))

    def _run(self, inputs, init, mask, training):
        if not self._fusable(training):
            return super()._run(inputs, init, mask, training)
        c = self.cell
        x = inputs
        if training and c.dropout > 0:  # one input mask per sequence, shared across timesteps
            c.reset_dropout_mask()
            dm = c.get_dropout_mask(Tensor._make(np.empty((x.shape[0], x.shape[2]), x.dtype), None, 0))
            x = x * backend.like(x.data, dm)[:, None, :]
        init = init or [None] * len(self._state_sizes)
        kw = dict(return_sequences=self.return_sequences, go_backwards=self.go_backwards,
                  zero_masked=self.zero_output_for_mask)
        res = self._kernel.apply(x, c.kernel, c.recurrent_kernel, c.bias, *init, mask, **kw)
        out = res[0]
        if mask is not None and init[0] is not None and not self.zero_output_for_mask:
            # Keras: before the first unmasked step the output is zeros (not the held initial state)
            seen = (mask[:, ::-1] if self.go_backwards else mask).cumsum(axis=1) > 0  # any step so far (NumPy/CuPy)
            keep = seen[..., None] if self.return_sequences else seen[:, -1:]
            if not keep.all():
                out = out * keep.astype(out.dtype)
        elif mask is not None and self.zero_output_for_mask and not self.return_sequences:
            last = mask[:, :1] if self.go_backwards else mask[:, -1:]  # the last processed step
            if not last.all():
                out = out * last.astype(out.dtype)
        return out, list(res[1:])

    def get_config(self):
        cfg = Layer.get_config(self)
        cell_cfg = self.cell.get_config()
        for k in ("name", "trainable", "dtype"):
            cell_cfg.pop(k, None)
        cfg.update(cell_cfg)
        cfg.update({k: getattr(self, k) for k in _RNN_ARGS})
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@register("layers")
class SimpleRNN(_FusedRNN):
    """Fully-connected RNN, h_t = activation(x_t W + h_{t-1} U + b) (Keras ``SimpleRNN``)."""

    _cell_cls, _cell_name, _kernel = SimpleRNNCell, "simple_rnn_cell", SimpleRNNFn


@register("layers")
class LSTM(_FusedRNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), Keras gate order (i, f, c, o)."""

    _cell_cls, _cell_name, _kernel = LSTMCell, "lstm_cell", LSTMFn
    _extra_cell_args = ("unit_forget_bias",)


@register("layers")
class GRU(_FusedRNN):
    """Gated recurrent unit (Cho et al. 2014), Keras gate order (z, r, h); reset_after=True by default."""

    _cell_cls, _cell_name, _kernel = GRUCell, "gru_cell", GRUFn
    _extra_cell_args = ("reset_after",)

    def _fusable(self, training):
        return self.cell.reset_after and super()._fusable(training)
