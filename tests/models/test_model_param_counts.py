"""Every dense-only worked example of the seeds whose parameter count the books state, built with nerve
and checked with count_params and the summary totals (seed section in each comment)."""
import re

import pytest

import nerve
from nerve import layers, regularizers
from nerve.layers.layer import reset_uids


def hitters():  # seed-000 §1.2 M1: p = 20 -> Dense 64 relu -> Dense 1
    return nerve.Sequential([layers.Dense(64, activation="relu", input_shape=(20,)), layers.Dense(1)])


def mnist_512():  # seed-000 §1.3 M2
    return nerve.Sequential([layers.Dense(512, activation="relu", input_shape=(28 * 28,)),
                             layers.Dense(10, activation="softmax")])


def mlogit():  # seed-000 §1.4 M3: multinomial logistic regression
    return nerve.Sequential([layers.Dense(10, activation="softmax", input_shape=(28 * 28,))])


def dropout_net():  # seed-000 §1.6 M4: two hidden layers + dropout
    return nerve.Sequential([
        layers.Dense(512, activation="relu", input_shape=(28 * 28,)), layers.Dropout(0.4),
        layers.Dense(256, activation="relu"), layers.Dropout(0.2),
        layers.Dense(10, activation="softmax")])


def autoencoder():  # seed-000 §1.16 M15: functional 784 -> 100 tanh -> 784 linear
    inp = nerve.Input(shape=(784,))
    enc = layers.Dense(100, activation="tanh")(inp)
    dec = layers.Dense(784)(enc)
    return nerve.Model(inputs=inp, outputs=dec)


def widenet():  # seed-001-part2 §1.13
    inpt_vec = nerve.Input(shape=(3072,), name="inpt_vec")
    d1 = layers.Dropout(0.5, name="d1")(inpt_vec)
    l1 = layers.Dense(3072, activation="relu", name="l1")(d1)
    d2 = layers.Dropout(0.2, name="d2")(l1)
    l2 = layers.Dense(3072, activation="relu", name="l2")(d2)
    output = layers.Dense(10, activation="sigmoid", name="output")(l2)
    return nerve.Model(inpt_vec, output, name="widenet")


def deepnet(l2=None):  # seed-001-part2 §1.14 (and §1.15 sparsenet with l2=1e-4): loop-built bottleneck
    reg = regularizers.l2(l2) if l2 else None
    inpt_vec = nerve.Input(shape=(3072,))
    units, dr = 3072, 0.5
    dl = layers.Dropout(dr)(inpt_vec)
    dl = layers.Dense(units, activation="relu", kernel_regularizer=reg)(dl)
    units, dr = units // 2, dr / 2
    while units > 10:
        dl = layers.Dropout(dr)(dl)
        dl = layers.Dense(units, activation="relu", kernel_regularizer=reg)(dl)
        units, dr = units // 2, dr / 1.5
    output = layers.Dense(10, activation="sigmoid", kernel_regularizer=reg)(dl)
    return nerve.Model(inpt_vec, output)


STATED = [  # (builder, total stated in the books, per-layer counts printed)
    (hitters, 1409, {"dense": 1344, "dense_1": 65}),
    (mnist_512, 407050, {"dense": 401920, "dense_1": 5130}),
    (mlogit, 7850, {}),
    (dropout_net, 535818, {"dense": 401920, "dense_1": 131328, "dense_2": 2570}),
    (autoencoder, 157684, {"dense": 78500, "dense_1": 79184}),
    (widenet, 18911242, {"l1": 9440256, "l2": 9440256, "output": 30730}),
    (deepnet, 15734806, {"dense": 9440256, "dense_8": 300, "dense_9": 130}),
    (lambda: deepnet(1e-4), 15734806, {}),  # sparsenet: "the summary is identical to deepnet"
]


def summary_totals(model):
    lines = []
    model.summary(print_fn=lines.append, line_length=100)
    text = "\n".join(lines)
    grab = {k: re.search(rf" {k} params: ([\d,]+) \(([\d.]+ [KMG]?B)\)", text) for k in
            ("Total", "Trainable", "Non-trainable")}
    return {k: (int(m.group(1).replace(",", "")), m.group(2)) for k, m in grab.items()}, text


@pytest.mark.parametrize("builder, total, per_layer", STATED, ids=[
    "hitters_1409", "mnist_407050", "mlogit_7850", "dropout_535818", "autoencoder_157684", "widenet_18911242",
    "deepnet_15734806", "sparsenet_15734806"])
def test_stated_parameter_counts(builder, total, per_layer):
    reset_uids()
    model = builder()
    assert model.count_params() == total
    totals, text = summary_totals(model)
    assert totals["Total"][0] == total
    assert totals["Trainable"][0] == total
    assert totals["Non-trainable"] == (0, "0.00 B")
    for name, count in per_layer.items():
        assert model.get_layer(name).count_params() == count
        assert re.search(rf"│ {name} \(Dense\) .*│ +{count:,} │", text), text


def test_summary_sizes_are_keras_identical():
    reset_uids()
    totals, text = summary_totals(mnist_512())
    assert totals["Total"] == (407050, "1.55 MB")
    totals, _ = summary_totals(hitters())
    assert totals["Total"] == (1409, "5.50 KB")
    assert text.startswith('Model: "sequential')


DERIVED = [  # counts the seed notes compute (not printed in the books)
    ("S4 FFNN 784-100-10", lambda: nerve.Sequential([nerve.Input((784,)), layers.Dense(100, activation="relu"),
                                                     layers.Dense(10, activation="softmax")]), 79510, 0),
    ("S3 AE 784-32-784", lambda: nerve.Sequential([nerve.Input((784,)), layers.Dense(32, activation="relu"),
                                                   layers.Dense(784, activation="sigmoid")]), 50992, 0),
    ("IMDb dropout AE", lambda: nerve.Sequential([
        nerve.Input((512,)), layers.Dense(256), layers.Activation("relu"), layers.Dropout(0.1), layers.Dense(128),
        layers.Activation("relu"), layers.Dense(512, activation="relu")]), 230272, 0),
    ("S4 BN model", lambda: nerve.Sequential([
        nerve.Input((784,)), layers.Dense(100), layers.BatchNormalization(), layers.Activation("relu"),
        layers.Dropout(0.3), layers.Dense(100), layers.Dropout(0.3), layers.Dense(10, activation="softmax")]),
     90010, 200),
    ("MLP-GAN discriminator", lambda: nerve.Sequential([
        nerve.Input((28, 28, 1)), layers.Flatten(), layers.Dropout(0.5), layers.Dense(512, activation="relu"),
        layers.Dense(256, activation="relu"), layers.Dense(1, activation="sigmoid")]), 533505, 0),
    ("MLP-GAN generator", lambda: nerve.Sequential([
        nerve.Input((100,)), layers.Dense(256, activation="relu"), layers.BatchNormalization(),
        layers.Dense(512, activation="relu"), layers.BatchNormalization(), layers.Dense(1024, activation="relu"),
        layers.BatchNormalization(), layers.Dropout(0.5), layers.Dense(784, activation="sigmoid"),
        layers.Reshape((28, 28, 1))]), 1493520, 3584),
]


@pytest.mark.parametrize("label, builder, total, non_trainable", DERIVED, ids=[d[0] for d in DERIVED])
def test_derived_parameter_counts(label, builder, total, non_trainable):
    model = builder()
    assert model.count_params() == total
    totals, _ = summary_totals(model)
    assert totals["Total"][0] == total
    assert totals["Non-trainable"][0] == non_trainable
    assert totals["Trainable"][0] == total - non_trainable
