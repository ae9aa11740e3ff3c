"""``keras.remat`` and ``keras.RematScope``: gradient checkpointing (rematerialization).

``remat(f)`` returns a function computed by one Function node: its forward runs ``f`` without recording a
graph (so none of f's intermediate activations are kept), its backward runs ``f`` again with recording, from
the same inputs and the same random state, and back-propagates through that fresh graph. The variables ``f``
uses get their gradients as usual: those of a Layer (``f`` a layer, a layer's bound method, or layers /
variables ``f`` closes over) are found up front; when none are found and no argument needs a gradient, ``f``
simply runs with recording (correct gradients, no saving). Tensors that ``f`` closes over other than leaves
(variables, constants) should be passed as arguments. The recomputation runs in a StatelessScope, so a layer's
state updates (BatchNormalization's moving statistics) are not applied twice.

``RematScope(mode, output_size_threshold, layer_names)``: layers created inside the scope are called through
``remat`` when the mode says so ('full': all; 'list_of_layers': those named; 'larger_than': those whose output
has more than ``output_size_threshold`` elements; 'activations': the ``activation`` of layers that have one;
None: none), as in Keras.
"""
import functools
import inspect
import math
import threading
from collections import namedtuple

import numpy as np

from . import backend
from .autograd.function import Function
from .autograd.ops.functional_extra import _leaves, _rebuild
from .autograd.tensor import Tensor
from .scopes import StatelessScope

__all__ = ["remat", "RematScope", "get_current_remat_mode"]

RematMode = namedtuple("RematMode", ["mode", "output_size_threshold", "layer_names"])
_MODES = ("full", "activations", "larger_than", "list_of_layers", None)
_state = threading.local()


class RematScope:
    """Rematerialization for the layers created inside the scope (``keras.RematScope``); see the module doc."""

    def __init__(self, mode="full", output_size_threshold=1024, layer_names=None):
        if mode not in _MODES:
            raise ValueError(f"RematScope: argument 'mode' expected one of {_MODES}, got {mode!r}")
        if isinstance(output_size_threshold, bool) or not isinstance(output_size_threshold, (int, np.integer)) \
                or output_size_threshold < 0:
            raise ValueError(f"RematScope: argument 'output_size_threshold' expected a non-negative int, got "
                             f"{output_size_threshold!r}")
        if isinstance(layer_names, str):
            raise ValueError(f"RematScope: argument 'layer_names' expected a list of layer names, got the string "
                             f"{layer_names!r}")
        self.mode = mode
        self.output_size_threshold = int(output_size_threshold)
        self.layer_names = list(layer_names or [])

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().pop()
        return False


def _stack():
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def get_current_remat_mode():
    """The innermost RematScope's settings as a RematMode, or None outside any scope."""
    stack = getattr(_state, "stack", None)
    if not stack:
        return None
    s = stack[-1]
    return RematMode(s.mode, s.output_size_threshold, list(s.layer_names))


# ---------------------------------------------------------------------------------------------- remat
def _is_layer(obj):
    from .layers.layer import Layer  # f is a layer only once nerve.layers is loaded
    return isinstance(obj, Layer)


def _owners(f):
    """Layers and leaf tensors that ``f`` uses: f itself, a bound method's object, a partial's function and
    arguments, the names f's code reads from its closure and globals."""
    found, todo, seen = [], [f], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Tensor) or _is_layer(obj):
            found.append(obj)
        elif isinstance(obj, (list, tuple)):
            todo.extend(obj)
        elif isinstance(obj, functools.partial):
            todo.extend([obj.func, *obj.args, *obj.keywords.values()])
        elif inspect.ismethod(obj):
            todo.extend([obj.__self__, obj.__func__])
        elif inspect.isfunction(obj):
            try:
                cv = inspect.getclosurevars(obj)
            except (TypeError, ValueError):
                continue
            todo.extend([*cv.nonlocals.values(), *cv.globals.values()])
    return found


def _captured(f):
    """The variables / leaf tensors needing a gradient and the random generators that ``f`` uses."""
    from .random import SeedGenerator
    tensors, gens = {}, {id(backend.rng()): backend.rng()}
    for obj in _owners(f):
        if isinstance(obj, Tensor):
            if obj.requires_grad and obj._ctx is None:
                tensors[id(obj)] = obj
            continue
        for layer in obj._flatten_layers():
            for w in layer._own_weights:
                if w.requires_grad:
                    tensors[id(w)] = w
            for v in vars(layer).values():
                g = v._gen if isinstance(v, SeedGenerator) else v
                if isinstance(g, np.random.Generator):
                    gens[id(g)] = g
    return list(tensors.values()), list(gens.values())


def _states(gens):
    return [g.bit_generator.state for g in gens]


def _set_states(gens, states):
    for g, s in zip(gens, states):
        g.bit_generator.state = s


class _Remat(Function):
    """One node for the whole of ``f``: forward without a graph, backward by recomputing with one."""
    name = "remat"

    def forward(self, *arrays, f=None, template=None, kwargs=None, n_args=0, gens=(), box=None):
        self.arrays, self.f, self.template, self.kwargs, self.gens = arrays[:n_args], f, template, kwargs, gens
        self.rng_states = _states(gens)
        args = _rebuild(template, iter([Tensor._make(a, None, 0) if backend.is_array(a) else a
                                        for a in self.arrays]))
        with backend.no_grad():
            out = f(*args, **kwargs)
        box["out"] = out
        self.n_extra = len(arrays) - n_args
        return tuple(o.data for o in _leaves(out) if isinstance(o, Tensor))

    def backward(self, *gs):
        xs = [Tensor._make(a, None, 0) if backend.is_array(a) else a for a in self.arrays]
        for x, need in zip(xs, self.needs):
            if need:
                x.requires_grad = True
        now = _states(self.gens)
        _set_states(self.gens, self.rng_states)  # the same dropout masks as the forward
        try:
            with backend.enable_grad(), StatelessScope():  # state updates are not applied a second time
                out = self.f(*_rebuild(self.template, iter(xs)), **self.kwargs)
        finally:
            _set_states(self.gens, now)
        pairs = [(o, g) for o, g in zip([o for o in _leaves(out) if isinstance(o, Tensor)], gs) if o.requires_grad]
        if len(pairs) == 1:
            pairs[0][0].backward(pairs[0][1])
        elif pairs:
            sum((o * Tensor._make(g, None, 0)).sum() for o, g in pairs).backward()
        grads = [x.grad.data if isinstance(x, Tensor) and x.grad is not None else None for x in xs]
        return tuple(grads) + (None,) * self.n_extra  # the variables got theirs in the recomputation


def remat(f):
    """``f`` rematerialized (``keras.remat``): same values and gradients, but the activations inside ``f`` are
    recomputed in the backward pass instead of being kept from the forward pass."""
    if not callable(f):
        raise TypeError(f"remat: argument 'f' expected a callable, got {type(f).__name__}")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if not backend.config.grad_enabled:
            return f(*args, **kwargs)
        inputs = _leaves(args)
        extras, gens = _captured(f)
        if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs + extras):
            return f(*args, **kwargs)  # nothing known to differentiate: record normally, gradients stay right
        box = {}
        outs = _Remat.apply(*inputs, *extras, f=f, template=args, kwargs=kwargs, n_args=len(inputs), gens=gens,
                            box=box)
        outs = iter(outs if isinstance(outs, tuple) else (outs,))
        return _rebuild(box["out"], (next(outs) if isinstance(o, Tensor) else o for o in _leaves(box["out"])))
    return wrapper


# ---------------------------------------------------------------------------------------------- layers
def _output_size(layer, inputs):
    """Number of elements of the layer's output for these (concrete) inputs, 0 when it cannot be told."""
    from .layers.layer import _shapes_of
    try:
        shape = layer.compute_output_shape(_shapes_of(inputs))
    except Exception:  # a layer without a shape rule: not rematerialized, as Keras with an unknown spec
        return 0
    shapes = shape if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)) else [shape]
    return sum(math.prod(d or 1 for d in s) for s in shapes)


def rematerialized_call(layer, call, inputs):
    """``call`` as the layer's RematScope mode says (Keras' ``Layer.rematerialized_call``)."""
    mode = layer._remat_mode
    if mode is None or mode.mode is None:
        return call
    if mode.mode == "full" or (mode.mode == "list_of_layers" and layer.name in mode.layer_names):
        return remat(call)
    if mode.mode == "larger_than":
        size = _output_size(layer, inputs)
        return remat(call) if size and size > mode.output_size_threshold else call
    if mode.mode == "activations" and getattr(layer, "activation", None) is not None:
        @functools.wraps(call)
        def with_remat_activation(*args, **kwargs):
            original = layer.activation
            object.__setattr__(layer, "activation", remat(original))
            try:
                return call(*args, **kwargs)
            finally:
                object.__setattr__(layer, "activation", original)
        return with_remat_activation
    return call
