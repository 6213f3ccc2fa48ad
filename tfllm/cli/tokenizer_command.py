"""`tfllm tokenizer train | stats`: learn a tokenizer from a corpus, and measure one on a split.

    tfllm tokenizer train --kind sentencepiece-bpe --vocab-size 4000 --output saved_models/tok-spm
    tfllm tokenizer stats --tokenizer saved_models/tok-spm [--split validation] [--json]

A trained directory is what `tfllm train --set data.tokenizer=DIR` takes.
"""

import json
import sys

from tfllm.cli.argument_types import positive_int
from tfllm.cli.tensorflow_startup import import_tensorflow
from tfllm.paths import check_corpus_path, check_tokenizer_dir

SPLITS = ("train", "validation", "test")


def register(commands):
    tokenizer = commands.add_parser("tokenizer", help="train a tokenizer or measure one on a corpus")
    # Sub-actions use the same one-line-error parser class as `tokenizer` itself.
    actions = tokenizer.add_subparsers(dest="tokenizer_action", metavar="ACTION",
                                       parser_class=type(tokenizer))
    actions.required = True

    train = actions.add_parser("train", help="learn a tokenizer from a corpus's train split")
    train.add_argument("--kind", required=True,
                       help="byte, char, word, wordpiece, sentencepiece-unigram or sentencepiece-bpe")
    train.add_argument("--vocab-size", type=positive_int,
                       help="vocabulary size, special tokens included (word: the most; wordpiece: "
                            "the learner's target; sentencepiece: exact). Default: the kind's")
    train.add_argument("--output", required=True, help="the tokenizer directory to write")
    train.add_argument("--corpus", default="shakespeare",
                       help="a UTF-8 .txt file or a folder of them (default: the bundled plays)")
    train.add_argument("--encoding-errors", default="strict", choices=("strict", "replace", "skip"))
    train.add_argument("--min-frequency", type=positive_int, help="char, word: rarer ones map to unk")
    train.add_argument("--lowercase", action="store_true", default=None,
                       help="word, wordpiece: lower-case text before learning and tokenizing")
    train.add_argument("--overwrite", action="store_true",
                       help="also replace a file or another kind of tfllm directory at --output "
                            "(a tokenizer tfllm wrote there is replaced without it; a folder of "
                            "your own files never is)")
    train.set_defaults(handler=_train)

    stats = actions.add_parser("stats", help="tokens, characters/token, unknown rate, top pieces")
    stats.add_argument("--tokenizer", required=True, help="a tokenizer directory")
    stats.add_argument("--corpus", default="shakespeare",
                       help="a UTF-8 .txt file or a folder of them (default: the bundled plays)")
    stats.add_argument("--split", default="validation", choices=SPLITS)
    stats.add_argument("--encoding-errors", default="strict", choices=("strict", "replace", "skip"))
    stats.add_argument("--top", type=positive_int, default=10, help="how many top pieces (default 10)")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(handler=_stats)


def _train(args):
    import time
    from pathlib import Path

    from tfllm.errors import TokenizerError
    from tfllm.export.output_guard import check_output_dir
    from tfllm.limits import check_at_most

    if args.vocab_size is not None:
        check_at_most("--vocab-size", args.vocab_size, "MAX_VOCABULARY_SIZE", "ids",
                      TokenizerError)
    output = Path(args.output)
    note = check_output_dir(output, overwrite=args.overwrite, kind="tokenizer")
    check_corpus_path(args.corpus)
    import_tensorflow()
    from tfllm.data import load_corpus
    from tfllm.tokenizers import build_tokenizer

    corpus = load_corpus(args.corpus, encoding_errors=args.encoding_errors)
    texts = [document.text for document in corpus.train]
    started = time.perf_counter()
    tokenizer = build_tokenizer(
        args.kind, texts, vocabulary_size=args.vocab_size, min_frequency=args.min_frequency,
        lowercase=args.lowercase,
    )
    seconds = time.perf_counter() - started
    from tfllm.export.staged_directory import staged_directory

    if note:
        print(f"Note: {note}.", flush=True)
    with staged_directory(output, what="tokenizer directory") as staging:
        tokenizer.save(staging)
    print(f"Trained a {tokenizer.kind} tokenizer on the train split of {corpus.name} "
          f"({len(texts)} documents, {sum(map(len, texts)):,} characters) in {seconds:.1f} s: "
          f"vocabulary size {tokenizer.vocabulary_size}, fingerprint {tokenizer.fingerprint}.")
    print(f"Saved to {output}. Measure it: tfllm tokenizer stats --tokenizer {output}; "
          f"train with it: tfllm train --set data.tokenizer={output}")
    return 0


def _stats(args):
    check_tokenizer_dir(args.tokenizer)
    check_corpus_path(args.corpus)
    import_tensorflow()
    from tfllm.data import load_corpus
    from tfllm.tokenizers import load_tokenizer, tokenizer_stats

    tokenizer = load_tokenizer(args.tokenizer)
    corpus = load_corpus(args.corpus, encoding_errors=args.encoding_errors)
    stats = tokenizer_stats(tokenizer, corpus.split_text(args.split), top=args.top)
    stats = {"tokenizer": str(args.tokenizer), "corpus": corpus.name, "split": args.split, **stats}
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, sort_keys=True))
        return 0
    print(f"{stats['kind']} tokenizer {args.tokenizer} (fingerprint {stats['fingerprint']}) on the "
          f"{args.split} split of {corpus.name}:")
    rows = [
        ("vocabulary size", f"{stats['vocabulary_size']:,} ({stats['pieces_used']:,} used)"),
        ("characters", f"{stats['characters']:,}"),
        ("tokens", f"{stats['tokens']:,}"),
        ("characters/token", f"{stats['characters_per_token']:.3f}"),
        ("unknown rate", f"{stats['unknown_rate']:.4%} ({stats['unknown_tokens']:,} tokens)"),
    ]
    for name, value in rows:
        print(f"  {name:<17} {value}")
    pieces = ", ".join(f"{piece['piece']!r} {piece['share']:.1%}" for piece in stats["top_pieces"])
    print(f"  {'top pieces':<17} {pieces}")
    sys.stdout.flush()
    return 0
