"""`train(config)`: from a `RunConfig` to a trained language model, on any `tf.distribute` strategy.

The run directory is the run's memory. It holds the resolved `config.json`, the tokenizer, the
TensorBoard logs, the checkpoints and the loss curve. Starting `train` again with the same run
directory after an interruption (Ctrl-C, kill, a lost machine, a preempted worker) resumes
instead of starting over, at any moment: the last checkpoint is kept until the run is complete,
so a run interrupted after its last epoch goes straight to the final evaluation. Its life
(`tfllm.run_directory`): one job at a time (a lock file naming the holder's pid); nothing is
written until the corpus, tokenizer and model are ready; a completed run, or one that stopped
before its first checkpoint, is set aside by the next one; a resumable run of another config is
refused.

Two loops train (`train.loop`):

- `fit`: Keras's `model.fit`, with `BackupAndRestore` in `backup/`. It resumes from the last
  completed evaluation interval with the weights and optimizer of that moment (epoch-exact); the
  data stream and dropout continue from a fresh seed (`train.seed + epoch`), so a resumed run is
  not bit-identical to an uninterrupted one.
- `custom`: `CustomTrainingLoop` (`strategy.run`), with a `TrainingCheckpoint` in
  `checkpoints/` that also holds the data iterator, the step and the dropout seed generators: a
  resumed run continues bit for bit (with `train.deterministic=true`). It is the only loop that
  runs under MultiWorkerMirroredStrategy (keras-team/keras issue 20585), where it saves and exits
  on SIGTERM through `PreemptionCheckpointHandler`.
- `auto` picks `custom` for `multiworker` or `deterministic=true`, else `fit`.

Both use the same compiled model (`compile_arguments`: the task's loss and weighted metrics), the
same callbacks (`training_callbacks`) and the same log keys. Under `strategy` (`tfllm.training.strategies`) the
model, optimizer and metrics are created in `strategy.scope()`; `train.batch_size` is the global
batch of one optimizer step, split over replicas and `train.grad_accum_steps` micro-batches.

Layout of a run directory:

    config.json        the resolved RunConfig (a resumed run must match it)
    status.json        training, trained or completed (with the model directory)
    lock.json          the pid of the job using it, while one runs
    tokenizer/         the tokenizer, learned from the training split
    logs/train, logs/validation   Keras TensorBoard callback (per-epoch scalars)
    logs/steps         per-step loss, learning rate, tokens/s and text samples
    backup/            loop=fit: BackupAndRestore state, removed when the run completes
    checkpoints/       loop=custom: exact TrainingCheckpoints, removed when the run completes
    loss_curve.png     training and validation loss

A run completes when `train` returns, or, when it is given a `RunDirectory` (as
`tfllm.experiments.run_training` does), when the caller calls its `complete()` after saving
the model. A NaN or infinite loss raises `TrainingError` (one line in the CLI); the last good
checkpoint is kept.

Example:

>>> from tfllm.presets import get_preset
>>> from tfllm.training import train
>>> run = train(get_preset("smoke"), run_dir="runs/smoke")  # doctest: +SKIP
>>> run.metrics["loss"]  # doctest: +SKIP
"""

import dataclasses
import json
import time
from pathlib import Path

import keras
import tensorflow as tf

from tfllm.config import RunConfig
from tfllm.data import load_corpus
from tfllm.errors import ConfigError, TrainingError
from tfllm.limits import check_training_sizes
from tfllm.models import build_model, check_model_config, model_arguments, model_class
from tfllm.pause_points import pause_point
from tfllm.run_directory import RunDirectory, default_run_dir, inspect_run_dir
from tfllm.tasks import get_task
from tfllm.tokenizers import build_tokenizer, load_tokenizer
from tfllm.training.custom_training_loop import CustomTrainingLoop
from tfllm.training.evaluation import evaluate_model
from tfllm.training.precision import dtype_policy
from tfllm.training.run_backup import RunBackup
from tfllm.training.strategies import resolve_strategy
from tfllm.training.training_checkpoint import build_optimizer_slots
from tfllm.training.training_setup import (
    compile_arguments,
    resolve_loop,
    training_callbacks,
    uses_xla,
)


@dataclasses.dataclass
class TrainingRun:
    """What `train` returns: the trained model and everything needed to save or evaluate it."""

    config: RunConfig
    model: keras.Model
    tokenizer: object
    corpus: object
    run_dir: Path
    history: dict
    metrics: dict  # the task's report over the whole validation split
    sample: str
    resumed_from_epoch: int
    train_seconds: float
    strategy: str = "cpu"  # the resolved strategy name
    loop: str = "fit"  # the loop that trained: "fit" or "custom"
    is_chief: bool = True  # False on the other workers of a multi-worker job (they save nothing)
    run_directory: RunDirectory = None  # its state and lock (see `tfllm.run_directory`)


def _resume_epoch(backup_dir):
    """The epoch a `BackupAndRestore` backup will resume from, or 0 when there is none."""
    metadata = backup_dir / "training_metadata.json"
    if not metadata.exists():
        return 0
    try:
        # Keras records the number of completed epochs.
        return int(json.loads(metadata.read_text()).get("epoch", 0))
    except (ValueError, OSError):
        return 0


def _without_padding_mask(x, labels, sample_weight):
    return {"token_ids": x["token_ids"]}, labels, sample_weight


def _nan_error(run_dir, error):
    checkpoint = inspect_run_dir(run_dir).checkpoint
    if checkpoint is None:
        kept = ("It stopped before its first checkpoint, so there is nothing to resume (the "
                "next run in this --run-dir moves this one aside): retry")
    else:
        kept = (f"The last good checkpoint in {checkpoint} is kept, but resuming the same config "
                f"will likely diverge again: start a new --run-dir")
    return TrainingError(
        f"Training stopped: the loss became NaN or infinite ({error}). {kept} with a lower "
        f"train.learning_rate or train.precision=float32. Received: run_dir={str(run_dir)!r}"
    )


def _load_tokenizer(config, corpus, tokenizer_dir, resumable):
    if resumable and (tokenizer_dir / "tokenizer.json").exists():
        return load_tokenizer(tokenizer_dir)  # a resumed run keeps its ids
    # Every worker of a multi-worker job learns the same tokenizer from the same text.
    return build_tokenizer(config.data.tokenizer, [doc.text for doc in corpus.train])


def _lengths(config, task):
    """The lengths the task reads from the model's arguments (its config over the class's
    defaults): the context of a causal LM, the source and target lengths of a seq2seq model."""
    arguments = dict(model_arguments(model_class(config.model.class_name)))
    arguments.update(config.model.config)
    return task.lengths(arguments)


def _micro_batch(train_config, choice):
    micro_batch = train_config.batch_size // train_config.grad_accum_steps
    if micro_batch % choice.num_replicas:
        raise ConfigError(
            f"train.batch_size / train.grad_accum_steps = {micro_batch} rows per micro-batch must "
            f"split evenly over the {choice.num_replicas} replicas of strategy {choice.name}; use "
            f"a train.batch_size that is a multiple of "
            f"{choice.num_replicas * train_config.grad_accum_steps}. "
            f"Received: train.batch_size={train_config.batch_size}"
        )
    return micro_batch


def train(config, *, run_dir=None, corpus=None, verbose="auto", callbacks=(), print_fn=print,
          initialize=None):
    """Trains the model described by `config` on its task and evaluates it on the validation split.

    Args:
        config: a `tfllm.config.RunConfig` (see `tfllm.presets`).
        run_dir: directory for logs, checkpoints and plots (default `runs/<config.name>`).
            Re-using it resumes an interrupted run. Or a `tfllm.run_directory.RunDirectory`,
            whose end the caller owns: its checkpoint and lock are then kept until the caller
            calls `complete()` (once the model is saved) and `release()`.
        corpus: an already loaded `tfllm.data.Corpus`; by default `config.data.corpus` is loaded.
        verbose: progress display ("auto", 0, 1 = progress bar, 2 = one line per epoch).
        callbacks: extra Keras callbacks.
        print_fn: where progress messages go (strategy, samples, resume notices, final metrics).
        initialize: optional `initialize(model)`, run on the freshly built model inside the
            strategy scope before it is compiled: fine-tuning copies pre-trained weights in and
            freezes layers there. A resumed run then restores its own checkpoint over them.
    Returns:
        A `TrainingRun`.
    Raises:
        ConfigError: an invalid model argument, a strategy whose devices are missing, a batch
            that does not split over the replicas, or a run directory holding files tfllm did
            not write or a resumable run of another config.
        TrainingError: the loss became NaN or infinite (the last good checkpoint is kept), or
            another job holds the run directory's lock.
    """
    config = dataclasses.replace(config, model=check_model_config(config.model))
    # Context, tokens and attention scores per batch within tfllm's limits, before allocation.
    check_training_sizes(config.train.batch_size, config.model.config,
                         config.train.sample_length, ConfigError)
    task = get_task(config.task)
    train_config = config.train
    # The strategy comes first: MultiWorkerMirroredStrategy must configure collective ops
    # before anything initialises TensorFlow's runtime.
    choice = resolve_strategy(train_config.strategy)
    if train_config.deterministic:
        # Same inputs -> same bits, on every run and resume (slower kernels; XLA off).
        tf.config.experimental.enable_op_determinism()
    loop = resolve_loop(train_config, choice.name)
    keras.utils.set_random_seed(train_config.seed)
    owned = not isinstance(run_dir, RunDirectory)
    directory = (RunDirectory(run_dir or default_run_dir(config.name), print_fn=print_fn)
                 if owned else run_dir)
    try:
        # Checks the directory and takes its lock; nothing else is written before `start`.
        directory.open(config.to_dict(), chief=choice.is_chief)
        run = _train_in(directory, config, task, choice, loop, corpus=corpus, verbose=verbose,
                        callbacks=callbacks, print_fn=print_fn, initialize=initialize)
        if owned:
            directory.complete()
        return run
    finally:
        if owned:
            directory.release()


def _train_in(directory, config, task, choice, loop, *, corpus, verbose, callbacks, print_fn,
              initialize=None):
    """`train` in an opened run directory: data, model, fit, final evaluation."""
    train_config = config.train
    run_dir = directory.path
    corpus = corpus or load_corpus(config.data.corpus, encoding_errors=config.data.encoding_errors,
                                   tfds_split=config.data.tfds_split,
                                   text_feature=config.data.text_feature)
    corpus = task.corpus(corpus)
    tokenizer = _load_tokenizer(config, corpus, run_dir / "tokenizer", directory.resumable)
    micro_batch = _micro_batch(train_config, choice)
    print_fn(_describe_setup(config, choice, loop, micro_batch))
    resumed_from = (_resume_epoch(run_dir / "backup")
                    if loop == "fit" and directory.resumable else 0)
    data = task.prepare_data(
        corpus, tokenizer, _lengths(config, task), config.data, train_config,
        micro_batch_size=micro_batch,
        # loop=fit: a resumed run draws fresh windows rather than replaying the ones it already
        # trained on (epoch-exact, not bit-exact). loop=custom restores the iterator itself.
        seed=train_config.seed + resumed_from,
    )
    if loop == "fit" and choice.num_replicas > 1:
        # Keras 3.15's fit under a multi-replica strategy averages one input batch across
        # replicas to build the model (`_maybe_symbolic_build`), which fails on the bool
        # padding_mask ("AddN ... bool"). Windows are right-padded and attention is causal, so
        # the mask changes no weighted position: drop it.
        data = dataclasses.replace(data, **{
            name: getattr(data, name).map(_without_padding_mask)
            for name in ("train", "validation", "validation_sample")})

    with choice.strategy.scope(), dtype_policy(train_config.precision):
        model = build_model(config.model, tokenizer.vocabulary_size)
        task.check_model(model)
        task.prepare_model(model, corpus, tokenizer, _lengths(config, task))
        if initialize is not None:
            initialize(model)
        arguments = compile_arguments(
            train_config, task, model, characters_per_token=data.characters_per_token,
            bytes_per_token=getattr(data, "bytes_per_token", None),
            loop=loop, num_replicas=choice.num_replicas, tokenizer=tokenizer)
        model.compile(**arguments)
        # Keras 3 builds the optimizer before the first trace only under a distribution
        # strategy; otherwise its slots are created inside the first trace of the train step,
        # and tf.function traces it a second time to lift them out (measured: 2 traces, about
        # 2.7 s of a 10-13 s smoke run). Built here, the step is traced once.
        build_optimizer_slots(model.optimizer, model)
    directory.start()  # corpus, tokenizer and model are ready: the run begins
    if choice.is_chief and not (run_dir / "tokenizer" / "tokenizer.json").exists():
        tokenizer.save(run_dir / "tokenizer")
    pause_point("after_start")
    run_callbacks, _, sample_logger = training_callbacks(
        config, task, tokenizer, run_dir,
        # A fit step is one micro-batch; a custom-loop step is one optimizer step.
        tokens_per_step=(micro_batch if loop == "fit" else train_config.batch_size)
        * data.tokens_per_example,
        chief=choice.is_chief, print_fn=print_fn,
    )
    fitted = _fit(config, model, data, choice, loop, run_dir, [*run_callbacks, *callbacks],
                  resumed_from, verbose, print_fn)
    directory.mark_trained()
    pause_point("after_fit")
    metrics = evaluate_model(
        model, data.validation, task, metrics=arguments["weighted_metrics"],
        evaluate_fn=fitted.custom.evaluate if fitted.custom is not None else None,
    )
    metrics["characters_per_token"] = data.characters_per_token
    if getattr(data, "bytes_per_token", None) is not None:  # a language model's
        metrics["bytes_per_token"] = data.bytes_per_token
    if choice.is_chief:  # what the model writes for the validation sources, where a task scores it
        metrics.update(task.decoded_report(model, tokenizer, corpus.documents("validation")))
    sample = ""
    if sample_logger is not None:
        # The last epoch ended on the final weights, so its sample is the final one (a resumed
        # run with no epochs left has none yet).
        # Early stopping may have put back earlier weights than the last sample's.
        sample = (sample_logger.samples[-1][1]
                  if sample_logger.samples and not train_config.early_stopping_patience
                  else task.sample(model, tokenizer, train_config) or "")
    return TrainingRun(
        config=config, model=model, tokenizer=tokenizer, corpus=corpus, run_dir=run_dir,
        history=fitted.history.history, metrics=metrics, sample=sample,
        resumed_from_epoch=fitted.resumed_from, train_seconds=fitted.seconds,
        strategy=choice.name, loop=loop, is_chief=choice.is_chief, run_directory=directory,
    )


def _describe_setup(config, choice, loop, micro_batch):
    train_config = config.train
    accumulation = train_config.grad_accum_steps
    xla = uses_xla(train_config, model_class(config.model.class_name), loop=loop,
                   num_replicas=choice.num_replicas)
    return (
        f"{choice.description} Loop: {loop}. Global batch {train_config.batch_size} = "
        + (f"{accumulation} micro-batches x " if accumulation > 1 else "")
        + f"{choice.num_replicas} replica(s) x {micro_batch // choice.num_replicas} sequences; "
        f"precision {train_config.precision}; XLA {'on' if xla else 'off'}"
        + ("; deterministic" if train_config.deterministic else "") + "."
    )


@dataclasses.dataclass
class _Fitted:
    history: object
    custom: object  # the CustomTrainingLoop, or None under model.fit
    resumed_from: int
    seconds: float


def _fit(config, model, data, choice, loop, run_dir, callbacks, resumed_from, verbose, print_fn):
    """Runs `model.fit` (with `BackupAndRestore`) or the custom loop, resuming where it stopped.

    The checkpoint outlives training (`BackupAndRestore(delete_checkpoint=False)`; the custom
    loop's checkpoints are not removed here): the run directory removes it once the run is
    complete, so an interruption during the final evaluation or the save loses nothing.
    """
    train_config = config.train
    epochs = train_config.steps // train_config.eval_interval
    custom = None
    if loop == "fit":
        # double_checkpoint keeps the previous backup, used if the latest one is corrupt;
        # RunBackup refuses a save the disk cannot hold, so a full disk cannot truncate it.
        backup = RunBackup(
            str(run_dir / "backup"), double_checkpoint=True, delete_checkpoint=False)
        callbacks.insert(0, backup)
        resumed_step = resumed_from * train_config.eval_interval
    else:
        strategy = choice.strategy
        task_id = getattr(getattr(strategy, "cluster_resolver", None), "task_id", 0) or 0
        custom = CustomTrainingLoop(
            model, strategy, data.train,
            grad_accum_steps=train_config.grad_accum_steps,
            steps_per_execution=train_config.steps_per_execution,
            checkpoint_dir=str(run_dir / "checkpoints"), is_chief=choice.is_chief,
            task_id=task_id,
        )
        resumed_step = custom.restore(print_fn=print_fn)
        resumed_from = resumed_step // train_config.eval_interval
    finished = resumed_step >= epochs * train_config.eval_interval
    if resumed_step:
        # A preempted multi-worker run saves mid-epoch; the custom loop continues that epoch.
        into = resumed_step - resumed_from * train_config.eval_interval
        print_fn(
            f"Resuming {run_dir} from its checkpoint after epoch {resumed_from} of {epochs} "
            f"(step {resumed_step}"
            + (f", {into} steps into epoch {resumed_from + 1}" if into else "") + ")"
            + ("; training had finished: on to the final evaluation." if finished else ".")
        )
    if finished:
        # Only the restore runs: the loggers and the loss curve keep what the run wrote.
        callbacks = callbacks[:1] if custom is None else []
    started = time.perf_counter()
    try:
        if custom is None:
            history = model.fit(
                data.train,
                epochs=epochs,
                steps_per_epoch=train_config.eval_interval * train_config.grad_accum_steps,
                validation_data=data.validation_sample,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data stream
            )
        else:
            history = custom.fit(
                epochs=epochs,
                steps_per_epoch=train_config.eval_interval,
                validation_data=data.validation_sample,
                callbacks=callbacks,
                verbose=verbose,
            )
    except RuntimeError as error:
        if "NaN" not in str(error) and "Inf" not in str(error):
            raise
        raise _nan_error(run_dir, " ".join(str(error).split())) from None
    seconds = time.perf_counter() - started
    return _Fitted(history=history, custom=custom, resumed_from=resumed_from, seconds=seconds)
