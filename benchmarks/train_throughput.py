"""Training throughput, MFU and quality: tfllm's GPT against keras-hub's GPT2Backbone, in one run.

Both models get the same configuration, the same AdamW recipe (the preset's: 1e-3), the same
loss, the same training windows from the bundled plays, and the same XLA, precision and
accumulation settings. Two presets (`--config baby|small` is short for them):

- `gpt-baby` (default): 4 layers, 4 heads, width 128, FFN 512, context 64, batch 12: the
  reference point, small enough that per-op overhead, not arithmetic, sets the speed;
- `gpt-small`: 6 layers, 6 heads, width 384, FFN 1536, context 256, batch 8 (nanoGPT's
  shakespeare-char shape), where the matmuls are large enough for MFU to reach at least 60% of
  the matmul peak (the target this script checks and prints).

They train in alternating chunks (and take turns going first), so a slow spell of this noisy
machine hits both; the first chunk (which includes compilation) is reported separately and left
out of tokens/s. The matmul peak (graph mode, float32 and the run's compute dtype) is measured
in the same run, before and after training (the better of the two counts), and MFU is model
FLOPs per token (tfllm's `GPT.training_flops_per_token()`: 6 x matmul weights + 12 L T D, the
same count for both models, which share one architecture) x tokens/s over that peak.
"cores" is the CPU time the process got per second of timed training: on a 2-core machine,
well under 2 means another job took a share (or the threads sat idle), so the figures are low.

    python benchmarks/train_throughput.py                        # gpt-baby, 2000 steps, XLA on
    python benchmarks/train_throughput.py --preset gpt-small --steps 200 --chunk 50
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

from tfllm.atomic_files import write_text_atomically  # noqa: E402
from tfllm.benchmarking import (  # noqa: E402
    StepClock,
    build_training_optimizer,
    measure_matmul_peak,
    micro_batch_size,
)
from tfllm.config import ModelConfig  # noqa: E402
from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text  # noqa: E402
from tfllm.models import build_model  # noqa: E402
from tfllm.objectives import MaskedCrossEntropy  # noqa: E402
from tfllm.presets import get_preset  # noqa: E402
from tfllm.tasks import get_task  # noqa: E402
from tfllm.tokenizers import build_tokenizer  # noqa: E402
from tfllm.training import evaluate_model  # noqa: E402
from tfllm.training.precision import PRECISIONS, dtype_policy  # noqa: E402

# The presets this script compares on; `--config NAME` is short for `--preset gpt-NAME`.
PRESETS = ("gpt-baby", "gpt-small")
# The target for gpt-small: MFU of at least 60% of the matmul peak.
SMALL_PRESET, SMALL_MFU_TARGET = "gpt-small", 0.60


def tfllm_model(model_config, vocabulary_size, tie_embeddings=True):
    arguments = {**model_config.config, "dropout": 0.0, "tie_embeddings": tie_embeddings}
    return build_model(ModelConfig(model_config.class_name, arguments), vocabulary_size)


def keras_hub_model(model_config, vocabulary_size):
    import keras_hub

    arguments = model_config.config
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size,
        num_layers=arguments["num_layers"],
        num_heads=arguments["num_heads"],
        hidden_dim=arguments["hidden_dim"],
        intermediate_dim=arguments["intermediate_dim"],
        max_sequence_length=arguments["sequence_length"],
        dropout=0.0,
    )
    logits = keras.layers.Dense(vocabulary_size, name="lm_head")(backbone.output)
    return keras.Model(backbone.input, logits, name="keras_hub_gpt2")


def measure_peaks(dtypes, repeats):
    return {dtype: measure_matmul_peak(dtype, repeats=repeats) for dtype in dtypes}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--preset", choices=PRESETS, default=PRESETS[0],
                        help="the model shape and batch to compare on (default gpt-baby)")
    choice.add_argument("--config", choices=("baby", "small"),
                        help="short for --preset gpt-baby / gpt-small")
    parser.add_argument("--steps", type=int, default=2000, help="optimizer steps per model")
    parser.add_argument("--chunk", type=int, default=250,
                        help="optimizer steps per alternating chunk")
    parser.add_argument("--batch-size", type=int,
                        help="sequences per optimizer step (default: the preset's)")
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
    if args.config:
        args.preset = f"gpt-{args.config}"
    if args.chunk < 1 or args.steps % args.chunk or args.steps < 2 * args.chunk:
        parser.error("--steps must be a multiple of --chunk and at least two chunks")
    config = get_preset(args.preset)
    overrides = dict(grad_accum_steps=args.grad_accum_steps, precision=args.precision)
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    try:  # TrainConfig checks every value, and that the accumulation steps divide the batch
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, **overrides))
    except ValueError as error:
        parser.error(str(error))
    return args, config


def build_contenders(config, vocabulary_size, untied):
    """{name: {"model", "clock"}}: tfllm's GPT and keras-hub's, compiled alike."""
    builders = (
        ("tfllm", lambda v: tfllm_model(config.model, v, tie_embeddings=not untied)),
        ("keras-hub", lambda v: keras_hub_model(config.model, v)),
    )
    return {name: build_contender(build, vocabulary_size, config.train) for name, build in builders}


def build_contender(build, vocabulary_size, train_config, *, seed=0, learning_rate=None):
    """{"model", "clock"}: the model `build(V)` makes from seed `seed`, compiled with this
    benchmark's recipe: the config's optimizer at `learning_rate` (default: the config's rate,
    constant), `MaskedCrossEntropy`, XLA as `train.jit_compile` says."""
    keras.utils.set_random_seed(seed)
    with dtype_policy(train_config.precision):
        model = build(vocabulary_size)
        model.compile(
            optimizer=build_training_optimizer(train_config, learning_rate),
            loss=MaskedCrossEntropy(),
            jit_compile=train_config.jit_compile == "true",
        )
    return {"model": model, "clock": StepClock()}


def train_in_alternating_chunks(contenders, train_ids, config, steps, chunk_steps, *,
                                window_seed=0):
    """Trains every contender `steps` optimizer steps; returns each one's first-chunk seconds.

    Chunk c draws its windows with seed `window_seed + c`. Each clock is left holding the time
    of every chunk but the first.
    """
    sequence_length = config.model.config["sequence_length"]
    micro_batch = micro_batch_size(config.train)
    first_chunk_seconds = {}
    for chunk in range(steps // chunk_steps):
        # Keras's fit takes a dataset, not an iterator, and restarts it on every call: a new
        # seed per chunk gives fresh windows, the same for both contenders.
        chunk_data = lm_dataset(train_ids, sequence_length, micro_batch, windows="random",
                                seed=window_seed + chunk)
        # Alternate who goes first, so a periodic slowdown of the machine cannot favour one.
        order = list(contenders.items())
        for name, entry in order if chunk % 2 == 0 else reversed(order):
            clock = entry["clock"]
            before = clock.seconds
            entry["model"].fit(
                chunk_data,
                steps_per_epoch=chunk_steps * config.train.grad_accum_steps,
                initial_epoch=chunk,
                epochs=chunk + 1,
                callbacks=[clock],
                shuffle=False,
                verbose=0,
            )
            if chunk == 0:  # compilation and warm-up: reported, not counted
                first_chunk_seconds[name] = clock.seconds - before
                clock.seconds, clock.cpu_seconds = before, 0.0
    return first_chunk_seconds


def contender_figures(entry, first_chunk_seconds, timed_steps, tokens_per_step, validation):
    """One contender's speed from its clock (the timed chunks) and its validation loss (nats
    per token over the whole split), unless `validation` (eval windows) is None."""
    seconds = entry["clock"].seconds
    figures = {
        "tokens_per_second": timed_steps * tokens_per_step / seconds,
        "step_seconds": seconds / timed_steps,
        "cpu_cores_used": entry["clock"].cpu_seconds / seconds,
        "first_chunk_seconds": first_chunk_seconds,
        "parameters": int(entry["model"].count_params()),
    }
    if validation is not None:
        metrics = evaluate_model(entry["model"], validation, get_task("causal_lm"))
        figures["validation_loss"] = float(metrics["loss"])
    return figures


def measure_results(contenders, first_chunk_seconds, timed_steps, tokens_per_step,
                    flops_per_token, peak, validation):
    """{name: figures} for each contender; `validation` (eval windows) None skips the loss."""
    results = {}
    for name, entry in contenders.items():
        figures = contender_figures(entry, first_chunk_seconds[name], timed_steps,
                                    tokens_per_step, validation)
        result = {key: figures[key] for key in ("tokens_per_second", "step_seconds")}
        result["mfu"] = flops_per_token * figures["tokens_per_second"] / peak
        result.update(figures)  # the rest after MFU, where the JSON summary has them
        results[name] = result
    return results


def print_results(args, config, results, peaks, flops_per_token):
    train, arguments = config.train, config.model.config
    tokens_per_step = train.batch_size * arguments["sequence_length"]
    compute_dtype = PRECISIONS[train.precision]
    print(f"{args.preset} ({arguments['num_layers']} layers, width {arguments['hidden_dim']}, "
          f"context {arguments['sequence_length']}), {args.steps} steps x {tokens_per_step} "
          f"tokens = {args.steps * tokens_per_step / 1e6:.3f}M tokens, batch {train.batch_size}"
          + (f" ({train.grad_accum_steps} x {micro_batch_size(train)} accumulated)"
             if train.grad_accum_steps > 1 else "")
          + f", XLA {args.jit}, {train.precision}, "
          f"tfllm embeddings {'untied' if args.untied else 'tied'}")
    print("matmul peak (graph mode, best of before and after training): "
          + ", ".join(f"{dtype} {rate / 1e9:,.0f} GFLOP/s" for dtype, rate in peaks.items())
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
    if args.preset == SMALL_PRESET:
        for name, r in results.items():
            verdict = "met" if r["mfu"] >= SMALL_MFU_TARGET else "NOT met"
            print(f"{name}: MFU {100 * r['mfu']:.1f}% against the "
                  f"{100 * SMALL_MFU_TARGET:.0f}% target: {verdict}")
    return ratio


def main():
    args, config = parse_arguments()
    config = dataclasses.replace(config, train=dataclasses.replace(
        config.train, jit_compile="true" if args.jit == "on" else "false"))
    compute_dtype = PRECISIONS[config.train.precision]
    peak_dtypes = sorted({"float32", compute_dtype})

    corpus = load_corpus(config.data.corpus)
    tokenizer = build_tokenizer(config.data.tokenizer, [doc.text for doc in corpus.train])
    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    vocabulary_size = tokenizer.vocabulary_size

    peaks_before = measure_peaks(peak_dtypes, args.peak_repeats)
    contenders = build_contenders(config, vocabulary_size, args.untied)
    first_chunk_seconds = train_in_alternating_chunks(
        contenders, train_ids, config, args.steps, args.chunk
    )
    peaks_after = measure_peaks(peak_dtypes, args.peak_repeats)
    # A second of someone else's work on a shared core halves a one-second measurement; the
    # better of the two keeps an understated peak from overstating MFU.
    peaks = {dtype: max(peaks_before[dtype].flops_per_second, peaks_after[dtype].flops_per_second)
             for dtype in peak_dtypes}

    sequence_length = config.model.config["sequence_length"]
    validation = None
    if args.evaluate:
        validation_ids = tokenize_corpus_text(tokenizer, corpus.split_text("validation"))
        validation = lm_dataset(validation_ids, sequence_length, 64, windows="eval")
    # The same count for both: they share one architecture (keras-hub's has no such method).
    flops_per_token = contenders["tfllm"]["model"].training_flops_per_token()
    results = measure_results(
        contenders, first_chunk_seconds, (args.steps // args.chunk - 1) * args.chunk,
        config.train.batch_size * sequence_length, flops_per_token, peaks[compute_dtype],
        validation,
    )
    ratio = print_results(args, config, results, peaks, flops_per_token)
    if args.json:
        summary = {
            "preset": args.preset,
            "model": dataclasses.asdict(config.model),
            "batch_size": config.train.batch_size,
            "grad_accum_steps": config.train.grad_accum_steps,
            "steps": args.steps,
            "jit_compile": args.jit == "on",
            "precision": config.train.precision,
            "untied": args.untied,
            "matmul_peak_flops_per_second": peaks,
            "flops_per_token": flops_per_token,
            "ratio": ratio,
            **results,
        }
        # Atomic: a crash never leaves half a results file.
        write_text_atomically(args.json, json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
