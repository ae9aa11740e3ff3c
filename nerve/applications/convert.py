"""Convert weights from Keras files and PyTorch state dicts into a nerve model (h5py and torch optional).

Usage (convert once, then keep a nerve archive; no pickle is ever read)::

    from nerve.applications import VGG16, convert
    model = VGG16()                                      # same architecture as the source
    convert.load_keras_weights(model, "vgg16.keras")      # Keras 3 .keras / .weights.h5, or legacy .h5
    # or, from torchvision-like modules with the same layer order:
    convert.load_torch_state_dict(model, torch_module.state_dict())
    model.save_weights("vgg16.weights.npz")              # then VGG16(weights="vgg16.weights.npz")

Layouts (nerve uses Keras's):
- Conv2d weight (out, in, kh, kw) -> kernel (kh, kw, in, out); Conv1d (out, in, k) -> (k, in, out);
  ConvTranspose2d (in, out, kh, kw) -> (kh, kw, out, in); Linear (out, in) -> (in, out).
- A Linear that follows a flatten of an (H, W, C) feature map: PyTorch flattened (C, H, W), so its
  input columns are permuted to (H, W, C) order.
- BatchNorm weight/bias/running_mean/running_var -> gamma/beta/moving_mean/moving_variance.
PyTorch modules are matched to the nerve layers that own weights, in order; Keras layers by the
position-based keys Keras 3 writes (``layers/conv2d_1/vars/0``) or, for legacy .h5 files, by layer name.
"""
import io
import zipfile

import numpy as np

from ..layers.layer import to_snake_case


def weight_layers(model):
    """The layers that own weights, depth first in model order (nested models expanded)."""
    out = []
    for layer in model.layers:
        if getattr(layer, "layers", None) and layer._tracked_layers and not layer._own_weights:
            out.extend(weight_layers(layer))
        elif layer.weights:
            out.append(layer)
    return out


def _flatten_feeds(model):
    """Names of Dense layers whose input is a Flatten of a rank-4 (H, W, C) tensor -> that (H, W, C)."""
    feeds, prev = {}, None
    for layer in model.layers:
        cls = type(layer).__name__
        if cls == "Dense" and prev is not None:
            feeds[layer.name] = prev
        prev = None
        if cls == "Flatten":
            try:
                shape = layer.input_shape
            except AttributeError:
                shape = getattr(layer, "_build_shapes", None)
            if shape is not None and len(shape) == 4:
                prev = tuple(shape[1:])
    return feeds


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _group_state_dict(state_dict):
    """Ordered {module prefix: {suffix: array}} (buffers like num_batches_tracked dropped)."""
    groups = {}
    for key, value in state_dict.items():
        prefix, _, suffix = key.rpartition(".")
        if suffix == "num_batches_tracked":
            continue
        groups.setdefault(prefix, {})[suffix] = _np(value)
    return groups


def torch_to_keras(layer, params, flatten_hwc=None):
    """The arrays for ``layer.weights`` (in order) from one PyTorch module's parameters."""
    cls = type(layer).__name__
    by_name = {}
    if "weight" in params:
        w = params["weight"]
        if cls in ("Conv2D",):
            by_name["kernel"] = w.transpose(2, 3, 1, 0)
        elif cls == "Conv1D":
            by_name["kernel"] = w.transpose(2, 1, 0)
        elif cls == "Conv2DTranspose":
            by_name["kernel"] = w.transpose(2, 3, 1, 0)
        elif cls == "Dense":
            if flatten_hwc is not None:
                h, wd, c = flatten_hwc
                w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
            by_name["kernel"] = w.T
        elif cls in ("BatchNormalization", "LayerNormalization"):
            by_name["gamma"] = w
        elif cls == "Embedding":
            by_name["embeddings"] = w
        else:
            raise ValueError(f"convert: no PyTorch mapping for layer {layer.name!r} of type {cls}")
    if "bias" in params:
        by_name["beta" if cls in ("BatchNormalization", "LayerNormalization") else "bias"] = params["bias"]
    if "running_mean" in params:
        by_name["moving_mean"] = params["running_mean"]
        by_name["moving_variance"] = params["running_var"]
    out = []
    for w in layer.weights:
        if w.name not in by_name:
            raise ValueError(f"convert: layer {layer.name!r} ({cls}) weight {w.name!r} has no PyTorch counterpart "
                             f"among {sorted(params)}")
        a = by_name[w.name]
        if tuple(a.shape) != tuple(w.shape):
            raise ValueError(f"convert: layer {layer.name!r} weight {w.name!r} expected shape {tuple(w.shape)}, "
                             f"the PyTorch tensor gives {tuple(a.shape)}")
        out.append(np.ascontiguousarray(a, dtype=w.dtype))
    return out


def load_torch_state_dict(model, state_dict):
    """Copy a PyTorch ``state_dict`` (tensors or arrays) into ``model``; modules are matched in order to the
    layers that own weights. Returns the model."""
    groups = list(_group_state_dict(state_dict).items())
    targets = weight_layers(model)
    if len(groups) != len(targets):
        raise ValueError(f"convert: the state dict has {len(groups)} parameterised modules "
                         f"({[g for g, _ in groups]}) but model '{model.name}' has {len(targets)} layers with "
                         f"weights ({[t.name for t in targets]})")
    feeds = _flatten_feeds(model)
    arrays = [torch_to_keras(layer, params, feeds.get(layer.name)) for layer, (_, params) in zip(targets, groups)]
    for layer, ws in zip(targets, arrays):
        layer.set_weights(ws)
    return model


# ---------------------------------------------------------------------------------------------- Keras files
def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("convert: reading Keras .keras/.h5 files needs h5py (pip install h5py); it is an "
                          "optional dependency of nerve") from None
    return h5py


def _open_h5(path):
    h5py = _h5py()
    if zipfile.is_zipfile(path):  # Keras 3 .keras archive: config.json + model.weights.h5
        with zipfile.ZipFile(path) as z:
            return h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    return h5py.File(path, "r")


def _keras3_keys(model, prefix="layers"):
    """Keras 3 weight-file keys: per container, snake-case class name + a counter, in model.layers order."""
    keys, used = [], {}
    for layer in model.layers:
        base = to_snake_case(type(layer).__name__)
        n = used.get(base, 0)
        used[base] = n + 1
        key = f"{prefix}/{base}" + (f"_{n}" if n else "")
        if getattr(layer, "layers", None) and layer._tracked_layers and not layer._own_weights:
            keys.extend(_keras3_keys(layer, key + "/layers"))
        elif layer.weights:
            keys.append((layer, key))
    return keys


def load_keras_weights(model, path):
    """Copy the weights of a Keras file (``.keras``, ``.weights.h5`` or legacy Keras 2 ``.h5``) into ``model``,
    which must have the same architecture. Returns the model."""
    with _open_h5(path) as f:
        if "layers" in f:  # Keras 3
            for layer, key in _keras3_keys(model):
                if key + "/vars" not in f:
                    raise ValueError(f"convert: {path}: no weights under {key!r} for layer {layer.name!r}")
                g = f[key + "/vars"]
                layer.set_weights([np.asarray(g[str(i)]) for i in range(len(g))])
            return model
        root = f["model_weights"] if "model_weights" in f else f
        names = [n.decode() if isinstance(n, bytes) else n for n in root.attrs.get("layer_names", [])]
        for layer in weight_layers(model):
            if layer.name not in names:
                raise ValueError(f"convert: {path}: no layer named {layer.name!r} (the file has {names})")
            g = root[layer.name]
            wn = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
            layer.set_weights([np.asarray(g[n]) for n in wn])
    return model
