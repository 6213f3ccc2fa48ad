"""`train(config)`: from a `RunConfig` to a trained language model, with `model.fit`.

The run directory is the run's memory. It holds the resolved `config.json`, the tokenizer, the
TensorBoard logs, the `BackupAndRestore` checkpoint and the loss curve. Starting `train` again
with the same run directory after an interruption (Ctrl-C, kill, a lost machine) resumes from
the last completed evaluation interval instead of starting over.

Layout of a run directory:

    config.json        the resolved RunConfig (a resumed run must match it)
    tokenizer/         the tokenizer, learned from the training split
    logs/train, logs/validation   Keras TensorBoard callback (per-epoch scalars)
    logs/steps         per-step loss, learning rate, tokens/s and text samples
    backup/            BackupAndRestore state, removed when training completes
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
import time
from pathlib import Path

import keras

from tfllm.config import RunConfig
from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text
from tfllm.errors import ConfigError
from tfllm.generation import generate
from tfllm.models import build_model
from tfllm.objectives import BitsPerCharacter, MaskedAccuracy, MaskedCrossEntropy, Perplexity
from tfllm.tokenizers import build_tokenizer, load_tokenizer
from tfllm.training.evaluation import evaluate_language_model
from tfllm.training.loss_curve_plot import LossCurvePlot
from tfllm.training.optimizers import build_optimizer
from tfllm.training.text_sample_logger import TextSampleLogger
from tfllm.training.throughput_logger import ThroughputLogger
from tfllm.training.warmup_cosine_decay import WarmupCosineDecay

# Measured on 2 CPU cores (see STACK-NOTES and benchmarks/): XLA trained a small GPT ~1.4x
# faster and a Keras LSTM ~2x slower, so "auto" decides per architecture, not per device.
_XLA_BY_ARCHITECTURE = {"gpt": True, "lstm": False}


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


def train(config, *, run_dir=None, corpus=None, verbose="auto", callbacks=(), print_fn=print):
    """Trains the language model described by `config` and evaluates it on the validation split.

    Args:
        config: a `tfllm.config.RunConfig` (see `tfllm.presets`).
        run_dir: directory for logs, checkpoints and plots (default `runs/<config.name>`).
            Re-using it resumes an interrupted run.
        corpus: an already loaded `tfllm.data.Corpus`; by default `config.data.corpus` is loaded.
        verbose: passed to `model.fit` ("auto", 0, 1 = progress bar, 2 = one line per epoch).
        callbacks: extra Keras callbacks.
        print_fn: where progress messages go (samples, resume notices, final metrics).
    Returns:
        A `TrainingRun`.
    """
    _validate(config)
    keras.utils.set_random_seed(config.train.seed)
    run_dir = Path(run_dir or Path("runs") / config.name)
    _prepare_run_dir(config, run_dir)

    corpus = corpus or load_corpus(config.data.corpus, encoding_errors=config.data.encoding_errors)
    tokenizer_dir = run_dir / "tokenizer"
    if (tokenizer_dir / "tokenizer.json").exists():
        tokenizer = load_tokenizer(tokenizer_dir)  # a resumed run keeps its ids
    else:
        tokenizer = build_tokenizer(
            config.data.tokenizer, [doc.text for doc in corpus.train]
        )
        tokenizer.save(tokenizer_dir)

    sequence_length = config.model.sequence_length
    batch_size = config.train.batch_size
    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    validation_ids = tokenize_corpus_text(tokenizer, corpus.split_text("validation"))
    epochs = config.train.steps // config.train.eval_interval
    resumed_from = _resume_epoch(run_dir / "backup")
    train_data = lm_dataset(
        train_ids,
        sequence_length,
        batch_size,
        windows=config.data.windows,
        # A resumed run draws fresh windows rather than replaying the ones it already trained
        # on. This resume is epoch-exact for weights and optimizer, not bit-exact for data.
        seed=config.train.seed + resumed_from,
        shuffle_buffer=config.data.shuffle_buffer,
    )
    validation_data = lm_dataset(validation_ids, sequence_length, batch_size, windows="eval")
    # Intermediate validation reads about eval_batches batches spread evenly over the whole
    # split (every k-th batch: a prefix would only measure the first play); the final
    # evaluation reads all of it.
    validation_batches = int(validation_data.cardinality())
    stride = max(1, -(-validation_batches // config.train.eval_batches))
    validation_sample = validation_data.shard(num_shards=stride, index=0)

    model = build_model(config.model, tokenizer.vocabulary_size)
    schedule = WarmupCosineDecay(
        peak_learning_rate=config.train.learning_rate,
        warmup_steps=config.train.warmup_steps,
        decay_steps=config.train.steps,
        min_learning_rate=config.train.min_learning_rate,
    )
    model.compile(
        optimizer=build_optimizer(
            schedule,
            weight_decay=config.train.weight_decay,
            beta_1=config.train.beta_1,
            beta_2=config.train.beta_2,
            clipnorm=config.train.clipnorm,
        ),
        loss=MaskedCrossEntropy(),
        weighted_metrics=[Perplexity(), BitsPerCharacter(), MaskedAccuracy()],
        jit_compile=resolve_jit_compile(config),
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

    log_dir = run_dir / "logs"
    throughput = ThroughputLogger(
        tokens_per_step=batch_size * sequence_length,
        log_dir=str(log_dir / "steps"),
        log_every=config.train.log_every,
    )
    run_callbacks = [
        # double_checkpoint keeps the previous backup, used if the latest one is corrupt.
        keras.callbacks.BackupAndRestore(str(run_dir / "backup"), double_checkpoint=True),
        throughput,
        keras.callbacks.TensorBoard(log_dir=str(log_dir)),
        LossCurvePlot(str(run_dir / "loss_curve.png"), throughput_logger=throughput),
    ]
    sample_logger = None
    if config.train.sample_length > 0:
        sample_logger = TextSampleLogger(
            lambda m: config.train.sample_prompt + sample_fn(m),
            log_dir=str(log_dir / "steps"),
            print_fn=print_fn,
        )
        run_callbacks.append(sample_logger)
    run_callbacks.extend(callbacks)

    if resumed_from:
        print_fn(
            f"Resuming {run_dir} from its checkpoint after epoch {resumed_from} of {epochs} "
            f"(step {resumed_from * config.train.eval_interval})."
        )
    started = time.perf_counter()
    history = model.fit(
        train_data,
        epochs=epochs,
        steps_per_epoch=config.train.eval_interval,
        validation_data=validation_sample,
        callbacks=run_callbacks,
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles; Keras cannot shuffle a tf.data stream
    )
    train_seconds = time.perf_counter() - started

    metrics = evaluate_language_model(model, validation_data)
    metrics = {key: float(value) for key, value in metrics.items()}
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
    )
