"""Autoencoders: ``Autoencoder`` (encoder and decoder sub-models), ``ContractiveAutoencoder`` (Jacobian
penalty in a custom ``train_step``), builders for the usual kinds and greedy layer-wise pretraining.

An autoencoder minimises (1/N) sum_i L(x_i, g(f(x_i))) with encoder f and decoder g (seed-001 §6.6,
seed-000 §1.16). With identity activations and squared error its optimum spans the PCA subspace.
Kinds built here: undercomplete / stacked (symmetric, optional tied weights W_dec = W_enc^T),
deep with BatchNormalization + Dropout, denoising (Gaussian or masking corruption of the input in
training, clean target), sparse (L1 activity or KL sparsity on the code), contractive, convolutional
and LSTM sequence autoencoders (book examples in ``book_models.py``).
"""
import numpy as np

from .. import backend, ops
from ..autograd.tensor import Tensor
from ..layers import (BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, GaussianNoise, Input,
                      MaxPooling2D, UpSampling2D, Activation)
from ..models.model import Model
from ..saving.registry import deserialize, register, serialize
from ._steps import backward_and_apply, gradient_variables
from .layers import _TIE_SCOPE, DenseTranspose, KLSparsity, MaskingNoise


@register("models")
@register("layers")
class Autoencoder(Model):
    """``decoder(encoder(x))``; ``encoder`` and ``decoder`` are models usable on their own.

    Train with ``compile(loss=...)`` and ``fit(x, x)`` (or ``fit(x_noisy, x_clean)``).
    """

    def __init__(self, encoder, decoder, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        if getattr(encoder, "built", False) and getattr(decoder, "built", False):
            shape = getattr(encoder, "_build_shapes", None)
            try:
                shape = encoder.inputs[0].shape
            except (AttributeError, IndexError, TypeError):
                pass
            if shape is not None:
                self._build_shapes = tuple(shape)
            self.built = True

    def call(self, inputs, training=None):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    # -------------------------------------------------------------- NumPy helpers
    def encode(self, x, batch_size=256):
        return self.encoder.predict(x, batch_size=batch_size, verbose=0)

    def decode(self, z, batch_size=256):
        return self.decoder.predict(z, batch_size=batch_size, verbose=0)

    def reconstruct(self, x, batch_size=256):
        return self.predict(x, batch_size=batch_size, verbose=0)

    def reconstruction_error(self, x, batch_size=256, kind="mse"):
        """Per-sample error between x and its reconstruction (see ``anomaly.reconstruction_errors``)."""
        from .anomaly import reconstruction_errors
        return reconstruction_errors(self, x, batch_size=batch_size, kind=kind)

    # -------------------------------------------------------------- config
    def get_config(self):
        cfg = super().get_config()
        cfg.update({"encoder": serialize(self.encoder), "decoder": serialize(self.decoder)})
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        encoder = deserialize(config.pop("encoder"), kind="models", custom_objects=custom_objects)
        # a tied decoder names encoder Dense layers: make them resolvable while it is rebuilt
        _TIE_SCOPE.append({layer.name: layer for layer in _all_layers(encoder)})
        try:
            decoder = deserialize(config.pop("decoder"), kind="models", custom_objects=custom_objects)
        finally:
            _TIE_SCOPE.pop()
        return cls(encoder, decoder, **config)


def _all_layers(model):
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if hasattr(layer, "layers") and layer is not model:
            out.extend(_all_layers(layer))
    return out


def _act_derivative(dense, h):
    """d act / d a as a function of the activation output h, for the analytic contractive penalty."""
    from .. import activations
    act = dense.activation
    if act is activations.sigmoid:
        return ops.multiply(h, ops.subtract(1.0, h))
    if act is activations.tanh:
        return ops.subtract(1.0, ops.square(h))
    if act is activations.linear:
        return None
    if act is activations.relu:
        return (h.data > 0).astype(h.data.dtype)
    return False


def jacobian_penalty(encoder, x, probes=1, sigma=1e-2, rng=None):
    """||J_f(x)||_F^2 averaged over the batch, J = d code / d x (Rifai et al. 2011).

    A one-Dense encoder (sigmoid, tanh, relu or linear) gets the exact closed form
    sum_j f'(a_j)^2 sum_i W_ij^2 (no double backward needed). Any other encoder gets the unbiased
    finite-difference estimate E_eps ||f(x + sigma eps) - f(x)||^2 / sigma^2, eps ~ N(0, I), since
    E||J eps||^2 = ||J||_F^2 (our engine has no double backward, so J itself is never formed).
    """
    layers = [lay for lay in getattr(encoder, "layers", []) if type(lay).__name__ != "InputLayer"]
    if len(layers) == 1 and isinstance(layers[0], Dense):
        dense = layers[0]
        h = encoder(x, training=True)
        d = _act_derivative(dense, h)
        if d is not False:
            col = ops.sum(ops.square(dense.kernel), axis=0)  # sum_i W_ij^2, one per code unit
            if d is None:
                return ops.sum(col)
            return ops.mean(ops.sum(ops.multiply(ops.square(d), col), axis=1))
    rng = rng or backend.rng()
    h = encoder(x, training=False)  # inference mode: noise/dropout layers must not enter the difference
    xd = x.data if isinstance(x, Tensor) else backend.as_array(x, dtype=encoder.dtype)
    total = None
    for _ in range(int(probes)):
        eps = rng.standard_normal(xd.shape).astype(xd.dtype) * xd.dtype.type(sigma)
        diff = ops.subtract(encoder(xd + eps, training=False), h)
        term = ops.mean(ops.sum(ops.reshape(ops.square(diff), (xd.shape[0], -1)), axis=1))
        total = term if total is None else ops.add(total, term)
    return ops.divide(total, float(probes) * sigma * sigma)


@register("models")
@register("layers")
class ContractiveAutoencoder(Autoencoder):
    """Autoencoder whose loss adds ``lam * ||J_f(x)||_F^2`` (the contractive penalty), via ``train_step``."""

    def __init__(self, encoder, decoder, lam=1e-4, name=None, **kwargs):
        super().__init__(encoder, decoder, name=name, **kwargs)
        self.lam = float(lam)
        from .. import metrics
        self.contractive_tracker = metrics.Mean(name="contractive")

    def train_step(self, data):
        from ..training.data_adapter import unpack_x_y_sample_weight
        x, y, sw = unpack_x_y_sample_weight(data)
        variables = gradient_variables(self, x)
        with backend.enable_grad(), backend.training_mode(True):
            x_t = ops.convert_to_tensor(backend.as_array(x, dtype=self.dtype))
            y_pred = self(x_t, training=True)
            loss = self.compute_loss(x=x, y=y if y is not None else x, y_pred=y_pred, sample_weight=sw)
            penalty = jacobian_penalty(self.encoder, x_t)
            total = ops.add(loss, ops.multiply(penalty, self.lam))
        backward_and_apply(total, variables, self.optimizer)
        self._loss_tracker.update_state(backend.step_value(total.data), sample_weight=len(x))
        self.contractive_tracker.update_state(backend.step_value(penalty.data), sample_weight=len(x))
        return self.compute_metrics(x, y, y_pred, sw)

    def get_config(self):
        cfg = super().get_config()
        cfg["lam"] = self.lam
        return cfg


# ---------------------------------------------------------------------------------------- builders
def _noise_layer(noise, level, seed=None):
    if noise is None:
        return None
    if noise == "gaussian":
        return GaussianNoise(level, seed=seed)
    if noise == "masking":
        return MaskingNoise(level, seed=seed)
    raise ValueError(f"autoencoder: argument 'noise' expected None, 'gaussian' or 'masking', got {noise!r}")


def build_autoencoder(input_dim=784, hidden=(), code_dim=32, activation="relu", code_activation=None,
                      output_activation="sigmoid", tied=False, noise=None, noise_level=0.5,
                      activity_regularizer=None, batch_norm=False, dropout=0.0, seed=None, name=None,
                      cls=Autoencoder, **cls_kwargs):
    """A symmetric (stacked) autoencoder: input_dim -> hidden... -> code_dim -> reversed(hidden) -> input_dim.

    ``code_activation`` None means the same as ``activation`` (pass "linear" for a linear code);
    ``tied=True`` makes each decoder layer a ``DenseTranspose`` of its mirror encoder layer;
    ``noise`` ('gaussian'/'masking') corrupts the input in training only (denoising AE, clean targets);
    ``activity_regularizer`` goes on the code layer (sparse AE); ``batch_norm`` / ``dropout`` add
    Dense -> BN -> activation -> Dropout blocks (deep AE).
    The book's shallow MNIST/Fashion models are ``build_autoencoder(784, (), 100, 'tanh', 'tanh', None)``
    (157,684 parameters) and ``build_autoencoder(784, (), 32, 'relu')`` (50,992).
    """
    code_activation = activation if code_activation is None else code_activation
    hidden = tuple(int(h) for h in hidden)
    inp = Input(shape=(input_dim,), name=None)
    x = inp
    nl = _noise_layer(noise, noise_level, seed)
    if nl is not None:
        x = nl(x)
    enc_dense = []
    sizes = hidden + (int(code_dim),)
    for i, units in enumerate(sizes):
        last = i == len(sizes) - 1
        act = code_activation if last else activation
        reg = activity_regularizer if last else None
        if batch_norm and not last:
            d = Dense(units, activity_regularizer=reg)
            x = Activation(act)(BatchNormalization()(d(x)))
        else:
            d = Dense(units, activation=act, activity_regularizer=reg)
            x = d(x)
        enc_dense.append(d)
        if dropout and not last:
            x = Dropout(dropout)(x)
    encoder = Model(inp, x, name=(name + "_encoder") if name else "encoder")
    zin = Input(shape=(int(code_dim),))
    y = zin
    out_sizes = tuple(reversed(hidden)) + (int(input_dim),)
    for i, units in enumerate(out_sizes):
        last = i == len(out_sizes) - 1
        act = output_activation if last else activation
        mirror = enc_dense[len(enc_dense) - 1 - i]
        if tied:
            layer = DenseTranspose(mirror, activation=None if (batch_norm and not last) else act)
        else:
            layer = Dense(units, activation=None if (batch_norm and not last) else act)
        y = layer(y)
        if batch_norm and not last:
            y = Activation(act)(BatchNormalization()(y))
        if dropout and not last:
            y = Dropout(dropout)(y)
    decoder = Model(zin, y, name=(name + "_decoder") if name else "decoder")
    return cls(encoder, decoder, name=name, **cls_kwargs)


def build_linear_autoencoder(input_dim, code_dim, tied=False, name=None):
    """Identity activations everywhere: with squared error its optimum spans the PCA subspace."""
    return build_autoencoder(input_dim, (), code_dim, activation=None, code_activation=None,
                             output_activation=None, tied=tied, name=name)


def build_deep_autoencoder(input_dim=784, hidden=(512, 256, 128), code_dim=32, activation="relu",
                           code_activation="tanh", output_activation="sigmoid", dropout=0.2, batch_norm=True,
                           name=None):
    """Deep AE with Dense -> BatchNormalization -> activation -> Dropout blocks (seed-001 Ch.8 pattern)."""
    return build_autoencoder(input_dim, hidden, code_dim, activation, code_activation, output_activation,
                             batch_norm=batch_norm, dropout=dropout, name=name)


def build_denoising_autoencoder(input_dim=784, hidden=(), code_dim=32, noise="gaussian", noise_level=0.5,
                                activation="relu", output_activation="sigmoid", seed=None, name=None):
    """Corrupts inputs in training only (``fit(x, x)`` then has clean targets); see also ``corrupt``."""
    return build_autoencoder(input_dim, hidden, code_dim, activation, None, output_activation, noise=noise,
                             noise_level=noise_level, seed=seed, name=name)


def build_sparse_autoencoder(input_dim=784, code_dim=128, l1=None, kl_target=None, kl_beta=1.0, hidden=(),
                             activation="relu", name=None):
    """Sparse AE: an L1 activity penalty (``l1``) or a KL sparsity penalty (``kl_target``, sigmoid code)."""
    from ..regularizers import L1
    if (l1 is None) == (kl_target is None):
        raise ValueError("build_sparse_autoencoder: give exactly one of 'l1' (L1 activity penalty) and "
                         "'kl_target' (KL sparsity target rho)")
    reg = L1(l1) if l1 is not None else KLSparsity(kl_target, kl_beta)
    code_act = "sigmoid" if kl_target is not None else activation
    return build_autoencoder(input_dim, hidden, code_dim, activation, code_act, "sigmoid",
                             activity_regularizer=reg, name=name)


def build_contractive_autoencoder(input_dim=784, code_dim=64, lam=1e-4, activation="sigmoid", hidden=(),
                                  output_activation="sigmoid", name=None):
    return build_autoencoder(input_dim, hidden, code_dim, activation, activation, output_activation, name=name,
                             cls=ContractiveAutoencoder, lam=lam)


def build_conv_autoencoder(input_shape=(28, 28, 1), filters=(16, 8), code_filters=8, transpose=False,
                           name=None):
    """Conv2D + MaxPooling2D encoder; decoder Conv2D + UpSampling2D (or strided Conv2DTranspose)."""
    inp = Input(shape=tuple(input_shape))
    x = inp
    for f in filters:
        x = Conv2D(f, (3, 3), activation="relu", padding="same")(x)
        x = MaxPooling2D((2, 2), padding="same")(x)
    x = Conv2D(code_filters, (3, 3), activation="relu", padding="same")(x)
    encoder = Model(inp, x, name="encoder")
    zin = Input(shape=tuple(encoder.output_shape[1:]))
    y = zin
    for f in reversed(filters):
        if transpose:
            y = Conv2DTranspose(f, (3, 3), strides=(2, 2), activation="relu", padding="same")(y)
        else:
            y = Conv2D(f, (3, 3), activation="relu", padding="same")(y)
            y = UpSampling2D((2, 2))(y)
    y = Conv2D(int(input_shape[-1]), (3, 3), activation="sigmoid", padding="same")(y)
    decoder = Model(zin, y, name="decoder")
    if tuple(decoder.output_shape[1:]) != tuple(input_shape):
        raise ValueError(f"build_conv_autoencoder: the decoder output {decoder.output_shape[1:]} does not match "
                         f"input_shape {tuple(input_shape)}; use spatial sizes divisible by "
                         f"{2 ** len(filters)}")
    return Autoencoder(encoder, decoder, name=name)


def corrupt(x, kind="gaussian", level=0.5, clip=True, seed=None):
    """The book's data-level corruption: x + level * N(0, 1) (clipped to [0, 1], as the text asks) or
    masking noise (each entry zeroed with probability ``level``)."""
    rng = np.random.default_rng(seed) if seed is not None else backend.rng()
    x = np.asarray(x, dtype=np.float32)
    if kind == "gaussian":
        out = x + np.float32(level) * rng.standard_normal(x.shape).astype(np.float32)
        return np.clip(out, 0.0, 1.0) if clip else out
    if kind == "masking":
        return x * (rng.random(x.shape) >= level).astype(np.float32)
    raise ValueError(f"corrupt: argument 'kind' expected 'gaussian' or 'masking', got {kind!r}")


# ---------------------------------------------------------------------------------------- pretraining
def greedy_layerwise_pretrain(autoencoder, x, epochs=5, batch_size=256, optimizer="adam", loss="mse",
                              verbose=0):
    """Greedy layer-wise pretraining (Hinton & Salakhutdinov 2006; Bengio et al. 2007) of a stacked
    autoencoder built by ``build_autoencoder`` (plain Dense or tied layers, no BN): pair encoder layer i
    with its mirror decoder layer, train that shallow AE on the codes of the layers below, copy its
    weights back. The outermost pair reconstructs the data with the model's loss; inner pairs use
    ``loss`` on hidden codes. Returns the list of per-stage final losses."""
    if any(isinstance(lay, BatchNormalization) for m in (autoencoder.encoder, autoencoder.decoder)
           for lay in m.layers):
        raise ValueError("greedy_layerwise_pretrain: BatchNormalization blocks are not supported; pretrain a plain "
                         "stacked autoencoder (build_autoencoder without batch_norm)")
    enc = [lay for lay in autoencoder.encoder.layers if isinstance(lay, Dense)]
    dec = [lay for lay in autoencoder.decoder.layers if isinstance(lay, (Dense, DenseTranspose))]
    if len(enc) != len(dec) or not enc:
        raise ValueError("greedy_layerwise_pretrain: expected a symmetric Dense autoencoder from "
                         f"build_autoencoder, got {len(enc)} encoder and {len(dec)} decoder dense layers")
    h = np.asarray(x, dtype=np.float32)
    final = []
    for i, e in enumerate(enc):
        d = dec[len(dec) - 1 - i]
        inp = Input(shape=(h.shape[1],))
        e2 = Dense(e.units, activation=e.activation)
        code = e2(inp)
        d2 = DenseTranspose(e2, activation=d.activation) if isinstance(d, DenseTranspose) else \
            Dense(d.units, activation=d.activation)
        shallow = Model(inp, d2(code))
        shallow.compile(optimizer=optimizer, loss=loss)
        hist = shallow.fit(h, h, epochs=epochs, batch_size=batch_size, verbose=verbose)
        final.append(hist.history["loss"][-1])
        e.set_weights(e2.get_weights())
        d.set_weights(d2.get_weights())
        h = Model(inp, code).predict(h, batch_size=batch_size, verbose=0)
    return final
