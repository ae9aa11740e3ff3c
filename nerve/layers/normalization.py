"""Normalisation layers: BatchNormalization and LayerNormalization (Keras 3).

BatchNormalization in training (``training=True`` and the layer trainable) normalises with the batch
statistics over every axis except ``axis`` and updates
    moving_mean = moving_mean * momentum + batch_mean * (1 - momentum)   (same for the variance;
Keras keeps the biased batch variance). In inference, or when ``trainable=False`` (Keras 3 behaviour),
it uses the moving statistics. Weights in Keras order: gamma, beta, moving_mean, moving_variance.
"""
import numpy as np

from .. import backend, constraints, initializers, ops, regularizers
from ..autograd.tensor import Tensor
from ..autograd.ops.norm import batch_norm_infer, batch_norm_train, layer_norm
from ..saving.registry import register, serialize
from .layer import InputSpec, Layer


def _axes_list(axis, who, allow_list=True):
    """An int axis, or (``allow_list``) a non-empty list / tuple of int axes; ``who`` names the layer."""
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return [int(axis)]
    if allow_list and isinstance(axis, (list, tuple)) and axis and \
            all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    want = "an int or a list of ints" if allow_list else "an int"
    raise TypeError(f"{who}: argument 'axis' expected {want}, got {axis!r}")


def _norm_axes(axes, shape, who):
    """Axes in [-rank, rank) -> sorted non-negative axes of an input of ``shape``."""
    nd = len(shape)
    out = []
    for a in axes:
        if not -nd <= a < nd:
            raise ValueError(f"{who}: argument 'axis' {a} is out of range for an input of shape {tuple(shape)} "
                             f"(rank {nd})")
        out.append(a % nd)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argument 'axis' has duplicate axes {axes} for an input of rank {nd}")
    return sorted(out)


class _NormBase(Layer):
    """Shared weight creation / config of the two normalisation layers."""

    _mixed_in_float32 = True  # float16 statistics overflow: under mixed_float16 these compute in float32 (Keras)

    def _setup(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
               gamma_regularizer, beta_constraint, gamma_constraint):
        who = type(self).__name__
        self._axes_arg = _axes_list(axis, f"{who} '{self.name}'")
        self.axis = axis if isinstance(axis, int) else list(self._axes_arg)
        if not isinstance(epsilon, (int, float)) or epsilon < 0:
            raise ValueError(f"{who} '{self.name}': argument 'epsilon' expected a non-negative float, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def _build_params(self, input_shape, scale=None, center=None):
        scale = self.scale if scale is None else scale
        center = self.center if center is None else center
        who = type(self).__name__
        ndim = len(input_shape)
        self._axes = _norm_axes(self._axes_arg, input_shape, f"{who} '{self.name}'")
        for a in self._axes:
            if input_shape[a] is None:
                raise ValueError(f"{who} '{self.name}': axis {a} of the input must have a known size, got input "
                                 f"of shape {tuple(input_shape)}")
        pshape = tuple(input_shape[a] for a in self._axes)
        self._bshape = tuple(input_shape[i] if i in self._axes else 1 for i in range(ndim))
        self.gamma = self.add_weight(shape=pshape, initializer=self.gamma_initializer, name="gamma",
                                     regularizer=self.gamma_regularizer, constraint=self.gamma_constraint) \
            if scale else None
        self.beta = self.add_weight(shape=pshape, initializer=self.beta_initializer, name="beta",
                                    regularizer=self.beta_regularizer, constraint=self.beta_constraint) \
            if center else None
        self.input_spec = InputSpec(ndim=ndim, axes={a: input_shape[a] for a in self._axes_arg})
        return pshape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": serialize(self.beta_initializer),
            "gamma_initializer": serialize(self.gamma_initializer),
            "beta_regularizer": serialize(self.beta_regularizer),
            "gamma_regularizer": serialize(self.gamma_regularizer),
            "beta_constraint": serialize(self.beta_constraint),
            "gamma_constraint": serialize(self.gamma_constraint),
        })
        return cfg


@register("layers")
class BatchNormalization(_NormBase):
    """Normalise each feature with batch statistics in training and moving statistics in inference."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self._setup(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        who = f"BatchNormalization '{self.name}'"
        for arg, v in (("momentum", momentum), ("renorm_momentum", renorm_momentum)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ValueError(f"{who}: argument '{arg}' expected a float in [0, 1], got {v!r}")
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = bool(synchronized)  # one process here: nothing to synchronise
        self.renorm = bool(renorm)
        self.renorm_momentum = float(renorm_momentum)
        if self.renorm:
            renorm_clipping = dict(renorm_clipping or {})
            bad = set(renorm_clipping) - {"rmax", "rmin", "dmax"}
            if bad:
                raise ValueError(f"{who}: argument 'renorm_clipping' has unknown keys {sorted(bad)}; expected "
                                 f"'rmax', 'rmin', 'dmax'")
            rmax, rmin, dmax = (renorm_clipping.get(k) for k in ("rmax", "rmin", "dmax"))
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(f"{who}: renorm_clipping rmax={rmax} must be >= rmin={rmin}")
            if dmax is not None and dmax < 0:
                raise ValueError(f"{who}: renorm_clipping dmax={dmax} must be non-negative")
        self.renorm_clipping = renorm_clipping

    def build(self, input_shape):
        pshape = self._build_params(input_shape)
        self.moving_mean = self.add_weight(shape=pshape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=pshape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        if self.renorm:
            # batch renormalisation (Ioffe 2017) tracks standard deviations; they start at sqrt(initial variance)
            std0, mean0 = np.sqrt(self.moving_variance.numpy()), self.moving_mean.numpy()

            def const(value):
                return lambda shape, dtype=None: np.array(value, dtype=dtype)
            self.moving_stddev = self.add_weight(shape=pshape, initializer=const(std0), trainable=False,
                                                 name="moving_stddev")
            self.renorm_mean = self.add_weight(shape=pshape, initializer=const(mean0), trainable=False,
                                               name="renorm_mean")
            self.renorm_stddev = self.add_weight(shape=pshape, initializer=const(std0), trainable=False,
                                                 name="renorm_stddev")
        self._reduce = tuple(i for i in range(len(input_shape)) if i not in self._axes)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        md = None if mask is None else mask.data if isinstance(mask, Tensor) else backend.as_array(mask)
        if md is not None:
            md = backend.like(inputs.data, md)
        if md is not None and md.ndim != inputs.ndim - 1:
            raise ValueError(f"BatchNormalization '{self.name}': the mask must have one axis less than the input, "
                             f"got mask of shape {tuple(md.shape)} for input of shape {tuple(inputs.shape)}")
        # Keras 3: a frozen BatchNormalization (trainable=False) always runs in inference mode
        if not (training and self.trainable):
            return batch_norm_infer(inputs, self.gamma, self.beta, self.moving_mean.data, self.moving_variance.data,
                                    self._bshape, self.epsilon)
        gamma, beta = self.gamma, self.beta
        if self.renorm:
            gamma, beta = self._renorm_affine(inputs, mask)
        if mask is not None:
            y, mean, var = self._masked_train(inputs, mask, gamma, beta)
        else:
            y, mean, var = batch_norm_train(inputs, gamma, beta, self._reduce, self._bshape, self.epsilon)
        pshape = self.moving_mean.shape
        mean, var = mean.reshape(pshape), var.reshape(pshape)
        m = self.momentum
        if self.renorm:
            self._update_renorm(mean, var)
        else:
            # moving = moving * momentum + batch * (1 - momentum)
            self.moving_mean.assign(self.moving_mean.data * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.data * m + var * (1.0 - m))
        return y

    # ------------------------------------------------------------------ batch renormalisation
    def _renorm_affine(self, x, mask):
        """(xhat r + d) gamma + beta = xhat (r gamma) + (d gamma + beta), with r = sigma_B / sigma_renorm and
        d = (mu_B - mu_renorm) / sigma_renorm treated as constants (clipped to renorm_clipping)."""
        xd = x.data
        if mask is None:
            mean = xd.mean(axis=self._reduce)
            var = xd.var(axis=self._reduce)
        else:
            _, mean, var = self._masked_train(x.detach(), mask, None, None)
        pshape = self.moving_mean.shape
        mean, var = mean.reshape(pshape), var.reshape(pshape)
        std = np.sqrt(var + self.epsilon)
        rstd = np.maximum(self.renorm_stddev.data, np.sqrt(self.epsilon))
        r = std / rstd
        d = (mean - self.renorm_mean.data) / rstd
        clip = self.renorm_clipping
        if clip.get("rmin") is not None:
            r = np.maximum(r, clip["rmin"])
        if clip.get("rmax") is not None:
            r = np.minimum(r, clip["rmax"])
        if clip.get("dmax") is not None:
            d = np.clip(d, -clip["dmax"], clip["dmax"])
        r, d = r.astype(xd.dtype), d.astype(xd.dtype)
        gamma = ops.multiply(self.gamma, r) if self.gamma is not None else r
        beta = ops.multiply(self.gamma, d) if self.gamma is not None else d
        if self.beta is not None:
            beta = ops.add(beta, self.beta)
        return gamma, beta

    def _update_renorm(self, mean, var):
        std = np.sqrt(var + self.epsilon)
        rm = self.renorm_momentum
        self.renorm_mean.assign(self.renorm_mean.data * rm + mean * (1.0 - rm))
        self.renorm_stddev.assign(self.renorm_stddev.data * rm + std * (1.0 - rm))
        m = self.momentum
        self.moving_mean.assign(self.moving_mean.data * m + mean * (1.0 - m))
        new_std = self.moving_stddev.data * m + std * (1.0 - m)
        self.moving_stddev.assign(new_std)
        self.moving_variance.assign(np.maximum(new_std * new_std - self.epsilon, 0.0))  # relu against rounding

    def _masked_train(self, x, mask, gamma, beta):
        """Keras' weighted moments: positions where mask is False do not enter the statistics."""
        w = mask.data if isinstance(mask, Tensor) else backend.as_array(mask)
        w = backend.like(x.data, w).astype(x.dtype)
        while w.ndim < x.ndim:
            w = w[..., None]
        axes = self._reduce
        count = w.sum(axis=axes, keepdims=True)
        eps = 1e-7
        mean = ops.divide(ops.sum(ops.multiply(x, w), axis=axes, keepdims=True), count + eps)
        diff = ops.subtract(ops.multiply(x, w), mean)
        var = ops.divide(ops.sum(ops.multiply(ops.square(diff), w), axis=axes, keepdims=True), count + eps)
        y = ops.divide(ops.subtract(x, mean), ops.sqrt(ops.add(var, self.epsilon)))
        if gamma is not None:
            y = ops.multiply(y, ops.reshape(gamma, self._bshape))
        if beta is not None:
            y = ops.add(y, ops.reshape(beta, self._bshape))
        return y, mean.data, var.data

    def get_config(self):
        cfg = super().get_config()
        cfg.update({
            "momentum": self.momentum,
            "moving_mean_initializer": serialize(self.moving_mean_initializer),
            "moving_variance_initializer": serialize(self.moving_variance_initializer),
            "synchronized": self.synchronized,
            "renorm": self.renorm, "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum,
        })
        return cfg


@register("layers")
class LayerNormalization(_NormBase):
    """Normalise each sample over ``axis``: y = gamma (x - mean) / sqrt(var + epsilon) + beta.
    With ``rms_scaling=True``: y = gamma x / sqrt(mean(x^2) + epsilon) (no centring, beta unused)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self._setup(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                    gamma_regularizer, beta_constraint, gamma_constraint)
        self.rms_scaling = bool(rms_scaling)

    def build(self, input_shape):
        # Keras 3: rms_scaling always has gamma and never beta
        self._build_params(input_shape, scale=self.scale or self.rms_scaling,
                           center=self.center and not self.rms_scaling)
        self._axes_t = tuple(self._axes)
        self.built = True

    def call(self, inputs):
        if self.rms_scaling:
            ms = ops.mean(ops.square(inputs), axis=self._axes_t, keepdims=True)
            y = ops.divide(inputs, ops.sqrt(ops.add(ms, self.epsilon)))
            if self.gamma is not None:
                y = ops.multiply(y, ops.reshape(self.gamma, self._bshape))
            return y
        return layer_norm(inputs, self.gamma, self.beta, self._axes_t, self._bshape, self.epsilon)

    def get_config(self):
        cfg = super().get_config()
        cfg["rms_scaling"] = self.rms_scaling
        return cfg

