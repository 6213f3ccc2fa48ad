"""Linear warmup, then 1/sqrt(step) decay: the "Noam" schedule of the original Transformer."""

import math

import keras
from keras import ops

from tfllm.validation import check_non_negative_float, check_positive_float, check_positive_int


@keras.saving.register_keras_serializable(package="tfllm")
class InverseSquareRootSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to a peak at `warmup_steps`, then decay in proportion to 1/sqrt(step).

    With `s = step + 1` (steps counted from 1; `step` is the optimizer's 0-based `iterations`)
    and W = warmup_steps:

        s <= W:  lr = peak * s / W
        s > W:   lr = max(floor, peak * sqrt(W / s))       (floor = min_learning_rate)

    that is `peak * min(s / W, sqrt(W / s))` above the floor. This is the schedule of Vaswani
    et al., "Attention Is All You Need", 2017 (named "Noam" after one of its authors):
    `d^-0.5 * min(s^-0.5, s * W^-1.5)` for model width d is the same curve with
    `peak = d^-0.5 * W^-0.5` (`for_model_width` builds it that way). Unlike a cosine, it needs
    no total step count: the rate keeps falling, slower and slower, for as long as training
    runs, which suits runs whose length is not known in advance. The floor applies only after
    warmup, so warmup still starts at `peak / W`.

    Args:
        peak_learning_rate: the rate reached at the last warmup step (> 0).
        warmup_steps: W >= 1.
        min_learning_rate: floor for the decay, in [0, peak_learning_rate] (0: none).

    Example:

    >>> schedule = InverseSquareRootSchedule(1e-3, warmup_steps=4)
    >>> [round(float(schedule(step)), 6) for step in (0, 1, 3, 15, 399)]
    [0.00025, 0.0005, 0.001, 0.0005, 0.0001]
    >>> paper = InverseSquareRootSchedule.for_model_width(512, warmup_steps=4000)
    >>> round(paper.peak_learning_rate, 7)  # 512^-0.5 * 4000^-0.5
    0.0006988
    """

    def __init__(self, peak_learning_rate, warmup_steps, min_learning_rate=0.0):
        super().__init__()
        self.peak_learning_rate = check_positive_float("peak_learning_rate", peak_learning_rate)
        self.warmup_steps = check_positive_int("warmup_steps", warmup_steps)
        self.min_learning_rate = check_non_negative_float("min_learning_rate", min_learning_rate)
        if self.min_learning_rate > self.peak_learning_rate:
            raise ValueError(
                "min_learning_rate must be <= peak_learning_rate. "
                f"Received: min_learning_rate={min_learning_rate}, "
                f"peak_learning_rate={peak_learning_rate}"
            )

    @classmethod
    def for_model_width(cls, model_width, warmup_steps, min_learning_rate=0.0):
        """The paper's rates for a model of width `model_width` (d): peak d^-0.5 * W^-0.5."""
        model_width = check_positive_int("model_width", model_width)
        warmup_steps = check_positive_int("warmup_steps", warmup_steps)
        peak = 1.0 / math.sqrt(model_width * warmup_steps)
        return cls(peak, warmup_steps, min_learning_rate)

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0
        peak = self.peak_learning_rate
        warmup = float(self.warmup_steps)
        warmup_rate = peak * step / warmup
        decay_rate = ops.maximum(peak * ops.sqrt(warmup / step), self.min_learning_rate)
        return ops.where(step <= warmup, warmup_rate, decay_rate)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "min_learning_rate": self.min_learning_rate,
        }
