"""Whole runs as one call: train -> evaluate -> save, and evaluate a saved model on a corpus.

These are what `tfllm train` and `tfllm evaluate` call; a notebook can call them the same way.

Example:

>>> from tfllm.experiments import run_training
>>> from tfllm.presets import get_preset
>>> result = run_training(get_preset("smoke"))  # doctest: +SKIP
>>> result.model_dir, result.metrics["bits_per_char"]  # doctest: +SKIP
"""

import dataclasses
from pathlib import Path

from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text
from tfllm.errors import ConfigError
from tfllm.export import load_model_dir, save_model_dir
from tfllm.training import evaluate_language_model, train

SPLITS = ("train", "validation", "test")


@dataclasses.dataclass
class RunResult:
    model_dir: Path
    run_dir: Path
    metrics: dict
    sample: str
    train_seconds: float


def run_training(config, *, run_dir=None, output_dir=None, corpus=None, verbose="auto", print_fn=print):
    """Trains `config`, reports held-out metrics and a sample, and saves the model directory.

    Args:
        config: a `RunConfig`.
        run_dir: logs and checkpoints (default `runs/<config.name>`); re-use it to resume.
        output_dir: the final model directory (default `saved_models/<config.name>`), written
            atomically.
        corpus: an already loaded `tfllm.data.Corpus` (default: load `config.data.corpus`).
        verbose: Keras progress display ("auto", 0, 1, 2).
        print_fn: where the report goes.
    Returns:
        A `RunResult`.
    """
    run = train(config, run_dir=run_dir, corpus=corpus, verbose=verbose, print_fn=print_fn)
    output_dir = Path(output_dir or Path("saved_models") / config.name)
    # `train` measured bits per character with the characters per token of the validation
    # text, so they compare across tokenizers.
    ratio = run.metrics["characters_per_token"]
    metrics = dict(run.metrics, split="validation", train_seconds=round(run.train_seconds, 1))
    if not run.is_chief:
        # Another worker of a multi-worker job: the chief saves the (identical) model.
        print_fn(f"Worker done (the chief saves the model to {output_dir}).")
        return RunResult(model_dir=output_dir, run_dir=run.run_dir, metrics=metrics,
                         sample=run.sample, train_seconds=run.train_seconds)
    save_model_dir(
        output_dir,
        run.model,
        run.tokenizer,
        config,
        metrics=metrics,
        extra_files={"loss_curve.png": run.run_dir / "loss_curve.png"},
    )
    print_fn("")
    print_fn(
        f"Validation ({', '.join(d.name for d in run.corpus.validation)}; "
        f"{metrics['tokens']:,} tokens of {run.tokenizer.kind}, {ratio:.3f} characters/token): "
        f"loss {metrics['loss']:.4f} nats/token, perplexity {metrics['perplexity']:.3f}, "
        f"bits/char {metrics['bits_per_char']:.4f}"
    )
    print_fn(f"Trained for {run.train_seconds:.0f} s.")
    if run.sample:
        print_fn("Sample:")
        print_fn(run.sample)
    print_fn("")
    print_fn(f"Model saved to {output_dir}; logs in {run.run_dir / 'logs'} "
             f"(tensorboard --logdir {run.run_dir.parent}); loss curve {run.run_dir / 'loss_curve.png'}.")
    return RunResult(
        model_dir=output_dir,
        run_dir=run.run_dir,
        metrics=metrics,
        sample=run.sample,
        train_seconds=run.train_seconds,
    )


def evaluate_model_dir(model_dir, *, corpus=None, split="validation", encoding_errors="strict", batch_size=None):
    """Measures a saved model on one split of a corpus, over every token of it.

    Args:
        model_dir: a directory written by `save_model_dir`.
        corpus: a corpus spec ("shakespeare" or a path); default: the one the model was trained on.
        split: "train", "validation" or "test".
        encoding_errors: "strict" or "replace" for user corpora.
        batch_size: evaluation batch size (default: the training batch size).
    Returns:
        dict with `loss` (nats/token), `perplexity`, `bits_per_char`, `tokens`, plus `split`
        and `corpus`.
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
    loaded = load_model_dir(model_dir)
    config = loaded.config
    corpus_spec = corpus or config.data.corpus
    loaded_corpus = load_corpus(corpus_spec, encoding_errors=encoding_errors)
    text = loaded_corpus.split_text(split)
    ids = tokenize_corpus_text(loaded.tokenizer, text)
    dataset = lm_dataset(
        ids,
        config.model.sequence_length,
        batch_size or config.train.batch_size,
        windows="eval",
    )
    # Characters per token of the evaluated text: bits per character stay honest for any tokenizer.
    ratio = len(text) / len(ids)
    metrics = evaluate_language_model(loaded.model, dataset, characters_per_token=ratio)
    result = {
        "loss": float(metrics["loss"]),
        "perplexity": float(metrics["perplexity"]),
        "bits_per_char": float(metrics["bits_per_char"]),
        "characters_per_token": ratio,
        "tokens": int(metrics["tokens"]),
        "split": split,
        "corpus": str(corpus_spec),
    }
    return result
