"""The book's autoencoder examples, with their exact architectures (seed-001 Ch.7, 8, 13).

Each builder returns an ``Autoencoder`` (``.encoder`` / ``.decoder`` sub-models); parameter counts are
the ones the seeds state or derive (checked in tests/generative/test_param_counts.py).
"""
from ..layers import (LSTM, Activation, BatchNormalization, Bidirectional, Dense, Dropout, Input, RepeatVector,
                      TimeDistributed)
from ..models.model import Model
from .autoencoders import Autoencoder


def build_toy_autoencoder(inpt_dim=8, ltnt_dim=2):
    """8 -> 6 -> 4 -> 2 -> 4 -> 6 -> 8, sigmoid everywhere (Ch.7 toy AE, 190 parameters)."""
    inp = Input(shape=(inpt_dim,))
    x = Dense(6, activation="sigmoid")(inp)
    x = Dense(4, activation="sigmoid")(x)
    code = Dense(ltnt_dim, activation="sigmoid")(x)
    zin = Input(shape=(ltnt_dim,))
    y = Dense(4, activation="sigmoid")(zin)
    y = Dense(6, activation="sigmoid")(y)
    y = Dense(inpt_dim, activation="sigmoid")(y)
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"), name="toy_autoencoder")


_MNIST_CONFIGS = {"a": (392, 28, 10), "b": (28, 10), "c": (10,), "d": ()}


def build_mnist_autoencoder(config="a", inpt_dim=784, ltnt_dim=2):
    """Ch.7 MNIST AE: sigmoid hidden layers, tanh latent, sigmoid output; configs a/b/c/d drop the outer
    pairs (638,854 / 45,366 / 16,526 / 3,922 parameters). Book compile: loss='binary_crossentropy', adam."""
    if config not in _MNIST_CONFIGS:
        raise ValueError(f"build_mnist_autoencoder: argument 'config' expected one of 'a', 'b', 'c', 'd', "
                         f"got {config!r}")
    hidden = _MNIST_CONFIGS[config]
    inp = Input(shape=(inpt_dim,))
    x = inp
    for u in hidden:
        x = Dense(u, activation="sigmoid")(x)
    code = Dense(ltnt_dim, activation="tanh")(x)
    zin = Input(shape=(ltnt_dim,))
    y = zin
    for u in reversed(hidden):
        y = Dense(u, activation="sigmoid")(y)
    y = Dense(inpt_dim, activation="sigmoid")(y)
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"),
                       name=f"mnist_autoencoder_{config}")


def build_cifar_deep_autoencoder(inpt_dim=3072, ltnt_dim=64, rate=0.2):
    """Ch.8 CIFAR-10 deep AE 3072 -> 64 (BN between Dense and activation; 18,197,056 parameters)."""
    inp = Input(shape=(inpt_dim,))
    x = Activation("relu")(Dense(2048)(inp))
    x = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(1024)(x))))
    x = Activation("relu")(Dense(512)(x))
    x = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(256)(x))))
    x = Dropout(rate)(Activation("relu")(Dense(128)(x)))
    code = Activation("tanh")(BatchNormalization()(Dense(ltnt_dim)(x)))
    zin = Input(shape=(ltnt_dim,))
    y = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(128)(zin))))
    y = Activation("relu")(Dense(256)(y))
    y = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(512)(y))))
    y = Activation("relu")(Dense(1024)(y))
    y = Activation("relu")(BatchNormalization()(Dense(2048)(y)))
    y = Dense(inpt_dim, activation="sigmoid")(y)
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"),
                       name="cifar_deep_autoencoder")


def build_seq_autoencoder(seqnc_lngth=28, n_features=None, ltnt_dim=2, rate=0.1):
    """Ch.13 seq2vec LSTM autoencoder (rows of an image as a sequence; 10,950 parameters, 112 frozen).
    Book compile: loss='binary_crossentropy', optimizer='adam'."""
    n_features = seqnc_lngth if n_features is None else n_features
    inp = Input(shape=(seqnc_lngth, n_features))
    x = Dropout(rate)(inp)
    x = LSTM(seqnc_lngth, activation="tanh", recurrent_activation="sigmoid")(x)
    x = Dropout(rate)(BatchNormalization()(x))
    code = Dense(ltnt_dim, activation="sigmoid")(x)
    zin = Input(shape=(ltnt_dim,))
    y = RepeatVector(seqnc_lngth)(zin)
    y = LSTM(seqnc_lngth, activation="tanh", recurrent_activation="sigmoid", return_sequences=True)(y)
    y = BatchNormalization()(y)
    y = TimeDistributed(Dense(n_features, activation="sigmoid"))(y)
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"), name="lstm_autoencoder")


def build_bilstm_autoencoder(seqnc_lngth=28, n_features=None, ltnt_dim=100):
    """Ch.13 vec2seq BiLSTM autoencoder (encoder 18,692 + decoder 30,716 = 49,408 parameters, 224 frozen)."""
    n_features = seqnc_lngth if n_features is None else n_features
    inp = Input(shape=(seqnc_lngth, n_features))
    x = Dropout(0.5)(inp)
    x = Bidirectional(LSTM(seqnc_lngth, activation="tanh", recurrent_activation="sigmoid"))(x)
    x = Dropout(0.5)(BatchNormalization()(x))
    code = Dense(ltnt_dim, activation="sigmoid")(x)
    zin = Input(shape=(ltnt_dim,))
    y = RepeatVector(seqnc_lngth)(Dropout(0.1)(zin))
    y = Bidirectional(LSTM(seqnc_lngth, activation="tanh", recurrent_activation="sigmoid",
                           return_sequences=True))(y)
    y = TimeDistributed(Dense(n_features, activation="sigmoid"))(BatchNormalization()(y))
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"), name="ae")


def build_basic_autoencoder(input_dim=784, output_dim=100):
    """seed-000 M15: 784 -> Dense(100, tanh) -> Dense(784) linear; mse, adam (157,684 parameters)."""
    from .autoencoders import build_autoencoder
    return build_autoencoder(input_dim, (), output_dim, "tanh", "tanh", None, name="basic_autoencoder")


def build_fashion_autoencoder(encoding_dim=32):
    """seed-000 M18/M19: 784 -> Dense(32, relu) -> Dense(784, sigmoid); binary_crossentropy, adadelta
    (50,992 parameters). The denoising variant trains it on ``corrupt(x, 'gaussian', 0.5)`` inputs."""
    from .autoencoders import build_autoencoder
    return build_autoencoder(784, (), encoding_dim, "relu", "relu", "sigmoid", name="fashion_autoencoder")


def build_imdb_autoencoder(inpt_dim=512, ltnt_dim=256, batch_norm=True):
    """seed-001 Ch.8 IMDb shallow AE: Dense(256) -> [BatchNormalization] -> sigmoid -> Dense(512, sigmoid)
    (263,936 parameters with BN, 262,912 without). Book: binary_crossentropy, adam, 20 epochs, batch 64."""
    inp = Input(shape=(inpt_dim,))
    x = Dense(ltnt_dim)(inp)
    if batch_norm:
        x = BatchNormalization()(x)
    code = Activation("sigmoid")(x)
    zin = Input(shape=(ltnt_dim,))
    y = Dense(inpt_dim, activation="sigmoid")(zin)
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"), name="imdb_autoencoder")


def build_imdb_dropout_autoencoder(inpt_dim=512, ltnt_dim=128, dropout=0.1):
    """seed-001 Ch.8 IMDb AE: Dense(inpt_dim // 2) -> relu -> [Dropout(0.1)] -> Dense(128) -> relu ->
    Dense(512, relu) (230,272 parameters; the book's ``inpt_dim/2`` float is fixed as ``//``). Book:
    binary_crossentropy, adagrad, 100 epochs, batch 64."""
    inp = Input(shape=(inpt_dim,))
    x = Activation("relu")(Dense(inpt_dim // 2)(inp))
    if dropout:
        x = Dropout(dropout)(x)
    code = Activation("relu")(Dense(ltnt_dim)(x))
    zin = Input(shape=(ltnt_dim,))
    y = Dense(inpt_dim, activation="relu")(zin)
    return Autoencoder(Model(inp, code, name="encoder"), Model(zin, y, name="decoder"),
                       name="imdb_dropout_autoencoder")
