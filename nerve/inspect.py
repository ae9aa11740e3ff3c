"""Looking inside conv nets (seed-002 §1.18 / §2.7): filters, feature maps, saliency.

- ``conv_filters(layer)``: the kernel as (kh, kw, in, filters), optionally min-max scaled to [0, 1] per
  filter for display.
- ``feature_maps(model, layer_name, x)``: the activations of any layer, through an intermediate-output
  model ``Model(model.inputs, model.get_layer(layer_name).output)`` (Keras's ``act_model``).
- ``saliency(model, x, class_index)``: d score_class / d x through the autograd engine (Simonyan et al.
  2013), the score being the model output (pre- or post-softmax as the model gives it).
"""
import numpy as np

from . import backend
from .autograd.tensor import tensor


def conv_filters(layer, normalize=False):
    """Kernel of a Conv1D/Conv2D/Conv2DTranspose layer as a NumPy array (Keras layout)."""
    kernel = getattr(layer, "kernel", None)
    if kernel is None or kernel.ndim < 3:
        raise ValueError(f"conv_filters: layer {getattr(layer, 'name', layer)!r} of type {type(layer).__name__} "
                         f"has no convolution kernel (build it first, or pass a Conv layer)")
    k = np.array(kernel.numpy(), copy=True)
    if normalize:  # each filter (last axis) to [0, 1]
        axes = tuple(range(k.ndim - 1))
        lo, hi = k.min(axis=axes, keepdims=True), k.max(axis=axes, keepdims=True)
        k = (k - lo) / np.where(hi > lo, hi - lo, 1)
    return k


def activation_model(model, layer_names):
    """A functional model from ``model``'s inputs to the outputs of the named layers."""
    from .models import Model
    names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
    outs = []
    for n in names:
        layer = model.get_layer(n)
        try:
            outs.append(layer.output)
        except AttributeError:
            raise ValueError(f"feature_maps: layer {n!r} has no symbolic output; build the model with "
                             f"nerve.Input (a functional or Sequential model with an input shape)") from None
    return Model(model.inputs, outs[0] if isinstance(layer_names, str) else outs)


def feature_maps(model, layer_name, x, batch_size=32):
    """Activations of layer(s) ``layer_name`` (a name or a list of names) for input ``x`` (NumPy)."""
    act = activation_model(model, layer_name)
    return act.predict(x, batch_size=batch_size, verbose=0)


def saliency(model, x, class_index, absolute=False):
    """Gradient of the summed class score output[:, class_index] with respect to the input batch x.
    Inference mode (dropout off, batch-norm moving statistics). Returns an array shaped like x."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(backend.floatx())
    xt = tensor(x, requires_grad=True)
    with backend.enable_grad():
        out = model(xt, training=False)
        if isinstance(out, (list, tuple)):
            raise ValueError("saliency: the model has several outputs; wrap it to return one")
        n_classes = out.shape[-1]
        if not -n_classes <= class_index < n_classes:
            raise ValueError(f"saliency: argument 'class_index' expected an index into the {n_classes} outputs, got "
                             f"{class_index!r}")
        score = out[..., class_index].sum()
        score.backward()
    g = xt.grad.numpy()
    return np.abs(g) if absolute else g
