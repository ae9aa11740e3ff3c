"""The allow-list of classes that configs may name, and (de)serialisation of objects to JSON dicts.

Every built-in serialisable class registers itself with ``@register("module")``; user classes register
with ``nerve.saving.register_keras_serializable(package, name)``. Deserialisation resolves names only
through this registry: an unknown name raises and nothing is imported or executed.
"""
import difflib

_REGISTRY = {}     # "package>Name" or "Name" -> class
_BY_CLASS = {}     # class -> registered name
_SCOPES = []       # custom_objects dicts of active nerve.saving.custom_object_scope blocks (innermost last)


class UnknownObjectError(ValueError):
    """A config names a class that is not in the allow-list."""


def register(kind, name=None):
    """Decorator for built-in classes; ``kind`` is the family ('layers', 'losses', ...)."""
    def deco(cls):
        key = name or cls.__name__
        _REGISTRY[f"{kind}>{key}"] = cls
        _BY_CLASS.setdefault(cls, (kind, key))
        return cls
    return deco


def register_keras_serializable(package="Custom", name=None):
    """Keras' decorator: allow a user class (or function) to be saved and loaded by name."""
    def deco(obj):
        key = f"{package}>{name or obj.__name__}"
        _REGISTRY[key] = obj
        _BY_CLASS[obj] = ("custom", key)
        return obj
    return deco


def get_registered_name(obj):
    cls = obj if isinstance(obj, type) or callable(obj) and not hasattr(obj, "get_config") else type(obj)
    kind, key = _BY_CLASS.get(cls, (None, getattr(cls, "__name__", str(cls))))
    return key


def _lookup(name, custom_objects, kind):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    for scope in reversed(_SCOPES):
        if name in scope:
            return scope[name]
    if kind is not None and f"{kind}>{name}" in _REGISTRY:
        return _REGISTRY[f"{kind}>{name}"]
    if name in _REGISTRY:  # a full key such as "Custom>MyLayer"
        return _REGISTRY[name]
    # a user class registered under some package may be referred to by its bare class name
    hits = [v for k, v in _REGISTRY.items() if k.split(">", 1)[1] == name and k.split(">")[0] not in _KINDS]
    return hits[0] if hits else None


# nerve's own modules that register built-in classes; imported (a fixed list, never a name taken from a
# file) the first time a lookup misses, because `import nerve` loads them lazily
_BUILTIN_MODULES = ("layers", "models", "losses", "metrics", "optimizers", "optimizers.schedules", "initializers",
                    "regularizers", "constraints", "activations", "callbacks", "generative", "preprocessing")
_builtins_loaded = []


def _import_builtins():
    import importlib
    if _builtins_loaded:
        return
    _builtins_loaded.append(True)
    for m in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"nerve.{m}")
        except ImportError:  # an optional part missing its extra; its classes stay unknown
            pass


def get_registered_object(name, custom_objects=None, kind=None):
    """Resolve ``name`` (registered name or class name within ``kind``) or raise UnknownObjectError."""
    obj = _lookup(name, custom_objects, kind)
    if obj is None and not _builtins_loaded:
        _import_builtins()
        obj = _lookup(name, custom_objects, kind)
    if obj is not None:
        return obj
    known = sorted({k.split(">", 1)[1] for k in _REGISTRY if kind is None or k.startswith(kind + ">")})
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownObjectError(
        f"unknown {kind or 'object'} {name!r}: it is not a registered nerve class{hint} (custom classes must be "
        f"registered with nerve.saving.register_keras_serializable or passed in custom_objects)")


_KINDS = ("layers", "losses", "metrics", "optimizers", "initializers", "regularizers", "constraints",
          "schedules", "activations", "models", "callbacks")


def serialize(obj):
    """{'class_name', 'config', 'registered_name'} for an object with get_config (or a registered function)."""
    if obj is None:
        return None
    if isinstance(obj, (str, int, float, bool)):
        return obj
    if not hasattr(obj, "get_config"):
        if callable(obj) and obj in _BY_CLASS:
            return {"class_name": "function", "config": get_registered_name(obj),
                    "registered_name": get_registered_name(obj)}
        name = getattr(obj, "__name__", type(obj).__name__)
        raise TypeError(f"serialize: {name!r} has no get_config and is not registered; register it with "
                        f"nerve.saving.register_keras_serializable to save it")
    return {"class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": get_registered_name(obj)}


def deserialize(config, kind=None, custom_objects=None):
    """Rebuild an object from ``serialize``'s dict (or a registered name string)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get_registered_object(config, custom_objects, kind)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', got {type(config).__name__}")
    if config["class_name"] == "function":
        return get_registered_object(config.get("registered_name") or config["config"], custom_objects, kind)
    name = config.get("registered_name") or config["class_name"]
    if not isinstance(name, str):
        raise ValueError(f"deserialize: 'class_name' must be a string, got {type(name).__name__}")
    try:
        cls = get_registered_object(name, custom_objects, kind)
    except UnknownObjectError:
        cls = get_registered_object(config["class_name"], custom_objects, kind)
    cfg = config.get("config") or {}
    if not isinstance(cfg, dict):
        raise ValueError(f"deserialize: the 'config' of {name!r} must be a dict, got {type(cfg).__name__}")
    if hasattr(cls, "from_config"):
        return cls.from_config(cfg)
    return cls(**cfg)
