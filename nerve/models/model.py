"""Model: a Layer that can be trained (compile / fit / evaluate / predict come from ``training.Trainer``).

Three ways to make one, as in Keras 3:
- functional: ``Model(inputs, outputs)`` returns a ``Functional`` (a graph of layers from ``nerve.Input``);
- ``Sequential([...])``;
- subclassing: ``class MyModel(Model)`` with layers as attributes and a ``call(inputs, training=None)``.
"""
import json

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..layers.layer import Layer
from ..saving.registry import register
from ..training.trainer import Trainer


def _is_functional_call(args, kwargs):
    return len(args) >= 2 or ("inputs" in kwargs and "outputs" in kwargs) or (len(args) == 1 and "outputs" in kwargs)


class Model(Trainer, Layer):
    """Keras 3 ``keras.Model``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            from .functional import Functional
            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        from .functional import Functional
        if _is_functional_call(args, kwargs) and not isinstance(self, Functional):
            # a subclass calling super().__init__(inputs, outputs): graft the functional behaviour on
            cls = type(self)
            self.__class__ = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__})
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(f"{type(self).__name__}: unexpected positional arguments {args}; a functional model "
                            f"needs both inputs and outputs, e.g. Model(inputs, outputs)")
        for k in ("input_shape", "input_dim", "batch_input_shape"):
            if k in kwargs:
                raise TypeError(f"{type(self).__name__}: argument {k!r} is for layers; give the model's first layer "
                                f"the input shape or start with nerve.Input(shape=...)")
        Layer.__init__(self, **kwargs)
        object.__setattr__(self, "_tracked_metrics", [])
        self._init_trainer()

    def __setattr__(self, name, value):
        if not name.startswith("_") and _is_metric(value):
            tm = self.__dict__.get("_tracked_metrics")
            if tm is not None and all(value is not m for m in tm):
                tm.append(value)
        super().__setattr__(name, value)

    # ------------------------------------------------------------------ calling and building
    def call(self, inputs, training=None, mask=None):
        raise NotImplementedError(f"{type(self).__name__} '{self.name}': a subclassed Model must implement "
                                  f"call(self, inputs, training=None); or build a functional Model(inputs, outputs)")

    def _maybe_build(self, shapes):
        if not self.built:
            self._build_shapes = shapes
            if type(self).build is not Model.build:  # a subclassed model's layers build during the call
                self.build(shapes)
            self.built = True

    def build(self, input_shape=None):
        """Create the weights by running ``call`` once on zeros of ``input_shape`` (None batch -> 1)."""
        if input_shape is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': build() needs an input_shape, e.g. "
                             f"model.build((None, 784))")

        def zeros(s):
            return Tensor._make(np.zeros(tuple(1 if d is None else int(d) for d in s), self.dtype), None, 0)
        shapes = input_shape
        x = [zeros(s) for s in shapes] if isinstance(shapes, list) else zeros(shapes)
        with backend.no_grad():
            self.call(x)
        self._build_shapes = input_shape
        self.built = True

    def _check_can_predict(self):
        if type(self).call is Model.call:
            self.call(None)

    # ------------------------------------------------------------------ inspection
    @property
    def layers(self):
        return list(self._tracked_layers)

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantize every leaf layer that supports ``mode`` (Keras 3): Dense and Embedding to 'int8'
        (nerve.quantizers). ``filters``: a regex (or list of them) on layer names, or a callable(layer) -> bool.
        A layer with weights that cannot be quantized is left as it is, with a warning. The model must be
        built; a compiled model keeps training with the new (int8, non-trainable) weights."""
        import re
        import warnings
        from .. import quantizers
        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"{type(self).__name__} '{self.name}'.quantize: unexpected argument(s) {sorted(kwargs)}")
        quantizers.check_mode(f"{type(self).__name__} '{self.name}'.quantize", mode)
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}': quantize needs a built model (call it on data or "
                             f"give it an Input first)")
        if filters is not None and not isinstance(filters, (str, list, tuple)) and not callable(filters):
            raise ValueError(f"{type(self).__name__} '{self.name}'.quantize: argument 'filters' expected a regex "
                             f"string, a list of them or a callable, got {type(filters).__name__}")

        def wanted(layer):
            if filters is None:
                return True
            if isinstance(filters, str):
                return bool(re.search(filters, layer.name))
            if isinstance(filters, (list, tuple)):
                return any(re.search(f, layer.name) for f in filters)
            return bool(filters(layer))

        changed, seen = False, set()
        for layer in self._flatten_layers():
            if layer._tracked_layers or id(layer) in seen:  # leaves only, each once
                continue
            seen.add(id(layer))
            if not wanted(layer) or layer.quantization_mode is not None:
                continue
            try:
                layer.quantize(mode, type_check=type_check, config=config)
                changed = True
            except NotImplementedError as e:
                if layer.weights:
                    warnings.warn(str(e), stacklevel=2)
        if changed:  # the planned step and the compiled variable list are remade for the new weights
            self.__dict__.pop("_step_plan", None)
            if getattr(self, "_trainable_snapshot", None) is not None:
                self._trainable_snapshot = list(self.trainable_weights)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in ``model.layers`` (clear errors, as Keras)."""
        layers = self.layers
        if name is not None and index is not None:
            raise ValueError(f"get_layer: provide only a layer name or a layer index, got name={name!r} and "
                             f"index={index!r}")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: asked for the layer at index {index!r} but model '{self.name}' has "
                                 f"{len(layers)} layers")
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"get_layer: no such layer: {name!r}; the layers of model '{self.name}' are "
                             f"{[layer.name for layer in layers]}")
        raise ValueError("get_layer: provide either a layer name or a layer index")

    def count_params(self):
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}': count_params needs a built model; call it on "
                             f"data, call build(input_shape), or give the first layer an input shape")
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print Keras 3's summary table and the parameter totals."""
        from .summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    # ------------------------------------------------------------------ config and saving
    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config and "output_layers" in config:
            from .functional import functional_from_config
            return functional_from_config(cls, config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        from ..saving.registry import serialize
        return json.dumps(serialize(self), **kwargs)

    def get_compile_config(self):
        return dict(getattr(self, "_compile_config", {}) or {}) if getattr(self, "compiled", False) else None

    def _saving_api(self, fn):
        from .. import saving
        impl = getattr(saving, fn, None)
        if impl is None:
            raise NotImplementedError(f"Model.{fn}: nerve.saving does not provide {fn} yet")
        return impl

    def save(self, filepath, overwrite=True, **kwargs):
        return self._saving_api("save_model")(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        return self._saving_api("save_weights")(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, **kwargs):
        return self._saving_api("load_weights")(self, filepath, **kwargs)

    def export(self, filepath, format="onnx", verbose=True, input_signature=None, **kwargs):
        """Keras 3's ``Model.export``; nerve writes ONNX (nerve.integrations.onnx_export)."""
        from ..integrations.onnx_export import export_model
        return export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)


def _is_metric(value):
    return (hasattr(value, "update_state") and hasattr(value, "result") and hasattr(value, "reset_state")
            and not isinstance(value, type))


register("models")(Model)
register("layers")(Model)
