"""`tfllm classify`: the label a saved classifier gives each text, with its probability.

`tfllm classify --model saved_models/genre-lstm --text "O Romeo, Romeo!"` prints
`LABEL<TAB>PROBABILITY<TAB>TEXT`, one line per text (`--text` repeatable, or `--text-file`
with one text per line); `--json` prints every class's probability. A text that is empty, or
made only of pieces the tokenizer does not know, is refused: the model would classify nothing.
"""

import json
import sys

from tfllm.cli.tensorflow_startup import import_tensorflow


def register(commands):
    classify = commands.add_parser("classify", help="label texts with a saved classifier")
    classify.add_argument("--model", required=True, help="a classifier's model directory")
    source = classify.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="append", help="a text to classify (repeatable)")
    source.add_argument("--text-file", help="a UTF-8 file, one text per line (at most 16 MB)")
    classify.add_argument("--json", action="store_true",
                          help="one JSON object per text: label, probabilities")
    classify.set_defaults(handler=_classify)


def _texts(args):
    """The texts, checked before TensorFlow is imported: a file is read whole (at most
    `MAX_PROMPT_FILE_MB`), at most `MAX_GENERATION_ROWS` texts, none empty."""
    from tfllm.errors import GenerationError
    from tfllm.limits import check_generation_rows
    from tfllm.paths import read_small_file

    if args.text_file is not None:
        data = read_small_file(args.text_file, "--text-file", GenerationError,
                               "MAX_PROMPT_FILE_MB", what="text file")
        try:
            texts = data.decode("utf-8").splitlines()
        except UnicodeDecodeError as error:
            raise GenerationError(f"The text file {args.text_file!r} is not UTF-8 "
                                  f"({error.reason} at byte {error.start}); save it as "
                                  f"UTF-8.") from None
    else:
        texts = list(args.text)
    check_generation_rows(len(texts), 1, 1, GenerationError)
    for index, text in enumerate(texts, 1):
        if not text.strip():
            raise GenerationError(f"Text {index} is empty: give the classifier some words. "
                                  f"Received: {text!r}")
    return texts


def _classify(args):
    from tfllm.errors import GenerationError
    from tfllm.paths import check_model_dir

    check_model_dir(args.model)
    texts = _texts(args)
    import_tensorflow()
    from tfllm.export import load_model_dir
    from tfllm.tasks import Classification, get_task

    loaded = load_model_dir(args.model)
    task = get_task(loaded.config.task)
    if not isinstance(task, Classification):
        raise GenerationError(
            f"{type(loaded.model).__name__} (task {loaded.config.task}) is not a classifier: "
            f"use `tfllm generate --model {args.model}`. Received: --model {args.model!r}")
    for index, text in enumerate(texts, 1):
        ids = loaded.tokenizer.encode(text)
        if all(i == loaded.tokenizer.unk_id for i in ids):
            raise GenerationError(
                f"Text {index} holds only pieces the model's tokenizer does not know, so there "
                f"is nothing to classify. Received: {text!r}")
    probabilities = task.probabilities(loaded.model, loaded.tokenizer, texts)
    for text, row in zip(texts, probabilities):
        best = int(row.argmax())
        if args.json:
            print(json.dumps({"text": text, "label": task.class_names[best],
                              "probabilities": dict(zip(task.class_names,
                                                        [round(float(p), 6) for p in row]))}))
        else:
            print(f"{task.class_names[best]}\t{row[best]:.3f}\t{' '.join(text.split())}")
    sys.stdout.flush()
    return 0
