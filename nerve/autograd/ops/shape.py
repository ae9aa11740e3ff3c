"""Shape and indexing ops. Each backward undoes the data movement of the forward."""
import numpy as np

from ... import backend
from ..function import Function
from .reduce import one_axis


class Reshape(Function):
    name = "reshape"

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: argument 'newshape' {tuple(shape)} is incompatible with input shape "
                             f"{tuple(x.shape)} ({x.size} elements)") from None

    def backward(self, g):
        return g.reshape(self.shape), None


class Transpose(Function):
    name = "transpose"

    def forward(self, x, axes=None):
        if axes is None:
            axes = tuple(range(x.ndim))[::-1]
        if sorted(int(a) % x.ndim if -x.ndim <= a < x.ndim else -1 for a in axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: argument 'axes' must be a permutation of {list(range(x.ndim))}, got {axes}")
        axes = tuple(int(a) % x.ndim for a in axes)
        self.inv = tuple(np.argsort(axes))
        return x.transpose(axes)

    def backward(self, g):
        return g.transpose(self.inv), None


class Concatenate(Function):
    name = "concatenate"

    def forward(self, *xs, axis=0):
        ref = xs[0]
        ax = one_axis(axis, ref.ndim, "concatenate")
        for i, x in enumerate(xs):
            if x.ndim != ref.ndim or any(x.shape[d] != ref.shape[d] for d in range(ref.ndim) if d != ax):
                raise ValueError(f"concatenate: argument 'xs' item {i} expected shape {tuple(ref.shape)} except "
                                 f"along axis {axis}, got shape {tuple(x.shape)}")
        self.ax = ax
        self.splits = np.cumsum([x.shape[ax] for x in xs])[:-1].tolist()
        return np.concatenate(xs, axis=ax)

    def backward(self, g):
        return tuple(np.split(g, self.splits, axis=self.ax))


class Stack(Function):
    name = "stack"

    def forward(self, *xs, axis=0):
        for i, x in enumerate(xs):
            if x.shape != xs[0].shape:
                raise ValueError(f"stack: tensor {i} has shape {tuple(x.shape)}, expected {tuple(xs[0].shape)} "
                                 f"(all inputs must have the same shape)")
        self.axis = one_axis(axis, xs[0].ndim + 1, "stack", f"inputs of rank {xs[0].ndim}")
        return np.stack(xs, axis=self.axis)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))


class Split(Function):
    name = "split"

    def forward(self, x, indices_or_sections, axis=0):
        self.ax = one_axis(axis, x.ndim, "split")
        try:
            outs = np.split(x, indices_or_sections, axis=self.ax)
        except ValueError:
            raise ValueError(f"split: argument 'indices_or_sections' {indices_or_sections!r} does not divide axis "
                             f"{axis} of length {x.shape[self.ax]} equally") from None
        return tuple(outs)

    def backward(self, *gs):
        return np.concatenate(gs, axis=self.ax), None, None


class Pad(Function):
    name = "pad"

    def forward(self, x, pad_width, mode="constant", constant_values=0):
        try:
            pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2), (x.ndim, 2)) \
                if np.ndim(pad_width) else np.full((x.ndim, 2), int(pad_width))
        except ValueError:
            raise ValueError(f"pad: argument 'pad_width' expected an int, a (before, after) pair or {x.ndim} pairs "
                             f"for an input of shape {tuple(x.shape)}, got {pad_width!r}") from None
        if mode != "constant":
            raise NotImplementedError(f"pad: argument 'mode' supports 'constant' with gradients, got {mode!r}")
        self.sl = tuple(slice(int(lo), int(lo) + n) for (lo, _), n in zip(pw, x.shape))
        return np.pad(x, [tuple(int(v) for v in p) for p in pw], mode="constant", constant_values=constant_values)

    def backward(self, g):
        return g[self.sl], None, None, None


def _scatter_add(xp, a, idx, v):
    """a[idx] += v with repeated indices accumulating (np.add.at; cupy.add.at, or cupyx.scatter_add on a CuPy
    older than 13)."""
    at = getattr(xp.add, "at", None)
    if at is not None:
        at(a, idx, v)
    else:  # pragma: no cover - old CuPy only
        import cupyx
        cupyx.scatter_add(a, idx, v)


def _is_advanced(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(not (i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))) for i in items)


class GetItem(Function):
    name = "getitem"

    def forward(self, x, idx):
        self.shape, self.dtype, self.idx = x.shape, x.dtype, idx
        self.adv = _is_advanced(idx)
        try:
            return x[idx]
        except IndexError as e:
            raise IndexError(f"getitem: index {idx!r} is invalid for a tensor of shape {tuple(x.shape)} ({e})") from None

    def backward(self, g):
        return scatter_into(g, self.idx, self.shape, self.dtype, self.adv), None


def scatter_into(g, idx, shape, dtype, advanced):
    """The adjoint of x[idx]: zeros of ``shape`` with g put at ``idx`` (added, for repeated advanced indices)."""
    xp = backend.get_array_module(g)
    gx = xp.zeros(shape, dtype)
    if advanced:
        _scatter_add(xp, gx, idx, g)
    else:
        gx[idx] = g
    return gx


class Take(Function):
    name = "take"

    def forward(self, x, indices, axis=None):
        if axis is not None:
            axis = one_axis(axis, x.ndim, "take")
        self.shape, self.dtype, self.axis = x.shape, x.dtype, axis
        self.indices = indices
        n = x.size if axis is None else x.shape[axis]
        if indices.size and (indices.max() >= n or indices.min() < -n):
            raise IndexError(f"take: argument 'indices' expected values in [{-n}, {n}), got range "
                             f"[{indices.min()}, {indices.max()}]")
        return np.take(x, indices, axis=axis)

    def backward(self, g):
        xp = backend.get_array_module(g)
        gx = xp.zeros(self.shape, self.dtype)
        if self.axis is None:
            _scatter_add(xp, gx.reshape(-1), self.indices.reshape(-1), g.reshape(-1))
        else:
            ax = self.axis % len(self.shape)
            gm = np.moveaxis(gx, ax, 0)  # view: writes land in gx
            gg = np.moveaxis(g.reshape(self.shape[:ax] + self.indices.shape + self.shape[ax + 1:]), ax, 0) \
                if self.indices.ndim == 1 else None
            if gg is not None:
                _scatter_add(xp, gm, self.indices, gg)
            else:
                k = self.indices.ndim
                gflat = np.moveaxis(g, tuple(range(ax, ax + k)), tuple(range(k)))
                _scatter_add(xp, gm, self.indices.reshape(-1), gflat.reshape((-1,) + gm.shape[1:]))
        return gx, None, None
