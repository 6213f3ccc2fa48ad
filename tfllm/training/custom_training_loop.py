"""A training loop with `strategy.run`: what `model.fit` does, where `model.fit` cannot go.

Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` before the first step
(keras-team/keras issue 20585). This loop trains under any strategy (the default one, Mirrored,
MultiWorkerMirrored) and keeps `fit`'s contract: the same Keras callbacks (progress bar,
TensorBoard, tfllm's loggers, TerminateOnNaN, `model.stop_training`), the same log keys (the
compiled model's `metrics`: `loss` and the task's weighted metrics, with `val_` forms), a
validation pass and a checkpoint at each epoch end, and a `keras.callbacks.History`.

Each step is the model's own `train_step` (forward pass, `compute_loss` with the compiled loss,
the optimizer update, `compute_metrics`), run on every replica by `strategy.run`, so whatever
loss and metrics a task compiles train and report the same way as under `fit`. Keras's loss
divides by the number of replicas and the optimizer sums the replicas' gradients, as in `fit`.

What it adds is an exact resume. The loop owns its data iterator (a plain `tf.data` iterator,
checkpointable, unlike a distributed one), so a `TrainingCheckpoint` holds the data position
with the weights, the optimizer, the step and the dropout seed-generator states. A restarted run
continues mid-epoch from the saved step. Under a multi-worker strategy the loop runs each
execution through `tf.distribute.experimental.PreemptionCheckpointHandler`: a SIGTERM to any
worker makes every worker save at the same step and exit (code 42); the restarted job resumes.

**Batches.** Every worker reads the same global batch (same seed) from its own iterator and
gives each replica its slice (`experimental_distribute_values_from_function`, by global replica
id), so what a replica sees depends only on the step, not on tf.data's auto-sharding.
**Steps.** One step is one optimizer update: `grad_accum_steps` micro-batches of
`batch_size / grad_accum_steps` rows, accumulated by the Keras optimizer's own
`gradient_accumulation_steps`. `steps_per_execution` steps run inside one `tf.function` call.

Example:

>>> import keras, numpy as np, tensorflow as tf
>>> model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(8, 8)])
>>> model.compile(keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
...               weighted_metrics=["accuracy"])
>>> data = tf.data.Dataset.from_tensors(
...     (np.zeros((2, 4), "int32"), np.ones((2, 4), "int32"), np.ones((2, 4), "float32"))).repeat()
>>> loop = CustomTrainingLoop(model, tf.distribute.get_strategy(), data)
>>> history = loop.fit(epochs=2, steps_per_epoch=3, verbose=0)
>>> int(loop.step.numpy()), sorted(history.history)
(6, ['accuracy', 'loss'])
"""

import sys

import keras
import tensorflow as tf

from tfllm.training.training_checkpoint import TrainingCheckpoint, build_optimizer_slots
from tfllm.validation import check_positive_int

# The exit code of a worker stopped by a preemption signal (TensorFlow's own default): a
# cluster manager restarts the job on it.
PREEMPTED_EXIT_CODE = 42


def _metric_results(model, prefix=""):
    """The compiled metrics' current values as floats (summed over replicas and workers)."""
    results = {}
    for metric in model.metrics:
        value = metric.result()
        if isinstance(value, dict):  # Keras's CompileMetrics: one entry per compiled metric
            results.update(value)
        else:
            results[metric.name] = value
    return {f"{prefix}{name}": float(value) for name, value in results.items()}


class CustomTrainingLoop:
    """Trains a compiled `model` on `train_data` under `strategy` with `strategy.run`.

    Create and compile the model inside `strategy.scope()` first.

    Args:
        model: a compiled Keras model (its optimizer: a `LossScaleOptimizer` under
            mixed_float16; with `gradient_accumulation_steps` set to `grad_accum_steps` when
            that is > 1).
        strategy: a `tf.distribute.Strategy`.
        train_data: a `tf.data.Dataset` of `(x, labels, sample_weight)` micro-batches of
            `global batch / grad_accum_steps` rows (the global batch of every replica together).
        grad_accum_steps: micro-batches per optimizer step.
        steps_per_execution: optimizer steps per `tf.function` call.
        checkpoint_dir: where a `TrainingCheckpoint` lives (None: no checkpoints).
        is_chief: whether this process writes to `checkpoint_dir` (multi-worker).
        task_id: this worker's id (names a non-chief's private checkpoint directory).
        preemption: use a `PreemptionCheckpointHandler` (multi-worker strategies only).
    """

    def __init__(self, model, strategy, train_data, *, grad_accum_steps=1,
                 steps_per_execution=1, checkpoint_dir=None, is_chief=True, task_id=0,
                 preemption=None):
        self.grad_accum_steps = check_positive_int("grad_accum_steps", grad_accum_steps)
        self.steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
        if not model.compiled:
            raise ValueError("The model must be compiled (model.compile(...)) before training. "
                             f"Received: model={model.name!r}, compiled=False")
        self.model = model
        self.optimizer = model.optimizer
        self.strategy = strategy
        self.num_replicas = int(strategy.num_replicas_in_sync)
        with strategy.scope():
            build_optimizer_slots(self.optimizer, model)
            # Optimizer steps done; ONLY_FIRST_REPLICA: it is updated outside strategy.run.
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.iterator = iter(train_data)
        self.checkpoint = None
        if checkpoint_dir is not None:
            write_directory = None if is_chief else f"{checkpoint_dir}/.worker-{task_id}-tmp"
            self.checkpoint = TrainingCheckpoint(
                checkpoint_dir, model=model, optimizer=self.optimizer, step=self.step,
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
        self._test_function = None

    # -- the compiled step ----------------------------------------------------------------
    def _split(self, value):
        """A global-batch tensor -> per-replica slices: rows [r n / R, (r + 1) n / R)."""
        if self.num_replicas == 1:
            return value
        rows = tf.shape(value)[0]

        def replica_slice(context):
            replica = context.replica_id_in_sync_group
            start = replica * rows // self.num_replicas
            return value[start:(replica + 1) * rows // self.num_replicas]

        return self.strategy.experimental_distribute_values_from_function(replica_slice)

    def _distributed(self, step_function, batch):
        x, labels, weights = batch
        data = (tf.nest.map_structure(self._split, x), self._split(labels), self._split(weights))
        self.strategy.run(step_function, args=(data,))

    def _make_train_function(self):
        @tf.function
        def train_function(iterator, num_steps):
            for _ in tf.range(num_steps):
                for _ in range(self.grad_accum_steps):  # unrolled: K micro-batches
                    self._distributed(self.model.train_step, next(iterator))
                self.step.assign_add(1)

        return train_function

    def evaluate(self, dataset, prefix=""):
        """Resets the compiled metrics, runs `model.test_step` over `dataset` on every replica
        and returns the metrics' values (`prefix` + name)."""
        if self._test_function is None:
            self._test_function = tf.function(
                lambda batch: self._distributed(self.model.test_step, batch),
                reduce_retracing=True)
        for metric in self.model.metrics:
            metric.reset_state()
        for batch in dataset:
            self._test_function(batch)
        return _metric_results(self.model, prefix)

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
            for metric in self.model.metrics:
                metric.reset_state()
            done_in_epoch = int(self.step.numpy()) - epoch * steps_per_epoch
            while done_in_epoch < steps_per_epoch:
                count = min(self.steps_per_execution, steps_per_epoch - done_in_epoch)
                callback_list.on_train_batch_begin(done_in_epoch)
                run = self._preemption_handler.run if self._preemption_handler else (
                    lambda function, *args: function(*args))
                run(self._train_function, self.iterator, tf.constant(count, tf.int64))
                done_in_epoch += count
                epoch_logs = _metric_results(self.model)
                callback_list.on_train_batch_end(done_in_epoch - 1, epoch_logs)
                if self.model.stop_training:
                    break
            if self.model.stop_training:
                break
            if validation_data is not None:
                epoch_logs.update(self.evaluate(validation_data, prefix="val_"))
            if self.checkpoint is not None:
                self.checkpoint.save()
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.model.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return history
