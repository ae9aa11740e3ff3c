"""Variational autoencoder (Kingma & Welling 2014; seed-001 Ch.9).

Encoder q(z|x) = N(mu(x), diag(exp(logvar(x)))) outputs ``[z_mean, z_log_var, z]`` with ``z`` from the
``Sampling`` layer (z = mu + exp(logvar / 2) * eps). Decoder p(x|z): Bernoulli (sigmoid output,
reconstruction = per-pixel binary cross-entropy summed over features) or Gaussian (linear output,
squared error summed over features, i.e. the book's ``original_dim * mse``).
Loss to minimise = mean over the batch of [reconstruction + beta * KL], the negative ELBO, with
  KL(q(z|x) || N(0, I)) = -0.5 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j))   (>= 0).
NOTE: the book's code writes ``kl_loss = 0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var))``,
i.e. +0.5: that is -KL, so minimising it *maximises* the divergence. The sign here is the correct -0.5.
"""
import numpy as np

from .. import backend, ops
from ..layers import BatchNormalization, Activation, Dense, Dropout, Input
from ..models.model import Model
from ..saving.registry import deserialize, register, serialize
from ._steps import backward_and_apply, gradient_variables, unpack_x
from .layers import Sampling


def kl_divergence(z_mean, z_log_var):
    """Per-sample KL(N(mu, exp(logvar)) || N(0, I)) = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))."""
    inner = ops.subtract(ops.subtract(ops.add(z_log_var, 1.0), ops.square(z_mean)), ops.exp(z_log_var))
    return ops.multiply(ops.sum(inner, axis=-1), -0.5)


def _flat_sum(t):
    return ops.sum(ops.reshape(t, (t.shape[0], -1)), axis=1)


@register("models")
@register("layers")
class VAE(Model):
    """VAE with a ``train_step`` that reports ``loss`` (negative ELBO), ``reconstruction_loss`` and ``kl_loss``.

    ``likelihood``: 'bernoulli' (inputs in [0, 1]) or 'gaussian'; ``beta``: KL weight;
    ``noise_stddev`` > 0 makes it a denoising VAE (Gaussian corruption of the encoder input in training,
    reconstruction of the clean input; Im et al. 2017). ``fit(x)`` needs no targets.
    """

    def __init__(self, encoder, decoder, likelihood="bernoulli", beta=1.0, noise_stddev=0.0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAE: argument 'likelihood' expected 'bernoulli' or 'gaussian', got {likelihood!r}")
        self.encoder, self.decoder = encoder, decoder
        self.likelihood, self.beta, self.noise_stddev = likelihood, float(beta), float(noise_stddev)
        from .. import metrics
        self.total_loss_tracker = metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = metrics.Mean(name="kl_loss")
        self.latent_dim = int(encoder.outputs[0].shape[-1]) if hasattr(encoder, "outputs") else None
        if getattr(encoder, "built", False) and getattr(decoder, "built", False):
            try:
                self._build_shapes = tuple(encoder.inputs[0].shape)
            except (AttributeError, IndexError, TypeError):
                pass
            self.built = True

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, inputs, training=None):
        z_mean, z_log_var, z = self.encoder(inputs, training=training)
        return self.decoder(z, training=training)

    # -------------------------------------------------------------- losses
    def reconstruction_loss(self, x, x_hat):
        """Per-sample -log p(x|z) up to a constant: summed BCE (Bernoulli) or summed squared error (Gaussian)."""
        if self.likelihood == "bernoulli":
            eps = 1e-7
            p = ops.clip(x_hat, eps, 1.0 - eps)
            ll = ops.add(ops.multiply(x, ops.log(p)), ops.multiply(ops.subtract(1.0, x), ops.log(ops.subtract(1.0, p))))
            return ops.negative(_flat_sum(ll))
        return _flat_sum(ops.square(ops.subtract(x, x_hat)))

    def _vae_losses(self, x, training):
        x_in = x
        if training and self.noise_stddev > 0:
            noisy = x.data + backend.like(x.data, self.noise_stddev * backend.rng().standard_normal(x.shape).astype(
                x.data.dtype))
            if self.likelihood == "bernoulli":
                noisy = np.clip(noisy, 0.0, 1.0)
            x_in = ops.convert_to_tensor(noisy)
        z_mean, z_log_var, z = self.encoder(x_in, training=training)
        x_hat = self.decoder(z, training=training)
        rec = ops.mean(self.reconstruction_loss(x, x_hat))
        kl = ops.mean(kl_divergence(z_mean, z_log_var))
        total = ops.add(rec, ops.multiply(kl, self.beta))
        return total, rec, kl

    def _x_of(self, data):
        return ops.convert_to_tensor(unpack_x(data, self.dtype))

    def _update(self, total, rec, kl, n):
        self.total_loss_tracker.update_state(backend.step_value(total.data), sample_weight=n)
        self.reconstruction_loss_tracker.update_state(backend.step_value(rec.data), sample_weight=n)
        self.kl_loss_tracker.update_state(backend.step_value(kl.data), sample_weight=n)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x = self._x_of(data)
        variables = gradient_variables(self, x)
        with backend.enable_grad(), backend.training_mode(True):
            total, rec, kl = self._vae_losses(x, training=True)
            full = total
            for extra in self.losses:
                full = ops.add(full, ops.sum(extra))
        backward_and_apply(full, variables, self.optimizer)
        return self._update(total, rec, kl, x.shape[0])

    def test_step(self, data):
        x = self._x_of(data)
        with backend.no_grad(), backend.training_mode(False):
            total, rec, kl = self._vae_losses(x, training=False)
        return self._update(total, rec, kl, x.shape[0])

    def compile(self, optimizer="adam", **kwargs):
        """As ``Model.compile``; no loss is needed (the ELBO is built in)."""
        return super().compile(optimizer=optimizer, **kwargs)

    # -------------------------------------------------------------- NumPy helpers
    def encode(self, x, batch_size=256):
        """The posterior mean (deterministic code, as the book uses for embedding and reconstruction)."""
        return self.encoder.predict(x, batch_size=batch_size, verbose=0)[0]

    def decode(self, z, batch_size=256):
        return self.decoder.predict(np.asarray(z, dtype=np.float32), batch_size=batch_size, verbose=0)

    def reconstruct(self, x, batch_size=256):
        """Decode the posterior mean of x."""
        return self.decode(self.encode(x, batch_size), batch_size)

    def elbo(self, x, batch_size=256):
        """Mean ELBO (one z sample per x): -(reconstruction + KL), in nats for the Bernoulli decoder."""
        x = backend.as_array(x, dtype=np.float32)
        xp = self._array_module()  # the batches go where the weights are (nerve.device)
        vals = []
        with backend.no_grad(), backend.training_mode(False):
            for i in range(0, len(x), batch_size):
                xb = ops.convert_to_tensor(self._on_device(x[i:i + batch_size], xp))
                z_mean, z_log_var, z = self.encoder(xb, training=False)
                rec = self.reconstruction_loss(xb, self.decoder(z, training=False))
                vals.append(backend.to_numpy(-(rec.data + kl_divergence(z_mean, z_log_var).data)))
        return float(np.mean(np.concatenate(vals)))

    def generate(self, n=10, prior="normal", low=-2.0, high=2.0, seed=None):
        """Decode n latent draws: 'normal' = the prior N(0, I); 'uniform' = U(low, high) per axis (the book's
        ``generate_samples`` uses uniform(-2, 2))."""
        rng = np.random.default_rng(seed) if seed is not None else backend.rng()
        if prior == "normal":
            z = rng.standard_normal((int(n), self.latent_dim))
        elif prior == "uniform":
            z = rng.uniform(low, high, (int(n), self.latent_dim))
        else:
            raise ValueError(f"VAE.generate: argument 'prior' expected 'normal' or 'uniform', got {prior!r}")
        return self.decode(z.astype(np.float32))

    def latent_grid(self, n=15, low=-4.0, high=4.0, dims=(0, 1)):
        """Decode an n x n grid over [low, high]^2 on latent axes ``dims`` (others 0): shape (n, n, *x_shape).
        Rows go from high to low on the second axis, as the Keras latent-space figure."""
        if self.latent_dim < 2:
            raise ValueError("VAE.latent_grid: needs a latent space of at least 2 dimensions")
        gx = np.linspace(low, high, int(n))
        gy = np.linspace(high, low, int(n))
        z = np.zeros((int(n) * int(n), self.latent_dim), np.float32)
        z[:, dims[0]] = np.tile(gx, int(n))
        z[:, dims[1]] = np.repeat(gy, int(n))
        out = self.decode(z)
        return out.reshape((int(n), int(n)) + out.shape[1:])

    # -------------------------------------------------------------- config
    def get_config(self):
        cfg = super().get_config()
        cfg.update({"encoder": serialize(self.encoder), "decoder": serialize(self.decoder),
                    "likelihood": self.likelihood, "beta": self.beta, "noise_stddev": self.noise_stddev})
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        enc = deserialize(config.pop("encoder"), kind="models", custom_objects=custom_objects)
        dec = deserialize(config.pop("decoder"), kind="models", custom_objects=custom_objects)
        return cls(enc, dec, **config)


# ---------------------------------------------------------------------------------------- builders
def _heads(x, latent_dim):
    z_mean = Dense(latent_dim, name=None)(x)
    z_log_var = Dense(latent_dim)(x)
    return z_mean, z_log_var, Sampling()([z_mean, z_log_var])


def build_vae(input_dim=784, hidden=(512,), latent_dim=2, activation="relu", likelihood="bernoulli", beta=1.0,
              noise_stddev=0.0, name=None):
    """An MLP VAE: input -> hidden... -> (z_mean, z_log_var) -> Sampling; decoder mirrors the hidden layers.
    The book's shallow MNIST VAE is ``build_vae(784, (512,), 2)``."""
    inp = Input(shape=(input_dim,))
    x = inp
    for u in hidden:
        x = Dense(u, activation=activation)(x)
    encoder = Model(inp, list(_heads(x, latent_dim)), name="encoder")
    zin = Input(shape=(latent_dim,))
    y = zin
    for u in reversed(hidden):
        y = Dense(u, activation=activation)(y)
    out_act = "sigmoid" if likelihood == "bernoulli" else None
    decoder = Model(zin, Dense(input_dim, activation=out_act)(y), name="decoder")
    return VAE(encoder, decoder, likelihood=likelihood, beta=beta, noise_stddev=noise_stddev, name=name)


def build_heart_vae(original_dim=13, intermediate_dim=13, latent_dim=2, hidden_activation="sigmoid"):
    """Ch.9 Cleveland heart-disease VAE: BN -> Dropout(0.2) -> Dense(13, sigmoid) -> Dropout(0.2) -> heads;
    decoder Dense(13, relu) -> Dense(13) linear (Gaussian). Encoder 290 parameters, decoder 221. The book's
    text says tanh for the hidden layer while its code uses sigmoid (the default here). Book training:
    adam, batch 18 (= ceil(sqrt(297))), 500 epochs."""
    inp = Input(shape=(original_dim,))
    x = Dropout(0.2)(BatchNormalization()(inp))
    x = Dropout(0.2)(Dense(intermediate_dim, activation=hidden_activation)(x))
    encoder = Model(inp, list(_heads(x, latent_dim)), name="encoder")
    zin = Input(shape=(latent_dim,))
    y = Dense(original_dim)(Dense(intermediate_dim, activation="relu")(zin))
    decoder = Model(zin, y, name="decoder")
    return VAE(encoder, decoder, likelihood="gaussian", name="vae_heart")


def build_deep_mnist_vae(inpt_dim=784, latent_dim=2, rate=0.1):
    """Ch.9 deep MNIST VAE (encoder 897,942 + decoder 899,216 = 1,797,158 parameters)."""
    inp = Input(shape=(inpt_dim,))
    x = Dropout(rate)(inp)
    x = Dropout(rate)(Activation("relu")(Dense(512)(x)))
    x = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(512)(x))))
    x = Dropout(rate)(Activation("relu")(Dense(256)(x)))
    x = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(256)(x))))
    x = Dropout(rate)(Activation("relu")(Dense(128)(x)))
    x = Activation("sigmoid")(BatchNormalization()(Dense(latent_dim)(x)))
    encoder = Model(inp, list(_heads(x, latent_dim)), name="encoder")
    zin = Input(shape=(latent_dim,))
    y = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(128)(zin))))
    y = Activation("relu")(Dense(256)(y))
    y = Dropout(rate)(Activation("relu")(BatchNormalization()(Dense(256)(y))))
    y = Activation("relu")(Dense(512)(y))
    y = Activation("relu")(BatchNormalization()(Dense(512)(y)))
    decoder = Model(zin, Dense(inpt_dim, activation="sigmoid")(y), name="decoder")
    return VAE(encoder, decoder, likelihood="bernoulli", name="vae_mlp")
