"""The `tfllm` command: argument parsing only; every command calls one library function.

TensorFlow is imported inside the command functions, never at module level, so `tfllm --help`
and `tfllm presets` answer at once. Each command first checks what needs no TensorFlow (flags,
paths, presets, `--set` values), then imports it quietly (`tensorflow_startup`). Errors a user can
fix (`tfllm.errors.TfllmError`) print one line on stderr and exit with code 2; set TFLLM_DEBUG=1
to see the traceback and TensorFlow's own start-up logs instead.
"""

import argparse
import importlib
import json
import os
import sys

from tfllm.cli.tensorflow_startup import debug_enabled, import_tensorflow

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed writer

# Commands that live in their own module: each defines `register(commands)`, which adds its
# sub-parser(s) to the `commands` sub-parsers action and sets `handler` defaults. Keep these
# modules free of TensorFlow imports at module level, like this one.
COMMAND_MODULES = (
    "tfllm.cli.generate_command",
    "tfllm.cli.export_command",
    "tfllm.cli.bench_command",
    "tfllm.cli.embeddings_command",
    "tfllm.cli.tokenizer_command",
    "tfllm.cli.finetune_command",
    "tfllm.cli.classify_command",
    "tfllm.cli.experiment_command",
    "tfllm.cli.serve_command",
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the default prints the whole usage block first)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser():
    parser = _Parser(
        prog="tfllm",
        description="Train, evaluate and sample language models with Keras 3 on TensorFlow.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser("train", help="train a preset and save the model")
    train.add_argument("--preset", default="shakespeare-char", help="preset name (see `tfllm presets`)")
    train.add_argument("--corpus", help="a UTF-8 .txt file or a folder of them (default: the preset's)")
    train.add_argument("--encoding-errors", choices=("strict", "replace", "skip"),
                       help="non-UTF-8 bytes: fail naming the file and line (strict), replace "
                            "them with U+FFFD, or skip the lines that hold them")
    train.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.steps=500 (repeatable)")
    train.add_argument("--run-dir",
                       help="logs and checkpoints (default runs/NAME); re-use to resume. One job "
                            "at a time; a completed run in it is moved aside to "
                            "NAME.previous-TIME (see docs/files-and-runs.md)")
    train.add_argument("--output",
                       help="final model directory (default saved_models/NAME); a model "
                            "directory tfllm wrote there is replaced, other files never")
    train.add_argument("--overwrite", action="store_true",
                       help="let --output replace a file or another kind of tfllm directory")
    train.add_argument("--quiet", action="store_true", help="one line per evaluation, no progress bar")
    train.add_argument("--strategy", choices=("auto", "cpu", "gpu", "mirrored", "multiworker", "tpu"),
                       help="tf.distribute strategy (sets train.strategy; default: the preset's, "
                            "auto = TPU, TF_CONFIG cluster, GPUs or the CPU; see docs/distributed.md)")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser(
        "evaluate", help="measure a saved model on a text: loss, perplexity, bits per character")
    evaluate.add_argument("--model", required=True, help="a model directory, e.g. saved_models/shakespeare-char")
    evaluate.add_argument("--corpus",
                          help="the text to score: a UTF-8 .txt file or a folder of them, "
                               "'shakespeare' or tfds:NAME (default: the corpus the model was "
                               "trained on)")
    evaluate.add_argument("--split", default=None, choices=("train", "validation", "test"),
                          help="score only this split of the corpus, cut as for training "
                               "(default: the whole of --corpus; without --corpus, the "
                               "validation split of the training corpus)")
    evaluate.add_argument("--encoding-errors", default="strict", choices=("strict", "replace", "skip"))
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=_evaluate)

    presets = commands.add_parser("presets", help="list the named configurations")
    presets.add_argument("--json", action="store_true", help="print each preset's full config")
    presets.set_defaults(handler=_presets)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def _train(args):
    from tfllm.config import apply_overrides
    from tfllm.paths import check_corpus_path
    from tfllm.presets import get_preset

    config = get_preset(args.preset)
    if config.train.frozen_steps:
        from tfllm.errors import ConfigError

        raise ConfigError(
            f"Preset {args.preset!r} is a fine-tuning recipe (train.frozen_steps): run `tfllm "
            f"finetune --from PRETRAINED_MODEL --task TASK --preset {args.preset}`. Received: "
            f"tfllm train --preset {args.preset}")
    overrides = list(args.overrides)
    if args.corpus:
        overrides.append(f"data.corpus={args.corpus}")
    if args.encoding_errors:
        overrides.append(f"data.encoding_errors={args.encoding_errors}")
    if args.strategy:
        overrides.append(f"train.strategy={args.strategy}")
    config = apply_overrides(config, overrides)
    check_corpus_path(config.data.corpus)
    run_dir, output_dir = _check_train_paths(args, config)

    import_tensorflow()
    import dataclasses

    from tfllm.models import check_model_config

    # A bad model argument fails now, before the corpus is read and a tokenizer learned.
    config = dataclasses.replace(config, model=check_model_config(config.model))
    from tfllm.experiments import run_training

    # On Ctrl-C, run_training's KeyboardInterrupt says what the run left (see `main`).
    run_training(
        config,
        run_dir=run_dir,
        output_dir=output_dir,
        verbose=2 if args.quiet else "auto",
        overwrite=args.overwrite,
    )
    return 0


def _check_train_paths(args, config):
    """The run and output directories, checked before TensorFlow is imported (the library
    checks them again): a busy or foreign run directory, a resumable run of another config or
    an output tfllm may not replace is a one-line error at once."""
    from pathlib import Path

    from tfllm.export import check_output_dir
    from tfllm.run_directory import check_run_dir, default_run_dir

    run_dir = Path(args.run_dir or default_run_dir(config.name))
    output_dir = Path(args.output or Path("saved_models") / config.name)
    # Model arguments given as text are converted later, with TensorFlow: compare the rest now.
    check_run_dir(run_dir, config.to_dict(), compare_model=False)
    check_output_dir(output_dir, overwrite=args.overwrite, protect=(run_dir,), kind="model")
    return run_dir, output_dir


def _evaluate(args):
    from tfllm.paths import check_corpus_path, check_model_dir

    check_model_dir(args.model)
    if args.corpus is not None:
        check_corpus_path(args.corpus)
    import_tensorflow()
    from tfllm.experiments import evaluate_model_dir
    from tfllm.experiments.training_run import UNKNOWN_TOKENS_WARNING

    result = evaluate_model_dir(
        args.model, corpus=args.corpus, split=args.split, encoding_errors=args.encoding_errors
    )
    # A classifier's report counts passages, not tokens: count the text's tokens from its size.
    tokens = result.get("tokens") or round(result["characters"] / result["characters_per_token"])
    unknown, tokens = result.get("unknown_tokens", 0), max(tokens, 1)
    if unknown >= UNKNOWN_TOKENS_WARNING * tokens:
        print(f"tfllm evaluate: warning: {unknown:,} of the {tokens:,} tokens scored "
              f"({unknown / tokens:.0%}) are unknown to the model's tokenizer (text it never saw "
              f"in training), so these figures say little about this text.", file=sys.stderr)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(evaluation_line(result))
    return 0


def evaluation_line(result):
    """The one line `tfllm evaluate` prints for the result of `evaluate_model_dir`."""
    scored = (f"whole of {result['corpus']}" if result["split"] == "whole"
              else f"{result['split']} split of {result['corpus']}")
    if "passages" in result:  # a classifier's
        figures = [f"{label} {result[key]:.4f}" for key, label in _CLASSIFIER_FIGURES
                   if result.get(key) is not None]
        return (f"{scored} ({result['passages']:,} passages): " + ", ".join(figures))
    figures = [f"loss {result['loss']:.4f}", f"perplexity {result['perplexity']:.3f}"]
    if "bits_per_character" in result:  # a language model's
        figures.append(f"bits_per_character {result['bits_per_character']:.4f}")
        if "bits_per_byte" in result:
            figures.append(f"bits_per_byte {result['bits_per_byte']:.4f}")
    else:  # an encoder-decoder model's: teacher-forced accuracy, then its decoded outputs
        figures += [f"{label} {result[key]:{form}}" for key, label, form in _SEQ2SEQ_FIGURES
                    if key in result]
    return f"{scored} ({result['characters']:,} characters, {result['tokens']:,} tokens): " + (
        ", ".join(figures))


_CLASSIFIER_FIGURES = (("loss", "loss"), ("accuracy", "accuracy"), ("macro_f1", "macro F1"),
                       ("ece", "ECE"))
_SEQ2SEQ_FIGURES = (("accuracy", "token accuracy", ".4f"), ("bleu", "BLEU", ".2f"),
                    ("casing_accuracy", "casing accuracy", ".4f"),
                    ("punctuation_f1", "punctuation F1", ".4f"))


def _presets(args):
    from tfllm.presets import list_presets

    entries = list_presets()
    if args.json:
        print(json.dumps({name: config.to_dict() for name, _, config in entries}, indent=2))
        return 0
    width = max(len(name) for name, _, _ in entries)
    for name, description, _ in entries:
        print(f"{name:<{width}}  {description}")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from tfllm.errors import TfllmError

    try:
        return args.handler(args)
    except TfllmError as error:
        if debug_enabled():
            raise
        message = " ".join(str(error).split())  # one line, whatever the library wrote
        print(f"tfllm {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        # `run_training` says what the run left, read from the disk after the run let go of
        # its directory, so it is true when printed.
        note = f" {interrupt}" if str(interrupt) else ""
        print(f"\ntfllm {args.command}: interrupted.{note}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`tfllm presets --json | head`): stop quietly, as Unix tools do;
        # stdout points at /dev/null so Python's exit-time flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
