"""Merge layers (Keras 3): Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot.

Elementwise merges broadcast as Keras does: inputs of lower rank get size-1 axes inserted after the
batch axis, then sizes of 1 broadcast against the others.
"""
import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .layer import Layer


def _fmt_shapes(shapes):
    return "[" + ", ".join("(" + ", ".join("None" if d is None else str(d) for d in s) +
                           ("," if len(s) == 1 else "") + ")" for s in shapes) + "]"


def _fold(op, xs):
    """op(...op(op(xs[0], xs[1]), xs[2])..., xs[-1]): the elementwise merges, left to right."""
    out = xs[0]
    for x in xs[1:]:
        out = op(out, x)
    return out


def _mdata(m):
    return m.data if isinstance(m, Tensor) else backend.as_array(m)


class Merge(Layer):
    """Base of the elementwise merge layers; ``_merge_function(list of tensors)`` does the work."""

    _min_inputs = 1
    _exact_inputs = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_list(self, input_shape):
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"{who}: a merge layer must be called on a list of inputs, got input_shape "
                             f"{input_shape}")
        if self._exact_inputs is not None and len(input_shape) != self._exact_inputs:
            raise ValueError(f"{who}: expected exactly {self._exact_inputs} inputs, got {len(input_shape)} "
                             f"(shapes {_fmt_shapes(input_shape)})")
        if len(input_shape) < self._min_inputs:
            raise ValueError(f"{who}: expected at least {self._min_inputs} inputs, got {len(input_shape)}")
        batch = {tuple(s)[0] for s in input_shape if len(s)} - {None}
        if len(batch) > 1:
            raise ValueError(f"{who}: cannot merge tensors with different batch sizes, got shapes "
                             f"{_fmt_shapes(input_shape)}")

    def _elementwise_shape(self, s1, s2):
        """Keras' compute_elemwise_op_output_shape on the non-batch axes."""
        if s1 is None or s2 is None:
            return None
        if len(s1) < len(s2):
            s1, s2 = s2, s1
        if not s2:
            return tuple(s1)
        out = list(s1[:-len(s2)])
        for i, j in zip(s1[-len(s2):], s2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1 or i == j:
                out.append(i)
            else:
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs have incompatible shapes "
                                 f"{tuple(s1)} and {tuple(s2)}")
        return tuple(out)

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        # lower-rank inputs get axes inserted after the batch axis (as the call does)
        rank = max(len(s) for s in shapes)
        shapes = [s[:1] + (1,) * (rank - len(s)) + s[1:] for s in shapes]
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = self._elementwise_shape(out, s[1:])
        batch = [s[0] for s in shapes if s[0] is not None]
        return (batch[0] if batch else None,) + tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{type(self).__name__} '{self.name}': a merge layer must be called on a list of inputs, "
                             f"got a single tensor of shape {tuple(inputs.shape)}")
        rank = max(x.ndim for x in inputs)
        xs = []
        for x in inputs:
            while x.ndim < rank:
                x = ops.expand_dims(x, 1)
            xs.append(x)
        return self._merge_function(xs)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{type(self).__name__} '{self.name}': argument 'mask' should be a list, got {mask!r}")
        if len(mask) != len(inputs):
            raise ValueError(f"{type(self).__name__} '{self.name}': got {len(mask)} masks for {len(inputs)} inputs")
        ms = [_mdata(m).astype(bool) for m in mask if m is not None]
        if not ms:
            return None
        return Tensor._make(np.logical_and.reduce(np.broadcast_arrays(*ms)), None, 0)


@register("layers")
class Add(Merge):
    """Elementwise sum of the inputs."""

    def _merge_function(self, xs):
        return _fold(ops.add, xs)


@register("layers")
class Subtract(Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    _exact_inputs = 2

    def _merge_function(self, xs):
        if len(xs) != 2:
            raise ValueError(f"Subtract '{self.name}': expected exactly 2 inputs, got {len(xs)}")
        return ops.subtract(xs[0], xs[1])


@register("layers")
class Multiply(Merge):
    """Elementwise product of the inputs."""

    def _merge_function(self, xs):
        return _fold(ops.multiply, xs)


@register("layers")
class Average(Merge):
    """Elementwise mean of the inputs."""

    def _merge_function(self, xs):
        return ops.divide(_fold(ops.add, xs), float(len(xs)))


@register("layers")
class Maximum(Merge):
    """Elementwise maximum of the inputs."""

    def _merge_function(self, xs):
        return _fold(ops.maximum, xs)


@register("layers")
class Minimum(Merge):
    """Elementwise minimum of the inputs."""

    def _merge_function(self, xs):
        return _fold(ops.minimum, xs)


@register("layers")
class Concatenate(Merge):
    """Join the inputs along ``axis``; all other axes must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Concatenate '{self.name}': argument 'axis' expected an int, got {axis!r}")
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        who = f"Concatenate '{self.name}'"
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(f"{who}: all inputs must have the same rank, got shapes {_fmt_shapes(shapes)}")
        if not -rank <= self.axis < rank:
            raise ValueError(f"{who}: argument 'axis' {self.axis} is out of range for inputs of rank {rank}")
        ax = self.axis % rank
        out = list(shapes[0])
        for s in shapes[1:]:
            for i in range(rank):
                if i == ax:
                    continue
                if out[i] is None:
                    out[i] = s[i]
                elif s[i] is not None and s[i] != out[i]:
                    raise ValueError(f"{who}: inputs must have matching shapes except for the concatenation axis "
                                     f"{self.axis}, got shapes {_fmt_shapes(shapes)}")
        sizes = [s[ax] for s in shapes]
        out[ax] = None if any(d is None for d in sizes) else int(sum(sizes))
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"Concatenate '{self.name}': must be called on a list of inputs, got a single tensor")
        self.compute_output_shape([tuple(x.shape) for x in inputs])
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        ms = []
        for x, m in zip(inputs, mask):
            xs = tuple(x.shape)
            if m is None:
                ms.append(backend.like(_mdata(x), np.ones(xs, bool)))
            else:
                md = _mdata(m).astype(bool)
                if md.ndim < len(xs):
                    md = np.broadcast_to(md[..., None], xs)
                ms.append(md)
        return Tensor._make(np.concatenate(ms, axis=self.axis).any(axis=-1), None, 0)

    def get_config(self):
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg


@register("layers")
class Dot(Merge):
    """Batched dot product of two inputs along ``axes`` (an int or one axis per input, counted with the
    batch axis); ``normalize=True`` L2-normalises both along those axes first (cosine similarity)."""

    _exact_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
            self.axes = int(axes)
        elif isinstance(axes, (list, tuple)) and len(axes) == 2 and all(isinstance(a, (int, np.integer))
                                                                       for a in axes):
            self.axes = [int(a) for a in axes]
        else:
            raise TypeError(f"Dot '{self.name}': argument 'axes' expected an int or a list of 2 ints, got {axes!r}")
        self.normalize = bool(normalize)
        self.supports_masking = False

    def _axes_for(self, s1, s2):
        if isinstance(self.axes, int):
            axes = [self.axes % len(s1), self.axes % len(s2)] if self.axes < 0 else [self.axes] * 2
        else:
            axes = [self.axes[0] % len(s1), self.axes[1] % len(s2)]
        if axes[0] == 0 or axes[1] == 0:
            raise ValueError(f"Dot '{self.name}': argument 'axes' {self.axes} names the batch axis; the dot product "
                             f"is taken per sample")
        if axes[0] >= len(s1) or axes[1] >= len(s2):
            raise ValueError(f"Dot '{self.name}': argument 'axes' {self.axes} is out of range for shapes "
                             f"{_fmt_shapes([s1, s2])}")
        if s1[axes[0]] is not None and s2[axes[1]] is not None and s1[axes[0]] != s2[axes[1]]:
            raise ValueError(f"Dot '{self.name}': incompatible input shapes: axis values {s1[axes[0]]} (at axis "
                             f"{axes[0]}) != {s2[axes[1]]} (at axis {axes[1]}); full input shapes "
                             f"{_fmt_shapes([s1, s2])}")
        return axes

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        s1, s2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._axes_for(s1, s2)
        s1.pop(a1)
        s2.pop(a2)
        s2.pop(0)
        out = s1 + s2
        if len(out) == 1:
            out += [1]
        return tuple(out)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Dot '{self.name}': expected a list of exactly 2 inputs")
        x1, x2 = inputs
        a1, a2 = self._axes_for(tuple(x1.shape), tuple(x2.shape))
        if self.normalize:
            x1, x2 = _l2_normalize(x1, a1), _l2_normalize(x2, a2)
        # batch_dot with einsum: shared batch letter 'a', contracted letter 'z'
        letters = iter("bcdefghijklmnopqrstuvwxy")
        t1 = ["a"] + [next(letters) for _ in range(x1.ndim - 1)]
        t2 = ["a"] + [next(letters) for _ in range(x2.ndim - 1)]
        t1[a1] = t2[a2] = "z"
        out = [c for c in t1 if c != "z"] + [c for c in t2[1:] if c != "z"]
        y = ops.einsum("".join(t1) + "," + "".join(t2) + "->" + "".join(out), x1, x2)
        if y.ndim == 1:
            y = ops.expand_dims(y, 1)
        return y

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"axes": self.axes, "normalize": self.normalize})
        return cfg


def _l2_normalize(x, axis):
    # x / sqrt(max(sum x^2, 1e-12))  (TensorFlow's l2_normalize, which Keras uses)
    ss = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(ss, 1e-12)))


# functional forms (keras.layers.add(inputs), ...)
def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
