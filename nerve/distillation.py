"""``nerve.distillation`` (Keras 3's ``keras.distillation``): knowledge distillation (Hinton, Vinyals & Dean 2015).

A frozen teacher's outputs guide a smaller student. ``Distiller(teacher, student, distillation_losses)`` trains
the student on

    total = a L_student(y, student(x)) + (1 - a) sum_k w_k L_k(teacher, student),     a = student_loss_weight,

where ``LogitsDistillation(T)`` compares the logits softened by a temperature T: with the KL divergence,
T^2 KL(softmax(z_t / T) || softmax(z_s / T)) (the T^2 keeps its gradients on the scale of the hard loss), and
``FeatureDistillation`` compares intermediate features (a named layer of each model, by default the outputs).
"""
import numpy as np

from . import losses as losses_module
from . import metrics, ops, tree
from .models.model import Model
from .saving.registry import deserialize, register, serialize


def _loss_fn(item):
    if item is None:
        return None
    if isinstance(item, str):
        return losses_module.get(item)
    return item


def _loss_config(fn):
    if fn is None:
        return None
    if isinstance(fn, losses_module.Loss):
        return losses_module.serialize(fn)
    return getattr(fn, "__name__", None) or losses_module.serialize(fn)


def _loss_from_config(c):
    return None if c is None else _loss_fn(c) if isinstance(c, str) else losses_module.deserialize(c)


def _is_kl(fn):
    return isinstance(fn, losses_module.KLDivergence) or fn is getattr(losses_module, "kl_divergence", None)


def _stack_sum(values):
    flat = [v for v in tree.flatten(values) if v is not None]
    total = flat[0]
    for v in flat[1:]:
        total = ops.add(total, v)
    return total


class DistillationLoss:
    """Base class: ``compute_loss(teacher_outputs, student_outputs)`` returns a scalar loss."""

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of DistillationLoss must implement "
                                  f"compute_loss(teacher_outputs, student_outputs)")

    def validate_outputs(self, teacher_outputs, student_outputs):
        tree.assert_same_structure(teacher_outputs, student_outputs)

    def validate_model_compatibility(self, teacher, student):
        pass


class LogitsDistillation(DistillationLoss):
    """Logits divided by ``temperature`` (> 0, typically 3-5); with the KL divergence (the default) both are turned
    into probabilities by a softmax and the loss is multiplied by T^2; other losses get the scaled logits. ``loss``
    may be a structure matching the outputs, None skipping an output. Unlike Keras 3.15, whose softmax is applied
    only to a ``KLDivergence`` instance (the default string 'kl_divergence' gives a KL of raw logits, negative and
    meaningless), the string and the function are recognised too."""

    def __init__(self, temperature=3.0, loss="kl_divergence"):
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating)):
            raise ValueError(f"LogitsDistillation: argument 'temperature' expected a number, got {temperature!r}")
        if temperature <= 0:
            raise ValueError(f"LogitsDistillation: argument 'temperature' must be positive, got {temperature!r}")
        self.temperature = float(temperature)
        self.loss = tree.map_structure(_loss_fn, loss)
        if all(fn is None for fn in tree.flatten(self.loss)):
            raise ValueError("LogitsDistillation: argument 'loss' needs at least one loss that is not None")

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        t = self.temperature

        def one(fn, zt, zs):
            if fn is None:
                return None
            zt, zs = ops.divide(zt, t), ops.divide(zs, t)
            if _is_kl(fn):  # T^2 KL(p_teacher || p_student), for the KLDivergence class and 'kl_divergence' alike
                return ops.multiply(ops.mean(fn(ops.softmax(zt, axis=-1), ops.softmax(zs, axis=-1))), t * t)
            return ops.mean(fn(zt, zs))
        return _stack_sum(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        return {"temperature": self.temperature, "loss": tree.map_structure(_loss_config, self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = tree.map_structure(_loss_from_config, config["loss"])
        return cls(**config)


class FeatureDistillation(DistillationLoss):
    """``loss`` (default 'mse') between the teacher's and the student's features: the outputs of the layers named
    ``teacher_layer_name`` / ``student_layer_name`` (functional or Sequential models), else the final outputs."""

    def __init__(self, loss="mse", teacher_layer_name=None, student_layer_name=None):
        self.teacher_layer_name, self.student_layer_name = teacher_layer_name, student_layer_name
        self.loss = tree.map_structure(_loss_fn, loss)
        if all(fn is None for fn in tree.flatten(self.loss)):
            raise ValueError("FeatureDistillation: argument 'loss' needs at least one loss that is not None")

    def validate_model_compatibility(self, teacher, student):
        for who, model, name in (("teacher", teacher, self.teacher_layer_name),
                                 ("student", student, self.student_layer_name)):
            if name is None:
                continue
            if getattr(model, "inputs", None) is None:
                raise ValueError(f"FeatureDistillation: layer {name!r} of the {who} needs a functional or Sequential "
                                 f"model (a subclassed model has no symbolic layer outputs)")
            try:
                model.get_layer(name=name)
            except ValueError as e:
                raise ValueError(f"FeatureDistillation: in the {who} model: {e}") from None

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        def one(fn, ft, fs):
            return None if fn is None else ops.mean(fn(ft, fs))
        return _stack_sum(tree.map_structure(one, self.loss, teacher_outputs, student_outputs))

    def get_config(self):
        return {"loss": tree.map_structure(_loss_config, self.loss),
                "teacher_layer_name": self.teacher_layer_name, "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = tree.map_structure(_loss_from_config, config["loss"])
        return cls(**config)


def _extractor(model, names):
    """A model giving {'final_output': output, name: that layer's output, ...}, or None without names."""
    if not names:
        return None
    outputs = {"final_output": model.outputs[0] if len(model.outputs) == 1 else model.outputs}
    for name in names:
        outputs[name] = model.get_layer(name=name).output
    return Model(model.inputs, outputs, name=f"{model.name}_multi_feature_extractor")


@register("models")
class Distiller(Model):
    """Train ``student`` from ``teacher`` (frozen): total = a L_student + (1 - a) sum_k w_k L_k with
    a = ``student_loss_weight`` in [0, 1] and ``distillation_losses`` (one DistillationLoss or a list, weights
    ``distillation_loss_weights``, default 1). ``compile(optimizer, loss)`` sets the student's own loss; calling the
    distiller (predict, evaluate) runs the student. Logs ``loss``, ``student_loss``, ``distillation_loss``,
    ``total_loss`` and the compiled metrics."""

    def __init__(self, teacher, student, distillation_losses, distillation_loss_weights=None,
                 student_loss_weight=0.5, name="distiller", **kwargs):
        super().__init__(name=name, **kwargs)
        who = f"Distiller '{self.name}'"
        if isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float)) or \
                not 0.0 <= student_loss_weight <= 1.0:
            raise ValueError(f"{who}: argument 'student_loss_weight' expected a number in [0, 1], got "
                             f"{student_loss_weight!r}")
        if not isinstance(teacher, Model) or not isinstance(student, Model):
            raise ValueError(f"{who}: 'teacher' and 'student' must be models, got {type(teacher).__name__} and "
                             f"{type(student).__name__}")
        losses = distillation_losses if isinstance(distillation_losses, (list, tuple)) else [distillation_losses]
        if not losses or not all(isinstance(d, DistillationLoss) for d in losses):
            raise ValueError(f"{who}: argument 'distillation_losses' expected a DistillationLoss or a list of them, "
                             f"got {distillation_losses!r}")
        weights = [1.0] * len(losses) if distillation_loss_weights is None else list(distillation_loss_weights)
        if len(weights) != len(losses):
            raise ValueError(f"{who}: {len(weights)} distillation_loss_weights for {len(losses)} distillation losses")
        for d in losses:
            d.validate_model_compatibility(teacher, student)
        self.teacher, self.student = teacher, student
        self.distillation_losses, self.distillation_loss_weights = list(losses), [float(w) for w in weights]
        self.student_loss_weight = float(student_loss_weight)
        self.teacher.trainable = False
        self._teacher_features = _extractor(teacher, [d.teacher_layer_name for d in losses
                                                      if getattr(d, "teacher_layer_name", None)])
        self._student_features = _extractor(student, [d.student_layer_name for d in losses
                                                      if getattr(d, "student_layer_name", None)])
        self.student_loss_tracker = metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = metrics.Mean(name="total_loss")
        self._student_loss = None
        if getattr(student, "built", False):
            self.built = True

    @property
    def metrics(self):
        return super().metrics + [self.student_loss_tracker, self.distillation_loss_tracker, self.total_loss_tracker]

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``loss``: the student's own (hard-label) loss, required (a structure for several outputs)."""
        if loss is None:
            raise ValueError(f"Distiller '{self.name}'.compile: argument 'loss' (the student's loss) is required")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Distiller '{self.name}'.compile: argument 'metrics' expected a list or tuple, got "
                             f"{type(metrics).__name__}")
        self._student_loss = tree.map_structure(_loss_fn, loss)
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)
        self._compile_config["loss"] = loss  # saved and restored with the model

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def _features(self, extractor, model, x, training, y_pred=None):
        if extractor is not None:
            return extractor(x, training=training)
        return {"final_output": y_pred if y_pred is not None else model(x, training=training)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        a = self.student_loss_weight
        student_loss = 0.0
        if a > 0.0 and y is not None:
            values = tree.map_structure(lambda fn, t, p: fn(t, p), self._student_loss, y, y_pred)
            student_loss = _stack_sum(values)
            if getattr(student_loss, "ndim", 0):
                student_loss = ops.mean(student_loss)
        distill = 0.0
        if a < 1.0:
            teacher = self._features(self._teacher_features, self.teacher, x, False)
            student = self._features(self._student_features, self.student, x, training, y_pred)
            for d, w in zip(self.distillation_losses, self.distillation_loss_weights):
                tname, sname = getattr(d, "teacher_layer_name", None), getattr(d, "student_layer_name", None)
                t_out = teacher[tname] if tname else teacher["final_output"]
                s_out = student[sname] if sname else (y_pred if self._student_features is None
                                                      else student["final_output"])
                d.validate_outputs(t_out, s_out)
                value = d.compute_loss(t_out, s_out)
                if getattr(value, "ndim", 0):
                    raise ValueError(f"Distiller '{self.name}': {type(d).__name__}.compute_loss returned a loss of "
                                     f"shape {tuple(value.shape)}; it must return a scalar")
                distill = ops.add(distill, ops.multiply(value, w))
        total = ops.add(ops.multiply(student_loss, a), ops.multiply(distill, 1.0 - a))
        self.student_loss_tracker.update_state(float(np.asarray(ops.convert_to_numpy(student_loss))))
        self.distillation_loss_tracker.update_state(float(np.asarray(ops.convert_to_numpy(distill))))
        self.total_loss_tracker.update_state(float(np.asarray(ops.convert_to_numpy(total))))
        return total

    def get_config(self):
        return {"name": self.name, "teacher": serialize(self.teacher), "student": serialize(self.student),
                "distillation_losses": [{"class_name": type(d).__name__, "config": d.get_config()}
                                        for d in self.distillation_losses],
                "distillation_loss_weights": self.distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        teacher = deserialize(config.pop("teacher"), kind="models", custom_objects=custom_objects)
        student = deserialize(config.pop("student"), kind="models", custom_objects=custom_objects)
        known = {"LogitsDistillation": LogitsDistillation, "FeatureDistillation": FeatureDistillation}
        known.update(custom_objects or {})
        losses = []
        for item in config.pop("distillation_losses"):
            if item["class_name"] not in known:
                raise ValueError(f"Distiller.from_config: unknown distillation loss {item['class_name']!r}; expected "
                                 f"one of {sorted(known)} or a class in custom_objects")
            losses.append(known[item["class_name"]].from_config(item["config"]))
        return cls(teacher, student, losses, **config)
