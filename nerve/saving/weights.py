"""``save_weights`` / ``load_weights``: a model's variables in one ``.weights.npz`` file.

Keys are structural paths, as Keras 3 keys its weight files: each layer is named by its class in
snake case with a counter among its siblings (``dense``, ``dense_1``, nested: ``sequential/dense``),
then the variable's name (``dense_1/kernel``). For a model built with automatic names in a fresh
session these are exactly the variable paths; unlike layer names, they do not drift when the same
architecture is rebuilt later in a session, so weights load into any model of the same architecture.
Loading checks names and shapes first and assigns nothing unless everything matches.
"""
import os
import re

import numpy as np

from . import file_io
from .file_io import ArchiveError

WEIGHTS_MEMBER = "model.weights.npz"


def _snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def _children(layer):
    kids = []
    listed = getattr(type(layer), "layers", None)
    try:
        kids = list(layer.layers) if listed is not None else []
    except Exception:  # a model whose layers are not known yet
        kids = []
    for t in getattr(layer, "_tracked_layers", []) or []:
        if all(t is not k for k in kids):
            kids.append(t)
    return [k for k in kids if k is not layer]


def weight_map(model):
    """Ordered ``{structural key: Variable}`` covering every variable of ``model`` exactly once."""
    out, seen_vars, seen_layers = {}, set(), set()

    def add(key, v):
        k, n = key, 1
        while k in out:
            k = f"{key}_{n}"
            n += 1
        out[k] = v
        seen_vars.add(id(v))

    def walk(layer, prefix):
        seen_layers.add(id(layer))
        for v in getattr(layer, "_own_weights", []) or []:
            if id(v) not in seen_vars:
                add(prefix + str(getattr(v, "name", None) or "variable"), v)
        counts = {}
        for child in _children(layer):
            if id(child) in seen_layers:
                continue  # a shared layer is saved once, where it first appears
            base = _snake(type(child).__name__)
            n = counts.get(base, 0)
            counts[base] = n + 1
            walk(child, f"{prefix}{base if n == 0 else f'{base}_{n}'}/")

    walk(model, "")
    for v in getattr(model, "weights", []) or []:  # anything held outside the layer tree
        if id(v) not in seen_vars:
            add("vars/" + str(getattr(v, "path", None) or getattr(v, "name", "variable")), v)
    return out


def weights_to_arrays(model):
    return {k: np.array(v.numpy(), copy=True) for k, v in weight_map(model).items()}


def assign_arrays(model, arrays, source, skip_mismatch=False):
    """Check names and shapes of ``arrays`` against ``model``'s variables, then assign them all."""
    owner = f"{type(model).__name__} '{getattr(model, 'name', '?')}'"
    wm = weight_map(model)
    if not wm and arrays:
        raise ValueError(f"{owner}: cannot load weights into a model with no variables; build the model first "
                         f"(call it on data, or build(input_shape)) so its weights exist")
    missing = [k for k in wm if k not in arrays]
    unexpected = [k for k in arrays if k not in wm]
    if (missing or unexpected) and not skip_mismatch:
        def show(keys):
            return ", ".join(f"{k!r}" + (f" ({wm[k].path})" if k in wm else "") for k in keys[:6]) + \
                   (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
        parts = []
        if missing:
            parts.append(f"missing from the file: {show(missing)}")
        if unexpected:
            parts.append(f"in the file but not in the model: {show(unexpected)}")
        raise ValueError(f"{owner}: weights in {source} do not match the model's variables ({'; '.join(parts)}). "
                         f"The model must have the same architecture as the one that was saved")
    todo = []
    for k, v in wm.items():
        if k not in arrays:
            continue
        a = arrays[k]
        if tuple(a.shape) != tuple(v.shape):
            if skip_mismatch:
                continue
            raise ValueError(f"{owner}: variable {k!r} ({v.path}) expected shape {tuple(v.shape)}, got "
                             f"{tuple(a.shape)} in {source}")
        if a.dtype.kind != "b" and np.dtype(v.dtype).kind in "iub" and a.dtype.kind == "f":
            raise ValueError(f"{owner}: variable {k!r} ({v.path}) has dtype {v.dtype}, the file holds {a.dtype}")
        todo.append((v, a))
    for v, a in todo:
        v.assign(a)
    return [k for k in wm if k not in arrays]


def _check_weights_name(filepath, fn):
    name = os.fspath(filepath)
    if name.endswith((".h5", ".hdf5")):
        stem = re.sub(r"(\.weights)?\.(h5|hdf5)$", "", name)
        raise ValueError(f"{fn}: HDF5 files ({name!r}) are not supported (nerve has no h5py dependency); use a "
                         f"name ending in '.weights.npz', e.g. {stem + '.weights.npz'!r}")
    if not name.endswith(".weights.npz"):
        raise ValueError(f"{fn}: the filepath must end in '.weights.npz' (nerve's weights format), got {name!r}")
    return name


def save_weights(model, filepath, overwrite=True):
    """Write every variable of ``model`` to ``filepath`` (``*.weights.npz``), atomically."""
    name = _check_weights_name(filepath, "save_weights")
    if not overwrite and os.path.exists(name):
        raise FileExistsError(f"save_weights: {name!r} exists and overwrite=False")
    data = file_io.npz_bytes(weights_to_arrays(model))
    file_io.atomic_write(name, lambda f: f.write(data))


def load_weights(model, filepath, skip_mismatch=False):
    """Load a ``*.weights.npz`` file (or the weights of a ``.keras`` archive) into ``model``."""
    name = os.fspath(filepath)
    if name.endswith(".keras"):
        members = file_io.read_zip(name, allowed=_keras_members(), required=[WEIGHTS_MEMBER], what="load_weights")
        arrays = file_io.load_npz(members[WEIGHTS_MEMBER], WEIGHTS_MEMBER, "load_weights")
    else:
        name = _check_weights_name(name, "load_weights")
        if not os.path.exists(name):
            raise FileNotFoundError(f"load_weights: no such file: {name!r}")
        if os.path.getsize(name) > file_io.MAX_ARRAYS_BYTES:
            raise ArchiveError(f"load_weights: {name!r} is over the size limit of {file_io.MAX_ARRAYS_BYTES} bytes")
        with open(name, "rb") as f:
            data = f.read()
        arrays = file_io.load_npz(data, os.path.basename(name), "load_weights")
    assign_arrays(model, arrays, repr(name), skip_mismatch=skip_mismatch)


def _keras_members():
    from .archive import ALLOWED_MEMBERS
    return ALLOWED_MEMBERS


def _remap_optimizer_state(state, arrays, mapping):
    def key(k):
        return mapping.get(k, k)

    def slot_key(k):
        path, sep, slot = k.rpartition("/")
        return f"{key(path)}/{slot}" if sep and path in mapping else key(k)
    state = dict(state)
    if isinstance(state.get("variables"), list):
        state["variables"] = [key(v) for v in state["variables"]]
    if isinstance(state.get("slots"), list):
        state["slots"] = [slot_key(s) for s in state["slots"]]
    return state, {slot_key(k): v for k, v in arrays.items()}


def optimizer_state_for_saving(model, opt):
    """``opt.get_state()`` with variable paths replaced by the structural keys of weights.py, so the state
    fits any model of the same architecture (layer names may differ, as for the weights)."""
    state, arrays = opt.get_state()
    mapping = {str(v.path): k for k, v in weight_map(model).items()}
    state, arrays = _remap_optimizer_state(state, arrays, mapping)
    state["key_space"] = "structural"
    return state, arrays


def optimizer_state_for_loading(model, state, arrays):
    """Inverse of ``optimizer_state_for_saving`` for ``model``: structural keys -> its variable paths."""
    if state.get("key_space") != "structural":
        return state, arrays
    mapping = {k: str(v.path) for k, v in weight_map(model).items()}
    state, arrays = _remap_optimizer_state(state, arrays, mapping)
    state.pop("key_space", None)
    return state, arrays
