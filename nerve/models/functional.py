"""Functional: a Model defined by a graph of layer calls from ``nerve.Input`` tensors to output tensors.

Building walks the recorded Nodes back from the outputs (depth-first), which gives an execution order
(every node after the nodes it reads from) and the layers; calling runs the nodes in that order on real
tensors. Several inputs/outputs (lists or dicts), shared layers (one layer, several nodes), nested
models and intermediate-output models (``Model(model.input, layer.output)``) all fall out of this.
"""
import numpy as np

from .. import backend
from ..layers.core import InputLayer
from ..layers.node import KerasTensor, flatten
from ..saving.registry import deserialize, register, serialize
from .model import Model


def _as_keras_tensors(struct, arg):
    flat = flatten(struct)
    for t in flat:
        if not isinstance(t, KerasTensor) or t._history is None:
            raise TypeError(f"Functional: argument '{arg}' must hold symbolic tensors made from nerve.Input(...) "
                            f"and layer calls, got {type(t).__name__}")
    if not flat:
        raise ValueError(f"Functional: argument '{arg}' is empty")
    return flat


def _unwrap_single(struct):
    if isinstance(struct, (list, tuple)) and len(struct) == 1 and isinstance(struct[0], KerasTensor):
        return struct[0]
    return struct


def cast_to_input_dtype(x, dtype):
    """Keras 3 converts data to its Input's dtype; here integer and bool data for a floating Input become that
    float (NumPy would promote int64 @ float32 to float64). Floats are cast by the layers (autocast)."""
    data = backend.unwrap(x)
    kind = getattr(getattr(data, "dtype", None), "kind", None)
    if kind is not None and kind in "iub" and np.dtype(dtype).kind == "f":
        from .. import ops
        return ops.cast(x, dtype)
    return x


@register("models")
@register("layers")
class Functional(Model):
    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        self._inputs_struct = _unwrap_single(inputs) if not isinstance(inputs, dict) else inputs
        self._outputs_struct = _unwrap_single(outputs) if not isinstance(outputs, dict) else outputs
        self._inputs = _as_keras_tensors(inputs, "inputs")
        self._outputs = _as_keras_tensors(outputs, "outputs")
        self._map_graph()
        for layer in self._operations:
            if not isinstance(layer, InputLayer):
                self._tracked_layers.append(layer)
        if not trainable:
            self.trainable = False  # propagate to the layers, as Keras does
        self.built = True
        shapes = [t.shape for t in self._inputs]
        self._build_shapes = shapes[0] if len(shapes) == 1 else shapes

    # ------------------------------------------------------------------ graph
    def _map_graph(self):
        input_ids = {id(t) for t in self._inputs}
        order, state = [], {}

        def visit(node, path):
            key = id(node)
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                raise ValueError(f"Functional '{self.name}': the graph has a cycle at layer '{node.layer.name}'")
            state[key] = 1
            for t in node.inputs:
                if id(t) in input_ids:
                    continue
                parent_layer, parent, _ = t._history
                if isinstance(parent_layer, InputLayer):
                    raise ValueError(
                        f"Functional '{self.name}': graph disconnected: cannot obtain the value of tensor {t.name!r} "
                        f"(output of InputLayer '{parent_layer.name}') needed by layer '{node.layer.name}'; it is not "
                        f"one of the model inputs {[i.name for i in self._inputs]}. Pass it in 'inputs'")
                visit(parent, path + [node])
            state[key] = 2
            order.append(node)

        for t in self._outputs:
            if id(t) in input_ids:
                continue
            visit(t._history[1], [])
        input_nodes = [t._history[1] for t in self._inputs]
        self._exec_nodes = [n for n in order if not isinstance(n.layer, InputLayer)]
        nodes = input_nodes + [n for n in order if n not in input_nodes]
        self._nodes = nodes
        # depth: outputs 0, a node's parents one deeper (Keras' nodes_by_depth); layers listed deepest first
        depth = {id(n): 0 for n in nodes}
        node_ids = {id(n) for n in nodes}
        for n in reversed(order):
            for t in n.inputs:
                p = t._history[1]
                if id(p) in node_ids:
                    depth[id(p)] = max(depth[id(p)], depth[id(n)] + 1)
        max_depth = max(depth.values()) if depth else 0
        for n in input_nodes:  # inputs first, even when a branch is shorter
            depth[id(n)] = max(depth[id(n)], max_depth)
        self._node_depth = depth
        layer_depth, first_seen = {}, {}
        for i, n in enumerate(nodes):
            lid = id(n.layer)
            layer_depth[lid] = max(layer_depth.get(lid, 0), depth[id(n)])
            first_seen.setdefault(lid, (i, n.layer))
        ranked = sorted(first_seen.values(), key=lambda p: (-layer_depth[id(p[1])], p[0]))
        self._operations = [layer for _, layer in ranked]

    @property
    def layers(self):
        return list(self._operations)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def inputs(self):
        return list(self._inputs)

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def input_shape(self):
        s = [t.shape for t in self._inputs]
        return s[0] if len(s) == 1 else s

    @property
    def output_shape(self):
        s = [t.shape for t in self._outputs]
        return s[0] if len(s) == 1 else s

    @property
    def input_names(self):
        if isinstance(self._inputs_struct, dict):
            return list(self._inputs_struct)
        return [t._history[0].name for t in self._inputs]

    @property
    def output_names(self):
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return [t._history[0].name for t in self._outputs]

    # ------------------------------------------------------------------ calling
    def _flatten_inputs(self, inputs):
        n = len(self._inputs)
        if isinstance(inputs, dict):
            names = (list(self._inputs_struct) if isinstance(self._inputs_struct, dict) else self.input_names)
            missing = [k for k in names if k not in inputs]
            if missing:
                raise ValueError(f"Functional '{self.name}': missing input(s) {missing}; got keys {sorted(inputs)}")
            if isinstance(self._inputs_struct, dict):
                return flatten({k: inputs[k] for k in names})
            return [inputs[k] for k in names]
        flat = list(inputs) if isinstance(inputs, (list, tuple)) and n > 1 else [inputs]
        if isinstance(inputs, (list, tuple)) and n == 1 and len(inputs) == 1 and not hasattr(inputs, "shape"):
            flat = [inputs[0]]
        if len(flat) != n:
            raise ValueError(f"Functional '{self.name}': expected {n} input(s) {self.input_names}, got {len(flat)}")
        return flat

    def _adjust_rank(self, x, ref):
        nd, rnd = getattr(x, "ndim", None), len(ref.shape)
        if nd is None or nd == rnd:
            return x
        if nd == rnd + 1 and x.shape[-1] == 1:
            return x.reshape(tuple(x.shape[:-1]))
        if nd == rnd - 1 and ref.shape[-1] == 1:
            return x.reshape(tuple(x.shape) + (1,))
        raise ValueError(f"Functional '{self.name}': input '{ref.name}' expected rank {rnd} (shape "
                         f"{ref.shape}), got data of shape {tuple(x.shape)}")

    def _accepts_strings(self):
        """A model with a string (or object) Input takes string columns, as Keras's Input(dtype="string")."""
        return any(str(t.dtype) in ("string", "object", "str") for t in self._inputs)

    def call(self, inputs, training=None, mask=None):
        values = {}
        for ref, x in zip(self._inputs, self._flatten_inputs(inputs)):
            values[id(ref)] = cast_to_input_dtype(self._adjust_rank(self._convert(x), ref), ref.dtype)
        for node in self._exec_nodes:
            args = [values[id(t)] for t in node.inputs]
            struct = node.args_struct
            if struct == "single":
                a = args[0]
            elif struct.startswith("dict:"):
                a = dict(zip(sorted(struct[5:].split(",")), args))
            else:
                a = args
            kw = dict(node.kwargs)
            if training is not None:
                kw["training"] = training
            out = node.layer(a, *getattr(node, "args", ()), **kw)
            for t, o in zip(node.outputs, flatten(out)):
                values[id(t)] = o
        if isinstance(self._outputs_struct, dict):
            return {k: values[id(t)] for k, t in self._outputs_struct.items()}
        outs = [values[id(t)] for t in self._outputs]
        return outs[0] if isinstance(self._outputs_struct, KerasTensor) else outs

    def compute_output_shape(self, input_shape):
        shapes = [(None,) + tuple(t.shape[1:]) for t in self._outputs]
        return shapes[0] if isinstance(self._outputs_struct, KerasTensor) else shapes

    def build(self, input_shape=None):
        self.built = True

    # ------------------------------------------------------------------ config (Keras 3 layout)
    def get_config(self):
        node_index = {}  # (layer id, node id) -> index among this model's nodes of that layer
        for n in self._nodes:
            per = [m for m in n.layer._inbound_nodes if any(m is k for k in self._nodes)]
            node_index[id(n)] = next(i for i, m in enumerate(per) if m is n)

        def tensor_ref(t):
            layer, node, index = t._history
            return [layer.name, node_index[id(node)], index]

        def tensor_cfg(t):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(t.shape), "dtype": t.dtype, "keras_history": tensor_ref(t)}}

        layer_cfgs = []
        for layer in self._operations:
            cfg = serialize(layer)
            cfg["name"] = layer.name
            nodes = [m for m in layer._inbound_nodes if any(m is k for k in self._nodes)]
            inbound = []
            for n in nodes:
                if isinstance(layer, InputLayer):
                    continue
                ts = [tensor_cfg(t) for t in n.inputs]
                if n.args_struct == "single":
                    arg = ts[0]
                elif n.args_struct.startswith("dict:"):
                    arg = dict(zip(sorted(n.args_struct[5:].split(",")), ts))
                else:
                    arg = ts
                inbound.append({"args": [arg], "kwargs": dict(n.kwargs)})
            cfg["inbound_nodes"] = inbound
            bc = layer.get_build_config() if not isinstance(layer, InputLayer) else None
            if bc is not None:
                cfg["build_config"] = bc
            layer_cfgs.append(cfg)

        def refs(struct):
            if isinstance(struct, dict):
                return {k: tensor_ref(t) for k, t in struct.items()}
            if isinstance(struct, KerasTensor):
                return [tensor_ref(struct)]
            return [tensor_ref(t) for t in struct]

        return {"name": self.name, "trainable": self.trainable, "layers": layer_cfgs,
                "input_layers": refs(self._inputs_struct), "output_layers": refs(self._outputs_struct)}


def functional_from_config(cls, config, custom_objects=None):
    """Rebuild the graph: create every layer, then replay its inbound nodes once their inputs exist."""
    created, pending = {}, []
    outputs_of = {}  # (layer name, node index) -> flat output KerasTensors

    for lc in config["layers"]:
        lc = dict(lc)
        inbound = lc.pop("inbound_nodes", [])
        name = lc.pop("name", None) or lc.get("config", {}).get("name")
        build_cfg = lc.pop("build_config", None)
        layer = deserialize(lc, kind="layers", custom_objects=custom_objects)
        created[name] = layer
        if isinstance(layer, InputLayer):
            outputs_of[(name, 0)] = [layer._output]
        else:
            pending.extend((name, i, nd) for i, nd in enumerate(inbound))
        if build_cfg and not layer.built and not isinstance(layer, InputLayer) and not inbound:
            layer.build_from_config(build_cfg)

    def resolve(arg):
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            lname, ni, ti = arg["config"]["keras_history"]
            outs = outputs_of.get((lname, ni))
            if outs is None:
                raise LookupError
            return outs[ti]
        if isinstance(arg, dict):
            return {k: resolve(v) for k, v in arg.items()}
        if isinstance(arg, list):
            return [resolve(v) for v in arg]
        return arg

    while pending:
        progressed = False
        for item in list(pending):
            lname, ni, nd = item
            try:
                args = [resolve(a) for a in nd.get("args", [])]
            except LookupError:
                continue
            out = created[lname](*args, **(nd.get("kwargs") or {}))
            outputs_of[(lname, ni)] = flatten(out)
            pending.remove(item)
            progressed = True
        if not progressed:
            raise ValueError(f"Functional.from_config: cannot rebuild the graph; unresolved inbound nodes of layers "
                             f"{sorted({p[0] for p in pending})}")

    def tensors(refs):
        if isinstance(refs, dict):
            return {k: outputs_of[(r[0], r[1])][r[2]] for k, r in refs.items()}
        out = [outputs_of[(r[0], r[1])][r[2]] for r in refs]
        return out[0] if len(out) == 1 else out

    kwargs = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    target = cls if isinstance(cls, type) and issubclass(cls, Functional) else Functional
    return target(tensors(config["input_layers"]), tensors(config["output_layers"]), **kwargs)
