"""Conv1D / Conv2D / Conv2DTranspose: Keras-style layer checks with float64 gradchecks, PyTorch parity with
copied weights (forward and backward), errors, and the exact parameter counts of the seeds' conv nets."""
import re

import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.tensor import tensor

from harness import layer_test

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("kw, shape, out", [
    ({"filters": 3, "kernel_size": 3}, (2, 7, 2), (2, 5, 3)),
    ({"filters": 2, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 7, 2), (2, 4, 2)),
    ({"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 2, "activation": "relu"},
     (2, 6, 3), (2, 6, 2)),
    ({"filters": 2, "kernel_size": 3, "use_bias": False, "activation": "tanh"}, (1, 5, 2), (1, 3, 2)),
])
def test_conv1d_layer(kw, shape, out):
    layer_test(L.Conv1D, kw, input_shape=shape, expected_output_shape=out,
               expected_num_trainable_weights=1 + kw.get("use_bias", True), parts=("core",))


@pytest.mark.parametrize("kw, shape, out", [
    ({"filters": 3, "kernel_size": 3}, (2, 6, 5, 2), (2, 4, 3, 3)),
    ({"filters": 2, "kernel_size": (3, 2), "strides": (2, 1), "padding": "same", "activation": "relu"},
     (2, 5, 6, 3), (2, 3, 6, 2)),
    ({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "activation": "sigmoid"}, (1, 7, 7, 1), (1, 3, 3, 2)),
    ({"filters": 2, "kernel_size": 2, "strides": 3, "use_bias": False}, (2, 7, 8, 2), (2, 2, 3, 2)),
])
def test_conv2d_layer(kw, shape, out):
    layer_test(L.Conv2D, kw, input_shape=shape, expected_output_shape=out,
               expected_num_trainable_weights=1 + kw.get("use_bias", True), parts=("core",))


@pytest.mark.parametrize("kw, shape, out", [
    ({"filters": 2, "kernel_size": 3}, (2, 4, 3, 3), (2, 6, 5, 2)),
    ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "relu"},
     (2, 3, 4, 2), (2, 6, 8, 3)),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, (1, 3, 3, 2), (1, 8, 8, 2)),
    ({"filters": 2, "kernel_size": (2, 3), "strides": (2, 1), "use_bias": False}, (2, 3, 3, 1), (2, 6, 5, 2)),
])
def test_conv2d_transpose_layer(kw, shape, out):
    layer_test(L.Conv2DTranspose, kw, input_shape=shape, expected_output_shape=out,
               expected_num_trainable_weights=1 + kw.get("use_bias", True), parts=("core",))


def test_conv_save_and_fit(tmp_path):
    layer_test(L.Conv2D, {"filters": 2, "kernel_size": 3, "activation": "relu"}, input_shape=(4, 5, 5, 2),
               parts=("save", "fit"), tmp_path=tmp_path, expected_num_trainable_weights=2)
    layer_test(L.Conv1D, {"filters": 2, "kernel_size": 2, "padding": "causal"}, input_shape=(4, 5, 2),
               parts=("save", "fit"), tmp_path=tmp_path, expected_num_trainable_weights=2)
    layer_test(L.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
               input_shape=(4, 3, 3, 2), parts=("save", "fit"), tmp_path=tmp_path, expected_num_trainable_weights=2)


# ----------------------------------------------------------------------------------------- PyTorch parity
def _grads(layer, x, g):
    xt = tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(tensor(g))
    return y.numpy(), xt.grad.numpy(), [w.grad.numpy() for w in layer.trainable_weights]


def _torch_run(mod, x_t, g_t):
    x_t.requires_grad_(True)
    y = mod(x_t)
    y.backward(g_t)
    return y, x_t.grad


@pytest.mark.parametrize("padding, strides, dilation, cin", [
    ("valid", 1, 1, 3), ("same", 1, 1, 3), ("valid", 2, 1, 3), ("same", 1, 2, 3), ("valid", 1, 3, 3),
    ("valid", 1, 1, 9), ("valid", 2, 1, 9), ("same", 1, 2, 9)])  # cin >= 8 takes the shifted-GEMM input gradient
def test_conv2d_matches_torch(padding, strides, dilation, cin):
    rng = np.random.default_rng(0)
    with nerve.backend.precision("float64"):
        layer = L.Conv2D(4, (3, 3), strides=strides, padding=padding, dilation_rate=dilation, dtype="float64")
        x = rng.standard_normal((2, 9, 8, cin))
        layer(x)
        layer.set_weights([rng.standard_normal(w.shape) for w in layer.weights])
        y, gx, (gw, gb) = _grads(layer, x, g := rng.standard_normal(layer.compute_output_shape(x.shape)))
    kernel, bias = layer.get_weights()
    tp = "same" if padding == "same" else 0
    conv = torch.nn.Conv2d(cin, 4, 3, stride=strides, padding=tp, dilation=dilation).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(kernel.transpose(3, 2, 0, 1)))
        conv.bias.copy_(torch.tensor(bias))
    ty, tgx = _torch_run(conv, torch.tensor(x.transpose(0, 3, 1, 2)), torch.tensor(g.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(gx, tgx.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(gw, conv.weight.grad.numpy().transpose(2, 3, 1, 0), atol=1e-10)
    np.testing.assert_allclose(gb, conv.bias.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("padding, strides, dilation", [("valid", 1, 1), ("same", 1, 1), ("valid", 2, 1),
                                                        ("causal", 1, 2)])
def test_conv1d_matches_torch(padding, strides, dilation):
    rng = np.random.default_rng(1)
    with nerve.backend.precision("float64"):
        layer = L.Conv1D(3, 3, strides=strides, padding=padding, dilation_rate=dilation, dtype="float64")
        x = rng.standard_normal((2, 10, 2))
        layer(x)
        layer.set_weights([rng.standard_normal(w.shape) for w in layer.weights])
        g = rng.standard_normal(layer.compute_output_shape(x.shape))
        y, gx, (gw, gb) = _grads(layer, x, g)
    kernel, bias = layer.get_weights()
    conv = torch.nn.Conv1d(2, 3, 3, stride=strides, padding="same" if padding == "same" else 0,
                           dilation=dilation).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(kernel.transpose(2, 1, 0)))
        conv.bias.copy_(torch.tensor(bias))
    xt = torch.tensor(x.transpose(0, 2, 1))
    if padding == "causal":
        xt = torch.nn.functional.pad(xt, (2 * dilation, 0)).detach()
        xt.requires_grad_(True)
        ty, tgx = _torch_run(conv, xt, torch.tensor(g.transpose(0, 2, 1)))
        tgx = tgx[:, :, 2 * dilation:]
    else:
        ty, tgx = _torch_run(conv, xt, torch.tensor(g.transpose(0, 2, 1)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 1), atol=1e-10)
    np.testing.assert_allclose(gx, tgx.numpy().transpose(0, 2, 1), atol=1e-10)
    np.testing.assert_allclose(gw, conv.weight.grad.numpy().transpose(2, 1, 0), atol=1e-10)
    np.testing.assert_allclose(gb, conv.bias.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("strides, padding, output_padding", [(1, "valid", None), (2, "valid", None),
                                                              (2, "same", None), (2, "valid", 1)])
def test_conv2d_transpose_matches_torch(strides, padding, output_padding):
    rng = np.random.default_rng(2)
    k = 3 if padding == "valid" else 4  # torch 'same' for stride 2: k = 4, padding 1 gives 2n, as Keras
    with nerve.backend.precision("float64"):
        layer = L.Conv2DTranspose(3, k, strides=strides, padding=padding, output_padding=output_padding,
                                  dtype="float64")
        x = rng.standard_normal((2, 4, 5, 2))
        layer(x)
        layer.set_weights([rng.standard_normal(w.shape) for w in layer.weights])
        g = rng.standard_normal(layer.compute_output_shape(x.shape))
        y, gx, (gw, gb) = _grads(layer, x, g)
    kernel, bias = layer.get_weights()  # (kh, kw, out, in)
    tpad = 1 if padding == "same" else 0
    conv = torch.nn.ConvTranspose2d(2, 3, k, stride=strides, padding=tpad, output_padding=output_padding or 0).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(kernel.transpose(3, 2, 0, 1)))
        conv.bias.copy_(torch.tensor(bias))
    ty, tgx = _torch_run(conv, torch.tensor(x.transpose(0, 3, 1, 2)), torch.tensor(g.transpose(0, 3, 1, 2)))
    assert y.shape == ty.shape[:1] + ty.shape[2:] + ty.shape[1:2]
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(gx, tgx.numpy().transpose(0, 2, 3, 1), atol=1e-10)
    np.testing.assert_allclose(gw, conv.weight.grad.numpy().transpose(2, 3, 1, 0), atol=1e-10)
    np.testing.assert_allclose(gb, conv.bias.grad.numpy(), atol=1e-10)


def test_fused_relu_equals_separate_activation():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 6, 2)).astype("float32")
    a = L.Conv2D(3, 3, activation="relu")
    b = L.Conv2D(3, 3)
    a(x), b(x)
    b.set_weights(a.get_weights())
    xa, xb = tensor(x, requires_grad=True), tensor(x, requires_grad=True)
    ya, yb = a(xa), nerve.ops.relu(b(xb))
    np.testing.assert_allclose(ya.numpy(), yb.numpy(), atol=1e-6)
    ya.sum().backward(), yb.sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(a.kernel.grad.numpy(), b.kernel.grad.numpy(), atol=1e-5)


# ----------------------------------------------------------------------------------------- API and errors
def test_names_config_and_symbolic_shapes():
    c = L.Conv2D(8, 3)
    assert re.fullmatch(r"conv2d(_\d+)?", c.name)
    assert re.fullmatch(r"conv2d_transpose(_\d+)?", L.Conv2DTranspose(2, 2).name)
    assert re.fullmatch(r"conv1d(_\d+)?", L.Conv1D(2, 2).name)
    cfg = c.get_config()
    assert cfg["kernel_size"] == [3, 3] and cfg["strides"] == [1, 1] and cfg["padding"] == "valid"
    assert cfg["data_format"] == "channels_last" and cfg["groups"] == 1 and cfg["dilation_rate"] == [1, 1]
    assert c(L.Input((None, None, 3))).shape == (None, None, None, 8)
    assert L.Conv2D(4, 3, strides=2, padding="same")(L.Input((15, 16, 1))).shape == (None, 8, 8, 4)
    assert L.Conv1D(4, 5, padding="causal")(L.Input((None, 2))).shape == (None, None, 4)
    assert L.Conv2DTranspose(4, 5, strides=2, padding="same")(L.Input((7, 7, 8))).shape == (None, 14, 14, 4)
    assert L.Convolution2D is L.Conv2D


def test_errors_name_layer_and_values():
    with pytest.raises(ValueError, match=r"Conv2D 'cv'.*channels_first"):
        L.Conv2D(2, 3, data_format="channels_first", name="cv")
    with pytest.raises(ValueError, match=r"groups.*expected 1.*got 2"):
        L.Conv2D(2, 3, groups=2)
    with pytest.raises(ValueError, match=r"strides > 1.*dilation_rate > 1"):
        L.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"kernel_size.*tuple of 2.*\(3, 3, 3\)"):
        L.Conv2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match=r"filters.*positive integer.*0"):
        L.Conv1D(0, 3)
    with pytest.raises(ValueError, match=r"padding.*causal"):
        L.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"output_padding.*smaller than the strides"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"Conv2D 'c4': expected input of rank 4, got input of shape \(2, 5, 3\)"):
        c4 = L.Conv2D(2, 3, name="c4")
        c4(np.zeros((2, 5, 5, 3), "float32"))
        c4(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"Conv2D 'c5': expected last axis 3, got input of shape \(1, 5, 5, 2\)"):
        c5 = L.Conv2D(2, 3, name="c5")
        c5(np.zeros((1, 5, 5, 3), "float32"))
        c5(np.zeros((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match=r"too small"):
        L.Conv2D(2, 5)(L.Input((3, 8, 1)))


# ----------------------------------------------------------------------------------------- seeds' parameter counts
def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_cifar_cnn_238666():
    inp = L.Input((32, 32, 3))
    x = L.Conv2D(64, (9, 9), strides=(2, 2), activation="relu")(inp)
    x = L.BatchNormalization()(L.MaxPooling2D((2, 2))(x))
    x = L.Conv2D(128, (3, 3), activation="relu")(x)
    x = L.BatchNormalization()(L.MaxPooling2D((2, 2))(x))
    x = L.Dropout(0.5)(L.Flatten()(x))
    x = L.Dropout(0.2)(L.Dense(256, activation="relu")(x))
    x = L.Dropout(0.1)(L.Dense(64, activation="relu")(x))
    model = nerve.Model(inp, L.Dense(10, activation="sigmoid")(x))
    assert model.count_params() == 238666 and _trainable(model) == 238282
    assert [layer.count_params() for layer in model.layers if layer.weights] == \
        [15616, 256, 73856, 512, 131328, 16448, 650]


def test_s0_mnist_cnn_485066():
    model = nerve.Sequential([
        L.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"),
        L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"), L.Flatten(), L.Dense(512, activation="relu"),
        L.Dropout(0.4), L.Dense(256, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")])
    assert model.count_params() == 485066
    assert [layer.count_params() for layer in model.layers if layer.weights] == \
        [320, 18496, 36928, 295424, 131328, 2570]


def _s4(conv2=None, dense=(100,), act="relu", drop=False):
    layers = [L.Input((28, 28, 1)), L.Conv2D(20, 5, activation=act), L.MaxPooling2D(2)]
    if conv2:
        layers += [L.Conv2D(conv2, 5, activation=act), L.MaxPooling2D(2)]
    layers.append(L.Flatten())
    for units in dense:
        layers.append(L.Dense(units, activation=act))
        if drop:
            layers.append(L.Dropout(0.5))
    layers.append(L.Dense(10, activation="softmax"))
    return nerve.Sequential(layers)


def test_s4_mnist_cnns():
    assert _s4().count_params() == 289630
    assert _s4(conv2=40, act="sigmoid").count_params() == 85670
    assert _s4(conv2=40, dense=(1000, 1000), drop=True).count_params() == 1672570


def test_seed002_cats_dogs_cnn_3453121():
    layers = [L.Input((150, 150, 3))]
    for f in (32, 64, 128, 128):
        layers += [L.Conv2D(f, (3, 3)), L.Activation("relu"), L.MaxPooling2D((2, 2))]
    model = nerve.Sequential(layers + [L.Flatten(), L.Dense(512, activation="relu"), L.Dense(1, activation="sigmoid")])
    assert model.count_params() == 3453121
    assert [layer.count_params() for layer in model.layers if layer.weights] == \
        [896, 18496, 73856, 147584, 3211776, 513]


def test_dcgan_generator_2343681_and_critic_212865():
    noise = L.Input((100,))
    g = L.BatchNormalization()(L.Dense(7 * 7 * 256, activation="relu")(noise))
    g = L.Reshape((7, 7, 256))(g)
    g = L.BatchNormalization()(L.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", activation="relu")(g))
    g = L.BatchNormalization()(L.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", activation="relu")(g))
    g = L.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", activation="sigmoid")(g)
    generator = nerve.Model(noise, g)
    assert generator.output_shape == (None, 28, 28, 1)
    assert generator.count_params() == 2343681 and _trainable(generator) == 2318209
    img = L.Input((28, 28, 1))
    d = L.Dropout(0.3)(L.Conv2D(64, (5, 5), strides=(2, 2), padding="same", activation="relu")(img))
    d = L.Dropout(0.3)(L.Conv2D(128, (5, 5), strides=(2, 2), padding="same", activation="relu")(d))
    critic = nerve.Model(img, L.Dense(1, activation="sigmoid")(L.Flatten()(d)))
    assert critic.count_params() == 212865
    assert [layer.count_params() for layer in critic.layers if layer.weights] == [1664, 204928, 6273]
    out = critic(generator(np.random.default_rng(0).uniform(size=(2, 100)).astype("float32")))
    assert out.shape == (2, 1)
