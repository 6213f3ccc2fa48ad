"""Linear warmup, then cosine decay: the learning-rate schedule of GPT-2-style training."""

import math

import keras
from keras import ops


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}. Received: {name}={value!r}")
    return value


def _check_rate(name, value, minimum_exclusive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float. Received: {name}={value!r}")
    if value < 0 or (minimum_exclusive and value == 0):
        bound = "> 0" if minimum_exclusive else ">= 0"
        raise ValueError(f"{name} must be {bound}. Received: {name}={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="tfllm")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to a peak, cosine decay to a floor at `decay_steps`, constant after.

    With `s` the 0-based step (the optimizer's `iterations` when it computes the update):

        s < W:       lr = peak * (s + 1) / W          (W = warmup_steps; never exactly 0)
        W <= s < D:  lr = floor + (peak - floor) * (1 + cos(pi * (s - W) / (D - W))) / 2
        s >= D:      lr = floor                        (D = decay_steps, usually the total steps)

    Warmup keeps the first updates small while Adam's second-moment estimates are still noisy;
    it starts at `peak / W` rather than 0 so that the first step is not wasted. The cosine spends
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
        self.peak_learning_rate = _check_rate("peak_learning_rate", peak_learning_rate, True)
        self.warmup_steps = _check_int("warmup_steps", warmup_steps, 0)
        self.decay_steps = _check_int("decay_steps", decay_steps, 1)
        self.min_learning_rate = _check_rate("min_learning_rate", min_learning_rate)
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
