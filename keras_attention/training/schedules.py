"""Learning-rate schedules of the recipes: Keras' own schedules, plus a linear warm-up.

Multi-step decay is `keras.optimizers.schedules.PiecewiseConstantDecay`, exponential decay
`ExponentialDecay` and cosine decay `CosineDecay`. Only the warm-up is ours (`LinearWarmup`):
Keras has no schedule that warms up in front of another one.
"""

import keras
from keras import ops

schedules = keras.optimizers.schedules


@keras.saving.register_keras_serializable(package="keras_attention")
class LinearWarmup(schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `target` over `warmup_steps` optimizer steps, then `schedule`.

    Written here because Keras has no warm-up wrapper: only `CosineDecay` has a built-in
    warm-up, and its cosine then starts at the end of the warm-up, while the papers' code
    (PyTorch's per-iteration `WarmUpLR`: `base_lr * step / warmup_steps`) warms up in front of
    a schedule counted from step 0.

    Args:
        schedule: the schedule (or constant rate) after the warm-up, called with the global step.
        warmup_steps: length of the warm-up in steps.
        target: the rate the warm-up reaches (the recipe's base rate).

    Example:

    >>> after = keras.optimizers.schedules.PiecewiseConstantDecay([99], [0.1, 0.01])
    >>> float(LinearWarmup(after, 10, 0.1)(5))
    0.05
    """

    def __init__(self, schedule, warmup_steps, target):
        self.schedule = schedule
        self.warmup_steps = float(warmup_steps)
        self.target = float(target)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        after = self.schedule(step) if callable(self.schedule) else self.schedule
        warming = self.target * step / self.warmup_steps
        return ops.where(step < self.warmup_steps, warming, ops.cast(after, "float32"))

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, schedules.LearningRateSchedule):
            schedule = schedules.serialize(schedule)
        return {"schedule": schedule, "warmup_steps": self.warmup_steps, "target": self.target}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = schedules.deserialize(config["schedule"])
        return cls(**config)


def build(
    base,
    steps_per_epoch,
    kind="constant",
    milestones=(),
    factor=0.1,
    decay_epochs=1.0,
    staircase=True,
    total_epochs=1,
    warmup_epochs=0.0,
):
    """A schedule in optimizer steps from a recipe's description in epochs.

    Args:
        base: the rate after warm-up.
        steps_per_epoch: optimizer steps in one epoch.
        kind: `"constant"`, `"multistep"` (times `factor` at each epoch of `milestones`),
            `"exponential"` (times `factor` every `decay_epochs`, in whole periods with
            `staircase`) or `"cosine"` (to 0 over `total_epochs`).
        warmup_epochs: linear warm-up from 0 in front of the schedule (`LinearWarmup`).

    Returns:
        A `LearningRateSchedule`, or the float `base` for a constant rate without warm-up.
    """
    if kind not in KINDS:
        raise ValueError(f"learning-rate schedule: kind must be one of {KINDS}, got {kind!r}.")
    if steps_per_epoch < 1:
        raise ValueError(
            f"learning-rate schedule: steps_per_epoch must be >= 1, got {steps_per_epoch}."
        )
    if kind == "multistep" and milestones:
        # The rate drops on the first step of each milestone epoch: PiecewiseConstantDecay
        # keeps values[i] up to and including boundaries[i].
        boundaries = [int(m * steps_per_epoch) - 1 for m in milestones]
        values = [base * factor**i for i in range(len(boundaries) + 1)]
        schedule = schedules.PiecewiseConstantDecay(boundaries, values)
    elif kind == "exponential":
        schedule = schedules.ExponentialDecay(
            base, decay_epochs * steps_per_epoch, factor, staircase=staircase
        )
    elif kind == "cosine":
        schedule = schedules.CosineDecay(base, int(total_epochs * steps_per_epoch))
    else:
        schedule = float(base)
    if warmup_epochs:
        return LinearWarmup(schedule, warmup_epochs * steps_per_epoch, base)
    return schedule


KINDS = ("constant", "multistep", "exponential", "cosine")
