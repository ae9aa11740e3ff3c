"""Sequential: a plain stack of layers (``Sequential([...])`` or ``.add``).

The input shape comes from an ``Input`` given first, from ``input_shape=`` on the first layer, or from
the first call on data. Once it is known the model also records a functional graph (so
``model.input``, ``layer.output`` and ``Model(model.input, layer.output)`` work and ``summary`` shows
output shapes), but calling it just runs its layers one after the other (the fast path).
"""
from ..layers.core import InputLayer
from ..layers.layer import Layer
from ..layers.node import KerasTensor
from ..saving.registry import deserialize, register, serialize
from .functional import cast_to_input_dtype
from .model import Model


@register("models")
@register("layers")
class Sequential(Model):
    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        Model.__init__(self, trainable=trainable, name=name, **kwargs)
        self._layers = []
        self._functional = None
        if layers is not None:
            if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
                raise TypeError(f"Sequential: argument 'layers' expected a list of layers, got "
                                f"{type(layers).__name__}")
            for layer in layers:
                self.add(layer, rebuild=False)
            self._maybe_rebuild()
        if not trainable:
            self.trainable = False  # propagate to the layers, as Keras does

    # ------------------------------------------------------------------ building the stack
    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor) and layer._history is not None and \
                isinstance(layer._history[0], InputLayer):
            layer = layer._history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}': add() expected a Layer instance, got {type(layer).__name__} "
                            f"({layer!r})")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"Sequential '{self.name}': an Input/InputLayer can only be the first layer")
        elif not self._layers:
            shape = getattr(layer, "_input_shape_arg", None)
            if shape is None and hasattr(layer, "_inputs") and len(getattr(layer, "_inputs", [])) == 1:
                shape = tuple(layer._inputs[0].shape[1:])  # a functional model as first layer
            if shape is not None:
                self._layers.append(InputLayer(shape=shape))
        if any(layer is other for other in self._layers):
            raise ValueError(f"Sequential '{self.name}': layer '{layer.name}' was already added")
        self._layers.append(layer)
        if not isinstance(layer, InputLayer):
            self._tracked_layers.append(layer)
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        if not self.layers:
            raise IndexError(f"Sequential '{self.name}': pop() on a model without layers")
        layer = self._layers.pop()
        self._tracked_layers.remove(layer)
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        self.built = False
        self._functional = None
        if len(self._layers) > 1 and isinstance(self._layers[0], InputLayer):
            self.build(self._layers[0].batch_shape)

    def build(self, input_shape=None):
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}': the model has no layers; add layers before building, "
                             f"calling or fitting it")
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}': build() needs an input_shape, e.g. build((None, 784))")
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"Sequential '{self.name}': a Sequential model has exactly one input, got shapes "
                             f"{input_shape}; use the functional API for several inputs")
        shape = (None,) + tuple(input_shape)[1:]
        if not isinstance(self._layers[0], InputLayer):
            self._layers.insert(0, InputLayer(batch_shape=shape))
        elif tuple(self._layers[0].batch_shape) != shape and None not in self._layers[0].batch_shape[1:]:
            pass  # the declared input shape wins; a mismatch surfaces as the first layer's input error
        from .functional import Functional
        x = self._layers[0]._output
        for layer in self._layers[1:]:
            x = layer(x)
        self._functional = Functional(self._layers[0]._output, x, name=self.name)
        self._build_shapes = self._layers[0].batch_shape
        self.built = True

    # ------------------------------------------------------------------ calling: loop over the layers
    def call(self, inputs, training=None, mask=None):
        layers = self._layers
        if not layers or (len(layers) == 1 and isinstance(layers[0], InputLayer)):
            raise ValueError(f"Sequential '{self.name}': the model has no layers; add layers before calling it")
        x = inputs
        if self._functional is not None:  # as Keras 3: the rank and dtype of the declared Input
            x = cast_to_input_dtype(self._adjust_rank(x), self._functional._inputs[0].dtype)
        for layer in layers:
            if isinstance(layer, InputLayer):
                continue
            x = layer(x, training=training) if training is not None else layer(x)
        return x

    def _adjust_rank(self, x):
        """As Keras 3 (Functional._adjust_input_rank): data one rank off the declared input is squeezed or
        expanded along a trailing axis of size 1; any other rank is refused, naming expected and actual."""
        ref = tuple(self._layers[0].batch_shape)
        nd = getattr(x, "ndim", None)
        if nd is None or nd == len(ref):
            return x
        if nd == len(ref) + 1 and x.shape[-1] == 1:
            return x.reshape(tuple(x.shape[:-1]))
        if nd == len(ref) - 1 and ref[-1] == 1:
            return x.reshape(tuple(x.shape) + (1,))
        raise ValueError(f"Sequential '{self.name}': argument 'inputs' expected rank {len(ref)} (shape {ref}), got "
                         f"data of shape {tuple(x.shape)}")

    def _check_can_predict(self):
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}': cannot predict with a model that has no layers (it cannot "
                             f"be built); add layers first")

    def compute_output_shape(self, input_shape):
        if self._functional is not None:
            return self._functional.compute_output_shape(input_shape)
        shape = input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # ------------------------------------------------------------------ inspection
    @property
    def layers(self):
        return [layer for layer in self._layers if not isinstance(layer, InputLayer)]

    def _graph(self, what):
        if self._functional is None:
            raise AttributeError(f"Sequential '{self.name}' has no {what} yet: it is not built. Start it with "
                                 f"nerve.Input(shape=...), give the first layer input_shape=..., or call it on data")
        return self._functional

    @property
    def input(self):
        return self._graph("input").input

    @property
    def output(self):
        return self._graph("output").output

    @property
    def inputs(self):
        return self._graph("inputs").inputs

    @property
    def outputs(self):
        return self._graph("outputs").outputs

    @property
    def input_shape(self):
        return self._graph("input_shape").input_shape

    @property
    def output_shape(self):
        return self._graph("output_shape").output_shape

    @property
    def output_names(self):
        return [self.layers[-1].name] if self.layers else []

    @property
    def input_names(self):
        return [self._layers[0].name] if self._layers and isinstance(self._layers[0], InputLayer) else []

    # ------------------------------------------------------------------ config
    def get_config(self):
        layer_cfgs = []
        for layer in self._layers:
            cfg = serialize(layer)
            bc = None if isinstance(layer, InputLayer) else layer.get_build_config()
            if bc is not None:
                cfg["build_config"] = bc
            layer_cfgs.append(cfg)
        cfg = {"name": self.name, "trainable": self.trainable, "layers": layer_cfgs}
        if self._functional is not None:
            cfg["build_input_shape"] = list(self._layers[0].batch_shape)
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for lc in config.get("layers", []):
            lc = dict(lc)
            bc = lc.pop("build_config", None)
            layer = deserialize(lc, kind="layers", custom_objects=custom_objects)
            if bc and not layer.built and not model._layers:
                layer.build_from_config(bc)
            model.add(layer, rebuild=False)
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"]))
        if not config.get("trainable", True):
            model.trainable = False
        return model
