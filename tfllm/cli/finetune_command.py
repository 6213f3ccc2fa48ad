"""`tfllm finetune`: a pre-trained encoder as a classifier (`tfllm.experiments.run_finetuning`).

`tfllm finetune --from saved_models/shakespeare-mlm --task genre` trains a `BertClassifier`
whose encoder and tokenizer come from the pre-trained masked LM: first the new head with the
encoder frozen, then the whole model at a lower learning rate with early stopping (the recipe is
the preset "finetune"; `--set train.KEY=VALUE` changes it). The model is saved to
`saved_models/<from>-<task>`.
"""

from tfllm.cli.tensorflow_startup import import_tensorflow

CLASSIFICATION_TASKS = ("comedy-tragedy", "genre")


def register(commands):
    finetune = commands.add_parser(
        "finetune", help="fine-tune a pre-trained encoder (tfllm train --preset shakespeare-mlm) "
                         "as a classifier")
    finetune.add_argument("--from", dest="pretrained", required=True,
                          help="the pre-trained model directory, e.g. saved_models/shakespeare-mlm")
    finetune.add_argument("--task", required=True,
                          help=f"the classification task: {', '.join(CLASSIFICATION_TASKS)}")
    finetune.add_argument("--preset", default="finetune",
                          help="the fine-tuning recipe (default: finetune)")
    finetune.add_argument("--set", dest="overrides", action="append", default=[],
                          metavar="KEY=VALUE", help="override a recipe value (repeatable)")
    finetune.add_argument("--run-dir", help="where both phases keep their runs (default runs/NAME)")
    finetune.add_argument("--output", help="the model directory (default saved_models/NAME)")
    finetune.add_argument("--overwrite", action="store_true",
                          help="let --output replace a file or another kind of tfllm directory")
    finetune.add_argument("--quiet", action="store_true",
                          help="one line per evaluation, no progress bar")
    finetune.set_defaults(handler=_finetune)


def _finetune(args):
    from tfllm.errors import ConfigError
    from tfllm.paths import check_model_dir
    from tfllm.presets import get_preset

    check_model_dir(args.pretrained)
    if args.task not in CLASSIFICATION_TASKS:
        raise ConfigError(f"Unknown classification task. Valid tasks: "
                          f"{', '.join(CLASSIFICATION_TASKS)}. Received: --task {args.task!r}")
    get_preset(args.preset)
    import_tensorflow()
    from tfllm.experiments import run_finetuning

    run_finetuning(args.pretrained, args.task, preset=args.preset, overrides=args.overrides,
                   run_dir=args.run_dir, output_dir=args.output, overwrite=args.overwrite,
                   verbose=2 if args.quiet else "auto")
    return 0
