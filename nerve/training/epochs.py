"""The epoch loop of ``Model.fit`` (Keras 3 order of callback hooks and of the logs)."""
import warnings

import numpy as np

from .. import backend
from .callback_list import CallbackList, pythonify_logs
from .data_adapter import (_standardize, is_array_data, make_iterator, num_samples, train_validation_split,
                           unpack_x_y_sample_weight)


def _should_eval(epoch, validation_freq):
    epoch = epoch + 1  # validation_freq counts epochs from 1
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq <= 0:
            raise ValueError(f"fit: argument 'validation_freq' must be a positive integer, got {validation_freq}")
        return epoch % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)):
        return epoch in validation_freq
    raise ValueError(f"fit: argument 'validation_freq' must be an int or a list of epochs, got {validation_freq!r}")


def _cap_epochs(epochs):
    """``epochs`` limited by ``nerve.config.set_max_epochs`` (a debugging cap, as Keras)."""
    cap = backend.config.max_epochs()
    if cap is not None and cap < epochs:
        warnings.warn(f"fit: limiting epochs to {cap} (set by nerve.config.set_max_epochs)")
        return cap
    return epochs


def _cap_steps(iterator, what):
    """Limit the steps of each epoch of ``iterator`` by ``nerve.config.set_max_steps_per_epoch``: never more
    than the cap, and never more than the iterator's own number of batches (array data does not wrap around)."""
    cap = backend.config.max_steps_per_epoch()
    if cap is not None and (iterator.num_batches is None or cap < iterator.num_batches):
        warnings.warn(f"fit: limiting {what} to {cap} (set by nerve.config.set_max_steps_per_epoch)")
        iterator.steps_per_epoch = cap
    return iterator


def resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"argument 'verbose' must be 0, 1, 2 or 'auto', got {verbose!r}")
    return verbose


def run_fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
            class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
            validation_freq):
    verbose = resolve_verbose(verbose)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"fit: argument 'epochs' must be a non-negative integer, got {epochs!r}")
    epochs = _cap_epochs(epochs)
    if validation_split is None:
        validation_split = 0.0
    if not isinstance(validation_split, (int, float)) or isinstance(validation_split, bool) or \
            not 0.0 <= validation_split < 1.0:
        raise ValueError(f"fit: argument 'validation_split' must be a float in [0, 1), got {validation_split!r}")
    if validation_split and validation_data is None:  # validation_data wins, as in Keras
        if not is_array_data(x):
            raise ValueError("fit: argument 'validation_split' is only supported for array inputs (NumPy arrays, "
                             "lists or dicts of arrays), not for generators or PyDataset; pass validation_data")
        x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        (x, y, sample_weight), validation_data = train_validation_split((x, y, sample_weight), validation_split)
    if batch_size is None and getattr(model.optimizer, "requires_closure", False) and is_array_data(x):
        batch_size = num_samples("fit", _standardize(x))  # L-BFGS: full-batch steps
    iterator = _cap_steps(make_iterator("fit", x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                                        class_weight), "steps per epoch")
    val_iterator = None
    if validation_data is not None:
        first = validation_data[0] if isinstance(validation_data, (tuple, list)) and validation_data else None
        if first is not None and is_array_data(first):
            vx, vy, vsw = unpack_x_y_sample_weight(tuple(validation_data))
            val_iterator = make_iterator("fit", vx, vy, vsw, validation_batch_size or batch_size, validation_steps,
                                         shuffle=False)
        else:
            val_iterator = make_iterator("fit", validation_data, None, None, None, validation_steps, shuffle=False)
        _cap_steps(val_iterator, "validation steps")

    cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=epochs,
        steps=iterator.num_batches)
    model.stop_training = False
    model._initial_epoch = None
    cbs.on_train_begin()
    if model._initial_epoch is not None:  # set by a callback that resumed training (BackupAndRestore)
        initial_epoch = model._initial_epoch
    training_logs = {}
    xp = model._array_module()  # NumPy batches go to the GPU when the weights are there
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        cbs.on_epoch_begin(epoch)
        logs, ran = {}, False
        for step, batch in iterator:
            ran = True
            cbs.on_train_batch_begin(step)
            logs = model.train_step(batch if xp is np else model._on_device(batch, xp))
            cbs.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        iterator.on_epoch_end()
        if not ran:
            break  # the generator ran out of data (warned by the iterator)
        epoch_logs = dict(pythonify_logs(model._get_metrics_result_or_logs(logs)))
        if val_iterator is not None and _should_eval(epoch, validation_freq):
            val_logs = model.evaluate(callbacks=cbs, return_dict=True, _iterator=val_iterator)
            epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        training_logs = epoch_logs
        if model.stop_training:
            break
    if epochs > 0 and hasattr(model.optimizer, "finalize_variable_values"):
        model.optimizer.finalize_variable_values(model.trainable_weights)
    cbs.on_train_end(training_logs)
    return model.history

