"""Embedding (Keras 3): integer indices -> rows of a trainable (input_dim, output_dim) matrix.

The lookup is one fused gather node: forward E[idx]; backward scatter-adds the output gradient into the
rows that were read, dE = sum over positions p with idx[p] = k of dY[p] (repeated indices accumulate).
"""
import numpy as np

from .. import backend, constraints, initializers, regularizers
from ..backend import get_array_module
from ..autograd.function import Function
from ..autograd.ops import cast as _cast, jit
from ..autograd.ops.shape import _scatter_add
from ..autograd.tensor import Tensor
from ..saving.registry import register, serialize
from .layer import _MIXED, Layer


class EmbeddingGatherFn(Function):
    """y = E[idx] (any index shape); dE = scatter_add(idx, dy)."""
    name = "embedding_gather"

    def forward(self, e, idx):
        self.idx, self.shape = idx, e.shape
        return e[idx]

    def backward(self, g):
        if not self.needs[0]:
            return None, None
        d = self.shape[1]
        flat = self.idx.reshape(-1)
        g2 = g.reshape(-1, d)
        xp = get_array_module(g2)
        ge = xp.zeros(self.shape, g.dtype)
        K = jit.kernels() if type(g2) is np.ndarray and type(flat) is np.ndarray and g.dtype.char in "fd" else None
        if K is not None and flat.size:  # one compiled pass, rows added in order (ops/jit.py)
            K.scatter_add_rows(ge, flat, np.ascontiguousarray(g2))
        elif flat.size and xp is not np:  # the GPU: one atomic scatter-add
            _scatter_add(xp, ge, xp.where(flat < 0, flat + self.shape[0], flat), g2)
        elif flat.size:
            # sort once, then one reduceat per run of equal indices (faster than np.add.at for large batches);
            # negative indices (counted from the end, as the lookup read them) first become row numbers
            flat = np.where(flat < 0, flat + self.shape[0], flat)
            order = np.argsort(flat, kind="stable")
            s = flat[order]
            starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
            ge[s[starts]] = np.add.reduceat(g2[order], starts, axis=0)
        return ge, None


@register("layers")
class Embedding(Layer):
    """Turns positive integer indices into dense vectors of size ``output_dim`` (Keras ``Embedding``).

    ``mask_zero=True`` treats index 0 as padding: the output carries a mask (batch, ...) = (inputs != 0)
    that recurrent layers use to skip the padded steps (index 0 is then reserved: ``input_dim`` should be
    the vocabulary size + 1). Float inputs (e.g. padded sequences stored as float32) are cast to integers.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        for arg, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding '{self.name}': argument '{arg}' expected a positive integer, got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.autocast = False
        self._initial_weights = weights
        self.lora_rank = lora_rank

    def build(self, input_shape=None):
        if self.quantization_mode is None:
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              initializer=self.embeddings_initializer,
                                              regularizer=self.embeddings_regularizer,
                                              constraint=self.embeddings_constraint, name="embeddings")
        else:  # a quantized layer from a config (values come with the weights)
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), initializer="zeros",
                                              dtype="int8", trainable=False, name="embeddings")
            self.embeddings_scale = self.add_weight(shape=(self.input_dim,), initializer="ones", trainable=False,
                                                    name="embeddings_scale")
        self.built = True
        if self._initial_weights is not None:
            w = self._initial_weights
            self.set_weights(w if isinstance(w, (list, tuple)) else [w])
            self._initial_weights = None

    def quantize(self, mode, type_check=True, config=None):
        """Quantize the table to int8 (Keras): one scale per row, s_i = 127 / max_j |E_ij|, E ~ q / s; the
        looked-up rows are dequantized. The int8 table is not trainable."""
        from .. import quantizers
        self._check_quantize(mode, type_check, Embedding)
        q, scale = quantizers.abs_max_quantize(self.embeddings, axis=-1)
        self._own_weights = [w for w in self._own_weights if w is not self.embeddings]
        self._dtype = f"{mode}_from_{self.dtype_policy.name}"
        self.embeddings = self.add_weight(shape=tuple(q.shape), initializer="zeros", dtype="int8", trainable=False,
                                          name="embeddings")
        self.embeddings_scale = self.add_weight(shape=(self.input_dim,), initializer="ones", trainable=False,
                                                name="embeddings_scale")
        self.embeddings.assign(q.data)
        self.embeddings_scale.assign(scale.data.reshape(-1))

    def _indices(self, inputs):
        x = inputs.data if isinstance(inputs, Tensor) else backend.as_array(inputs)
        if x.dtype.kind == "f":
            if not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
                raise ValueError(f"Embedding '{self.name}': expected integer indices, got non-integer float values")
            x = x.astype(np.int64)
        elif x.dtype.kind not in "iub":
            raise TypeError(f"Embedding '{self.name}': expected integer indices, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() >= self.input_dim):
            bad = x.min() if x.min() < 0 else x.max()
            raise ValueError(f"Embedding '{self.name}': index {int(bad)} is out of range [0, {self.input_dim}) "
                             f"(input_dim={self.input_dim})")
        return backend.like(self.embeddings.data, x)  # host indices for a table on the GPU

    def call(self, inputs):
        if self.quantization_mode is not None:  # rows of the int8 table over their scales (no gradient)
            idx = self._indices(inputs)
            scale = self.embeddings_scale.data[idx][..., None]
            rows = self.embeddings.data[idx].astype(scale.dtype) / scale
            return Tensor._make(rows.astype(self.compute_dtype, copy=False), None, 0)
        out = EmbeddingGatherFn.apply(self.embeddings, self._indices(inputs))
        if self._dtype in _MIXED:  # as Keras: the gathered rows, not the table, go to the compute dtype
            out = _cast(out, self.compute_dtype)
        return out

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        x = inputs.data if isinstance(inputs, Tensor) else backend.as_array(inputs)
        return Tensor._make(x != 0, None, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update({"input_dim": self.input_dim, "output_dim": self.output_dim,
                    "embeddings_initializer": serialize(self.embeddings_initializer),
                    "embeddings_regularizer": serialize(self.embeddings_regularizer),
                    "embeddings_constraint": serialize(self.embeddings_constraint),
                    "mask_zero": self.mask_zero})
        if self.lora_rank is not None:
            cfg["lora_rank"] = self.lora_rank
        return cfg
