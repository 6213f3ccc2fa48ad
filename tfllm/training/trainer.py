"""`train(config)`: from a `RunConfig` to a trained language model, on any `tf.distribute` strategy.

The run directory is the run's memory. It holds the resolved `config.json`, the tokenizer, the
TensorBoard logs, the checkpoints and the loss curve. Starting `train` again with the same run
directory after an interruption (Ctrl-C, kill, a lost machine, a preempted worker) resumes
instead of starting over.

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

Both use the same callbacks and log keys. Under `strategy` (`tfllm.training.strategies`) the
model, optimizer and metrics are created in `strategy.scope()`; `train.batch_size` is the global
batch of one optimizer step, split over replicas and `train.grad_accum_steps` micro-batches.

Layout of a run directory:

    config.json        the resolved RunConfig (a resumed run must match it)
    tokenizer/         the tokenizer, learned from the training split
    logs/train, logs/validation   Keras TensorBoard callback (per-epoch scalars)
    logs/steps         per-step loss, learning rate, tokens/s and text samples
    backup/            loop=fit: BackupAndRestore state, removed when training completes
    checkpoints/       loop=custom: exact TrainingCheckpoints, removed when training completes
    loss_curve.png     training and validation loss

Example:

>>> from tfllm.presets import get_preset
>>> from tfllm.training import train
>>> run = train(get_preset("smoke"), run_dir="runs/smoke")  # doctest: +SKIP
>>> run.metrics["loss"]  # doctest: +SKIP
"""

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import keras
import tensorflow as tf

from tfllm.config import RunConfig
from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text
from tfllm.errors import ConfigError, TrainingError
from tfllm.generation import generate
from tfllm.models import build_model
from tfllm.objectives import BitsPerCharacter, MaskedAccuracy, MaskedCrossEntropy, Perplexity
from tfllm.tokenizers import build_tokenizer, load_tokenizer
from tfllm.training.custom_training_loop import CustomTrainingLoop
from tfllm.training.evaluation import evaluate_language_model
from tfllm.training.loss_curve_plot import LossCurvePlot
from tfllm.training.optimizers import build_optimizer
from tfllm.training.precision import check_precision, dtype_policy, wrap_optimizer_for_precision
from tfllm.training.strategies import STRATEGIES, resolve_strategy
from tfllm.training.text_sample_logger import TextSampleLogger
from tfllm.training.throughput_logger import ThroughputLogger
from tfllm.training.warmup_cosine_decay import WarmupCosineDecay

# Measured on 2 CPU cores (see STACK-NOTES and benchmarks/): XLA trained a small GPT ~1.4x
# faster and a Keras LSTM ~2x slower, so "auto" decides per architecture, not per device.
_XLA_BY_ARCHITECTURE = {"gpt": True, "lstm": False}

LOOPS = ("auto", "fit", "custom")


@dataclasses.dataclass
class TrainingRun:
    """What `train` returns: the trained model and everything needed to save or evaluate it."""

    config: RunConfig
    model: keras.Model
    tokenizer: object
    corpus: object
    run_dir: Path
    history: dict
    metrics: dict  # final validation metrics over the whole validation split
    sample: str
    resumed_from_epoch: int
    train_seconds: float
    strategy: str = "cpu"  # the resolved strategy name
    loop: str = "fit"  # the loop that trained: "fit" or "custom"
    is_chief: bool = True  # False on the other workers of a multi-worker job (they save nothing)


def resolve_jit_compile(config):
    """The XLA choice for this run: `train.jit_compile` "true"/"false", or per architecture."""
    choice = config.train.jit_compile.lower()
    if choice in ("true", "false"):
        return choice == "true"
    if choice != "auto":
        raise ConfigError(
            "train.jit_compile must be 'auto', 'true' or 'false'. "
            f"Received: train.jit_compile={config.train.jit_compile!r}"
        )
    return _XLA_BY_ARCHITECTURE.get(config.model.architecture, False)


def _validate(config):
    train = config.train
    for name in ("batch_size", "steps", "eval_interval", "eval_batches"):
        value = getattr(train, name)
        if value < 1:
            raise ConfigError(f"train.{name} must be >= 1. Received: train.{name}={value}")
    if train.steps % train.eval_interval:
        raise ConfigError(
            "train.steps must be a multiple of train.eval_interval (each interval is one epoch and "
            f"one checkpoint). Received: train.steps={train.steps}, "
            f"train.eval_interval={train.eval_interval}"
        )
    if config.data.windows not in ("random", "all"):
        raise ConfigError(
            f"data.windows must be 'random' or 'all'. Received: data.windows={config.data.windows!r}"
        )
    resolve_jit_compile(config)
    for name in ("grad_accum_steps", "steps_per_execution"):
        value = getattr(train, name)
        if value < 1:
            raise ConfigError(f"train.{name} must be >= 1. Received: train.{name}={value}")
    if train.batch_size % train.grad_accum_steps:
        raise ConfigError(
            "train.batch_size must be a multiple of train.grad_accum_steps (the batch of one "
            "optimizer step is split into that many micro-batches). Received: "
            f"train.batch_size={train.batch_size}, train.grad_accum_steps={train.grad_accum_steps}"
        )
    if train.strategy not in STRATEGIES:
        raise ConfigError(
            f"train.strategy must be one of {', '.join(STRATEGIES)}. "
            f"Received: train.strategy={train.strategy!r}"
        )
    if train.loop not in LOOPS:
        raise ConfigError(
            f"train.loop must be one of {', '.join(LOOPS)}. Received: train.loop={train.loop!r}"
        )
    if train.loop == "fit" and train.strategy == "multiworker":
        raise ConfigError(
            "train.loop=fit cannot run under train.strategy=multiworker: Keras's model.fit fails "
            "there (keras-team/keras issue 20585); use train.loop=custom or auto. "
            "Received: train.loop='fit'"
        )
    check_precision(train.precision)


def resolve_loop(config, strategy_name):
    """The loop that trains `config` under the resolved strategy: "fit" or "custom"."""
    if config.train.loop != "auto":
        return config.train.loop
    if strategy_name == "multiworker" or config.train.deterministic:
        return "custom"  # model.fit cannot run there / cannot resume the data stream exactly
    return "fit"


def _prepare_run_dir(config, run_dir):
    """Creates the run directory, or checks that an existing one belongs to this config."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.json"
    if config_path.exists():
        previous = json.loads(config_path.read_text())
        if previous != config.to_dict():
            changed = sorted(
                f"{section}.{key}"
                for section, values in config.to_dict().items()
                if isinstance(values, dict)
                for key, value in values.items()
                if previous.get(section, {}).get(key) != value
            )
            raise ConfigError(
                f"The run directory {run_dir} holds a run with a different config "
                f"(changed: {', '.join(changed) or 'name'}). Resume with the same settings or "
                f"pick a new --run-dir. Received: run_dir={str(run_dir)!r}"
            )
    _write_text_atomically(config_path, config.to_json())


def _write_text_atomically(path, text):
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


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


def _nan_error(run_dir, checkpoint_dir, error):
    return TrainingError(
        f"Training stopped: the loss became NaN or infinite ({error}). The last good checkpoint "
        f"in {checkpoint_dir} is kept, but resuming the same config will likely diverge again: "
        f"start a new --run-dir with a lower train.learning_rate or train.precision=float32. "
        f"Received: run_dir={str(run_dir)!r}"
    )


def train(config, *, run_dir=None, corpus=None, verbose="auto", callbacks=(), print_fn=print):
    """Trains the language model described by `config` and evaluates it on the validation split.

    Args:
        config: a `tfllm.config.RunConfig` (see `tfllm.presets`).
        run_dir: directory for logs, checkpoints and plots (default `runs/<config.name>`).
            Re-using it resumes an interrupted run.
        corpus: an already loaded `tfllm.data.Corpus`; by default `config.data.corpus` is loaded.
        verbose: progress display ("auto", 0, 1 = progress bar, 2 = one line per epoch).
        callbacks: extra Keras callbacks.
        print_fn: where progress messages go (strategy, samples, resume notices, final metrics).
    Returns:
        A `TrainingRun`.
    Raises:
        ConfigError: an invalid config, a strategy whose devices are missing, a batch that does
            not split over the replicas, or a loss that became NaN (the last good checkpoint is
            kept).
    """
    _validate(config)
    train_config = config.train
    # The strategy comes first: MultiWorkerMirroredStrategy must configure collective ops
    # before anything initialises TensorFlow's runtime.
    choice = resolve_strategy(train_config.strategy)
    if train_config.deterministic:
        # Same inputs -> same bits, on every run and resume (slower kernels; XLA off).
        tf.config.experimental.enable_op_determinism()
    strategy = choice.strategy
    loop = resolve_loop(config, choice.name)
    keras.utils.set_random_seed(train_config.seed)
    run_dir = Path(run_dir or Path("runs") / config.name)
    chief = choice.is_chief
    if chief:
        _prepare_run_dir(config, run_dir)

    corpus = corpus or load_corpus(config.data.corpus, encoding_errors=config.data.encoding_errors)
    tokenizer_dir = run_dir / "tokenizer"
    if (tokenizer_dir / "tokenizer.json").exists():
        tokenizer = load_tokenizer(tokenizer_dir)  # a resumed run keeps its ids
    else:
        tokenizer = build_tokenizer(
            config.data.tokenizer, [doc.text for doc in corpus.train]
        )
        if chief:  # other workers learn the same tokenizer from the same text
            tokenizer.save(tokenizer_dir)

    sequence_length = config.model.sequence_length
    batch_size = train_config.batch_size
    accumulation = train_config.grad_accum_steps
    micro_batch = batch_size // accumulation
    if micro_batch % choice.num_replicas:
        raise ConfigError(
            f"train.batch_size / train.grad_accum_steps = {micro_batch} rows per micro-batch must "
            f"split evenly over the {choice.num_replicas} replicas of strategy {choice.name}; use "
            f"a train.batch_size that is a multiple of {choice.num_replicas * accumulation}. "
            f"Received: train.batch_size={batch_size}"
        )
    jit_compile = (resolve_jit_compile(config) and not train_config.deterministic
                   and loop == "fit" and choice.num_replicas == 1)
    print_fn(
        f"{choice.description} Loop: {loop}. Global batch {batch_size} = "
        + (f"{accumulation} micro-batches x " if accumulation > 1 else "")
        + f"{choice.num_replicas} replica(s) x {micro_batch // choice.num_replicas} sequences; "
        f"precision {train_config.precision}; XLA {'on' if jit_compile else 'off'}"
        + ("; deterministic" if train_config.deterministic else "") + "."
    )

    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    validation_text = corpus.split_text("validation")
    validation_ids = tokenize_corpus_text(tokenizer, validation_text)
    # Bits per character compare tokenizers only with the characters per token of the
    # evaluated text (1 for char, about 3 for a 4000-piece subword vocabulary).
    characters_per_token = len(validation_text) / max(len(validation_ids), 1)
    epochs = train_config.steps // train_config.eval_interval
    resumed_from = _resume_epoch(run_dir / "backup") if loop == "fit" else 0
    train_data = lm_dataset(
        train_ids,
        sequence_length,
        micro_batch,
        windows=config.data.windows,
        # loop=fit: a resumed run draws fresh windows rather than replaying the ones it already
        # trained on (epoch-exact, not bit-exact). loop=custom restores the iterator itself.
        seed=train_config.seed + resumed_from,
        shuffle_buffer=config.data.shuffle_buffer,
    )
    validation_data = lm_dataset(validation_ids, sequence_length, batch_size, windows="eval")
    # Intermediate validation reads about eval_batches batches spread evenly over the whole
    # split (every k-th batch: a prefix would only measure the first play); the final
    # evaluation reads all of it.
    validation_batches = int(validation_data.cardinality())
    stride = max(1, -(-validation_batches // train_config.eval_batches))
    validation_sample = validation_data.shard(num_shards=stride, index=0)
    if loop == "fit" and choice.num_replicas > 1:
        # Keras 3.15's fit under a multi-replica strategy averages one input batch across
        # replicas to build the model (`_maybe_symbolic_build`), which fails on the bool
        # padding_mask ("AddN ... bool"). Windows are right-padded and attention is causal, so
        # the mask changes no weighted position: drop it.
        train_data, validation_sample = (
            dataset.map(_without_padding_mask) for dataset in (train_data, validation_sample)
        )

    schedule = WarmupCosineDecay(
        peak_learning_rate=train_config.learning_rate,
        warmup_steps=train_config.warmup_steps,
        decay_steps=train_config.steps,
        min_learning_rate=train_config.min_learning_rate,
    )
    with strategy.scope(), dtype_policy(train_config.precision):
        model = build_model(config.model, tokenizer.vocabulary_size)
        optimizer = build_optimizer(
            schedule,
            weight_decay=train_config.weight_decay,
            beta_1=train_config.beta_1,
            beta_2=train_config.beta_2,
            clipnorm=train_config.clipnorm,
            gradient_accumulation_steps=accumulation,
        )
        optimizer = wrap_optimizer_for_precision(optimizer, train_config.precision)
        model.compile(
            optimizer=optimizer,
            loss=MaskedCrossEntropy(),
            weighted_metrics=[
                Perplexity(),
                BitsPerCharacter(characters_per_token=characters_per_token),
                MaskedAccuracy(),
            ],
            jit_compile=jit_compile,
            steps_per_execution=train_config.steps_per_execution if loop == "fit" else 1,
        )

    def sample_fn(trained_model):
        return generate(
            trained_model,
            tokenizer,
            config.train.sample_prompt,
            max_new_tokens=config.train.sample_length,
            temperature=config.train.sample_temperature,
            top_k=config.train.sample_top_k,
            seed=config.train.seed,
        )

    # Only the chief writes logs and plots; other workers of a multi-worker job train silently.
    log_dir = run_dir / "logs"
    throughput = ThroughputLogger(
        # A fit step is one micro-batch; a custom-loop step is one optimizer step.
        tokens_per_step=(micro_batch if loop == "fit" else batch_size) * sequence_length,
        log_dir=str(log_dir / "steps") if chief else None,
        log_every=train_config.log_every,
    )
    # raise_error: the default graceful stop would run on_train_end, which deletes the backup;
    # raising keeps the last good checkpoint on disk.
    run_callbacks = [keras.callbacks.TerminateOnNaN(raise_error=True), throughput]
    if chief:
        run_callbacks += [
            keras.callbacks.TensorBoard(log_dir=str(log_dir)),
            LossCurvePlot(str(run_dir / "loss_curve.png"), throughput_logger=throughput),
        ]
    sample_logger = None
    if config.train.sample_length > 0 and chief:
        sample_logger = TextSampleLogger(
            lambda m: config.train.sample_prompt + sample_fn(m),
            log_dir=str(log_dir / "steps"),
            print_fn=print_fn,
        )
        run_callbacks.append(sample_logger)
    run_callbacks.extend(callbacks)

    if loop == "fit":
        # double_checkpoint keeps the previous backup, used if the latest one is corrupt.
        run_callbacks.insert(
            0, keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True)
        )
        checkpoint_dir = run_dir / "backup"
        resumed_step = resumed_from * train_config.eval_interval
        custom = None
    else:
        checkpoint_dir = run_dir / "checkpoints"
        task_id = getattr(getattr(strategy, "cluster_resolver", None), "task_id", 0) or 0
        custom = CustomTrainingLoop(
            model, optimizer, strategy, train_data,
            grad_accum_steps=accumulation,
            steps_per_execution=train_config.steps_per_execution,
            characters_per_token=characters_per_token,
            checkpoint_dir=str(checkpoint_dir), is_chief=chief, task_id=task_id,
        )
        resumed_step = custom.restore(print_fn=print_fn)
        resumed_from = resumed_step // train_config.eval_interval
    if resumed_step:
        # A preempted multi-worker run saves mid-epoch; the custom loop continues that epoch.
        into = resumed_step - resumed_from * train_config.eval_interval
        print_fn(
            f"Resuming {run_dir} from its checkpoint after epoch {resumed_from} of {epochs} "
            f"(step {resumed_step}"
            + (f", {into} steps into epoch {resumed_from + 1}" if into else "") + ")."
        )
    started = time.perf_counter()
    try:
        if custom is None:
            history = model.fit(
                train_data,
                epochs=epochs,
                steps_per_epoch=train_config.eval_interval * accumulation,
                validation_data=validation_sample,
                callbacks=run_callbacks,
                verbose=verbose,
                shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data stream
            )
        else:
            history = custom.fit(
                epochs=epochs,
                steps_per_epoch=train_config.eval_interval,
                validation_data=validation_sample,
                callbacks=run_callbacks,
                verbose=verbose,
            )
    except RuntimeError as error:
        if "NaN" not in str(error) and "Inf" not in str(error):
            raise
        raise _nan_error(run_dir, checkpoint_dir, " ".join(str(error).split())) from None
    train_seconds = time.perf_counter() - started
    if custom is not None and chief:
        # Like BackupAndRestore's backup: a finished run needs no checkpoint to resume from.
        shutil.rmtree(checkpoint_dir, ignore_errors=True)

    metrics = evaluate_language_model(
        model, validation_data, characters_per_token=characters_per_token
    )
    metrics = {key: float(value) for key, value in metrics.items()}
    metrics["characters_per_token"] = characters_per_token
    metrics["tokens"] = int(metrics["tokens"])
    sample = ""
    if sample_logger is not None:
        # The last epoch ended on the final weights, so its sample is the final one (a resumed
        # run with no epochs left has none yet).
        sample = (sample_logger.samples[-1][1] if sample_logger.samples
                  else config.train.sample_prompt + sample_fn(model))
    return TrainingRun(
        config=config,
        model=model,
        tokenizer=tokenizer,
        corpus=corpus,
        run_dir=run_dir,
        history=history.history,
        metrics=metrics,
        sample=sample,
        resumed_from_epoch=resumed_from,
        train_seconds=train_seconds,
        strategy=choice.name,
        loop=loop,
        is_chief=chief,
    )
