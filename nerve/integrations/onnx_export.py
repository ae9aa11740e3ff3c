"""``model.export("m.onnx", format="onnx")``: a nerve model as an ONNX graph (opset 17), built with the
``onnx`` package's helper API (``pip install onnx``; check it with ``onnxruntime``).

The exporter walks a Sequential model's layers or a functional model's nodes (nested models are inlined)
and emits inference-mode ONNX for each layer (``onnx_layers.py``): Dense, the activations, Conv1D/2D,
pooling, BatchNormalization/LayerNormalization (folded to Mul/Add), Dropout & noise (Identity), Flatten,
Reshape, Permute, RepeatVector, Embedding, SimpleRNN/LSTM/GRU and the merge layers. Tensors keep nerve's
channels-last layout; convolutions and pooling are wrapped in Transposes (ONNX is channels-first). The batch
axis is dynamic ("batch"). A layer without a converter is a clear error that names it.
"""
import os

import numpy as np

OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as e:
        raise ImportError("Model.export(format='onnx') needs the onnx package: pip install onnx onnxruntime "
                          "(or pip install nerve[onnx])") from e
    return onnx, helper, numpy_helper


class GraphBuilder:
    """Collects ONNX nodes and initializers with unique names."""

    def __init__(self):
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.nodes, self.initializers, self._used = [], [], set()

    def name(self, base):
        base = "".join(c if c.isalnum() or c in "_./" else "_" for c in str(base)) or "t"
        out, i = base, 0
        while out in self._used:
            i += 1
            out = f"{base}_{i}"
        self._used.add(out)
        return out

    def const(self, array, base="const", dtype=None):
        arr = np.asarray(array, dtype=dtype) if dtype is not None else np.asarray(array)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        name = self.name(base)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def ints(self, values, base="ints"):
        return self.const(np.asarray(values, dtype=np.int64), base)

    def op(self, op_type, inputs, base=None, n_out=1, **attrs):
        outs = [self.name(f"{base or op_type}_out{i}" if n_out > 1 else (base or op_type)) for i in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=self.name(f"{base or op_type}_node"),
                                                **attrs))
        return outs if n_out > 1 else outs[0]


def _elem_type(dtype):
    onnx, _, _ = _onnx()
    return {"float32": onnx.TensorProto.FLOAT, "float64": onnx.TensorProto.DOUBLE, "int32": onnx.TensorProto.INT32,
            "int64": onnx.TensorProto.INT64}.get(str(np.dtype(dtype)), onnx.TensorProto.FLOAT)


def _output_shapes(model):
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    if isinstance(model, Sequential) and getattr(model, "_functional", None) is not None:
        return _output_shapes(model._functional)
    if isinstance(model, Functional) and not isinstance(model, Sequential):
        return [t.shape for t in model._outputs]
    return [tuple(model.compute_output_shape((None,) + tuple(model._build_shapes)[1:]))]


def _steps(model):
    """(layer, input refs, output refs, input shapes, args_struct, kwargs) in execution order, plus the
    model's input refs/shapes/dtypes and output refs. Refs are ids of KerasTensors (functional) or ints."""
    from ..models.functional import Functional
    from ..models.sequential import Sequential
    from ..layers.core import InputLayer
    if isinstance(model, Sequential) and getattr(model, "_functional", None) is not None:
        return _steps(model._functional)
    if isinstance(model, Functional) and not isinstance(model, Sequential):
        steps = [(n.layer, [id(t) for t in n.inputs], [id(t) for t in n.outputs], [t.shape for t in n.inputs],
                  n.args_struct, dict(n.kwargs)) for n in model._exec_nodes]
        ins = [(id(t), t.shape, t.dtype, t.name) for t in model._inputs]
        return steps, ins, [id(t) for t in model._outputs]
    if isinstance(model, Sequential):
        layers = [layer for layer in model._layers if not isinstance(layer, InputLayer)]
        first = model._layers[0]
        shape = first.batch_shape if isinstance(first, InputLayer) else getattr(model, "_build_shapes", None)
        if shape is None:
            raise ValueError(f"export: Sequential '{model.name}' has no known input shape; build it first (call it "
                             f"on data or start it with nerve.Input) or pass input_signature=[(None, ...)]")
        steps, shape = [], (None,) + tuple(shape)[1:]
        for i, layer in enumerate(layers):
            steps.append((layer, [i], [i + 1], [shape], "single", {}))
            shape = tuple(layer.compute_output_shape(shape))
        return steps, [(0, (None,) + tuple(first.batch_shape if isinstance(first, InputLayer)
                                              else model._build_shapes)[1:], "float32", "input")], [len(layers)]
    raise NotImplementedError(f"export: model '{model.name}' ({type(model).__name__}) is a subclassed model; ONNX "
                              f"export supports Sequential and functional models")


def emit_model(g, model, input_names):
    """Emit ``model``'s layers into ``g`` reading ``input_names``; returns the output names."""
    from ..models.model import Model
    from .onnx_layers import convert_layer
    steps, ins, outs = _steps(model)
    if len(ins) != len(input_names):
        raise ValueError(f"export: model '{model.name}' takes {len(ins)} inputs, got {len(input_names)}")
    values = {ref: name for (ref, _, _, _), name in zip(ins, input_names)}
    for layer, in_refs, out_refs, in_shapes, struct, kwargs in steps:
        args = [values[r] for r in in_refs]
        if isinstance(layer, Model):
            results = emit_model(g, layer, args)
        else:
            results = convert_layer(g, layer, args, in_shapes, kwargs)
        if len(results) < len(out_refs):
            raise ValueError(f"export: layer '{layer.name}' produced {len(results)} outputs, expected {len(out_refs)}")
        for r, name in zip(out_refs, results):
            values[r] = name
    return [values[r] for r in outs]


def to_onnx(model, input_signature=None, opset=OPSET):
    """The ``onnx.ModelProto`` of a built Sequential or functional model."""
    onnx, helper, _ = _onnx()
    if not model.built:
        if input_signature is None:
            raise ValueError(f"export: model '{model.name}' is not built; call it on data first or pass "
                             f"input_signature=[(None, ...)]")
        model.build(input_signature[0] if len(input_signature) == 1 else list(input_signature))
    g = GraphBuilder()
    _, ins, _ = _steps(model)
    inputs, names = [], []
    for i, (_, shape, dtype, name) in enumerate(ins):
        if input_signature is not None:
            shape = tuple(input_signature[i])
        nm = g.name(name or f"input_{i}")
        dims = ["batch"] + [d if d is not None else f"d{i}_{j}" for j, d in enumerate(shape[1:], 1)]
        inputs.append(helper.make_tensor_value_info(nm, _elem_type(dtype), dims))
        names.append(nm)
    out_names = emit_model(g, model, names)
    outputs = []
    for i, (o, shape) in enumerate(zip(out_names, _output_shapes(model))):
        final = g.op("Identity", [o], base=f"output_{i}")
        dims = ["batch"] + [d if d is not None else f"o{i}_{j}" for j, d in enumerate(tuple(shape)[1:], 1)]
        outputs.append(helper.make_tensor_value_info(final, onnx.TensorProto.FLOAT, dims))
    graph = helper.make_graph(g.nodes, model.name or "nerve_model", inputs, outputs, g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="nerve")
    proto.ir_version = min(proto.ir_version, 9)  # readable by older runtimes too
    onnx.checker.check_model(proto)
    return proto


def export_model(model, filepath, format="onnx", verbose=True, input_signature=None, opset=OPSET, **kwargs):
    """Keras 3's ``Model.export``; nerve writes ONNX only (``format="onnx"``)."""
    if format != "onnx":
        raise ValueError(f"Model.export: format {format!r} is not supported by nerve; use format='onnx'")
    if kwargs:
        raise TypeError(f"Model.export: unexpected keyword argument(s) {sorted(kwargs)}")
    onnx, _, _ = _onnx()
    proto = to_onnx(model, input_signature=input_signature, opset=opset)
    path = os.fspath(filepath)
    onnx.save(proto, path)
    if verbose:
        print(f"Saved ONNX model '{model.name}' to {path} (opset {opset}, inputs "
              f"{[i.name for i in proto.graph.input]}, outputs {[o.name for o in proto.graph.output]})")
    return path
