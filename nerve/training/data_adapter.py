"""Turn what ``fit`` / ``evaluate`` / ``predict`` receive into batches ``(x, y, sample_weight)``.

Accepted data (Keras 3): NumPy arrays (or anything ``np.asarray`` takes), lists/tuples of arrays for
several inputs or outputs, dicts keyed by input/output name, nerve Tensors; Python generators or
iterators yielding ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` batches; PyDataset-like objects
(``__len__`` + ``__getitem__`` returning a batch, optional ``on_epoch_end``).

Array data is batched here: each epoch draws a permutation from ``backend.rng()`` when ``shuffle`` is
True ('batch' shuffles the order of contiguous batches). ``validation_split`` takes the LAST fraction
of the samples, before any shuffling (Keras semantics). ``class_weight`` becomes per-sample weights.
"""
import math
import warnings

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor


# ----------------------------------------------------------------------------- nested structures
def map_structure(fn, x):
    if isinstance(x, dict):
        return {k: map_structure(fn, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(map_structure(fn, v) for v in x)
    return None if x is None else fn(x)


def flatten(x):
    if isinstance(x, dict):
        return [a for k in x for a in flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [a for v in x for a in flatten(v)]
    return [] if x is None else [x]


def unpack_x_y_sample_weight(data):
    """Keras' rule: a tuple of length 1, 2 or 3 is (x,), (x, y) or (x, y, sample_weight); anything else is x."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"data: expected a tuple (x,), (x, y) or (x, y, sample_weight), got a tuple of "
                     f"{len(data)} elements")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    if y is None:
        return (x,)
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def _to_array(a):
    if isinstance(a, Tensor):
        return a.data
    if backend.is_array(a):
        return a
    out = np.asarray(a)
    if out.dtype == np.float64:  # Python floats: use floatx, as Keras converts to the model's dtype
        out = out.astype(backend.floatx())
    return out


def is_array_data(x):
    """True for arrays / nested arrays (batched here); False for generators and PyDataset-like objects."""
    if x is None:
        return True
    if isinstance(x, (dict, tuple)) or backend.is_array(x) or isinstance(x, Tensor):
        return True
    if isinstance(x, list):
        return True
    return hasattr(x, "__array__")


def _standardize(x):
    """Arrays inside nested lists/dicts; a plain list of numbers becomes one array, a list of arrays stays."""
    if isinstance(x, list) and x and not any(isinstance(v, (list, tuple, dict)) or backend.is_array(v) or
                                              isinstance(v, Tensor) for v in x):
        return _to_array(x)
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, list) for v in x) and \
            not any(isinstance(w, (list, tuple, dict)) for v in x for w in v if not np.isscalar(w)):
        # a nested Python list of numbers such as [[0, 1], [1, 0]] is one array, not several inputs
        try:
            return _to_array(x)
        except ValueError:
            pass
    return map_structure(_to_array, x)


def num_samples(fn_name, x, y=None, sample_weight=None):
    """The common first dimension of every array, with a clear error when they differ or are empty."""
    sizes = {}
    for label, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for a in flatten(part):
            if a.ndim == 0:
                raise ValueError(f"{fn_name}: argument '{label}' must have a batch dimension, got a scalar")
            sizes.setdefault(label, set()).add(int(a.shape[0]))
    if not sizes or "x" not in sizes:
        raise ValueError(f"{fn_name}: argument 'x' is required (got no input data)")
    for label, s in sizes.items():
        if len(s) > 1:
            raise ValueError(f"{fn_name}: all arrays in '{label}' must have the same number of samples, got "
                             f"{sorted(s)}")
    nx = next(iter(sizes["x"]))
    for label in ("y", "sample_weight"):
        if label in sizes:
            n = next(iter(sizes[label]))
            if n != nx:
                raise ValueError(f"{fn_name}: arguments 'x' and '{label}' must have the same number of samples, "
                                 f"got x with {nx} and {label} with {n}")
    if nx == 0:
        raise ValueError(f"{fn_name}: the input data is empty (x has 0 samples)")
    return nx


def _named_arrays(label, part):
    """(name, array) pairs of a nested structure: 'x', 'x[0]', "x['image']"."""
    if isinstance(part, dict):
        return [p for k in part for p in _named_arrays(f"{label}[{k!r}]", part[k])]
    if isinstance(part, (list, tuple)):
        return [p for i, v in enumerate(part) for p in _named_arrays(f"{label}[{i}]", v)]
    return [] if part is None else [(label, part)]


_SPLIT_BYTES = 4 << 20  # arrays above this are summed in two halves on two threads (memory-bound pass)


def _sum_is_finite(a, xp):
    """isfinite(sum(a)): False on any NaN/Inf (they propagate) and on overflow (the caller then looks element by
    element). NumPy arrays above _SPLIT_BYTES sum their halves concurrently (reductions release the GIL)."""
    if xp is not np:
        return bool(xp.isfinite(a.sum()))
    if a.nbytes < _SPLIT_BYTES or a.ndim == 0 or a.shape[0] < 2:
        return bool(np.isfinite(_quiet_sum(a)))
    from ..autograd.ops import chains
    half = a.shape[0] // 2
    first, other = chains.parallel([lambda: _quiet_sum(a[:half]), lambda: _quiet_sum(a[half:])])
    return bool(np.isfinite(first) and np.isfinite(other))


def _quiet_sum(a):
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow only sends the caller element by element
        return a.sum()


def check_finite_and_numeric(fn_name, x, y=None, sample_weight=None, finite=True):
    """Reject complex/datetime/void arrays and NaN/Inf values, naming the argument, the count and the first
    offending index (one ``np.isfinite`` pass per floating array). String and object arrays pass: a
    TextVectorization first layer takes them, and other layers reject them naming the layer."""
    for label, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
        for name, a in _named_arrays(label, part):
            kind = getattr(getattr(a, "dtype", None), "kind", None)
            if kind is None:
                continue
            if kind in "cmMV":  # strings/objects are left to the first layer (TextVectorization takes them)
                raise TypeError(f"{fn_name}: argument '{name}' expected a real numeric array (bool, int or float), "
                                f"got dtype {a.dtype} of shape {tuple(a.shape)}")
            if kind != "f" or not finite:
                continue
            xp = backend.get_array_module(a)
            if _sum_is_finite(a, xp):  # one pass, no temporaries: NaN/Inf propagate into the sum
                continue
            bad = ~xp.isfinite(a)  # the sum may also overflow on finite data: look element by element
            count = int(bad.sum())
            if count:
                first = tuple(int(i) for i in np.unravel_index(int(backend.to_numpy(bad.ravel().argmax())),
                                                               a.shape))
                value = backend.to_numpy(a[first]).item()
                raise ValueError(f"{fn_name}: argument '{name}' must hold finite values, got {count} NaN/Inf "
                                 f"value(s) out of {a.size}; the first is {value} at index {first}")


def train_validation_split(arrays, validation_split):
    """Split (x, y, sample_weight) into training and validation parts: the LAST ``validation_split``
    fraction is validation, taken before any shuffling (Keras semantics)."""
    if not isinstance(validation_split, (int, float)) or isinstance(validation_split, bool) or \
            not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: argument 'validation_split' must be a float in [0, 1), got {validation_split!r}")
    x = arrays[0]
    n = num_samples("fit", *arrays)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"fit: validation_split={validation_split} leaves an empty training or validation set "
                         f"with {n} samples (split at index {split_at})")
    del x
    train = tuple(map_structure(lambda a: a[:split_at], part) for part in arrays)
    val = tuple(map_structure(lambda a: a[split_at:], part) for part in arrays)
    return train, val


# ----------------------------------------------------------------------------- class weights
def class_weight_to_sample_weight(y, class_weight, sample_weight=None):
    """Per-sample weights ``class_weight[class of y_i]`` (y integer labels, or one-hot/probabilities: argmax)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"fit: argument 'class_weight' must be a dict {{class index: weight}}, got "
                         f"{type(class_weight).__name__}")
    if y is None:
        raise ValueError("fit: argument 'class_weight' needs targets y")
    if isinstance(y, (list, tuple, dict)) and len(flatten(y)) > 1:
        raise ValueError("fit: argument 'class_weight' is only supported for models with a single output")
    y = flatten(y)[0]
    y = backend.to_numpy(y.data if isinstance(y, Tensor) else y)
    if y.ndim >= 2 and y.shape[-1] > 1:
        idx = np.argmax(y, axis=-1)
    elif y.ndim >= 2:
        idx = np.round(y[..., 0]).astype(np.int64)
    else:
        idx = np.round(y).astype(np.int64)
    idx = idx.reshape(idx.shape[0], -1)[:, 0] if idx.ndim > 1 else idx
    keys = {int(k) for k in class_weight}
    missing = sorted(set(np.unique(idx).tolist()) - keys)
    if missing:
        raise ValueError(f"fit: argument 'class_weight' has no weight for class(es) {missing}; got keys "
                         f"{sorted(keys)}")
    table = np.zeros(max(keys) + 1, dtype=backend.floatx())
    for k, w in class_weight.items():
        table[int(k)] = float(w)
    sw = table[idx]
    if sample_weight is not None:
        sw = sw * backend.to_numpy(_to_array(sample_weight)).reshape(sw.shape[0], -1)[:, 0]
    return sw


# ----------------------------------------------------------------------------- epoch iterators
class ArrayIterator:
    """Batches of in-memory arrays. ``num_batches`` per epoch; ``steps_per_epoch`` continues where the last
    epoch stopped and starts a new pass (new permutation) when the data runs out."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None, shuffle=False,
                 class_weight=None, fn_name="fit"):
        if batch_size is None:
            batch_size = 32
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"{fn_name}: argument 'batch_size' must be a positive integer, got {batch_size!r}")
        self.x, self.y, self.sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        self.n = num_samples(fn_name, self.x, self.y, self.sample_weight)
        # once per call: NaN/Inf (fit only) and complex data fail here, not epochs later
        check_finite_and_numeric(fn_name, self.x, self.y, self.sample_weight, finite=fn_name == "fit")
        if class_weight is not None:
            self.sample_weight = class_weight_to_sample_weight(self.y, class_weight, self.sample_weight)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self._batches_per_pass = int(math.ceil(self.n / self.batch_size))
        if steps_per_epoch is not None and fn_name != "fit":  # evaluate/predict: at most one pass over the data
            steps_per_epoch = min(steps_per_epoch, self._batches_per_pass)
        self.steps_per_epoch = steps_per_epoch
        self._pass = None

    @property
    def num_batches(self):
        return self.steps_per_epoch or self._batches_per_pass

    def _new_pass(self):
        n, bs = self.n, self.batch_size
        if self.shuffle == "batch":
            order = backend.rng().permutation(self._batches_per_pass)
            bounds = [(i * bs, min(n, (i + 1) * bs)) for i in order]
            return iter([slice(a, b) for a, b in bounds])
        if self.shuffle:
            perm = backend.rng().permutation(n)
            leaf = self.x
            while isinstance(leaf, (list, tuple, dict)) and leaf:
                leaf = next(iter(leaf.values())) if isinstance(leaf, dict) else leaf[0]
            if backend.is_array(leaf) and type(leaf) is not np.ndarray:  # device data: device indices
                perm = backend.get_array_module(leaf).asarray(perm)
            return iter([perm[i:i + bs] for i in range(0, n, bs)])
        return iter([slice(i, min(n, i + bs)) for i in range(0, n, bs)])

    def _take(self, idx):
        x, y = self.x, self.y
        if type(idx) is np.ndarray and type(x) is np.ndarray and self.sample_weight is None and \
                (y is None or type(y) is np.ndarray):  # one input, one target: the common case, directly
            return (x.take(idx, axis=0),) if y is None else (x.take(idx, axis=0), y.take(idx, axis=0))

        def pick(a):
            if type(a) is np.ndarray and type(idx) is np.ndarray:
                return a.take(idx, axis=0)  # same rows as a[idx]; faster on cache-cold data (measured)
            return a[idx]
        # packed as Keras packs array batches: (x,), (x, y) or (x, y, sample_weight), so `x, y = data` works
        return pack_x_y_sample_weight(map_structure(pick, self.x), map_structure(pick, self.y),
                                      map_structure(pick, self.sample_weight))

    def __iter__(self):
        """One epoch of (step, batch) pairs."""
        if self.steps_per_epoch is None:
            for step, idx in enumerate(self._new_pass()):
                yield step, self._take(idx)
            return
        for step in range(self.steps_per_epoch):
            idx = next(self._pass, None) if self._pass is not None else None
            if idx is None:
                self._pass = self._new_pass()
                idx = next(self._pass)
            yield step, self._take(idx)

    def on_epoch_end(self):
        pass


class GeneratorIterator:
    """Batches from a Python iterator/generator or a PyDataset-like object (``__len__`` + ``__getitem__``)."""

    def __init__(self, data, steps_per_epoch=None, shuffle=False, class_weight=None, fn_name="fit"):
        self.data = data
        self.steps_per_epoch = steps_per_epoch
        self.class_weight = class_weight
        self.fn_name = fn_name
        self.indexable = hasattr(data, "__getitem__") and hasattr(data, "__len__")
        self.shuffle = shuffle
        self._iterator = None
        self.exhausted = False
        if not self.indexable and not hasattr(data, "__next__") and not hasattr(data, "__iter__"):
            raise TypeError(f"{fn_name}: unsupported data of type {type(data).__name__}; expected NumPy arrays, "
                            f"lists/dicts of arrays, a generator or a PyDataset")

    @property
    def num_batches(self):
        if self.steps_per_epoch:
            return self.steps_per_epoch
        if self.indexable:
            return len(self.data)
        return None  # unknown until the generator runs out

    def _batch(self, item):
        x, y, sw = unpack_x_y_sample_weight(item)
        x, y, sw = _standardize(x), _standardize(y), _standardize(sw)
        if self.class_weight is not None:
            sw = class_weight_to_sample_weight(y, self.class_weight, sw)
        return pack_x_y_sample_weight(x, y, sw)

    def __iter__(self):
        if self.indexable:
            n = len(self.data)
            order = backend.rng().permutation(n) if self.shuffle else range(n)
            steps = self.steps_per_epoch or n
            for step in range(steps):
                yield step, self._batch(self.data[int(order[step % n])])
            return
        if self._iterator is None:
            self._iterator = iter(self.data)
        step = 0
        while self.steps_per_epoch is None or step < self.steps_per_epoch:
            try:
                item = next(self._iterator)
            except StopIteration:
                self.exhausted = True
                if step == 0 or self.steps_per_epoch is not None:
                    warnings.warn(f"{self.fn_name}: your input ran out of data after {step} step(s) of this epoch; "
                                  f"pass 'steps_per_epoch' (or use a PyDataset / arrays) so every epoch has data")
                return
            yield step, self._batch(item)
            step += 1

    def on_epoch_end(self):
        if hasattr(self.data, "on_epoch_end"):
            self.data.on_epoch_end()


def make_iterator(fn_name, x, y=None, sample_weight=None, batch_size=None, steps_per_epoch=None, shuffle=False,
                  class_weight=None):
    """The right iterator for the data; arrays need y/sample_weight given separately, generators carry them."""
    if steps_per_epoch is not None and (not isinstance(steps_per_epoch, (int, np.integer)) or steps_per_epoch <= 0):
        raise ValueError(f"{fn_name}: argument 'steps' / 'steps_per_epoch' must be a positive integer or None, got "
                         f"{steps_per_epoch!r}")
    if x is None:
        raise ValueError(f"{fn_name}: argument 'x' is required (got None)")
    if is_array_data(x):
        return ArrayIterator(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight, fn_name)
    if y is not None:
        raise ValueError(f"{fn_name}: argument 'y' must not be given when 'x' is a generator or PyDataset (it "
                         f"yields (x, y) itself)")
    if sample_weight is not None:
        raise ValueError(f"{fn_name}: argument 'sample_weight' must not be given when 'x' is a generator or "
                         f"PyDataset (yield (x, y, sample_weight) instead)")
    if batch_size is not None:
        warnings.warn(f"{fn_name}: argument 'batch_size' is ignored for generator/PyDataset input")
    return GeneratorIterator(x, steps_per_epoch, shuffle, class_weight, fn_name)
