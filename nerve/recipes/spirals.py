"""The spiral experiments of seed-002 (initialisation §5.5, optimisers §5.6, regularisation §5.7) on its planar
spiral D2 (800 points, 600 train / 200 test), network c(2, 100, 1) relu/sigmoid with binary cross-entropy, and
the engine-only two-spirals demo (seed-001-part1 §3.2) that used to be `nerve demo`."""
import numpy as np

from ._base import recipe

S2 = "seed-002.md"
CHECKPOINTS = (1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 15000)


def _data(scaled):
    from ..datasets import planar_spiral
    from ..datasets.spirals import train_test_split
    X, y = planar_spiral(400, 2, seed=308)
    (xtr, ytr), (xte, yte) = train_test_split(X, y, 600, seed=308)
    if scaled:  # the book scales train and test each with its own statistics (R's scale(), sd with n-1)
        xtr = (xtr - xtr.mean(0)) / xtr.std(0, ddof=1)
        xte = (xte - xte.mean(0)) / xte.std(0, ddof=1)
    return (xtr.astype("float32"), ytr.astype("float32")), (xte.astype("float32"), yte.astype("float32"))


def _model(init, dropout=0.0, l2=0.0):
    from .. import layers as L
    from .. import regularizers
    from ..models import Sequential
    reg = regularizers.l2(l2) if l2 else None
    ls = [L.Input((2,)), L.Dense(100, activation="relu", kernel_initializer=init, kernel_regularizer=reg)]
    if dropout:
        ls.append(L.Dropout(dropout))
    ls.append(L.Dense(1, activation="sigmoid", kernel_initializer=init, kernel_regularizer=reg))
    return Sequential(ls)


def _train(ctx, model, optimizer, data, epochs, batch_size):
    """Fit and return the cost at the start, at the book's checkpoints, and train / test accuracy in %."""
    (xtr, ytr), (xte, yte) = data
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    cost0 = float(model.evaluate(xtr, ytr, batch_size=600, verbose=0))
    hist = model.fit(xtr, ytr, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0).history["loss"]
    acc = [100 * float(np.mean((np.asarray(model.predict(x, verbose=0)).ravel() > 0.5) == y))
           for x, y in ((xtr, ytr), (xte, yte))]
    costs = {"cost@0": cost0, **{f"cost@{c}": float(hist[c - 1]) for c in CHECKPOINTS if c <= len(hist)}}
    return {**costs, "final_cost": float(hist[-1]), "train_acc": acc[0], "test_acc": acc[1]}


def _inits():
    from ..initializers import RandomNormal, VarianceScaling, Zeros
    return {"zero": Zeros(), "random": RandomNormal(stddev=0.01),
            "xavier": VarianceScaling(1.0, "fan_in", "untruncated_normal"),  # the book's code: sqrt(1/n)
            "he": VarianceScaling(2.0, "fan_in", "untruncated_normal")}


@recipe("spiral_init", "Initialisation on the spiral data: zero / random / Xavier / He", S2, "§1.6, §5.5",
        "planar spiral D2 (unscaled), 600 train / 200 test", "c(2,100,1) relu/sigmoid, binary CE, full-batch GD "
        "lr 0.03, 5000 iterations", "final cost / train / test %: zero 0.6930 / 50.83 / 47.5; random 0.1725 / "
        "96.33 / 97.5; Xavier 0.1027 / 97.67 / 99.0; He 0.0970 / 97.33 / 99.0")
def spiral_init(ctx):
    from ..optimizers import SGD
    data = _data(scaled=False)
    epochs = ctx.epochs(5000, 10)
    table = {}
    for name, init in _inits().items():
        table[name] = _train(ctx, _model(init), SGD(0.03), data, epochs, 600)
        ctx.log(f"  {name}: cost {table[name]['final_cost']:.4f}, train {table[name]['train_acc']:.2f}%, "
                f"test {table[name]['test_acc']:.2f}%")
    return {"table": table, **{f"{k}_test_acc": v["test_acc"] for k, v in table.items()}}


def _optimizers(lr):
    from ..optimizers import SGD, Adam
    # the book's momentum is V = b V + (1 - b) dW, W -= lr V; Keras' is v = b v - lr' g: equal for lr' = lr (1 - b)
    return {"gd_batch600": (lambda: SGD(lr), 600), "gd_batch64": (lambda: SGD(lr), 64),
            "momentum_batch64": (lambda: SGD(lr * (1 - 0.9), momentum=0.9), 64),
            "adam_batch64": (lambda: Adam(lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8), 64)}


@recipe("spiral_optimizers", "Optimisers on the spiral data: GD (batch, mini-batch), momentum, Adam", S2,
        "§1.7-1.8, §5.6", "planar spiral D2 (z-scored), 600 train / 200 test", "c(2,100,1) relu/sigmoid, random "
        "init x0.01, lr 0.001, 10000 epochs; beta 0.9, Adam (0.9, 0.999, 1e-8)", "train / test %: gd(600) 50.83 / "
        "47.5; gd(64) 92.67 / 93.0; momentum(64) 92.67 / 93.0; adam(64) 97.5 / 95.5")
def spiral_optimizers(ctx):
    from ..initializers import RandomNormal
    data = _data(scaled=True)
    epochs = ctx.epochs(10000, 5)
    table = {}
    for name, (opt, bs) in _optimizers(0.001).items():
        table[name] = _train(ctx, _model(RandomNormal(stddev=0.01)), opt(), data, epochs, bs)
        ctx.log(f"  {name}: cost {table[name]['final_cost']:.4f}, train {table[name]['train_acc']:.2f}%, "
                f"test {table[name]['test_acc']:.2f}%")
    return {"table": table, **{f"{k}_test_acc": v["test_acc"] for k, v in table.items()}}


@recipe("spiral_regularization", "Regularisation on the spiral data: none / dropout / L2, four optimisers each", S2,
        "§1.10, §5.7", "planar spiral D2 (z-scored), 600 train / 200 test", "c(2,100,1) relu/sigmoid, He init, "
        "lr 0.0001, 15000 epochs; dropout keep_prob 0.8 (rate 0.2); L2 lambda 0.6 as lambda/(2m) sum W^2",
        "test %: none gd600 66.5, gd64 90.5, mom64 90.5, adam64 95.0; dropout 70.5, 92.0, 92.0, 96.0; L2 66.5, "
        "91.0, 91.0, 95.5")
def spiral_regularization(ctx):
    from ..initializers import VarianceScaling
    data = _data(scaled=True)
    epochs = ctx.epochs(15000, 3)
    table = {}
    for reg, kw in (("none", {}), ("dropout0.8", {"dropout": 0.2}), ("l2_0.6", {"l2": 0.6})):
        for name, (opt, bs) in _optimizers(0.0001).items():
            if ctx.quick and name not in ("gd_batch600", "adam_batch64"):
                continue
            # the book's cost adds lambda / (2 m) * sum W^2 with m the batch size; Keras' L2(l) adds l * sum W^2
            kw2 = {**kw, "l2": kw["l2"] / (2 * bs)} if "l2" in kw else kw
            key = f"{reg}/{name}"
            table[key] = _train(ctx, _model(VarianceScaling(2.0, "fan_in", "untruncated_normal"), **kw2), opt(),
                                data, epochs, bs)
            ctx.log(f"  {key}: train {table[key]['train_acc']:.2f}%, test {table[key]['test_acc']:.2f}%")
    best = max(table, key=lambda k: table[k]["test_acc"])
    return {"best": best, "best_test_acc": table[best]["test_acc"], "table": table}


@recipe("spirals_engine", "Engine-only MLP 2-64-64-2 on the two spirals (the former `nerve demo`)", "seed-001-part1.md",
        "§3.2, §5 N22-N25", "twoSpirals(300): 600 points", "MLP 2-64-64-2 relu from engine ops (nerve.tensor, "
        "nerve.ops, backward), hand-written full-batch Adam lr 0.01, 300 epochs",
        "2-3-2 sigmoid MLP: 62% (N22/N23); best 4-layer net g: 99% on one run (N25)")
def spirals_engine(ctx):
    from .. import demo_spirals
    epochs = ctx.epochs(300, 20)
    acc = demo_spirals.run(epochs=epochs, seed=ctx.seed, every=max(1, epochs // 10),
                           out=ctx.log if ctx.verbose else (lambda *a: None))
    return {"train_accuracy": float(acc)}
