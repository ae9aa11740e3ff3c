"""``nerve demo``: train the 2-conv CNN on Fashion-MNIST, print the test accuracy, write a run directory.

Data: the full Fashion-MNIST set when it is installed (Debian's ``/usr/share/datasets/fashion-mnist``, the
nerve cache or ``NERVE_DATA_DIR``), else the 10,000 / 2,000 subset embedded in nerve; the demo says which.
To stay within a few minutes on 2 CPU cores it trains on 20,000 training images (``--train``; all 10,000 of
the embedded subset) for 2 epochs (``--epochs``) and tests on the whole test set. Network (shared/bench/peers, the ``fashion_cnn`` recipe):
Conv2D(32,3,relu) - MaxPool - Conv2D(64,3,relu) - MaxPool - Flatten - Dense(128,relu) - Dense(10), Adam 1e-3,
batch 128, cross-entropy on the logits. The run directory gets config.json, history.csv, metrics.json,
history.png, confusion_matrix.png, samples.png and report.html.

``nerve demo --spirals`` runs the engine-only two-spirals MLP instead (nerve/demo_spirals.py).
"""
import time

import numpy as np

import nerve
from . import workbench

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")


def _stats(y_true, y_pred):
    """Accuracy, kappa and the exact 95% CI (caret's statistics; without SciPy only accuracy and kappa)."""
    try:
        from .evaluation import ConfusionMatrix
        o = ConfusionMatrix(y_true, y_pred, labels=list(range(10))).overall
        return {"test_accuracy": float(o["Accuracy"]), "kappa": float(o["Kappa"]),
                "accuracy_ci95": [float(o["AccuracyLower"]), float(o["AccuracyUpper"])]}
    except ImportError:  # SciPy is an optional extra (nerve[sklearn])
        m = np.zeros((10, 10))
        np.add.at(m, (y_true, y_pred), 1)
        po, pe = np.trace(m) / m.sum(), (m.sum(0) @ m.sum(1)) / m.sum() ** 2
        return {"test_accuracy": float(po), "kappa": float((po - pe) / (1 - pe))}


def run(epochs=2, n_train=20000, seed=0, out=None, verbose=1, n_test=None, log=print):
    """Train the CNN and write the run directory; returns (test accuracy, run directory path)."""
    from . import layers as L
    from .datasets import fashion_mnist
    from .losses import SparseCategoricalCrossentropy
    from .models import Sequential
    from .optimizers import Adam

    nerve.set_random_seed(seed)
    (xtr, ytr), (xte, yte), source = fashion_mnist.load_data(allow_embedded=True, return_source=True,
                                                             verbose=False)
    full = source.startswith("full")
    log("nerve demo: Fashion-MNIST, using the " + (f"full set ({source[6:]})" if full else source))
    if not full:
        log("  (install Debian's dataset-fashion-mnist, or run `make dataset`, for the full 60,000 / 10,000 set)")
    rng = np.random.default_rng(seed)
    if n_train and n_train < len(xtr):
        idx = rng.permutation(len(xtr))[:n_train]
        xtr, ytr = xtr[idx], ytr[idx]
    if n_test and n_test < len(xte):
        idx = rng.permutation(len(xte))[:n_test]
        xte, yte = xte[idx], yte[idx]
    xtr, xte = (x.astype("float32")[..., None] / 255.0 for x in (xtr, xte))
    ytr, yte = ytr.astype("int64"), yte.astype("int64")

    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                        L.Dense(128, activation="relu"), L.Dense(10)], name="fashion_cnn")
    model.compile(optimizer=Adam(1e-3), loss=SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rd = workbench.RunDir(out or workbench.default_run_dir("demo"))
    config = {"title": "nerve demo: 2-conv CNN on Fashion-MNIST", "recipe": "demo", "dataset": "Fashion-MNIST",
              "data_source": source, "n_train": len(xtr), "n_test": len(xte), "epochs": epochs, "batch_size": 128,
              "optimizer": "Adam(learning_rate=0.001)", "loss": "SparseCategoricalCrossentropy(from_logits=True)",
              "architecture": "Conv2D(32,3,relu)-MaxPool-Conv2D(64,3,relu)-MaxPool-Flatten-Dense(128,relu)-Dense(10)",
              "params": int(model.count_params()), "random_seed": seed}
    rd.write_config(config)
    log(f"training on {len(xtr):,} images for {epochs} epoch(s), {model.count_params():,} parameters "
        f"(Adam 1e-3, batch 128); testing on {len(xte):,} images")
    start = time.perf_counter()
    hist = model.fit(xtr, ytr, batch_size=128, epochs=epochs, validation_data=(xte, yte), verbose=verbose,
                     callbacks=[workbench.HistoryWriter(rd)])
    seconds = time.perf_counter() - start
    logits = np.asarray(model.predict(xte, batch_size=500, verbose=0))
    pred = logits.argmax(-1)
    stats = _stats(yte, pred)
    acc = stats["test_accuracy"]
    rd.write_history(hist)
    rd.write_metrics({"recipe": "demo", "status": "ok", "ours": {**stats, "n_test": len(xte)},
                      "book": "no book figure (the full run, `nerve run fashion_cnn`: 60,000 images, 10 epochs)",
                      "train_seconds": round(seconds, 1), "data_source": source})
    try:
        from .evaluation import plots
        rd.plot("history.png", plots.plot_history, hist, title="nerve demo: training history")
        m = np.zeros((10, 10), np.int64)
        np.add.at(m, (yte, pred), 1)
        rd.plot("confusion_matrix.png", plots.plot_confusion_matrix, m, labels=list(CLASSES),
                title="Fashion-MNIST test confusion matrix")
        rd.plot("samples.png", plots.plot_images, xte[:20, ..., 0], labels=[CLASSES[p] for p in pred[:20]],
                title="test images with predicted classes")
    except ImportError as e:
        log(f"note: no plots ({e})")
    report = rd.write_report()
    log(f"test accuracy: {acc:.4f} ({int(round(acc * len(xte)))}/{len(xte)}) after {epochs} epoch(s), "
        f"{seconds:.0f} s of training")
    log(f"run directory: {rd.path} (metrics.json, plots, {report})")
    return acc, rd.path
