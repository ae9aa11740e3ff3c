"""The Layer lifecycle: naming, tracking, weights, validation, training flag, masks, symbolic calls."""
import numpy as np
import pytest

import nerve
from nerve import backend, ops
from nerve.autograd.ops.nn import DenseFn
from nerve.layers import Dense, Input, Layer
from nerve.layers.layer import InputSpec


def test_automatic_names_are_unique():
    a, b = Dense(2), Dense(2)
    assert a.name != b.name and a.name.startswith("dense") and b.name.startswith("dense")
    assert Dense(2, name="head").name == "head"


def test_build_on_first_call_and_weight_paths():
    d = Dense(4, name="d0")
    assert not d.built
    y = d(np.ones((2, 3), np.float32))
    assert d.built and y.shape == (2, 4) and y.dtype == np.float32
    assert [w.path for w in d.weights] == ["d0/kernel", "d0/bias"]
    assert d.kernel.shape == (3, 4) and d.count_params() == 16


def test_input_spec_error_names_layer_expected_and_actual():
    d = Dense(4, name="dense_x")
    d(np.ones((2, 128)))
    with pytest.raises(ValueError, match=r"Dense 'dense_x': expected last axis 128, got input of shape \(32, 245\)"):
        d(np.ones((32, 245)))
    with pytest.raises(ValueError, match="rank >= 2"):
        Dense(3)(np.ones(5))


def test_unknown_kwarg_and_bad_units():
    with pytest.raises(TypeError, match="unexpected keyword"):
        Dense(3, unitz=4)
    with pytest.raises(ValueError, match="units"):
        Dense(0)


class Block(Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.a = Dense(3)
        self.b = Dense(2)
        self.scale = None

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x, training=None):
        self.seen_training = training
        return self.b(self.a(x)) * self.scale


def test_tracking_weights_order_and_trainable():
    blk = Block()
    blk(np.ones((1, 4)))
    names = [w.path.split("/")[-1] for w in blk.weights]
    assert names == ["scale", "count", "kernel", "bias", "kernel", "bias"]
    assert len(blk.trainable_weights) == 5 and len(blk.non_trainable_weights) == 1
    blk.trainable = False
    assert blk.trainable_weights == [] and len(blk.non_trainable_weights) == 6
    assert blk.a.trainable is False
    # freezing does not turn off requires_grad: the training step decides which variables get gradients
    assert blk.a.kernel.requires_grad


def test_training_flag_resolution():
    blk = Block()
    blk(np.ones((1, 4)))
    assert blk.seen_training is None  # no argument, no context: call's default (None), as Keras
    with backend.training_mode(False):
        blk(np.ones((1, 4)))
    assert blk.seen_training is False
    with backend.training_mode(True):
        blk(np.ones((1, 4)))
    assert blk.seen_training is True
    blk(np.ones((1, 4)), training=True)
    assert blk.seen_training is True


def test_get_set_weights_errors():
    d = Dense(2)
    d(np.ones((1, 3)))
    w = d.get_weights()
    d.set_weights([np.zeros_like(a) for a in w])
    assert np.all(d.kernel.numpy() == 0)
    with pytest.raises(ValueError, match="expected a list of 2"):
        d.set_weights(w[:1])
    with pytest.raises(ValueError, match=r"expected shape \(3, 2\), got \(2, 2\)"):
        d.set_weights([np.zeros((2, 2)), w[1]])


def test_activity_regularizer_losses_cleared_each_call():
    d = Dense(2, activity_regularizer="l2", kernel_regularizer="l1")
    d(np.ones((4, 3)))
    assert len(d.losses) == 2
    d(np.ones((4, 3)))
    assert len(d.losses) == 2  # the activity loss of the previous call is replaced, not accumulated


def test_symbolic_call_records_node_and_shape():
    x = Input((5,), name="inp")
    d = Dense(7)
    y = d(x)
    assert y.shape == (None, 7)
    assert d.input is x and d.output is y
    assert y._history[0] is d


class MaskingLayer(Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return np.any(inputs.data != 0, axis=-1)

    def call(self, x):
        return x


class MaskReader(Layer):
    def call(self, x, mask=None):
        self.got = mask
        return x


def test_mask_propagates_to_next_layer():
    x = np.array([[[1.0], [0.0], [2.0]]], np.float32)
    y = MaskingLayer()(x)
    r = MaskReader()
    r(y)
    assert r.got.tolist() == [[True, False, True]]


@pytest.mark.parametrize("act", ["linear", "relu", "sigmoid", "tanh"])
def test_fused_dense_kernel_gradcheck_and_matches_composite(act):
    rs = np.random.default_rng(0)
    x, w, b = rs.normal(size=(5, 4)), rs.normal(size=(4, 3)), rs.normal(size=(3,))
    nerve.gradcheck(lambda x, w, b: DenseFn.apply(x, w, b, activation=act), [x, w, b])
    nerve.gradcheck(lambda x, w: DenseFn.apply(x, w, None, activation=act), [rs.normal(size=(2, 3, 4)), w])
    f = {"linear": lambda z: z, "relu": ops.relu, "sigmoid": ops.sigmoid, "tanh": ops.tanh}[act]
    fused = DenseFn.apply(x, w, b, activation=act).numpy()
    composite = f(ops.add(ops.matmul(x, w), b)).numpy()
    np.testing.assert_allclose(fused, composite, rtol=1e-12, atol=1e-12)


def test_input_spec_axes_other_than_last():
    class L(Layer):
        def __init__(self):
            super().__init__()
            self.input_spec = InputSpec(ndim=3, axes={1: 5})

        def call(self, x):
            return x
    with pytest.raises(ValueError, match=r"expected axis 1 of size 5, got input of shape \(2, 4, 3\)"):
        L()(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="rank 3"):
        L()(np.ones((2, 5)))


def test_fast_call_inside_a_model_keeps_the_checks():
    """Inside a model a built layer takes Layer._fast_call: the input spec is still checked for each new
    input shape, dtypes are still cast, activity regularisers and masks still take the general path."""
    import nerve
    from nerve import layers as L

    inner = Dense(3, name="inner")

    class M(nerve.Model):
        def call(self, x):
            return inner(x)

    m = M()
    np.testing.assert_allclose(m(np.ones((2, 4), "float32")).numpy(), inner(np.ones((2, 4), "float32")).numpy())
    m(np.ones((2, 4), "float32"))  # the fast path, same shape
    with pytest.raises(ValueError, match="inner"):
        m(np.ones((2, 5), "float32"))  # a new last axis inside the model: the layer names itself
    assert m(np.ones((2, 4), "float64")).dtype == "float32"  # autocast kept
    reg = Dense(2, activity_regularizer="l2")
    seq = nerve.Sequential([L.Input((3,)), reg])
    seq(np.ones((4, 3), "float32"))
    assert len(seq.losses) == 1
    emb = nerve.Sequential([L.Input((5,), dtype="int64"), L.Embedding(10, 4, mask_zero=True), L.Dense(2)])
    out = emb(np.array([[1, 2, 0, 0, 0]]))
    assert out._keras_mask is not None and out._keras_mask.tolist() == [[True, True, False, False, False]]


def test_training_flag_order_is_argument_then_context_then_calls_default():
    """Keras 3: an augmentation layer (call(..., training=True)) augments when called directly, is the identity
    inside evaluate/predict, and a model called directly passes no flag down (each layer takes its default)."""
    from nerve import layers as L
    x = np.random.default_rng(0).uniform(0, 1, (16, 4, 4, 1)).astype("float32")  # 16 coin flips per call
    flip = L.RandomFlip("horizontal", seed=1)
    assert not np.allclose(flip(x).numpy(), x)
    np.testing.assert_array_equal(flip(x, training=False).numpy(), x)
    m = nerve.Sequential([L.Input((4, 4, 1)), L.RandomFlip("horizontal", seed=1), L.Dropout(0.99)])
    out = m(x).numpy()
    assert not np.allclose(out, x) and np.count_nonzero(out) == out.size  # flipped, dropout inactive
    np.testing.assert_array_equal(m.predict(x, verbose=0), x)
    np.testing.assert_array_equal(m(x, training=False).numpy(), x)
