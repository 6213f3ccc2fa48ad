"""Linear warmup, then cosine decay: the learning-rate schedule of GPT-2-style training."""

import math

import keras
from keras import ops

from tfllm.validation import (
    check_non_negative_float,
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
)


@keras.saving.register_keras_serializable(package="tfllm")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to a peak, cosine decay to a floor at `decay_steps`, constant after.

    With `s` the 0-based step (the optimizer's `iterations` when it computes the update):

        s < W:       lr = peak * (s + 1) / W          (W = warmup_steps; never exactly 0)
        W <= s < D:  lr = floor + (peak - floor) * (1 + cos(pi * (s - W) / (D - W))) / 2
        s >= D:      lr = floor                        (D = decay_steps, usually the total steps)

    Warmup keeps the first updates small while Adam's second-moment estimates are still noisy;
    it starts at `peak / W` rather than 0 so that the first step is not wasted. (Keras's
    `CosineDecay(warmup_target=...)` starts its warmup at 0 and peaks one step later, which
    would change every seeded result measured with this schedule.) The cosine spends
    long near the peak and slows down gently towards the end.

    Args:
        peak_learning_rate: the rate reached at the end of warmup (> 0).
        warmup_steps: W >= 0 (0: start at the peak).
        decay_steps: D >= W, the step at which the rate reaches `min_learning_rate`.
        min_learning_rate: floor, in [0, peak_learning_rate].

    Example:

    >>> schedule = WarmupCosineDecay(1e-3, warmup_steps=10, decay_steps=110, min_learning_rate=1e-4)
    >>> [round(float(schedule(step)), 6) for step in (0, 9, 60, 110, 500)]
    [0.0001, 0.001, 0.00055, 0.0001, 0.0001]
    """

    def __init__(self, peak_learning_rate, warmup_steps, decay_steps, min_learning_rate=0.0):
        super().__init__()
        self.peak_learning_rate = check_positive_float("peak_learning_rate", peak_learning_rate)
        self.warmup_steps = check_non_negative_int("warmup_steps", warmup_steps)
        self.decay_steps = check_positive_int("decay_steps", decay_steps)
        self.min_learning_rate = check_non_negative_float("min_learning_rate", min_learning_rate)
        if self.decay_steps < self.warmup_steps:
            raise ValueError(
                "decay_steps must be >= warmup_steps (decay starts after warmup). "
                f"Received: decay_steps={decay_steps}, warmup_steps={warmup_steps}"
            )
        if self.min_learning_rate > self.peak_learning_rate:
            raise ValueError(
                "min_learning_rate must be <= peak_learning_rate. "
                f"Received: min_learning_rate={min_learning_rate}, "
                f"peak_learning_rate={peak_learning_rate}"
            )

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        floor = self.min_learning_rate
        warmup = float(self.warmup_steps)
        warmup_rate = peak * (step + 1.0) / max(warmup, 1.0)
        decay_length = float(max(self.decay_steps - self.warmup_steps, 1))
        progress = ops.clip((step - warmup) / decay_length, 0.0, 1.0)
        cosine_rate = floor + (peak - floor) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < warmup, warmup_rate, cosine_rate)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
            "min_learning_rate": self.min_learning_rate,
        }
