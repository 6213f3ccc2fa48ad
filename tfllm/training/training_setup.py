"""The pieces of a training run, as public functions: compile arguments and callbacks.

`tfllm.training.train` is a short orchestration of these; a notebook can call them to train with
plain `model.compile(**compile_arguments(...))` and `model.fit(..., callbacks=...)`:

>>> from tfllm.presets import get_preset
>>> from tfllm.models import build_model
>>> from tfllm.tasks import get_task
>>> from tfllm.training import compile_arguments
>>> config = get_preset("smoke")
>>> model = build_model(config.model, vocabulary_size=32)
>>> arguments = compile_arguments(config.train, get_task("causal_lm"), model)
>>> sorted(arguments)
['jit_compile', 'loss', 'optimizer', 'steps_per_execution', 'weighted_metrics']
>>> model.compile(**arguments)
"""

import keras

from tfllm.training.evaluation import task_metrics
from tfllm.training.inverse_square_root_schedule import InverseSquareRootSchedule
from tfllm.training.loss_curve_plot import LossCurvePlot
from tfllm.training.optimizers import build_optimizer
from tfllm.training.precision import wrap_optimizer_for_precision
from tfllm.training.text_sample_logger import TextSampleLogger
from tfllm.training.throughput_logger import ThroughputLogger
from tfllm.training.warmup_cosine_decay import WarmupCosineDecay


def resolve_jit_compile(train_config, model):
    """The XLA choice: `train.jit_compile` "true"/"false", or, for "auto", the model class's
    measured preference (`jit_compile_by_default`). `model` may be an instance or a class."""
    if train_config.jit_compile != "auto":
        return train_config.jit_compile == "true"
    return bool(getattr(model, "jit_compile_by_default", False))


def uses_xla(train_config, model, *, loop="fit", num_replicas=1):
    """Whether a run compiles with XLA: `resolve_jit_compile`, and only where it is known to
    work: not with op determinism, not in the custom loop, not across several replicas."""
    return (resolve_jit_compile(train_config, model) and not train_config.deterministic
            and loop == "fit" and num_replicas == 1)


def resolve_loop(train_config, strategy_name):
    """The loop that trains under the resolved strategy: "fit" or "custom"."""
    if train_config.loop != "auto":
        return train_config.loop
    if strategy_name == "multiworker" or train_config.deterministic:
        return "custom"  # model.fit cannot run there / cannot resume the data stream exactly
    return "fit"


def learning_rate_schedule(train_config):
    """Linear warmup to `train.learning_rate`, then (`train.schedule`) cosine decay to
    `train.min_learning_rate` at `train.steps`, or inverse-square-root decay floored there."""
    if train_config.schedule == "inverse_sqrt":
        return InverseSquareRootSchedule(
            peak_learning_rate=train_config.learning_rate,
            warmup_steps=max(train_config.warmup_steps, 1),
            min_learning_rate=train_config.min_learning_rate,
        )
    return WarmupCosineDecay(
        peak_learning_rate=train_config.learning_rate,
        warmup_steps=train_config.warmup_steps,
        decay_steps=train_config.steps,
        min_learning_rate=train_config.min_learning_rate,
    )


def compile_arguments(train_config, task, model, *, characters_per_token=1.0,
                      bytes_per_token=None, loop="fit", num_replicas=1, tokenizer=None):
    """The `model.compile` arguments of a train config: AdamW (or Muon for the matrices) with
    decay groups, the schedule, clipping, accumulation and precision; the task's loss and
    weighted metrics; XLA.

    Call it inside `strategy.scope()` (and `tfllm.training.dtype_policy(precision)`), where the
    model was built. XLA follows `uses_xla`. `tokenizer` maps `train.penalty_words` to ids.
    `characters_per_token` and, for a task that reports bits per byte, `bytes_per_token` of
    the validation text go to the task's metrics (`task_metrics`).
    """
    optimizer = build_optimizer(
        learning_rate_schedule(train_config),
        optimizer=train_config.optimizer,
        weight_decay=train_config.weight_decay,
        beta_1=train_config.beta_1,
        beta_2=train_config.beta_2,
        clipnorm=train_config.clipnorm,
        gradient_accumulation_steps=train_config.grad_accum_steps,
        muon_momentum=train_config.muon_momentum,
    )
    jit_compile = uses_xla(train_config, model, loop=loop, num_replicas=num_replicas)
    loss = task.training_loss(train_config, tokenizer)
    # A weighted objective (a penalty beside the likelihood) logs each of its terms by name.
    term_metrics = loss.term_metrics() if hasattr(loss, "term_metrics") else []
    metrics = task_metrics(task, characters_per_token, bytes_per_token)
    return {
        "optimizer": wrap_optimizer_for_precision(optimizer, train_config.precision),
        "loss": loss,
        "weighted_metrics": [*metrics, *term_metrics],
        "jit_compile": jit_compile,
        "steps_per_execution": train_config.steps_per_execution if loop == "fit" else 1,
    }


def training_callbacks(config, task, tokenizer, run_dir, *, tokens_per_step, chief=True,
                       print_fn=print):
    """The callbacks of a run, in the order they run.

    - `TerminateOnNaN(raise_error=True)`: the default graceful stop would run `on_train_end`,
      which deletes the resume state; raising keeps the last good checkpoint on disk.
    - `ThroughputLogger`: per-step loss, learning rate, gradient norm, tokens/s (`logs/steps`).
    - With `train.early_stopping_patience`: Keras's `EarlyStopping` on val_loss, which puts
      back the best weights when training ends.
    - On the chief only (other workers of a multi-worker job train silently): Keras's
      `TensorBoard` (`logs/train`, `logs/validation`), `LossCurvePlot` (`loss_curve.png`) and,
      when the task has something to show, a `TextSampleLogger`.

    Returns:
        `(callbacks, throughput_logger, sample_logger or None)`.
    """
    log_dir = run_dir / "logs"
    throughput = ThroughputLogger(
        tokens_per_step=tokens_per_step,
        log_dir=str(log_dir / "steps") if chief else None,
        log_every=config.train.log_every,
    )
    callbacks = [keras.callbacks.TerminateOnNaN(raise_error=True), throughput]
    if config.train.early_stopping_patience:
        # Every worker sees the same val_loss, so all stop at the same pass.
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.train.early_stopping_patience,
            restore_best_weights=True))
    sample_logger = None
    if chief:
        callbacks += [
            keras.callbacks.TensorBoard(log_dir=str(log_dir)),
            LossCurvePlot(str(run_dir / "loss_curve.png"), throughput_logger=throughput),
        ]
        if config.train.sample_length > 0:
            sample_logger = TextSampleLogger(
                lambda model: task.sample(model, tokenizer, config.train),
                log_dir=str(log_dir / "steps"),
                print_fn=print_fn,
            )
            callbacks.append(sample_logger)
    return callbacks, throughput, sample_logger
