"""Encoder speed: tfllm's BERT masked LM against keras-hub's BertBackbone, in one run.

Two contenders train on the same masked-LM batches of the bundled plays: a WordPiece
vocabulary (4,000 pieces asked for) learned from the training plays, and
`tfllm.data.masked_lm_dataset` (15% of the real tokens selected, 80/10/10, seeded), built once
and held in memory, so both models see the very same token ids and the very same
`mask_positions`:

- `tfllm`: `tfllm.models.BertMaskedLM`, post-LN (`norm_first=False`) with two token types, so
  that it is the network of the next one;
- `keras-hub`: `keras_hub.models.BertBackbone` (post-LN `TransformerEncoder`s, token, position
  and segment embeddings, embedding LayerNorm) under `keras_hub.layers.MaskedLMHead` tied to
  its token embedding, as a Keras functional model: what keras-hub's own `BertMaskedLM` task
  builds, without its preprocessor. Its inputs are the same batch under keras-hub's names:
  `token_ids`, `padding_mask` (int32), `segment_ids` (zeros) and `mask_positions`.

Their weights differ by BERT's pooler alone (a tanh Dense on the [CLS] vector, D^2 + D weights,
for next-sentence prediction), which `BertBackbone` always builds and the masked-LM loss never
reaches: it is frozen here, so AdamW neither keeps slots for it nor warns about its missing
gradients. Two differences remain that no weight count shows: keras-hub's blocks use the tanh
approximation of GELU (tfllm's the exact one), and the initializers differ (keras-hub's
truncated normal, tfllm's normal with GPT-2's depth scaling), which moves the losses of a
short run a little but not the speed.

Both get no dropout, the same loss (`MaskedCrossEntropy`), the same AdamW (learning rate 1e-3)
and the same XLA setting (`--jit`, on by default). Throughput is tokens per second: batch x
sequence length per step, padding included, the same for both. They train in alternating
chunks (taking turns going first), so a slow spell of this noisy machine hits both; the first
chunk (which includes compilation) is reported separately and left out of tokens/s. "cores" is
the CPU time the process got per second of timed training: on a 2-core machine, well under 2
means another job took a share (or the threads sat idle).

After training, each model scores the same masked batches of the validation plays (one pass,
seeded masks): the masked-LM loss in nats over every prediction, printed next to the unigram
floor of those plays (`tfllm.data.unigram_floor`), the loss of a model that ignores the
context. A run of a few hundred steps measures speed, not quality.

    python benchmarks/encoder.py                                 # 4 layers, width 256, XLA on
    python benchmarks/encoder.py --steps 100 --chunk 25 --json encoder.json
    python benchmarks/encoder.py --jit off --steps 20 --chunk 5 --plays 4

keras-hub is a dev-only dependency (`pip install -e .[dev]`); tfllm itself never imports it.
Nothing is downloaded: keras-hub's model is built from its constructor, not from a preset.
Two-thread CPU timings vary up to 2x between runs: compare the ratios printed by one run.
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfllm.atomic_files import write_text_atomically  # noqa: E402
from tfllm.benchmarking import StepClock  # noqa: E402
from tfllm.data import (  # noqa: E402
    default_max_predictions,
    load_corpus,
    masked_lm_dataset,
    unigram_floor,
)
from tfllm.models import BertMaskedLM  # noqa: E402
from tfllm.objectives import MaskedCrossEntropy  # noqa: E402
from tfllm.tokenizers import build_tokenizer  # noqa: E402

LEARNING_RATE = 1e-3
# Seeds of the training batches and of the validation batches (different masks).
TRAIN_SEED, VALIDATION_SEED = 0, 1


def tfllm_masked_lm(args, vocabulary_size):
    return BertMaskedLM(
        vocabulary_size=vocabulary_size, sequence_length=args.length, num_layers=args.layers,
        num_heads=args.heads, hidden_dim=args.width, intermediate_dim=args.ffn, dropout=0.0,
        # BertBackbone's layout: post-LN blocks and a (zero-filled) segment embedding.
        num_token_types=2, norm_first=False, name="tfllm_masked_lm",
    )


def keras_hub_masked_lm(args, vocabulary_size):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size, num_layers=args.layers, num_heads=args.heads,
        hidden_dim=args.width, intermediate_dim=args.ffn, dropout=0.0,
        max_sequence_length=args.length, name="bert_backbone",
    )
    # The masked-LM loss never reaches the pooler (module docstring).
    backbone.pooled_dense.trainable = False
    head = keras_hub.layers.MaskedLMHead(
        token_embedding=backbone.token_embedding, intermediate_activation="gelu",
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="mlm_head",
    )
    inputs = {name: keras.Input((length,), dtype="int32", name=name)
              for name, length in (("token_ids", args.length), ("padding_mask", args.length),
                                   ("segment_ids", args.length),
                                   ("mask_positions", args.predictions))}
    encoded = backbone({name: inputs[name] for name in backbone.input})  # (B, T, D) and pooled
    logits = head(encoded["sequence_output"], inputs["mask_positions"])  # (B, P, V)
    return keras.Model(inputs, logits, name="keras_hub_masked_lm")


def tfllm_inputs(x):
    return {name: x[name] for name in ("token_ids", "padding_mask", "mask_positions")}


def keras_hub_inputs(x):
    return {
        "token_ids": x["token_ids"],
        "padding_mask": np.asarray(x["padding_mask"], np.int32),
        "segment_ids": np.zeros_like(x["token_ids"]),  # one segment: no sentence pairs
        "mask_positions": x["mask_positions"],
    }


# (name, builder, the batch's x under that model's input names).
CONTENDERS = (("tfllm", tfllm_masked_lm, tfllm_inputs),
              ("keras-hub", keras_hub_masked_lm, keras_hub_inputs))


def pooler_parameters(model):
    """Weights of the model that the masked-LM loss never reaches (keras-hub's pooler)."""
    for layer in model.layers:
        if hasattr(layer, "pooled_dense"):
            return int(layer.pooled_dense.count_params())
    return 0


def build_contenders(args, vocabulary_size):
    """{name: {"model", "inputs", "clock"}}: both models built on zeros and compiled alike."""
    contenders = {}
    zeros = {"token_ids": np.zeros((1, args.length), np.int32),
             "padding_mask": np.ones((1, args.length), bool),
             "mask_positions": np.zeros((1, args.predictions), np.int32)}
    for name, build, to_inputs in CONTENDERS:
        keras.utils.set_random_seed(0)
        model = build(args, vocabulary_size)
        model(to_inputs(zeros))
        model.compile(optimizer=keras.optimizers.AdamW(learning_rate=LEARNING_RATE),
                      loss=MaskedCrossEntropy(), jit_compile=args.jit == "on")
        contenders[name] = {"model": model, "inputs": to_inputs, "clock": StepClock()}
    return contenders


def count_parameters(args, vocabulary_size):
    """{name: (weights, weights the loss never reaches)} of each contender at `args`' size."""
    return {name: (int(entry["model"].count_params()), pooler_parameters(entry["model"]))
            for name, entry in build_contenders(args, vocabulary_size).items()}


def load_data(args):
    """`(tokenizer, training batches (a list of `steps` numpy batches), validation batches,
    unigram floor of the validation plays)`."""
    corpus = load_corpus("shakespeare")
    texts = [document.text for document in corpus.train[: args.plays]]
    tokenizer = build_tokenizer("wordpiece", texts, vocabulary_size=args.vocabulary_size)
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=args.length,
                                batch_size=args.batch, max_predictions=args.predictions,
                                shuffle=True, seed=TRAIN_SEED, repeat=True)
    # Held in memory, so both contenders train on the very same batches and the timing holds
    # the training steps only, not the masking pipeline.
    batches = list(dataset.take(args.steps).as_numpy_iterator())
    validation_texts = [document.text for document in corpus.validation]
    validation = masked_lm_dataset(validation_texts, tokenizer, sequence_length=args.length,
                                   batch_size=args.batch, max_predictions=args.predictions,
                                   seed=VALIDATION_SEED)
    if args.eval_batches:
        validation = validation.take(args.eval_batches)
    validation_batches = list(validation.as_numpy_iterator())
    return tokenizer, batches, validation_batches, unigram_floor(validation_texts, tokenizer)


def _stacked(batches, to_inputs):
    """The batches under one model's input names, stacked on a new first axis."""
    converted = [(to_inputs(x), labels, weights) for x, labels, weights in batches]
    return tf.data.Dataset.from_tensor_slices(
        tf.nest.map_structure(lambda *parts: np.stack(parts), *converted))


def train_in_alternating_chunks(contenders, batches, chunk_steps):
    """Trains both contenders on all `batches`; returns each one's first-chunk seconds.

    Each clock is left holding the time of every chunk but the first.
    """
    first_chunk_seconds = {}
    for chunk in range(len(batches) // chunk_steps):
        own = batches[chunk * chunk_steps:(chunk + 1) * chunk_steps]
        # Alternate who goes first, so a periodic slowdown of the machine cannot favour one.
        order = list(contenders.items())
        for name, entry in order if chunk % 2 == 0 else reversed(order):
            chunk_data = _stacked(own, entry["inputs"])
            clock = entry["clock"]
            before = clock.seconds
            entry["model"].fit(chunk_data, steps_per_epoch=chunk_steps, initial_epoch=chunk,
                               epochs=chunk + 1, callbacks=[clock], shuffle=False, verbose=0)
            if chunk == 0:  # compilation and warm-up: reported, not counted
                first_chunk_seconds[name] = clock.seconds - before
                clock.seconds, clock.cpu_seconds = before, 0.0
    return first_chunk_seconds


def validation_loss(model, to_inputs, batches):
    """Mean nats over every real prediction of `batches` (not a mean of batch means)."""
    summed = MaskedCrossEntropy(reduction="sum")
    nats = weight = 0.0
    for x, labels, weights in batches:
        logits = model.predict_on_batch(to_inputs(x))  # (B, P, V)
        nats += float(summed(labels, logits, sample_weight=weights))
        weight += float(weights.sum())
    return nats / weight


def training_results(contenders, first_chunk_seconds, timed_steps, tokens_per_step,
                     validation_batches):
    results = {}
    for name, entry in contenders.items():
        seconds, model = entry["clock"].seconds, entry["model"]
        results[name] = {
            "tokens_per_second": timed_steps * tokens_per_step / seconds,
            "step_seconds": seconds / timed_steps,
            "cpu_cores_used": entry["clock"].cpu_seconds / seconds,
            "first_chunk_seconds": first_chunk_seconds[name],
            "parameters": int(model.count_params()),
            "parameters_unused_by_the_loss": pooler_parameters(model),
            "final_training_loss": float(model.history.history["loss"][-1]),
            "validation_loss": validation_loss(model, entry["inputs"], validation_batches),
        }
    return results


def print_results(args, results, timed_steps, vocabulary_size, floor):
    print(f"{args.layers} layers, width {args.width}, {args.heads} heads, FFN {args.ffn}, "
          f"length {args.length}, batch {args.batch}: {args.batch * args.length} tokens per "
          f"step, {args.predictions} predictions per sequence; {args.steps} steps "
          f"({timed_steps} timed), XLA {args.jit}; WordPiece vocabulary of {vocabulary_size}")
    tfllm, hub = results["tfllm"], results["keras-hub"]
    pooler = hub["parameters_unused_by_the_loss"]
    print(f"weights: tfllm {tfllm['parameters']:,}, keras-hub {hub['parameters']:,} "
          f"({hub['parameters'] / tfllm['parameters'] - 1:+.1%}): keras-hub's BertBackbone "
          f"also holds BERT's pooler ({pooler:,} weights, a tanh Dense on [CLS] that the "
          f"masked-LM loss never reaches); without it, {hub['parameters'] - pooler:,}")
    print(f"{'':10} {'tokens/s':>10} {'step ms':>8} {'cores':>6} {'first chunk s':>14} "
          f"{'train loss':>11} {'val loss':>9}")
    for name, r in results.items():
        print(f"{name:10} {r['tokens_per_second']:10.0f} {r['step_seconds'] * 1e3:8.1f} "
              f"{r['cpu_cores_used']:6.2f} {r['first_chunk_seconds']:14.1f} "
              f"{r['final_training_loss']:11.3f} {r['validation_loss']:9.3f}")
    print(f"cores: CPU seconds this process got per second of timed training (the machine has "
          f"{os.cpu_count()}); fewer than it has means other jobs or idle threads.")
    ratio = tfllm["tokens_per_second"] / hub["tokens_per_second"]
    print(f"tfllm/keras-hub tokens/s: {ratio:.2f}x")
    print(f"unigram floor of the validation plays: {floor:.3f} nats (the masked-LM loss of a "
          f"model that ignores the context)")
    return ratio


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per contender")
    parser.add_argument("--chunk", type=int, default=25, help="steps per alternating chunk")
    parser.add_argument("--jit", choices=("on", "off"), default="on", help="XLA for both models")
    parser.add_argument("--layers", type=int, default=4, help="encoder layers L")
    parser.add_argument("--width", type=int, default=256, help="model width D")
    parser.add_argument("--heads", type=int, default=4, help="attention heads N")
    parser.add_argument("--ffn", type=int, default=1024, help="feed-forward inner width")
    parser.add_argument("--batch", type=int, default=32, help="sequences per step B")
    parser.add_argument("--length", type=int, default=128, help="sequence length T")
    parser.add_argument("--vocabulary-size", type=int, default=4000, help="WordPiece pieces")
    parser.add_argument("--plays", type=int, help="learn from and train on the first N "
                                                  "training plays only (default: all 32)")
    parser.add_argument("--eval-batches", type=int, help="validation batches scored after "
                                                         "training (default: the whole split)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.chunk < 1 or args.steps % args.chunk or args.steps < 2 * args.chunk:
        parser.error("--steps must be a multiple of --chunk and at least two chunks")
    for name in ("layers", "width", "heads", "ffn", "batch", "vocabulary_size", "plays",
                 "eval_batches"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.length < 3:
        parser.error("--length must be at least 3 ([CLS], one token, [SEP])")
    if args.width % args.heads:
        parser.error("--width must be divisible by --heads")
    # P: masked_lm_dataset's default, which keeps every selection; both models see it.
    args.predictions = default_max_predictions(args.length)
    return args


def run(args):
    """Runs the whole comparison for parsed `args`, prints it and returns the results."""
    tokenizer, batches, validation_batches, floor = load_data(args)
    contenders = build_contenders(args, tokenizer.vocabulary_size)
    first_chunk_seconds = train_in_alternating_chunks(contenders, batches, args.chunk)
    timed_steps = args.steps - args.chunk
    training = training_results(contenders, first_chunk_seconds, timed_steps,
                                args.batch * args.length, validation_batches)
    ratio = print_results(args, training, timed_steps, tokenizer.vocabulary_size, floor)
    summary = {
        "settings": {key: value for key, value in vars(args).items() if key != "json"},
        "vocabulary_size": tokenizer.vocabulary_size,
        "training": training,
        "ratio": ratio,
        "unigram_floor": floor,
    }
    if args.json:
        # Atomic: a crash never leaves half a results file.
        write_text_atomically(args.json, json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    run(parse_arguments())
