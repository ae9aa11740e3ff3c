"""Recipes of seed-001 (Rivas, "Deep Learning for Beginners"): the perceptron experiments (part 1 §5 N16-N19),
the two-spirals layer search (N24), wide / deep / sparse networks and their grid search (part 2 §1.13-1.16),
and the CIFAR-10 CNN (§1.17). CIFAR-10 runs when a local copy exists, else on the nearest offline stand-in."""
import os

import numpy as np

from ._base import recipe
from ._data import cifar10_or_standin

S1A, S1B = "seed-001-part1.md", "seed-001-part2.md"


@recipe("perceptron", "Perceptron (PLA) iterations vs class separation, and the pocket algorithm", S1A,
        "§1.2, §5 N16-N19", "make_classification (100 points, 2-D, 1 cluster per class)",
        "PLA with a random misclassified point per update; pocket PLA capped at 1,000 updates",
        "sep 1.2: 14 updates; mean updates over 1000 runs, sep 2.0 .. 1.1: 2.79 3.05 3.34 3.67 4.13 4.90 6.67 "
        "10.32 24.22 184.41; pocket at sep 1.0: 1 misclassified (99/100)")
def perceptron(ctx):
    from ..datasets import make_classification
    from ..generative import Perceptron, PocketPerceptron

    def data(sep, rs):
        return make_classification(n_samples=100, n_features=2, n_informative=2, n_redundant=0, n_repeated=0,
                                   n_clusters_per_class=1, class_sep=sep, random_state=rs)
    X, y = data(1.2, 5)
    single = Perceptron(max_iter=100000, random_state=7).fit(X, y)
    runs = ctx.pick(1000, 5)
    seps = (2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1)
    book = (2.79, 3.05, 3.34, 3.67, 4.13, 4.90, 6.67, 10.32, 24.22, 184.41)
    rows = []
    cap = ctx.pick(5000, 200)  # a data set that is not separable stops at the cap (counted as cap)
    for sep, b in zip(seps, book):
        if ctx.quick and sep not in (2.0, 1.5, 1.2):
            continue
        Xs, ys = data(sep, 5)  # the book's data (random_state=5); the runs differ in the random point choice
        its = [Perceptron(max_iter=cap, random_state=r).fit(Xs, ys).n_iter_ for r in range(runs)]
        rows.append({"class_sep": sep, "mean_updates": float(np.mean(its)), "std": float(np.std(its)),
                     "book_mean": b})
        ctx.log(f"  sep {sep}: mean {np.mean(its):.2f} (std {np.std(its):.2f}) updates; book {b}")
    X, y = data(1.0, 5)
    pocket = PocketPerceptron(max_iter=1000, random_state=7).fit(X, y)
    ctx.set(runs_per_separation=runs, update_cap=cap)
    return {"pla_updates_sep_1_2": int(single.n_iter_), "table": rows,
            "pocket_best_errors": int(pocket.best_error_), "pocket_best_iteration": int(pocket.best_iter_),
            "pocket_accuracy": 1 - pocket.best_error_ / 100}


ARCHS = {"a": ("sigmoid",), "b": ("relu",), "c": ("sigmoid", "sigmoid"), "d": ("relu", "sigmoid"),
         "e": ("sigmoid",) * 3, "f": ("relu", "sigmoid", "relu"), "g": ("relu", "relu", "sigmoid"),
         "h": ("relu",) * 3, "i": ("relu", "sigmoid", "sigmoid")}
BOOK_N24 = {"a": (0.6088, 0.004), "b": (0.7125, 0.038), "c": (0.6128, 0.010), "d": (0.7040, 0.067),
            "e": (0.6188, 0.010), "f": (0.7895, 0.113), "g": (0.9175, 0.143), "h": (0.9050, 0.094),
            "i": (0.6608, 0.073)}


@recipe("two_spirals_layers", "Two spirals: 5-fold CV accuracy of nine layer configurations", S1A, "§5 N22-N25",
        "twoSpirals(300): 600 points, the book's generator", "16-unit hidden layers (sigmoid/relu per the table) "
        "-> Dense(2, sigmoid) on one-hot targets; MSE, SGD(0.1, momentum 0.9) with ReduceLROnPlateau "
        "('adaptive' rate), batch 60, 1000 epochs, 5-fold CV",
        "mean (std) CV accuracy: a .6088 b .7125 c .6128 d .7040 e .6188 f .7895 g .9175 (best) h .9050 i .6608")
def two_spirals_layers(ctx):
    from .. import layers as L
    from ..callbacks import ReduceLROnPlateau
    from ..datasets import two_spirals
    from ..models import Sequential
    from ..optimizers import SGD
    X, y = two_spirals(300, seed=1)
    X = X.astype("float32")
    Y = np.eye(2, dtype="float32")[y]
    folds = ctx.pick(5, 2)
    epochs = ctx.epochs(1000, 2)
    perm = np.random.default_rng(0).permutation(len(X))
    parts = np.array_split(perm, folds)
    table = {}
    for key, acts in ARCHS.items():
        accs = []
        for k in range(folds):
            te = parts[k]
            tr = np.concatenate([parts[j] for j in range(folds) if j != k])
            model = Sequential([L.Input((2,)), *[L.Dense(16, activation=a) for a in acts],
                                L.Dense(2, activation="sigmoid")])
            model.compile(optimizer=SGD(0.1, momentum=0.9), loss="mean_squared_error")
            model.fit(X[tr], Y[tr], batch_size=60, epochs=epochs, verbose=0,
                      callbacks=[ReduceLROnPlateau(monitor="loss", factor=0.5, patience=50, min_lr=1e-4)])
            pred = np.asarray(model.predict(X[te], verbose=0)).argmax(1)
            accs.append(float(np.mean(pred == y[te])))
        table[key] = {"layers": "-".join(f"16{a[:3]}" for a in acts) + "-2sig", "mean": float(np.mean(accs)),
                      "std": float(np.std(accs)), "book_mean": BOOK_N24[key][0], "book_std": BOOK_N24[key][1]}
        ctx.log(f"  {key} {table[key]['layers']}: {np.mean(accs):.4f} ({np.std(accs):.3f}); book "
                f"{BOOK_N24[key][0]:.4f} ({BOOK_N24[key][1]:.3f})")
    best = max(table, key=lambda k: table[k]["mean"])
    ctx.set(folds=folds)
    return {"best": best, "best_mean_accuracy": table[best]["mean"], "table": table}


def _images_flat(ctx):
    (xtr, ytr), (xte, yte), is_cifar = cifar10_or_standin(ctx)
    return xtr.reshape(len(xtr), -1), ytr, xte.reshape(len(xte), -1), yte


def _wide_deep(ctx, kind):
    from .. import layers as L
    from .. import regularizers
    from ..callbacks import EarlyStopping, ReduceLROnPlateau
    from ..models import Model
    from ..utils import to_categorical
    xtr, ytr, xte, yte = _images_flat(ctx)
    reg = (lambda: regularizers.l2(1e-4)) if kind == "sparsenet" else (lambda: None)
    inp = L.Input((xtr.shape[1],))
    width = ctx.pick(3072, 192)
    if ctx.quick:
        ctx.note(f"quick mode: layer widths start at {width} instead of 3072")
    if kind == "widenet":
        x = L.Dense(width, activation="relu")(L.Dropout(0.5)(inp))
        x = L.Dense(width, activation="relu")(L.Dropout(0.2)(x))
    else:  # deepnet / sparsenet: the book's bottleneck loop
        units, dr = width, 0.5
        x = L.Dense(units, activation="relu", kernel_regularizer=reg())(L.Dropout(dr)(inp))
        units, dr = units // 2, dr / 2
        while units > 10:
            x = L.Dense(units, activation="relu", kernel_regularizer=reg())(L.Dropout(dr)(x))
            units, dr = units // 2, dr / 1.5
    model = Model(inp, L.Dense(10, activation="sigmoid", kernel_regularizer=reg())(x), name=kind)
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    ctx.set(params=int(model.count_params()), batch_size=1000)
    cbs = [ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20, min_delta=1e-4),
           EarlyStopping(monitor="val_loss", patience=100, restore_best_weights=True)]
    ctx.fit(model, xtr, to_categorical(ytr, 10), batch_size=ctx.pick(1000, 128), epochs=ctx.epochs(1000, 1),
            shuffle=True, validation_data=(xte, to_categorical(yte, 10)), callbacks=cbs)
    pred = np.asarray(model.predict(xte, batch_size=1000, verbose=0)).argmax(1)
    out = ctx.classification(yte, pred)
    try:
        from ..evaluation import balanced_error_rate
        out["balanced_error_rate"] = float(balanced_error_rate(yte, pred, labels=list(range(10))))
    except ImportError:
        pass
    out["params"] = int(model.count_params())
    out["weights_l1_norm"] = float(sum(np.abs(np.asarray(w)).sum() for w in model.get_weights()))
    return out


_WD = ("CIFAR-10 (offline stand-in: Fashion-MNIST padded to 32x32x3), flattened", "; sigmoid outputs + binary CE "
       "(the book's choice), Adam, batch 1000, ReduceLROnPlateau(0.5, 20), EarlyStopping(100, restore), "
       "validation_data = test set")


@recipe("widenet", "widenet: wide MLP on CIFAR-10", S1B, "§1.13, §5.2", _WD[0],
        "3072 -> Dropout .5 -> Dense(3072) -> Dropout .2 -> Dense(3072) -> Dense(10)" + _WD[1],
        "CIFAR-10 test accuracy 0.5433, BER 0.4567; 18,911,242 params")
def widenet(ctx):
    return _wide_deep(ctx, "widenet")


@recipe("deepnet", "deepnet: deep bottleneck MLP on CIFAR-10", S1B, "§1.14, §5.2", _WD[0],
        "Dense 3072, 1536, ..., 12 (dropout .5, /2, then /1.5 per layer) -> Dense(10)" + _WD[1],
        "CIFAR-10 test accuracy 0.5344, BER 0.4656; 15,734,806 params")
def deepnet(ctx):
    return _wide_deep(ctx, "deepnet")


@recipe("sparsenet", "sparsenet: deepnet with L2(1e-4) on every Dense", S1B, "§1.15, §5.2", _WD[0],
        "deepnet + kernel_regularizer=l2(1e-4)" + _WD[1],
        "CIFAR-10 test accuracy 0.5523, BER 0.4477; weights' L1 norm ~4-5x smaller than deepnet's")
def sparsenet(ctx):
    return _wide_deep(ctx, "sparsenet")


@recipe("widenet_grid_search", "Grid search over make_widenet (dr, optimizer, lr, units)", S1B, "§1.16, §5.2",
        "CIFAR-10 (offline stand-in: Fashion-MNIST), flattened",
        "GridSearchCV(SKLearnClassifier(make_widenet)), cv=3, validation_split 0.3, EarlyStopping(20), "
        "ReduceLROnPlateau(0.5, 10); full grid 24 candidates x 3 folds, batch 1000, 100 epochs",
        "best {'dr': 0.2, 'lr': 0.0001, 'optimizer': 'adam', 'units': 1024}; 72 fits in 28.0 min")
def widenet_grid_search(ctx):
    from ..integrations import examples
    kw = {"quick": True, "n_samples": 120, "epochs": 1, "cv": 2} if ctx.quick else {"quick": False}
    if ctx.resumable:  # finished fits' scores survive an interruption (examples._score_cache_estimator)
        kw["cache_path"] = ctx.run_dir.file("backup-grid-scores.json")
    if ctx.epochs_override:
        kw["epochs"] = ctx.epochs_override
    saved = examples.QUICK_GRID
    if ctx.quick:  # two candidates: seconds, not a minute
        examples.QUICK_GRID = dict(dr=[0.2], optimizer=["adam"], lr=[0.01, 0.001], units=[32])
    try:
        res = examples.wide_deep_grid_search(**kw)
    finally:
        examples.QUICK_GRID = saved
    if kw.get("cache_path"):  # finished: the scores are in the result (as BackupAndRestore drops its backup)
        os.remove(kw["cache_path"])
    ctx.set(data_source=getattr(res, "dataset_", None), grid_search=kw)
    if res.dataset_ != "cifar10":
        ctx.note("CIFAR-10 is not available offline: the grid search runs on Fashion-MNIST (784 inputs)")
    return {"best_params": {k.replace("model__", ""): v for k, v in res.best_params_.items()},
            "best_cv_accuracy": float(res.best_score_), "n_candidates": len(res.cv_results_["params"])}


@recipe("cifar_cnn", "CNN for CIFAR-10 (conv 9x9/2, BN, conv 3x3, BN, dropout head)", S1B, "§1.17, §5.2",
        "CIFAR-10 (offline stand-in: Fashion-MNIST padded to 32x32x3)",
        "Conv(64,9x9,s2)-Pool-BN-Conv(128,3x3)-Pool-BN-Flatten-Drop.5-256-Drop.2-64-Drop.1-Dense(10, sigmoid); "
        "RMSprop 1e-3, binary CE, batch 100, ReduceLROnPlateau(0.5, 10), EarlyStopping(35, restore)",
        "CIFAR-10 test accuracy 0.7712 (BER 0.2288); 238,666 params (384 non-trainable)")
def cifar_cnn(ctx):
    from .. import layers as L
    from ..callbacks import EarlyStopping, ReduceLROnPlateau
    from ..models import Model
    from ..optimizers import RMSprop
    from ..utils import to_categorical
    (xtr, ytr), (xte, yte), _ = cifar10_or_standin(ctx)
    inp = L.Input((32, 32, 3))
    x = L.BatchNormalization()(L.MaxPooling2D(2)(L.Conv2D(64, 9, strides=2, activation="relu")(inp)))
    x = L.BatchNormalization()(L.MaxPooling2D(2)(L.Conv2D(128, 3, activation="relu")(x)))
    x = L.Dense(256, activation="relu")(L.Dropout(0.5)(L.Flatten()(x)))
    x = L.Dense(64, activation="relu")(L.Dropout(0.2)(x))
    model = Model(inp, L.Dense(10, activation="sigmoid")(L.Dropout(0.1)(x)), name="cifar_cnn")
    model.compile(optimizer=RMSprop(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    ctx.set(params=int(model.count_params()))
    cbs = [ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=10, min_delta=1e-4),
           EarlyStopping(monitor="val_loss", patience=35, restore_best_weights=True)]
    ctx.fit(model, xtr, to_categorical(ytr, 10), batch_size=100, epochs=ctx.epochs(1000, 1), shuffle=True,
            validation_data=(xte, to_categorical(yte, 10)), callbacks=cbs)
    pred = np.asarray(model.predict(xte, batch_size=500, verbose=0)).argmax(1)
    out = ctx.classification(yte, pred)
    out["params"] = int(model.count_params())
    return out
