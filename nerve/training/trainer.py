"""Trainer: compile / fit / evaluate / predict and the step methods, mixed into ``nerve.Model``.

``train_step(data)``, ``test_step(data)`` and ``predict_step(data)`` are the override points (a GAN or
a VAE subclass overrides ``train_step``, uses ``self.optimizer`` and returns a logs dict). The default
train step is the textbook loop: forward in training mode with the graph recorded, total loss
L = sum_i w_i L_i(y_i, f_i(x)) + sum(model.losses), zero the gradients, L.backward(), then
``optimizer.apply(grads, variables)`` over the variables that were trainable when ``compile`` ran (Keras:
freezing takes effect at compile time, so a discriminator frozen inside a combined GAN model still
trains through its own compiled step). Evaluation and prediction run without a graph.
"""
import contextlib

import numpy as np

from .. import backend, denormals
from ..optimizers.base import backward_scaled
from ..autograd.ops import chains
from ..autograd.tensor import Tensor
from .callback_list import CallbackList, pythonify_logs
from .compile_utils import CompileLoss, CompileMetrics
from .data_adapter import (_standardize, class_weight_to_sample_weight, make_iterator, map_structure, num_samples,
                           unpack_x_y_sample_weight)
from .epochs import resolve_verbose, run_fit


def _to_numpy_structure(out):
    if isinstance(out, Tensor):
        return backend.to_numpy(out.data)
    if isinstance(out, dict):
        return {k: _to_numpy_structure(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(_to_numpy_structure(v) for v in out)
    return out


def _concat(batches):
    first = batches[0]
    if isinstance(first, dict):
        return {k: _concat([b[k] for b in batches]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([b[i] for b in batches]) for i in range(len(first)))
    return np.concatenate(batches, axis=0) if len(batches) > 1 else batches[0]


def _check_names(arg, value, get, special):
    """Resolve every string in a (nested) compile argument once, so an unknown name fails at compile()."""
    if isinstance(value, dict) and "class_name" in value:
        return  # a serialized object: resolved by the registry later
    if isinstance(value, (dict, list, tuple)):
        for item in (value.values() if isinstance(value, dict) else value):
            _check_names(arg, item, get, special)
        return
    if isinstance(value, str) and value.lower() not in special:
        try:
            get(value)
        except ValueError as e:
            raise ValueError(f"compile: argument '{arg}': {e}") from None


class Trainer:
    def _init_trainer(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._trainable_snapshot = None
        self.stop_training = False
        self.history = None
        self.steps_per_execution = 1
        self.run_eagerly = False
        self.jit_compile = False

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        from .. import losses as losses_module
        from .. import metrics as metrics_module
        from .. import optimizers
        self.__dict__.pop("_uses_chains", None)  # recomputed at the next train step
        self.optimizer = optimizers.get(optimizer)
        if auto_scale_loss and getattr(self, "_dtype", None) == "mixed_float16" and self.optimizer is not None \
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer):
            # Keras: float16 gradients underflow; the loss is scaled up and the gradients down (dynamic scale)
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer, name="loss_scale_optimizer")
        # misspelt names fail here, with a "did you mean", not at the first batch
        _check_names("loss", loss, losses_module.get, ("crossentropy", "ce"))
        _check_names("metrics", metrics, metrics_module.get, ("accuracy", "acc", "crossentropy", "ce"))
        _check_names("weighted_metrics", weighted_metrics, metrics_module.get,
                     ("accuracy", "acc", "crossentropy", "ce"))
        names = self._output_names_or_none()
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights, output_names=names) if loss is not None else None
        self._compile_metrics = (CompileMetrics(metrics, weighted_metrics, output_names=names)
                                 if metrics is not None or weighted_metrics is not None else None)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self.run_eagerly = bool(run_eagerly)
        self.jit_compile = False if jit_compile == "auto" else bool(jit_compile)
        # planned steps (training/step_plan.py) play the part of Keras' compiled step: off with jit_compile=False
        # or run_eagerly=True; decided again after this compile
        self._plan_allowed = jit_compile is not False and not run_eagerly
        self.__dict__.pop("_step_plan", None)
        self.steps_per_execution = steps_per_execution
        self.stop_training = False
        self.compiled = True
        self._compile_config = {"optimizer": optimizer if isinstance(optimizer, str) else None, "loss": loss,
                                "loss_weights": loss_weights, "metrics": metrics,
                                "weighted_metrics": weighted_metrics}
        # Keras: the trainable variables are those trainable now (freezing takes effect at compile time)
        self._trainable_snapshot = list(self.trainable_weights) if self.built else None

    def _assert_compiled(self, fn_name):
        if not getattr(self, "compiled", False):
            raise ValueError(f"{type(self).__name__} '{self.name}': you must call compile() before {fn_name}(); "
                             f"e.g. model.compile(optimizer='adam', loss='mse')")

    def _output_names_or_none(self):
        try:
            names = self.output_names
        except (AttributeError, ValueError):
            return None
        return list(names) if names else None

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self):
        out = []
        if getattr(self, "compiled", False):
            if self._loss_tracker is not None:
                out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            if self._compile_loss is not None:
                out.extend(self._compile_loss.metrics)
        out.extend(self.__dict__.get("_tracked_metrics", []))
        return out

    @property
    def metrics_names(self):
        """Names of the values ``evaluate`` returns as a list, in that order."""
        return self._ordered_names(list(self.get_metrics_result()) if getattr(self, "compiled", False) else [])

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self):
        out = {}
        for m in self.metrics:
            if isinstance(m, CompileMetrics):
                if m.built:
                    out.update(m.result())
            else:
                out[m.name] = m.result()
        return pythonify_logs(out)

    def _get_metrics_result_or_logs(self, logs):
        result = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) == set(result):
            return result
        return logs

    def _ordered_names(self, keys):
        """Keras 3's order: loss, compiled metrics, per-output losses, other metrics; then the rest sorted."""
        names = []
        for m in self.metrics:
            if isinstance(m, CompileMetrics):
                names.extend(sub.name for sub in m.metrics)
            else:
                names.append(m.name)
        first = [n for n in names if n in keys]
        return first + sorted(k for k in keys if k not in names)

    def _flatten_metrics_in_order(self, logs):
        out = [logs[n] for n in self._ordered_names(list(logs))]
        return out[0] if len(out) == 1 else out

    # ------------------------------------------------------------------ losses
    def _flat_outputs(self, y_pred):
        if isinstance(y_pred, dict):
            names = self._output_names_or_none() or sorted(y_pred)
            return [y_pred[n] for n in names if n in y_pred]
        if isinstance(y_pred, (list, tuple)):
            return list(y_pred)
        return [y_pred]

    def _flat_targets(self, y, n_outputs, arg="y"):
        if y is None:
            return [None] * n_outputs
        if isinstance(y, dict):
            names = self._output_names_or_none() or sorted(y)
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(f"{type(self).__name__} '{self.name}': argument '{arg}' has keys {unknown} that are "
                                 f"not output names {names}")
            return [y.get(n) for n in names]
        if isinstance(y, (list, tuple)) and n_outputs > 1:
            if len(y) != n_outputs:
                raise ValueError(f"{type(self).__name__} '{self.name}': argument '{arg}' has {len(y)} entries but the "
                                 f"model has {n_outputs} outputs")
            return list(y)
        if n_outputs > 1 and arg == "sample_weight":
            return y  # one weight array for every output
        return [y]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Total loss: the compiled per-output losses plus every ``model.losses`` term (regularisers)."""
        terms = []
        if self._compile_loss is not None:
            outs = self._flat_outputs(y_pred)
            ys = self._flat_targets(y, len(outs))
            sw = None if sample_weight is None else self._flat_targets(sample_weight, len(outs), "sample_weight")
            if isinstance(sw, list) and len(sw) == 1:
                sw = sw[0]
            value = self._compile_loss(ys, outs, sw)
            if value is not None:
                terms.append(value)
        for extra in self.losses:
            terms.append(extra.sum() if isinstance(extra, Tensor) and extra.ndim else extra)
        if not terms:
            raise ValueError(f"{type(self).__name__} '{self.name}': no loss to compute; pass a 'loss' argument to "
                             f"compile() (or add losses with add_loss)")
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """Call compute_loss, also when an override predates its 'training' argument (Keras 3.3)."""
        has = self.__dict__.get("_compute_loss_has_training")
        if has is None:
            import inspect
            has = self.__dict__["_compute_loss_has_training"] = \
                "training" in inspect.signature(self.compute_loss).parameters
        if has:
            return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if self._compile_metrics is not None:
            outs = self._flat_outputs(y_pred)
            ys = self._flat_targets(y, len(outs))
            sw = None if sample_weight is None else self._flat_targets(sample_weight, len(outs), "sample_weight")
            if isinstance(sw, list) and len(sw) == 1:
                sw = sw[0]
            self._compile_metrics.update_state(ys, outs, sw)
        return self.get_metrics_result()

    # ------------------------------------------------------------------ steps
    def _set_gradient_flags(self):
        """Variables in the compile-time trainable list need gradients; every other weight does not."""
        if self._trainable_snapshot is None:
            if not self.built:
                return None
            self._trainable_snapshot = list(self.trainable_weights)
        snap = self._trainable_snapshot
        cached = self.__dict__.get("_grad_flags")
        if cached is None or cached[0] is not snap:  # computed once per compile-time snapshot
            ids = {id(v) for v in snap}
            cached = self._grad_flags = (snap, [(w, id(w) in ids and w.data.dtype.kind == "f") for w in self.weights])
        for w, flag in cached[1]:
            if w.requires_grad is not flag:
                w.requires_grad = flag
        return snap

    def _array_module(self):
        """numpy, or cupy when the model's weights live on the GPU (nerve.device('gpu')); asked once per fit /
        evaluate / predict / *_on_batch call, so that NumPy batches are moved there (``_on_device``)."""
        ws = self.__dict__.get("_trainable_snapshot") or self.weights
        if ws:
            return backend.get_array_module(ws[0].data)
        # not built yet: its weights will go where its layers were made (Layer._device), or to the current scope
        if backend.config.device == "cpu" and all(l.__dict__.get("_device", "cpu") == "cpu"
                                                  for l in self._flatten_layers()):
            return np
        return backend._import_cupy(type(self).__name__)

    @staticmethod
    def _on_device(data, xp):
        """The NumPy arrays of a batch structure copied to the array module ``xp`` (no-op for NumPy)."""
        if xp is np:
            return data
        return map_structure(lambda a: xp.asarray(a) if type(a) is np.ndarray else a, data)

    def _batch_size_of(self, x):
        for a in (x.values() if isinstance(x, dict) else x if isinstance(x, (list, tuple)) else [x]):
            if hasattr(a, "shape") and len(a.shape):
                return int(a.shape[0])
        return 1

    def _chain_scope(self):
        """ops/chains.scope() for models with convolution or recurrent layers (their batch-parallel ops then
        run as chains, one per core, and BLAS single-threaded for the whole step), else a no-op."""
        use = self.__dict__.get("_uses_chains")
        if use is None:
            from ..layers.convolutional import Conv2D
            from ..layers.recurrent import GRU, LSTM
            use = self._uses_chains = any(isinstance(l, (Conv2D, LSTM, GRU)) for l in self._flatten_layers())
        return chains.scope() if use else contextlib.nullcontext()

    def train_step(self, data):
        with self._chain_scope():
            return self._train_step(data)

    def _train_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        plan = self.__dict__.get("_step_plan", False)
        if plan is False:  # decided once per compile, after the first (eager) step built the model
            plan = self._make_step_plan()
        if plan and plan.applies(x, y, sample_weight):
            return plan.run(x, y)
        if getattr(self.optimizer, "requires_closure", False):
            return self._closure_train_step(x, y, sample_weight)
        variables = self._set_gradient_flags()
        first = variables is None
        with backend.enable_grad(), backend.training_mode(True):
            y_pred = self(x, training=True)
            loss = self._compute_loss(x, y, y_pred, sample_weight, True)
        if first:  # the model was built by this forward (weights are created on the first call)
            variables = self._set_gradient_flags()
        self._loss_tracker.update_state(backend.step_value(loss.data), sample_weight=self._batch_size_of(x))
        for v in variables:
            v.grad = None
        if loss.requires_grad and variables:
            backward_scaled(self.optimizer, loss)  # apply() divides the gradients by the same scale
            self.optimizer.apply([v.grad for v in variables], variables)
        if first:  # frozen weights took part in that first graph: drop what they received
            for w in self.weights:
                if not w.requires_grad:
                    w.grad = None
        if hasattr(x, "shape"):  # an input shape the model has checked: a planned step takes only this one
            self._checked_input = (tuple(x.shape[1:]), x.dtype)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _make_step_plan(self):
        """training/step_plan.py's planned step for this model, or None; False (undecided) until the first eager
        step has built the model, its loss and its metrics."""
        if self._trainable_snapshot is None:
            return False
        plan = None
        if self.__dict__.get("_plan_allowed", True):
            from .step_plan import StepPlan
            plan = StepPlan.make(self)
        if plan is not False:
            self._step_plan = plan
        return plan

    def _closure_train_step(self, x, y, sample_weight):
        """A full L-BFGS step: the optimizer re-evaluates the loss through the closure."""
        variables = self._set_gradient_flags()
        if variables is None:
            with backend.no_grad():
                self(x, training=False)
            variables = self._set_gradient_flags()
        last = {}

        def closure():
            with backend.enable_grad(), backend.training_mode(True):
                y_pred = self(x, training=True)
                loss = self._compute_loss(x, y, y_pred, sample_weight, True)
            last["y_pred"], last["loss"] = y_pred, loss
            return loss

        if not self.optimizer.built:
            self.optimizer.minimize(closure, variables)
        else:
            self.optimizer.step(closure)
        with backend.no_grad():  # metrics and logged loss at the new point
            y_pred = self(x, training=False)
            loss = self._compute_loss(x, y, y_pred, sample_weight, False)
        self._loss_tracker.update_state(backend.step_value(loss.data), sample_weight=self._batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with backend.no_grad(), backend.training_mode(False):
            y_pred = self(x, training=False)
            loss = self._compute_loss(x, y, y_pred, sample_weight, False)
        self._loss_tracker.update_state(backend.step_value(loss.data), sample_weight=self._batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = unpack_x_y_sample_weight(data)
        with backend.no_grad(), backend.training_mode(False):
            return self(x, training=False)

    # ------------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for ``epochs`` epochs; returns the History (``history.history``: per-epoch logs)."""
        self._assert_compiled("fit")
        with denormals.flushing():
            return run_fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                           shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                           validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the data (batched, no graph): a scalar, a list, or a dict with return_dict."""
        self._assert_compiled("evaluate")
        iterator = kwargs.pop("_iterator", None)
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword argument(s) {sorted(kwargs)}")
        if iterator is None:
            iterator = make_iterator("evaluate", x, y, sample_weight, batch_size, steps, shuffle=False)
        if isinstance(callbacks, CallbackList):
            cbs = callbacks
        else:
            verbose = resolve_verbose(verbose)
            cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                               steps=iterator.num_batches)
        self.reset_metrics()
        cbs.on_test_begin()
        logs = {}
        xp = self._array_module()
        with denormals.flushing(), self._chain_scope():
            for step, batch in iterator:
                cbs.on_test_batch_begin(step)
                logs = self.test_step(self._on_device(batch, xp))
                cbs.on_test_batch_end(step, logs)
        logs = pythonify_logs(self._get_metrics_result_or_logs(logs))
        cbs.on_test_end(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs as NumPy arrays, computed in batches (default 32) in inference mode."""
        self._check_can_predict()
        iterator = make_iterator("predict", x, None, None, batch_size, steps, shuffle=False)
        verbose = resolve_verbose(verbose)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=iterator.num_batches)
        cbs.on_predict_begin()
        outs = []
        xp = self._array_module()
        with denormals.flushing(), self._chain_scope():
            for step, batch in iterator:
                cbs.on_predict_batch_begin(step)
                out = _to_numpy_structure(self.predict_step(self._on_device(batch, xp)))
                outs.append(out)
                cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if not outs:
            raise ValueError("predict: the input produced no batches")
        return _concat(outs)

    def _check_can_predict(self):
        pass

    # ------------------------------------------------------------------ single batches
    def _prepare_batch(self, fn_name, x, y, sample_weight, class_weight=None):
        x, y, sample_weight = _standardize(x), _standardize(y), _standardize(sample_weight)
        num_samples(fn_name, x, y, sample_weight)
        if class_weight is not None:
            sample_weight = class_weight_to_sample_weight(y, class_weight, sample_weight)
        return x, y, sample_weight

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on this batch; returns its loss (and metrics) for this batch alone."""
        self._assert_compiled("train_on_batch")
        self.reset_metrics()
        batch = self._prepare_batch("train_on_batch", x, y, sample_weight, class_weight)
        with denormals.flushing():
            logs = self.train_step(self._on_device(batch, self._array_module()))
        logs = pythonify_logs(logs)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        self.reset_metrics()
        batch = self._prepare_batch("test_on_batch", x, y, sample_weight)
        with denormals.flushing():
            logs = pythonify_logs(self.test_step(self._on_device(batch, self._array_module())))
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x):
        self._check_can_predict()
        x = _standardize(x)
        num_samples("predict_on_batch", x)
        with denormals.flushing():
            return _to_numpy_structure(self.predict_step(self._on_device((x,), self._array_module())))

