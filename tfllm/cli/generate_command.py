"""`tfllm generate`: continue prompts with a language model, or transform inputs with an
encoder-decoder model (`--input`), through `tfllm.generation.generate`.

The model directory's task says which it is (`Task.input_kind`): a causal language model takes
`--prompt` / `--prompt-file` and continues them; an encoder-decoder model takes `--input` /
`--input-file` and writes its output for each, greedily unless `--temperature` or `--num-beams`
say otherwise. Given the other kind, the command says what the model is and which flag fits.
"""

import json
import sys

from tfllm.cli.argument_types import non_negative_float, non_negative_int, positive_int
from tfllm.cli.tensorflow_startup import import_tensorflow


def register(commands):
    generate = commands.add_parser(
        "generate", help="continue prompts (a language model) or transform inputs (an "
                         "encoder-decoder model) with a saved model")
    generate.add_argument("--model", required=True, help="a model directory")
    source = generate.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="the text to continue (\\n and \\t are understood)")
    source.add_argument("--prompt-file",
                        help="a UTF-8 file with one prompt per line (at most 16 MB and 1,024 "
                             "prompts; see docs/generation.md, Limits)")
    source.add_argument("--input", help="for an encoder-decoder model: the text to transform")
    source.add_argument("--input-file",
                        help="for an encoder-decoder model: a UTF-8 file, one input per line "
                             "(the limits of --prompt-file)")
    generate.add_argument("--max-new-tokens", type=positive_int, default=None,
                          help="the most tokens generated after each prompt (default 300, at "
                               "most 65,536; for an encoder-decoder model, all its target "
                               "positions)")
    generate.add_argument("--min-new-tokens", type=non_negative_int, default=0,
                          help="no stop sequence or end id ends a prompt before this many")
    generate.add_argument("--temperature", type=non_negative_float, default=None,
                          help="0 = greedy; higher = more varied (default 0.8 for a prompt, "
                               "0 for an --input)")
    generate.add_argument("--top-k", type=non_negative_int, default=0,
                          help="sample among the k most likely tokens (0 = all)")
    generate.add_argument("--top-p", type=float, default=1.0,
                          help="nucleus sampling: keep the likeliest tokens holding this "
                               "probability, in (0, 1] (default 1 = all)")
    generate.add_argument("--repetition-penalty", type=float, default=1.0,
                          help="> 1 makes tokens already seen less likely (default 1 = off)")
    generate.add_argument("--presence-penalty", type=float, default=0.0)
    generate.add_argument("--frequency-penalty", type=float, default=0.0)
    generate.add_argument("--no-repeat-ngram-size", type=non_negative_int, default=0,
                          help="never repeat an n-gram of this size (0 = off)")
    generate.add_argument("--ban", action="append", default=[], metavar="TEXT",
                          help="text that must never be generated (repeatable)")
    generate.add_argument("--stop", action="append", default=[], metavar="TEXT",
                          help="end a continuation at this text, e.g. --stop '\\n\\n' "
                               "(repeatable; the stop text is not printed)")
    generate.add_argument("--num-return-sequences", type=positive_int, default=1,
                          help="continuations per prompt; prompts x sequences (or x beams) "
                               "at most 1,024 rows")
    generate.add_argument("--num-beams", type=positive_int, default=1,
                          help="> 1: beam search (deterministic; ignores temperature/top-k/top-p)")
    generate.add_argument("--length-penalty", type=float, default=1.0,
                          help="beam search ranks by log p / length ** this (default 1)")
    generate.add_argument("--seed", type=int, default=None, help="for reproducible samples")
    output = generate.add_mutually_exclusive_group()
    output.add_argument("--stream", action="store_true", help="print tokens as they are generated")
    output.add_argument("--json", action="store_true",
                        help="one JSON object per continuation: text, tokens, log-probability, "
                             "finish reason")
    generate.set_defaults(handler=_generate)


def _unescape(text):
    r"""Shell arguments arrive with literal backslashes: turn \n, \t and \\ into characters."""
    return text.replace("\\\\", "\0").replace("\\n", "\n").replace("\\t", "\t").replace("\0", "\\")


def _read_prompts(args):
    """The prompts (or inputs), checked before TensorFlow is imported: a file is read whole (at
    most `MAX_PROMPT_FILE_MB`), and prompts x sequences (or beams) within `MAX_GENERATION_ROWS`."""
    from tfllm.errors import GenerationError
    from tfllm.limits import check_generation_rows
    from tfllm.paths import read_small_file

    kind = "input" if args.input is not None or args.input_file is not None else "prompt"
    single, path = ((args.input, args.input_file) if kind == "input"
                    else (args.prompt, args.prompt_file))
    if single is not None:
        prompts = [single]
    else:
        data = read_small_file(path, f"--{kind}-file", GenerationError,
                               "MAX_PROMPT_FILE_MB", what=f"{kind} file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise GenerationError(
                f"The {kind} file {path!r} is not UTF-8 ({error.reason} at byte "
                f"{error.start}); save it as UTF-8.") from None
        prompts = [line for line in text.splitlines() if line.strip()]
        if not prompts:
            raise GenerationError(f"The {kind} file {path!r} has no non-empty line: "
                                  f"write one {kind} per line.")
    check_generation_rows(len(prompts), args.num_return_sequences, args.num_beams,
                          GenerationError, names=("--num-return-sequences", "--num-beams"))
    return [_unescape(prompt) for prompt in prompts]


def _generate(args):
    from tfllm.errors import GenerationError
    from tfllm.limits import check_at_most
    from tfllm.paths import check_model_dir

    if args.max_new_tokens is not None:
        check_at_most("--max-new-tokens", args.max_new_tokens, "MAX_NEW_TOKENS",
                      "new tokens per continuation", GenerationError)
    check_model_dir(args.model)
    prompts = _read_prompts(args)
    import_tensorflow()
    from tfllm.export import load_model_dir
    from tfllm.generation import generate

    loaded = load_model_dir(args.model)
    kind = _check_input_kind(args, loaded)
    tokenizer = loaded.tokenizer
    limit = loaded.model.max_cache_length
    if kind == "input":  # an encoder-decoder model transforms its input: greedy by default
        args.temperature = 0.0 if args.temperature is None else args.temperature
    else:
        args.temperature = 0.8 if args.temperature is None else args.temperature
        args.max_new_tokens = args.max_new_tokens or 300
    for prompt in prompts:
        unknown = tokenizer.unknown_characters(prompt)
        if unknown:
            print(f"tfllm generate: note: the {kind} has characters outside the model's "
                  f"vocabulary ({''.join(unknown)!r}); they were removed before generating.",
                  file=sys.stderr)
    streamed = []

    def stream(row, text):
        if row == 0:  # print the first continuation live; the others follow at the end
            print(text, end="", flush=True)
            streamed.append(text)

    if args.stream and len(prompts) * args.num_return_sequences == 1 and kind == "prompt":
        print(prompts[0], end="", flush=True)
    results = generate(
        loaded.model,
        tokenizer,
        prompts,
        max_new_tokens=args.max_new_tokens,
        min_new_tokens=args.min_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
        presence_penalty=args.presence_penalty,
        frequency_penalty=args.frequency_penalty,
        no_repeat_ngram_size=args.no_repeat_ngram_size,
        banned_words=[_unescape(text) for text in args.ban],
        stop=[_unescape(text) for text in args.stop],
        num_return_sequences=args.num_return_sequences,
        num_beams=args.num_beams,
        length_penalty=args.length_penalty,
        seed=args.seed,
        stream=stream if args.stream and len(prompts) * args.num_return_sequences == 1 else None,
        return_details=True,
        unknown="drop",
    )
    for result in results:
        if result.cropped_tokens:
            print(f"tfllm generate: note: the prompt was longer than the model's context of "
                  f"{limit} tokens; its first {result.cropped_tokens} tokens were dropped.",
                  file=sys.stderr)
            break
    _print_results(args, results, kind, streamed)
    return 0


def _print_results(args, results, kind, streamed):
    """Writes the generations: JSON lines, the end of a stream, or the texts."""
    if args.json:
        for result in results:
            print(json.dumps({
                "prompt": result.prompt,
                "text": result.text,
                "tokens": len(result.token_ids),
                "log_probability": round(result.log_probability, 4),
                "finish_reason": result.finish_reason,
                "cropped_prompt_tokens": result.cropped_tokens,
                **({"score": round(result.score, 4)} if result.score is not None else {}),
            }, ensure_ascii=False))
    elif streamed or (args.stream and len(results) == 1):
        print()
    else:
        for index, result in enumerate(results):
            if kind == "input":
                # One output line per input line, in order, as a filter prints: a line break the
                # model wrote is printed as a space (--json keeps the text exact).
                print(" ".join(result.text.splitlines()))
                continue
            if index:
                print("\n" + "-" * 40)
            print(result.prompt + result.text)  # a continuation follows its prompt


def _check_input_kind(args, loaded):
    """"prompt" or "input": what the model takes (its task's `input_kind`), refusing the other."""
    from tfllm.errors import GenerationError
    from tfllm.tasks import get_task

    expected = get_task(loaded.config.task).input_kind
    given = "input" if args.input is not None or args.input_file is not None else "prompt"
    if given != expected:
        what = ("an encoder-decoder model, which transforms an input into an output"
                if expected == "input" else "a language model, which continues a prompt")
        raise GenerationError(
            f"{args.model} is {what} (task {loaded.config.task}, "
            f"{loaded.config.model.class_name}): give it --{expected} TEXT or "
            f"--{expected}-file FILE. Received: --{given}")
    return expected
