"""``nerve.dtype_policies`` (Keras 3's ``keras.dtype_policies``): a layer's compute and variable dtype.

nerve computes and stores variables in one dtype, so a policy is a float dtype name ('float32', 'float64',
'float16'): ``DTypePolicy("float64").compute_dtype == .variable_dtype == "float64"``, and a policy passed as a
layer's ``dtype`` gives that layer its dtype. The global policy is ``floatx()`` (what layers without a dtype
use): ``set_dtype_policy("float64")`` sets floatx to 'float64'. Mixed precision ('mixed_float16',
'mixed_bfloat16': float16 compute, float32 variables, loss scaling) is not supported yet and raises
NotImplementedError rather than running in full precision under a mixed name.
"""
from . import backend

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
_FLOATS = ("float16", "float32", "float64")


def _not_supported(who, name):
    return NotImplementedError(
        f"{who}: mixed precision ({name!r}) is not supported by nerve yet: it computes in one float dtype; use "
        f"'float32' (the default), 'float64' or 'float16'")


def _parse(who, name):
    if not isinstance(name, str):
        raise TypeError(f"{who}: argument 'name' expected a string such as 'float32', got {name!r} "
                        f"({type(name).__name__})")
    if name in MIXED_POLICIES:
        raise _not_supported(who, name)
    if name not in _FLOATS:
        hint = " (NumPy has no bfloat16)" if name == "bfloat16" else ""
        raise ValueError(f"{who}: argument 'name' expected one of {_FLOATS}{hint}, got {name!r}")
    return name


class DTypePolicy:
    """The dtype of a layer's computations and variables (the same one in nerve). ``DTypePolicy()`` is the
    global policy (floatx)."""

    def __init__(self, name=None):
        self._name = _parse(type(self).__name__, backend.floatx() if name is None else name)

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._name

    @property
    def variable_dtype(self):
        return self._name

    @property
    def quantization_mode(self):
        """Always None: nerve has no quantized policies."""
        return None

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self._name

    def __hash__(self):
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """Keras' name for a plain float policy (the same as DTypePolicy)."""


ALL_OBJECTS = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy}


def dtype_policy():
    """The global policy: ``DTypePolicy(floatx())``."""
    return DTypePolicy(backend.floatx())


def set_dtype_policy(policy):
    """Set the global policy from a name or a DTypePolicy; layers created afterwards without a dtype use it
    (this sets floatx)."""
    if policy in MIXED_POLICIES:
        raise _not_supported("set_dtype_policy", policy)
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    if not isinstance(policy, DTypePolicy):
        raise ValueError(f"set_dtype_policy: argument 'policy' expected a DTypePolicy or a name such as "
                         f"'float32', got {policy!r}")
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
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(backend.resolve_dtype(identifier).name)
    except (TypeError, ValueError):
        raise ValueError(f"dtype_policies.get: could not interpret {identifier!r} as a dtype policy; expected "
                         f"None, a name such as 'float32', a config dict or a DTypePolicy") from None


def serialize(policy):
    """``{'module', 'class_name', 'config', 'registered_name'}`` as Keras writes it."""
    if not isinstance(policy, DTypePolicy):
        raise TypeError(f"dtype_policies.serialize: expected a DTypePolicy, got {type(policy).__name__}")
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A DTypePolicy from ``serialize``'s dict (or Keras'); custom policy classes come from ``custom_objects``."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"dtype_policies.deserialize: expected a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or ALL_OBJECTS.get(name)
    if cls is None:
        raise ValueError(f"dtype_policies.deserialize: unknown class {name!r}; expected one of "
                         f"{sorted(ALL_OBJECTS)} (nerve has no quantized policies) or a class in custom_objects")
    return cls.from_config(config.get("config") or {})
