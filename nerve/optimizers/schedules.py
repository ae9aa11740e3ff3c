"""Learning-rate schedules (``keras.optimizers.schedules``): a schedule maps the optimizer's step to a rate.

An optimizer built with a schedule evaluates ``schedule(optimizer.iterations)`` before every update, so
step 0 is the first update. Schedules return Python floats (Keras returns backend tensors; the values are
the same formulas, computed here in float64).
"""
import math

from .. import backend
from ..saving.registry import register


def _step(step):
    """The step as a float; accepts ints, NumPy scalars and 0-d Tensors/arrays."""
    data = backend.unwrap(step)
    return float(data)


def _positive(owner, arg, value):
    if not value > 0:
        raise ValueError(f"{owner}: argument '{arg}' must be > 0, got {value!r}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__!r} must override "
                                  f"'__call__(self, step)'")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule {type(self).__name__!r} must override 'get_config()'")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _StepDecay(LearningRateSchedule):
    """Arguments, config and progress p = step / decay_steps (floored if staircase) shared by
    ExponentialDecay and InverseTimeDecay."""

    def __init__(self, owner, initial_learning_rate, decay_steps, decay_rate, staircase, name):
        _positive(owner, "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step):
        p = _step(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


@register("schedules")
class ExponentialDecay(_StepDecay):
    """lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)  (floored exponent if staircase).

    The seeds' "exponential decay α = α₀ e^{−kt}" is this schedule with decay_rate = e^{−k·decay_steps}.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__("ExponentialDecay", initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return float(self.initial_learning_rate) * float(self.decay_rate) ** self._progress(step)


@register("schedules")
class InverseTimeDecay(_StepDecay):
    """lr(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps)  (floored ratio if staircase).

    This is the seeds' "1/t decay α = α₀ / (1 + k t)" with k = decay_rate / decay_steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__("InverseTimeDecay", initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * self._progress(step))


@register("schedules")
class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] for step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
    values[-1] for step > boundaries[-1]."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: argument 'values' must have one more element than "
                             f"'boundaries': got {len(values)} values and {len(boundaries)} boundaries")
        if any(b1 > b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstantDecay: argument 'boundaries' must be increasing, got {boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        s = _step(step)
        for b, v in zip(self.boundaries, self.values):
            if s <= b:
                return float(v)
        return float(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@register("schedules")
class PolynomialDecay(LearningRateSchedule):
    """lr = (initial - end) * (1 - step / decay_steps) ** power + end, step capped at decay_steps; with
    ``cycle`` the horizon grows to the next multiple of decay_steps instead."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _positive("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        s, horizon = _step(step), float(self.decay_steps)
        if self.cycle:
            horizon *= 1.0 if s == 0 else math.ceil(s / horizon)
        else:
            s = min(s, horizon)
        frac = 1.0 - s / horizon
        end = float(self.end_learning_rate)
        return (float(self.initial_learning_rate) - end) * frac ** self.power + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


@register("schedules")
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay (Loshchilov & Hutter, SGDR).

    Without warmup: lr = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha).
    With ``warmup_target``: for step < warmup_steps, lr = initial + (warmup_target - initial) * step / warmup_steps;
    afterwards the cosine decay above starts from warmup_target at step - warmup_steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step, start_lr):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return float(start_lr) * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        s = _step(step)
        if self.warmup_target is None:
            return self._decay(min(s, self.decay_steps), self.initial_learning_rate)
        s = min(s, self.decay_steps + self.warmup_steps)
        if s < self.warmup_steps:
            delta = float(self.warmup_target) - float(self.initial_learning_rate)
            return delta * (s / self.warmup_steps) + float(self.initial_learning_rate)
        return self._decay(s - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


@register("schedules")
class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay restarted after first_decay_steps, each period t_mul times longer and m_mul times lower."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        _positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        frac = _step(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(frac)
            frac -= restart
        else:
            # periods 1, t, t², ... : restart i begins at (1 - t^i) / (1 - t)
            restart = math.floor(math.log(1.0 - frac * (1.0 - self.t_mul)) / math.log(self.t_mul))
            begun = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            frac = (frac - begun) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1.0 + math.cos(math.pi * frac))
        return float(self.initial_learning_rate) * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


def serialize(schedule):
    from ..saving.registry import serialize as _serialize
    return _serialize(schedule)


def deserialize(config, custom_objects=None):
    from ..saving.registry import deserialize as _deserialize
    return _deserialize(config, kind="schedules", custom_objects=custom_objects)
