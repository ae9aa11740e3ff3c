"""``save_model`` / ``load_model``: the Keras 3 ``.keras`` layout, safe by construction.

A ``.keras`` file is a zip of
  config.json        {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}
  metadata.json      {"keras_version", "nerve_version", "format_version", "date_saved"}
  model.weights.npz  every variable, keyed by structural path (see weights.py)
  optimizer.json / optimizer.npz   (optional) the optimizer's get_state(): iterations, slots, learning rate
Loading reads only these members, decodes JSON and numeric npz arrays (``allow_pickle=False``), and
resolves every class through the allow-list in ``registry.py``: a name that is not registered (or given
in ``custom_objects``) raises before anything is built. The ``module`` field is informative only and is
never imported. No Python code is ever serialised, so ``safe_mode`` has nothing to unlock.
"""
import contextlib
import datetime
import inspect
import os

from . import file_io, registry
from .file_io import ArchiveError
from .weights import (WEIGHTS_MEMBER, assign_arrays, optimizer_state_for_loading, optimizer_state_for_saving,
                      weights_to_arrays)

FORMAT_VERSION = 1
KERAS_VERSION = "3.0.0"  # the Keras format this layout follows
CONFIG_MEMBER, METADATA_MEMBER = "config.json", "metadata.json"
OPT_JSON, OPT_NPZ = "optimizer.json", "optimizer.npz"
ALLOWED_MEMBERS = (CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_MEMBER, OPT_JSON, OPT_NPZ)
_CONFIG_KEYS = {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Within this block, configs may name the classes and functions in ``custom_objects`` (Keras API)."""
    registry._SCOPES.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        registry._SCOPES.pop()


CustomObjectScope = custom_object_scope


def _nerve_version():
    import nerve
    return getattr(nerve, "__version__", "unknown")


def _is_compiled(model):
    return bool(getattr(model, "compiled", False) or getattr(model, "_is_compiled", False)
                or getattr(model, "optimizer", None) is not None)


def serialize_model(model):
    """The config.json dict of ``model``."""
    if not hasattr(model, "get_config"):
        raise TypeError(f"save_model: expected a nerve Model, got {type(model).__name__}")
    try:
        cfg = model.get_config()
    except NotImplementedError as e:
        raise TypeError(f"save_model: {type(model).__name__} '{getattr(model, 'name', '?')}' cannot be saved: its "
                        f"get_config is not implemented ({e}); implement get_config/from_config, or use "
                        f"save_weights") from e
    build = model.get_build_config() if hasattr(model, "get_build_config") else None
    compile_cfg = None
    if _is_compiled(model) and hasattr(model, "get_compile_config"):
        compile_cfg = _json_safe_compile_config(model, model.get_compile_config())
    return {"module": type(model).__module__, "class_name": type(model).__name__, "config": cfg,
            "registered_name": registry.get_registered_name(model), "build_config": build,
            "compile_config": compile_cfg}


_COMPILE_KINDS = {"optimizer": "optimizers", "loss": "losses", "metrics": "metrics", "weighted_metrics": "metrics"}


def _json_safe(value):
    """Objects -> registry.serialize dicts; raises TypeError for what cannot be named in JSON."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return registry.serialize(value)


def _json_safe_compile_config(model, cfg):
    if not cfg:
        return None
    cfg = dict(cfg)
    opt = getattr(model, "optimizer", None)
    if opt is not None and hasattr(opt, "get_config"):
        cfg["optimizer"] = opt  # the live optimizer (its class and hyper-parameters), as Keras saves it
    try:
        out = _json_safe(cfg)
        file_io.json_dumps(out)
        return out
    except (TypeError, ValueError) as e:
        import warnings
        warnings.warn(f"save_model: the compile arguments of {type(model).__name__} '{getattr(model, 'name', '?')}' "
                      f"cannot be saved ({e}); the model is saved uncompiled (register custom losses/metrics with "
                      f"nerve.saving.register_keras_serializable to keep them)", stacklevel=3)
        return None


def _compile_args_from_config(cc):
    out = {}
    for k, v in cc.items():
        kind = _COMPILE_KINDS.get(k)
        out[k] = _deserialize_nested(v, kind) if kind else v
    return out


def _deserialize_nested(v, kind):
    if isinstance(v, dict) and "class_name" in v:
        return registry.deserialize(v, kind=kind)
    if isinstance(v, dict):
        return {k: _deserialize_nested(x, kind) for k, x in v.items()}
    if isinstance(v, list):
        return [_deserialize_nested(x, kind) for x in v]
    return v


def _check_name(filepath, fn):
    name = os.fspath(filepath)
    if name.endswith((".h5", ".hdf5")):
        raise ValueError(f"{fn}: HDF5 files ({name!r}) are not supported (nerve has no h5py dependency); use the "
                         f"native format: a name ending in '.keras' (or save_weights('....weights.npz'))")
    return name


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True, **kwargs):
    """Save the architecture, weights and optimizer state of ``model`` to a ``.keras`` file, atomically."""
    if kwargs:
        raise TypeError(f"save_model: unexpected keyword argument(s) {sorted(kwargs)}")
    name = _check_name(filepath, "save_model")
    if zipped is False:
        raise ValueError("save_model: zipped=False (an unzipped directory) is not supported; use zipped=None/True")
    if not name.endswith(".keras"):
        raise ValueError(f"save_model: invalid filepath extension for saving: {name!r}; add a '.keras' extension "
                         f"(nerve's model format)")
    if not overwrite and os.path.exists(name):
        raise FileExistsError(f"save_model: {name!r} exists and overwrite=False")
    config = serialize_model(model)
    meta = {"keras_version": KERAS_VERSION, "nerve_version": _nerve_version(), "format_version": FORMAT_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    members = {CONFIG_MEMBER: file_io.json_dumps(config), METADATA_MEMBER: file_io.json_dumps(meta),
               WEIGHTS_MEMBER: file_io.npz_bytes(weights_to_arrays(model))}
    opt = getattr(model, "optimizer", None)
    if include_optimizer and opt is not None and hasattr(opt, "get_state") and getattr(opt, "built", False):
        state, arrays = optimizer_state_for_saving(model, opt)
        members[OPT_JSON] = file_io.json_dumps(state)
        members[OPT_NPZ] = file_io.npz_bytes(arrays)
    file_io.write_zip(name, members)


def _validate_config(config, what):
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise ArchiveError(f"{what}: config.json has unexpected keys {unknown}; expected {sorted(_CONFIG_KEYS)}")
    if not isinstance(config.get("class_name"), str) or not config["class_name"]:
        raise ArchiveError(f"{what}: config.json needs a string 'class_name', got {config.get('class_name')!r}")
    if not isinstance(config.get("config"), dict):
        raise ArchiveError(f"{what}: config.json needs a dict 'config', got {type(config.get('config')).__name__}")
    for key in ("module", "registered_name"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise ArchiveError(f"{what}: config.json field {key!r} must be a string, got "
                               f"{type(config[key]).__name__}")
    for key in ("build_config", "compile_config"):
        if config.get(key) is not None and not isinstance(config[key], dict):
            raise ArchiveError(f"{what}: config.json field {key!r} must be a dict or null, got "
                               f"{type(config[key]).__name__}")


def _resolve_model_class(config, custom_objects, what):
    try:
        from ..models.model import Model as Layer  # load_model rebuilds models only
    except ImportError:  # pragma: no cover - before nerve.models exists
        from ..layers.layer import Layer
    names = [n for n in (config.get("registered_name"), config["class_name"]) if n]
    cls, err = None, None
    for n in names:
        for kind in ("models", "layers"):
            try:
                cls = registry.get_registered_object(n, custom_objects, kind=kind)
                break
            except registry.UnknownObjectError as e:
                err = err or e
        if cls is not None:
            break
    if cls is None:
        mod = f" (module {config.get('module')!r})" if config.get("module") else ""
        raise registry.UnknownObjectError(f"{what}: the archive names class {config['class_name']!r}{mod}, which is "
                                          f"not a registered nerve model; nothing was imported or run. {err}")
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ArchiveError(f"{what}: {config['class_name']!r} resolves to {cls!r}, which is not a Model class")
    return cls


def _from_config(cls, cfg, custom_objects):
    params = inspect.signature(cls.from_config).parameters
    if "custom_objects" in params:
        return cls.from_config(cfg, custom_objects=custom_objects)
    return cls.from_config(cfg)


@contextlib.contextmanager
def _rebuild_errors(what, doing):
    """Errors raised while rebuilding from a (possibly crafted) config become ArchiveError with context;
    UnknownObjectError (a name outside the allow-list) passes through unchanged."""
    try:
        yield
    except (registry.UnknownObjectError, ArchiveError):
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as e:
        raise ArchiveError(f"{what}: cannot {doing}: {type(e).__name__}: {e}") from e


def _ensure_variables(model, bc):
    """A subclassed model marked built without running ``call`` has no variables yet: build it explicitly."""
    from .weights import weight_map
    if weight_map(model) or not isinstance(bc, dict) or bc.get("input_shape") is None:
        return
    from ..layers.layer import _from_json_shape
    model.build(_from_json_shape(bc["input_shape"]))


def deserialize_model(config, custom_objects=None, compile=True, what="load_model"):
    """Rebuild an (unweighted) model from a config.json dict, through the allow-list only."""
    _validate_config(config, what)
    cls = _resolve_model_class(config, custom_objects, what)
    with custom_object_scope(custom_objects):
        with _rebuild_errors(what, f"rebuild {config['class_name']!r} from config.json"):
            model = _from_config(cls, config["config"], custom_objects)
        bc = config.get("build_config")
        if bc and not getattr(model, "built", False) and hasattr(model, "build_from_config"):
            with _rebuild_errors(what, "build the model from its build_config"):
                model.build_from_config(bc)
                _ensure_variables(model, bc)
        cc = config.get("compile_config")
        if compile and cc:
            with _rebuild_errors(what, "compile the model from its compile_config (load with compile=False to "
                                       "skip)"):
                if hasattr(model, "compile_from_config"):
                    model.compile_from_config(cc)
                elif hasattr(model, "compile"):
                    model.compile(**_compile_args_from_config(cc))
    return model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a ``.keras`` archive written by ``save_model`` (Keras 3 signature).

    Every class is resolved through the allow-list (built-ins, ``register_keras_serializable`` classes,
    ``custom_objects``); member names, sizes, JSON and arrays are validated; nothing is unpickled,
    unmarshalled or imported. Errors are ``ArchiveError`` / ``UnknownObjectError`` (both ValueError).
    """
    name = _check_name(filepath, "load_model")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"load_model: argument 'custom_objects' expected a dict, got {type(custom_objects).__name__}")
    what = "load_model"
    members = file_io.read_zip(name, allowed=ALLOWED_MEMBERS, required=(CONFIG_MEMBER, METADATA_MEMBER,
                                                                        WEIGHTS_MEMBER), what=what)
    meta = file_io.parse_json(members[METADATA_MEMBER], METADATA_MEMBER, what)
    fv = meta.get("format_version", FORMAT_VERSION)
    if not isinstance(fv, int) or fv > FORMAT_VERSION:
        raise ArchiveError(f"{what}: {name!r} has format_version {fv!r}; this nerve reads versions up to "
                           f"{FORMAT_VERSION} (upgrade nerve)")
    config = file_io.parse_json(members[CONFIG_MEMBER], CONFIG_MEMBER, what)
    _validate_config(config, what)
    arrays = file_io.load_npz(members[WEIGHTS_MEMBER], WEIGHTS_MEMBER, what)
    opt_state = opt_arrays = None
    if (OPT_JSON in members) != (OPT_NPZ in members):
        raise ArchiveError(f"{what}: {name!r} has only one of {OPT_JSON!r} and {OPT_NPZ!r}")
    if OPT_JSON in members:
        opt_state = file_io.parse_json(members[OPT_JSON], OPT_JSON, what)
        opt_arrays = file_io.load_npz(members[OPT_NPZ], OPT_NPZ, what)
    model = deserialize_model(config, custom_objects=custom_objects, compile=compile, what=what)
    assign_arrays(model, arrays, repr(name))
    opt = getattr(model, "optimizer", None)
    if compile and opt_state is not None and opt is not None and hasattr(opt, "set_state"):
        with _rebuild_errors(what, "restore the optimizer state"):
            restore_optimizer(opt, *optimizer_state_for_loading(model, opt_state, opt_arrays))
    return model


def restore_optimizer(opt, state, arrays):
    """Restore ``get_state()`` output now where possible. Unbuilt optimizers keep the slots pending until
    their first ``apply``; iterations and a float learning rate are set at once, so a callback changing
    the rate before that first step (LearningRateScheduler) is not undone later."""
    it = state.get("iterations")
    if not isinstance(it, int) or isinstance(it, bool) or it < 0:
        raise ArchiveError(f"the optimizer state needs a non-negative int 'iterations', got {it!r}")
    saved_cls = state.get("class_name")
    if saved_cls and saved_cls != type(opt).__name__:
        raise ArchiveError(f"the saved optimizer state is for {saved_cls}, but the optimizer is {type(opt).__name__}")
    if getattr(opt, "built", False):
        opt.set_state(state, arrays)
        return
    lr = state.get("learning_rate")
    if "iterations" in state:
        opt.iterations = int(state["iterations"])
    if isinstance(lr, (int, float)) and not isinstance(lr, bool):
        try:
            opt.learning_rate = float(lr)
        except (TypeError, ValueError):  # a schedule-driven optimizer: its rate follows iterations
            pass
    pending = {k: v for k, v in state.items() if k != "learning_rate"}
    opt.set_state(pending, arrays)
