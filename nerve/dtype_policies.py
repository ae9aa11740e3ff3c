"""``nerve.dtype_policies`` (Keras 3's ``keras.dtype_policies``): a layer's compute and variable dtype.

A float policy ('float32', 'float64', 'float16') computes and stores variables in one dtype. 'mixed_float16'
computes in float16 and keeps float32 variables: each layer casts its float inputs to float16 and reads its
variables through float16 copies (autograd/autocast.py) whose gradients come back in float32; normalization
layers compute in float32; losses compute in float32; ``compile`` wraps the optimizer in a LossScaleOptimizer.
'mixed_bfloat16' raises NotImplementedError (NumPy and CuPy have no bfloat16). ``set_dtype_policy("float64")``
sets floatx; ``set_dtype_policy("mixed_float16")`` keeps floatx and makes layers created afterwards mixed.
"""
import numpy as np

from . import backend

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
_MIXED = {"mixed_float16": ("float16", "float32")}  # name: (compute dtype, variable dtype)
_GLOBAL_MIXED = [None]  # the global policy when it is a mixed one (floatx is the global float policy)


_POLICY_DTYPES = {}


def policy_dtypes(name):
    """(compute dtype, variable dtype, quantization mode) of a policy name: 'float32', 'mixed_float16',
    'int8_from_float32' (a quantized layer computes and keeps its float variables in the source dtype)."""
    hit = _POLICY_DTYPES.get(name)
    if hit is None:
        q = quantized_source(name)
        hit = _MIXED[name] + (None,) if name in _MIXED else (q[1], q[1], q[0]) if q else (name, name, None)
        _POLICY_DTYPES[name] = hit
    return hit


def _parse(who, name):
    if not isinstance(name, str):
        raise TypeError(f"{who}: argument 'name' expected a string such as 'float32', got {name!r} "
                        f"({type(name).__name__})")
    if name in _MIXED:
        return name
    if "bfloat16" in name:
        raise NotImplementedError(f"{who}: {name!r} is not supported: NumPy and CuPy have no bfloat16; use "
                                  f"'mixed_float16' (float16 compute, float32 variables) or 'float32'")
    try:
        return np.dtype(name).name
    except TypeError:
        pass
    raise ValueError(f"{who}: argument 'name' expected a dtype name such as 'float32' or 'mixed_float16', got "
                     f"{name!r}")


class DTypePolicy:
    """The dtype of a layer's computations and of its variables: one float dtype, or 'mixed_float16' (float16
    and float32). ``DTypePolicy()`` is the global policy."""

    def __init__(self, name=None):
        self._name = _parse(type(self).__name__, dtype_policy().name if name is None else name)

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return policy_dtypes(self._name)[0]

    @property
    def variable_dtype(self):
        return policy_dtypes(self._name)[1]

    def convert_input(self, x, autocast, dtype):
        """``x`` with floating values cast to ``dtype`` when ``autocast`` (Keras' DTypePolicy.convert_input)."""
        from . import ops
        x = ops.convert_to_tensor(x)
        if autocast and x.dtype.kind == "f" and x.dtype != dtype:
            return ops.cast(x, dtype)
        return x

    @property
    def quantization_mode(self):
        """'int8' for a quantized policy ('int8_from_float32'), else None."""
        return policy_dtypes(self._name)[2]

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f'<{type(self).__name__} "{self._name}">'

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self._name

    def __hash__(self):
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """Keras' name for a plain float policy (the same as DTypePolicy)."""


class QuantizedDTypePolicy(DTypePolicy):
    """A quantized layer's policy, ``"{mode}_from_{source_name}"`` (Keras): the compute and variable dtypes of the
    source policy, the weights stored quantized (``quantization_mode``, 'int8' in nerve; see nerve.quantizers).
    Layers get it from ``layer.quantize(mode)``; a config carrying it rebuilds the layer quantized."""

    def __init__(self, mode, source_name=None):
        from .quantizers import check_mode
        check_mode(type(self).__name__, mode)
        source = dtype_policy().name if source_name is None else source_name
        if source in _MIXED or _parse(type(self).__name__, source) not in ("float16", "float32", "float64"):
            raise NotImplementedError(f"{type(self).__name__}: a quantized policy needs a float source policy "
                                      f"('float32', 'float64', 'float16'), got {source!r}")
        self._mode, self._source = mode, source
        self._name = f"{mode}_from_{source}"

    def get_config(self):
        return {"mode": self._mode, "source_name": self._source}


def quantized_source(name):
    """'int8_from_float32' -> ('int8', 'float32'); None for a name that is not a quantized policy's."""
    if isinstance(name, str) and "_from_" in name:
        mode, _, source = name.partition("_from_")
        return mode, source
    return None


ALL_OBJECTS = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
               "QuantizedDTypePolicy": QuantizedDTypePolicy}


def dtype_policy():
    """The global policy: the mixed one if one is set, else ``DTypePolicy(floatx())``."""
    return DTypePolicy(_GLOBAL_MIXED[0] or backend.floatx())


def global_mixed_policy():
    """The global policy's name when it is mixed ('mixed_float16'), else None (layers then follow floatx)."""
    return _GLOBAL_MIXED[0]


def set_dtype_policy(policy):
    """Set the global policy from a name or a DTypePolicy; layers created afterwards without a dtype use it. A
    float policy sets floatx; a mixed one leaves floatx (float32) as it is."""
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if not isinstance(policy, DTypePolicy):
        raise ValueError(f"set_dtype_policy: argument 'policy' expected a DTypePolicy or a name such as "
                         f"'float32' or 'mixed_float16', got {policy!r}")
    if policy.name in _MIXED:
        _GLOBAL_MIXED[0] = policy.name
        return
    if policy.compute_dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"set_dtype_policy: the global policy must be a float one ('float16', 'float32', "
                         f"'float64' or 'mixed_float16'), got {policy.name!r}")
    _GLOBAL_MIXED[0] = None
    backend.set_floatx(policy.compute_dtype)


def get(identifier):
    """A DTypePolicy from None (the global policy), a name, a config dict or a DTypePolicy."""
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        q = quantized_source(identifier)
        return QuantizedDTypePolicy(*q) if q else DTypePolicy(identifier)
    try:
        return DTypePolicy(backend.resolve_dtype(identifier).name)
    except (TypeError, ValueError):
        raise ValueError(f"dtype_policies.get: could not interpret {identifier!r} as a dtype policy; expected "
                         f"None, a name such as 'float32', a config dict or a DTypePolicy") from None


def serialize(policy):
    """``{'module', 'class_name', 'config', 'registered_name'}`` as Keras writes it."""
    if not isinstance(policy, DTypePolicy):
        raise TypeError(f"dtype_policies.serialize: expected a DTypePolicy, got {type(policy).__name__}")
    name = "QuantizedDTypePolicy" if isinstance(policy, QuantizedDTypePolicy) else "DTypePolicy"
    return {"module": "keras", "class_name": name, "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A DTypePolicy from ``serialize``'s dict (or Keras'); custom policy classes come from ``custom_objects``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"dtype_policies.deserialize: expected a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS.get(name)
    if cls is None:
        raise ValueError(f"dtype_policies.deserialize: unknown class {name!r}; expected one of "
                         f"{sorted(ALL_OBJECTS)} or a class in custom_objects")
    return cls.from_config(config.get("config") or {})
