"""Layers and a regulariser the generative models need, registered so models save in the safe format.

Sampling        VAE reparameterisation z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (Kingma & Welling 2014).
DenseTranspose  decoder layer tied to an encoder Dense: y = act(x W^T + b'), W shared (tied weights).
MaskingNoise    denoising-AE corruption: each input entry is set to 0 with probability ``rate`` (no rescaling,
                unlike Dropout; Vincent et al. 2010 "masking noise"); identity in inference.
KLSparsity      activity regulariser of a sparse AE: beta * sum_j KL(rho || rho_hat_j), where rho_hat_j is the
                mean activation of unit j over the batch (Ng, "Sparse autoencoder" notes).
"""

from .. import backend, ops
from ..layers.layer import Layer
from ..layers.regularization import _Stochastic, _normal, _rate
from ..regularizers import Regularizer
from ..saving.registry import register

_TIE_SCOPE = []  # stack of {layer name: Dense} used while rebuilding a tied decoder from its config


@register("layers")
class Sampling(_Stochastic):
    """Inputs ``[z_mean, z_log_var]``; output ``z_mean + exp(0.5 * z_log_var) * eps`` (always sampled, as
    the Keras VAE example; use the encoder's mean for a deterministic code)."""

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Sampling '{self.name}': expected inputs [z_mean, z_log_var], got "
                             f"{type(inputs).__name__}")
        z_mean, z_log_var = inputs
        if tuple(z_mean.shape) != tuple(z_log_var.shape):
            raise ValueError(f"Sampling '{self.name}': z_mean and z_log_var must have the same shape, got "
                             f"{tuple(z_mean.shape)} and {tuple(z_log_var.shape)}")
        eps = backend.like(z_mean.data, _normal(self._rng(), tuple(z_mean.shape), z_mean.data.dtype))
        return ops.add(z_mean, ops.multiply(ops.exp(ops.multiply(z_log_var, 0.5)), eps))

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@register("layers")
class MaskingNoise(_Stochastic):
    """Zero each entry with probability ``rate`` in training (denoising-AE masking corruption)."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(rate, "rate", "MaskingNoise", self.name)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        keep = backend.like(inputs.data, backend.keep_mask(self._rng(), tuple(inputs.shape), self.rate))
        return ops.multiply(inputs, keep.astype(inputs.data.dtype))

    def get_config(self):
        cfg = super().get_config()
        cfg["rate"] = self.rate
        return cfg


@register("layers")
class DenseTranspose(Layer):
    """A Dense layer whose kernel is the transpose of another Dense layer's kernel (tied autoencoder).

    ``dense``: the encoder Dense layer (or its name when rebuilt from a config inside ``Autoencoder``);
    ``units``: output size (= the tied layer's input size; taken from the tied layer when built).
    The layer owns only its bias; the kernel's gradient sums the encoder and decoder contributions.
    """

    def __init__(self, dense, activation=None, use_bias=True, units=None, **kwargs):
        super().__init__(**kwargs)
        from .. import activations
        if isinstance(dense, Layer):
            self._tied = dense
            self.tied_to = dense.name
        elif isinstance(dense, str):
            self._tied = next((s[dense] for s in reversed(_TIE_SCOPE) if dense in s), None)
            self.tied_to = dense
        else:
            raise TypeError(f"DenseTranspose '{self.name}': argument 'dense' expected a Dense layer or its name, "
                            f"got {type(dense).__name__}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.units = None if units is None else int(units)

    def _kernel(self):
        if self._tied is None or not getattr(self._tied, "built", False):
            raise ValueError(f"DenseTranspose '{self.name}': the tied layer {self.tied_to!r} is not available or "
                             f"not built; build the encoder first (tied decoders are rebuilt by Autoencoder)")
        return self._tied.kernel

    def build(self, input_shape):
        if self._tied is not None and getattr(self._tied, "built", False):
            k = self._tied.kernel
            if input_shape[-1] is not None and input_shape[-1] != k.shape[1]:
                raise ValueError(f"DenseTranspose '{self.name}': expected last axis {k.shape[1]} (the units of "
                                 f"{self.tied_to!r}), got input of shape {tuple(input_shape)}")
            self.units = int(k.shape[0])
        if self.units is None:
            raise ValueError(f"DenseTranspose '{self.name}': cannot infer the output size; build the tied layer "
                             f"{self.tied_to!r} first or pass units=")
        self.bias = self.add_weight((self.units,), initializer="zeros", name="bias") if self.use_bias else None

    def call(self, inputs):
        y = ops.matmul(inputs, ops.transpose(self._kernel()))
        if self.bias is not None:
            y = ops.add(y, self.bias)
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        from .. import activations
        cfg = super().get_config()
        cfg.update({"dense": self.tied_to, "activation": activations.serialize(self.activation),
                    "use_bias": self.use_bias, "units": self.units})
        return cfg


@register("regularizers")
class KLSparsity(Regularizer):
    """beta * sum_j [rho log(rho / rho_hat_j) + (1 - rho) log((1 - rho) / (1 - rho_hat_j))], with rho_hat_j the
    batch-mean activation of unit j (activations must lie in (0, 1): use a sigmoid code layer)."""

    def __init__(self, target=0.05, beta=1.0):
        if not 0.0 < float(target) < 1.0:
            raise ValueError(f"KLSparsity: argument 'target' expected a float in (0, 1), got {target!r}")
        if float(beta) < 0:
            raise ValueError(f"KLSparsity: argument 'beta' expected a non-negative float, got {beta!r}")
        self.target, self.beta = float(target), float(beta)

    def __call__(self, x):
        eps = backend.epsilon() if hasattr(backend, "epsilon") else 1e-7
        rho_hat = ops.clip(ops.mean(x, axis=0), eps, 1.0 - eps)
        rho = self.target
        kl = ops.add(ops.multiply(ops.log(ops.divide(rho, rho_hat)), rho),
                     ops.multiply(ops.log(ops.divide(1.0 - rho, ops.subtract(1.0, rho_hat))), 1.0 - rho))
        return ops.multiply(ops.sum(kl), self.beta)

    def get_config(self):
        return {"target": self.target, "beta": self.beta}
