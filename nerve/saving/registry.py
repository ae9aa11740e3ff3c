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
                    "regularizers", "constraints", "activations", "callbacks", "generative", "preprocessing",
                    "utils.feature_space")
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


def did_you_mean(name, candidates):
    """"; did you mean 'a', 'b'?" for up to 3 close matches of ``name`` among ``candidates``, else ""."""
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def get_registered_object(name, custom_objects=None, kind=None):
    """Resolve ``name`` (registered name or class name within ``kind``) or raise UnknownObjectError."""
    obj = _lookup(name, custom_objects, kind)
    if obj is None and not _builtins_loaded:
        _import_builtins()
        obj = _lookup(name, custom_objects, kind)
    if obj is not None:
        return obj
    known = sorted({k.split(">", 1)[1] for k in _REGISTRY if kind is None or k.startswith(kind + ">")})
    hint = did_you_mean(name, known)
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


# ----------------------------------------------------------------------------- the modules' get / deserialize
def builtin_table(kind, aliases, classes=(), functions=()):
    """The ``ALL_OBJECTS`` name table of a module (functions' and classes' own names, then ``aliases``),
    registering the functions and the aliases under ``kind`` (classes register themselves)."""
    table = {obj.__name__: obj for obj in tuple(functions) + tuple(classes)}
    table.update(aliases)
    for f in functions:
        register(kind)(f)
    for key, obj in aliases.items():
        register(kind, key)(obj)
    return table


def deserialize_builtin(config, kind, all_objects, custom_objects=None):
    """``deserialize`` of initializers, regularizers and constraints: a name or a config dict naming one of
    the module's own classes (``all_objects``) is built directly (as an instance); anything else goes
    through the allow-list."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if isinstance(config, dict) and config.get("class_name") in all_objects and \
            config.get("registered_name") in (None, config["class_name"]):
        return all_objects[config["class_name"]].from_config(config.get("config") or {})
    return deserialize(config, kind=kind, custom_objects=custom_objects)


def resolve(identifier, kind, all_objects, deserialize_fn, what, known=None, default=None, instantiate=True,
            expected=""):
    """The shared ``get(identifier)`` of losses, activations, initializers, regularizers and constraints.

    None -> ``default``; a name outside ``all_objects`` -> ValueError "<kind>.get: unknown <what> 'x'; did
    you mean ...? <known>"; a name or config dict -> ``deserialize_fn(identifier)``; a class -> an instance
    (when ``instantiate``); the result must be callable. ``known`` is the text listing the accepted names
    (default "Known names: " and all of ``all_objects``); ``expected`` is appended to the final error.
    """
    if identifier is None:
        return default
    if isinstance(identifier, str) and identifier not in all_objects:
        if known is None:
            known = f"Known names: {', '.join(sorted(all_objects))}"
        raise ValueError(f"{kind}.get: unknown {what} {identifier!r}{did_you_mean(identifier, all_objects)} "
                         f"{known}")
    obj = deserialize_fn(identifier) if isinstance(identifier, (str, dict)) else identifier
    if instantiate and isinstance(obj, type):
        obj = obj()
    if callable(obj):
        return obj
    raise ValueError(f"{kind}.get: could not interpret {what} identifier {identifier!r}{expected}")
