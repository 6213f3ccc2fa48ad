"""`tfllm export`: write a model directory's string-in/string-out serving SavedModel."""

import sys

from tfllm.cli.argument_types import non_negative_float, non_negative_int, positive_int
from tfllm.cli.tensorflow_startup import import_tensorflow


def register(commands):
    export = commands.add_parser(
        "export", help="write a SavedModel whose `generate` maps strings to strings"
    )
    export.add_argument("--model", required=True, help="a model directory")
    export.add_argument("--output",
                        help="the SavedModel directory (default MODEL/serving); not the model "
                             "directory, nor inside it other than MODEL/serving. A serving export "
                             "tfllm wrote there is replaced")
    export.add_argument("--overwrite", action="store_true",
                        help="also replace a file or another kind of tfllm directory at --output "
                             "(once the new one is written); a folder of your own files never is")
    export.add_argument("--max-new-tokens", type=positive_int, default=200,
                        help="default length of the `generate(prompts)` endpoint")
    export.add_argument("--temperature", type=non_negative_float, default=0.8,
                        help="default temperature of `generate(prompts)` (0 = greedy)")
    export.add_argument("--top-k", type=non_negative_int, default=0)
    export.add_argument("--top-p", type=float, default=1.0)
    export.add_argument("--repetition-penalty", type=float, default=1.0)
    export.add_argument("--seed", type=non_negative_int, default=0)
    export.set_defaults(handler=_export)


def _export(args):
    import os
    from pathlib import Path

    from tfllm.errors import TfllmError
    from tfllm.export.output_guard import check_output_dir
    from tfllm.paths import check_model_dir

    from tfllm.limits import check_at_most

    # The default length of every request the export will serve: bounded like `generate`'s.
    check_at_most("--max-new-tokens", args.max_new_tokens, "MAX_NEW_TOKENS",
                  "new tokens per continuation", TfllmError)
    if not 0.0 < args.top_p <= 1.0:
        raise TfllmError(f"--top-p must be in (0, 1]. Received: --top-p {args.top_p}")
    if args.repetition_penalty <= 0:
        raise TfllmError(
            f"--repetition-penalty must be > 0. Received: --repetition-penalty "
            f"{args.repetition_penalty}"
        )
    check_model_dir(args.model)
    output = Path(args.output) if args.output else Path(args.model) / "serving"
    # MODEL/serving is where tfllm puts the export; anywhere else in or around MODEL is refused.
    default = Path(os.path.realpath(Path(args.model) / "serving"))
    protect = () if Path(os.path.realpath(output)) == default else (args.model,)
    note = check_output_dir(output, overwrite=args.overwrite, protect=protect, kind="serving")
    if note:
        print(f"Note: {note}.", flush=True)
    import_tensorflow()
    from tfllm.export import export_serving, load_model_dir

    loaded = load_model_dir(args.model)
    defaults = {
        "max_new_tokens": args.max_new_tokens,
        "temperature": args.temperature,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "repetition_penalty": args.repetition_penalty,
        "seed": args.seed,
    }
    export_serving(loaded.model, loaded.tokenizer, output, defaults=defaults,
                   overwrite=args.overwrite, protect=protect)
    print(f"Wrote {output}: load it with tf.saved_model.load (import tensorflow_text first) and "
          f"call .generate(tf.constant([...])) or .generate_with_options(...).", file=sys.stdout)
    return 0
