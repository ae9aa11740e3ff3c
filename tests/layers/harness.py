"""A Keras-style layer test (``keras.testing.TestCase.run_layer_test``) for nerve layers.

``layer_test`` checks, for one layer class and constructor arguments:
  core : eager build + output shape, weight counts, symbolic output shape (nerve.layers.Input),
         compute_output_shape, masking flag, get_config -> from_config round trip (same config, same
         outputs after copying the weights, also through the registry), float64 gradcheck of the forward
         w.r.t. the input(s) and the trainable weights in inference mode, and with ``gradcheck_training``
         also in training mode, the RNG state replayed before every evaluation so that stochastic layers
         draw the same mask / noise each time (their statistics are tested separately).
  save : model.save('m.keras') -> nerve.models.load_model gives the same predictions.
  fit  : a short fit of a Sequential (functional Model for several inputs) around the layer: loss finite,
         weights move.
Parts whose machinery does not exist yet (nerve.models, fit, saving) are skipped with a clear reason.
"""
import json
import warnings

import numpy as np
import pytest

import nerve
from nerve import backend
from nerve.autograd.tensor import Tensor


class MissingPiece(Exception):
    pass


def _as_list(shape):
    return isinstance(shape, list)


def make_input(input_shape, dtype="float32", rng=None, input_range=None):
    rng = rng or np.random.default_rng(0)
    if _as_list(input_shape):
        return [make_input(s, dtype, rng, input_range) for s in input_shape]
    x = rng.standard_normal(input_shape)
    if input_range is not None:
        lo, hi = input_range
        x = rng.uniform(lo, hi, input_shape)
    return x.astype(dtype)


def _np(y):
    if isinstance(y, (list, tuple)):
        return [_np(v) for v in y]
    return y.numpy() if isinstance(y, Tensor) else np.asarray(y)


def _shape(y):
    return [_shape(v) for v in y] if isinstance(y, (list, tuple)) else tuple(y.shape)


def _weight_slots(layer):
    """For every Variable of the layer tree: the (owner, attribute) pairs that hold it, so a gradcheck can
    swap in float64 leaf tensors for the weights."""
    slots = {}
    for sub in layer._flatten_layers():
        for k, v in vars(sub).items():
            if isinstance(v, Tensor):
                slots.setdefault(id(v), []).append((sub, k))
    return slots


def _models():
    try:
        import nerve.models as models
    except Exception as e:  # noqa: BLE001 - a half-written package must not fail the layer tests
        raise MissingPiece(f"nerve.models cannot be imported yet ({type(e).__name__}: {e})")
    return models


def _symbolic_inputs(input_shape, dtype):
    if _as_list(input_shape):
        return [nerve.layers.Input(shape=tuple(s[1:]), dtype=dtype) for s in input_shape]
    return nerve.layers.Input(shape=tuple(input_shape[1:]), dtype=dtype)


def _build_model(layer, input_shape, dtype, head=False):
    """Input(s) -> layer [-> Flatten -> Dense(1) when ``head``]: a Sequential for one input (the Keras
    idiom the seeds use), a functional Model for several (merge layers)."""
    models = _models()
    multi = _as_list(input_shape)
    if not hasattr(models, "Model" if multi else "Sequential"):
        raise MissingPiece(f"nerve.models.{'Model' if multi else 'Sequential'} does not exist yet")
    if not multi:
        stack = [nerve.layers.Input(shape=tuple(input_shape[1:]), dtype=dtype), layer]
        if head:
            if len(layer.compute_output_shape((None,) + tuple(input_shape[1:]))) > 2:
                stack.append(nerve.layers.Flatten())
            stack.append(nerve.layers.Dense(1))
        return models.Sequential(stack)
    inputs = _symbolic_inputs(input_shape, dtype)
    out = layer(inputs)
    if head:
        if len(out.shape) > 2:
            out = nerve.layers.Flatten()(out)
        out = nerve.layers.Dense(1)(out)
    return models.Model(inputs, out)


def layer_test(layer_cls, init_kwargs=None, input_shape=(2, 3), input_dtype="float32", input_data=None,
               expected_output_shape=None, expected_num_trainable_weights=0,
               expected_num_non_trainable_weights=0, expected_num_losses=None, supports_masking=None,
               run_gradcheck=True, gradcheck_training=False, gradcheck_shape=None, input_range=None,
               compare_outputs_training=False, parts=("core", "save", "fit"), tmp_path=None, fit_epochs=2):
    """Run the Keras-style checks; see the module docstring. Returns the built layer."""
    init_kwargs = dict(init_kwargs or {})
    rng = np.random.default_rng(0)
    x = input_data if input_data is not None else make_input(input_shape, input_dtype, rng, input_range)
    input_shape = [tuple(v.shape) for v in x] if isinstance(x, list) else tuple(x.shape)
    skipped = []
    layer = None
    if "core" in parts:
        layer = _core_checks(layer_cls, init_kwargs, x, input_shape, input_dtype, expected_output_shape,
                             expected_num_trainable_weights, expected_num_non_trainable_weights,
                             expected_num_losses, supports_masking, compare_outputs_training)
        if run_gradcheck:
            for training in (False, True) if gradcheck_training else (False,):
                _gradcheck(layer_cls, init_kwargs, gradcheck_shape or input_shape, training, input_range)
    for part, fn in (("save", _save_check), ("fit", _fit_check)):
        if part in parts:
            try:
                fn(layer_cls, init_kwargs, x, input_shape, input_dtype, tmp_path, fit_epochs)
            except MissingPiece as e:
                skipped.append(f"{part}: {e}")
    if skipped:
        if len(parts) == 1:
            pytest.skip("; ".join(skipped))
        warnings.warn("layer_test skipped " + "; ".join(skipped))
    return layer


def _core_checks(layer_cls, kw, x, input_shape, dtype, expected_output_shape, n_train, n_nontrain, n_losses,
                 supports_masking, compare_training):
    layer = layer_cls(**kw)
    assert not layer.built
    y = layer(x)
    assert layer.built, f"{layer_cls.__name__}: not built after the first call"
    if expected_output_shape is not None:
        assert _shape(y) == (list(map(tuple, expected_output_shape)) if _as_list(expected_output_shape)
                             else tuple(expected_output_shape)), \
            f"{layer_cls.__name__}: eager output shape {_shape(y)}, expected {expected_output_shape}"
    for v in (y if isinstance(y, (list, tuple)) else [y]):
        if np.dtype(dtype).kind == "f":
            assert v.dtype == np.dtype(dtype), f"{layer_cls.__name__}: output dtype {v.dtype}, expected {dtype}"
    assert len(layer.trainable_weights) == n_train, \
        f"{layer_cls.__name__}: {len(layer.trainable_weights)} trainable weights, expected {n_train}"
    assert len(layer.non_trainable_weights) == n_nontrain, \
        f"{layer_cls.__name__}: {len(layer.non_trainable_weights)} non-trainable weights, expected {n_nontrain}"
    assert len(layer.weights) == n_train + n_nontrain
    if n_losses is not None:
        assert len(layer.losses) == n_losses, f"{layer_cls.__name__}: {len(layer.losses)} losses, expected {n_losses}"
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking

    # compute_output_shape agrees with the eager output (batch axis included)
    cos = layer.compute_output_shape(input_shape)
    got = [tuple(s) for s in cos] if isinstance(cos, list) and cos and isinstance(cos[0], (tuple, list)) \
        else tuple(cos)
    assert got == _shape(y), f"{layer_cls.__name__}: compute_output_shape {got} != eager shape {_shape(y)}"

    # symbolic call on nerve.layers.Input: batch axis None, other axes as the eager output
    sym_layer = layer_cls(**kw)
    out = sym_layer(_symbolic_inputs(input_shape, dtype))
    eager = _shape(y)
    if isinstance(out, (list, tuple)):
        assert [tuple(o.shape) for o in out] == [(None,) + tuple(e[1:]) for e in eager]
    else:
        assert tuple(out.shape) == (None,) + tuple(eager[1:]), \
            f"{layer_cls.__name__}: symbolic output shape {out.shape}, expected {(None,) + tuple(eager[1:])}"
    assert len(sym_layer.weights) == n_train + n_nontrain

    # config round trip: JSON-able, same config, same outputs with the same weights
    cfg = layer.get_config()
    json.dumps(cfg)
    for k in ("name", "trainable", "dtype"):
        assert k in cfg, f"{layer_cls.__name__}: get_config lacks {k!r}"
    clone = layer_cls.from_config(cfg)
    assert clone.get_config() == cfg, f"{layer_cls.__name__}: config changed in the round trip"
    from nerve.saving.registry import deserialize, serialize
    clone2 = deserialize(json.loads(json.dumps(serialize(layer))), kind="layers")
    assert type(clone2) is layer_cls and clone2.get_config() == cfg
    for c in (clone, clone2):
        c(x)
        c.set_weights(layer.get_weights())
        modes = (False, True) if compare_training else (False,)
        for training in modes:
            state = backend.get_rng_state()
            a = _np(layer(x, training=training))
            backend.set_rng_state(state)
            b = _np(c(x, training=training))
            for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
                np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)
    # build config
    bc = layer.get_build_config()
    fresh = layer_cls.from_config(cfg)
    fresh.build_from_config(bc)
    assert fresh.built and [w.shape for w in fresh.weights] == [w.shape for w in layer.weights]
    return layer


def _gradcheck(layer_cls, kw, input_shape, training, input_range):
    """float64 central differences vs backward, w.r.t. the input(s) and every trainable weight."""
    with backend.precision("float64"):
        layer = layer_cls(**dict(kw, dtype="float64"))
        rng = np.random.default_rng(1)
        xs = make_input(input_shape, "float64", rng, input_range)
        xs = xs if isinstance(xs, list) else [xs]
        layer(xs if len(xs) > 1 else xs[0])
        # non-default weight values (zeros/ones initial gammas hide errors)
        for w in layer.weights:
            if w.trainable:
                w.assign(w.data + rng.uniform(0.2, 0.6, w.shape))
        ws = list(layer.trainable_weights)
        slots = _weight_slots(layer)
        state = backend.get_rng_state()
        n_in = len(xs)

        def fn(*args):
            ins, wts = args[:n_in], args[n_in:]
            saved = []
            for w, t in zip(ws, wts):
                for owner, attr in slots.get(id(w), []):
                    saved.append((owner, attr, getattr(owner, attr)))
                    object.__setattr__(owner, attr, t)
            backend.set_rng_state(state)
            try:
                return layer(list(ins) if n_in > 1 else ins[0], training=training)
            finally:
                for owner, attr, v in saved:
                    object.__setattr__(owner, attr, v)

        nerve.gradcheck(fn, xs + [w.data.copy() for w in ws], eps=1e-6, tol=1e-6)


def _save_check(layer_cls, kw, x, input_shape, dtype, tmp_path, epochs):
    models = _models()
    if not hasattr(models, "load_model"):
        raise MissingPiece("nerve.models.load_model does not exist yet")
    model = _build_model(layer_cls(**kw), input_shape, dtype)
    if not hasattr(model, "save"):
        raise MissingPiece("Model.save does not exist yet")
    if tmp_path is None:
        import tempfile
        tmp_path = tempfile.mkdtemp()
    path = str(tmp_path) + "/layer_model.keras"
    # non-trivial weights so that the comparison means something
    rs = np.random.default_rng(3)
    model.set_weights([w + rs.uniform(0.1, 0.5, w.shape).astype(w.dtype) if w.dtype.kind == "f" else w
                       for w in model.get_weights()])
    before = _np(model.predict(x, verbose=0))
    model.save(path)
    loaded = models.load_model(path)
    after = _np(loaded.predict(x, verbose=0))
    for a, b in zip(before if isinstance(before, list) else [before], after if isinstance(after, list) else [after]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]


def _fit_check(layer_cls, kw, x, input_shape, dtype, tmp_path, epochs):
    model = _build_model(layer_cls(**kw), input_shape, dtype, head=True)
    if not hasattr(model, "fit") or not hasattr(model, "compile"):
        raise MissingPiece("Model.compile / Model.fit do not exist yet")
    n = (x[0] if isinstance(x, list) else x).shape[0]
    y = np.random.default_rng(4).standard_normal((n, 1)).astype(dtype)
    model.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    hist = model.fit(x, y, epochs=epochs, batch_size=max(1, n // 2), verbose=0)
    losses = hist.history["loss"]
    assert len(losses) == epochs and np.all(np.isfinite(losses)), f"{layer_cls.__name__}: fit losses {losses}"
    after = model.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "fit did not change any weight"
