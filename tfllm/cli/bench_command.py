"""`tfllm bench`: training tokens/s, step time, MFU and peak memory for a preset and the baby GPT.

    tfllm bench --preset shakespeare-char
    tfllm bench --preset shakespeare-char --precision mixed_bfloat16 --jit off --steps 50
    tfllm bench --preset gpt-small --no-baby
    tfllm bench --preset smoke --data synthetic --no-baby --json

The command measures this machine's matmul peak itself (float32 and bfloat16), then trains the
preset's model (and the `gpt-baby` preset's GPT, the reference of the keras-hub comparison, with
the same vocabulary and options) for a few steps. Everything it does is
`tfllm.benchmarking.run_benchmark`.
"""

import argparse
import json

from tfllm.cli.argument_types import positive_int
from tfllm.cli.tensorflow_startup import import_tensorflow

JIT_CHOICES = {"on": "true", "off": "false", "auto": "auto"}
PRECISION_CHOICES = ("float32", "mixed_bfloat16", "mixed_float16")


def register(commands):
    bench = commands.add_parser(
        "bench", help="measure training tokens/s, step time, MFU and peak memory"
    )
    bench.add_argument("--preset", default="shakespeare-char", help="preset name (see `tfllm presets`)")
    bench.add_argument("--steps", type=positive_int, default=20,
                       help="timed optimizer steps per model (default 20)")
    bench.add_argument("--warmup-steps", type=positive_int, default=3,
                       help="steps run before timing: tracing, XLA compilation (default 3)")
    bench.add_argument("--precision", choices=PRECISION_CHOICES,
                       help="Keras dtype policy (default: the preset's train.precision)")
    bench.add_argument("--jit", choices=tuple(JIT_CHOICES),
                       help="XLA: on, off, or auto (the model class's choice; "
                            "default: the preset's)")
    bench.add_argument("--grad-accum-steps", type=positive_int,
                       help="micro-batches per optimizer step (default: the preset's)")
    bench.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.batch_size=16 (repeatable)")
    bench.add_argument("--data", choices=("corpus", "synthetic"), default="corpus",
                       help="windows of the preset's corpus (default) or random ids (nothing to load)")
    bench.add_argument("--vocabulary-size", type=positive_int, default=256,
                       help="V for --data synthetic (default 256)")
    bench.add_argument("--no-baby", dest="baby", action="store_false",
                       help="skip the baby GPT (the gpt-baby preset: 4 layers, width 128, "
                            "context 64, batch 12)")
    bench.add_argument("--matmul-sizes", type=_sizes, default=None, metavar="N,N,...",
                       help="square sizes for the matmul peak (default 512,1024,2048; "
                            "2048,4096,8192 on a GPU)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=_bench)


def _sizes(text):
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 512,1024, received {text!r}"
        )
    return sizes


def _bench(args):
    from tfllm.config import apply_overrides
    from tfllm.presets import get_preset

    config = get_preset(args.preset)
    overrides = list(args.overrides)
    if args.precision:
        overrides.append(f"train.precision={args.precision}")
    if args.jit:
        overrides.append(f"train.jit_compile={JIT_CHOICES[args.jit]}")
    if args.grad_accum_steps:
        overrides.append(f"train.grad_accum_steps={args.grad_accum_steps}")
    config = apply_overrides(config, overrides)

    import_tensorflow()
    from tfllm.benchmarking import run_benchmark

    report = run_benchmark(
        config,
        steps=args.steps,
        warmup_steps=args.warmup_steps,
        data=args.data,
        include_baby=args.baby,
        vocabulary_size=args.vocabulary_size,
        matmul_sizes=args.matmul_sizes,
    )
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        print(format_report(report))
    return 0


def format_report(report):
    """The report of `run_benchmark` as a few lines of text."""
    peaks = ", ".join(
        f"{dtype} {peak['flops_per_second'] / 1e9:,.0f} GFLOP/s (n={peak['size']})"
        for dtype, peak in report["matmul_peak"].items()
    )
    lines = [
        f"matmul peak (graph mode, best before and after training): {peaks}",
        f"data: {report['data']}, vocabulary {report['vocabulary_size']}",
    ]
    for r in report["results"]:
        memory = f"host peak RSS {r['host_peak_rss_bytes'] / 2**20:,.0f} MiB"
        for device, peak in r["device_peak_bytes"].items():
            memory += f", {device} peak {peak / 2**20:,.0f} MiB"
        lines += [
            "",
            f"{r['label']}: {r['model_class']}, {r['parameters']:,} parameters, "
            f"batch {r['batch_size']} x {r['sequence_length']}"
            + (f" ({r['grad_accum_steps']} x {r['micro_batch_size']} accumulated)"
               if r["grad_accum_steps"] > 1 else "")
            + f", {r['precision']}, XLA {'on' if r['jit_compile'] else 'off'}",
            f"  tokens/s        {r['tokens_per_second']:,.0f}",
            f"  step time       {r['step_seconds'] * 1e3:,.1f} ms "
            f"({r['steps']} timed steps; warm-up and compilation {r['warmup_seconds']:.1f} s)",
            f"  MFU             {100 * r['mfu']:.1f}% "
            f"({r['achieved_flops_per_second'] / 1e9:,.1f} GFLOP/s of the {r['peak_dtype']} peak "
            f"{r['peak_flops_per_second'] / 1e9:,.0f}; {r['flops_per_token'] / 1e6:,.2f} MFLOP/token)",
            f"  peak memory     {memory}",
            f"  CPU cores used  {r['cpu_cores_used']:.2f} of {report['cpu_count']} "
            "(fewer: other jobs slowed this run)",
        ]
    return "\n".join(lines)
