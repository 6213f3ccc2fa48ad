"""Tokenizers compared by what they buy a model: validation bits per character of the same GPT
trained with each tokenizer for the same wall-clock time.

For each tokenizer kind (and, for the subword kinds, each of `--vocab-sizes`):

1. learn the tokenizer on the training plays (32 plays, 4.3 MB; its learning time is printed but
   is not part of the budget);
2. build the preset's GPT (default `shakespeare-char-gpt2`, the layout docs/tokenizers.md's
   figures were measured with: 4 layers, 4 heads, width 128, FFN 512, context 128 *tokens*,
   untied output projection) for that vocabulary, compile it with the
   preset's AdamW recipe (peak 3e-3, floor 1e-4, weight decay 0.1 on matrices only, betas
   0.9/0.99, global-norm clipping at 1) and XLA, and train it on seeded random windows of 32 x 128
   tokens until `--seconds` of wall-clock time are up (`WallClockBudget` stops `fit`);
3. score every token of the validation plays (The Tempest, Julius Caesar, Macbeth) exactly once
   with `evaluate_model`, and turn the loss per token into bits per character with the
   characters per token measured on that same validation text.

What is held equal, and why it is fair:

- **Time, not steps.** A tokenizer that cuts the text into fewer, longer tokens shows the model
  more characters per step, but a larger vocabulary makes each step dearer (the output layer is
  B x T x V); the budget charges both. The clock starts after the first step, which includes
  tracing and XLA compilation, so compile time (slightly longer for a larger V) is not charged.
  Tokenizer learning, data preparation and the evaluation are not charged either.
- **The learning-rate schedule follows the clock.** Every run gets the same shape of schedule
  over its own budget, whatever its step rate: linear warmup from the floor to the peak over the
  first `--warmup-fraction` of the budget (default 1/12, the preset's 200 of 2400 steps), then
  cosine decay to the floor, reached exactly when the time is up. Defining the schedule over a
  step count estimated in advance would leave a run that turns out faster than estimated
  sitting at the floor, and a slower one stopped before its rate has come down, and a shared
  machine makes the rate hard to estimate; a constant rate after warmup would forgo the final
  anneal, which is worth a lot at this budget. `WallClockBudget` sets the optimizer's rate
  before every step from the elapsed fraction (a variable assignment: the compiled step is not
  retraced). The price: a run's schedule depends on the machine's speed, so two runs agree only
  as well as their step rates do (the step counts are printed).
- **The same model shape in tokens.** Width, depth, heads and context (128 tokens) are the
  preset's for every tokenizer, so a subword model sees about 3x more characters of context and
  has more parameters (the embedding and output tables are V x 128 each: 0.83M parameters with
  the 85 characters, 1.8M with 4000 pieces). Both are part of what a tokenizer buys; the
  parameter count is printed.
- **Seeds.** `keras.utils.set_random_seed(--seed)` before each model is built, the same data
  seed for its windows, and SentencePiece's fixed seed: what differs between two runs of one
  row is how many steps the clock allowed.

Read the `word` and `wordpiece` rows with care: they are not lossless (rare words become
`<unk>`, spacing is normalised, wordpiece drops newlines), so their models predict an easier,
smaller text than the validation plays, and their bits per character flatter them. The
character counts are of the original text, so bits per character still divide by the same
312,254 characters for every row. The unknown rate is printed beside them.

    python benchmarks/tokenizer_comparison.py                 # 10 rows, 120 s of training each (~30 min)
    python benchmarks/tokenizer_comparison.py --seconds 10 --kinds char,sentencepiece-bpe
    python benchmarks/tokenizer_comparison.py --vocab-sizes 4000 --json results.json

Timings on a shared machine vary up to 2x: compare rows of one run on a quiet machine.
"""

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text  # noqa: E402
from tfllm.errors import TfllmError  # noqa: E402
from tfllm.models import build_model  # noqa: E402
from tfllm.objectives import MaskedCrossEntropy  # noqa: E402
from tfllm.presets import get_preset  # noqa: E402
from tfllm.tasks import get_task  # noqa: E402
from tfllm.tokenizers import build_tokenizer, registered_kinds, tokenizer_stats  # noqa: E402
from tfllm.training import build_optimizer, evaluate_model  # noqa: E402

# Kinds that learn a vocabulary of a chosen size; char and byte have one row each.
SUBWORD_KINDS = ("word", "wordpiece", "sentencepiece-unigram", "sentencepiece-bpe")
DEFAULT_KINDS = ("char", "byte", "word", "wordpiece", "sentencepiece-unigram", "sentencepiece-bpe")


class WallClockBudget(keras.callbacks.Callback):
    """Stops `fit` when `seconds` of training are up and sets the learning rate from the clock.

    The clock starts at the end of the first step (tracing and XLA compilation are not charged).
    Before each step the optimizer's learning rate is set from the elapsed fraction f of the
    budget (f = 0 until the clock starts):

        f < w:   lr = floor + (peak - floor) * f / w                     (w = warmup_fraction)
        f >= w:  lr = floor + (peak - floor) * (1 + cos(pi * min((f - w) / (1 - w), 1))) / 2

    After each step, once the budget is spent, `model.stop_training` is set, so the step that
    crosses the limit is the last one.

    Args:
        seconds: the training budget (> 0).
        peak_learning_rate, min_learning_rate: the schedule's peak and floor.
        warmup_fraction: w in [0, 1).
        clock: a function returning seconds (tests pass a fake one).

    After `fit`: `steps` (steps run, the first included), `train_seconds` (budgeted time
    actually used), `first_step_seconds` and `last_learning_rate`.

    Example:

    >>> budget = WallClockBudget(120, peak_learning_rate=3e-3, min_learning_rate=1e-4)
    >>> round(budget.learning_rate_at(0.5), 6)
    0.001756
    >>> # model.compile(optimizer=build_optimizer(1e-4), ...); model.fit(data, callbacks=[budget])
    """

    def __init__(self, seconds, *, peak_learning_rate, min_learning_rate, warmup_fraction=1 / 12,
                 clock=time.perf_counter):
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0. Received: seconds={seconds!r}")
        if not 0 <= warmup_fraction < 1:
            raise ValueError(
                f"warmup_fraction must be in [0, 1). Received: warmup_fraction={warmup_fraction!r}")
        if not 0 <= min_learning_rate <= peak_learning_rate:
            raise ValueError(
                "Expected 0 <= min_learning_rate <= peak_learning_rate. Received: "
                f"min_learning_rate={min_learning_rate!r}, peak_learning_rate={peak_learning_rate!r}"
            )
        self.seconds = float(seconds)
        self.peak_learning_rate = float(peak_learning_rate)
        self.min_learning_rate = float(min_learning_rate)
        self.warmup_fraction = float(warmup_fraction)
        self.clock = clock
        self._reset()

    def _reset(self):
        self.steps = 0
        self.train_seconds = 0.0
        self.first_step_seconds = None
        self.last_learning_rate = None
        self._fit_started = None
        self._clock_started = None

    def learning_rate_at(self, fraction):
        """The learning rate at elapsed fraction `fraction` of the budget (see the class doc)."""
        peak, floor, warmup = self.peak_learning_rate, self.min_learning_rate, self.warmup_fraction
        fraction = min(max(fraction, 0.0), 1.0)
        if fraction < warmup:
            return floor + (peak - floor) * fraction / warmup
        progress = (fraction - warmup) / (1.0 - warmup)
        return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def _elapsed(self):
        return 0.0 if self._clock_started is None else self.clock() - self._clock_started

    def on_train_begin(self, logs=None):
        self._reset()
        self._fit_started = self.clock()

    def on_train_batch_begin(self, batch, logs=None):
        self.last_learning_rate = self.learning_rate_at(self._elapsed() / self.seconds)
        # A float-valued optimizer keeps its rate in a variable: assigning it changes what the
        # compiled step reads without retracing.
        self.model.optimizer.learning_rate = self.last_learning_rate

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        now = self.clock()
        if self._clock_started is None:
            self.first_step_seconds = now - self._fit_started
            self._clock_started = now
            return
        self.train_seconds = now - self._clock_started
        if self.train_seconds >= self.seconds:
            self.model.stop_training = True


def _plan(kinds, vocab_sizes):
    """[(kind, vocabulary_size or None), ...] in the order they run."""
    plan = []
    for kind in kinds:
        if kind in SUBWORD_KINDS:
            plan.extend((kind, size) for size in vocab_sizes)
        else:
            plan.append((kind, None))
    return plan


def compare_one(kind, vocabulary_size, corpus_texts, *, preset, seconds, warmup_fraction,
                batch_size, seed, jit_compile, print_fn=print):
    """Learns one tokenizer, trains the preset's model with it for `seconds`, and scores it.

    Args:
        kind, vocabulary_size: the tokenizer (vocabulary_size None: the kind's own).
        corpus_texts: {"train": [texts to learn from], "train_text": str, "validation_text": str}.
        preset: the `RunConfig` whose model and training recipe are used.
        seconds, warmup_fraction: see `WallClockBudget`.
        batch_size: rows of the model's `sequence_length` tokens per step.
        seed: seeds Keras/TF/NumPy before the model is built, and the training windows.
        jit_compile: XLA for the training step.

    Returns:
        A dict: one row of the table (see `main`).
    """
    started = time.perf_counter()
    options = {"vocabulary_size": vocabulary_size} if vocabulary_size else {}
    tokenizer = build_tokenizer(kind, corpus_texts["train"], **options)
    learn_seconds = time.perf_counter() - started

    train_ids = tokenize_corpus_text(tokenizer, corpus_texts["train_text"])
    validation_text = corpus_texts["validation_text"]
    validation_ids = tokenize_corpus_text(tokenizer, validation_text)
    stats = tokenizer_stats(tokenizer, validation_text, top=0)
    characters_per_token = stats["characters_per_token"]
    train_characters_per_token = len(corpus_texts["train_text"]) / len(train_ids)

    train_config = preset.train
    keras.utils.set_random_seed(seed)
    model = build_model(preset.model, tokenizer.vocabulary_size)
    sequence_length = model.sequence_length
    budget = WallClockBudget(
        seconds,
        peak_learning_rate=train_config.learning_rate,
        min_learning_rate=train_config.min_learning_rate,
        warmup_fraction=warmup_fraction,
    )
    model.compile(
        # The rate given here is a placeholder: `budget` sets it before every step.
        optimizer=build_optimizer(
            train_config.min_learning_rate or train_config.learning_rate,
            weight_decay=train_config.weight_decay,
            beta_1=train_config.beta_1,
            beta_2=train_config.beta_2,
            clipnorm=train_config.clipnorm,
        ),
        loss=MaskedCrossEntropy(),
        jit_compile=jit_compile,
    )
    train_data = lm_dataset(train_ids, sequence_length, batch_size, windows="random", seed=seed)
    wall_started = time.perf_counter()
    # One long epoch: the budget, not the step count, ends it (the windows repeat forever).
    model.fit(train_data, epochs=1, steps_per_epoch=10**9, callbacks=[budget], verbose=0,
              shuffle=False)  # the windows are already random
    fit_seconds = time.perf_counter() - wall_started

    validation_data = lm_dataset(validation_ids, sequence_length, batch_size, windows="eval")
    metrics = evaluate_model(model, validation_data, get_task("causal_lm"),
                             characters_per_token=characters_per_token)
    tokens_seen = budget.steps * batch_size * sequence_length
    row = {
        "kind": kind,
        "vocabulary_size": tokenizer.vocabulary_size,
        "requested_vocabulary_size": vocabulary_size,
        "fingerprint": tokenizer.fingerprint,
        "learn_seconds": round(learn_seconds, 2),
        "validation_characters": stats["characters"],
        "validation_tokens": stats["tokens"],
        "characters_per_token": characters_per_token,
        "unknown_rate": stats["unknown_rate"],
        "parameters": int(model.count_params()),
        "steps": budget.steps,
        "first_step_seconds": round(budget.first_step_seconds or 0.0, 2),
        "train_seconds": round(budget.train_seconds, 2),
        "fit_seconds": round(fit_seconds, 2),
        "final_learning_rate": budget.last_learning_rate,
        "tokens_seen": tokens_seen,
        # Random windows start anywhere, so a token covers the training text's mean characters.
        "characters_seen": round(tokens_seen * train_characters_per_token),
        "validation_loss_per_token": metrics["loss"],
        "evaluated_tokens": metrics["tokens"],
        "bits_per_character": metrics["bits_per_character"],
    }
    print_fn(
        f"  {kind} V={row['vocabulary_size']}: learned in {learn_seconds:.1f} s; "
        f"{budget.steps} steps in {budget.train_seconds:.1f} s (+{row['first_step_seconds']:.1f} s "
        f"first step); loss {metrics['loss']:.4f} nats/token, {metrics['bits_per_character']:.4f} bits/char",
        flush=True,
    )
    return row


def format_table(rows):
    """The comparison as a Markdown table (what docs/tokenizers.md shows)."""
    lines = [
        "| kind | vocabulary size | characters/token | unknown rate | parameters | steps "
        "| training tokens | training characters | validation loss/token | bits/character |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['kind']}` | {row['vocabulary_size']:,} | {row['characters_per_token']:.3f} "
            f"| {row['unknown_rate']:.2%} | {row['parameters']:,} | {row['steps']:,} "
            f"| {row['tokens_seen']:,} | {row['characters_seen']:,} "
            f"| {row['validation_loss_per_token']:.4f} | {row['bits_per_character']:.4f} |"
        )
    return "\n".join(lines)


def _write_json_atomically(path, payload):
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(payload, file, indent=1)
    os.replace(temporary, path)


def _positive_int_list(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 1000,4000. Received: {text!r}")
    return values


def _kind_list(text):
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in kinds if kind not in registered_kinds()]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated kinds from {', '.join(registered_kinds())}. Received: {text!r}")
    return kinds


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0. Received: {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1). Received: {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1. Received: {text!r}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--seconds", type=_positive_float, default=120.0,
                        help="training wall-clock budget per tokenizer, after the first step (default 120)")
    parser.add_argument("--kinds", type=_kind_list, default=list(DEFAULT_KINDS),
                        help="comma-separated tokenizer kinds (default: all six)")
    parser.add_argument("--vocab-sizes", type=_positive_int_list, default=[1000, 4000],
                        help="vocabulary sizes for word, wordpiece and sentencepiece-* (default 1000,4000)")
    parser.add_argument("--preset", default="shakespeare-char-gpt2",
                        help="the preset whose model shape and AdamW recipe are used "
                             "(default shakespeare-char)")
    parser.add_argument("--batch-size", type=_positive_int, default=None,
                        help="windows per step (default: the preset's, 32)")
    parser.add_argument("--warmup-fraction", type=_fraction, default=200 / 2400,
                        help="share of the budget spent warming up "
                             "(default 1/12, the preset's 200 of 2400 steps)")
    parser.add_argument("--seed", type=int, default=None, help="default: the preset's train.seed (1337)")
    parser.add_argument("--xla", choices=("on", "off"), default="on", help="XLA for the training step")
    parser.add_argument("--train-characters", type=_positive_int, default=None,
                        help="use only the first N characters of the training plays (quick checks)")
    parser.add_argument("--json", help="also write the rows and settings to this file")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    arguments = sys.argv[1:] if argv is None else list(argv)
    print("$ python benchmarks/tokenizer_comparison.py " + shlex.join(arguments), flush=True)
    try:
        preset = get_preset(args.preset)
        corpus = load_corpus("shakespeare")
    except TfllmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    seed = preset.train.seed if args.seed is None else args.seed
    batch_size = args.batch_size or preset.train.batch_size
    train_text = corpus.split_text("train")
    if args.train_characters:
        train_text = train_text[: args.train_characters]
    corpus_texts = {"train": [train_text], "train_text": train_text,
                    "validation_text": corpus.split_text("validation")}
    model = preset.model
    sequence_length = model.config.get("sequence_length")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    devices = ", ".join(device.device_type for device in tf.config.list_physical_devices()) or "none"
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {platform.python_version()}; "
        f"devices: {devices}; {os.cpu_count()} CPU cores, load average {load}\n"
        f"Preset {args.preset}: {model.class_name}("
        + ", ".join(f"{name}={value}" for name, value in model.config.items())
        + f") (context in tokens); batch {batch_size}; AdamW "
        f"peak {preset.train.learning_rate:g}, floor {preset.train.min_learning_rate:g}, weight decay "
        f"{preset.train.weight_decay:g}; warmup {args.warmup_fraction:.3f} of the budget then cosine "
        f"to the floor at the budget's end; XLA {args.xla}; seed {seed}\n"
        f"Budget {args.seconds:g} s of training per tokenizer; training text {len(train_text):,} "
        f"characters, validation {len(corpus_texts['validation_text']):,} characters",
        flush=True,
    )
    rows = []
    try:
        for kind, vocabulary_size in _plan(args.kinds, args.vocab_sizes):
            rows.append(compare_one(
                kind, vocabulary_size, corpus_texts, preset=preset, seconds=args.seconds,
                warmup_fraction=args.warmup_fraction, batch_size=batch_size, seed=seed,
                jit_compile=args.xla == "on",
            ))
    except TfllmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(format_table(rows))
    if args.json:
        _write_json_atomically(args.json, {
            "command": "python benchmarks/tokenizer_comparison.py " + shlex.join(arguments),
            "settings": {"preset": args.preset, "seconds": args.seconds, "batch_size": batch_size,
                         "sequence_length": sequence_length, "warmup_fraction": args.warmup_fraction,
                         "seed": seed, "xla": args.xla, "train_characters": len(train_text)},
            "rows": rows,
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
