"""Keras 3 audio layers: STFTSpectrogram and MelSpectrogram.

STFTSpectrogram (as Keras): the STFT as two strided 1-D convolutions whose kernels are weights, initialised by
``initializers.STFT`` (trainable by default). Each input channel c is convolved on its own:
    X_r[i, k] = sum_t x[i s + t] K_r[t, k],  X_i[i, k] = sum_t x[i s + t] K_i[t, k]    (s = frame_step)
with K_r = cos(2 pi t k / N) w_t / scale, K_i = -sin(2 pi t k / N) w_t / scale, N = 2 (bins - 1); then by mode
    power P = X_r^2 + X_i^2;  'magnitude' sqrt(max(P, eps));  'log' log(max(magnitude, eps));
    'psd' P with the bins 1 .. F-2 doubled (they also stand for their mirrors);  'angle' atan2(X_i, X_r);
    'real' X_r;  'imag' X_i;  'stft' X_r and X_i concatenated along the frequency axis.
MelSpectrogram (as Keras, no weights):  S = |stft(x)|^mag_exp  (centred frames, reflect padding, periodic
window),  M = S A  with A the HTK triangular mel filterbank (``linear_to_mel_weight_matrix``), then with
power_to_db  D = 10 log10(max(M, min_power)) - 10 log10(max(|ref_power|, min_power)),  clipped below at
max(D) - top_db (max over the whole batch, as Keras), output (..., num_mel_bins, frames).
"""
import math
import warnings

import numpy as np

from .. import backend, initializers, ops
from ..saving.registry import register
from .layer import InputSpec, Layer

__all__ = ["STFTSpectrogram", "MelSpectrogram", "linear_to_mel_weight_matrix"]

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


def _int_arg(who, name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{who}: argument '{name}' expected an integer >= {lo}, got {v!r}")
    return int(v)


def _check_float_input(who, x):
    if x.dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"{who}: expected a float16, float32 or float64 input, got {x.dtype}")


@register("layers")
class STFTSpectrogram(Layer):
    """Spectrogram of (batch, time, channels) signals (channels_first: (batch, channels, time)) by convolution
    with trainable DFT kernels (Keras ``keras.layers.STFTSpectrogram``). Weights: ``real_kernel`` then
    ``imag_kernel``, each (frame_length, 1, fft_length // 2 + 1) (mode 'real' has only the first, 'imag' only
    the second). Output (batch, frames, channels * bins), or (batch, frames, bins, channels) with expand_dims;
    channels_first: (batch, channels * bins, frames) or (batch, channels, frames, bins). Mode 'stft' has
    2 * bins frequency channels (real then imaginary)."""

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann",
                 periodic=False, scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        frame_length = _int_arg(who, "frame_length", frame_length)
        if frame_step is not None and not 1 <= _int_arg(who, "frame_step", frame_step) <= frame_length:
            raise ValueError(f"{who}: argument 'frame_step' expected an integer in [1, frame_length = "
                             f"{frame_length}], got {frame_step!r}")
        if fft_length is not None and _int_arg(who, "fft_length", fft_length) < frame_length:
            raise ValueError(f"{who}: argument 'fft_length' expected >= frame_length ({frame_length}), got "
                             f"{fft_length}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"{who}: argument 'fft_length' is recommended to be a power of two, got {fft_length}")
        if mode not in _MODES:
            raise ValueError(f"{who}: argument 'mode' expected one of {_MODES}, got {mode!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"{who}: argument 'scaling' expected None, 'density' or 'spectrum', got {scaling!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"{who}: argument 'padding' expected 'valid' or 'same', got {padding!r}")
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"{who}: argument 'data_format' expected 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, frame_length, frame_step, fft_length
        self._frame_step = frame_step or frame_length // 2 or 1
        self._fft_length = fft_length or 2 ** math.ceil(math.log2(frame_length))
        self._init = {side: initializers.STFT(side, window, scaling, periodic) for side in ("real", "imag")}
        self.window = self._init["real"].get_config()["window"]  # an array window is kept as a list (JSON)
        self.periodic, self.scaling, self.padding = bool(periodic), scaling, padding
        self.expand_dims, self.data_format = bool(expand_dims), data_format or "channels_last"
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(name="real_kernel", shape=shape, initializer=self._init["real"])
        if self.mode != "real":
            self.imag_kernel = self.add_weight(name="imag_kernel", shape=shape, initializer=self._init["imag"])

    def _conv(self, x, kernel):
        """(batch * channels, time, 1) signals -> (batch * channels, frames, bins)."""
        return ops.conv(x, ops.cast(kernel, x.dtype), strides=self._frame_step, padding=self.padding)

    def call(self, inputs):
        _check_float_input(f"{type(self).__name__} '{self.name}'", inputs)
        if self.data_format == "channels_last":
            inputs = ops.transpose(inputs, (0, 2, 1))
        b, c, t = inputs.shape
        x = ops.reshape(inputs, (-1, t, 1))  # every channel a signal of its own
        re = self._conv(x, self.real_kernel) if self.mode != "imag" else None
        im = self._conv(x, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            out = re
        elif self.mode == "imag":
            out = im
        elif self.mode == "angle":
            out = ops.arctan2(im, re)
        elif self.mode == "stft":
            out = ops.concatenate([re, im], axis=-1)
        else:
            power = ops.square(re) + ops.square(im)
            if self.mode == "psd":  # one-sided PSD: bins 1 .. F-2 doubled (Keras doubles all but the first, last)
                out = power + ops.pad(power[..., 1:-1], [(0, 0), (0, 0), (1, 1)])
            else:
                out = ops.sqrt(ops.maximum(power, backend.epsilon()))
                if self.mode == "log":
                    out = ops.log(ops.maximum(out, backend.epsilon()))
        frames, bins = out.shape[1], out.shape[2]
        out = ops.reshape(out, (b, c, frames, bins))
        if self.data_format == "channels_last":
            if self.expand_dims:
                return ops.transpose(out, (0, 2, 3, 1))  # (batch, frames, bins, channels)
            return ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (b, frames, c * bins))
        if self.expand_dims:
            return out  # (batch, channels, frames, bins)
        return ops.reshape(ops.transpose(out, (0, 1, 3, 2)), (b, c * bins, frames))

    def compute_output_shape(self, input_shape):
        b, a1, a2 = input_shape
        c, t = (a2, a1) if self.data_format == "channels_last" else (a1, a2)
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        s = self._frame_step
        frames = None if t is None else (-(-t // s) if self.padding == "same" else
                                         max(0, (t - self.frame_length) // s + 1))
        if self.data_format == "channels_last":
            return (b, frames, bins, c) if self.expand_dims else (b, frames, None if c is None else c * bins)
        return (b, c, frames, bins) if self.expand_dims else (b, None if c is None else c * bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode, "frame_length": self.frame_length, "frame_step": self.frame_step,
                       "fft_length": self.fft_length, "window": self.window, "periodic": self.periodic,
                       "scaling": self.scaling, "padding": self.padding, "data_format": self.data_format,
                       "expand_dims": self.expand_dims})
        return config


# ====================================================================================== mel spectrogram
def _hertz_to_mel(f):
    """HTK mel scale: mel(f) = 1127 ln(1 + f / 700) (= 2595 log10(1 + f / 700))."""
    return 1127.0 * np.log(1.0 + np.asarray(f, np.float64) / 700.0)


def linear_to_mel_weight_matrix(num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                lower_edge_hertz=125.0, upper_edge_hertz=3800.0, dtype="float32"):
    """Keras's (and TensorFlow's) HTK mel filterbank, (num_spectrogram_bins, num_mel_bins): bin j at
    f_j = j (sampling_rate / 2) / (bins - 1) and mel band m with edges (l_m, c_m, u_m), consecutive triples of
    num_mel_bins + 2 points equally spaced in mel from mel(lower_edge_hertz) to mel(upper_edge_hertz), weighs
        A[j, m] = max(0, min((mel(f_j) - l_m) / (c_m - l_m), (u_m - mel(f_j)) / (u_m - c_m)))
    (peak 1, linear in mel); the DC bin j = 0 gets 0."""
    freqs = np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:]
    mel = _hertz_to_mel(freqs)[:, None]
    edges = np.linspace(_hertz_to_mel(lower_edge_hertz), _hertz_to_mel(upper_edge_hertz), num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((mel - lower) / (center - lower), (upper - mel) / (upper - center)))
    return np.pad(weights, [(1, 0), (0, 0)]).astype(dtype)


@register("layers")
class MelSpectrogram(Layer):
    """Mel spectrograms of (samples,) or (batch, samples) signals: (num_mel_bins, frames) or (batch,
    num_mel_bins, frames) with frames = 1 + samples // sequence_stride (Keras ``keras.layers.MelSpectrogram``;
    no weights, differentiable w.r.t. its input)."""

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann",
                 sampling_rate=16000, num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True, top_db=80.0,
                 mag_exp=2.0, min_power=1e-10, ref_power=1.0, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.fft_length = _int_arg(who, "fft_length", fft_length)
        self.sequence_stride = _int_arg(who, "sequence_stride", sequence_stride)
        self.sequence_length = _int_arg(who, "sequence_length", sequence_length or fft_length)
        if self.fft_length < self.sequence_length:
            raise ValueError(f"{who}: argument 'fft_length' expected >= sequence_length ({self.sequence_length}), "
                             f"got {fft_length}")
        if window is not None and not isinstance(window, str):
            window = np.asarray(backend.to_numpy(backend.unwrap(window)), np.float64).tolist()
        self.window = window
        if not sampling_rate > 0:
            raise ValueError(f"{who}: argument 'sampling_rate' expected a positive number, got {sampling_rate!r}")
        self.sampling_rate = sampling_rate
        self.num_mel_bins = _int_arg(who, "num_mel_bins", num_mel_bins)
        self.min_freq, self.max_freq = min_freq, max_freq or int(sampling_rate / 2)
        if not 0 <= self.min_freq < self.max_freq:
            raise ValueError(f"{who}: arguments 'min_freq' and 'max_freq' expected 0 <= min_freq < max_freq, got "
                             f"{min_freq!r} and {self.max_freq!r}")
        self.power_to_db, self.top_db, self.mag_exp = bool(power_to_db), top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        self.input_spec = InputSpec(min_ndim=1, max_ndim=2)

    def call(self, inputs):
        # Keras computes in float32 unless the input is float64, and returns the layer's compute dtype
        x = inputs if inputs.dtype in (np.float32, np.float64) else ops.cast(inputs, "float32")
        window = self.window if self.window is None or isinstance(self.window, str) else np.asarray(self.window)
        re, im = ops.stft(x, self.sequence_length, self.sequence_stride, self.fft_length, window=window, center=True)
        spec = ops.power(ops.square(re) + ops.square(im), self.mag_exp / 2.0)  # |X|^mag_exp
        if self.__dict__.get("_mel") is None:  # the filterbank, built once on the host
            self._mel = linear_to_mel_weight_matrix(self.num_mel_bins, self.fft_length // 2 + 1, self.sampling_rate,
                                                    self.min_freq, self.max_freq, "float64")
        out = ops.matmul(spec, backend.like(spec.data, self._mel.astype(spec.data.dtype)))  # (..., frames, mels)
        if self.power_to_db:
            out = self._dbscale(out)
        return ops.cast(ops.swapaxes(out, -1, -2), self.compute_dtype)

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                    lower_edge_hertz=125.0, upper_edge_hertz=3800.0, dtype="float32"):
        """The HTK mel filterbank (Keras's method of the same name; see the module function)."""
        return linear_to_mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz,
                                           upper_edge_hertz, dtype)

    def _dbscale(self, s):
        """10 log10(max(s, min_power)) - 10 log10(max(|ref_power|, min_power)), floored at max - top_db."""
        db = 10.0 * ops.log10(ops.maximum(s, self.min_power))
        db = db - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
        if self.top_db is not None:
            db = ops.maximum(db, ops.max(db) - self.top_db)
        return db

    def compute_output_shape(self, input_shape):
        t = input_shape[-1]
        p = self.fft_length // 2
        frames = None if t is None else (t + 2 * p - self.fft_length) // self.sequence_stride + 1
        return tuple(input_shape[:-1]) + (self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update({"fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                       "sequence_length": self.sequence_length, "window": self.window,
                       "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
                       "min_freq": self.min_freq, "max_freq": self.max_freq, "power_to_db": self.power_to_db,
                       "top_db": self.top_db, "mag_exp": self.mag_exp, "min_power": self.min_power,
                       "ref_power": self.ref_power})
        return config
