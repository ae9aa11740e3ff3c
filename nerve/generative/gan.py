"""Generative adversarial networks (Goodfellow et al. 2014; seed-001 Ch.14): ``GAN`` (a Model whose
``train_step`` alternates a discriminator update and a generator update), ``WGAN`` (weight clipping,
Arjovsky et al. 2017) and the book's MLP GAN and DCGAN builders.

Per step (the book's loop, §6.11): draw noise z, fake = G(z); update D on BCE(D(real), 1) + BCE(D(fake), 0)
(averaged); draw new noise and update G through the frozen D on BCE(D(G(z)), 1) (the non-saturating loss).
Only the variables of the network being updated receive gradients (``requires_grad`` is switched per
phase, which is what ``discriminator.trainable = False`` before compiling the combined model achieves
in the book). The book's noise is uniform on [0, 1]; ``noise='normal'`` draws N(0, I).
"""
import numpy as np

from .. import backend, ops
from ..autograd import Tensor
from ..autograd import grad as nerve_grad
from ..layers import BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, Flatten, Input, Reshape
from ..models.model import Model
from ..saving.registry import deserialize, register, serialize
from ._steps import backward_and_apply, unpack_x

_EPS = 1e-7


def _bce(p, target):
    """Mean binary cross-entropy of probabilities p against a constant target (1 or 0)."""
    p = ops.clip(p, _EPS, 1.0 - _EPS)
    return ops.negative(ops.mean(ops.log(p) if target == 1 else ops.log(ops.subtract(1.0, p))))


def _set_requires_grad(model, flag):
    for w in model.weights:
        w.requires_grad = bool(flag) and w.data.dtype.kind == "f" and w.trainable


@register("models")
@register("layers")
class GAN(Model):
    """``GAN(generator, discriminator, latent_dim)``; ``compile(d_optimizer, g_optimizer)``; ``fit(x_real)``.

    Logs per step: ``d_loss`` (mean of the real and fake BCE), ``d_acc`` (accuracy of D on real + fake at
    threshold 0.5), ``g_loss``. ``train(x, iterations, batch_size)`` runs the book's random-minibatch loop.
    """

    def __init__(self, generator, discriminator, latent_dim=None, noise="uniform", d_steps=1, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if noise not in ("uniform", "normal"):
            raise ValueError(f"{type(self).__name__}: argument 'noise' expected 'uniform' or 'normal', got {noise!r}")
        self.generator, self.discriminator = generator, discriminator
        if latent_dim is None:
            latent_dim = int(generator.inputs[0].shape[-1])
        self.latent_dim, self.noise, self.d_steps = int(latent_dim), noise, int(d_steps)
        from .. import metrics
        self.d_loss_tracker = metrics.Mean(name="d_loss")
        self.g_loss_tracker = metrics.Mean(name="g_loss")
        self.d_acc_tracker = metrics.Mean(name="d_acc")
        self.d_optimizer = self.g_optimizer = None
        if getattr(generator, "built", False) and getattr(discriminator, "built", False):
            self._build_shapes = (None, self.latent_dim)
            self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_acc_tracker]

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def compile(self, d_optimizer="adam", g_optimizer="adam", **kwargs):
        """Separate optimizers for the two players (book: Adam(0.0002, 0.5) for both)."""
        from .. import optimizers
        if kwargs:
            raise TypeError(f"{type(self).__name__}.compile: unexpected argument(s) {sorted(kwargs)}; a GAN takes "
                            f"d_optimizer and g_optimizer")
        if d_optimizer is g_optimizer and not isinstance(d_optimizer, str):
            raise ValueError(f"{type(self).__name__}.compile: d_optimizer and g_optimizer must be two optimizer "
                             f"objects (each tracks its own variables)")
        self._init_trainer()
        self.d_optimizer, self.g_optimizer = optimizers.get(d_optimizer), optimizers.get(g_optimizer)
        self._compile_config = {"d_optimizer": serialize(self.d_optimizer),
                                "g_optimizer": serialize(self.g_optimizer)}
        self.compiled = True

    def get_compile_config(self):
        return dict(self._compile_config) if self.compiled else None

    def compile_from_config(self, config):
        from .. import optimizers
        self.compile(optimizers.deserialize(config["d_optimizer"]), optimizers.deserialize(config["g_optimizer"]))

    # -------------------------------------------------------------- sampling
    def sample_noise(self, n, rng=None):
        rng = rng or backend.rng()
        if self.noise == "uniform":
            return rng.random((int(n), self.latent_dim), dtype=np.float32)
        return rng.standard_normal((int(n), self.latent_dim), dtype=np.float32)

    def generate(self, n=16, seed=None):
        """n generated samples (NumPy), generator in inference mode."""
        rng = np.random.default_rng(seed) if seed is not None else None
        return self.generator.predict(self.sample_noise(n, rng), verbose=0)

    # -------------------------------------------------------------- losses (WGAN overrides)
    def d_loss_fn(self, real_out, fake_out):
        return ops.multiply(ops.add(_bce(real_out, 1), _bce(fake_out, 0)), 0.5)

    def g_loss_fn(self, fake_out):
        return _bce(fake_out, 1)

    def d_accuracy(self, real_out, fake_out):
        return 0.5 * (float(np.mean(real_out.data > 0.5)) + float(np.mean(fake_out.data <= 0.5)))

    def d_penalty(self, real, fake):
        """A term added to the discriminator's loss (None: nothing; WGAN-GP's gradient penalty)."""
        return None

    def _after_d_update(self):
        pass

    def _step(self, loss, model, optimizer):
        backward_and_apply(loss, list(model.trainable_weights), optimizer, skip_missing=True)

    def _update_trackers(self, d_loss, g_loss, real_out, fake_out, n):
        self.d_loss_tracker.update_state(backend.step_value(d_loss.data), sample_weight=n)
        self.g_loss_tracker.update_state(backend.step_value(g_loss.data), sample_weight=n)
        self.d_acc_tracker.update_state(self.d_accuracy(real_out, fake_out), sample_weight=n)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        real = unpack_x(data, self.dtype)
        n = real.shape[0]
        try:
            for _ in range(self.d_steps):  # discriminator / critic
                with backend.no_grad(), backend.training_mode(True):
                    fake = self.generator(self.sample_noise(n), training=True).data
                _set_requires_grad(self.generator, False)
                _set_requires_grad(self.discriminator, True)
                with backend.enable_grad(), backend.training_mode(True):
                    real_out = self.discriminator(real, training=True)
                    fake_out = self.discriminator(fake, training=True)
                    d_loss = self.d_loss_fn(real_out, fake_out)
                    penalty = self.d_penalty(real, fake)
                    if penalty is not None:
                        d_loss = ops.add(d_loss, penalty)
                self._step(d_loss, self.discriminator, self.d_optimizer)
                self._after_d_update()
            _set_requires_grad(self.generator, True)  # generator through the frozen discriminator
            _set_requires_grad(self.discriminator, False)
            with backend.enable_grad(), backend.training_mode(True):
                g_out = self.discriminator(self.generator(self.sample_noise(n), training=True), training=True)
                g_loss = self.g_loss_fn(g_out)
            self._step(g_loss, self.generator, self.g_optimizer)
        finally:
            _set_requires_grad(self.generator, True)
            _set_requires_grad(self.discriminator, True)
            for w in self.discriminator.weights:
                w.grad = None
        return self._update_trackers(d_loss, g_loss, real_out, fake_out, n)

    def test_step(self, data):
        real = unpack_x(data, self.dtype)
        with backend.no_grad(), backend.training_mode(False):
            fake = self.generator(self.sample_noise(real.shape[0]), training=False)
            real_out = self.discriminator(real, training=False)
            fake_out = self.discriminator(fake, training=False)
            d_loss, g_loss = self.d_loss_fn(real_out, fake_out), self.g_loss_fn(fake_out)
        return self._update_trackers(d_loss, g_loss, real_out, fake_out, real.shape[0])

    def train(self, x, iterations=12001, batch_size=128, sample_interval=200, n_samples=2, verbose=0, seed=None,
              checkpoint_dir=None, checkpoint_every=500):
        """The book's loop: each iteration draws a random minibatch of real images (with replacement across
        iterations) and does one ``train_step``. Returns {'dloss', 'dacc', 'gloss', 'samples'} where samples
        maps iteration -> generated images every ``sample_interval`` iterations.

        ``checkpoint_dir``: every ``checkpoint_every`` iterations the weights, both optimizers' states, the
        RNG states and the loss history are saved there (nerve checkpoints, no pickle); calling ``train``
        again with the same directory continues from the last one, exactly as if never interrupted (samples
        drawn before the interruption are not kept). A finished run deletes its checkpoints."""
        if not self.compiled:
            raise ValueError(f"{type(self).__name__} '{self.name}': call compile() before train()")
        rng = np.random.default_rng(seed) if seed is not None else backend.rng()
        x = backend.as_array(x, dtype=self.dtype)
        out = {"dloss": [], "dacc": [], "gloss": [], "samples": {}}
        start = 0
        if checkpoint_dir is not None:
            start = _restore_gan(self, checkpoint_dir, rng, out)
        for it in range(start, int(iterations)):
            self.reset_metrics()
            logs = self.train_step((x[rng.integers(0, len(x), int(batch_size))],))
            out["dloss"].append(float(logs["d_loss"]))
            out["dacc"].append(float(logs["d_acc"]))
            out["gloss"].append(float(logs["g_loss"]))
            if sample_interval and it % sample_interval == 0:
                out["samples"][it] = self.generate(n_samples)
                if verbose:
                    print(f"{it} [D loss: {logs['d_loss']:f}, acc.: {100 * logs['d_acc']:.2f}%] "
                          f"[G loss: {logs['g_loss']:f}]", flush=True)
            if checkpoint_dir is not None and (it + 1) % int(checkpoint_every) == 0 and it + 1 < int(iterations):
                _save_gan(self, checkpoint_dir, it + 1, rng, out)
        if checkpoint_dir is not None:
            _clear_gan(checkpoint_dir)
        return out

    # -------------------------------------------------------------- config
    def get_config(self):
        cfg = super().get_config()
        cfg.update({"generator": serialize(self.generator), "discriminator": serialize(self.discriminator),
                    "latent_dim": self.latent_dim, "noise": self.noise, "d_steps": self.d_steps})
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        gen = deserialize(config.pop("generator"), kind="models", custom_objects=custom_objects)
        disc = deserialize(config.pop("discriminator"), kind="models", custom_objects=custom_objects)
        return cls(gen, disc, **config)


@register("models")
@register("layers")
class WGAN(GAN):
    """Wasserstein GAN with weight clipping: the critic (linear output) maximises E[C(real)] - E[C(fake)]
    (loss E[C(fake)] - E[C(real)]), every critic weight is clipped to [-clip_value, clip_value] after each
    critic update, the generator minimises -E[C(G(z))]; ``d_steps`` (n_critic) = 5; paper optimiser
    RMSprop(5e-5). ``d_acc`` is the fraction with C(real) > C(fake) mean split (sign-based, informative only).

    ``gradient_penalty=lambda`` (WGAN-GP, Gulrajani et al. 2017, their lambda = 10) replaces the clipping with
    lambda E[(||dC(x^)/dx^||_2 - 1)^2] on x^ = e x_real + (1 - e) x_fake, e ~ U[0, 1] per sample: the penalty's
    gradient with respect to the critic weights goes through dC/dx^, a double backward (``nerve.grad`` with
    ``create_graph=True``; the critic's ops must have differentiable backward rules: Dense, Conv2D, the
    activations, elementwise ops, normalization, pooling and recurrences do). The paper drops batch
    normalization from the critic and uses Adam(1e-4, beta_1=0, beta_2=0.9).
    """

    def __init__(self, generator, discriminator, latent_dim=None, noise="normal", d_steps=5, clip_value=0.01,
                 gradient_penalty=None, name=None, **kwargs):
        super().__init__(generator, discriminator, latent_dim, noise, d_steps, name=name, **kwargs)
        if gradient_penalty is not None and (isinstance(gradient_penalty, bool) or
                                             not isinstance(gradient_penalty, (int, float)) or gradient_penalty < 0):
            raise ValueError(f"WGAN: argument 'gradient_penalty' expected a non-negative number (the paper's "
                             f"lambda = 10) or None, got {gradient_penalty!r}")
        self.gradient_penalty = None if not gradient_penalty else float(gradient_penalty)
        self.clip_value = float(clip_value)

    def d_penalty(self, real, fake):
        if self.gradient_penalty is None:
            return None
        rng = backend.rng()
        n = real.shape[0]
        e = backend.like(real, rng.random((n,) + (1,) * (real.ndim - 1)).astype(real.dtype))
        x_hat = Tensor(e * real + (1 - e) * fake, requires_grad=True)
        with backend.enable_grad():  # dC/dx^ needs the critic's graph even where the caller turned grads off
            c = self.discriminator(x_hat, training=True)
            (g,) = nerve_grad(ops.sum(c), [x_hat], create_graph=True)
        norm = ops.sqrt(ops.add(ops.sum(ops.square(g), axis=tuple(range(1, g.ndim))), 1e-12))
        return ops.multiply(ops.mean(ops.square(ops.subtract(norm, 1.0))), self.gradient_penalty)

    def d_loss_fn(self, real_out, fake_out):
        return ops.subtract(ops.mean(fake_out), ops.mean(real_out))

    def g_loss_fn(self, fake_out):
        return ops.negative(ops.mean(fake_out))

    def d_accuracy(self, real_out, fake_out):
        mid = 0.5 * (float(np.mean(real_out.data)) + float(np.mean(fake_out.data)))
        return 0.5 * (float(np.mean(real_out.data > mid)) + float(np.mean(fake_out.data <= mid)))

    def _after_d_update(self):
        if self.gradient_penalty is not None:
            return  # WGAN-GP: the penalty instead of clipping
        c = self.clip_value
        for w in self.discriminator.trainable_weights:
            np.clip(w.data, -c, c, out=w.data)

    def get_config(self):
        cfg = super().get_config()
        cfg["clip_value"] = self.clip_value
        cfg["gradient_penalty"] = self.gradient_penalty
        return cfg


# ---------------------------------------------------------------------------------------- builders
def build_mlp_gan_generator(ltnt_dim=100, img_dims=28, img_chnl=1):
    """Book MLP generator: 256 -> BN -> 512 -> BN -> 1024 -> BN -> Dropout(0.5) -> 784 sigmoid -> 28x28x1
    (1,493,520 parameters)."""
    inp = Input(shape=(ltnt_dim,))
    x = BatchNormalization()(Dense(256, activation="relu")(inp))
    x = BatchNormalization()(Dense(512, activation="relu")(x))
    x = Dropout(0.5)(BatchNormalization()(Dense(1024, activation="relu")(x)))
    x = Dense(img_dims * img_dims * img_chnl, activation="sigmoid")(x)
    return Model(inp, Reshape((img_dims, img_dims, img_chnl))(x), name="generator")


def build_mlp_gan_discriminator(img_dims=28, img_chnl=1):
    """Book MLP discriminator: Flatten -> Dropout(0.5) -> 512 relu -> 256 relu -> 1 sigmoid (533,505)."""
    inp = Input(shape=(img_dims, img_dims, img_chnl))
    x = Dropout(0.5)(Flatten()(inp))
    x = Dense(256, activation="relu")(Dense(512, activation="relu")(x))
    return Model(inp, Dense(1, activation="sigmoid")(x), name="discriminator")


def build_dcgan_generator(ltnt_dim=100):
    """Book conv generator: Dense(7*7*256) -> BN -> Reshape -> ConvT(128, 5, s1) -> BN -> ConvT(64, 5, s2) -> BN
    -> ConvT(1, 5, s2, sigmoid): 28x28x1 (2,343,681 parameters, 25,472 non-trainable)."""
    inp = Input(shape=(ltnt_dim,))
    x = Reshape((7, 7, 256))(BatchNormalization()(Dense(7 * 7 * 256, activation="relu")(inp)))
    x = BatchNormalization()(Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", activation="relu")(x))
    x = BatchNormalization()(Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", activation="relu")(x))
    x = Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", activation="sigmoid")(x)
    return Model(inp, x, name="generator")


def build_dcgan_critic(img_shape=(28, 28, 1), output_activation="sigmoid"):
    """Book conv "critic" (a discriminator: sigmoid + BCE): Conv(64, 5, s2) -> Dropout(0.3) -> Conv(128, 5, s2)
    -> Dropout(0.3) -> Flatten -> Dense(1) (212,865 parameters). ``output_activation=None`` gives a WGAN
    critic."""
    inp = Input(shape=tuple(img_shape))
    x = Dropout(0.3)(Conv2D(64, (5, 5), strides=(2, 2), padding="same", activation="relu")(inp))
    x = Dropout(0.3)(Conv2D(128, (5, 5), strides=(2, 2), padding="same", activation="relu")(x))
    return Model(inp, Dense(1, activation=output_activation)(Flatten()(x)), name="critic")


# ------------------------------------------------------------------ GAN.train checkpoints
_GAN_LATEST = "latest.json"


def _save_gan(gan, directory, it, rng, out):
    """Two checkpoints (discriminator + its optimizer, generator + its optimizer + RNG and history), then
    ``latest.json`` naming them: a crash mid-save leaves the previous pair in use."""
    import json
    import os

    from ..saving import file_io
    from ..saving.checkpoint import save_checkpoint
    os.makedirs(directory, exist_ok=True)
    names = {"discriminator": f"d-{it}.checkpoint.zip", "generator": f"g-{it}.checkpoint.zip"}
    history = {k: out[k] for k in ("dloss", "dacc", "gloss")}
    save_checkpoint(os.path.join(directory, names["discriminator"]), gan.discriminator, it,
                    optimizer=gan.d_optimizer, include_rng=False)
    save_checkpoint(os.path.join(directory, names["generator"]), gan.generator, it, optimizer=gan.g_optimizer,
                    extra={"iteration": it, "history": history, "batch_rng": rng.bit_generator.state})
    old = _gan_latest(directory)
    data = json.dumps({"iteration": it, **names}).encode()
    file_io.atomic_write(os.path.join(directory, _GAN_LATEST), lambda f: f.write(data))
    for name in (old or {}).values():
        if isinstance(name, str) and name not in names.values():
            try:
                os.remove(os.path.join(directory, name))
            except OSError:
                pass


def _gan_latest(directory):
    import json
    import os
    path = os.path.join(directory, _GAN_LATEST)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        head = json.loads(f.read().decode())
    names = {k: head.get(k) for k in ("discriminator", "generator")}
    if not isinstance(head.get("iteration"), int) or not all(
            isinstance(v, str) and os.path.basename(v) == v and v.endswith(".checkpoint.zip") for v in names.values()):
        raise ValueError(f"GAN.train: {path!r} is not a GAN checkpoint index")
    return names


def _restore_gan(gan, directory, rng, out):
    """Continue from the checkpoints in ``directory`` (if any): returns the iteration to start at."""
    import os

    from ..saving.checkpoint import restore_checkpoint
    names = _gan_latest(directory)
    if names is None:
        return 0
    restore_checkpoint(os.path.join(directory, names["discriminator"]), gan.discriminator,
                       optimizer=gan.d_optimizer, restore_rng=False)
    ck = restore_checkpoint(os.path.join(directory, names["generator"]), gan.generator, optimizer=gan.g_optimizer)
    state = ck.extra.get("batch_rng")
    if state is not None:
        rng.bit_generator.state = state
    for k in ("dloss", "dacc", "gloss"):
        out[k] = [float(v) for v in ck.extra.get("history", {}).get(k, [])]
    return int(ck.extra["iteration"])


def _clear_gan(directory):
    import os
    names = _gan_latest(directory) if os.path.isdir(directory) else None
    for name in list((names or {}).values()) + [_GAN_LATEST]:
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            pass
    try:
        os.rmdir(directory)
    except OSError:
        pass
