"""Sequence utilities: ``pad_sequences`` (from ``nerve.utils``), ``timeseries_dataset_from_array`` (Keras
semantics) and ``lagged_design_matrix`` (the lagged windows of the ISLR NYSE example)."""
import math

import numpy as np

from ..utils.sequence_utils import pad_sequences  # noqa: F401  (Keras' keras.preprocessing.sequence name)

__all__ = ["pad_sequences", "timeseries_dataset_from_array", "TimeseriesDataset", "lagged_design_matrix"]


def _pos_int(v, arg):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"timeseries_dataset_from_array: argument '{arg}' expected a positive integer, got {v!r}")
    return int(v)


class TimeseriesDataset:
    """Batches of sliding windows; a PyDataset-like object (``len``, ``[i]``, iteration) that ``fit``,
    ``evaluate`` and ``predict`` accept. Each batch is ``(x, y)`` (or ``x`` alone without targets)."""

    def __init__(self, data, targets, positions, sequence_length, sampling_rate, batch_size):
        self.data, self.targets = data, targets
        self.positions = positions
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size

    def __len__(self):
        if self.batch_size is None:
            return len(self.positions)
        return math.ceil(len(self.positions) / self.batch_size)

    def _batch(self, pos):
        x = self.data[pos[:, None] + self.offsets]
        if self.targets is None:
            return x
        return x, self.targets[pos]

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"TimeseriesDataset: batch index {i} out of range for {len(self)} batches")
        i %= len(self)
        if self.batch_size is None:
            out = self._batch(self.positions[i:i + 1])
            return tuple(a[0] for a in out) if isinstance(out, tuple) else out[0]
        return self._batch(self.positions[i * self.batch_size:(i + 1) * self.batch_size])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def as_numpy(self):
        """All windows at once: ``(x, y)`` arrays (or ``x``)."""
        return self._batch(self.positions)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over ``data`` (Keras semantics).

    Window i is ``data[start_index + p_i + k * sampling_rate]`` for k = 0 .. sequence_length - 1 with start
    positions p_i = 0, sequence_stride, 2 sequence_stride, ...; its target is ``targets[start_index + p_i]``
    (so to predict the value after the window pass ``targets = data[sequence_length:]``). Only rows
    ``start_index <= row < end_index`` are used. ``shuffle`` permutes the windows once with ``seed``;
    ``batch_size=None`` yields single windows.
    """
    data = np.asarray(data)
    sequence_length = _pos_int(sequence_length, "sequence_length")
    sequence_stride = _pos_int(sequence_stride, "sequence_stride")
    sampling_rate = _pos_int(sampling_rate, "sampling_rate")
    if batch_size is not None:
        batch_size = _pos_int(batch_size, "batch_size")
    start_index = 0 if start_index is None else int(start_index)
    end_index = len(data) if end_index is None else int(end_index)
    if not 0 <= start_index < len(data):
        raise ValueError(f"timeseries_dataset_from_array: argument 'start_index' must be in [0, {len(data)}), got "
                         f"{start_index}")
    if not start_index < end_index <= len(data):
        raise ValueError(f"timeseries_dataset_from_array: argument 'end_index' must be in ({start_index}, "
                         f"{len(data)}], got {end_index}")
    if targets is not None:
        targets = np.asarray(targets)
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets), len(targets) - start_index)
    if num_seqs <= 0:
        raise ValueError(f"timeseries_dataset_from_array: no complete window: {end_index - start_index} rows, "
                         f"sequence_length={sequence_length}, sampling_rate={sampling_rate}")
    positions = np.arange(0, num_seqs, sequence_stride)
    if shuffle:
        np.random.default_rng(seed).shuffle(positions)
    view = data[start_index:end_index]
    tv = None if targets is None else targets[start_index:]
    return TimeseriesDataset(view, tv, positions, sequence_length, sampling_rate, batch_size)


def lagged_design_matrix(data, lags, target_column=None, as_sequences=False):
    """Lagged predictors for time-series regression (ISLR's NYSE lab: predict today's ``log_volume`` from
    the previous ``lags`` days of DJ_return, log_volume, log_volatility).

    ``data``: (T, k) array (a 1-D series is one column). Row t of the result holds the values at t-1 ... t-lags:
    - ``as_sequences=False``: X of shape (T - lags, lags * k), columns [lag 1 (k features), lag 2, ..., lag L];
    - ``as_sequences=True``: X of shape (T - lags, lags, k) in time order (oldest first), ready for an RNN;
      the same windows as ``timeseries_dataset_from_array(data, data[lags:, target_column], lags)``.
    y = data[lags:, target_column] (``None``: no target is returned, only X).
    """
    a = np.asarray(data, dtype=np.float64 if np.asarray(data).dtype.kind not in "f" else None)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"lagged_design_matrix: argument 'data' expected a (T, k) array, got shape {a.shape}")
    lags = int(lags)
    if lags <= 0 or lags >= len(a):
        raise ValueError(f"lagged_design_matrix: argument 'lags' must be in [1, {len(a) - 1}], got {lags}")
    n = len(a) - lags
    seq = np.stack([a[i:i + n] for i in range(lags)], axis=1)  # (n, lags, k), oldest first
    x = seq if as_sequences else seq[:, ::-1].reshape(n, -1)
    if target_column is None:
        return x
    return x, a[lags:, target_column]
