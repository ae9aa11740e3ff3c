"""A planned training step: the default ``train_step`` of a plain Sequential stack of Flatten and Dense layers
with a sparse softmax cross-entropy, run as a straight sequence of the same kernels, without the per-step graph.

Why: for such a model the eager step spends ~0.2 ms of Python on layer calls, graph nodes, the backward walk
and the loss wrapper around ~1 ms of kernels (an MLP on Fashion-MNIST, session 5). The plan calls the very
Functions the graph would record (``DenseFn``, ``SoftmaxCrossEntropy``), their ``forward`` in layer order and
their ``backward`` in reverse, with the same arguments and the same ``needs``, so the weights, the gradients
(left in ``.grad`` as the graph leaves them), the optimizer update and the logs are bit-identical to the eager
step; ``tests/training/test_step_plan.py`` checks that against the eager path.

A model gets a plan when every layer is an ``InputLayer``, a ``Flatten`` (channels_last) or a ``Dense`` whose
activation is fused and which has no regularizer, activity regularizer or LoRA; the loss is one
sparse_categorical_crossentropy from logits with the default reduction; and ``model.losses`` is empty. Each step
falls back to the eager one for other batches: sample weights, a dtype other than the model's, a batch that is
not where the weights are (NumPy / CuPy), debug mode. On the GPU the plan runs the same CuPy kernels as the
eager step (checked on the CuPy stand-in of the tests). Keras' ``compile(jit_compile=False)`` switches plans off (``"auto"`` or True: on when it applies).
"""
import numpy as np

from .. import backend
from ..autograd.ops import gpu, jit
from ..autograd.ops.loss import SoftmaxCrossEntropy
from ..autograd.ops.nn import DenseFn
from ..autograd.tensor import Tensor


class StepPlan:
    """The planned step of one compiled model (``make``: a plan, None when the model does not qualify, False
    while the model, its loss or its metrics are not built yet)."""

    def __init__(self, model, dense, labels_fn):
        self.model = model
        self.dense = dense            # [(layer, activation)] in order
        self.labels_fn = labels_fn    # y, y_pred -> int64 labels (the loss function's own conversion)
        self.snapshot = model._trainable_snapshot
        self.layers = tuple(model._layers)

    @classmethod
    def make(cls, model):
        from ..layers.core import Dense, InputLayer
        from ..layers.reshaping import Flatten
        from ..losses import LossFunctionWrapper
        from ..losses.functions import _sparse_labels, sparse_categorical_crossentropy
        from ..models.sequential import Sequential
        from ..optimizers.base import scales_loss
        if type(model) is not Sequential or model._trainable_snapshot is None or scales_loss(model.optimizer):
            return None
        dense = []
        for layer in model.layers:
            t = type(layer)
            if t is InputLayer:
                continue
            if t is Flatten and layer.data_format == "channels_last" and not dense:
                continue
            if t is not Dense or layer._fused is None or layer.kernel_regularizer is not None or \
                    layer.bias_regularizer is not None or layer.activity_regularizer is not None or \
                    getattr(layer, "lora_rank", None) or not layer.built or layer.compute_dtype != layer.dtype or \
                    layer.quantization_mode is not None:
                return None
            dense.append((layer, layer._fused))
        cl, cm = model._compile_loss, model._compile_metrics
        if cl is not None and not cl.built or cm is not None and not cm.built:
            return False  # undecided: the first (eager) step builds the loss and the metrics
        if not dense or cl is None or len(cl.losses) != 1 or cl.losses[0][2] is not None or model.losses:
            return None
        loss = cl.losses[0][1]
        if type(loss).__call__ is not LossFunctionWrapper.__call__ or loss.fn is not sparse_categorical_crossentropy \
                or loss._fn_kwargs.get("from_logits") is not True or loss._fn_kwargs.get("ignore_class") is not None \
                or loss._fn_kwargs.get("axis", -1) != -1 or loss.dtype is not None or \
                loss.reduction not in ("sum_over_batch_size", "mean"):
            return None

        def labels(y, y_pred, check_range):
            return _sparse_labels("sparse_categorical_crossentropy", y, y_pred, -1, None, check_range=check_range)[0]
        return cls(model, dense, labels)

    def applies(self, x, y, sample_weight):
        """Whether this batch can take the planned step (else the eager one)."""
        first = self.dense[0][0]
        arr = type(first.kernel.data)  # NumPy, or CuPy for a model on the GPU: the batch must be there too
        return (sample_weight is None and type(x) is arr and type(y) is arr and x.ndim >= 2 and x.shape[0] > 0
                and x.dtype == first.kernel.data.dtype
                # the per-sample shape an eager step has checked against the layers' input specs
                and self.model.__dict__.get("_checked_input") == (x.shape[1:], x.dtype)
                and not backend.config.debug and self.snapshot is self.model._trainable_snapshot
                and len(self.model._layers) == len(self.layers) and self.model._layers[-1] is self.layers[-1])

    def run(self, x, y):
        """One training step (as ``Trainer._train_step`` for this model and batch); returns the logs."""
        model = self.model
        variables = model._set_gradient_flags()
        a = x.reshape(x.shape[0], -1) if x.ndim != 2 else x
        fns, upstream = [], False
        for layer, act in self.dense:   # forward: DenseFn.apply's work without the graph
            k, b = layer.kernel, layer.bias
            fn = DenseFn()
            fn.needs = (upstream, k.requires_grad, b is not None and b.requires_grad)
            a = fn.forward(a, k.data, None if b is None else b.data, activation=act)
            fns.append(fn)
            upstream = upstream or True in fn.needs[1:]
        logits = Tensor._make(a, None, 0)
        # the loss as losses.functions._scce_mean computes it: the compiled (CPU) and the GPU kernels check the
        # label range themselves
        kernel = gpu.kernels(a) is not None or (type(a) is np.ndarray and a.dtype.char in "fd" and jit.enabled())
        labels = self.labels_fn(y, logits, not kernel)
        ce = SoftmaxCrossEntropy()
        ce.needs = (upstream, False)
        try:
            loss = ce.forward(a, labels, axis=-1, sparse=True, mean=True)
        except IndexError:  # a label out of range: the full message
            self.labels_fn(y, logits, True)
            raise
        if isinstance(loss, np.generic):  # as Function.apply: a Tensor's data is always an array
            loss = np.asarray(loss)
        model._loss_tracker.update_state(backend.step_value(loss), sample_weight=x.shape[0])
        for v in variables:
            v.grad = None
        if upstream:
            g = ce.backward(np.ones_like(loss))[0]    # backward: run_backward's order, one consumer per node
            for (layer, _), fn in zip(reversed(self.dense), reversed(fns)):
                if g is None:  # the layers below are frozen: nothing flows further (as in the graph)
                    break
                gx, gw, gb, _ = fn.backward(g)
                if gw is not None:
                    layer.kernel.grad = Tensor._make(gw, None, 0)
                if gb is not None:
                    layer.bias.grad = Tensor._make(gb, None, 0)
                g = gx
            model.optimizer.apply([v.grad for v in variables], variables)
        return model.compute_metrics(x, y, logits, None)
