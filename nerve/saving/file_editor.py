"""``KerasFileEditor``: inspect, edit and resave the weights of a ``.keras`` or ``.weights.npz`` file.

As in Keras 3, the weights are a nested dict by structural path: ``{"dense": {"kernel": array, "bias":
array}, "dense_1": {...}}`` (nerve's keys, see weights.py: class name in snake case with a counter among
siblings, then the variable's name; Keras' own ``.weights.h5`` files use ``layers/dense/vars/0`` instead).
Files are read only through the validated loaders of file_io (allow-listed members, size limits, numeric
npz arrays, ``allow_pickle=False``); the config is read as JSON data and nothing in it is resolved or
built. ``save`` writes atomically. nerve has no HDF5 support: ``.h5`` names raise a clear error.
"""
import datetime
import os
import warnings

import numpy as np

from . import file_io
from .archive import ALLOWED_MEMBERS, CONFIG_MEMBER, FORMAT_VERSION, METADATA_MEMBER, OPT_JSON, OPT_NPZ, \
    _validate_config
from .file_io import ArchiveError
from .weights import WEIGHTS_MEMBER, _check_weights_name, weight_map


def _check_path(filepath, fn):
    name = os.fspath(filepath) if isinstance(filepath, (str, os.PathLike)) else None
    if not isinstance(name, str):
        raise TypeError(f"{fn}: argument 'filepath' expected a str or os.PathLike, got {type(filepath).__name__}")
    if name.endswith(".keras"):
        return name
    if not name.endswith((".h5", ".hdf5", ".weights.npz")):
        raise ValueError(f"{fn}: invalid filepath {name!r}: expected a '.keras' or '.weights.npz' extension")
    return _check_weights_name(name, fn)  # '.h5': a clear "no HDF5 in nerve" error


def _check_name(name, fn, arg):
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValueError(f"{fn}: argument {arg!r} must be a non-empty name without '/', got {name!r}")
    return name


def _nest(flat, what):
    """``{"a/b/w": array}`` -> ``{"a": {"b": {"w": array}}}``; a key both weight and object is refused."""
    root = {}
    for key, value in flat.items():
        parts = key.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ArchiveError(f"{what}: weight key {key!r} has an empty or relative path component")
        node = root
        for i, p in enumerate(parts[:-1]):
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ArchiveError(f"{what}: {'/'.join(parts[:i + 1])!r} is both a weight and an object")
        if parts[-1] in node:
            raise ArchiveError(f"{what}: {key!r} is both a weight and an object")
        node[parts[-1]] = value
    return root


def _flatten(tree, prefix=""):
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}/"))
        else:
            out[prefix + k] = v
    return out


def _as_weights(weights, fn):
    """Validate a user ``{name: array or nested dict}``: numeric NumPy arrays under plain names."""
    if not isinstance(weights, dict):
        raise ValueError(f"{fn}: argument 'weights' should be a dict mapping weight names (e.g. 'kernel', "
                         f"'bias') to arrays, got {type(weights).__name__}")
    out = {}
    for name, value in weights.items():
        _check_name(name, fn, "weights")
        if isinstance(value, dict):
            out[name] = _as_weights(value, fn)
            continue
        a = np.array(value.numpy() if hasattr(value, "numpy") else value, copy=True)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{fn}: weight {name!r} must be a numeric array, got dtype {a.dtype}")
        out[name] = a
    return out


def _replace_key(d, old, new):
    """Rename ``d[old]`` to ``d[new]`` in place, keeping its position."""
    items = [(new if k == old else k, v) for k, v in d.items()]
    d.clear()
    d.update(items)


class KerasFileEditor:
    """Inspect, edit and resave a nerve ``.keras`` or ``.weights.npz`` file (Keras 3 API).

    Useful to adapt a saved file after changing a model's architecture::

        editor = KerasFileEditor("model.keras")
        editor.summary()                               # the weights, by layer path
        editor.compare(new_model)                      # what does not match new_model
        editor.rename_object("dense_1", "dense_2")     # a layer moved
        editor.add_object("dense_1", {"kernel": k, "bias": b})
        editor.save("edited.weights.npz")              # new_model.load_weights("edited.weights.npz")

    Attributes: ``filepath``; ``weights_dict`` (nested dict of NumPy arrays, editable); ``config`` and
    ``metadata`` (the JSON dicts of a ``.keras`` file, editable; ``None`` for a weights file).
    """

    def __init__(self, filepath):
        self.filepath = _check_path(filepath, "KerasFileEditor")
        self.config = self.metadata = None
        self._optimizer = None
        what = f"KerasFileEditor({self.filepath!r})"
        if self.filepath.endswith(".keras"):
            members = file_io.read_zip(self.filepath, allowed=ALLOWED_MEMBERS, what=what,
                                       required=(CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_MEMBER))
            self.metadata = file_io.parse_json(members[METADATA_MEMBER], METADATA_MEMBER, what)
            fv = self.metadata.get("format_version", FORMAT_VERSION)
            if not isinstance(fv, int) or fv > FORMAT_VERSION:
                raise ArchiveError(f"{what}: format_version {fv!r}; this nerve reads versions up to {FORMAT_VERSION}")
            self.config = file_io.parse_json(members[CONFIG_MEMBER], CONFIG_MEMBER, what)
            _validate_config(self.config, what)
            if (OPT_JSON in members) != (OPT_NPZ in members):
                raise ArchiveError(f"{what}: the file has only one of {OPT_JSON!r} and {OPT_NPZ!r}")
            if OPT_JSON in members:
                file_io.parse_json(members[OPT_JSON], OPT_JSON, what)
                file_io.load_npz(members[OPT_NPZ], OPT_NPZ, what)
                self._optimizer = {OPT_JSON: members[OPT_JSON], OPT_NPZ: members[OPT_NPZ]}
            data = members[WEIGHTS_MEMBER]
        else:
            if not os.path.exists(self.filepath):
                raise FileNotFoundError(f"{what}: no such file")
            if os.path.getsize(self.filepath) > file_io.MAX_ARRAYS_BYTES:
                raise ArchiveError(f"{what}: over the size limit of {file_io.MAX_ARRAYS_BYTES} bytes")
            with open(self.filepath, "rb") as f:
                data = f.read()
        flat = file_io.load_npz(data, WEIGHTS_MEMBER if self.config is not None else
                                os.path.basename(self.filepath), what)
        self._saved_spec = {k: a.shape for k, a in flat.items()}
        self.weights_dict = _nest(flat, what)
        print(f"Keras model file '{self.filepath}'")
        if self.metadata is not None:
            print(f"Saved with Keras {self.metadata.get('keras_version', '?')} (nerve "
                  f"{self.metadata.get('nerve_version', '?')}) - date: {self.metadata.get('date_saved', '?')}")

    # -- inspection -------------------------------------------------------------------------------------
    def summary(self):
        """Print the weight structure of the file: objects by path, each weight's shape and dtype."""
        lines = ["Weights structure"]

        def walk(tree, prefix):
            for i, (key, value) in enumerate(tree.items()):
                last = i == len(tree) - 1
                if isinstance(value, dict):
                    lines.append(f"{prefix}{'└─ ' if last else '├─ '}{key}")
                    walk(value, prefix + ("    " if last else "│   "))
                else:
                    lines.append(f"{prefix}{'└─ ' if last else '├─ '}{key}: shape={value.shape}, "
                                 f"dtype={value.dtype}")
        walk(self.weights_dict, "  ")
        print("\n".join(lines))

    def compare(self, reference_model):
        """Print every mismatch between the file and ``reference_model`` (missing or extra objects and
        weights, shape mismatches). Returns ``{"status": "success" or "error", "error_count", "match_count"}``."""
        from ..layers.layer import Layer
        if not isinstance(reference_model, Layer):
            raise TypeError(f"KerasFileEditor.compare: argument 'reference_model' expected a nerve Model or Layer, "
                            f"got {type(reference_model).__name__}")
        wm = weight_map(reference_model)
        if not wm and not getattr(reference_model, "built", True):
            raise ValueError("KerasFileEditor.compare: 'reference_model' is not built and has no variables; build it "
                             "first (call it on data, or build(input_shape))")
        ref = _nest(wm, "compare")
        print("Running comparison")
        errors, matches = 0, 0

        def kind(v):
            return "Object" if isinstance(v, dict) else "Weight"

        def walk(saved, model, path):
            nonlocal errors, matches
            for key in list(saved) + [k for k in model if k not in saved]:
                p = f"{path}/{key}" if path else key
                if key not in model or key not in saved:
                    (have, v), other = (("saved file", saved[key]), "reference model") if key in saved else \
                        (("reference model", model[key]), "saved file")
                    errors += 1
                    print(f"...{kind(v)} {p} present in {have}, missing from {other}")
                    if isinstance(v, dict):
                        print(f"    In {have}, {p} contains the following keys: {list(v)}")
                elif isinstance(saved[key], dict) and isinstance(model[key], dict):
                    walk(saved[key], model[key], p)
                elif isinstance(saved[key], dict) or isinstance(model[key], dict):
                    errors += 1
                    print(f"...{p} is an {kind(saved[key]).lower()} in saved file, an {kind(model[key]).lower()} "
                          f"in reference model")
                elif tuple(saved[key].shape) != tuple(model[key].shape):
                    errors += 1
                    print(f"...Weight shape mismatch for {p}\n    In reference model: shape={tuple(model[key].shape)}"
                          f"\n    In saved file: shape={tuple(saved[key].shape)}")
                else:
                    matches += 1
        walk(self.weights_dict, ref, "")
        print("─────────────────────")
        if errors:
            print(f"Found {errors} error{'s' * (errors != 1)}: saved file is not compatible with the reference model")
        else:
            print("Comparison successful: saved file is compatible with the reference model\n"
                  f"    Found {matches} matching weight{'s' * (matches != 1)}")
        return {"status": "error" if errors else "success", "error_count": errors, "match_count": matches}

    # -- editing ----------------------------------------------------------------------------------------
    def _paths(self, name, tree=None, prefix=""):
        tree = self.weights_dict if tree is None else tree
        out = [prefix + name] if name in tree else []
        for k, v in tree.items():
            if isinstance(v, dict):
                out += self._paths(name, v, f"{prefix}{k}/")
        return out

    def _locate(self, object_name, fn):
        """``(parent dict, key)`` of an object or weight given by full path or by a unique name."""
        if not isinstance(object_name, str) or not object_name:
            raise ValueError(f"{fn}: argument 'object_name' must be a non-empty name or path, got {object_name!r}")
        if "/" in object_name:
            parts, node = object_name.split("/"), self.weights_dict
            for p in parts[:-1]:
                node = node.get(p) if isinstance(node, dict) else None
            if not isinstance(node, dict) or parts[-1] not in node:
                raise ValueError(f"{fn}: path {object_name!r} not found in the file; top-level objects: "
                                 f"{list(self.weights_dict)} (editor.summary() lists all)")
            return node, parts[-1]
        paths = self._paths(object_name)
        if not paths:
            raise ValueError(f"{fn}: name {object_name!r} does not appear in the file; use editor.summary() to list "
                             f"all objects")
        if len(paths) > 1:
            raise ValueError(f"{fn}: name {object_name!r} occurs {len(paths)} times ({', '.join(paths)}); pass a "
                             f"complete path")
        return self._locate(paths[0], fn) if "/" in paths[0] else (self.weights_dict, object_name)

    def _locate_object(self, object_name, fn):
        parent, key = self._locate(object_name, fn)
        if not isinstance(parent[key], dict):
            raise ValueError(f"{fn}: {object_name!r} is a weight, not an object (a layer); pass the object holding it")
        return parent[key]

    def rename_object(self, object_name, new_name):
        """Rename an object (a layer) or a weight: ``object_name`` is a unique name (``"dense_2"``) or a full
        path (``"sequential/dense_2"``); ``new_name`` is a leaf name."""
        _check_name(new_name, "rename_object", "new_name")
        parent, key = self._locate(object_name, "rename_object")
        if new_name != key and new_name in parent:
            raise ValueError(f"rename_object: cannot rename {object_name!r} to {new_name!r}: {new_name!r} already "
                             f"exists there (delete_object it first)")
        _replace_key(parent, key, new_name)

    def delete_object(self, object_name):
        """Remove an object (a layer, with all its weights) given by unique name or full path."""
        parent, key = self._locate(object_name, "delete_object")
        del parent[key]

    def add_object(self, object_path, weights):
        """Add a new object at ``object_path`` (``"dense_3"`` or ``"sequential/dense_3"``, its parent must
        exist) with ``weights``, a dict of weight names to arrays (``{"kernel": k, "bias": b}``)."""
        weights = _as_weights(weights, "add_object")
        if not isinstance(object_path, str) or not object_path:
            raise ValueError(f"add_object: argument 'object_path' must be a non-empty path, got {object_path!r}")
        *head, leaf = object_path.split("/")
        _check_name(leaf, "add_object", "object_path")
        parent = self.weights_dict
        for i, p in enumerate(head):
            parent = parent.get(p) if isinstance(parent, dict) else None
            if not isinstance(parent, dict):
                raise ValueError(f"add_object: parent path {'/'.join(head[:i + 1])!r} of {object_path!r} is not an "
                                 f"object in the file; top-level objects: {list(self.weights_dict)}")
        if leaf in parent:
            raise ValueError(f"add_object: {object_path!r} already exists (delete_object it first, or use "
                             f"add_weights to add weights to it)")
        parent[leaf] = weights

    def delete_weight(self, object_name, weight_name):
        """Remove the weight ``weight_name`` (e.g. ``"bias"``) from an object given by unique name or path."""
        obj = self._locate_object(object_name, "delete_weight")
        if weight_name not in obj or isinstance(obj[weight_name], dict):
            raise ValueError(f"delete_weight: weight {weight_name!r} not found in object {object_name!r}; weights "
                             f"found: {[k for k, v in obj.items() if not isinstance(v, dict)]}")
        del obj[weight_name]

    def add_weights(self, object_name, weights):
        """Add new weights, a dict of names to arrays, to an existing object given by unique name or path."""
        weights = _as_weights(weights, "add_weights")
        obj = self._locate_object(object_name, "add_weights")
        clash = [k for k in weights if k in obj]
        if clash:
            raise ValueError(f"add_weights: object {object_name!r} already has {clash} (delete_weight them first)")
        obj.update(weights)

    # -- saving -----------------------------------------------------------------------------------------
    def save(self, filepath):
        """Write the edited file, atomically: ``*.weights.npz`` (the weights, for ``load_weights``) or, for a
        file opened from a ``.keras``, ``*.keras`` (``config``, ``metadata`` and the edited weights, for
        ``load_model``). The optimizer state is kept only while the weights' paths and shapes are unchanged."""
        name = _check_path(filepath, "save")
        flat = _flatten(self.weights_dict)
        if name.endswith(".weights.npz"):
            data = file_io.npz_bytes(flat)
            file_io.atomic_write(name, lambda f: f.write(data))
            return
        if self.config is None:
            raise ValueError(f"save: {name!r} is a '.keras' file, but {self.filepath!r} is a weights file with no "
                             f"model config; save to a '.weights.npz' name")
        if not isinstance(self.config, dict) or not isinstance(self.metadata, dict):
            raise TypeError("save: editor.config and editor.metadata must be dicts")
        _validate_config(self.config, "save")
        meta = dict(self.metadata, date_saved=datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"))
        members = {CONFIG_MEMBER: file_io.json_dumps(self.config), METADATA_MEMBER: file_io.json_dumps(meta),
                   WEIGHTS_MEMBER: file_io.npz_bytes(flat)}
        if self._optimizer:
            if {k: a.shape for k, a in flat.items()} == self._saved_spec:
                members.update(self._optimizer)
            else:
                warnings.warn(f"save: the weights were edited, so the optimizer state of {self.filepath!r} no longer "
                              f"matches them; {name!r} is saved without it (a fresh optimizer on load)", stacklevel=2)
        file_io.write_zip(name, members)

    def resave_weights(self, filepath):
        """Write only the edited weights, atomically, to a ``*.weights.npz`` file (for ``load_weights``)."""
        name = _check_path(filepath, "resave_weights")
        if not name.endswith(".weights.npz"):
            raise ValueError(f"resave_weights: expected a '.weights.npz' filepath, got {name!r} (use save() to write "
                             f"a '.keras' file)")
        self.save(name)
