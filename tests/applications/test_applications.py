"""Application builders (exact parameter counts and Keras layer names), weights from a nerve archive, the
PyTorch / Keras converters, and the frozen-base feature-extraction and fine-tuning pattern on a tiny base."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.applications import VGG16, AlexNet, LeNet5, convert


def test_vgg16_parameter_counts_and_names():
    model = VGG16()
    assert model.count_params() == 138357544
    names = [layer.name for layer in model.layers if layer.weights]
    assert names[:3] == ["block1_conv1", "block1_conv2", "block2_conv1"]
    assert names[-3:] == ["fc1", "fc2", "predictions"]
    assert model.get_layer("block1_conv1").count_params() == 1792
    assert model.get_layer("block5_pool").output.shape == (None, 7, 7, 512)
    assert model.output_shape == (None, 1000) and model.name == "vgg16"


def test_vgg16_conv_base_14714688():
    base = VGG16(include_top=False, input_shape=(150, 150, 3))
    assert base.count_params() == 14714688
    assert base.output_shape == (None, 4, 4, 512)
    counts = [layer.count_params() for layer in base.layers if layer.weights]
    assert counts == [1792, 36928, 73856, 147584, 295168, 590080, 590080, 1180160, 2359808, 2359808,
                      2359808, 2359808, 2359808]
    assert VGG16(include_top=False, pooling="avg", input_shape=(48, 48, 3)).output_shape == (None, 512)
    assert VGG16(include_top=False).output_shape == (None, None, None, 512)


def test_vgg16_errors():
    with pytest.raises(ValueError, match="imagenet.*convert"):
        VGG16(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"include_top=True.*\(224, 224, 3\)"):
        VGG16(input_shape=(150, 150, 3))
    with pytest.raises(ValueError, match="at least 32"):
        VGG16(include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="pooling"):
        VGG16(include_top=False, pooling="sum")


def test_alexnet_and_lenet():
    alex = AlexNet()
    assert alex.count_params() == 62378344
    fc_bias = sum(alex.get_layer(n).bias.shape[0] for n in ("fc6", "fc7", "fc8"))
    assert alex.count_params() - fc_bias == 62369152  # the seed's Table 7.1 total counts no dense biases
    assert [alex.get_layer(f"conv{i}").count_params() for i in range(1, 6)] == \
        [34944, 614656, 885120, 1327488, 884992]
    assert alex.get_layer("pool5").output.shape == (None, 6, 6, 256)
    lenet = LeNet5()
    assert lenet.count_params() == 61706
    assert [lenet.get_layer(n).output.shape for n in ("conv1", "pool1", "conv2", "pool2", "flatten")] == \
        [(None, 28, 28, 6), (None, 14, 14, 6), (None, 10, 10, 16), (None, 5, 5, 16), (None, 400)]


def test_weights_from_a_nerve_archive(tmp_path):
    a = LeNet5(classes=3)
    x = np.random.default_rng(0).standard_normal((2, 32, 32, 1)).astype("float32")
    path = str(tmp_path / "lenet.weights.npz")
    a.save_weights(path)
    b = LeNet5(classes=3, weights=path)
    np.testing.assert_allclose(b.predict(x, verbose=0), a.predict(x, verbose=0), atol=1e-6)


# ----------------------------------------------------------------------------------------- converters
def test_torch_state_dict_conversion_gives_identical_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(6 * 3 * 3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5))
    with torch.no_grad():  # non-trivial batch-norm statistics
        net[4].running_mean.uniform_(-1, 1)
        net[4].running_var.uniform_(0.5, 2)
        net[4].weight.uniform_(0.5, 1.5)
    net.eval()
    model = nerve.Sequential([
        L.Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(6, 3, padding="same"), L.BatchNormalization(epsilon=1e-5), L.Activation("relu"),
        L.Flatten(), L.Dense(16, activation="relu"), L.Dense(5)])
    convert.load_torch_state_dict(model, net.state_dict())
    x = np.random.default_rng(1).standard_normal((4, 8, 8, 3)).astype("float32")
    ref = net(torch.tensor(x.transpose(0, 3, 1, 2))).detach().numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, atol=1e-5)


def test_torch_conversion_conv1d_and_transpose_and_errors():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.Conv2d(3, 2, 1))
    model = nerve.Sequential([L.Input((4, 4, 2)), L.Conv2DTranspose(3, 3, strides=2), L.Conv2D(2, 1)])
    convert.load_torch_state_dict(model, net.state_dict())
    x = np.random.default_rng(2).standard_normal((2, 4, 4, 2)).astype("float32")
    ref = net(torch.tensor(x.transpose(0, 3, 1, 2))).detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, atol=1e-5)
    net1 = torch.nn.Conv1d(3, 5, 4)
    m1 = nerve.Sequential([L.Input((9, 3)), L.Conv1D(5, 4)])
    convert.load_torch_state_dict(m1, {k: v.numpy() for k, v in net1.state_dict().items()})
    x1 = np.random.default_rng(3).standard_normal((2, 9, 3)).astype("float32")
    np.testing.assert_allclose(m1.predict(x1, verbose=0),
                               net1(torch.tensor(x1.transpose(0, 2, 1))).detach().numpy().transpose(0, 2, 1), atol=1e-5)
    with pytest.raises(ValueError, match="1 parameterised modules.*2 layers"):
        convert.load_torch_state_dict(model, net1.state_dict())
    with pytest.raises(ValueError, match=r"expected shape"):
        convert.load_torch_state_dict(m1, torch.nn.Conv1d(3, 5, 2).state_dict())


def test_keras_weights_files(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = nerve.Sequential([L.Input((6, 6, 1)), L.Conv2D(2, 3, name="c"), L.Flatten(), L.Dense(3, name="d")])
    ws = [np.random.default_rng(i).standard_normal(w.shape).astype("float32") for i, w in enumerate(model.weights)]
    # Keras 3 layout: layers/<snake class name>[_n]/vars/<i>
    with h5py.File(tmp_path / "m.weights.h5", "w") as f:
        f.create_dataset("layers/conv2d/vars/0", data=ws[0])
        f.create_dataset("layers/conv2d/vars/1", data=ws[1])
        f.create_dataset("layers/dense/vars/0", data=ws[2])
        f.create_dataset("layers/dense/vars/1", data=ws[3])
    convert.load_keras_weights(model, str(tmp_path / "m.weights.h5"))
    for a, b in zip(model.get_weights(), ws):
        np.testing.assert_array_equal(a, b)
    # legacy Keras 2 .h5: model_weights/<layer>/<weight names>
    with h5py.File(tmp_path / "old.h5", "w") as f:
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = [b"c", b"flatten", b"d"]
        for name, pair in (("c", ws[:2]), ("d", ws[2:])):
            g = root.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            g.create_dataset(f"{name}/kernel:0", data=pair[0] * 2)
            g.create_dataset(f"{name}/bias:0", data=pair[1] * 2)
    convert.load_keras_weights(model, str(tmp_path / "old.h5"))
    np.testing.assert_array_equal(model.get_weights()[0], ws[0] * 2)


def test_keras_conversion_without_h5py_is_a_clear_error(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "h5py":
            raise ImportError("no h5py")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="needs h5py"):
        convert.load_keras_weights(LeNet5(), str(tmp_path / "x.h5"))


# ----------------------------------------------------------------------------------------- transfer learning
def _tiny_base():
    inp = L.Input((12, 12, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(inp)
    x = L.MaxPooling2D(name="block1_pool")(x)
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="block2_conv1")(x)
    x = L.MaxPooling2D(name="block2_pool")(x)
    return nerve.Model(inp, x, name="tiny_base")


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (48, 12, 12, 3)).astype("float32")
    y = (x[:, :6].mean(axis=(1, 2, 3)) > x[:, 6:].mean(axis=(1, 2, 3))).astype("float32")
    return x, y


def test_feature_extraction_then_fine_tuning():
    x, y = _data()
    base = _tiny_base()
    # 1) feature extraction as in seed-002 §2.6: predict features once, train a dense classifier on them
    feats = base.predict(x, verbose=0)
    assert feats.shape == (48, 3, 3, 8)
    head = nerve.Sequential([L.Input((3 * 3 * 8,)), L.Dense(16, activation="relu"), L.Dropout(0.5),
                             L.Dense(1, activation="sigmoid")])
    head.compile(optimizer="rmsprop", loss="binary_crossentropy")
    head.fit(feats.reshape(48, -1), y, epochs=2, batch_size=16, verbose=0)
    # 2) frozen base inside a model: only the head learns
    base.trainable = False
    model = nerve.Sequential([L.Input((12, 12, 3)), base, L.Flatten(), L.Dense(1, activation="sigmoid")])
    assert model.count_params() - sum(int(np.prod(w.shape)) for w in model.trainable_weights) == base.count_params()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    frozen = [w.copy() for w in base.get_weights()]
    head_before = model.layers[-1].get_weights()[0].copy()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for a, b in zip(base.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[-1].get_weights()[0], head_before)
    # 3) fine-tuning: unfreeze the last block only, recompile with a small learning rate
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block2")
    model.compile(optimizer=nerve.optimizers.Adam(1e-4), loss="binary_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    after = base.get_weights()
    np.testing.assert_array_equal(after[0], frozen[0])  # block1_conv1 kernel still frozen
    assert not np.array_equal(after[2], frozen[2])  # block2_conv1 kernel moved
