"""Layer wrappers (Keras 3): the Wrapper base class, Bidirectional and TimeDistributed."""
import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving.registry import deserialize, register, serialize
from .layer import Layer
from .node import is_symbolic

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy_layer(layer, **changes):
    cfg = serialize(layer)
    cfg["config"].update(changes)
    return deserialize(cfg, kind="layers")


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


@register("layers")
class Wrapper(Layer):
    """Base class of layers that wrap one other layer (Keras ``keras.layers.Wrapper``): tracks it, builds it
    on the wrapper's input shape, and (de)serialises it under the config key ``layer``."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: argument 'layer' expected a Layer instance, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer._maybe_build(input_shape)
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return self.layer(inputs, *args, **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg["layer"] = serialize(self.layer)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = deserialize(config["layer"], kind="layers", custom_objects=custom_objects)
        return super().from_config(config)


@register("layers")
class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards and merges the two outputs
    (``merge_mode`` 'concat' (default), 'sum', 'mul', 'ave', or None for the list [forward, backward]).

    The backward copy has ``go_backwards=True``; its returned sequence is flipped back to the forward
    time order before merging. With ``return_sequences`` the masked steps give zeros (Keras forces
    ``zero_output_for_mask``). ``initial_state``: the first half goes to the forward layer, the rest to the
    backward one. Weights: forward layer's, then backward layer's (names ``forward_<layer>``, ``backward_<layer>``).
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Bidirectional: argument 'layer' expected a Layer instance (e.g. LSTM), got {layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: argument 'merge_mode' expected one of {list(_MERGE_MODES)}, got "
                             f"{merge_mode!r}")
        super().__init__(**kwargs)
        self.forward_layer = _copy_layer(layer, name="forward_" + _strip(layer.name, "forward_"))
        if backward_layer is None:
            self.backward_layer = _copy_layer(layer, name="backward_" + _strip(layer.name, "backward_"),
                                              go_backwards=not layer.go_backwards)
        else:
            if not isinstance(backward_layer, Layer):
                raise ValueError(f"Bidirectional '{self.name}': argument 'backward_layer' expected a Layer, got "
                                 f"{backward_layer!r}")
            self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(f"Bidirectional '{self.name}': the forward and backward layers need different "
                             f"go_backwards values, got {self.forward_layer.go_backwards} for both")
        for a in ("stateful", "return_sequences", "return_state"):
            if getattr(self.forward_layer, a) != getattr(self.backward_layer, a):
                raise ValueError(f"Bidirectional '{self.name}': forward and backward layers differ in '{a}' "
                                 f"({getattr(self.forward_layer, a)} vs {getattr(self.backward_layer, a)})")
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = weights
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def build(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub._maybe_build(shape)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        out = self.forward_layer.compute_output_shape(shape)
        states = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        out = tuple(out)
        if self.merge_mode == "concat":
            out = out[:-1] + (None if out[-1] is None else 2 * out[-1],)
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state or self.merge_mode is None:
            return outs + states + states
        return out

    def __call__(self, *args, **kwargs):
        init = kwargs.get("initial_state")
        if init is not None and is_symbolic(args[0] if args else kwargs.get("inputs")):
            kwargs.pop("initial_state")
            x = args[0] if args else kwargs.pop("inputs")
            return super().__call__([x] + list(init), *args[1:], **kwargs)
        return super().__call__(*args, **kwargs)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], list(inputs[1:]) or initial_state
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        fw_state = bw_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fw_state, bw_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, initial_state=fw_state, mask=mask, training=training)
        y_rev = self.backward_layer(inputs, initial_state=bw_state, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        if self.merge_mode == "concat":
            out = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            out = y + y_rev
        elif self.merge_mode == "ave":
            out = (y + y_rev) * 0.5
        elif self.merge_mode == "mul":
            out = y * y_rev
        else:
            out = [y, y_rev]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def compute_mask(self, inputs, mask=None):
        m = mask[0] if isinstance(mask, (list, tuple)) else mask
        return m if self.return_sequences else None

    def reset_states(self):
        if not self.stateful:
            raise AttributeError(f"Bidirectional '{self.name}': reset_states needs a stateful layer")
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states + self.backward_layer.states)
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"merge_mode": self.merge_mode, "layer": serialize(self.forward_layer),
                    "backward_layer": serialize(self.backward_layer)})
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = deserialize(config["layer"], kind="layers")
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"], kind="layers")
        return cls(**config)


@register("layers")
class TimeDistributed(Layer):
    """Applies ``layer`` to every temporal slice of a (batch, time, ...) input: the input is reshaped to
    (batch * time, ...), run through the layer once, and reshaped back (same weights for every step)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: argument 'layer' expected a Layer instance, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}': expected an input of rank >= 3 (batch, time, ...), "
                             f"got shape {tuple(input_shape)}")
        if not self.layer.built:
            self.layer._maybe_build((None,) + tuple(input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def call(self, inputs, training=None, mask=None):
        n, t = inputs.shape[0], inputs.shape[1]
        flat = ops.reshape(inputs, (n * t,) + tuple(inputs.shape[2:]))
        kw = {}
        names, has_var_kw = self.layer._call_params()
        if "training" in names or has_var_kw:
            kw["training"] = training
        if mask is not None and "mask" in names:
            m = mask.data if isinstance(mask, Tensor) else backend.as_array(mask)
            kw["mask"] = Tensor._make(m.reshape(n * t, *m.shape[2:]), None, 0)
        y = self.layer(flat, **kw)
        return ops.reshape(y, (n, t) + tuple(y.shape[1:]))

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        cfg = super().get_config()
        cfg["layer"] = serialize(self.layer)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = deserialize(config["layer"], kind="layers")
        return cls(**config)
