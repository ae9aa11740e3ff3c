"""What ``compile(loss=..., loss_weights=..., metrics=..., weighted_metrics=...)`` turns into.

CompileLoss: one loss per model output (one loss for all outputs, a list in output order, or a dict by
output name; None = no loss for that output), optional loss weights. Total = sum_i w_i * L_i; with more
than one loss each unweighted L_i is also tracked as the metric ``<output name>_loss`` (Keras 3).
CompileMetrics: metrics per output; 'accuracy'/'acc' resolved to binary / categorical / sparse
categorical accuracy from the target and output shapes; names prefixed with the output name when the
model has several outputs (``dense_1_accuracy``). ``metrics`` ignore sample weights, ``weighted_metrics``
use them.
"""
from .. import backend
from .. import losses as losses_module


def _metrics_module():
    from .. import metrics
    return metrics


def _is_function_like(v):
    return v is None or isinstance(v, str) or callable(v)


def get_loss(identifier, y_true, y_pred):
    """A Loss object for one output (Keras' compile_utils.get_loss, including 'crossentropy'/'ce')."""
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        from ..metrics import is_binary_or_sparse_categorical
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        fn = (losses_module.binary_crossentropy if is_binary else
              losses_module.sparse_categorical_crossentropy if is_sparse else losses_module.categorical_crossentropy)
        return losses_module.LossFunctionWrapper(fn, name=identifier)
    obj = losses_module.get(identifier)
    if isinstance(obj, losses_module.Loss):
        return obj
    if not callable(obj):
        raise ValueError(f"compile: argument 'loss' could not interpret {identifier!r} as a loss")
    name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", type(obj).__name__)
    return losses_module.LossFunctionWrapper(obj, name=name)


def _per_output(arg, arg_name, output_names, allow_scalar):
    """Spread ``arg`` over the outputs: returns a list (one entry per output)."""
    n = len(output_names)
    if isinstance(arg, dict):
        unknown = [k for k in arg if k not in output_names]
        if unknown:
            raise ValueError(f"compile: argument '{arg_name}' has keys {unknown} that are not model outputs; the "
                             f"outputs are {output_names}")
        return [arg.get(name) for name in output_names]
    if isinstance(arg, (list, tuple)):
        if len(arg) != n:
            raise ValueError(f"compile: argument '{arg_name}' has {len(arg)} entries but the model has {n} outputs "
                             f"({output_names}); pass one entry per output (None for no {arg_name} on an output)")
        return list(arg)
    if allow_scalar:
        return [arg] * n
    raise ValueError(f"compile: argument '{arg_name}' must be a list or dict for a model with {n} outputs, got "
                     f"{type(arg).__name__}")


class CompileLoss:
    def __init__(self, loss, loss_weights=None, output_names=None):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, int, float)):
            raise ValueError(f"compile: argument 'loss_weights' must be a float, a list or a dict, got "
                             f"{type(loss_weights).__name__}")
        self._user_loss = loss
        self._user_weights = loss_weights
        self.output_names = output_names
        self.built = False
        self.losses = []       # (index, Loss, weight, name) for outputs with a loss
        self.metrics = []      # per-output Mean trackers when there are several losses

    def build(self, y_true, y_pred):
        names = list(self.output_names or [f"output_{i}" for i in range(len(y_pred))])
        if len(names) != len(y_pred):
            names = [f"output_{i}" for i in range(len(y_pred))]
        losses = _per_output(self._user_loss, "loss", names, allow_scalar=True)
        if self._user_weights is None:
            weights = [None] * len(names)
        elif isinstance(self._user_weights, (int, float)):
            weights = [float(self._user_weights)] * len(names)
        else:
            weights = _per_output(self._user_weights, "loss_weights", names, allow_scalar=False)
        self.losses = []
        for i, (spec, w) in enumerate(zip(losses, weights)):
            if spec is None:
                continue
            yt = y_true[i] if i < len(y_true) else None
            if yt is None:
                raise ValueError(f"compile/fit: output '{names[i]}' has a loss but no target was given for it")
            self.losses.append((i, get_loss(spec, yt, y_pred[i]), w, names[i]))
        Mean = _metrics_module().Mean
        self.metrics = [Mean(name=f"{name}_loss") for _, _, _, name in self.losses] if len(self.losses) > 1 else []
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Total loss (Tensor) for flat lists of targets / outputs; sample_weight: None, one array, or a list."""
        if not self.built:
            self.build(y_true, y_pred)
        total = None
        for k, (i, loss_fn, w, name) in enumerate(self.losses):
            sw = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
            value = loss_fn(y_true[i], y_pred[i], sample_weight=sw)
            if self.metrics:  # the unweighted loss of this output, averaged over samples seen
                batch = int(y_pred[i].shape[0]) if y_pred[i].ndim else 1
                self.metrics[k].update_state(backend.step_value(value.data), sample_weight=batch)
            if w is not None:
                value = value * float(w)
            total = value if total is None else total + value
        return total


class MetricsList:
    def __init__(self, metrics, output_name=None):
        self.metrics = metrics
        self.output_name = output_name


class CompileMetrics:
    def __init__(self, metrics, weighted_metrics, output_names=None):
        for arg, label in ((metrics, "metrics"), (weighted_metrics, "weighted_metrics")):
            if arg is not None and not isinstance(arg, (list, tuple, dict)):
                raise ValueError(f"compile: argument '{label}' must be a list, tuple or dict, got "
                                 f"{type(arg).__name__} ({arg!r}); e.g. metrics=['accuracy']")
        self._user_metrics = metrics
        self._user_weighted = weighted_metrics
        self.output_names = output_names
        self.name = "compile_metrics"  # as Keras: `for m in self.metrics: m.update_state(y, y_pred)` reaches it
        self.built = False
        self._flat = []
        self._flat_weighted = []

    @property
    def metrics(self):
        out = []
        for ml in self._flat + self._flat_weighted:
            if ml is not None:
                out.extend(ml.metrics)
        return out

    def _build_set(self, spec, names, y_true, y_pred, label):
        get_metric = _metrics_module().get_metric
        n = len(names)
        if not spec:
            return [None] * n
        if n == 1:
            items = list(spec.values()) if isinstance(spec, dict) else list(spec)
            flat = []
            for m in items:
                flat.extend(m if isinstance(m, (list, tuple)) else [m])
            if not all(_is_function_like(m) for m in flat):
                raise ValueError(f"compile: every entry of '{label}' must be a metric name, function or Metric, got "
                                 f"{flat}")
            return [MetricsList([get_metric(m, y_true[0], y_pred[0]) for m in flat if m is not None])]
        if isinstance(spec, dict):
            per = _per_output(spec, label, names, allow_scalar=False)
        elif all(not isinstance(m, (list, tuple)) for m in spec) and len(spec) != n:
            per = [list(spec)] * n  # Keras 2 style: the same metrics for every output
        else:
            per = _per_output(list(spec), label, names, allow_scalar=False)
        out = []
        for i, ms in enumerate(per):
            if ms is None:
                out.append(None)
                continue
            ms = list(ms) if isinstance(ms, (list, tuple)) else [ms]
            out.append(MetricsList([get_metric(m, y_true[i], y_pred[i]) for m in ms if m is not None],
                                   output_name=names[i]))
        return out

    def build(self, y_true, y_pred):
        names = list(self.output_names or [f"output_{i}" for i in range(len(y_pred))])
        if len(names) != len(y_pred):
            names = [f"output_{i}" for i in range(len(y_pred))]
        self._flat = self._build_set(self._user_metrics, names, y_true, y_pred, "metrics")
        self._flat_weighted = self._build_set(self._user_weighted, names, y_true, y_pred, "weighted_metrics")
        self.built = True

    def _as_outputs(self, v):
        """A raw y / y_pred (a custom train_step passes them) as the per-output list the trainer passes."""
        if isinstance(v, dict):
            return [v.get(n) for n in (self.output_names or sorted(v))]
        return list(v) if isinstance(v, (list, tuple)) else [v]

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._as_outputs(y_true), self._as_outputs(y_pred)
        if not self.built:
            self.build(y_true, y_pred)
        for i, ml in enumerate(self._flat):
            if ml is not None and y_true[i] is not None:
                for m in ml.metrics:
                    m.update_state(y_true[i], y_pred[i])
        for i, ml in enumerate(self._flat_weighted):
            if ml is not None and y_true[i] is not None:
                sw = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
                for m in ml.metrics:
                    m.update_state(y_true[i], y_pred[i], sample_weight=sw)

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()

    def result(self):
        results, counts = {}, {}
        for weighted, flat in ((False, self._flat), (True, self._flat_weighted)):
            for ml in flat:
                if ml is None:
                    continue
                for m in ml.metrics:
                    name = f"{ml.output_name}_{m.name}" if ml.output_name else m.name
                    if name in counts:
                        if weighted:
                            name = f"{ml.output_name}_weighted_{m.name}" if ml.output_name else f"weighted_{m.name}"
                        if name in counts:
                            counts[name] += 1
                            name = f"{name}_{counts[name] - 1}"
                    counts.setdefault(name, 1)
                    results[name] = m.result()
        return results

