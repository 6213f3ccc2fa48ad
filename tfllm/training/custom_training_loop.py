"""A training loop with `strategy.run`: what `model.fit` does, where `model.fit` cannot go.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` before the first step
(keras-team/keras issue 20585). This loop trains under any strategy (the default one, Mirrored,
MultiWorkerMirrored) and keeps `fit`'s contract: the same Keras callbacks (progress bar,
TensorBoard, tfllm's loggers, TerminateOnNaN, `model.stop_training`), the same log keys
(`loss`, `perplexity`, `bits_per_character`, `accuracy` and their `val_` forms), a validation
pass and a checkpoint at each epoch end, and a `keras.callbacks.History`.

What it adds is an exact resume. The loop owns its data iterator (a plain `tf.data` iterator,
checkpointable, unlike a distributed one), so a `TrainingCheckpoint` holds the data position
with the weights, the optimizer, the step and the dropout seed-generator states. A restarted run
continues mid-epoch from the saved step. Under a multi-worker strategy the loop runs each
execution through `tf.distribute.experimental.PreemptionCheckpointHandler`: a SIGTERM to any
worker makes every worker save at the same step and exit (code 42); the restarted job resumes.

**Batches.** Every worker reads the same global batch (same seed) from its own iterator and
gives each replica its slice (`experimental_distribute_values_from_function`, by global replica
id), so what a replica sees depends only on the step, not on tf.data's auto-sharding.
**Loss.** Each replica sums its token losses and divides by the token count of the whole global
batch; the optimizer sums the replicas' gradients (Keras's cross-replica reduction), which is
the gradient of the global batch's mean loss, as on one device.
**Steps.** One step is one optimizer update: `grad_accum_steps` micro-batches of
`batch_size / grad_accum_steps` rows, accumulated by the Keras optimizer's own
`gradient_accumulation_steps`. `steps_per_execution` steps run inside one `tf.function` call.

Example:

>>> import keras, numpy as np, tensorflow as tf
>>> model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(8, 8)])
>>> data = tf.data.Dataset.from_tensors(
...     (np.zeros((2, 4), "int32"), np.ones((2, 4), "int32"), np.ones((2, 4), "float32"))).repeat()
>>> loop = CustomTrainingLoop(model, keras.optimizers.SGD(0.1), tf.distribute.get_strategy(), data)
>>> history = loop.fit(epochs=2, steps_per_epoch=3, verbose=0)
>>> int(loop.step.numpy()), sorted(history.history)
(6, ['accuracy', 'bits_per_character', 'loss', 'perplexity'])
"""

import math
import sys

import keras
import numpy as np
import tensorflow as tf

from tfllm.objectives import token_cross_entropy
from tfllm.training.training_checkpoint import TrainingCheckpoint, build_optimizer_slots

_LN2 = math.log(2.0)
# The exit code of a worker stopped by a preemption signal (TensorFlow's own default): a
# cluster manager restarts the job on it.
PREEMPTED_EXIT_CODE = 42


def _metrics_from_sums(nats, weight, correct, characters_per_token, prefix=""):
    """Token-weighted loss and tfllm's metrics from summed nats, weights and correct tokens."""
    loss = nats / weight if weight > 0 else float("nan")
    return {
        f"{prefix}loss": loss,
        f"{prefix}perplexity": math.exp(min(loss, 700.0)) if math.isfinite(loss) else loss,
        f"{prefix}bits_per_character": loss / _LN2 / characters_per_token,
        f"{prefix}accuracy": correct / weight if weight > 0 else float("nan"),
    }


class CustomTrainingLoop:
    """Trains `model` on `train_data` under `strategy` with `strategy.run` (see module docstring).

    Create the model and the optimizer inside `strategy.scope()` first.

    Args:
        model: a Keras model mapping `x` to (B, T, V) logits.
        optimizer: a Keras optimizer (a `LossScaleOptimizer` under mixed_float16; with
            `gradient_accumulation_steps` set to `grad_accum_steps` when that is > 1).
        strategy: a `tf.distribute.Strategy`.
        train_data: a `tf.data.Dataset` of `(x, labels, sample_weight)` micro-batches of
            `global batch / grad_accum_steps` rows (the global batch of every replica together).
        grad_accum_steps: micro-batches per optimizer step.
        steps_per_execution: optimizer steps per `tf.function` call.
        characters_per_token: for the `bits_per_character` logs.
        checkpoint_dir: where a `TrainingCheckpoint` lives (None: no checkpoints).
        is_chief: whether this process writes to `checkpoint_dir` (multi-worker).
        task_id: this worker's id (names a non-chief's private checkpoint directory).
        preemption: use a `PreemptionCheckpointHandler` (multi-worker strategies only).
    """

    def __init__(self, model, optimizer, strategy, train_data, *, grad_accum_steps=1,
                 steps_per_execution=1, characters_per_token=1.0, checkpoint_dir=None,
                 is_chief=True, task_id=0, preemption=None):
        for name, value in (("grad_accum_steps", grad_accum_steps),
                            ("steps_per_execution", steps_per_execution)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1. Received: {name}={value!r}")
        self.model = model
        self.optimizer = optimizer
        self.strategy = strategy
        self.grad_accum_steps = grad_accum_steps
        self.steps_per_execution = steps_per_execution
        self.characters_per_token = float(characters_per_token)
        self.num_replicas = int(strategy.num_replicas_in_sync)
        with strategy.scope():
            build_optimizer_slots(optimizer, model)
            # Optimizer steps done; ONLY_FIRST_REPLICA: it is updated outside strategy.run.
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.iterator = iter(train_data)
        self.checkpoint = None
        if checkpoint_dir is not None:
            write_directory = None if is_chief else f"{checkpoint_dir}/.worker-{task_id}-tmp"
            self.checkpoint = TrainingCheckpoint(
                checkpoint_dir, model=model, optimizer=optimizer, step=self.step,
                iterator=self.iterator, write_directory=write_directory,
            )
        self.is_chief = is_chief
        resolver = getattr(strategy, "cluster_resolver", None)
        multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        self._use_preemption = (multi_worker if preemption is None else preemption) and (
            checkpoint_dir is not None)
        self._resolver = resolver
        self._preemption_handler = None
        self._train_function = self._make_train_function()
        self._eval_function = None

    # -- the compiled step ----------------------------------------------------------------
    def _split(self, value):
        """A global-batch tensor -> per-replica slices (rows [r * b, (r + 1) * b))."""
        if self.num_replicas == 1:
            return value
        rows = tf.shape(value)[0] // self.num_replicas

        def replica_slice(context):
            start = context.replica_id_in_sync_group * rows
            return value[start:start + rows]

        return self.strategy.experimental_distribute_values_from_function(replica_slice)

    def _make_train_function(self):
        model, optimizer, strategy = self.model, self.optimizer, self.strategy
        scale_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

        def replica_step(x, labels, weights, global_weight):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)  # (b, T, V) float32
                nats = token_cross_entropy(labels, logits)  # (b, T)
                weights = tf.cast(weights, nats.dtype)
                nats_sum = tf.reduce_sum(nats * weights)
                # This replica's share of the global mean: summed over replicas it is the mean.
                loss = nats_sum / global_weight
                if model.losses:
                    loss += tf.add_n(model.losses) / self.num_replicas
                scaled = optimizer.scale_loss(loss) if scale_loss else loss
            gradients = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply(gradients, model.trainable_variables)
            predicted = tf.argmax(logits, axis=-1, output_type=labels.dtype)
            correct = tf.reduce_sum(tf.cast(tf.equal(predicted, labels), nats.dtype) * weights)
            return tf.stack([nats_sum, tf.reduce_sum(weights), correct])

        def one_micro_step(iterator):
            x, labels, weights = next(iterator)
            global_weight = tf.reduce_sum(tf.cast(weights, tf.float32))
            per_replica = strategy.run(
                replica_step,
                args=(tf.nest.map_structure(self._split, x), self._split(labels),
                      self._split(weights), global_weight),
            )
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        @tf.function
        def train_function(iterator, num_steps):
            sums = tf.zeros([3], tf.float32)
            for _ in tf.range(num_steps):
                for _ in range(self.grad_accum_steps):  # unrolled: K micro-batches
                    sums += one_micro_step(iterator)
                self.step.assign_add(1)
            return sums  # [summed nats, summed weights, correct tokens]

        return train_function

    def _evaluate(self, dataset):
        """Exact sums over `dataset`, computed by each worker on its own copy of the model."""
        if self._eval_function is None:
            model = self.model

            @tf.function(reduce_retracing=True)
            def eval_function(x, labels, weights):
                logits = model(x, training=False)
                nats = token_cross_entropy(labels, logits)
                weights = tf.cast(weights, nats.dtype)
                predicted = tf.argmax(logits, axis=-1, output_type=labels.dtype)
                correct = tf.cast(tf.equal(predicted, labels), nats.dtype) * weights
                return tf.stack([tf.reduce_sum(nats * weights), tf.reduce_sum(weights),
                                 tf.reduce_sum(correct)])

            self._eval_function = eval_function
        totals = np.zeros(3, np.float64)
        for x, labels, weights in dataset:
            totals += self._eval_function(x, labels, weights).numpy()
        return _metrics_from_sums(*totals, self.characters_per_token, prefix="val_")

    # -- resume ---------------------------------------------------------------------------
    def restore(self, print_fn=print):
        """Restores the newest readable checkpoint; returns the optimizer steps already done."""
        if self.checkpoint is None:
            return 0
        self.checkpoint.restore(print_fn, repair=self.is_chief)
        if self._use_preemption:
            # The handler restores the newest checkpoint of the shared directory itself (the
            # one just restored) and adds its own run counter to the checkpoint.
            self._preemption_handler = tf.distribute.experimental.PreemptionCheckpointHandler(
                self._resolver, self.checkpoint.checkpoint, str(self.checkpoint.directory),
                termination_config=tf.distribute.experimental.TerminationConfig(
                    exit_fn=self._exit_after_preemption_save),
            )
        return int(self.step.numpy())

    def _exit_after_preemption_save(self):
        """Called by the preemption handler once every worker has saved: say so, exit 42."""
        print(f"Preempted (SIGTERM): every worker saved its state at step {int(self.step.numpy())} "
              f"in {self.checkpoint.directory}; run the same command again to resume.",
              file=sys.stderr, flush=True)
        sys.exit(PREEMPTED_EXIT_CODE)

    # -- fit ------------------------------------------------------------------------------
    def fit(self, *, epochs, steps_per_epoch, validation_data=None, callbacks=(), verbose="auto"):
        """Trains until `epochs * steps_per_epoch` optimizer steps are done (restored ones count).

        Returns:
            A `keras.callbacks.History` of the epochs run in this call.
        """
        verbose = 1 if verbose == "auto" else verbose
        history = keras.callbacks.History()
        callback_list = keras.callbacks.CallbackList(
            [*callbacks, history], add_progbar=verbose != 0, model=self.model,
            verbose=verbose, epochs=epochs, steps=steps_per_epoch,
        )
        self.model.stop_training = False
        start_step = int(self.step.numpy())
        callback_list.on_train_begin()
        epoch_logs = {}
        for epoch in range(start_step // steps_per_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            done_in_epoch = int(self.step.numpy()) - epoch * steps_per_epoch
            losses = []  # per-step mean losses of this epoch, as Keras averages them
            sums = np.zeros(3, np.float64)
            while done_in_epoch < steps_per_epoch:
                count = min(self.steps_per_execution, steps_per_epoch - done_in_epoch)
                callback_list.on_train_batch_begin(done_in_epoch)
                if self._preemption_handler is not None:
                    step_sums = self._preemption_handler.run(
                        self._train_function, self.iterator, tf.constant(count, tf.int64))
                else:
                    step_sums = self._train_function(self.iterator, tf.constant(count, tf.int64))
                step_sums = step_sums.numpy().astype(np.float64)
                sums += step_sums
                # A call of `count` steps reports their mean, as Keras's steps_per_execution does.
                losses.extend([step_sums[0] / step_sums[1]] * count)
                done_in_epoch += count
                batch_logs = _metrics_from_sums(*sums, self.characters_per_token)
                batch_logs["loss"] = float(np.mean(losses))
                callback_list.on_train_batch_end(done_in_epoch - 1, batch_logs)
                if self.model.stop_training:
                    break
            epoch_logs = _metrics_from_sums(*sums, self.characters_per_token)
            epoch_logs["loss"] = float(np.mean(losses)) if losses else float("nan")
            if self.model.stop_training:
                break
            if validation_data is not None:
                epoch_logs.update(self._evaluate(validation_data))
            if self.checkpoint is not None:
                self.checkpoint.save()
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.model.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return history
