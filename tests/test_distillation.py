"""Knowledge distillation (nerve.distillation): the losses against their formulas, a student trained from a
frozen teacher, the loss bookkeeping, saving, and the errors."""
import numpy as np
import pytest

import nerve
from nerve import layers
from nerve.distillation import Distiller, FeatureDistillation, LogitsDistillation


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_logits_distillation_is_t2_kl_of_softened_outputs():
    rng = np.random.default_rng(0)
    zt, zs = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    T = 3.0
    p, q = _softmax(zt / T), _softmax(zs / T)
    want = T * T * np.mean(np.sum(p * np.log(p / q), axis=-1))
    for loss in ("kl_divergence", nerve.losses.KLDivergence(), nerve.losses.kl_divergence):
        got = LogitsDistillation(T, loss=loss).compute_loss(nerve.tensor(zt), nerve.tensor(zs))
        np.testing.assert_allclose(float(got.numpy()), want, rtol=1e-6)
    mse = LogitsDistillation(2.0, loss="mse").compute_loss(nerve.tensor(zt), nerve.tensor(zs))
    np.testing.assert_allclose(float(mse.numpy()), np.mean((zt / 2 - zs / 2) ** 2), rtol=1e-6)
    two = LogitsDistillation(T, loss=["kl_divergence", None]).compute_loss([nerve.tensor(zt)] * 2,
                                                                         [nerve.tensor(zs)] * 2)
    np.testing.assert_allclose(float(two.numpy()), want, rtol=1e-6)  # None skips the second output


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 20)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] * x[:, 2] > 0)
    return x, y


def _teacher(x, y):
    nerve.set_random_seed(0)
    teacher = nerve.Sequential([nerve.Input((20,)), layers.Dense(128, activation="relu", name="t1"),
                                layers.Dense(3, name="t_out")])
    teacher.compile(nerve.optimizers.Adam(0.01), nerve.losses.SparseCategoricalCrossentropy(from_logits=True))
    teacher.fit(x, y, epochs=20, verbose=0)
    return teacher


def test_distiller_trains_the_student_and_keeps_the_teacher(tmp_path):
    x, y = _data()
    teacher = _teacher(x, y)
    t0 = [w.numpy().copy() for w in teacher.weights]
    student = nerve.Sequential([nerve.Input((20,)), layers.Dense(8, activation="relu"), layers.Dense(3)])
    d = Distiller(teacher, student, LogitsDistillation(temperature=3.0), student_loss_weight=0.3)
    d.compile(nerve.optimizers.Adam(0.01), loss=nerve.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    assert len(d.trainable_weights) == len(student.trainable_weights)  # the teacher is frozen
    hist = d.fit(x, y, epochs=20, verbose=0).history
    assert set(hist) == {"loss", "accuracy", "student_loss", "distillation_loss", "total_loss"}
    assert hist["accuracy"][-1] > 0.8 and hist["distillation_loss"][-1] < 0.5 * hist["distillation_loss"][0]
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(t0, teacher.weights))
    r = d.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(r["total_loss"], 0.3 * r["student_loss"] + 0.7 * r["distillation_loss"], rtol=1e-5)
    np.testing.assert_allclose(r["loss"], r["total_loss"], rtol=1e-6)
    path = str(tmp_path / "d.keras")
    d.save(path)
    back = nerve.saving.load_model(path)
    assert isinstance(back, Distiller) and back.student_loss_weight == 0.3
    np.testing.assert_array_equal(back.predict(x[:8], verbose=0), d.predict(x[:8], verbose=0))


def test_feature_distillation_matches_named_layers():
    x, y = _data()
    teacher = _teacher(x, y)
    student = nerve.Sequential([nerve.Input((20,)), layers.Dense(128, activation="relu", name="s1"),
                                layers.Dense(3)])
    fd = FeatureDistillation("mse", teacher_layer_name="t1", student_layer_name="s1")
    d = Distiller(teacher, student, [LogitsDistillation(), fd], distillation_loss_weights=[1.0, 0.5],
                  student_loss_weight=0.0)
    d.compile("adam", loss="sparse_categorical_crossentropy")
    xb = x[:32]
    feats_t = nerve.Model(teacher.inputs, teacher.get_layer("t1").output)(xb).numpy()
    feats_s = nerve.Model(student.inputs, student.get_layer("s1").output)(xb).numpy()
    got = fd.compute_loss(nerve.tensor(feats_t), nerve.tensor(feats_s))
    np.testing.assert_allclose(float(got.numpy()), np.mean((feats_t - feats_s) ** 2), rtol=1e-5)
    total = d.compute_loss(xb, y[:32], training=False)
    logits = LogitsDistillation().compute_loss(teacher(xb), student(xb))
    np.testing.assert_allclose(float(total.numpy()), float(logits.numpy()) + 0.5 * float(got.numpy()), rtol=1e-5)
    d.fit(x, y, epochs=1, verbose=0)


def test_errors_name_the_argument():
    x, y = _data()
    teacher = _teacher(x[:64], y[:64])
    student = nerve.Sequential([nerve.Input((20,)), layers.Dense(3)])
    with pytest.raises(ValueError, match="'student_loss_weight' expected a number in \\[0, 1\\]"):
        Distiller(teacher, student, LogitsDistillation(), student_loss_weight=1.5)
    with pytest.raises(ValueError, match="'distillation_losses' expected a DistillationLoss"):
        Distiller(teacher, student, "kl_divergence")
    with pytest.raises(ValueError, match="2 distillation_loss_weights for 1"):
        Distiller(teacher, student, LogitsDistillation(), distillation_loss_weights=[1, 2])
    with pytest.raises(ValueError, match="in the student model"):
        Distiller(teacher, student, FeatureDistillation(teacher_layer_name="t1", student_layer_name="nope"))
    with pytest.raises(ValueError, match="'temperature' must be positive"):
        LogitsDistillation(temperature=0)
    with pytest.raises(ValueError, match="at least one loss"):
        FeatureDistillation(loss=None)
    with pytest.raises(ValueError, match="argument 'loss' \\(the student's loss\\) is required"):
        Distiller(teacher, student, LogitsDistillation()).compile("adam")
