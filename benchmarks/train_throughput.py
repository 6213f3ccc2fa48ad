"""Training throughput, MFU and quality: tfllm's GPT against keras-hub's GPT2Backbone, in one run.

Both models get the same configuration, the same AdamW recipe at 1e-3, the same loss, the same
training windows from the bundled plays, and the same XLA, precision and accumulation settings.
Two configurations:

- "baby" (default): 4 layers, 4 heads, width 128, FFN 512, context 64, batch 12: the foundation
  issue's reference, small enough that per-op overhead, not arithmetic, sets the speed;
- "small": 6 layers, 6 heads, width 384, FFN 1536, context 256, batch 8 (nanoGPT's
  shakespeare-char shape), where the matmuls are large enough for MFU to reach at least 60% of
  the matmul peak (the target this script checks and prints).

They train in alternating chunks (and take turns going first), so a slow spell of this noisy
machine hits both; the first chunk (which includes compilation) is reported separately and left
out of tokens/s. The matmul peak (graph mode, float32 and the run's compute dtype) is measured
in the same run, before and after training (the better of the two counts), and MFU is model
FLOPs per token (`tfllm.training.benchmarking.model_flops_per_token`: 6 x matmul weights + 12 L T
D, the same count for both models, which share one architecture) x tokens/s over that peak.
"cores" is the CPU time the process got per second of timed training: on a 2-core machine,
well under 2 means another job took a share (or the threads sat idle), so the figures are low.

    python benchmarks/train_throughput.py                        # baby, 2000 steps each, XLA on
    python benchmarks/train_throughput.py --config small --steps 200 --chunk 50
    python benchmarks/train_throughput.py --jit off --precision mixed_bfloat16
    python benchmarks/train_throughput.py --grad-accum-steps 2   # 2 micro-batches of 6 per step
    python benchmarks/train_throughput.py --untied               # tfllm with a separate output head

With `--grad-accum-steps K` the batch of one optimizer step stays the configuration's; each
micro-batch is batch / K sequences and Keras's `gradient_accumulation_steps` applies the
averaged gradients every K-th micro-batch. Steps and chunks count optimizer steps.

It prints tokens/s, step time, MFU for each, their ratio, and the validation loss (nats per
character over the whole held-out split) after the same number of tokens (`--no-eval` skips
it). keras-hub is a dev-only dependency (`pip install -e .[dev]`); tfllm itself never imports it.
Two-thread CPU timings vary up to 2x between runs: compare the ratios printed by one run.
"""

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from tfllm.config import TrainConfig  # noqa: E402
from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text  # noqa: E402
from tfllm.models import GPT  # noqa: E402
from tfllm.objectives import MaskedCrossEntropy  # noqa: E402
from tfllm.tokenizers import CharTokenizer  # noqa: E402
from tfllm.training import evaluate_language_model  # noqa: E402
from tfllm.training.benchmarking import (  # noqa: E402
    BABY_BATCH_SIZE,
    BABY_MODEL,
    SMALL_BATCH_SIZE,
    SMALL_MODEL,
    build_training_optimizer,
    measure_matmul_peak,
    micro_batch_size,
    model_flops_per_token,
)
from tfllm.training.precision import PRECISIONS, dtype_policy  # noqa: E402

CONFIGURATIONS = {"baby": (BABY_MODEL, BABY_BATCH_SIZE), "small": (SMALL_MODEL, SMALL_BATCH_SIZE)}
# The target for the "small" configuration: MFU of at least 60% of the matmul peak.
SMALL_MFU_TARGET = 0.60


def tfllm_model(model_config, vocabulary_size, tie_embeddings=True):
    return GPT(
        vocabulary_size=vocabulary_size,
        sequence_length=model_config.sequence_length,
        num_layers=model_config.num_layers,
        num_heads=model_config.num_heads,
        hidden_dim=model_config.hidden_dim,
        intermediate_dim=model_config.intermediate_dim,
        dropout=0.0,
        tie_embeddings=tie_embeddings,
    )


def keras_hub_model(model_config, vocabulary_size):
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size,
        num_layers=model_config.num_layers,
        num_heads=model_config.num_heads,
        hidden_dim=model_config.hidden_dim,
        intermediate_dim=model_config.intermediate_dim,
        max_sequence_length=model_config.sequence_length,
        dropout=0.0,
    )
    logits = keras.layers.Dense(vocabulary_size, name="lm_head")(backbone.output)
    return keras.Model(backbone.input, logits, name="keras_hub_gpt2")


class StepClock(keras.callbacks.Callback):
    """Wall time and this process's CPU time (all threads) of each epoch, summed."""

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        # Keras has turned the epoch's logs into Python floats by now, which waits for the
        # device: the time covers finished steps.
        self.seconds += time.perf_counter() - self._start
        self.cpu_seconds += time.process_time() - self._cpu_start


def measure_peaks(dtypes, repeats):
    return {dtype: measure_matmul_peak(dtype, repeats=repeats) for dtype in dtypes}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=tuple(CONFIGURATIONS), default="baby")
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps per model")
    parser.add_argument("--chunk", type=int, default=250,
                        help="optimizer steps per alternating chunk")
    parser.add_argument("--batch-size", type=int,
                        help="sequences per optimizer step (default: the config's)")
    parser.add_argument("--jit", choices=("on", "off"), default="on", help="XLA for both models")
    parser.add_argument("--precision", choices=tuple(PRECISIONS), default="float32",
                        help="Keras dtype policy for both models")
    parser.add_argument("--grad-accum-steps", type=int, default=1,
                        help="micro-batches per optimizer step (Keras gradient_accumulation_steps)")
    parser.add_argument("--untied", action="store_true",
                        help="give tfllm a separate output projection, like keras-hub's Dense head")
    parser.add_argument("--no-eval", dest="evaluate", action="store_false",
                        help="skip the validation loss (saves a pass over 312k characters per model)")
    parser.add_argument("--peak-repeats", type=int, default=5, help="timed calls per matmul size")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.chunk < 1 or args.steps % args.chunk or args.steps < 2 * args.chunk:
        parser.error("--steps must be a multiple of --chunk and at least two chunks")

    model_config, default_batch = CONFIGURATIONS[args.config]
    train_config = TrainConfig(
        batch_size=args.batch_size or default_batch,
        learning_rate=1e-3,
        weight_decay=0.1,
        clipnorm=1.0,
        grad_accum_steps=args.grad_accum_steps,
        precision=args.precision,
    )
    try:
        micro_batch = micro_batch_size(train_config)
    except ValueError as error:
        parser.error(str(error))
    accumulation = args.grad_accum_steps
    sequence_length = model_config.sequence_length
    jit = args.jit == "on"
    compute_dtype = PRECISIONS[args.precision]
    peak_dtypes = sorted({"float32", compute_dtype})

    corpus = load_corpus("shakespeare")
    tokenizer = CharTokenizer.from_texts([doc.text for doc in corpus.train])
    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    validation_ids = tokenize_corpus_text(tokenizer, corpus.split_text("validation"))
    vocabulary_size = tokenizer.vocabulary_size

    peaks_before = measure_peaks(peak_dtypes, args.peak_repeats)

    contenders = {}
    builders = (
        ("tfllm", lambda v: tfllm_model(model_config, v, tie_embeddings=not args.untied)),
        ("keras-hub", lambda v: keras_hub_model(model_config, v)),
    )
    for name, build in builders:
        keras.utils.set_random_seed(0)
        with dtype_policy(args.precision):
            model = build(vocabulary_size)
            model.compile(
                optimizer=build_training_optimizer(train_config),
                loss=MaskedCrossEntropy(),
                jit_compile=jit,
            )
        contenders[name] = {"model": model, "clock": StepClock()}

    chunks = args.steps // args.chunk
    first_chunk_seconds = {}
    for chunk in range(chunks):
        # Keras's fit takes a dataset, not an iterator, and restarts it on every call: a new
        # seed per chunk gives fresh windows, the same for both contenders.
        chunk_data = lm_dataset(train_ids, sequence_length, micro_batch, windows="random", seed=chunk)
        # Alternate who goes first, so a periodic slowdown of the machine cannot favour one.
        order = list(contenders.items())
        for name, entry in order if chunk % 2 == 0 else reversed(order):
            clock = entry["clock"]
            before = clock.seconds
            entry["model"].fit(
                chunk_data,
                steps_per_epoch=args.chunk * accumulation,
                initial_epoch=chunk,
                epochs=chunk + 1,
                callbacks=[clock],
                shuffle=False,
                verbose=0,
            )
            if chunk == 0:  # compilation and warm-up: reported, not counted
                first_chunk_seconds[name] = clock.seconds - before
                clock.seconds, clock.cpu_seconds = before, 0.0

    peaks_after = measure_peaks(peak_dtypes, args.peak_repeats)
    # A second of someone else's work on a shared core halves a one-second measurement; the
    # better of the two keeps an understated peak from overstating MFU.
    peaks = {dtype: max(peaks_before[dtype].flops_per_second, peaks_after[dtype].flops_per_second)
             for dtype in peak_dtypes}

    tokens_per_step = train_config.batch_size * sequence_length
    timed_steps = (chunks - 1) * args.chunk
    flops_per_token = model_flops_per_token(model_config, vocabulary_size)
    results = {}
    for name, entry in contenders.items():
        seconds = entry["clock"].seconds
        tokens_per_second = timed_steps * tokens_per_step / seconds
        result = {
            "tokens_per_second": tokens_per_second,
            "step_seconds": seconds / timed_steps,
            "mfu": flops_per_token * tokens_per_second / peaks[compute_dtype],
            "cpu_cores_used": entry["clock"].cpu_seconds / seconds,
            "first_chunk_seconds": first_chunk_seconds[name],
            "parameters": int(entry["model"].count_params()),
        }
        if args.evaluate:
            validation = lm_dataset(validation_ids, sequence_length, 64, windows="eval")
            metrics = evaluate_language_model(entry["model"], validation)
            result["validation_loss"] = float(metrics["loss"])
        results[name] = result

    print(f"{args.config} GPT ({model_config.num_layers} layers, width {model_config.hidden_dim}, "
          f"context {sequence_length}), {args.steps} steps x {tokens_per_step} tokens = "
          f"{args.steps * tokens_per_step / 1e6:.3f}M tokens, batch {train_config.batch_size}"
          + (f" ({accumulation} x {micro_batch} accumulated)" if accumulation > 1 else "")
          + f", XLA {args.jit}, {args.precision}, "
          f"tfllm embeddings {'untied' if args.untied else 'tied'}")
    print("matmul peak (graph mode, best of before and after training): "
          + ", ".join(f"{dtype} {peaks[dtype] / 1e9:,.0f} GFLOP/s" for dtype in peak_dtypes)
          + f"; model FLOPs per token {flops_per_token / 1e6:.2f}M; "
          f"MFU against the {compute_dtype} peak")
    header = (f"{'':10} {'tokens/s':>10} {'step ms':>8} {'MFU':>6} {'cores':>6} "
              f"{'first chunk s':>14} {'params':>11}")
    print(header + (f" {'val loss':>9}" if args.evaluate else ""))
    for name, r in results.items():
        print(f"{name:10} {r['tokens_per_second']:10.0f} {r['step_seconds'] * 1e3:8.1f} "
              f"{100 * r['mfu']:5.1f}% {r['cpu_cores_used']:6.2f} "
              f"{r['first_chunk_seconds']:14.1f} {r['parameters']:11,}"
              + (f" {r['validation_loss']:9.4f}" if args.evaluate else ""))
    print(f"cores: CPU seconds this process got per second of timed training (the machine has "
          f"{os.cpu_count()}); fewer than it has means other jobs or idle threads.")
    ratio = results["tfllm"]["tokens_per_second"] / results["keras-hub"]["tokens_per_second"]
    print(f"tfllm / keras-hub tokens/s: {ratio:.2f}x")
    if args.config == "small":
        for name, r in results.items():
            verdict = "met" if r["mfu"] >= SMALL_MFU_TARGET else "NOT met"
            print(f"{name}: MFU {100 * r['mfu']:.1f}% against the "
                  f"{100 * SMALL_MFU_TARGET:.0f}% target: {verdict}")
    if args.json:
        summary = {
            "config": args.config,
            "model": dataclasses.asdict(model_config),
            "batch_size": train_config.batch_size,
            "grad_accum_steps": accumulation,
            "steps": args.steps,
            "jit_compile": jit,
            "precision": args.precision,
            "untied": args.untied,
            "matmul_peak_flops_per_second": peaks,
            "flops_per_token": flops_per_token,
            "ratio": ratio,
            **results,
        }
        temporary = f"{args.json}.tmp-{os.getpid()}"
        with open(temporary, "w") as handle:
            json.dump(summary, handle, indent=2)
        os.replace(temporary, args.json)  # a crash never leaves half a results file


if __name__ == "__main__":
    main()
