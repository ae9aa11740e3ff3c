"""More normalisation layers (Keras 3): GroupNormalization, UnitNormalization, RMSNormalization,
SpectralNormalization, and AlphaDropout.

GroupNormalization (Wu & He 2018): the C channels on ``axis`` split into G groups of C / G; per sample and
group, mean and (population) variance over the group's channels and all other non-batch axes;
    y = (x - mean_g) / sqrt(var_g + epsilon) * gamma_c + beta_c.
G = C is instance normalisation (``groups=-1``), G = 1 layer normalisation over all non-batch axes.
UnitNormalization:  y = x / max(||x||_2, 1e-12) over ``axis``.
RMSNormalization (Zhang & Sennrich 2019):  y = x / sqrt(mean_axis(x^2) + epsilon) * scale.
SpectralNormalization (Miyato et al. 2018): in training, one or more power-iteration steps on the kernel
seen as a matrix W (prod(shape[:-1]), shape[-1]):  v = normalize(u W^T),  u = normalize(v W),
sigma = v W u^T ~ the largest singular value, and, as Keras does, the wrapped layer's kernel is replaced by
W / sigma (and u kept in the non-trainable ``vector_u``) before the layer runs.
AlphaDropout (Klambauer et al. 2017): dropped units are set to SELU's negative saturation
alpha' = -scale * alpha, then y = a (x keep + alpha' (1 - keep)) + b with
a = ((1 - rate)(1 + rate alpha'^2))^(-1/2), b = -a alpha' rate, which keeps zero mean and unit variance.
"""
import numpy as np

from .. import backend, initializers, ops
from ..autograd.ops.nn_functional import moments
from ..saving.registry import register
from .layer import InputSpec, Layer
from .normalization import _NormBase, _axes_list, _norm_axes
from .regularization import _rate, _Stochastic
from .wrappers import Wrapper


@register("layers")
class GroupNormalization(_NormBase):
    """Normalise each sample per group of channels (Wu & He 2018): the C channels on ``axis`` split into ``groups``
    groups, mean and variance over each group and every other non-batch axis; gamma and beta of shape (C,)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = f"GroupNormalization '{self.name}'"
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or (groups <= 0 and groups != -1):
            raise ValueError(f"{who}: argument 'groups' expected a positive int (or -1 for instance "
                             f"normalization), got {groups!r}")
        self.groups = int(groups)
        if isinstance(epsilon, bool):
            raise ValueError(f"{who}: argument 'epsilon' expected a non-negative float, got {epsilon!r}")
        self._setup(_axes_list(axis, who, allow_list=False)[0], epsilon, center, scale, beta_initializer,
                    gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        who = f"GroupNormalization '{self.name}'"
        (ax,) = _norm_axes([self.axis], input_shape, who)
        if ax == 0:
            raise ValueError(f"{who}: argument 'axis' must not be the batch axis 0, got axis={self.axis} for an "
                             f"input of shape {tuple(input_shape)}")
        c = input_shape[ax]
        if c is None:
            raise ValueError(f"{who}: axis {self.axis} of the input must have a known size, got shape "
                             f"{tuple(input_shape)}")
        g = c if self.groups == -1 else self.groups
        if g > c or c % g:
            raise ValueError(f"{who}: the {c} channels on axis {self.axis} must split into groups={g} groups of "
                             f"equal size (groups <= channels and channels divisible by groups), got input shape "
                             f"{tuple(input_shape)}")
        self._ax, self._g = ax, g
        self._build_params(input_shape)  # gamma, beta (C,) and the input spec, as LayerNormalization's
        self.built = True

    def call(self, inputs):
        shape, ax, g = tuple(inputs.shape), self._ax, self._g
        c = shape[ax]
        # (..., C, ...) -> (..., G, C / G, ...); statistics over every axis but the batch and the group axis
        grouped = ops.reshape(inputs, shape[:ax] + (g, c // g) + shape[ax + 1:])
        axes = tuple(i for i in range(1, len(shape) + 1) if i != ax)
        mean, var = moments(grouped, axes, keepdims=True)
        y = ops.divide(ops.subtract(grouped, mean), ops.sqrt(ops.add(var, self.epsilon)))
        y = ops.reshape(y, shape)
        bshape = tuple(c if i == ax else 1 for i in range(len(shape)))
        if self.gamma is not None:
            y = ops.multiply(y, ops.reshape(self.gamma, bshape))
        if self.beta is not None:
            y = ops.add(y, ops.reshape(self.beta, bshape))
        return y

    def get_config(self):
        cfg = super().get_config()
        cfg["groups"] = self.groups
        return cfg


@register("layers")
class UnitNormalization(Layer):
    """Scale each sample to unit L2 norm over ``axis`` (an int or a list of ints): x / max(||x||, 1e-12)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = _axes_list(axis, f"UnitNormalization '{self.name}'")
        self.axis = axes[0] if isinstance(axis, (int, np.integer)) else axes
        self.supports_masking = True

    def build(self, input_shape):
        self._axes = tuple(_norm_axes(_axes_list(self.axis, ""), input_shape, f"UnitNormalization '{self.name}'"))
        self.built = True

    def call(self, inputs):
        return ops.normalize(inputs, axis=self._axes, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        _norm_axes(_axes_list(self.axis, ""), input_shape, f"UnitNormalization '{self.name}'")
        return tuple(input_shape)

    def get_config(self):
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg


@register("layers")
class RMSNormalization(Layer):
    """y = x / sqrt(mean(x^2 over axis) + epsilon) * scale (Keras 3 arguments: axis=-1, epsilon=1e-6; one
    weight ``scale`` over the normalised axes, initialised to ones)."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        who = f"RMSNormalization '{self.name}'"
        axes = _axes_list(axis, who)
        self.axis = axes[0] if isinstance(axis, (int, np.integer)) else axes
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon < 0:
            raise ValueError(f"{who}: argument 'epsilon' expected a non-negative float, got {epsilon!r}")
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        who = f"RMSNormalization '{self.name}'"
        axes = _norm_axes(_axes_list(self.axis, who), input_shape, who)
        for a in axes:
            if input_shape[a] is None:
                raise ValueError(f"{who}: axis {a} of the input must have a known size, got shape "
                                 f"{tuple(input_shape)}")
        self._axes = tuple(axes)
        self._bshape = tuple(n if i in axes else 1 for i, n in enumerate(input_shape))
        self.scale = self.add_weight(shape=tuple(input_shape[a] for a in axes), initializer="ones", name="scale")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={a: input_shape[a] for a in axes})
        self.built = True

    def call(self, inputs):
        ms = ops.mean(ops.square(inputs), axis=self._axes, keepdims=True)
        y = ops.divide(inputs, ops.sqrt(ops.add(ms, self.epsilon)))
        return ops.multiply(y, ops.reshape(self.scale, self._bshape))

    def compute_output_shape(self, input_shape):
        who = f"RMSNormalization '{self.name}'"
        _norm_axes(_axes_list(self.axis, who), input_shape, who)
        return tuple(input_shape)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"axis": self.axis, "epsilon": self.epsilon})
        return cfg


@register("layers")
class SpectralNormalization(Wrapper):
    """Wraps a layer with a ``kernel`` (or ``embeddings``) and, in training, divides that kernel by its
    spectral norm estimated by ``power_iterations`` power-iteration steps (see the module docstring).
    Weights in Keras order: the wrapped kernel, vector_u (1, kernel.shape[-1]), the wrapped layer's others."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, (int, np.integer)) or \
                power_iterations <= 0:
            raise ValueError(f"SpectralNormalization '{self.name}': argument 'power_iterations' expected a "
                             f"positive int, got {power_iterations!r}")
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        super().build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"SpectralNormalization '{self.name}': the wrapped {type(self.layer).__name__} "
                             f"'{self.layer.name}' has no attribute 'kernel' nor 'embeddings' to normalise")
        self.kernel = kernel
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]), name="vector_u", trainable=False,
                                        initializer=initializers.TruncatedNormal(stddev=0.02), dtype=kernel.dtype)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        self.built = True

    @property
    def weights(self):
        """Keras order: Keras tracks the wrapped kernel as this layer's own weight, so it comes first."""
        ws = super().weights
        if not self.built:
            return ws
        return [self.kernel] + [w for w in ws if w is not self.kernel]

    variables = weights

    def normalized_weights(self):
        """(u, W / sigma) from ``power_iterations`` steps started at vector_u; no gradient (Keras stops it)."""
        k = self.kernel.data
        xp = backend.get_array_module(k)
        w = k.reshape(-1, k.shape[-1])
        eps = k.dtype.type(1e-7)

        def normalize(a):  # a / max(||a||, eps) over all entries (Keras ops.normalize, axis=None)
            return a / xp.maximum(xp.sqrt((a * a).sum()), eps)

        u = self.vector_u.data
        for _ in range(self.power_iterations):
            v = normalize(u @ w.T)
            u = normalize(v @ w)
        sigma = (v @ w) @ u.T  # (1, 1): v W u^T
        return u, k / sigma

    def call(self, inputs, training=False):
        if training and bool((self.kernel.data != 0).any()):  # Keras leaves an all-zero kernel alone
            u, kernel = self.normalized_weights()
            self.vector_u.assign(u)
            self.kernel.assign(kernel)
        return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        cfg = super().get_config()
        cfg["power_iterations"] = self.power_iterations
        return cfg


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@register("layers")
class AlphaDropout(_Stochastic):
    """Dropout that keeps SELU's self-normalising property (zero mean, unit variance); identity in inference.
    ``noise_shape`` (None entries = the input's size) shares one draw along axes of size 1."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(rate, "rate", "AlphaDropout", self.name)
        if self.rate == 1.0:
            raise ValueError(f"AlphaDropout '{self.name}': argument 'rate' must be below 1 (rate 1 drops every "
                             f"unit and the affine correction a = ((1 - rate)(1 + rate alpha'^2))^-1/2 is "
                             f"infinite), got {rate!r}")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _noise_shape(self, shape):
        if self.noise_shape is None:
            return shape
        out = tuple(s if n is None else int(n) for n, s in zip(self.noise_shape, shape))
        if len(self.noise_shape) != len(shape) or any(n not in (1, s) for n, s in zip(out, shape)):
            raise ValueError(f"AlphaDropout '{self.name}': argument 'noise_shape' {self.noise_shape} does not "
                             f"broadcast to the input shape {tuple(shape)}")
        return out

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        rate, dt = self.rate, inputs.dtype.type
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - rate) * (1.0 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        keep = backend.like(inputs.data, backend.keep_mask(self._rng(), self._noise_shape(tuple(inputs.shape)),
                                                           rate)).astype(inputs.dtype)
        # a (x keep + alpha' (1 - keep)) + b = x (a keep) + (a alpha' (1 - keep) + b)
        return ops.add(ops.multiply(inputs, keep * dt(a)), (1 - keep) * dt(a * alpha_p) + dt(b))

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"rate": self.rate, "noise_shape": None if self.noise_shape is None else list(self.noise_shape)})
        return cfg
