"""Data for the recipes: offline first, small subsets in quick mode, stand-ins named in the output."""
import numpy as np

from ..datasets import DatasetError
from ._base import RecipeUnavailable


def _subset(x, y, n, seed=0):
    """A class-balanced-ish random subset of n rows (all rows when n is None or >= len)."""
    if n is None or n >= len(x):
        return x, y
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx], y[idx]


def fashion(ctx, n_train=None, n_test=None, quick_train=600, quick_test=300, flat=False):
    """Fashion-MNIST scaled to [0, 1] (float32), labels int64; the full Debian set when present, else the
    embedded subset. Images (N, 28, 28, 1) or flat (N, 784)."""
    from ..datasets import fashion_mnist
    if ctx.quick:  # quick mode: the embedded subset (fast to read, the same on every machine)
        arrays, source = fashion_mnist.load_embedded()
        (xtr, ytr), (xte, yte) = (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
        source += ", quick mode"
    else:
        (xtr, ytr), (xte, yte), source = fashion_mnist.load_data(allow_embedded=True, return_source=True,
                                                                 verbose=False)
    ctx.set(data_source=f"Fashion-MNIST {source}")
    ctx.log(f"  Fashion-MNIST: {source}")
    xtr, ytr = _subset(xtr, ytr, ctx.pick(n_train, quick_train), seed=1)
    xte, yte = _subset(xte, yte, ctx.pick(n_test, quick_test), seed=2)
    ctx.set(n_train=len(xtr), n_test=len(xte))

    def prep(x):
        x = x.astype("float32") / 255.0
        return x.reshape(len(x), -1) if flat else x[..., None]
    return (prep(xtr), ytr.astype("int64")), (prep(xte), yte.astype("int64"))


def mnist_or_fashion(ctx, flat=False, **kw):
    """MNIST when a local copy exists (never downloaded in quick mode); else Fashion-MNIST, and say so."""
    from ..datasets import mnist
    try:
        (xtr, ytr), (xte, yte) = mnist.load_data(download=False)
    except DatasetError:
        ctx.note("MNIST is not available offline: running on Fashion-MNIST instead (same shapes, 10 classes; "
                 "Fashion-MNIST is harder, so expect accuracies ~8-10 points below the book's MNIST figures)")
        return fashion(ctx, flat=flat, **kw)
    ctx.set(data_source="MNIST (local copy)")
    xtr, ytr = _subset(xtr, ytr, ctx.pick(kw.get("n_train"), kw.get("quick_train", 600)), seed=1)
    xte, yte = _subset(xte, yte, ctx.pick(kw.get("n_test"), kw.get("quick_test", 300)), seed=2)
    ctx.set(n_train=len(xtr), n_test=len(xte))

    def prep(x):
        x = x.astype("float32") / 255.0
        return x.reshape(len(x), -1) if flat else x[..., None]
    return (prep(xtr), ytr.astype("int64")), (prep(xte), yte.astype("int64"))


def table(ctx, module_name, loader=None):
    """A seed data table (hitters, heart_disease, twitter_sentiment, ...) or a clear RecipeUnavailable."""
    import importlib
    mod = importlib.import_module(f"nerve.datasets.{module_name}")
    try:
        data = (loader or mod.load_data)(download=not ctx.quick)
    except DatasetError as e:
        raise RecipeUnavailable(f"{ctx.recipe.name}: data set '{module_name}' is not available here "
                                f"({str(e).splitlines()[0]}). Copy it into a directory named by NERVE_DATA_DIR "
                                f"(see shared/data/README.md) or connect to the network.") from e
    src = getattr(mod, "last_source", None)
    ctx.set(data_source=f"{module_name}" + (f" ({src})" if src else ""))
    return data


def cifar10_or_standin(ctx):
    """CIFAR-10 when a local copy exists; else a clear message and Fashion-MNIST (the nearest offline stand-in)."""
    from ..datasets import cifar10
    try:
        (xtr, ytr), (xte, yte) = cifar10.load_data(download=False)
    except DatasetError:
        ctx.note("CIFAR-10 is not available offline (put cifar-10-binary.tar.gz in $NERVE_HOME/datasets/cifar10 "
                 "or NERVE_DATA_DIR): running on Fashion-MNIST, padded to 32x32 and repeated to 3 channels, "
                 "as the nearest offline stand-in; the book's CIFAR figure is not comparable")
        (xtr, ytr), (xte, yte) = fashion(ctx, n_train=None, n_test=None)
        pad = ((0, 0), (2, 2), (2, 2), (0, 0))
        return (np.repeat(np.pad(xtr, pad), 3, -1), ytr), (np.repeat(np.pad(xte, pad), 3, -1), yte), False
    ctx.set(data_source="CIFAR-10 (local copy)")
    xtr, ytr = _subset(xtr, ytr.ravel(), ctx.pick(None, 600), seed=1)
    xte, yte = _subset(xte, yte.ravel(), ctx.pick(None, 300), seed=2)
    ctx.set(n_train=len(xtr), n_test=len(xte))
    return (xtr.astype("float32") / 255, ytr.astype("int64")), (xte.astype("float32") / 255, yte.astype("int64")), True
