"""A learning-rate schedule that advances once per optimizer step under gradient accumulation.

With `gradient_accumulation_steps=K`, a Keras 3.15 optimizer counts micro-batches in its
internal `_iterations` and evaluates the learning-rate schedule there
(`BaseOptimizer._get_current_learning_rate`), while `optimizer.iterations` reports optimizer
steps (`_iterations // K`). A schedule written in optimizer steps (warmup and decay over
`train.steps`) would then run K times too fast: with K = 2 a cosine decay reaches its floor
halfway through training. This wrapper evaluates the wrapped schedule at `step // K`, so the
update at optimizer step s uses the rate for step s, as without accumulation.

Example:

>>> import keras
>>> inner = keras.optimizers.schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0)
>>> schedule = AccumulatedStepSchedule(inner, accumulation_steps=4)
>>> float(schedule(20)) == float(inner(5))  # micro-batch 20 belongs to optimizer step 5
True
"""

import keras


@keras.saving.register_keras_serializable(package="tfllm")
class AccumulatedStepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Evaluates `schedule` at `micro_step // accumulation_steps`.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule` in optimizer steps.
        accumulation_steps: K, micro-batches per optimizer step (>= 1).
    """

    def __init__(self, schedule, accumulation_steps):
        if isinstance(schedule, dict):  # from get_config
            schedule = keras.saving.deserialize_keras_object(schedule)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise TypeError(
                "schedule must be a keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: schedule={schedule!r}"
            )
        if (isinstance(accumulation_steps, bool) or not isinstance(accumulation_steps, int)
                or accumulation_steps < 1):
            raise ValueError(
                "accumulation_steps must be an int >= 1. "
                f"Received: accumulation_steps={accumulation_steps!r}"
            )
        self.schedule = schedule
        self.accumulation_steps = accumulation_steps

    def __call__(self, step):
        return self.schedule(keras.ops.floor_divide(step, self.accumulation_steps))

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "accumulation_steps": self.accumulation_steps,
        }
