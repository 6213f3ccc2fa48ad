"""Whole runs as one call: train -> evaluate -> save, and evaluate a saved model on a text.

These are what `tfllm train` and `tfllm evaluate` call; a notebook can call them the same way.

Example:

>>> from tfllm.experiments import run_training
>>> from tfllm.presets import get_preset
>>> result = run_training(get_preset("smoke"))  # doctest: +SKIP
>>> result.model_dir, result.metrics["bits_per_character"]  # doctest: +SKIP
"""

import dataclasses
import errno
import os
from pathlib import Path

from tfllm.data import (DOCUMENT_SEPARATOR, SPLITS, load_corpus, load_documents,
                        tokenize_corpus_text)
from tfllm.errors import ConfigError, OutputPathError, TfllmError, TrainingError
from tfllm.export import check_output_dir, load_model_dir, save_model_dir
from tfllm.export.staged_directory import USER_ERRORS, user_errno
from tfllm.pause_points import pause_point
from tfllm.run_directory import RunDirectory, default_run_dir, interruption_note
from tfllm.tasks import get_task
from tfllm.training import evaluate_model, train


@dataclasses.dataclass
class RunResult:
    model_dir: Path
    run_dir: Path
    metrics: dict
    sample: str
    train_seconds: float
    history: dict = None  # Keras's per-evaluation logs (`History.history`)


def run_training(config, *, run_dir=None, output_dir=None, corpus=None, verbose="auto",
                 overwrite=False, print_fn=print, initialize=None, callbacks=()):
    """Trains `config`, reports held-out metrics and a sample, and saves the model directory.

    The run's checkpoint is kept until the model directory is saved, so an interruption at any
    moment resumes (the same call again) with at most one evaluation interval lost.

    Args:
        config: a `RunConfig`.
        run_dir: logs and checkpoints (default `runs/<config.name>`); re-use it to resume.
        output_dir: the final model directory (default `saved_models/<config.name>`), written
            atomically. Checked before training (`tfllm.export.check_output_dir`): a model
            directory tfllm wrote is replaced (with a note), a file or another kind of tfllm
            directory only with `overwrite`, a directory of other files or the run directory
            never.
        corpus: an already loaded `tfllm.data.Corpus` (default: load `config.data.corpus`).
        verbose: Keras progress display ("auto", 0, 1, 2).
        overwrite: allow replacing a file or another kind of tfllm directory at `output_dir`.
        print_fn: where the report goes.
        initialize: optional `initialize(model)` before compiling (`tfllm.training.train`).
        callbacks: more Keras callbacks for `fit`.
    Returns:
        A `RunResult`.
    Raises:
        OutputPathError: `output_dir` may not be written (before any training).
        KeyboardInterrupt: interrupted; its message says what the run left and whether the
            same call resumes it.
    """
    run_dir = Path(run_dir or default_run_dir(config.name))
    output_dir = Path(output_dir or Path("saved_models") / config.name)
    note = check_output_dir(output_dir, overwrite=overwrite, protect=(run_dir,), kind="model")
    if note:
        print_fn(f"Note: {note} (once the run completes).")
    directory = RunDirectory(run_dir, print_fn=print_fn)
    try:
        return _train_and_save(config, directory, output_dir, corpus=corpus, verbose=verbose,
                               overwrite=overwrite, print_fn=print_fn, initialize=initialize,
                               callbacks=callbacks)
    except KeyboardInterrupt:
        directory.release()
        # What the run left, read from the disk once it is released: the CLI prints it.
        raise KeyboardInterrupt(interruption_note(run_dir, started=directory.started)) from None
    except Exception as error:
        # A full disk or a permission error while the run writes its logs, loss curve or
        # checkpoints: one line that says what happened and what the run left.
        code = None if isinstance(error, TfllmError) else user_errno(error)
        if code is None:
            raise
        directory.release()
        raise TrainingError(
            f"The run stopped: {_os_error_words(error, code)}. "
            + ("Free space first. " if code in (errno.ENOSPC, errno.EDQUOT) else "")
            + interruption_note(run_dir, started=directory.started)
        ) from error
    finally:
        directory.release()


def _os_error_words(error, code):
    """`no space left on device (ENOSPC: FILE; DETAIL)` for an OS error `error` with errno `code`.

    DETAIL is what the raiser added to the C library's wording, such as the space a write
    needed (`tfllm.disk_space`)."""
    where = getattr(error, "filename", None)
    detail = str(getattr(error, "strerror", "") or "")
    standard = os.strerror(code)
    detail = detail[len(standard):].lstrip(": ") if detail.startswith(standard) else ""
    inside = "; ".join(part for part in (where, detail) if part)
    return (f"{USER_ERRORS[code][0]} ({errno.errorcode.get(code, code)}"
            + (f": {inside}" if inside else "") + ")")


def _train_and_save(config, directory, output_dir, *, corpus, verbose, overwrite, print_fn,
                    initialize=None, callbacks=()):
    run = train(config, run_dir=directory, corpus=corpus, verbose=verbose, print_fn=print_fn,
                initialize=initialize, callbacks=callbacks)
    metrics = dict(run.metrics, split="validation", train_seconds=round(run.train_seconds, 1))
    result = RunResult(model_dir=output_dir, run_dir=run.run_dir, metrics=metrics,
                       sample=run.sample, train_seconds=run.train_seconds, history=run.history)
    if not run.is_chief:
        # Another worker of a multi-worker job: the chief saves the (identical) model.
        print_fn(f"Worker done (the chief saves the model to {output_dir}).")
        return result
    try:
        save_model_dir(
            output_dir,
            run.model,
            run.tokenizer,
            run.config,
            metrics=metrics,
            extra_files={"loss_curve.png": run.run_dir / "loss_curve.png"},
            overwrite=overwrite,
            protect=(run.run_dir,),
        )
    except OutputPathError as error:
        # Training is done and its checkpoint kept: say that the fix costs no retraining.
        directory.release()
        raise OutputPathError(f"{error} {interruption_note(directory.path)}") from error
    pause_point("after_save")
    # Only now is the checkpoint no longer needed.
    directory.complete(model_dir=output_dir)
    task = get_task(run.config.task)
    print_fn("")
    names = [d.name for d in run.corpus.validation]
    if len(names) > 4:  # a TFDS corpus may hold thousands of documents
        names = names[:3] + [f"and {len(names) - 3:,} more documents"]
    print_fn(
        f"Validation ({', '.join(names)}; "
        f"{_scored_units(metrics)} of {run.tokenizer.kind}, "
        f"{metrics['characters_per_token']:.3f} characters/token): {task.describe(metrics)}"
    )
    print_fn(f"Trained for {run.train_seconds:.0f} s.")
    if run.sample:
        print_fn("Sample:")
        print_fn(run.sample)
    print_fn("")
    print_fn(f"Model saved to {output_dir}; logs in {run.run_dir / 'logs'} "
             f"(tensorboard --logdir {run.run_dir.parent}); loss curve {run.run_dir / 'loss_curve.png'}.")
    return result


def _scored_units(metrics):
    """"N tokens" (language models), or "N passages" (classifiers score one label each)."""
    if "tokens" in metrics:
        return f"{metrics['tokens']:,} tokens"
    return f"{metrics['passages']:,} passages"


def evaluate_model_dir(model_dir, *, corpus=None, split=None, encoding_errors="strict",
                       batch_size=None):
    """Measures a saved model on a text, over every token of it.

    Args:
        model_dir: a directory written by `save_model_dir`.
        corpus: a corpus spec ("shakespeare", a path, "tfds:NAME"); default: the one the model
            was trained on.
        split: "train", "validation" or "test" of the corpus, split as for training. None: the
            validation split of the training corpus when `corpus` is None, else the WHOLE of
            `corpus` (a text the model never saw is scored entirely).
        encoding_errors: "strict", "replace" or "skip" for user corpora.
        batch_size: evaluation batch size (default: the training batch size).
    Returns:
        the task's report (for a causal LM `loss` in nats/token, `perplexity`,
        `bits_per_character`, `bits_per_byte`, `accuracy`, `tokens`) plus
        `characters_per_token` (and `bytes_per_token` beside bits per byte), `characters` and
        `bytes` (UTF-8: how much was scored), `split` ("whole" for a whole text), `corpus`
        and `unknown_tokens`: how many tokens of the text the tokenizer could only map to its
        unknown id (a perplexity over text the model cannot spell means little; the CLI warns
        when they are 1% or more of the tokens, `UNKNOWN_TOKENS_WARNING`).
    """
    if split is not None and split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
    loaded = load_model_dir(model_dir)
    config = loaded.config
    data = config.data
    corpus_spec = corpus or data.corpus
    options = dict(tfds_split=data.tfds_split, text_feature=data.text_feature)
    if split is None and corpus is not None:
        documents = load_documents(corpus_spec, encoding_errors, **options)
    else:
        split = split or "validation"
        task = get_task(config.task)
        documents = task.corpus(load_corpus(corpus_spec, encoding_errors=encoding_errors,
                                            **options)).documents(split)
    text = DOCUMENT_SEPARATOR.join(d.text.strip("\n") for d in documents)
    task = get_task(config.task)
    dataset, ratio = task.evaluation_data(
        documents, loaded.tokenizer, task.lengths(loaded.model.get_config()),
        batch_size or config.train.batch_size)
    result = evaluate_model(loaded.model, dataset, task, characters_per_token=ratio)
    result.update(task.decoded_report(loaded.model, loaded.tokenizer, documents))
    result.update(characters_per_token=ratio, characters=len(text),
                  bytes=len(text.encode("utf-8")), split=split or "whole",
                  corpus=str(corpus_spec),
                  unknown_tokens=count_unknown_tokens(loaded.tokenizer, text))
    if "bits_per_character" in result and text:
        # The same bits over the same text, counted in its UTF-8 bytes instead of characters.
        characters_per_byte = len(text) / result["bytes"]
        result.update(bits_per_byte=result["bits_per_character"] * characters_per_byte,
                      bytes_per_token=ratio / characters_per_byte)
    return result


# The share of unknown tokens from which `tfllm evaluate` warns that its figures mislead.
UNKNOWN_TOKENS_WARNING = 0.01


def count_unknown_tokens(tokenizer, text):
    """How many of the scored tokens of `text` (every token but the first, which has no
    context to be predicted from) are the tokenizer's unknown id."""
    if not text:
        return 0
    return int((tokenize_corpus_text(tokenizer, text)[1:] == tokenizer.unk_id).sum())
