"""Layer: the Keras 3 lifecycle. ``__init__`` stores config only; ``build(input_shape)`` creates weights
with ``add_weight``; ``call(inputs, training=None, mask=None)`` computes; ``get_config`` describes.

``__call__`` converts inputs, builds on first use, checks the input spec (errors name the layer,
the expected and the actual shape), resolves the training flag, propagates masks, and on symbolic
inputs (``nerve.Input``) records a functional-graph Node instead of computing.
"""
import inspect
import re

import numpy as np

from .. import backend, scopes
from ..autograd import autocast
from ..autograd.tensor import Tensor
from ..dtype_policies import _MIXED, DTypePolicy, global_mixed_policy, quantized_source  # _MIXED: name -> dtypes
from ..dtype_policies import policy_dtypes as _policy_dtypes
from ..rematerialization import get_current_remat_mode
from ..saving.registry import register
from ..variables import Variable
from .node import KerasTensor, Node, flatten, is_symbolic

_NAME_COUNTS = {}
_CALL_DEPTH = [0]
_FLOAT_DTYPES = {n: np.dtype(n) for n in ("float16", "float32", "float64")}


def _policy_name(dtype):
    """A layer's ``dtype`` argument as a policy name: None, a dtype or its name, a DTypePolicy, or the dict Keras
    writes for a policy in a config."""
    if dtype is None or isinstance(dtype, str):
        return dtype
    if isinstance(dtype, dict):
        from ..dtype_policies import deserialize
        return deserialize(dtype).name
    return getattr(dtype, "name", None) or str(np.dtype(dtype))


def to_snake_case(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base):
    """Keras-style automatic names: dense, dense_1, dense_2, ..."""
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_uids():
    """Restart automatic naming (``nerve.utils.clear_session``)."""
    _NAME_COUNTS.clear()


class InputSpec:
    """Expected rank / axis sizes of a layer input (Keras ``InputSpec``)."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None):
        self.dtype, self.shape = dtype, shape
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.name = name


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _fmt(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Layer:
    """Base class of all layers (Keras 3 ``keras.layers.Layer``)."""

    _call_args = None  # per-class cache of call's parameter names
    _remat_mode = None  # the RematScope active when the layer was created (keras.RematScope)
    _mixed_in_float32 = False  # under a mixed policy, compute in the variable dtype (normalization layers)

    def __init__(self, trainable=True, dtype=None, autocast=True, name=None, activity_regularizer=None,
                 **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        kwargs.pop("batch_size", None)
        for k in ("input_length", "weights"):
            kwargs.pop(k, None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        object.__setattr__(self, "_tracked_layers", [])
        object.__setattr__(self, "_device", backend.config.device)  # weights built later go there (device())
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        if not isinstance(self.name, str):
            raise TypeError(f"{type(self).__name__}: argument 'name' expected a string, got {type(name).__name__}")
        self._trainable = bool(trainable)
        dtype = _policy_name(dtype)
        if dtype is None:  # as Keras, a layer takes a mixed global policy when it is made
            dtype = global_mixed_policy()
        elif dtype.startswith("mixed_") or quantized_source(dtype):
            from ..dtype_policies import get as get_policy
            get_policy(dtype)  # mixed_bfloat16, int4_from_... and unknown names fail here, naming the policy
        self._dtype = dtype
        self.autocast = autocast
        self.built = False
        self._own_weights = []
        self._losses = []
        self.input_spec = None
        self.supports_masking = False
        self._inbound_nodes = []
        self._build_shapes = None
        from .. import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer) if activity_regularizer else None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self._input_shape_arg = tuple(input_shape) if input_shape is not None else None
        remat_mode = get_current_remat_mode()
        self._remat_mode = remat_mode if remat_mode is not None and remat_mode.mode is not None else None

    # ------------------------------------------------------------------ attributes and tracking
    def __setattr__(self, name, value):
        if isinstance(value, Layer) and not name.startswith("_"):
            tl = self.__dict__.get("_tracked_layers")
            if tl is not None and all(value is not t for t in tl):
                tl.append(value)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value) \
                and not name.startswith("_"):
            tl = self.__dict__.get("_tracked_layers")
            if tl is not None:
                for v in value:
                    if all(v is not t for t in tl):
                        tl.append(v)
        object.__setattr__(self, name, value)

    @property
    def dtype(self):
        """The dtype of the layer's variables (Keras: ``dtype_policy.variable_dtype``)."""
        d = self._dtype
        return backend.floatx() if d is None else _policy_dtypes(d)[1]

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations: float inputs are cast to it (float16 under 'mixed_float16')."""
        d = self._dtype
        return backend.floatx() if d is None else _policy_dtypes(d)[0]

    @property
    def quantization_mode(self):
        """'int8' once the layer's weights are quantized (``quantize``), else None."""
        return None if self._dtype is None else _policy_dtypes(self._dtype)[2]

    def quantize(self, mode, type_check=True, config=None):
        """Quantize the layer's weights (Keras): Dense and Embedding implement 'int8'."""
        raise NotImplementedError(f"{type(self).__name__} '{self.name}': quantize is not supported for this layer "
                                  f"(Dense and Embedding support mode 'int8')")

    def _init_kernel_bias(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                          kernel_constraint, bias_constraint):
        """The six kernel / bias arguments of a Dense-like layer, resolved (``initializers.get`` and its kin)."""
        from .. import constraints, initializers, regularizers
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _kernel_bias_config(self):
        """``get_config`` entries of those six arguments."""
        from ..saving.registry import serialize
        return {k: serialize(getattr(self, k)) for k in (
            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint",
            "bias_constraint")}

    def _check_quantize(self, mode, type_check, cls):
        """Keras' checks before ``quantize``: the class itself (a subclass only with type_check=False), a mode nerve
        has, a built layer that is not quantized yet."""
        from .. import quantizers
        who = f"{type(self).__name__} '{self.name}'"
        if type_check and type(self) is not cls:
            raise NotImplementedError(f"{who}: quantize is defined for {cls.__name__} itself, not this subclass (pass "
                                      f"type_check=False to use it anyway)")
        quantizers.check_mode(f"{who}.quantize", mode)
        if not self.built:
            raise ValueError(f"{who}: quantize needs a built layer (call it or build it first)")
        if self.quantization_mode is not None:
            raise ValueError(f"{who}: the layer is already quantized ({self.quantization_mode!r})")

    @property
    def variable_dtype(self):
        return self.dtype

    @property
    def dtype_policy(self):
        if self._dtype is not None and quantized_source(self._dtype):
            from ..dtype_policies import get as get_policy
            return get_policy(self._dtype)
        return DTypePolicy(self._dtype or backend.floatx())

    @dtype_policy.setter
    def dtype_policy(self, policy):
        self._dtype = _policy_name(policy)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._tracked_layers:
            layer.trainable = value

    @property
    def layers(self):
        return list(self._tracked_layers)

    def _flatten_layers(self, include_self=True):
        out = [self] if include_self else []
        for layer in self._tracked_layers:
            out.extend(layer._flatten_layers(True))
        return out

    # ------------------------------------------------------------------ weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", name=None):
        """Create a Variable owned by this layer (Keras 3 signature)."""
        from .. import constraints, initializers, regularizers
        shape = tuple(int(d) for d in (shape or ()))
        for d in shape:
            if d < 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': weight {name!r} has a negative dimension "
                                 f"in shape {shape}")
        dtype = backend.resolve_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        init = initializers.get(initializer)
        where = backend.config.device if backend.config.device != "cpu" else self.__dict__.get("_device", "cpu")
        with backend._switch("device", where):
            v = Variable(init, shape=shape, dtype=dtype, trainable=trainable, autocast=autocast,
                         name=name or "variable",
                         constraint=constraints.get(constraint) if constraint else None,
                         regularizer=regularizers.get(regularizer) if regularizer else None)
        v.path = f"{self.name}/{v.name}"
        self._own_weights.append(v)
        return v

    @property
    def weights(self):
        """Own trainable weights, own non-trainable weights, then those of sub-layers (Keras order)."""
        own = [w for w in self._own_weights if w.trainable] + [w for w in self._own_weights if not w.trainable]
        seen, out = set(), []
        for w in own + [w for layer in self._tracked_layers for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [w for w in self._own_weights if w.trainable]
        for layer in self._tracked_layers:
            out.extend(w for w in layer.trainable_weights if all(w is not o for o in out))
        return out

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        tw = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in tw]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [w.numpy().copy() for w in self.weights]

    def zero_grad(self, set_to_none=True):
        """Clear the gradients of every weight (torch's Module.zero_grad, which Keras 3 models on the torch
        backend have): None by default, zeros with ``set_to_none=False``."""
        for w in self.weights:
            if set_to_none or w.grad is None:
                w.grad = None
            else:
                w.grad = w.grad * 0

    def set_weights(self, weights):
        ws = self.weights
        if len(weights) != len(ws):
            raise ValueError(f"{type(self).__name__} '{self.name}': set_weights expected a list of {len(ws)} "
                             f"arrays ({[w.path for w in ws]}), got {len(weights)}")
        for w, v in zip(ws, weights):
            v = np.asarray(v)
            if tuple(v.shape) != w.shape:
                raise ValueError(f"{type(self).__name__} '{self.name}': weight '{w.path}' expected shape "
                                 f"{w.shape}, got {tuple(v.shape)}")
        for w, v in zip(ws, weights):
            w.assign(v)

    def count_params(self):
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}': count_params needs a built layer; call it on "
                             f"data or call build(input_shape) first")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ------------------------------------------------------------------ losses
    def add_loss(self, loss):
        scope = scopes.get_stateless_scope()
        if scope is not None:  # Keras: collected by the scope (collect_losses) or dropped, never on the layer
            if scope.collect_losses:
                scope.add_loss(loss)
            return
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added during the last call (activity regularisation) plus weight-regularisation terms."""
        out = []
        for layer in self._flatten_layers():
            out.extend(layer._losses)
            for w in layer._own_weights:
                if w.regularizer is not None and layer.trainable:
                    out.append(w.regularizer(w))
        return out

    def _clear_losses(self):
        for layer in self._flatten_layers():
            if layer.__dict__.get("_losses"):  # only non-empty lists (runs at every outer call)
                layer._losses = []

    # ------------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def compute_output_shape(self, input_shape):
        """Default: trace ``call`` on zeros (batch 1) and read the shapes back."""
        return self._trace_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask if self.supports_masking else None

    def get_config(self):
        cfg = {"name": self.name, "trainable": self.trainable,
               "dtype": self._dtype if self._dtype is not None and self._dtype != self.dtype else self.dtype}
        if self.activity_regularizer is not None:
            from ..saving.registry import serialize
            cfg["activity_regularizer"] = serialize(self.activity_regularizer)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "activity_regularizer" in config and isinstance(config["activity_regularizer"], dict):
            from .. import regularizers
            config["activity_regularizer"] = regularizers.get(config["activity_regularizer"])
        return cls(**config)

    def get_build_config(self):
        if self._build_shapes is None:
            return None
        return {"input_shape": _to_json_shape(self._build_shapes)}

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None and not self.built:
            self._maybe_build(_from_json_shape(config["input_shape"]))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ------------------------------------------------------------------ calling
    @classmethod
    def _call_params(cls):
        """(call's parameter names, whether it takes **kwargs); the default of its ``training`` is cached too."""
        if cls.__dict__.get("_call_args") is None:
            params = inspect.signature(cls.call).parameters
            t = params.get("training")
            default = t.default if t is not None and isinstance(t.default, bool) else None
            cls._call_args = (set(params), any(p.kind == p.VAR_KEYWORD for p in params.values()), default)
        return cls._call_args[:2]

    def _training(self, training):
        """Keras 3's order for the training flag: the call's own argument; else the enclosing context (fit: True,
        evaluate / predict: False, ``backend.training_mode``); else the default of ``call``'s ``training``
        parameter (True for the augmentation layers, as in Keras, so that a direct call augments); else None."""
        if training is not None:
            return training
        ctx = backend.config.training
        if ctx is not None:
            return ctx
        self._call_params()
        return type(self)._call_args[2]

    def _maybe_build(self, shapes):
        if not self.built:
            self._build_shapes = shapes
            self.build(shapes)
            self.built = True

    @property
    def input_dtype(self):
        """The dtype float inputs are cast to (Keras' ``Layer.input_dtype``): the compute dtype, or under a mixed
        policy the variable dtype for layers that compute in float32 (normalization: float16 statistics overflow;
        Keras casts inside their call instead)."""
        if self._dtype in _MIXED and self._mixed_in_float32:
            return self.dtype
        return self.compute_dtype

    def _convert(self, x, dtype=None):
        dtype = dtype or self.input_dtype
        if isinstance(x, Tensor):
            d = x.data
            if self.autocast and d.dtype.kind == "f" and d.dtype != np.dtype(dtype) and dtype in _FLOAT_DTYPES:
                from .. import ops
                return ops.cast(x, dtype)
            return x
        if isinstance(x, (list, tuple)):
            return type(x)(self._convert(v, dtype) for v in x)
        if isinstance(x, dict):
            return {k: self._convert(v, dtype) for k, v in x.items()}
        if x is None or isinstance(x, (int, float, bool, str)):
            return x
        a = x if backend.is_array(x) else np.asarray(x)
        if a.dtype.kind in "OUS":
            if self._accepts_strings():  # e.g. a FeatureSpace, or a model whose Input is a string column
                return a
            raise TypeError(f"{type(self).__name__} '{self.name}': expected numeric input, got an array of dtype "
                            f"{a.dtype}")
        if a.dtype.kind == "f" and self.autocast and a.dtype != np.dtype(dtype):  # Keras: to any layer dtype
            a = a.astype(dtype)
        elif a.dtype.kind == "b":
            pass
        return Tensor._make(a, None, 0)

    def _accepts_strings(self):
        """Whether string / object arrays may reach ``call`` unconverted (layers that encode strings say so)."""
        return False

    def _to_device(self, x):
        """Host inputs of a layer whose weights are on the GPU (made under nerve.device("gpu")): arrays and constant
        tensors are copied there; a host tensor that requires grad is an error (a copy would cut its gradient)."""
        if isinstance(x, (list, tuple)):
            return type(x)(self._to_device(v) for v in x)
        if isinstance(x, dict):
            return {k: self._to_device(v) for k, v in x.items()}
        if not isinstance(x, Tensor) or type(x.data) is not np.ndarray or x.data.dtype.kind in "OUS":
            return x
        if x.requires_grad:
            raise ValueError(f"{type(self).__name__} '{self.name}': the input is a NumPy tensor that requires grad, "
                             f"but this layer's weights are on the GPU (made under nerve.device('gpu')); make the "
                             f"input there too, e.g. nerve.tensor(cupy.asarray(x), requires_grad=True)")
        mask = getattr(x, "_keras_mask", None)
        out = Tensor._make(backend.place_on("gpu", x.data), None, 0)
        if mask is not None:
            out._keras_mask = backend.like(out.data, backend.as_array(backend.unwrap(mask)))
        return out

    def _check_input_spec(self, inputs):
        spec = self.input_spec
        if spec is None:
            return
        specs = spec if isinstance(spec, (list, tuple)) else [spec]
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if len(specs) != len(xs) and len(specs) > 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected {len(specs)} inputs, got {len(xs)}")
        for s, x in zip(specs, xs):
            if s is None:
                continue
            shape = _shape_of(x)
            nd = len(shape)
            if s.ndim is not None and nd != s.ndim:
                raise ValueError(f"{type(self).__name__} '{self.name}': expected input of rank {s.ndim}, got input "
                                 f"of shape {_fmt(shape)} (rank {nd})")
            if s.min_ndim is not None and nd < s.min_ndim:
                raise ValueError(f"{type(self).__name__} '{self.name}': expected input of rank >= {s.min_ndim}, got "
                                 f"input of shape {_fmt(shape)} (rank {nd})")
            if s.max_ndim is not None and nd > s.max_ndim:
                raise ValueError(f"{type(self).__name__} '{self.name}': expected input of rank <= {s.max_ndim}, got "
                                 f"input of shape {_fmt(shape)} (rank {nd})")
            for ax, size in s.axes.items():
                if size is not None and -nd <= ax < nd and shape[ax] is not None and shape[ax] != size:
                    where = f"last axis {size}" if ax == -1 else f"axis {ax} of size {size}"
                    raise ValueError(f"{type(self).__name__} '{self.name}': expected {where}, got input of "
                                     f"shape {_fmt(shape)}")

    @classmethod
    def _plain_class(cls):
        """Whether ``call`` takes no mask (nor **kwargs) and the class keeps Layer's compute_mask."""
        if cls.__dict__.get("_plain") is None:
            names, has_var_kw = cls._call_params()
            cls._plain = "mask" not in names and not has_var_kw and cls.compute_mask is Layer.compute_mask
        return cls._plain

    def _fast_call(self, x, kwargs):
        """__call__ inside a model's call for a built plain layer and one Tensor: the same steps, fewer checks.
        Returns NotImplemented when the general path is needed (a mask, an activity regulariser, a dtype to
        cast). The input shape is checked against input_spec once per shape."""
        if self.activity_regularizer is not None or self._remat_mode is not None or not self._plain_class() or \
                (self.supports_masking and getattr(x, "_keras_mask", None) is not None) or \
                self._dtype in _MIXED or autocast.ACTIVE[0] is not None:
            return NotImplemented
        d = x.data
        if d.dtype.kind == "f" and self.autocast and d.dtype != _FLOAT_DTYPES.get(self.dtype):
            return NotImplemented
        key = (d.shape, d.dtype, id(self.input_spec))
        if self.__dict__.get("_spec_ok") != key:  # input_spec is checked once per input shape and dtype
            self._check_input_spec(x)
            self.__dict__["_spec_ok"] = key
        if "training" in self._call_args[0]:
            out = self.call(x, training=self._training(kwargs.get("training")))
        else:
            out = self.call(x)
        return out

    def __call__(self, *args, **kwargs):
        if _CALL_DEPTH[0] and len(args) == 1 and type(args[0]) is Tensor and self.built and \
                (not kwargs or (len(kwargs) == 1 and "training" in kwargs)):
            _CALL_DEPTH[0] += 1
            try:
                out = self._fast_call(args[0], kwargs)
            finally:
                _CALL_DEPTH[0] -= 1
            if out is not NotImplemented:
                return out
        if args:
            inputs, args = args[0], args[1:]
        elif "inputs" in kwargs:
            inputs = kwargs.pop("inputs")
        else:
            raise TypeError(f"{type(self).__name__} '{self.name}': called without inputs")
        if is_symbolic(inputs):
            return self._symbolic_call(inputs, args, kwargs)
        inputs = self._convert(inputs)
        if not self.built:
            self._maybe_build(_shapes_of(inputs))
        if self.__dict__.get("_device") == "gpu" and (self._own_weights or self._tracked_layers):
            inputs = self._to_device(inputs)  # a layer without weights works wherever its input is
        self._check_input_spec(inputs)
        names, has_var_kw = self._call_params()
        if "training" in names or has_var_kw:
            kwargs["training"] = self._training(kwargs.get("training"))
        else:
            kwargs.pop("training", None)
        if "mask" in names and kwargs.get("mask") is None:
            m = _mask_of(inputs)
            if m is not None:
                kwargs["mask"] = m
        elif "mask" not in names and not has_var_kw:
            kwargs.pop("mask", None)
        outer = _CALL_DEPTH[0] == 0
        if outer:
            self._clear_losses()
        scope = self._autocast_scope()
        _CALL_DEPTH[0] += 1
        try:
            call = self.call if self._remat_mode is None else self.rematerialized_call(self.call, inputs)
            if scope is None:
                outputs = call(inputs, *args, **kwargs)
            else:
                with scope:
                    outputs = call(inputs, *args, **kwargs)
        finally:
            _CALL_DEPTH[0] -= 1
        if self._dtype in _MIXED and self._mixed_in_float32 and self.autocast:
            outputs = self._to_compute_dtype(outputs)
        if self.activity_regularizer is not None:
            for o in flatten(outputs):
                if isinstance(o, Tensor):
                    self.add_loss(self.activity_regularizer(o))
        if self.supports_masking or type(self).compute_mask is not Layer.compute_mask:
            m = self.compute_mask(inputs, kwargs.get("mask", _mask_of(inputs)))
            if m is not None:
                for o in flatten(outputs):
                    if isinstance(o, Tensor):
                        o._keras_mask = m
        return outputs

    def _autocast_scope(self):
        """The autocast scope of this call (Keras 3's rule), or None to keep the current one: a mixed layer opens
        one in its compute dtype; inside an open one, a layer that does not autocast (or computes in float32)
        closes it, one of another float compute dtype replaces it."""
        current = autocast.ACTIVE[0]
        mixed = self._dtype in _MIXED
        if current is None and not mixed:
            return None
        dtype = self.input_dtype if self.autocast else None
        if dtype not in _FLOAT_DTYPES or dtype == self.dtype:
            dtype = None  # variables are read as they are
        if current is not None and dtype is not None and current.dtype == np.dtype(dtype):
            return None
        return autocast.AutocastScope(dtype)

    def _to_compute_dtype(self, outputs):
        """Outputs of a layer that computed in float32 under a mixed policy, back in the compute dtype."""
        from .. import ops
        cd = np.dtype(self.compute_dtype)
        if isinstance(outputs, Tensor):
            return ops.cast(outputs, cd) if outputs.data.dtype.kind == "f" and outputs.data.dtype != cd \
                else outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self._to_compute_dtype(o) for o in outputs)
        return outputs

    def rematerialized_call(self, layer_call, *args, **kwargs):
        """``layer_call`` rematerialized as this layer's RematScope mode says (nerve.remat)."""
        from ..rematerialization import rematerialized_call
        return rematerialized_call(self, layer_call, args[0] if args else kwargs.get("inputs"))

    # ------------------------------------------------------------------ functional API
    def _symbolic_call(self, inputs, args, kwargs):
        flat_in = [t for t in flatten(inputs) if isinstance(t, KerasTensor)]
        shapes = _shapes_of(inputs)
        if not self.built:
            self._maybe_build(shapes)
        self._check_input_spec(inputs)
        out_shape = self.compute_output_shape(shapes)
        dtype = self._output_dtype(inputs)
        outputs = _make_symbolic(out_shape, dtype, self.name)
        flat_out = flatten(outputs)
        node = Node(self, flat_in, flat_out, _structure(inputs), {k: v for k, v in kwargs.items()})
        node.args = args
        self._inbound_nodes.append(node)
        for i, t in enumerate(flat_out):
            t._history = (self, node, i)
        return outputs

    def _output_dtype(self, inputs):
        return self.compute_dtype

    def _trace_output_shape(self, input_shape):
        def zeros(shape, dtype):
            return np.zeros(tuple(1 if d is None else d for d in shape), dtype)
        if isinstance(input_shape, list):
            x = [Tensor._make(zeros(s, self.dtype), None, 0) for s in input_shape]
        else:
            x = Tensor._make(zeros(input_shape, self.dtype), None, 0)
        with backend.no_grad():
            names, has_var_kw = self._call_params()
            kw = {"training": False} if "training" in names or has_var_kw else {}
            out = self.call(x, **kw)
        self._losses = []

        def shape_of(o):
            return (None,) + tuple(o.shape[1:])
        if isinstance(out, (list, tuple)):
            return [shape_of(o) for o in out]
        return shape_of(out)

    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input and has no input")
        ins = self._inbound_nodes[0].inputs
        return ins[0] if len(ins) == 1 else ins

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input and has no output")
        outs = self._inbound_nodes[0].outputs
        return outs[0] if len(outs) == 1 else outs

    @property
    def input_shape(self):
        i = self.input
        return [t.shape for t in i] if isinstance(i, list) else i.shape

    @property
    def output_shape(self):
        o = self.output
        return [t.shape for t in o] if isinstance(o, list) else o.shape


def _mask_of(inputs):
    if isinstance(inputs, (list, tuple)):
        ms = [getattr(x, "_keras_mask", None) for x in inputs]
        return ms if any(m is not None for m in ms) else None
    return getattr(inputs, "_keras_mask", None)


def _shapes_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shapes_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {k: _shapes_of(v) for k, v in inputs.items()}
    if isinstance(inputs, KerasTensor):
        return inputs.shape
    return tuple(_shape_of(inputs))


def _structure(x):
    if isinstance(x, dict):
        return "dict:" + ",".join(sorted(x))
    if isinstance(x, (list, tuple)):
        return "list"
    return "single"


def _make_symbolic(shape, dtype, name):
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return [KerasTensor(s, dtype, name=f"{name}_out{i}") for i, s in enumerate(shape)]
    return KerasTensor(shape, dtype, name=name)


def _to_json_shape(s):
    if isinstance(s, dict):
        return {k: _to_json_shape(v) for k, v in s.items()}
    if isinstance(s, list):
        return [_to_json_shape(v) for v in s]
    return list(s)


def _from_json_shape(s):
    if isinstance(s, dict):
        return {k: _from_json_shape(v) for k, v in s.items()}
    if isinstance(s, list) and s and isinstance(s[0], list):
        return [_from_json_shape(v) for v in s]
    return tuple(s)


register("layers")(Layer)
