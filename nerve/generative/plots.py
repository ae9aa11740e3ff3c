"""PNG figures for the generative models (matplotlib, Agg backend; no display needed).

Every function writes ``path`` and returns it. Images are arrays of shape (n, H, W), (n, H, W, C) or
flat (n, H*W) with ``image_shape`` given.
"""
import numpy as np

from ..evaluation.plots import as_images


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _images(x, image_shape=None):
    return as_images(np.asarray(x, dtype=np.float64), "plots", image_shape)


def _show(ax, img):
    ax.imshow(np.clip(img, 0, 1) if img.ndim == 3 else img, cmap=None if img.ndim == 3 else "gray")
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig, path):
    plt = _plt()
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_reconstructions(originals, reconstructions, path, n=10, image_shape=None, noisy=None,
                         titles=("original", "noisy", "reconstructed")):
    """Rows: originals, (optional) noisy inputs, reconstructions; ``n`` columns."""
    plt = _plt()
    rows = [_images(originals[:n], image_shape)]
    names = [titles[0]]
    if noisy is not None:
        rows.append(_images(noisy[:n], image_shape))
        names.append(titles[1])
    rows.append(_images(reconstructions[:n], image_shape))
    names.append(titles[2])
    n = min(n, len(rows[0]))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.2 * n, 1.3 * len(rows)), squeeze=False)
    for r, (imgs, name) in enumerate(zip(rows, names)):
        for c in range(n):
            _show(axes[r, c], imgs[c])
        axes[r, 0].set_ylabel(name, fontsize=8)
    return _save(fig, path)


def plot_image_grid(images, path, rows=None, cols=None, image_shape=None, title=None):
    """A rows x cols grid of images (generated samples, Gibbs chains, a VAE latent grid of shape (n, n, ...))."""
    plt = _plt()
    images = np.asarray(images)
    if rows is None and cols is None and images.ndim >= 4 and image_shape is None and images.shape[-1] not in (1, 3):
        rows, cols = images.shape[:2]  # (n, n, H, W) from VAE.latent_grid
        images = images.reshape((rows * cols,) + images.shape[2:])
    imgs = _images(images, image_shape)
    n = len(imgs)
    if rows is None and cols is None:
        cols = int(np.ceil(np.sqrt(n)))
    if rows is None:
        rows = int(np.ceil(n / cols))
    if cols is None:
        cols = int(np.ceil(n / rows))
    fig, axes = plt.subplots(rows, cols, figsize=(cols, rows), squeeze=False)
    for i in range(rows * cols):
        ax = axes[i // cols, i % cols]
        if i < n:
            _show(ax, imgs[i])
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_generated_samples(generator_or_images, path, n=100, rows=None, cols=None, image_shape=None, seed=None,
                           title=None):
    """Grid of generated samples: a GAN/VAE (``generate(n, seed=...)``) or an array of images."""
    g = generator_or_images
    images = g.generate(n, seed=seed) if hasattr(g, "generate") else np.asarray(g)[:n]
    return plot_image_grid(images, path, rows, cols, image_shape, title)


def plot_latent_scatter(z, path, labels=None, title="Latent space", xlabel="$z_1$", ylabel="$z_2$",
                        cmap="tab10", s=5.0, alpha=0.75):
    """2-D scatter of codes coloured by label (the book's latent figures)."""
    plt = _plt()
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"plot_latent_scatter: expected codes of shape (n, >= 2), got {z.shape}")
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(z[:, 0], z[:, 1], c=labels, s=s, alpha=alpha, cmap=cmap if labels is not None else None)
    if labels is not None:
        fig.colorbar(sc, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _save(fig, path)


def plot_rbm_filters(components, path, image_shape=None, n=100, cols=10, title="RBM filters"):
    """Each hidden unit's weights (a row of ``components_``) as an image."""
    w = np.asarray(components)[:n]
    imgs = _images(w, image_shape)
    lo = imgs.reshape(len(imgs), -1).min(1)[:, None, None]
    hi = imgs.reshape(len(imgs), -1).max(1)[:, None, None]
    imgs = (imgs - lo) / np.maximum(hi - lo, 1e-12)  # per-filter contrast stretch
    return plot_image_grid(imgs, path, cols=min(cols, len(imgs)), title=title)


def plot_anomaly_histogram(errors, path, threshold=None, bins=50, title="Reconstruction error"):
    """Histogram of per-sample reconstruction errors with the threshold as a vertical line."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(np.asarray(errors), bins=bins, color="#648fff")
    if threshold is not None:
        ax.axvline(threshold, color="#dc267f", linestyle="--", label=f"threshold {threshold:.4g}")
        ax.legend()
    ax.set_title(title)
    ax.set_xlabel("reconstruction error")
    ax.set_ylabel("count")
    return _save(fig, path)


def plot_gan_history(history, path, title="GAN training"):
    """Discriminator loss / accuracy and generator loss per iteration (``GAN.train`` output or a History)."""
    plt = _plt()
    h = getattr(history, "history", history)
    keys = [("dloss", "d_loss"), ("gloss", "g_loss"), ("dacc", "d_acc")]
    fig, ax = plt.subplots(figsize=(7, 4))
    for a, b in keys:
        vals = h.get(a, h.get(b))
        if vals is not None:
            ax.plot(vals, label=b)
    ax.set_xlabel("iteration")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)
