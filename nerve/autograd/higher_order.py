"""Gradients as tensors: ``nerve.grad`` (PyTorch's ``torch.autograd.grad``), with ``create_graph=True`` giving
gradients that are themselves differentiable (a gradient penalty, a Hessian-vector product, double backward), and
``jvp`` (keras.ops.jvp) from two reverse sweeps.

The sweep is run_backward's reverse topological walk, restricted to the functions through which an input asked
for is reached; with ``create_graph=True`` each function's gradient comes from its differentiable rule
(autograd/second_order.py) instead of its array backward.
"""
import numpy as np

from .. import backend
from .second_order import _const, _ops, _shape, rule_for
from .tensor import Tensor, post_order


def _order(roots, wanted=None):
    """Functions reachable from ``roots`` in reverse topological order (outputs first); with ``wanted`` (ids of
    tensors), only those through which a wanted tensor is reached: nothing upstream of what is asked for runs."""
    order = post_order(roots, "grad")
    if wanted is not None:  # post-order: a function's inputs were decided before it
        useful = set()
        for fn in order:
            if any(need and (id(t) in wanted or t._ctx in useful) for t, need in zip(fn.inputs, fn.needs)):
                useful.add(fn)
        order = [fn for fn in order if fn in useful]
    return order[::-1]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(sum of outputs . grad_outputs) / d inputs, as a tuple of Tensors (PyTorch's torch.autograd.grad).

    Nothing is accumulated into ``.grad``. With ``create_graph=True`` the returned gradients are part of the
    graph (differentiate them again with ``.backward()`` or another ``grad``); otherwise they are constants.
    ``allow_unused``: an input the outputs do not depend on gets None instead of an error. ``retain_graph`` is
    accepted for PyTorch's signature: grad never frees the graph (a later backward through it still works)."""
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs_list = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs_list):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"grad: argument 'inputs' item {i} must be a Tensor that requires grad, got "
                             f"{type(t).__name__}" + ("" if not isinstance(t, Tensor) else " with requires_grad=False"))
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)) or backend.is_array(grad_outputs):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: argument 'grad_outputs' has {len(grad_outputs)} items for {len(outputs)} outputs")
    seeds = []
    for i, (out, go) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor) or not out.requires_grad:
            raise ValueError(f"grad: argument 'outputs' item {i} does not require grad (no path to the inputs)")
        xp = backend.get_array_module(out.data)
        if go is None:
            if out.data.size != 1:
                raise ValueError(f"grad: 'grad_outputs' may be omitted only for scalar outputs, got output {i} of "
                                 f"shape {out.shape}")
            go = xp.ones_like(out.data)
        go = go if isinstance(go, Tensor) else _const(xp.asarray(go, dtype=out.data.dtype))
        if _shape(go) != _shape(out):
            raise ValueError(f"grad: argument 'grad_outputs' item {i} expected shape {out.shape}, got {go.shape}")
        seeds.append((out, go))
    with (backend.enable_grad() if create_graph else backend.no_grad()):
        result = _sweep(seeds, inputs_list, create_graph)
    for i, (t, g) in enumerate(zip(inputs_list, result)):
        if g is None and not allow_unused:
            raise ValueError(f"grad: argument 'inputs' item {i} was not used to compute the outputs; pass "
                             f"allow_unused=True to get None for it")
    return tuple(result)


def _sweep(seeds, inputs, create_graph):
    wanted = {id(t): i for i, t in enumerate(inputs)}
    result = [None] * len(inputs)
    o = _ops()

    def acc(old, new):
        if old is None:
            return new
        return o.add(old, new) if create_graph else _const(old.data + new.data)

    order = _order([s[0] for s in seeds], wanted)
    useful = set(order)
    grads = {}

    def send(t, g):  # a gradient for tensor t: captured if asked for, passed on if it leads to an input
        if id(t) in wanted:
            result[wanted[id(t)]] = acc(result[wanted[id(t)]], g)
        if t._ctx is not None and t._ctx in useful:
            slot = grads.setdefault(t._ctx, {})
            slot[t._oi] = acc(slot.get(t._oi), g)
    for out, go in seeds:
        send(out, go)
    for fn in order:
        gouts = grads.pop(fn, None)
        if gouts is None:
            continue
        meta = fn.__dict__.get("out_meta")
        if meta is not None and len(meta) > 1:  # several outputs (a recurrence's sequence and final states)
            xp = backend.get_array_module(next(iter(gouts.values())).data)
            gs = [gouts[i] if i in gouts else _const(xp.zeros(s, d)) for i, (s, d) in enumerate(meta)]
            in_grads = rule_for(fn)(fn, *gs) if create_graph else fn.backward(*(g.data for g in gs))
        elif create_graph:
            in_grads = rule_for(fn)(fn, gouts[0])
        else:
            in_grads = fn.backward(gouts[0].data)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for t, need, g in zip(fn.inputs, fn.needs, in_grads):
            if not need or g is None:
                continue
            if not isinstance(g, Tensor):
                g = _const(g)
            if g.data.dtype != t.data.dtype:
                g = o.cast(g, t.data.dtype) if create_graph else _const(g.data.astype(t.data.dtype))
            send(t, g)
    return result


def backward_with_graph(root, grad_output=None):
    """``root.backward(create_graph=True)``: every leaf that requires grad gets ``.grad += dL/dleaf`` as a
    differentiable Tensor (PyTorch's semantics)."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn")
    leaves, seen = [], set()
    if root._ctx is None:
        leaves.append(root)
    for fn in _order([root]):
        for t, need in zip(fn.inputs, fn.needs):
            if need and t._ctx is None and id(t) not in seen:
                seen.add(id(t))
                leaves.append(t)
    grads = grad(root, leaves, grad_outputs=grad_output, create_graph=True, allow_unused=True)
    for leaf, g in zip(leaves, grads):
        if g is not None:
            leaf.grad = g if leaf.grad is None else _ops().add(leaf.grad, g)


def jvp(fun, primals, tangents, has_aux=False):
    """Jacobian-vector product J v of ``fun`` at ``primals`` (keras.ops.jvp): ``(fun(*primals), J v)``, and
    ``fun``'s auxiliary output third with ``has_aux=True``.

    Forward mode by two reverse sweeps: for a cotangent u, g(u) = J^T u is linear in u, so d<g(u), v>/du = J v.
    The first sweep is ``grad(..., create_graph=True)``: ``fun``'s ops need differentiable backward rules."""
    from .. import tree
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: arguments 'primals' and 'tangents' expected tuples or lists (one item per argument "
                        f"of fun), got {type(primals).__name__} and {type(tangents).__name__}")
    flat_p, flat_t = tree.flatten(list(primals)), tree.flatten(list(tangents))
    if len(flat_p) != len(flat_t):
        raise ValueError(f"jvp: 'tangents' must have the structure of 'primals': {len(flat_t)} leaves for "
                         f"{len(flat_p)}")
    xs, vs = [], []
    for i, (p, t) in enumerate(zip(flat_p, flat_t)):
        pd = backend.as_array(p.data if isinstance(p, Tensor) else p)
        if pd.dtype.kind != "f":
            pd = pd.astype(backend.floatx())
        td = backend.as_array(t.data if isinstance(t, Tensor) else t)
        if tuple(td.shape) != tuple(pd.shape):
            raise ValueError(f"jvp: tangent {i} has shape {tuple(td.shape)}, expected the primal's {tuple(pd.shape)}")
        xs.append(Tensor(pd, requires_grad=True))
        vs.append(_const(td.astype(pd.dtype, copy=False)))
    with backend.enable_grad():
        result = fun(*tree.pack_sequence_as(list(primals), xs))
        aux = None
        if has_aux:
            result, aux = result
        flat_o = [o if isinstance(o, Tensor) else _const(backend.as_array(o)) for o in tree.flatten(result)]
        live = [o for o in flat_o if o.requires_grad]
        us = [Tensor(backend.get_array_module(o.data).zeros_like(o.data), requires_grad=True) for o in live]
        jv = {}
        if live:
            gs = grad(live, xs, grad_outputs=us, create_graph=True, allow_unused=True)  # J^T u
            terms = [_ops().sum(_ops().multiply(g, v)) for g, v in zip(gs, vs) if g is not None]
            if terms:
                total = terms[0]
                for t in terms[1:]:
                    total = _ops().add(total, t)
                if total.requires_grad:
                    for o, d in zip(live, grad(total, us, allow_unused=True)):  # J v
                        jv[id(o)] = d
    xp_zeros = [backend.get_array_module(o.data).zeros_like(o.data) for o in flat_o]
    tangents_out = [jv.get(id(o)) if jv.get(id(o)) is not None else _const(z) for o, z in zip(flat_o, xp_zeros)]
    primals_out = [_const(o.data) for o in flat_o]
    out = (tree.pack_sequence_as(result, primals_out), tree.pack_sequence_as(result, tangents_out))
    return out + (aux,) if has_aux else out
