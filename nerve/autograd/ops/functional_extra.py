"""keras.ops.custom_gradient, keras.ops.vectorize and keras.ops.rearrange, with Keras 3 names and signatures.

- ``custom_gradient(f)``: one Function whose forward runs ``f`` (without recording a graph) and whose backward
  calls the ``grad_fn`` that ``f`` returned, so the user's gradient is the one backward produces;
- ``vectorize(pyfunc, *, excluded=None, signature=None)``: NumPy's vectorize over tensors (``excluded`` honoured
  as NumPy does), run eagerly as a loop over the broadcast loop dimensions and stacked (as vectorized_map), so
  gradients flow through pyfunc;
- ``rearrange(tensor, pattern, **axes_lengths)``: einops' rearrange (groups, composition and decomposition
  of axes, ``...``, unit axes ``()`` / ``1``) as reshape / transpose / reshape, differentiable.
"""
import functools
import inspect
import math
import re

import numpy as np

from ... import backend
from ..function import Function, unbroadcast
from ..tensor import Tensor
from . import _data, _t_arr, reshape, split, stack, transpose
from .numpy_ops import broadcast_to

__all__ = ["custom_gradient", "vectorize", "rearrange"]


# ============================================================================ custom_gradient
def _leaves(tree):
    """The leaves of nested lists / tuples / dicts, in order."""
    if isinstance(tree, (list, tuple)):
        return [leaf for v in tree for leaf in _leaves(v)]
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    return [tree]


def _rebuild(tree, leaves):
    """``tree``'s structure with its leaves taken in order from the iterator ``leaves``."""
    if isinstance(tree, (list, tuple)):
        vals = [_rebuild(v, leaves) for v in tree]
        return type(tree)(*vals) if hasattr(tree, "_fields") else type(tree)(vals)
    if isinstance(tree, dict):
        return {k: _rebuild(v, leaves) for k, v in tree.items()}
    return next(leaves)


def _is_tensor(v):
    return isinstance(v, Tensor) or backend.is_array(v)


def _call_grad_fn(grad_fn, args, ups, upstream):
    """Call grad_fn as the Keras backends do: ``grad_fn(*args, upstream=g)`` (torch form, when ``upstream`` is
    a keyword-only parameter), else ``grad_fn(*gs)`` one per output (TensorFlow) or ``grad_fn(g)`` with g
    shaped as the output (JAX). A ``variables`` parameter gets [] and the pair (input grads, variable grads)
    back, as tf.custom_gradient."""
    try:
        params = inspect.signature(grad_fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: positional
        params = []
    kinds = {p.name: p.kind for p in params}
    kw = {"variables": []} if "variables" in kinds else {}
    if kinds.get("upstream") == inspect.Parameter.KEYWORD_ONLY:
        res = grad_fn(*args, upstream=ups[0] if len(ups) == 1 else upstream, **kw)
    else:
        n_pos = sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                    for name, k in kinds.items() if name != "variables")
        flat = len(ups) == 1 or inspect.Parameter.VAR_POSITIONAL in kinds.values() or n_pos >= len(ups)
        res = grad_fn(*ups, **kw) if flat else grad_fn(upstream, **kw)
    return res[0] if kw else res


class _CustomGradient(Function):
    """Forward: f(*args) under no_grad gives (output, grad_fn); backward: grad_fn(upstream) per input."""
    name = "custom_gradient"

    def forward(self, *arrays, f=None, template=None, kwargs=None, box=None):
        self.arrays, self.f = arrays, f
        leaves = [Tensor._make(a, None, 0) if backend.is_array(a) else a for a in arrays]
        self.args = _rebuild(template, iter(leaves))
        with backend.no_grad():
            res = f(*self.args, **kwargs)
        if not (isinstance(res, (tuple, list)) and len(res) == 2 and callable(res[1])):
            raise TypeError(f"custom_gradient: function '{_name(f)}' expected to return a pair (output, grad_fn) "
                            f"with a callable grad_fn, got {type(res).__name__}"
                            + (f" of length {len(res)}" if isinstance(res, (tuple, list)) else ""))
        out, self.grad_fn = res
        outs = _leaves(out)
        for i, o in enumerate(outs):
            if o is None or isinstance(o, str):
                raise TypeError(f"custom_gradient: function '{_name(f)}' output {i} expected a tensor, got {o!r}")
        box["out"] = self.out = out
        return tuple(_data(_t_arr(o)) for o in outs)

    def backward(self, *gs):
        ups = [Tensor._make(g, None, 0) for g in gs]
        with backend.no_grad():
            res = _call_grad_fn(self.grad_fn, self.args, ups, _rebuild(self.out, iter(ups)))
        grads = _leaves(res)
        n_all, pos = len(self.arrays), [i for i, a in enumerate(self.arrays) if backend.is_array(a)]
        if len(grads) == len(pos) != n_all:  # one gradient per tensor input (numbers skipped)
            full = [None] * n_all
            for i, g in zip(pos, grads):
                full[i] = g
            grads = full
        if len(grads) != n_all:
            raise ValueError(f"custom_gradient: grad_fn of '{_name(self.f)}' returned {len(grads)} gradient(s), "
                             f"expected {n_all} (one per input)")
        return tuple(self._fit(i, g) if need and g is not None else None
                     for i, (g, need) in enumerate(zip(grads, self.needs)))

    def _fit(self, i, g):
        """The gradient as an array of input i's shape, dtype and device."""
        a = self.arrays[i]
        g = _data(g)
        g = g if backend.is_array(g) else backend.like(a, np.asarray(g, a.dtype))
        if g.shape != a.shape:
            try:
                big = np.broadcast_shapes(g.shape, a.shape)
            except ValueError:
                big = None
            if big == g.shape:  # broadcast over the input: summed back
                g = unbroadcast(g, a.shape)
            elif big == a.shape:  # e.g. a scalar: the same gradient everywhere
                g = backend.get_array_module(a).broadcast_to(g, a.shape).copy()
            else:
                raise ValueError(f"custom_gradient: grad_fn of '{_name(self.f)}' returned a gradient of shape "
                                 f"{tuple(g.shape)} for input {i} of shape {tuple(a.shape)}")
        return g if g.dtype == a.dtype else g.astype(a.dtype)


def _name(f):
    return getattr(f, "__name__", type(f).__name__)


def custom_gradient(f):
    """Decorator: ``f(*args)`` returns ``(output, grad_fn)``; the decorated function returns ``output`` and its
    gradient is what ``grad_fn`` gives (keras.ops.custom_gradient).

    ``args`` may be (nested lists / tuples / dicts of) tensors; ``output`` a tensor or a nested structure of
    them. ``grad_fn`` may take the portable form of the Keras docs ``grad_fn(*args, upstream=None)``, the
    torch form ``grad_fn(*args, upstream)``, the TF form ``grad_fn(*upstreams)`` (one per output) or the JAX
    form ``grad_fn(upstream)``; it returns one gradient per (flattened) input, None for none. ``f`` runs
    without recording a graph: tensors it closes over are constants (pass them as arguments to get their
    gradient)."""
    if not callable(f):
        raise TypeError(f"custom_gradient: argument 'f' expected a callable, got {type(f).__name__}")

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        box = {}
        outs = _CustomGradient.apply(*_leaves(args), f=f, template=args, kwargs=kwargs, box=box)
        return _rebuild(box["out"], iter(outs))
    return wrapper


# ============================================================================ vectorize
_DIM = r"\w+"
_ARG = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_SIGNATURE = re.compile(rf"^{_ARG}(?:,{_ARG})*->{_ARG}(?:,{_ARG})*$")


def _parse_signature(signature):
    """'(m,n),(n)->(m)' -> ([('m', 'n'), ('n',)], [('m',)]) (NumPy's gufunc signature)."""
    s = re.sub(r"\s+", "", str(signature))
    if not _SIGNATURE.match(s):
        raise ValueError(f"vectorize: argument 'signature' expected a gufunc signature such as '(m,n),(n)->(m)', "
                         f"got {signature!r}")
    return [[tuple(re.findall(_DIM, a)) for a in re.findall(_ARG, side)] for side in s.split("->")]


def _core_sizes(sizes, shape, dims, what):
    """Record (and check) the sizes of the core dimensions ``dims`` at the end of ``shape``."""
    for d, n in zip(dims, shape[len(shape) - len(dims):]):
        if sizes.setdefault(d, n) != n:
            raise ValueError(f"vectorize: core dimension '{d}' has size {n} in {what} but {sizes[d]} elsewhere")


def vectorize(pyfunc, *, excluded=None, signature=None):
    """numpy.vectorize over tensors (keras.ops.vectorize): ``pyfunc`` runs on each element (or, with
    ``signature``, on each core sub-array) of its broadcast inputs and the results are stacked, so gradients
    flow through pyfunc. ``excluded``: positions / keyword names passed to pyfunc unchanged."""
    if not callable(pyfunc):
        raise TypeError(f"vectorize: argument 'pyfunc' expected a callable, got {type(pyfunc).__name__}")
    excluded = set(excluded or ())
    core_in, core_out = _parse_signature(signature) if signature is not None else (None, None)

    @functools.wraps(pyfunc)
    def vectorized(*args, **kwargs):
        slots = [i for i, v in enumerate(args) if i not in excluded and v is not None] + \
            [k for k, v in kwargs.items() if k not in excluded and v is not None]  # None: passed as is (Keras)
        values = [_t_arr(args[s] if isinstance(s, int) else kwargs[s]) for s in slots]
        dims = core_in if core_in is not None else [()] * len(values)
        if len(dims) != len(values):
            raise TypeError(f"vectorize: signature {signature!r} expects {len(dims)} vectorized argument(s), "
                            f"got {len(values)}")
        sizes, loops = {}, []
        for j, (v, d) in enumerate(zip(values, dims)):
            shape = tuple(v.shape)
            if len(shape) < len(d):
                raise ValueError(f"vectorize: argument {slots[j]!r} of shape {shape} has fewer dimensions than "
                                 f"its core dimensions {d} in signature {signature!r}")
            _core_sizes(sizes, shape, d, f"argument {slots[j]!r}")
            loops.append(shape[:len(shape) - len(d)])
        try:
            loop = tuple(np.broadcast_shapes(*loops))
        except ValueError:
            raise ValueError(f"vectorize: the loop dimensions {loops} of the arguments do not broadcast") from None
        n = math.prod(loop)
        if n == 0:
            raise ValueError(f"vectorize: cannot call '{_name(pyfunc)}' on inputs of size 0 (loop shape {loop}): "
                             f"the shape of its output is unknown")
        pieces = []  # per argument: its n core sub-arrays
        for v, d in zip(values, dims):
            core = tuple(v.shape[len(v.shape) - len(d):])
            if tuple(v.shape) != loop + core:
                v = broadcast_to(v, loop + core)
            pieces.append([reshape(p, core) for p in split(reshape(v, (n,) + core), n, axis=0)] if n > 1
                          else [reshape(v, core)])
        results = []
        for i in range(n):
            a, kw = list(args), dict(kwargs)
            for s, p in zip(slots, pieces):
                if isinstance(s, int):
                    a[s] = p[i]
                else:
                    kw[s] = p[i]
            results.append(pyfunc(*a, **kw))
        return _stack_outputs(results, loop, sizes, core_out, pyfunc)
    return vectorized


def _stack_outputs(results, loop, sizes, core_out, pyfunc):
    many = isinstance(results[0], tuple)
    outs = [list(r) if isinstance(r, tuple) else [r] for r in results]
    dims = core_out if core_out is not None else [()] * len(outs[0])
    if len(outs[0]) != len(dims) or (len(dims) > 1 and not many):
        raise TypeError(f"vectorize: '{_name(pyfunc)}' returned {len(outs[0])} output(s), the signature "
                        f"expects {len(dims)} (several as a tuple)")
    stacked = []
    for j, d in enumerate(dims):
        vals = [_t_arr(o[j]) for o in outs]
        shape = tuple(vals[0].shape)
        if len(shape) != len(d):
            hint = "" if core_out is not None else " (give a signature for non-scalar outputs)"
            raise ValueError(f"vectorize: output {j} of '{_name(pyfunc)}' has shape {shape}, expected "
                             f"{len(d)} core dimension(s) {d}{hint}")
        _core_sizes(sizes, shape, d, f"output {j}")
        stacked.append(reshape(stack(vals, axis=0), loop + shape))
    return tuple(stacked) if many else stacked[0]


# ============================================================================ rearrange
_TOKEN = re.compile(r"\.\.\.|\w+|\S")


def _parse_side(side, bad):
    """'b (h w) ... c' -> ['b'], ['h', 'w'], '...', ['c']: one list of names per axis, '...' as is at the
    top level (inside parentheses it is a name in the group); '()' and '1' are groups of no names."""
    groups, cur, seen = [], None, set()
    for tok in _TOKEN.findall(side):
        if tok == "(":
            if cur is not None:
                bad("nested parentheses")
            cur = []
        elif tok == ")":
            if cur is None:
                bad("unbalanced ')'")
            groups.append(cur)
            cur = None
        elif tok == "1":
            if cur is None:
                groups.append([])
        elif tok == "..." or tok.isidentifier():
            if tok in seen:
                bad(f"axis '{tok}' appears twice on one side")
            seen.add(tok)
            if cur is not None:
                cur.append(tok)
            else:
                groups.append(tok if tok == "..." else [tok])
        elif tok.isdigit():
            bad(f"anonymous axis '{tok}': only 1 is supported")
        else:
            bad(f"unexpected {tok!r} (axes are identifiers, groups use parentheses)")
    if cur is not None:
        bad("unbalanced '('")
    return groups


def _expand(groups, names):
    """Replace '...' (top level: one axis per name; in a group: its names) by the ellipsis' axis names."""
    out = []
    for g in groups:
        if g == "...":
            out.extend([n] for n in names)
        else:
            out.append([a for v in g for a in (names if v == "..." else [v])])
    return out


def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, compose and decompose axes by an einops pattern (keras.ops.rearrange), e.g.
    ``'b h w c -> b c h w'``, ``'b (h h1) (w w1) c -> b h w (c h1 w1)'`` with h1=2, w1=2, ``'b ... c -> b c ...'``.
    Sizes of decomposed axes come from ``axes_lengths`` (all but one per group)."""
    x = _t_arr(tensor)
    shape = tuple(x.shape)

    def bad(problem):
        raise ValueError(f"rearrange: pattern {pattern!r}: {problem}")

    if not isinstance(pattern, str) or pattern.count("->") != 1:
        bad("expected one '->' between the input and the output axes")
    left, right = (_parse_side(s, bad) for s in pattern.split("->"))
    lnames, rnames = ({a for g in side for a in ([g] if g == "..." else g)} for side in (left, right))
    if "..." in lnames and "..." not in left:
        bad("'...' inside parentheses on the input side")
    if lnames != rnames:
        bad(f"axes {sorted(lnames ^ rnames)} appear on one side only")
    for k, v in axes_lengths.items():
        if k not in lnames:
            bad(f"axis length {k}={v!r} names no axis of the pattern")
        if not isinstance(v, (int, np.integer)) or v < 1:
            bad(f"axis length {k}={v!r} expected a positive int")
    ndim = len(left) - ("..." in left)
    if len(shape) < ndim or ("..." not in left and len(shape) != ndim):
        bad(f"the input side names {ndim} axes but the tensor has shape {shape}")
    dots = [f"...{i}" for i in range(len(shape) - ndim)]
    left, right = _expand(left, dots), _expand(right, dots)
    sizes = {}
    for g, n in zip(left, shape):
        if g and g[0] in dots:  # an axis of the ellipsis
            sizes[g[0]] = n
            continue
        unknown = [a for a in g if a not in axes_lengths]
        known = math.prod(axes_lengths.get(a, 1) for a in g)
        group = f"({' '.join(g)})"
        if len(unknown) > 1:
            bad(f"cannot infer the sizes of {unknown} in {group} from an axis of length {n}; "
                f"give all but one as keyword arguments")
        if unknown and n % known:
            bad(f"axis of length {n} is not divisible by {known} to split into {group}")
        if not unknown and known != n:
            bad(f"{group} has length {known} but the tensor's axis has length {n}")
        for a in g:
            sizes[a] = axes_lengths.get(a, n // known)
    order = [a for g in left for a in g]
    if [sizes[a] for a in order] != list(shape):
        x = reshape(x, [sizes[a] for a in order])
    perm = [order.index(a) for g in right for a in g]
    if perm != sorted(perm):
        x = transpose(x, perm)
    return reshape(x, [math.prod(sizes[a] for a in g) for g in right])
