"""Fine-tuning a pre-trained encoder as a classifier: `run_finetuning` (`tfllm finetune`).

A `BertMaskedLM` pre-trained with `tfllm train --preset shakespeare-mlm` gives its encoder (and
its tokenizer) to a `BertClassifier` with a new head, trained on a classification task in two
phases, as in "Universal Language Model Fine-tuning for Text Classification" (2018) and most
BERT recipes since:

1. frozen: `train.frozen_steps` steps at `train.frozen_learning_rate` with the encoder frozen,
   so the new, randomly initialised head does not send large gradients through the
   pre-trained weights;
2. unfrozen: `train.steps` steps of the whole model at the lower `train.learning_rate`, with
   early stopping on the validation loss (`train.early_stopping_patience`).

Each phase is an ordinary resumable run (`runs/NAME/frozen`, `runs/NAME/unfrozen`); the frozen
phase's model is kept in `runs/NAME/frozen-model`, so running the same command again after an
interruption in the second phase does not repeat the first. The recipe is the preset "finetune" (`tfllm.presets`).

Example:

>>> from tfllm.experiments import run_finetuning
>>> result = run_finetuning("saved_models/shakespeare-mlm", "genre")  # doctest: +SKIP
"""

import dataclasses
from pathlib import Path

from tfllm.config import ModelConfig, apply_overrides
from tfllm.errors import ConfigError
from tfllm.experiments.training_run import run_training
from tfllm.export import load_model_dir
from tfllm.models import BertMaskedLM
from tfllm.models.bert_encoder import ENCODER_ARGUMENTS
from tfllm.presets import get_preset
from tfllm.run_directory import default_run_dir
from tfllm.tasks import Classification, get_task

FROZEN = "frozen"
UNFROZEN = "unfrozen"


def finetune_config(pretrained, task_name, *, preset="finetune", overrides=()):
    """The `RunConfig` of fine-tuning the loaded pre-trained model `pretrained` (a
    `tfllm.export.LoadedModel`) on `task_name`: the preset's head and recipe, the pre-trained
    encoder's arguments and tokenizer, then `--set` overrides."""
    if not isinstance(pretrained.model, BertMaskedLM):
        raise ConfigError(
            f"Fine-tuning starts from a pre-trained BertMaskedLM encoder (tfllm train --preset "
            f"shakespeare-mlm); {str(pretrained.path)!r} holds a {type(pretrained.model).__name__} "
            f"(task {pretrained.config.task}). Received: --from {str(pretrained.path)!r}"
        )
    task = get_task(task_name)
    if not isinstance(task, Classification):
        raise ConfigError(f"tfllm finetune trains a classification task (comedy-tragedy, genre). "
                          f"Received: --task {task_name!r}")
    base = get_preset(preset)
    encoder = pretrained.model.get_config()
    arguments = {name: encoder[name] for name in ENCODER_ARGUMENTS if name != "vocabulary_size"}
    config = dataclasses.replace(
        base,
        name=f"{pretrained.path.name}-{task_name}",
        task=task_name,
        model=ModelConfig("BertClassifier", {**arguments, **base.model.config,
                                             "num_classes": task.num_classes}),
        data=dataclasses.replace(base.data, tokenizer=str(pretrained.path / "tokenizer")),
    )
    return apply_overrides(config, list(overrides))


def run_finetuning(pretrained_dir, task_name, *, preset="finetune", overrides=(), run_dir=None,
                   output_dir=None, overwrite=False, verbose="auto", print_fn=print):
    """Fine-tunes the pre-trained model in `pretrained_dir` on `task_name` (module docstring).

    Args:
        pretrained_dir: a model directory holding a `BertMaskedLM`.
        task_name: a classification task ("comedy-tragedy", "genre").
        preset: the fine-tuning recipe (a preset whose model config holds the head's arguments).
        overrides: `--set section.key=value` strings.
        run_dir: where both phases keep their runs (default `runs/<name>`).
        output_dir: the fine-tuned model directory (default `saved_models/<name>`).
        overwrite, verbose, print_fn: as for `run_training`.
    Returns:
        `{"frozen": RunResult or None, "unfrozen": RunResult}`.
    """
    pretrained = load_model_dir(pretrained_dir)
    config = finetune_config(pretrained, task_name, preset=preset, overrides=overrides)
    run_dir = Path(run_dir or default_run_dir(config.name))
    output_dir = Path(output_dir or Path("saved_models") / config.name)
    train = config.train
    results = {FROZEN: None}
    source = pretrained.model
    if train.frozen_steps:
        frozen_model_dir = run_dir / f"{FROZEN}-model"
        if (frozen_model_dir / "tfllm.json").exists():
            print_fn(f"The frozen phase is done ({frozen_model_dir}): the unfrozen phase starts.")
        else:
            print_fn(f"Phase 1 of 2: {train.frozen_steps} steps with the encoder frozen.")
            frozen = dataclasses.replace(config, train=dataclasses.replace(
                train, steps=train.frozen_steps, learning_rate=train.frozen_learning_rate,
                min_learning_rate=min(train.min_learning_rate, train.frozen_learning_rate),
                warmup_steps=min(train.warmup_steps, train.frozen_steps),
                eval_interval=_interval(train.frozen_steps, train.eval_interval),
                early_stopping_patience=0))
            results[FROZEN] = run_training(
                frozen, run_dir=run_dir / FROZEN, output_dir=frozen_model_dir, overwrite=True,
                verbose=verbose, print_fn=print_fn,
                initialize=lambda model: _copy_encoder(source, model, freeze=True))
        source = load_model_dir(frozen_model_dir).model
        print_fn(f"Phase 2 of 2: {train.steps} steps of the whole model.")
    results[UNFROZEN] = run_training(
        config, run_dir=run_dir / UNFROZEN, output_dir=output_dir, overwrite=overwrite,
        verbose=verbose, print_fn=print_fn,
        initialize=lambda model: _copy_weights(source, model))
    return results


def _interval(steps, interval):
    """The largest divisor of `steps` up to `interval` (a phase's validation interval)."""
    return max(d for d in range(1, min(steps, interval) + 1) if steps % d == 0)


def _copy_encoder(source, model, *, freeze):
    """Builds `model` and copies the encoder of `source` into it; freezes it if asked."""
    _build(model)
    model.encoder.set_weights(source.encoder.get_weights())
    model.encoder.trainable = not freeze


def _copy_weights(source, model):
    """Copies every weight of `source` into `model`: the whole classifier from the frozen
    phase, or only the encoder from a pre-trained masked LM."""
    _build(model)
    if isinstance(source, BertMaskedLM):
        model.encoder.set_weights(source.encoder.get_weights())
    else:
        model.set_weights(source.get_weights())


def _build(model):
    if not model.built:
        model.build({"token_ids": (None, model.sequence_length)})
