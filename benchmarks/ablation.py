"""Decoder-option ablation: validation loss and tokens/s of each GPT option, at equal tokens.

Each arm is tfllm's GPT with one change from GPT-2's layout (the shape's preset, the layout GPT
had by default before this ablation chose its defaults), trained as the speed benchmark
trains (benchmarks/train_throughput.py, whose functions this script imports): the shape's
preset without dropout, seeded weights, `MaskedCrossEntropy`, XLA (`--jit`), `fit` in chunks of
random windows of the training plays (chunk c of seed s draws seed s x 1,000,000 + c). The
first chunk (compilation, warm-up) is left out of tokens/s; then the model scores the whole
held-out split (validation loss in nats per character). Two shapes (`--shape`):

- `baby`: the `gpt-baby` preset (4 layers, width 128, context 64, tied), 2000 steps x 12 x 64 =
  1.536M tokens at a constant 1e-3: benchmarks/train_throughput.py's run, whose tfllm and
  keras-hub losses `--seeds 0` repeats;
- `make-run`: the `shakespeare-char-gpt2` preset (`make run`'s model before the options:
  context 128, untied), 2400 steps x 32 x 128 = 9.8M characters with its warmup and cosine
  decay; its windows are drawn per chunk, not in one stream, so the baseline lands near that
  preset's 1.5502, not on it.

Arms (`--arms`; the baseline always runs): `rope`, `rms_norm`, `swiglu` (`intermediate_dim` 2/3
of the GELU width, rounded to a multiple of 8, to keep the parameter count), `gqa-half` and
`gqa-quarter` (`num_key_value_heads` = num_heads / 2, / 4, where it divides), `qk_norm`,
`unscaled` (`residual_init`), `untied` (baby: make-run's preset is untied already), `muon`
(`train.optimizer`), and the reference row `keras-hub` (keras-hub's GPT2Backbone of the same
size, Dense head). `--combo a,b,c` trains options together; a person picks the best one, and
the script suggests every option that beat the baseline by more than the seed spread (the
larger max - min of the two). Rows are means over `--seeds`, with their spread.

Each finished arm and seed is a line of `--results` (default runs/ablation-SHAPE.jsonl, written
atomically); a rerun skips what is done for the same config, so an interrupted ablation resumes.

    python benchmarks/ablation.py --shape baby                     # 10 arms, one seed
    python benchmarks/ablation.py --shape baby --seeds 0,1,2 --arms rope,swiglu,muon
    python benchmarks/ablation.py --shape baby --seeds 0,1,2 --combo rope,swiglu --json a.json
    python benchmarks/ablation.py --shape make-run --seeds 1337,2024,7
    python benchmarks/ablation.py --shape make-run --steps 400     # a quick look (1.6M chars)

keras-hub is a dev-only dependency (`pip install -e .[dev]`). CPU timings vary up to 2x between
runs: compare tokens/s within one run, on a quiet machine ("cores" under its count: a busy one).
"""

import argparse
import collections
import dataclasses
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import statistics
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tfllm.atomic_files import write_text_atomically  # noqa: E402
from tfllm.config import apply_overrides  # noqa: E402
from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text  # noqa: E402
from tfllm.errors import ConfigError  # noqa: E402
from tfllm.models import check_model_config, model_arguments, model_class  # noqa: E402
from tfllm.presets import GPT2_LAYOUT, get_preset  # noqa: E402
from tfllm.tokenizers import build_tokenizer  # noqa: E402
from tfllm.training import learning_rate_schedule  # noqa: E402

# A script beside this one, not a package module: loaded from its path.
_spec = importlib.util.spec_from_file_location(
    "train_throughput", Path(__file__).resolve().with_name("train_throughput.py"))
throughput = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(throughput)


@dataclasses.dataclass(frozen=True)
class Shape:
    preset: str
    steps: int
    chunk: int  # optimizer steps per fit; the first is compilation and is not timed
    seed: int  # the default --seeds
    schedule: bool  # the preset's warmup and cosine decay; False: its peak rate, constant
    recipe: str


SHAPES = {
    "baby": Shape("gpt-baby", 2000, 250, 0, False,
                  "constant learning rate (benchmarks/train_throughput.py's recipe)"),
    "make-run": Shape("shakespeare-char-gpt2", 2400, 400, 1337, True,
                      "the preset's warmup and cosine decay (`make run`'s recipe)"),
}
BASELINE, KERAS_HUB = "baseline", "keras-hub"
WINDOW_SEEDS = 1_000_000  # chunk seeds per seed: seed s draws s x 1,000,000 + chunk
VALIDATION_BATCH = 64
# --tiny: a model that trains in a second and a slice of the held-out split, for the tests.
TINY = ("model.num_layers=1", "model.num_heads=4", "model.hidden_dim=16",
        "model.intermediate_dim=32", "model.sequence_length=16", "train.batch_size=4")
TINY_VALIDATION = 2048
WHY = {"swiglu": " (2/3 of the GELU width, rounded to a multiple of 8: about the same parameters)"}


def _swiglu(arguments):  # three (D, F) matrices instead of two: see `WHY`
    return ["model.feed_forward=swiglu",
            f"model.intermediate_dim={8 * round(arguments['intermediate_dim'] * 2 / 3 / 8)}"]


def _key_value_heads(divisor):
    def overrides(arguments):
        heads = arguments["num_heads"]
        return None if heads % divisor else [f"model.num_key_value_heads={heads // divisor}"]
    return overrides


# Each option alone: its `--set` overrides at the shape's model arguments (None: impossible).
ARMS = {
    "rope": lambda arguments: ["model.position_encoding=rope"],
    "rms_norm": lambda arguments: ["model.normalization=rms_norm"],
    "swiglu": _swiglu,
    "gqa-half": _key_value_heads(2),
    "gqa-quarter": _key_value_heads(4),
    "qk_norm": lambda arguments: ["model.qk_norm=true"],
    "unscaled": lambda arguments: ["model.residual_init=unscaled"],
    "untied": lambda arguments: ["model.tie_embeddings=false"],
    "muon": lambda arguments: ["train.optimizer=muon"],
}


def resolved_arguments(model_config):
    """Every constructor argument of the model: the config's over the class's defaults."""
    defaults = model_arguments(model_class(model_config.class_name)).items()
    return {**{name: value for name, value in defaults if value is not inspect.Parameter.empty},
            **model_config.config}


def base_config(shape, steps, jit, tiny=False):
    """The shape's preset for `steps` optimizer steps (warmup scaled alike), XLA per `jit`."""
    preset = get_preset(shape.preset)
    warmup = round(preset.train.warmup_steps * steps / shape.steps)
    overrides = [f"train.steps={steps}", f"train.eval_interval={steps}",
                 f"train.warmup_steps={warmup}", f"train.jit_compile={jit}",
                 "model.dropout=0.0", *(TINY if tiny else ())]
    config = apply_overrides(preset, overrides)
    return dataclasses.replace(config, model=check_model_config(config.model))


def arm_overrides(names, arguments):
    """The overrides of options `names` together, or None when one does not apply; a
    `ConfigError` when two of them set the same argument."""
    overrides = {}
    for name in names:
        settings = ARMS[name](arguments)
        if settings is None:
            return None
        for setting in settings:
            key = setting.split("=", 1)[0]
            if key in overrides:
                raise ConfigError(f"{' and '.join(names)} both set {key}: combine at most one "
                                  f"of them. Received: --combo {','.join(names)}")
            overrides[key] = setting
    return list(overrides.values())


def plan_arms(args, base):
    """[(arm name, its config or None for keras-hub, its overrides)], and notes on the arms
    skipped: impossible at this shape, or the same as the baseline."""
    arguments = resolved_arguments(base.model)
    plan, notes = [(BASELINE, base, [])], []
    for names in [[name] for name in args.arms] + args.combos:
        name = "+".join(names)
        if name in [arm for arm, _, _ in plan]:
            continue
        if names == [KERAS_HUB]:
            plan.append((name, None, []))
            continue
        overrides = arm_overrides(names, arguments)
        config = None if overrides is None else apply_overrides(base, overrides)
        if config is not None:
            config = dataclasses.replace(config, model=check_model_config(config.model))
        if config is None or (resolved_arguments(config.model), config.train) == (
                arguments, base.train):
            notes.append(f"{name}: " + ("the baseline has it" if config else "no such divisor"))
            continue
        plan.append((name, config, overrides))
    return plan, notes


def fingerprint(arm, seed, config, base, args):
    """What decides an arm's result: a later run with the same fingerprint reuses it."""
    if config is None:
        import keras_hub
        # keras-hub's GPT2Backbone has GPT-2's layout whatever the preset names: only the
        # size and the head identify it (as before the presets named their layout).
        model = {"keras_hub": keras_hub.__version__,
                 **{key: value for key, value in base.model.config.items()
                    if key == "tie_embeddings" or key not in GPT2_LAYOUT}}
    else:
        model = {"class_name": config.model.class_name, **resolved_arguments(config.model)}
    identity = {"arm": arm, "seed": seed, "model": model, "steps": args.steps,
                "chunk": args.chunk, "schedule": args.shape.schedule, "tiny": args.tiny,
                "train": dataclasses.asdict((config or base).train),
                "data": dataclasses.asdict(base.data)}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


# The training ids, eval windows over the held-out split, and V.
Data = collections.namedtuple("Data", "train_ids validation vocabulary_size")


def load_data(base, tiny):
    corpus = load_corpus(base.data.corpus, encoding_errors=base.data.encoding_errors)
    tokenizer = build_tokenizer(base.data.tokenizer, [doc.text for doc in corpus.train])
    train_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
    validation_ids = tokenize_corpus_text(tokenizer, corpus.split_text("validation"))
    validation_ids = validation_ids[:TINY_VALIDATION if tiny else None]
    validation = lm_dataset(validation_ids, base.model.config["sequence_length"],
                            VALIDATION_BATCH, windows="eval")
    return Data(train_ids, validation, tokenizer.vocabulary_size)


def train_arm(config, base, seed, data, args):
    """One arm from one seed: throughput's figures (tokens/s, validation loss, ...)."""
    if config is None:
        config, build = base, functools.partial(throughput.keras_hub_model, base.model)
    else:
        build = functools.partial(throughput.tfllm_model, config.model, tie_embeddings=(
            resolved_arguments(config.model)["tie_embeddings"]))
    train = config.train
    entry = throughput.build_contender(
        build, data.vocabulary_size, train, seed=seed,
        learning_rate=learning_rate_schedule(train) if args.shape.schedule else None)
    first = throughput.train_in_alternating_chunks(
        {"arm": entry}, data.train_ids, config, args.steps, args.chunk,
        window_seed=seed * WINDOW_SEEDS)
    tokens_per_step = train.batch_size * config.model.config["sequence_length"]
    return throughput.contender_figures(entry, first["arm"], args.steps - args.chunk,
                                        tokens_per_step, data.validation)


def read_records(path):
    """{fingerprint: record} of the results file (empty when there is none)."""
    lines = Path(path).read_text().splitlines() if Path(path).exists() else []
    return {record["fingerprint"]: record for record in map(json.loads, filter(None, lines))}


def append_record(path, record):
    # The whole file is rewritten through a sibling: an interruption never leaves half a line.
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text() if path.exists() else ""
    return write_text_atomically(path, before + json.dumps(record, sort_keys=True) + "\n")


def summarize(plan, seeds, records):
    """One row per arm: means over its seeds, spread, deltas and ratios against the baseline."""
    rows = []
    for arm, _, overrides in plan:
        done = [records[(arm, seed)] for seed in seeds if (arm, seed) in records]
        losses = [record["validation_loss"] for record in done]
        rows.append({
            "arm": arm, "overrides": overrides, "seeds": len(done),
            "validation_loss": statistics.fmean(losses), "spread": max(losses) - min(losses),
            "std": statistics.stdev(losses) if len(losses) > 1 else 0.0,
            "tokens_per_second": statistics.fmean(r["tokens_per_second"] for r in done),
            "cpu_cores_used": statistics.fmean(r["cpu_cores_used"] for r in done),
            "parameters": done[0]["parameters"],
        })
    for row in rows:
        row["delta"] = row["validation_loss"] - rows[0]["validation_loss"]
        row["speed_ratio"] = row["tokens_per_second"] / rows[0]["tokens_per_second"]
    return rows


def suggest(rows):
    """The single options that beat the baseline by more than the larger seed spread of the
    two, best first, leaving out any that sets an argument a better one already sets."""
    baseline = rows[0]
    winners = sorted((row for row in rows if row["arm"] in ARMS
                      and -row["delta"] > max(row["spread"], baseline["spread"])),
                     key=lambda row: row["delta"])
    chosen, keys = [], set()
    for row in winners:
        row_keys = {setting.split("=", 1)[0] for setting in row["overrides"]}
        if not row_keys & keys:
            chosen.append(row["arm"])
            keys |= row_keys
    return chosen


def markdown_table(rows):
    lines = ["| arm | seeds | val loss | spread | vs baseline | tokens/s | x baseline | "
             "params | cores |", "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for row in rows:
        lines.append(
            f"| {row['arm']} | {row['seeds']} | {row['validation_loss']:.4f} | "
            f"{row['spread']:.4f} | {row['delta']:+.4f} | {row['tokens_per_second']:,.0f} | "
            f"{row['speed_ratio']:.2f} | {row['parameters']:,} | {row['cpu_cores_used']:.2f} |")
    return "\n".join(lines)


def report(args, rows, trained):
    base = args.base
    print(f"\n{len(trained)} arm-seed run(s) trained now, the others read back from {args.results}")
    print(f"{args.shape_name} ({base.name}): {args.steps} steps x {base.train.batch_size} x "
          f"{base.model.config['sequence_length']} = {args.tokens:,} tokens, "
          f"{args.shape.recipe}, XLA {args.jit}, seeds {', '.join(map(str, args.seeds))}; "
          f"tokens/s over the last {args.steps - args.chunk} steps; validation loss in nats "
          f"per character over the whole held-out split"
          + (" (--tiny: its first characters)" if args.tiny else ""))
    print(markdown_table(rows))
    for arm, _, overrides in args.plan[1:]:
        print(f"- {arm}: " + (", ".join(overrides) if overrides else
                              "keras_hub.models.GPT2Backbone + Dense head, same size")
              + "".join(WHY.get(name, "") for name in arm.split("+")))
    for note in args.notes:
        print(f"- skipped {note}")
    chosen = suggest(rows)
    spread = ("the larger max - min of the two" if len(args.seeds) > 1
              else "one seed: no spread measured, pass several --seeds")
    print(f"Suggested combination ({spread}): "
          + (f"--combo {','.join(chosen)}" if chosen else "none beat the baseline"))
    return chosen


def _default_chunk(steps, shape_chunk):
    """The shape's chunk, or the largest divisor of `steps` under it that leaves two chunks."""
    return max((d for d in range(1, min(shape_chunk, steps // 2) + 1) if steps % d == 0),
               default=max(steps, 1))


def _names(text, valid, parser, flag):
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        parser.error(f"{flag} takes names from {', '.join(valid)}. Received: {flag} {text}")
    return names


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=tuple(SHAPES), default="baby")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the shape's)")
    parser.add_argument("--chunk", type=int, help="steps per fit; the first is not timed")
    parser.add_argument("--arms", help="comma-separated arms (default: all); baseline always runs")
    parser.add_argument("--combo", action="append", default=[], dest="combo_texts",
                        help="comma-separated options trained together (repeatable)")
    parser.add_argument("--seeds", help="comma-separated seeds (default: 0 baby, 1337 make-run)")
    parser.add_argument("--jit", choices=("on", "off"), default="on", help="XLA for every arm")
    parser.add_argument("--results", help="JSON lines of finished arms (runs/ablation-SHAPE.jsonl)")
    parser.add_argument("--json", help="also write the summary to this file")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.shape_name, args.shape = args.shape, SHAPES[args.shape]
    args.steps = args.shape.steps if args.steps is None else args.steps
    args.chunk = args.chunk or _default_chunk(args.steps, args.shape.chunk)
    if args.chunk < 1 or args.steps % args.chunk or args.steps < 2 * args.chunk:
        parser.error("--steps must be a multiple of --chunk and at least two chunks. Received: "
                     f"--steps {args.steps} --chunk {args.chunk}")
    every = (*ARMS, KERAS_HUB)
    args.arms = _names(args.arms, (BASELINE, *every), parser, "--arms") if args.arms else every
    args.combos = [_names(text, tuple(ARMS), parser, "--combo") for text in args.combo_texts]
    try:
        args.seeds = [int(seed) for seed in (args.seeds or str(args.shape.seed)).split(",")]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers. Received: --seeds {args.seeds}")
    args.results = args.results or f"runs/ablation-{args.shape_name}.jsonl"
    try:
        args.base = base_config(args.shape, args.steps, "true" if args.jit == "on" else "false",
                                args.tiny)
        args.plan, args.notes = plan_arms(args, args.base)
    except ConfigError as error:
        parser.error(str(error))
    args.tokens = args.steps * args.base.train.batch_size * args.base.model.config[
        "sequence_length"]
    return args


def run(args):
    """Trains every arm and seed not in the results file yet; prints and returns the summary."""
    stored, records, trained, data = read_records(args.results), {}, [], None
    for seed in args.seeds:
        for arm, config, overrides in args.plan:
            key = fingerprint(arm, seed, config, args.base, args)
            if key not in stored:
                data = data or load_data(args.base, args.tiny)
                figures = train_arm(config, args.base, seed, data, args)
                stored[key] = {"fingerprint": key, "arm": arm, "seed": seed, "steps": args.steps,
                               "shape": args.shape_name, "overrides": overrides, **figures}
                append_record(args.results, stored[key])
                trained.append((arm, seed))
                print(f"{arm} seed {seed}: validation loss {figures['validation_loss']:.4f}, "
                      f"{figures['tokens_per_second']:,.0f} tokens/s "
                      f"(first chunk {figures['first_chunk_seconds']:.1f} s)", flush=True)
            records[(arm, seed)] = stored[key]
    rows = summarize(args.plan, args.seeds, records)
    chosen = report(args, rows, trained)
    summary = {"shape": args.shape_name, "preset": args.base.name, "steps": args.steps,
               "tokens": args.tokens, "seeds": args.seeds, "rows": rows,
               "suggested_combo": chosen, "trained": trained, "skipped": args.notes,
               "records": list(records.values())}
    if args.json:
        write_text_atomically(args.json, json.dumps(summary, indent=2))
    return summary


def main(argv=None):
    return run(parse_arguments(argv))


if __name__ == "__main__":
    main()
