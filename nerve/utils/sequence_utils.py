"""``pad_sequences`` with Keras semantics: pad or truncate each sequence to ``maxlen``."""
import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad a list of sequences to one length and stack them into an array of shape ``(n, maxlen, ...)``.

    ``maxlen`` defaults to the longest sequence. Sequences longer than ``maxlen`` lose values at the
    start (``truncating='pre'``, default) or the end ('post'); shorter ones get ``value`` before
    (``padding='pre'``, default) or after ('post'). Elements may themselves be arrays (all of one shape).
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: argument 'sequences' must be iterable (a list of sequences)")
    if padding not in ("pre", "post"):
        raise ValueError(f"pad_sequences: argument 'padding' expected 'pre' or 'post', got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"pad_sequences: argument 'truncating' expected 'pre' or 'post', got {truncating!r}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0):
        raise ValueError(f"pad_sequences: argument 'maxlen' expected a non-negative int or None, got {maxlen!r}")
    num_samples = len(sequences)
    lengths, sample_shape, first_shape_found = [], (), False
    for i, x in enumerate(sequences):
        try:
            lengths.append(len(x))
            if not first_shape_found and len(x):
                sample_shape = np.asarray(x).shape[1:]
                first_shape_found = True
        except TypeError:
            raise ValueError(f"pad_sequences: 'sequences' must be a list of iterables; found non-iterable "
                             f"{x!r} at index {i}") from None
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    dt = np.dtype(dtype)
    is_dtype_str = dt.kind in "US" or dt.kind == "O"
    if isinstance(value, str) and dt.kind != "O" and not is_dtype_str:
        raise ValueError(f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s type {type(value)}; "
                         f"use dtype=object for variable-length strings")
    x = np.full((num_samples, int(maxlen)) + tuple(sample_shape), value, dtype=dt)
    for idx, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dt)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: shape of sample {trunc.shape[1:]} of sequence at position {idx} is "
                             f"different from expected shape {tuple(sample_shape)}")
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, -len(trunc):] = trunc
    return x
