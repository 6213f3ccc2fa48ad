"""Seq2seq speed: tfllm's encoder-decoder Transformer against keras-hub's layers, in one run.

Three contenders train on the same batches of the restoration task (spoken lines of the bundled
plays, lower-cased and unpunctuated -> as written; `tfllm.data.restoration_pairs`), tokenized
with one SentencePiece BPE vocabulary of 4,000 pieces learned from the training plays and fed
through `tfllm.data.pair_dataset` without buckets, so every batch has the same (B, S) and
(B, T) shapes:

- `tfllm`: `tfllm.models.EncoderDecoderTransformer`, pre-LN, GELU, learned positions and an
  untied output projection, so that it matches the next one weight for weight;
- `keras-hub`: the same network from keras-hub's layers, built as a Keras functional model:
  one `TokenAndPositionEmbedding` shared by source and target, `TransformerEncoder`s,
  `TransformerDecoder`s (causal self-attention, cross-attention on the encoder output, both
  padding masks), a final LayerNorm on each side and a Dense to V logits;
- `gru`: `tfllm.models.GRUSeq2Seq` with embedding width D and hidden width 2 D (the
  shakespeare-restore-gru shape at the default size), about as many weights (`--skip-gru`).

All three get no dropout, the same loss (`MaskedCrossEntropy`), the same AdamW (learning rate
1e-3) and the same XLA setting (`--jit`, on by default). Throughput is target positions per
second: batch x target length per step, padding included, the same for every contender. They
train in alternating chunks (taking turns going first), so a slow spell of this noisy machine
hits all of them; the first chunk (which includes compilation) is reported separately and left
out of positions/s. "cores" is the CPU time the process got per second of timed training: on a
2-core machine, well under 2 means another job took a share (or the threads sat idle).
The target this script checks and prints (never asserts): tfllm at 1.3x keras-hub's
positions/s in the same run.

Then decoding (`--skip-decode` skips it): the trained tfllm Transformer (trained only for this
run's steps: the figure is speed, not quality) restores 64 validation sources with
`tfllm.generation.generate`, greedily and with 4 beams; sentences per second over
`--decode-repeats` calls each, taking turns, after a first call (compilation) reported
separately. Rows end at their end id, so the mean number of new tokens is printed with them.

    python benchmarks/seq2seq.py                                 # 2+2 layers, width 256, XLA on
    python benchmarks/seq2seq.py --steps 100 --chunk 25 --json seq2seq.json
    python benchmarks/seq2seq.py --jit off --steps 60 --chunk 20 --skip-gru

keras-hub is a dev-only dependency (`pip install -e .[dev]`); tfllm itself never imports it.
Two-thread CPU timings vary up to 2x between runs: compare the ratios printed by one run.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfllm.atomic_files import write_text_atomically  # noqa: E402
from tfllm.benchmarking import StepClock  # noqa: E402
from tfllm.data import load_corpus, pair_dataset, restoration_pairs  # noqa: E402
from tfllm.generation import generate  # noqa: E402
from tfllm.models import EncoderDecoderTransformer, GRUSeq2Seq  # noqa: E402
from tfllm.objectives import MaskedCrossEntropy  # noqa: E402
from tfllm.tokenizers import build_tokenizer  # noqa: E402

# The target: tfllm's Transformer at 1.3x keras-hub's positions/s, in one run.
TARGET_RATIO = 1.3
LEARNING_RATE = 1e-3
INPUT_DTYPES = {"encoder_token_ids": "int32", "encoder_padding_mask": "bool",
                "token_ids": "int32", "padding_mask": "bool"}
# (name, beams) of the decoding measurement.
DECODINGS = (("greedy", 1), ("beam-4", 4))


def tfllm_transformer(args, vocabulary_size):
    return EncoderDecoderTransformer(
        vocabulary_size=vocabulary_size, source_length=args.length, target_length=args.length,
        num_encoder_layers=args.layers, num_decoder_layers=args.layers, num_heads=args.heads,
        hidden_dim=args.width, intermediate_dim=args.ffn, dropout=0.0,
        # keras-hub's layers below have learned positions and an untied Dense head.
        position_encoding="learned", tie_embeddings=False, name="tfllm_transformer",
    )


def keras_hub_transformer(args, vocabulary_size):
    import keras_hub

    inputs = {name: keras.Input((args.length,), dtype=dtype, name=name)
              for name, dtype in INPUT_DTYPES.items()}
    # One table for both sides, as tfllm shares its token embedding (S == T here).
    embedding = keras_hub.layers.TokenAndPositionEmbedding(
        vocabulary_size, args.length, args.width, name="token_and_position_embedding"
    )
    block = dict(intermediate_dim=args.ffn, num_heads=args.heads, dropout=0.0,
                 activation="gelu", normalize_first=True)
    x = embedding(inputs["encoder_token_ids"])  # (B, S, D)
    for i in range(args.layers):
        x = keras_hub.layers.TransformerEncoder(**block, name=f"encoder_{i}")(
            x, padding_mask=inputs["encoder_padding_mask"])
    encoded = keras.layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")(x)
    y = embedding(inputs["token_ids"])  # (B, T, D)
    for i in range(args.layers):
        y = keras_hub.layers.TransformerDecoder(**block, name=f"decoder_{i}")(
            y, encoded, decoder_padding_mask=inputs["padding_mask"],
            encoder_padding_mask=inputs["encoder_padding_mask"])
    y = keras.layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")(y)
    logits = keras.layers.Dense(vocabulary_size, name="logits")(y)  # (B, T, V)
    return keras.Model(inputs, logits, name="keras_hub_transformer")


def gru_seq2seq(args, vocabulary_size):
    return GRUSeq2Seq(vocabulary_size=vocabulary_size, source_length=args.length,
                      target_length=args.length, embedding_dim=args.width,
                      hidden_dim=2 * args.width, dropout=0.0, name="gru_seq2seq")


def builders(args):
    chosen = [("tfllm", tfllm_transformer), ("keras-hub", keras_hub_transformer)]
    return chosen if args.skip_gru else chosen + [("gru", gru_seq2seq)]


def count_parameters(args, vocabulary_size):
    """{name: weights} of each contender at `args`' size, built on zeros and never trained."""
    zeros = {name: np.zeros((1, args.length), dtype) for name, dtype in INPUT_DTYPES.items()}
    counts = {}
    for name, build in builders(args):
        model = build(args, vocabulary_size)
        model(zeros)
        counts[name] = int(model.count_params())
    return counts


def load_data(args):
    """`(tokenizer, training batches (a list of `steps` numpy batches), decoding sources)`."""
    corpus = load_corpus("shakespeare")
    tokenizer = build_tokenizer("sentencepiece-bpe", [doc.text for doc in corpus.train],
                                vocabulary_size=args.vocabulary_size)
    pairs = restoration_pairs(corpus.train)[: args.pairs]
    dataset = pair_dataset(pairs, tokenizer, source_length=args.length,
                           target_length=args.length, batch_size=args.batch, shuffle=True,
                           seed=0, repeat=True)
    # Held in memory, so every contender trains on the very same batches and the timing
    # holds the training steps only, not the tokenizing pipeline.
    batches = list(dataset.take(args.steps).as_numpy_iterator())
    # Decoding refuses a source longer than the model's S: only those that fit, a seeded
    # sample spread over the validation plays.
    sources = [pair.source for pair in restoration_pairs(corpus.validation)]
    lengths = tokenizer.tokenize(sources).row_lengths().numpy()
    fitting = [source for source, length in zip(sources, lengths) if length <= args.length]
    chosen = np.random.default_rng(0).choice(len(fitting), args.decode_sources, replace=False)
    return tokenizer, batches, [fitting[i] for i in sorted(chosen)]


def build_contenders(args, vocabulary_size):
    """{name: {"model", "clock"}}: every contender compiled alike."""
    contenders = {}
    for name, build in builders(args):
        keras.utils.set_random_seed(0)
        model = build(args, vocabulary_size)
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate=LEARNING_RATE),
                      loss=MaskedCrossEntropy(), jit_compile=args.jit == "on")
        contenders[name] = {"model": model, "clock": StepClock()}
    return contenders


def train_in_alternating_chunks(contenders, batches, chunk_steps):
    """Trains every contender on all `batches`; returns each one's first-chunk seconds.

    Each clock is left holding the time of every chunk but the first.
    """
    first_chunk_seconds = {}
    for chunk in range(len(batches) // chunk_steps):
        own = batches[chunk * chunk_steps:(chunk + 1) * chunk_steps]
        # The chunk's batches stacked on a new first axis; slicing it gives them back.
        chunk_data = tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda *parts: np.stack(parts), *own))
        # Alternate who goes first, so a periodic slowdown of the machine cannot favour one.
        order = list(contenders.items())
        for name, entry in order if chunk % 2 == 0 else reversed(order):
            clock = entry["clock"]
            before = clock.seconds
            entry["model"].fit(chunk_data, steps_per_epoch=chunk_steps, initial_epoch=chunk,
                               epochs=chunk + 1, callbacks=[clock], shuffle=False, verbose=0)
            if chunk == 0:  # compilation and warm-up: reported, not counted
                first_chunk_seconds[name] = clock.seconds - before
                clock.seconds, clock.cpu_seconds = before, 0.0
    return first_chunk_seconds


def training_results(contenders, first_chunk_seconds, timed_steps, positions_per_step):
    results = {}
    for name, entry in contenders.items():
        seconds = entry["clock"].seconds
        results[name] = {
            "positions_per_second": timed_steps * positions_per_step / seconds,
            "step_seconds": seconds / timed_steps,
            "cpu_cores_used": entry["clock"].cpu_seconds / seconds,
            "first_chunk_seconds": first_chunk_seconds[name],
            "parameters": int(entry["model"].count_params()),
            "final_loss": float(entry["model"].history.history["loss"][-1]),
        }
    return results


def measure_decoding(model, tokenizer, sources, jit, repeats):
    """{"greedy" | "beam-4": figures}: `repeats` timed calls each, taking turns, after a
    first (compiling) call each."""
    def decode(beams):
        start = time.perf_counter()
        outputs = generate(model, tokenizer, sources, num_beams=beams, temperature=0.0,
                           return_details=True, jit_compile=jit)
        return time.perf_counter() - start, sum(len(o.token_ids) for o in outputs)

    results = {name: {"first_call_seconds": decode(beams)[0], "seconds": []}
               for name, beams in DECODINGS}
    for repeat in range(repeats):
        for name, beams in DECODINGS if repeat % 2 == 0 else reversed(DECODINGS):
            seconds, new_tokens = decode(beams)
            results[name]["seconds"].append(seconds)
            results[name]["mean_new_tokens"] = new_tokens / len(sources)
    for entry in results.values():
        entry["median_seconds"] = statistics.median(entry["seconds"])
        entry["sentences_per_second"] = len(sources) / entry["median_seconds"]
    return results


def print_training(args, results, timed_steps):
    positions = args.batch * args.length
    print(f"{args.layers}+{args.layers} layers, width {args.width}, {args.heads} heads, FFN "
          f"{args.ffn}, lengths {args.length}, batch {args.batch}: {positions} target positions "
          f"per step; {args.steps} steps ({timed_steps} timed), XLA {args.jit}")
    print(f"{'':10} {'positions/s':>12} {'step ms':>8} {'cores':>6} {'first chunk s':>14} "
          f"{'params':>11} {'last loss':>10}")
    for name, r in results.items():
        print(f"{name:10} {r['positions_per_second']:12.0f} {r['step_seconds'] * 1e3:8.1f} "
              f"{r['cpu_cores_used']:6.2f} {r['first_chunk_seconds']:14.1f} "
              f"{r['parameters']:11,} {r['final_loss']:10.3f}")
    print(f"cores: CPU seconds this process got per second of timed training (the machine has "
          f"{os.cpu_count()}); fewer than it has means other jobs or idle threads.")
    reference = results["keras-hub"]["positions_per_second"]
    ratios = {f"{name}/keras-hub": r["positions_per_second"] / reference
              for name, r in results.items() if name != "keras-hub"}
    for label, ratio in ratios.items():
        print(f"{label} positions/s: {ratio:.2f}x")
    met = ratios["tfllm/keras-hub"] >= TARGET_RATIO
    print(f"target tfllm/keras-hub >= {TARGET_RATIO}x: {'met' if met else 'NOT met'}")
    return ratios, met


def print_decoding(decoding, sources):
    print(f"decoding {len(sources)} validation sources with the tfllm Transformer:")
    print(f"{'':10} {'sentences/s':>12} {'median s':>9} {'first call s':>13} {'new tokens':>11}")
    for name, r in decoding.items():
        print(f"{name:10} {r['sentences_per_second']:12.1f} {r['median_seconds']:9.2f} "
              f"{r['first_call_seconds']:13.1f} {r['mean_new_tokens']:11.1f}")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per contender")
    parser.add_argument("--chunk", type=int, default=25, help="steps per alternating chunk")
    parser.add_argument("--jit", choices=("on", "off"), default="on", help="XLA for every model")
    parser.add_argument("--layers", type=int, default=2, help="encoder layers, and decoder layers")
    parser.add_argument("--width", type=int, default=256, help="model width D")
    parser.add_argument("--heads", type=int, default=4, help="attention heads N")
    parser.add_argument("--ffn", type=int, default=1024, help="feed-forward inner width")
    parser.add_argument("--batch", type=int, default=64, help="pairs per step")
    parser.add_argument("--length", type=int, default=32, help="source and target length")
    parser.add_argument("--vocabulary-size", type=int, default=4000, help="BPE pieces")
    parser.add_argument("--pairs", type=int, help="train on the first N training pairs only")
    parser.add_argument("--decode-sources", type=int, default=64, help="sources decoded")
    parser.add_argument("--decode-repeats", type=int, default=3,
                        help="timed decoding calls per decoding kind")
    parser.add_argument("--skip-gru", action="store_true", help="leave out the GRU")
    parser.add_argument("--skip-decode", action="store_true", help="leave out decoding")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.chunk < 1 or args.steps % args.chunk or args.steps < 2 * args.chunk:
        parser.error("--steps must be a multiple of --chunk and at least two chunks")
    for name in ("layers", "width", "heads", "ffn", "batch", "length", "decode_sources",
                 "decode_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.width % args.heads:
        parser.error("--width must be divisible by --heads")
    return args


def run(args):
    """Runs the whole comparison for parsed `args`, prints it and returns the results."""
    tokenizer, batches, sources = load_data(args)
    contenders = build_contenders(args, tokenizer.vocabulary_size)
    first_chunk_seconds = train_in_alternating_chunks(contenders, batches, args.chunk)
    timed_steps = args.steps - args.chunk
    training = training_results(contenders, first_chunk_seconds, timed_steps,
                                args.batch * args.length)
    ratios, met = print_training(args, training, timed_steps)
    summary = {
        "settings": {key: value for key, value in vars(args).items() if key != "json"},
        "vocabulary_size": tokenizer.vocabulary_size,
        "training": training,
        "ratios": ratios,
        "target_ratio": TARGET_RATIO,
        "target_met": met,
    }
    if not args.skip_decode:
        summary["decoding"] = measure_decoding(contenders["tfllm"]["model"], tokenizer, sources,
                                               args.jit == "on", args.decode_repeats)
        print_decoding(summary["decoding"], sources)
    if args.json:
        # Atomic: a crash never leaves half a results file.
        write_text_atomically(args.json, json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    run(parse_arguments())
