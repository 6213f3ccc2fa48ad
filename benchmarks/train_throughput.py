"""Training throughput and quality: tfllm's GPT against keras-hub's GPT2Backbone, in one run.

Both models get the "baby" configuration (4 layers, 4 heads, width 128, FFN 512, context 64,
batch 12, character vocabulary), the same AdamW recipe at 1e-3, the same loss, the same
training windows from the bundled plays and the same XLA setting. They train in alternating
chunks (and take turns going first), so a slow spell of this noisy machine hits both; the
first chunk (which includes compilation) is reported separately and left out of tokens/s.

    python benchmarks/train_throughput.py                 # 2000 steps each (1.536M tokens)
    python benchmarks/train_throughput.py --untied        # tfllm with a separate output head
    python benchmarks/train_throughput.py --steps 500 --no-jit

It prints tokens/s for each, their ratio, and the validation loss (nats per character over the
whole held-out split) after the same number of tokens. keras-hub is a dev-only dependency
(`pip install -e .[dev]`); tfllm itself never imports it.
"""

import argparse
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text  # noqa: E402
from tfllm.models import GPT  # noqa: E402
from tfllm.objectives import MaskedCrossEntropy  # noqa: E402
from tfllm.tokenizers import CharTokenizer  # noqa: E402
from tfllm.training import build_optimizer, evaluate_language_model  # noqa: E402

BABY = dict(num_layers=4, num_heads=4, hidden_dim=128, intermediate_dim=512, sequence_length=64)
BATCH_SIZE = 12


def tfllm_model(vocabulary_size, tie_embeddings=True):
    return GPT(vocabulary_size=vocabulary_size, dropout=0.0, tie_embeddings=tie_embeddings, **BABY)


def keras_hub_model(vocabulary_size):
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size,
        num_layers=BABY["num_layers"],
        num_heads=BABY["num_heads"],
        hidden_dim=BABY["hidden_dim"],
        intermediate_dim=BABY["intermediate_dim"],
        max_sequence_length=BABY["sequence_length"],
        dropout=0.0,
    )
    logits = keras.layers.Dense(vocabulary_size, name="lm_head")(backbone.output)
    return keras.Model(backbone.input, logits, name="keras_hub_gpt2")


class StepClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = 0.0

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds += time.perf_counter() - self._start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=250, help="steps per alternating chunk")
    parser.add_argument("--no-jit", action="store_true", help="train without XLA")
    parser.add_argument("--untied", action="store_true",
                        help="give tfllm a separate output projection, like keras-hub's Dense head")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.steps % args.chunk or args.steps < 2 * args.chunk:
        parser.error("--steps must be a multiple of --chunk and at least two chunks")

    corpus = load_corpus("shakespeare")
    tokenizer = CharTokenizer.from_texts([doc.text for doc in corpus.train])
    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    validation_ids = tokenize_corpus_text(tokenizer, corpus.split_text("validation"))
    vocabulary_size = tokenizer.vocabulary_size
    jit = not args.no_jit

    contenders = {}
    builders = (
        ("tfllm", lambda v: tfllm_model(v, tie_embeddings=not args.untied)),
        ("keras-hub", keras_hub_model),
    )
    for name, build in builders:
        keras.utils.set_random_seed(0)
        model = build(vocabulary_size)
        model.compile(
            optimizer=build_optimizer(1e-3, weight_decay=0.1, clipnorm=1.0),
            loss=MaskedCrossEntropy(),
            jit_compile=jit,
        )
        contenders[name] = {"model": model, "clock": StepClock()}

    chunks = args.steps // args.chunk
    first_chunk_seconds = {}
    for chunk in range(chunks):
        # Keras's fit takes a dataset, not an iterator, and restarts it on every call: a new
        # seed per chunk gives fresh windows, the same for both contenders.
        chunk_data = lm_dataset(
            train_ids, BABY["sequence_length"], BATCH_SIZE, windows="random", seed=chunk
        )
        # Alternate who goes first, so a periodic slowdown of the machine cannot favour one.
        order = list(contenders.items())
        for name, entry in order if chunk % 2 == 0 else reversed(order):
            clock = entry["clock"]
            before = clock.seconds
            entry["model"].fit(
                chunk_data,
                steps_per_epoch=args.chunk,
                initial_epoch=chunk,
                epochs=chunk + 1,
                callbacks=[clock],
                shuffle=False,
                verbose=0,
            )
            if chunk == 0:  # compilation and warm-up: reported, not counted
                first_chunk_seconds[name] = clock.seconds - before
                clock.seconds = before

    tokens_per_step = BATCH_SIZE * BABY["sequence_length"]
    timed_tokens = (chunks - 1) * args.chunk * tokens_per_step
    results = {}
    for name, entry in contenders.items():
        validation = lm_dataset(validation_ids, BABY["sequence_length"], 64, windows="eval")
        metrics = evaluate_language_model(entry["model"], validation)
        results[name] = {
            "tokens_per_second": timed_tokens / entry["clock"].seconds,
            "first_chunk_seconds": first_chunk_seconds[name],
            "validation_loss": float(metrics["loss"]),
            "parameters": int(entry["model"].count_params()),
        }

    print(f"baby GPT, {args.steps} steps x {tokens_per_step} tokens = "
          f"{args.steps * tokens_per_step / 1e6:.3f}M tokens, XLA {'on' if jit else 'off'}, "
          f"tfllm embeddings {'untied' if args.untied else 'tied'}, "
          f"{len(validation_ids):,} validation characters")
    print(f"{'':10} {'tokens/s':>10} {'first chunk s':>14} {'val loss':>9} {'params':>9}")
    for name, r in results.items():
        print(f"{name:10} {r['tokens_per_second']:10.0f} {r['first_chunk_seconds']:14.1f} "
              f"{r['validation_loss']:9.4f} {r['parameters']:9,}")
    ratio = results["tfllm"]["tokens_per_second"] / results["keras-hub"]["tokens_per_second"]
    print(f"tfllm / keras-hub tokens/s: {ratio:.2f}x")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"steps": args.steps, "jit_compile": jit, "untied": args.untied, "ratio": ratio, **results}, handle, indent=2)


if __name__ == "__main__":
    main()
