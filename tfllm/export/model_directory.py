"""The final model directory: save it atomically, load it safely.

A model directory is what `tfllm train` leaves in `saved_models/<name>/` and what `tfllm generate`
and `tfllm evaluate --model` read:

    model.keras      Keras archive (architecture + weights), loaded with safe_mode=True
    tokenizer/       the tokenizer the model was trained with
    config.json      the resolved RunConfig
    metrics.json     held-out metrics measured at the end of training
    tfllm.json       what ties them together: tfllm version, tokenizer fingerprint, vocabulary size
    loss_curve.png   (when available) the training curve
    README.md        the model card (`tfllm.export.model_card`)

Saving writes everything into a temporary sibling directory and renames it into place, so a
crash never leaves a half-written model, and an existing model is replaced only once the new
one is complete. Loading checks each piece and says which one is wrong, because Keras's own
messages for a damaged archive are misleading ("File not found" for a corrupt `.keras`).

Example:

>>> from tfllm.export import load_model_dir
>>> loaded = load_model_dir("saved_models/shakespeare-char")  # doctest: +SKIP
>>> loaded.model, loaded.tokenizer, loaded.config.model.class_name  # doctest: +SKIP
"""

import dataclasses
import json
import shutil
from pathlib import Path

import keras

import tfllm
from tfllm import models as _models  # noqa: F401  (registers tfllm layers/models for loading)
from tfllm.config import RunConfig
from tfllm.errors import ModelLoadError, TfllmError, TokenizerError
from tfllm.export.model_card import model_card
from tfllm.export.output_guard import MODEL_MANIFEST, check_output_dir
from tfllm.export.staged_directory import staged_directory
from tfllm.paths import MODEL_FILE, check_model_dir, os_error_message
from tfllm.tokenizers import load_tokenizer

FORMAT_VERSION = 1


@dataclasses.dataclass
class LoadedModel:
    """A model directory in memory."""

    model: keras.Model
    tokenizer: object
    config: RunConfig
    metrics: dict
    path: Path


def save_model_dir(path, model, tokenizer, config, *, metrics=None, extra_files=None,
                   overwrite=False, protect=()):
    """Writes a complete model directory at `path`, atomically.

    Args:
        path: destination directory; an existing one is replaced only after the new one is
            fully written, and only if `tfllm.export.check_output_dir` allows it: a model
            directory tfllm wrote is replaced, a file or a tfllm directory of another kind only
            with `overwrite`, a directory holding files tfllm did not write never.
        model: the trained Keras model.
        tokenizer: its tokenizer.
        config: the `RunConfig` it was trained with.
        metrics: dict of held-out metrics for `metrics.json` and the model card.
        extra_files: `{name: source_path}` copied in (e.g. the loss curve PNG); missing
            sources are skipped.
        overwrite: replace a file or another kind of tfllm directory at `path`.
        protect: paths `path` must not be, lie inside or hold (the run directory).
    Returns:
        The `Path` written.
    Raises:
        OutputPathError: `path` may not be replaced, or writing failed for a reason the user
            can fix (no space left, permission denied); the previous directory is kept.
    """
    path = Path(path)
    check_output_dir(path, overwrite=overwrite, protect=protect, what="model directory",
                     kind="model")
    with staged_directory(path, what="model directory") as staging:
        model.save(staging / MODEL_FILE)
        tokenizer.save(staging / "tokenizer")
        (staging / "config.json").write_text(config.to_json())
        (staging / "metrics.json").write_text(json.dumps(metrics or {}, indent=2, sort_keys=True))
        manifest = {
            "format_version": FORMAT_VERSION,
            "tfllm_version": tfllm.__version__,
            "keras_version": keras.__version__,
            "model_class": type(model).__name__,
            "vocabulary_size": int(tokenizer.vocabulary_size),
            "tokenizer_kind": tokenizer.kind,
            "tokenizer_fingerprint": tokenizer.fingerprint,
            "parameters": int(model.count_params()),
        }
        (staging / MODEL_MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        for name, source in (extra_files or {}).items():
            if source and Path(source).exists():
                shutil.copyfile(source, staging / name)
        (staging / "README.md").write_text(model_card(path.name, config, manifest, metrics or {}))
    return path


def load_model_dir(path):
    """Loads a model directory written by `save_model_dir`, checking that its parts agree.

    Raises `ModelLoadError` (missing directory, missing or corrupt `model.keras`, unreadable
    metadata) or `TokenizerError` (a tokenizer that is not the one the model was trained with),
    each with a one-line message that says what to do.
    """
    path = check_model_dir(path)
    model_file = path / MODEL_FILE
    config = _read_config(path)
    manifest = _read_json(path / "tfllm.json", path)
    metrics = _read_json(path / "metrics.json", path) if (path / "metrics.json").exists() else {}
    tokenizer = load_tokenizer(path / "tokenizer")
    if manifest.get("tokenizer_fingerprint") != tokenizer.fingerprint:
        raise TokenizerError(
            f"The tokenizer in {path / 'tokenizer'} is not the one this model was trained with "
            f"(fingerprint {tokenizer.fingerprint}, expected "
            f"{manifest.get('tokenizer_fingerprint')}). Restore the original tokenizer directory."
        )
    try:
        model = keras.saving.load_model(model_file, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive.
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(
            f"{model_file} could not be loaded ({first_line[:200]}). Retrain or restore it."
        ) from error
    model_vocabulary = getattr(model, "vocabulary_size", None)
    if model_vocabulary is not None and model_vocabulary != tokenizer.vocabulary_size:
        raise TokenizerError(
            f"The tokenizer has {tokenizer.vocabulary_size} ids but the model's embedding has "
            f"{model_vocabulary}: they do not belong together. Received: --model {str(path)!r}"
        )
    return LoadedModel(model=model, tokenizer=tokenizer, config=config, metrics=metrics, path=path)


def _read_json(file, model_dir):
    if not file.exists():
        raise ModelLoadError(
            f"{model_dir} is missing {file.name}, so it is not a complete tfllm model directory. "
            f"Retrain or restore it. Received: --model {str(model_dir)!r}"
        )
    try:
        return json.loads(file.read_text())
    except OSError as error:  # permission denied, a folder where the file should be
        raise ModelLoadError(os_error_message(
            error, file, "read", f"--model {str(model_dir)!r}")) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{file} is not valid JSON ({error}). Retrain or restore it.") from error


def _read_config(model_dir):
    try:
        return RunConfig.from_dict(_read_json(model_dir / "config.json", model_dir))
    except TfllmError as error:
        if isinstance(error, ModelLoadError):
            raise
        raise ModelLoadError(f"{model_dir / 'config.json'} does not hold a valid config: {error}") from error
