"""Tokenizing speed in tf.data: each tfllm tokenizer next to the raw tf-text op it wraps and
keras-hub's equivalent, on the same text, in one run.

The text is the validation split of the bundled plays (The Tempest, Julius Caesar, Macbeth,
about 0.3 MB), repeated to `--megabytes`, in two shapes: its non-blank lines ("short lines",
about 35 bytes each) and line-aligned chunks of about 1 KB. Each pipeline is

    tf.data.Dataset.from_tensor_slices(strings).batch(B).map(tokenize).prefetch(AUTOTUNE)

iterated to the end once for warm-up and then `--repeats` times, the contenders' passes
alternating; the best pass counts (this machine is shared: the best pass is the least disturbed). MB/s are UTF-8 megabytes of input per
second. The subword vocabularies are learned first from the first `--train-megabytes` of the
train split (learning time is printed, not timed against anything).

Rows, per tokenizer:
- tfllm: `tokenizer.tokenize` (what the library and the trainer call);
- raw: the tf-text / TF op it wraps, alone (char: `unicode_decode`; byte: `ByteSplitter`; word:
  `regex_split` without the word lookup; wordpiece: `FastWordpieceTokenizer`; sentencepiece:
  `SentencepieceTokenizer`) on the same vocabulary;
- keras-hub: its `UnicodeCodepointTokenizer`, `ByteTokenizer`, `WordPieceTokenizer` and
  `SentencePieceTokenizer` on the same vocabulary or model. keras-hub's `BytePairTokenizer`
  wants GPT-2-style byte-level vocabulary and merges, which no trainer here produces, so it is
  left out.

The ratio column is tfllm / raw: the aim is >= 0.9 (wrappers lose at most 10%).
keras-hub is a dev-only dependency; tfllm itself never imports it.

    python benchmarks/tokenizer_speed.py                       # about a minute
    python benchmarks/tokenizer_speed.py --megabytes 4 --repeats 5 --json results.json
"""

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tensorflow_text as tf_text  # noqa: E402

from tfllm.data import load_corpus  # noqa: E402
from tfllm.tokenizers import build_tokenizer  # noqa: E402
from tfllm.tokenizers.tokenizer_utils import WORD_DELIMITER_PATTERN, WORD_KEEP_PATTERN  # noqa: E402

SHAPES = {"short lines": 256, "1 KB chunks": 32}  # shape -> strings per batch


def _texts(text, megabytes):
    lines = [line for line in text.splitlines() if line.strip()]
    chunks, current = [], []
    size = 0
    for line in text.splitlines(keepends=True):
        current.append(line)
        size += len(line.encode("utf-8"))
        if size >= 1024:
            chunks.append("".join(current))
            current, size = [], 0
    if current:
        chunks.append("".join(current))
    result = {}
    for name, strings in (("short lines", lines), ("1 KB chunks", chunks)):
        total = sum(len(s.encode("utf-8")) for s in strings)
        copies = max(1, round(megabytes * 1e6 / total))
        result[name] = (strings * copies, total * copies)
    return result


def _pipeline(fn, strings, batch_size):
    return (tf.data.Dataset.from_tensor_slices(strings).batch(batch_size)
            .map(fn, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))


def _mb_per_second(functions, strings, total_bytes, batch_size, repeats):
    """{name: MB/s} for each of `functions` ({name: fn}); their passes alternate, so a slow
    spell of the machine hits all of them, and each keeps its best pass."""
    datasets = {name: _pipeline(fn, strings, batch_size) for name, fn in functions.items()}
    best = {name: float("inf") for name in functions}
    for index in range(repeats + 1):
        for name, dataset in datasets.items():
            started = time.perf_counter()
            for _ in dataset:
                pass
            if index:  # the first pass warms up (tracing, table and model loading)
                best[name] = min(best[name], time.perf_counter() - started)
    return {name: total_bytes / 1e6 / seconds for name, seconds in best.items()}


def _keras_hub():
    try:
        import keras_hub
    except ImportError:
        return None
    return keras_hub


def _contenders(tokenizer, keras_hub):
    """(raw op, keras-hub tokenizer or None) for `tokenizer`'s kind."""
    kind = tokenizer.kind
    hub = None
    if kind == "char":
        raw = lambda s: tf.strings.unicode_decode(s, "UTF-8", errors="replace")  # noqa: E731
        if keras_hub:
            hub = keras_hub.tokenizers.UnicodeCodepointTokenizer(sequence_length=None)
    elif kind == "byte":
        splitter = tf_text.ByteSplitter()
        raw = splitter.split
        if keras_hub:
            hub = keras_hub.tokenizers.ByteTokenizer(sequence_length=None)
    elif kind == "word":
        raw = lambda s: tf_text.regex_split(s, WORD_DELIMITER_PATTERN, WORD_KEEP_PATTERN)  # noqa: E731
    elif kind == "wordpiece":
        raw = tf_text.FastWordpieceTokenizer(
            vocab=tokenizer.vocabulary, unknown_token="<unk>", token_out_type=tf.int32).tokenize
        if keras_hub:
            hub = keras_hub.tokenizers.WordPieceTokenizer(
                vocabulary=tokenizer.vocabulary, lowercase=False, strip_accents=False,
                oov_token="<unk>", special_tokens_in_strings=False)
    else:  # sentencepiece-*
        raw = tf_text.SentencepieceTokenizer(model=tokenizer.model_proto, out_type=tf.int32).tokenize
        if keras_hub:
            hub = keras_hub.tokenizers.SentencePieceTokenizer(proto=tokenizer.model_proto)
    return raw, hub


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=2.0, help="input per pass (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes; the best counts")
    parser.add_argument("--vocab-size", type=int, default=4000)
    parser.add_argument("--train-megabytes", type=float, default=1.0)
    parser.add_argument("--kinds", default="char,byte,word,wordpiece,sentencepiece-unigram,sentencepiece-bpe")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    corpus = load_corpus("shakespeare")
    train_text = corpus.split_text("train")[: int(args.train_megabytes * 1e6)]
    inputs = _texts(corpus.split_text("validation"), args.megabytes)
    keras_hub = _keras_hub()
    options = {"word": {"vocabulary_size": args.vocab_size},
               "wordpiece": {"vocabulary_size": args.vocab_size},
               "sentencepiece-unigram": {"vocabulary_size": args.vocab_size},
               "sentencepiece-bpe": {"vocabulary_size": args.vocab_size}}
    print(f"tf.data tokenizing speed, MB/s of UTF-8 input (best of {args.repeats} passes over "
          f"{args.megabytes:g} MB; noisy on a shared 2-core machine: compare within this run)")
    print(f"{'tokenizer':<22} {'shape':<12} {'tfllm':>8} {'raw op':>8} {'keras-hub':>10} "
          f"{'tfllm/raw':>10} {'hub/raw':>8}")
    results = []
    for kind in args.kinds.split(","):
        started = time.perf_counter()
        tokenizer = build_tokenizer(kind, [train_text], **options.get(kind, {}))
        learn_seconds = time.perf_counter() - started
        raw, hub = _contenders(tokenizer, keras_hub)
        for shape, batch_size in SHAPES.items():
            strings, total = inputs[shape]
            row = {"kind": kind, "shape": shape, "vocabulary_size": tokenizer.vocabulary_size,
                   "learn_seconds": round(learn_seconds, 2)}
            functions = {"tfllm": tokenizer.tokenize, "raw": raw}
            if hub is not None:
                functions["keras_hub"] = hub
            row.update({"keras_hub": None},
                       **_mb_per_second(functions, strings, total, batch_size, args.repeats))
            hub_text = f"{row['keras_hub']:>10.1f}" if row["keras_hub"] else f"{'-':>10}"
            hub_ratio = f"{row['keras_hub'] / row['raw']:>8.2f}" if row["keras_hub"] else f"{'-':>8}"
            print(f"{kind:<22} {shape:<12} {row['tfllm']:>8.1f} {row['raw']:>8.1f} {hub_text} "
                  f"{row['tfllm'] / row['raw']:>10.2f} {hub_ratio}", flush=True)
            results.append(row)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
