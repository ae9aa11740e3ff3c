"""Adaptive pooling layers (Keras 3 AdaptiveAverage/AdaptiveMaxPooling1D/2D/3D): PyTorch parity of the outputs
and of the gradients (windows that overlap when the output size does not divide the input's), both data
formats, the Keras-style layer checks with float64 gradchecks, a saved model, errors."""
import numpy as np
import pytest

import nerve
from nerve import layers as L
from nerve.autograd.tensor import tensor

from harness import layer_test

torch = pytest.importorskip("torch")
F = torch.nn.functional

LAYERS = {  # class -> (spatial rank, torch function)
    L.AdaptiveAveragePooling1D: (1, F.adaptive_avg_pool1d),
    L.AdaptiveAveragePooling2D: (2, F.adaptive_avg_pool2d),
    L.AdaptiveAveragePooling3D: (3, F.adaptive_avg_pool3d),
    L.AdaptiveMaxPooling1D: (1, F.adaptive_max_pool1d),
    L.AdaptiveMaxPooling2D: (2, F.adaptive_max_pool2d),
    L.AdaptiveMaxPooling3D: (3, F.adaptive_max_pool3d),
}
SPATIAL = {1: (11,), 2: (7, 9), 3: (5, 6, 7)}
OUT = {1: (4,), 2: (3, 4), 3: (2, 4, 3)}  # 7 -> 3, 6 -> 4, ...: overlapping and uneven windows


def _distinct(shape, seed=0):
    """A permutation of 0..n-1, scaled: no ties, so max pooling's gradient is unique."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / np.prod(shape)).astype("float64")


@pytest.mark.parametrize("cls", list(LAYERS), ids=lambda c: c.__name__)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_torch_forward_and_backward(cls, data_format):
    rank, fn = LAYERS[cls]
    first = (2, 3) + SPATIAL[rank]  # torch layout (N, C, spatial...)
    xt = _distinct(first)
    x = xt if data_format == "channels_first" else np.moveaxis(xt, 1, -1)
    g = np.random.default_rng(1).standard_normal((2, 3) + OUT[rank])  # upstream gradient, torch layout
    t = torch.tensor(xt, requires_grad=True)
    ref = fn(t, OUT[rank])
    (ref * torch.tensor(g)).sum().backward()

    xn = tensor(x, requires_grad=True)
    y = cls(OUT[rank], data_format=data_format, dtype="float64")(xn)
    gl = g if data_format == "channels_first" else np.moveaxis(g, 1, -1)
    (y * tensor(gl)).sum().backward()
    to_first = (lambda a: a) if data_format == "channels_first" else (lambda a: np.moveaxis(a, -1, 1))
    np.testing.assert_allclose(to_first(y.numpy()), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(to_first(xn.grad.numpy()), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", list(LAYERS), ids=lambda c: c.__name__)
def test_layer_checks_gradcheck_and_save(cls, tmp_path):
    rank = LAYERS[cls][0]
    shape = (2,) + SPATIAL[rank] + (2,)
    layer_test(cls, {"output_size": OUT[rank]}, input_data=_distinct(shape).astype("float32"),
               expected_output_shape=(2,) + OUT[rank] + (2,), parts=("core", "save"), tmp_path=tmp_path,
               run_gradcheck=False)
    layer_test(cls, {"output_size": OUT[rank]}, input_shape=shape, parts=("core",))  # float64 gradcheck


def test_int_output_size_bigger_than_input_and_channels_first_shape():
    x = np.arange(2 * 3 * 3 * 5, dtype="float32").reshape(2, 3, 3, 5)
    layer = L.AdaptiveAveragePooling2D(6)
    assert layer.output_size == (6, 6)
    y = layer(x).numpy()  # 3 -> 6: output i pools [floor(i / 2), ceil((i + 1) / 2)), one element read twice
    assert y.shape == (2, 6, 6, 5)
    np.testing.assert_array_equal(y, x.repeat(2, axis=1).repeat(2, axis=2))
    cf = L.AdaptiveMaxPooling3D((1, 2, 3), data_format="channels_first")
    assert cf.compute_output_shape((None, 4, 5, 6, 7)) == (None, 4, 1, 2, 3)
    assert cf(np.zeros((1, 4, 5, 6, 7), "float32")).shape == (1, 4, 1, 2, 3)
    assert L.AdaptiveMaxPooling1D(3).get_config()["output_size"] == [3]


def test_global_pool_special_case_and_in_a_model():
    x = np.random.default_rng(0).standard_normal((4, 6, 5, 3)).astype("float32")
    np.testing.assert_allclose(L.AdaptiveAveragePooling2D(1)(x).numpy()[:, 0, 0], x.mean((1, 2)), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(L.AdaptiveMaxPooling2D((1, 1))(x).numpy()[:, 0, 0], x.max((1, 2)))
    model = nerve.Sequential([L.Input((None, None, 3)), L.Conv2D(4, 3), L.AdaptiveAveragePooling2D(2),
                              L.Flatten(), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    h = model.fit(x, np.zeros((4, 2), "float32"), epochs=2, verbose=0)
    assert np.all(np.isfinite(h.history["loss"]))
    assert model.predict(np.zeros((1, 9, 7, 3), "float32"), verbose=0).shape == (1, 2)  # any input size


@pytest.mark.parametrize("make, msg", [
    (lambda: L.AdaptiveAveragePooling2D((2, 2, 2)), "output_size"),
    (lambda: L.AdaptiveMaxPooling1D(0), "output_size"),
    (lambda: L.AdaptiveMaxPooling3D("2"), "output_size"),
    (lambda: L.AdaptiveAveragePooling2D(2, data_format="NHWC"), "data_format"),
])
def test_argument_errors(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_wrong_rank_input():
    with pytest.raises(ValueError, match="rank 4"):
        L.AdaptiveAveragePooling2D(2)(np.zeros((2, 5, 3), "float32"))
