"""Plots (matplotlib, headless): history, confusion matrix, ROC, 2-D latent scatter, image grids, filters and
feature maps. Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas, never pyplot, so nothing
needs a display and no global state changes. Every function returns the Figure; with ``path`` it also writes
a PNG there (parent directories created) and returns the Figure all the same.
"""
import os

import numpy as np

from ._deps import require


def _figure(figsize):
    require("matplotlib", "nerve.evaluation.plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi=100):
    if path is not None:
        path = os.fspath(path)
        d = os.path.dirname(os.path.abspath(path))
        os.makedirs(d, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi)
    return fig


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def as_images(x, owner, image_shape=None):
    """Images (n, H, W) or (n, H, W, C) from rows reshaped to ``image_shape``, flattened squares (n, H*W) or
    image arrays; a trailing channel axis of 1 is dropped (shared with nerve.generative.plots)."""
    if image_shape is not None:
        x = x.reshape((len(x),) + tuple(image_shape))
    elif x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            hint = "" if owner == "plot_images" else "; pass image_shape"
            raise ValueError(f"{owner}: cannot reshape rows of length {x.shape[1]} into square images{hint}")
        x = x.reshape(-1, side, side)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    return x


def plot_history(history, path=None, metrics=None, title=None):
    """Training vs validation curves per epoch, one panel per metric (loss first), like R keras' ``plot(history)``.

    history: a ``History`` (``.history`` dict and ``.epoch``) or a dict {key: per-epoch values};
    metrics: the keys to draw (default every key without the ``val_`` prefix; ``val_<key>`` is overlaid).
    """
    h = getattr(history, "history", history)
    if not isinstance(h, dict) or not h:
        raise ValueError("plot_history: argument 'history' must be a History or a non-empty dict of per-epoch lists")
    keys = [k for k in h if not k.startswith("val_")] or [k[4:] for k in h]
    if metrics is not None:
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in metrics if m not in h and "val_" + m not in h]
        if unknown:
            raise ValueError(f"plot_history: unknown metrics {unknown}; the history has {sorted(h)}")
        keys = metrics
    keys = sorted(keys, key=lambda k: (k != "loss", list(h).index(k) if k in h else 0))
    fig = _figure((6, 2.6 * len(keys)))
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)[:, 0]
    epochs = list(getattr(history, "epoch", None) or [])
    for ax, k in zip(axes, keys):
        for key, label, style in ((k, "training", "o-"), ("val_" + k, "validation", "s--")):
            if key in h:
                y = np.asarray(h[key], float)
                x = np.asarray(epochs[:len(y)]) + 1 if len(epochs) >= len(y) else np.arange(1, len(y) + 1)
                ax.plot(x, y, style, markersize=3, label=label)
        ax.set_ylabel(k)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    axes[-1].set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_confusion_matrix(cm, labels=None, path=None, normalize=False, title="Confusion matrix", cmap="Blues"):
    """Heatmap of a confusion matrix (rows = true, columns = predicted); ``cm`` is counts or a ConfusionMatrix."""
    if hasattr(cm, "matrix"):
        labels = labels if labels is not None else cm.labels
        cm = cm.matrix
    m = _np(cm).astype(float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {m.shape}")
    k = len(m)
    labels = [str(x) for x in (labels if labels is not None else range(k))]
    if normalize:
        rows = m.sum(1, keepdims=True)
        m = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    fig = _figure((1.2 + 0.55 * k, 1.0 + 0.5 * k))
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap=cmap)
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(k), labels, rotation=45 if k > 5 else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if k <= 20:
        hi = m.max() if m.size else 0
        for i in range(k):
            for j in range(k):
                txt = f"{m[i, j]:.2f}" if normalize else f"{int(m[i, j])}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > hi / 2 else "black")
    return _save(fig, path)


def plot_roc(y_true=None, scores=None, roc=None, path=None, title="ROC curve"):
    """ROC curve with its AUC and the Youden-optimal threshold marked; pass labels and scores or a ``ROC``."""
    if roc is None:
        from .roc import roc_curve
        roc = roc_curve(y_true, scores)
    fig = _figure((4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot(roc.fpr, roc.tpr, label=f"AUC = {roc.auc:.4f}")
    ax.plot([0, 1], [0, 1], ":", color="gray")
    b = roc.best_index
    ax.plot(roc.fpr[b], roc.tpr[b], "o", color="red", label=f"best threshold {roc.best_threshold:.3g}")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_latent(z, labels=None, path=None, title="Latent space", xlabel="First encoder dimension",
                ylabel="Second encoder dimension", marginals=False):
    """Scatter of 2-D codes coloured by label (seed-001-part2 Figs 8.16, 9.5, 13); ``marginals`` adds histograms."""
    z = _np(z).astype(float)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"plot_latent: argument 'z' must have shape (n, 2), got {z.shape}")
    fig = _figure((6, 5.5))
    if marginals:
        gs = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4))
        ax = fig.add_subplot(gs[1, 0])
        fig.add_subplot(gs[0, 0], sharex=ax).hist(z[:, 0], bins=40, color="gray")
        fig.add_subplot(gs[1, 1], sharey=ax).hist(z[:, 1], bins=40, orientation="horizontal", color="gray")
    else:
        ax = fig.add_subplot()
    c = None if labels is None else _np(labels).reshape(-1)
    sc = ax.scatter(z[:, 0], z[:, 1], c=c, s=4, cmap="tab10" if c is not None and len(np.unique(c)) <= 10
                    else "viridis")
    if c is not None:
        fig.colorbar(sc, ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _save(fig, path)


def plot_images(images, labels=None, path=None, ncols=10, cmap="gray", title=None, class_names=None):
    """Grid of images (n, H, W), (n, H, W, 1|3) or flattened squares (n, H*W), with optional labels."""
    x = as_images(_np(images), "plot_images")
    if x.ndim not in (3, 4) or len(x) == 0:
        raise ValueError(f"plot_images: expected images (n, H, W[, C]), got shape {x.shape}")
    n = len(x)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = _figure((1.1 * ncols, 1.2 * nrows + (0.4 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            img = x[i]
            if img.ndim == 3 and img.dtype.kind == "f" and (img.min() < 0 or img.max() > 1):
                img = (img - img.min()) / (np.ptp(img) or 1)
            ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
            if labels is not None:
                lab = _np(labels)[i]
                lab = class_names[int(lab)] if class_names is not None else lab
                ax.set_title(str(lab), fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_filters(kernel, path=None, channel=0, ncols=8, title="Filters", cmap="gray"):
    """Convolution kernels (kh, kw, in_channels, filters) (Keras layout; a layer's ``kernel`` or weights list)
    drawn one image per filter for input ``channel`` (or as RGB when in_channels == 3 and channel='rgb')."""
    if hasattr(kernel, "get_weights"):
        kernel = kernel.get_weights()[0]
    k = _np(kernel).astype(float)
    if k.ndim != 4:
        raise ValueError(f"plot_filters: expected a kernel of shape (kh, kw, in, filters), got {k.shape}")
    imgs = k.transpose(3, 0, 1, 2)
    imgs = imgs if (channel == "rgb" and k.shape[2] == 3) else imgs[..., int(channel)]
    lo, hi = imgs.min(), imgs.max()
    imgs = (imgs - lo) / ((hi - lo) or 1)
    return plot_images(imgs, path=path, ncols=ncols, cmap=cmap, title=title,
                       labels=None)


def plot_feature_maps(maps, path=None, ncols=8, max_maps=64, title="Feature maps", cmap="viridis"):
    """Activations of one sample, (H, W, C) or (1, H, W, C): one panel per channel (at most ``max_maps``)."""
    a = _np(maps).astype(float)
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise ValueError(f"plot_feature_maps: pass the maps of one sample, got batch {a.shape[0]}")
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"plot_feature_maps: expected (H, W, C) or (1, H, W, C), got {a.shape}")
    return plot_images(a.transpose(2, 0, 1)[:max_maps], path=path, ncols=ncols, cmap=cmap, title=title)
