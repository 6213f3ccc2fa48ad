"""Per-step training logs: tokens per second, training loss and learning rate, to TensorBoard.

Keras's TensorBoard callback writes per-epoch scalars. This callback adds per-interval ones,
every `log_every` optimizer steps, in its own directory (the trainer uses `logs/steps`, beside
Keras's `logs/train` and `logs/validation`), so the two never write to the same event files.
"""

import time

import keras
import tensorflow as tf

from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule
from tfllm.validation import check_positive_int


def current_learning_rate(optimizer, step=None):
    """The learning rate the optimizer used for `step` (default: its last completed step).

    `optimizer.learning_rate` evaluates a schedule at `optimizer.iterations`, which after an update
    is the *next* step; the rate that produced the update just logged is the schedule at
    `iterations - 1`.
    """
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    schedule = getattr(optimizer, "_learning_rate", None)
    if isinstance(schedule, AccumulatedStepSchedule):
        # `iterations` counts optimizer steps already; the wrapper expects micro-batches.
        schedule = schedule.schedule
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        if step is None:
            step = max(int(optimizer.iterations.numpy()) - 1, 0)
        return float(schedule(step))
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class ThroughputLogger(keras.callbacks.Callback):
    """Measures training tokens per second and logs loss and learning rate every `log_every` steps.

    Every `log_every` optimizer steps it:
    - puts `tokens_per_second` into the batch `logs` (later callbacks see it);
    - appends `(step, loss)` to `self.history`, where `loss` is the mean training loss of the
      steps in the interval (recovered from Keras's running epoch mean, which is what `logs["loss"]`
      holds at a batch end);
    - writes the TensorBoard scalars `train/loss`, `train/learning_rate`,
      `train/tokens_per_second` and, when the optimizer keeps it (`gradient_norm`:
      `AdamWithDecayExclusions`, `MuonForMatrices`), `train/gradient_norm` at that step to
      `log_dir` (when given).

    Time is wall clock between batch ends within an epoch, so data loading counts but validation
    passes do not. The first step of each `fit` (tracing and compiling) is left out of the rate and
    reported once as `train/first_step_seconds` (also `self.first_step_seconds`).

    Args:
        tokens_per_step: tokens consumed per optimizer step (global batch size * sequence length).
        log_dir: directory for this callback's event file (None: no TensorBoard output).
        log_every: steps per logging interval (>= 1).

    Example:

    >>> logger = ThroughputLogger(tokens_per_step=64 * 256, log_dir="runs/demo/logs/steps")
    >>> # model.fit(data, callbacks=[logger]); logger.history -> [(50, 3.1), (100, 2.7), ...]
    """

    def __init__(self, tokens_per_step, log_dir=None, log_every=50):
        super().__init__()
        check_positive_int("tokens_per_step", tokens_per_step)
        check_positive_int("log_every", log_every)
        self.tokens_per_step = tokens_per_step
        self.log_dir = None if log_dir is None else str(log_dir)
        self.log_every = log_every
        self.history = []  # [(step, mean training loss over the interval)]
        self.first_step_seconds = None
        self.last_tokens_per_second = None
        self._writer = None

    # -- lifecycle -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.log_dir is not None and self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        self._step = None  # read from the optimizer at the first batch (after any restore)
        self._first_batch_of_fit = True
        self._reset_interval()

    def on_epoch_begin(self, epoch, logs=None):
        self._last_time = None  # time between epochs (validation, callbacks) is not training
        self._epoch_steps = 0
        self._epoch_loss_sum = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        if self._step is None:
            self._step = int(self.model.optimizer.iterations.numpy())
        if self._last_time is None:
            self._last_time = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        logs = logs if logs is not None else {}
        elapsed, self._last_time = now - self._last_time, now
        # `batch` is the 0-based index of the last step run (several per call with
        # steps_per_execution > 1); logs["loss"] is the mean over the epoch's steps so far.
        steps_done = batch + 1
        new_steps = steps_done - self._epoch_steps
        if "loss" in logs:
            loss_sum = float(logs["loss"]) * steps_done
            self._interval_loss_sum += loss_sum - self._epoch_loss_sum
            self._interval_loss_steps += new_steps
            self._epoch_loss_sum = loss_sum
        self._epoch_steps = steps_done
        self._step += new_steps
        if self._first_batch_of_fit:
            self._first_batch_of_fit = False
            self.first_step_seconds = elapsed
            self._write({"train/first_step_seconds": elapsed}, self._step)
        else:
            self._interval_seconds += elapsed
            self._interval_steps += new_steps
        if self._step // self.log_every > (self._step - new_steps) // self.log_every:
            self._log_interval(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # -- helpers -------------------------------------------------------------------------------
    def _reset_interval(self):
        self._interval_seconds = 0.0
        self._interval_steps = 0
        self._interval_loss_sum = 0.0
        self._interval_loss_steps = 0

    def _log_interval(self, logs):
        scalars = {"train/learning_rate": current_learning_rate(self.model.optimizer)}
        norm = getattr(getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer),
                       "gradient_norm", None)
        if norm is not None:
            scalars["train/gradient_norm"] = float(keras.ops.convert_to_numpy(norm))
        if self._interval_steps > 0 and self._interval_seconds > 0:
            rate = self.tokens_per_step * self._interval_steps / self._interval_seconds
            self.last_tokens_per_second = rate
            logs["tokens_per_second"] = rate
            scalars["train/tokens_per_second"] = rate
        if self._interval_loss_steps > 0:
            loss = self._interval_loss_sum / self._interval_loss_steps
            self.history.append((self._step, loss))
            scalars["train/loss"] = loss
        self._write(scalars, self._step)
        self._reset_interval()

    def _write(self, scalars, step):
        if self._writer is None:
            return
        with self._writer.as_default(step=step):
            for name, value in scalars.items():
                tf.summary.scalar(name, value)
