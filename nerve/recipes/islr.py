"""Recipes of seed-000-003-004 (ISLR ch. 10 lab, the R keras MNIST notes, the Fashion-MNIST slides):
Hitters regression, MNIST MLPs with/without dropout, multinomial logit, the S0 and S4 CNNs, and the
Fashion-MNIST 2-conv CNN of `nerve demo` (shared/bench/peers)."""
import numpy as np

from ._base import recipe
from ._data import fashion, mnist_or_fashion, table

S0 = "seed-000-003-004.md"
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")


def train_classifier(ctx, model, data, epochs, batch_size=128, optimizer="rmsprop", validation="split",
                     loss="sparse_categorical_crossentropy", class_names=None):
    """compile / fit / predict a softmax classifier; returns our metrics (test accuracy, kappa, CI, params)."""
    (xtr, ytr), (xte, yte) = data
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    ctx.set(params=int(model.count_params()), batch_size=batch_size,
            optimizer=optimizer if isinstance(optimizer, str) else type(optimizer).__name__,
            validation="validation_split=0.2" if validation == "split" else "validation_data = test set")
    kw = {"validation_split": 0.2} if validation == "split" else {"validation_data": (xte, yte)}
    ctx.fit(model, xtr, ytr, epochs=epochs, batch_size=batch_size, **kw)
    pred = np.asarray(model.predict(xte, batch_size=512, verbose=0)).argmax(-1)
    out = ctx.classification(yte, pred, class_names=class_names)
    out["params"] = int(model.count_params())
    return out


def _names(ctx):
    return FASHION_CLASSES if "Fashion" in str(ctx.config.get("data_source")) else tuple(map(str, range(10)))


@recipe("hitters", "Hitters regression, one hidden layer", S0, "§1.2 M1, R1-R2",
        "ISLR Hitters (263 players, 20 standardised predictors, log Salary), 70/30 split",
        "Dense(64, relu) -> Dense(1); RMSprop, MSE, MAE metric, batch 32, 200 epochs",
        "test MSE 0.3528, MAE 0.4151; 1,409 parameters", needs=("hitters",))
def hitters(ctx):
    from .. import layers as L
    from ..datasets import hitters as H
    from ..models import Sequential
    X, y, names = table(ctx, "hitters", loader=lambda download: H.model_matrix(
        H.load_data(download=download), scale=True, log_salary=True))
    idx = np.random.default_rng(1001).permutation(len(X))
    ntr = int(round(0.7 * len(X)))
    tr, te = idx[:ntr], idx[ntr:]
    xtr, ytr, xte, yte = (a.astype("float32") for a in (X[tr], y[tr], X[te], y[te]))
    model = Sequential([L.Input((X.shape[1],)), L.Dense(64, activation="relu"), L.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mean_squared_error", metrics=["mean_absolute_error"])
    ctx.set(params=int(model.count_params()), n_train=len(tr), n_test=len(te), predictors=X.shape[1])
    ctx.fit(model, xtr, ytr, epochs=ctx.epochs(200, 3), batch_size=32, validation_data=(xte, yte))
    pred = np.asarray(model.predict(xte, verbose=0)).ravel()
    return {"test_mse": float(np.mean((pred - yte) ** 2)), "test_mae": float(np.mean(np.abs(pred - yte))),
            "params": int(model.count_params())}


def _mlp(hidden, dropout=()):
    from .. import layers as L
    from ..models import Sequential
    ls = [L.Input((784,))]
    for i, units in enumerate(hidden):
        ls.append(L.Dense(units, activation="relu"))
        if i < len(dropout) and dropout[i]:
            ls.append(L.Dropout(dropout[i]))
    ls.append(L.Dense(10, activation="softmax"))
    return Sequential(ls)


@recipe("mnist_mlp", "MNIST MLP, one hidden layer of 512 (no dropout)", S0, "§1.3 M2, R3-R4",
        "MNIST (offline stand-in: Fashion-MNIST)", "784 -> Dense(512, relu) -> Dense(10, softmax); RMSprop, "
        "15 epochs, batch 128, validation_split 0.2", "MNIST test accuracy 0.9818 (Kappa 0.9798); 407,050 params")
def mnist_mlp(ctx):
    data = mnist_or_fashion(ctx, flat=True)
    return train_classifier(ctx, _mlp((512,)), data, ctx.epochs(15, 1), class_names=_names(ctx))


@recipe("mnist_mlp_dropout", "MNIST MLP, two hidden layers with dropout", S0, "§1.6 M4, R7-R8",
        "MNIST (offline stand-in: Fashion-MNIST)", "784 -> 512 relu -> Dropout 0.4 -> 256 relu -> Dropout 0.2 -> "
        "10 softmax; RMSprop, 15 epochs, batch 128, validation_split 0.2",
        "MNIST test accuracy 0.9825 (Kappa 0.9805); 535,818 params")
def mnist_mlp_dropout(ctx):
    data = mnist_or_fashion(ctx, flat=True)
    return train_classifier(ctx, _mlp((512, 256), (0.4, 0.2)), data, ctx.epochs(15, 1), class_names=_names(ctx))


@recipe("mnist_mlp_nodropout", "MNIST MLP, two hidden layers without dropout (the footnote's comparison)", S0,
        "§1.6 M4 footnote", "MNIST (offline stand-in: Fashion-MNIST)",
        "784 -> 512 relu -> 256 relu -> 10 softmax; RMSprop, 15 epochs, batch 128, validation_split 0.2",
        "not reported (\"try the network without the dropout layers\"); 535,818 params")
def mnist_mlp_nodropout(ctx):
    data = mnist_or_fashion(ctx, flat=True)
    return train_classifier(ctx, _mlp((512, 256)), data, ctx.epochs(15, 1), class_names=_names(ctx))


@recipe("fashion_mlp", "Fashion-MNIST MLP 784-256-128-10 (the benchmark MLP)", S0,
        "§3.3 (Fashion-MNIST); shared/bench/peers MLP", "Fashion-MNIST (60,000 / 10,000; embedded subset offline)",
        "784 -> Dense(256, relu) -> Dense(128, relu) -> Dense(10, softmax); Adam 1e-3, batch 128, 20 epochs",
        "no book figure (Fashion-MNIST MLPs reach ~0.89; target >= 0.89)")
def fashion_mlp(ctx):
    from ..optimizers import Adam
    data = fashion(ctx, flat=True)
    return train_classifier(ctx, _mlp((256, 128)), data, ctx.epochs(20, 1), optimizer=Adam(1e-3),
                            validation="test", class_names=FASHION_CLASSES)


@recipe("mlogit", "Multinomial logistic regression", S0, "§1.4 M3, R5-R6", "MNIST (offline stand-in: Fashion-MNIST)",
        "784 -> Dense(10, softmax); RMSprop, 15 epochs, batch 128, validation_split 0.2",
        "MNIST test accuracy 0.9282 (Kappa 0.9202); 7,850 params")
def mlogit(ctx):
    data = mnist_or_fashion(ctx, flat=True)
    return train_classifier(ctx, _mlp(()), data, ctx.epochs(15, 1), class_names=_names(ctx))


def fashion_cnn_model():
    """The 2-conv CNN of `nerve demo` and shared/bench/peers (logits output)."""
    from .. import layers as L
    from ..models import Sequential
    return Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                       L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                       L.Dense(128, activation="relu"), L.Dense(10)])


@recipe("fashion_cnn", "Fashion-MNIST 2-conv CNN (the `nerve demo` network)", S0,
        "§1.8-1.9 design (conv-pool-conv-pool); shared/bench/peers CNN", "Fashion-MNIST (60,000 / 10,000)",
        "Conv2D(32,3,relu) - MaxPool - Conv2D(64,3,relu) - MaxPool - Flatten - Dense(128,relu) - Dense(10); "
        "Adam 1e-3, batch 128, 10 epochs", "no book figure (target >= 0.92 on Fashion-MNIST)")
def fashion_cnn(ctx):
    from ..losses import SparseCategoricalCrossentropy
    from ..optimizers import Adam
    data = fashion(ctx)
    return train_classifier(ctx, fashion_cnn_model(), data, ctx.epochs(10, 1), optimizer=Adam(1e-3),
                            loss=SparseCategoricalCrossentropy(from_logits=True), validation="test",
                            class_names=FASHION_CLASSES)


@recipe("cnn_s0", "S0 MNIST CNN (three conv layers, dropout head)", S0, "§1.9 M6, R12-R13",
        "MNIST (offline stand-in: Fashion-MNIST)",
        "conv3-32, pool2, conv3-64, pool2, conv3-64, flatten, 512 relu, drop .4, 256 relu, drop .2, 10 softmax; "
        "RMSprop, 15 epochs, batch 128, validation_split 0.2",
        "MNIST test accuracy 0.9905 (Kappa 0.9894); 485,066 params")
def cnn_s0(ctx):
    from .. import layers as L
    from ..models import Sequential
    data = mnist_or_fashion(ctx)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                        L.Flatten(), L.Dense(512, activation="relu"), L.Dropout(0.4),
                        L.Dense(256, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")])
    return train_classifier(ctx, model, data, ctx.epochs(15, 1), class_names=_names(ctx))


@recipe("cnn_s4", "S4 CNN conv5-20, maxpool2, FC-100, softmax-10", S0, "§1.10 M7, R28-R30",
        "MNIST (offline stand-in: Fashion-MNIST)",
        "Conv2D(20, 5x5, relu) - MaxPool 2 - Flatten - Dense(100, relu) - Dense(10, softmax); Adadelta "
        "(lr 1.0, as in that Keras version), 12 epochs, batch 128, validation_data = test set",
        "MNIST test accuracy 0.9878; 289,630 params")
def cnn_s4(ctx):
    from .. import layers as L
    from ..models import Sequential
    from ..optimizers import Adadelta
    data = mnist_or_fashion(ctx)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(20, 5, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                        L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])
    return train_classifier(ctx, model, data, ctx.epochs(12, 1), optimizer=Adadelta(learning_rate=1.0),
                            validation="test", class_names=_names(ctx))


@recipe("fashion_cnn_dropout", "Fashion-MNIST 2-conv CNN with dropout (the S0 design heuristic)", S0,
        "§1.8 (\"dropout ... can be used at each layer\"), §1.9 M6 head", "Fashion-MNIST (60,000 / 10,000)",
        "Conv2D(32,3,relu) - MaxPool - Dropout .25 - Conv2D(64,3,relu) - MaxPool - Dropout .25 - Flatten - "
        "Dense(128,relu) - Dropout .5 - Dense(10); Adam 1e-3, batch 128, 15 epochs",
        "no book figure (target >= 0.92 on Fashion-MNIST)")
def fashion_cnn_dropout(ctx):
    from .. import layers as L
    from ..losses import SparseCategoricalCrossentropy
    from ..models import Sequential
    from ..optimizers import Adam
    data = fashion(ctx)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Dropout(0.25),
                        L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Dropout(0.25), L.Flatten(),
                        L.Dense(128, activation="relu"), L.Dropout(0.5), L.Dense(10)])
    return train_classifier(ctx, model, data, ctx.epochs(15, 1), optimizer=Adam(1e-3),
                            loss=SparseCategoricalCrossentropy(from_logits=True), validation="test",
                            class_names=FASHION_CLASSES)


@recipe("fashion_cnn_bn", "Fashion-MNIST 2-conv CNN with batch normalisation, dropout and a cosine schedule", S0,
        "§1.8-1.9 design (conv-pool-conv-pool, dropout at each layer)", "Fashion-MNIST (60,000 / 10,000)",
        "Conv2D(32,3,same) - BN - ReLU - MaxPool - Dropout .25 - Conv2D(64,3,same) - BN - ReLU - MaxPool - "
        "Dropout .25 - Flatten - Dense(128) - BN - ReLU - Dropout .5 - Dense(10); Adam with CosineDecay from "
        "1e-3 over all steps, batch 128, 20 epochs (fixed schedule: nothing is chosen on the test set)",
        "no book figure (target >= 0.92 on Fashion-MNIST)")
def fashion_cnn_bn(ctx):
    from .. import layers as L
    from ..losses import SparseCategoricalCrossentropy
    from ..models import Sequential
    from ..optimizers import Adam
    from ..optimizers.schedules import CosineDecay
    data = fashion(ctx)
    epochs, batch = ctx.epochs(20, 1), 128
    steps = epochs * -(-len(data[0][0]) // batch)
    model = Sequential([L.Input((28, 28, 1)),
                        L.Conv2D(32, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                        L.MaxPooling2D(), L.Dropout(0.25),
                        L.Conv2D(64, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU(),
                        L.MaxPooling2D(), L.Dropout(0.25), L.Flatten(),
                        L.Dense(128, use_bias=False), L.BatchNormalization(), L.ReLU(), L.Dropout(0.5),
                        L.Dense(10)])
    return train_classifier(ctx, model, data, epochs, batch_size=batch,
                            optimizer=Adam(CosineDecay(1e-3, decay_steps=steps)),
                            loss=SparseCategoricalCrossentropy(from_logits=True), validation="test",
                            class_names=FASHION_CLASSES)
