"""Experiment `architectures`: an LSTM against a GPT on the same characters and budget.

The two Shakespeare presets are built for this comparison: `shakespeare-char-gpt2` (a GPT in
GPT-2's layout, 4 layers of width 128) and `shakespeare-char-lstm` (an LSTM LM, 2 layers of width 256) share the data,
the character tokenizer, the context of 128, the objective and the recipe (AdamW with warmup
and cosine decay), and have similar parameter counts (both counted from the trained models and
stated in the report). What differs is the architecture: recurrence ("Long Short-Term
Memory", Hochreiter & Schmidhuber, 1997) against causal self-attention ("Attention Is All You
Need", Vaswani et al., 2017).

At the presets' full budget (9.8M tokens) one seed each left the two 0.2% apart, too close to
call, so each architecture trains at two seeds on half that budget (4.9M tokens, 1200 steps
with the warmup scaled to match): four arms, about as many tokens as the two full-budget arms.
The gap between the architectures' means is read against the seeds' own spread.

Each arm is scored on the held-out plays (NLL, bits per character, accuracy, ECE), and its
validation curve is drawn against tokens and against wall time, because the two answer
different questions: which architecture learns more per token, and which gets lower in the
same minutes on this machine (an LSTM's time steps run one after another). A validation pass
of the curve reads `eval_batches` windows; the table's figures read the whole held-out split.

Example:

>>> points = [(10.0, 3.0), (20.0, 2.0)]
>>> interpolate(points, 15.0), interpolate(points, 25.0)
(2.5, None)
>>> crossing_time(points, 2.5)
15.0
"""

import dataclasses
import math

from tfllm.config import ModelConfig
from tfllm.experiments.lab.experiment import Experiment, register_experiment
from tfllm.experiments.lab.lab_plots import line_figure
from tfllm.experiments.lab.lab_run import scaled_recipe
from tfllm.experiments.lab.next_token_scores import next_token_scores
from tfllm.experiments.lab.report import Report
from tfllm.experiments.lab.seed_noise import compare_to_noise, mean_spread
from tfllm.presets import get_preset

# Arm label -> (display name, preset of the full run).
ARMS = {"gpt": ("GPT", "shakespeare-char-gpt2"), "lstm": ("LSTM", "shakespeare-char-lstm")}
SEEDS = (1337, 1338)
TOKENS = 4_915_200  # half the presets' 9,830,400
# The smoke run's LSTM: as small as the smoke preset's GPT, on its context.
_SMOKE_LSTM = dict(num_layers=1, hidden_dim=64, dropout=0.0)


def _config(smoke, label, seed=SEEDS[0]):
    if smoke:
        base = get_preset("smoke")
        if label == "lstm":
            base = dataclasses.replace(base, model=ModelConfig("LSTMLanguageModel", dict(
                sequence_length=base.model.config["sequence_length"], **_SMOKE_LSTM)))
    else:
        base = get_preset(ARMS[label][1])
    train = dict(seed=seed, sample_length=0)
    if smoke:
        train.update(steps=10, eval_interval=10, warmup_steps=2)
    else:
        train.update(scaled_recipe(base, TOKENS))
    return dataclasses.replace(base, name=f"architectures-{label}",
                               train=dataclasses.replace(base.train, **train))


def validation_bits(curve):
    """`[(tokens, seconds, bits per character), ...]`, one per validation pass of an arm's
    curve: `val_bits_per_character` where the run logged it, else `val_loss` / ln 2 (nats per
    token to bits, one character per token with the character tokenizer)."""
    return [(point["tokens"], point["seconds"],
             point.get("val_bits_per_character", point["val_loss"] / math.log(2)))
            for point in curve]


def interpolate(points, x):
    """The y of `points` (`[(x, y), ...]`, x increasing) at `x`, linear between neighbours;
    None outside the measured range."""
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    if points and x == points[0][0]:
        return points[0][1]
    return None


def crossing_time(points, target):
    """The first x at which the curve `points` (`[(x, y), ...]`) reaches `target` or below,
    linear between neighbours; None if it never does."""
    if points and points[0][1] <= target:
        return points[0][0]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if y1 <= target < y0:
            return x0 + (x1 - x0) * (y0 - target) / (y0 - y1)
    return None


@register_experiment
class Architectures(Experiment):
    name = "architectures"
    title = "LSTM against GPT: bits per character per token and per second"
    question = ("At the same token budget, data and recipe, and a similar parameter count, "
                "which reaches the lower held-out bits per character, an LSTM LM or a GPT, and "
                "which is lower after the same wall time on this machine?")
    references = (
        '"Long Short-Term Memory" (Hochreiter & Schmidhuber, 1997)',
        '"Attention Is All You Need" (Vaswani et al., 2017)',
    )

    def run(self, lab):
        corpus = lab.corpus("shakespeare")
        seeds = SEEDS[:1] if lab.smoke else SEEDS
        # results[label][seed]: the arm, its parameter count, held-out scores and curve.
        results = {label: {} for label in ARMS}
        for seed in seeds:
            for label in ARMS:
                arm = lab.train(f"{label}-seed{seed}", _config(lab.smoke, label, seed),
                                corpus=corpus)
                loaded = arm.load()
                results[label][seed] = dict(
                    arm=arm, parameters=int(loaded.model.count_params()),
                    scores=next_token_scores(loaded, corpus.validation,
                                             max_batches=4 if lab.smoke else None),
                    curve=validation_bits(arm.curve))
        report = Report(name=self.name, title=self.title, question=self.question,
                        command=self.command(lab.smoke), setup=_setup(results, corpus, seeds))
        _tables(report, results)
        self._plots(lab, report, results)
        report.reading.extend(_reading(results))
        return report

    def _plots(self, lab, report, results):
        by_tokens, by_time = {}, {}
        for label, arms in results.items():
            for seed, r in arms.items():
                series = f"{ARMS[label][0]} seed {seed}"
                by_tokens[series] = ([t for t, _, _ in r["curve"]], [b for _, _, b in r["curve"]])
                by_time[series] = ([s for _, s, _ in r["curve"] if s is not None],
                                   [b for _, s, b in r["curve"] if s is not None])
        report.add_plot(lab.save_figure("bits_vs_tokens.png", line_figure(
            by_tokens, "training tokens", "validation bits/char",
            "Validation bits per character against tokens")),
            "Validation bits per character against training tokens (one point per validation "
            "pass, one line per arm)")
        report.add_plot(lab.save_figure("bits_vs_seconds.png", line_figure(
            by_time, "wall time since training began (s)", "validation bits/char",
            "Validation bits per character against wall time")),
            "Validation bits per character against wall time (compilation and validation "
            "passes included, as a user waits for them)")


def _tokens_per_second(result):
    return result["arm"].tokens / result["arm"].train_seconds


def _tables(report, results):
    report.add_table(
        "Held-out scores after the whole budget, per arm (validation plays, every character)",
        ["arm", "seed", "parameters", "tokens", "train seconds", "tokens/s", "NLL (nats/char)",
         "bits/char", "accuracy", "ECE"],
        [[ARMS[label][0], str(seed), r["parameters"], r["arm"].tokens,
          round(r["arm"].train_seconds), _tokens_per_second(r), r["scores"]["nll"],
          r["scores"]["bits_per_character"], r["scores"]["accuracy"], r["scores"]["ece"]]
         for label, arms in results.items() for seed, r in arms.items()])
    rows = []
    for label, arms in results.items():
        cells = [ARMS[label][0]]
        for key in ("bits_per_character", "accuracy", "ece"):
            cells += list(mean_spread(r["scores"][key] for r in arms.values()))
        rows.append(cells)
    report.add_table("Per architecture: mean over seeds, ± half the range",
                     ["architecture", "bits/char", "±", "accuracy", "±", "ECE", "±"], rows)


def _setup(results, corpus, seeds):
    setup = {}
    for label, arms in results.items():
        r = next(iter(arms.values()))
        config = r["arm"].config
        setup[f"model {ARMS[label][0]}"] = (f"{config.model.class_name} {config.model.config}: "
                                            f"{r['parameters']:,} parameters")
    config = next(iter(results["gpt"].values()))["arm"].config
    tokens = {r["arm"].tokens for arms in results.values() for r in arms.values()}
    setup["data"] = (f"{config.data.corpus} ({config.data.tokenizer} tokenizer), held-out "
                     f"plays: {', '.join(d.name for d in corpus.validation)}")
    setup["training"] = (f"{config.train.steps} steps x {config.train.batch_size} x "
                         f"{config.model.config['sequence_length']} = "
                         f"{', '.join(f'{t:,}' for t in sorted(tokens))} tokens per arm, AdamW "
                         f"{config.train.learning_rate} cosine, warmup "
                         f"{config.train.warmup_steps} steps, validation every "
                         f"{config.train.eval_interval} steps on {config.train.eval_batches} "
                         f"batches")
    setup["seeds"] = (", ".join(map(str, seeds)) + " for each architecture"
                      + ("" if len(seeds) > 1 else " (one seed: no seed spread was measured)"))
    setup["scored"] = (f"{next(iter(results['gpt'].values()))['scores']['tokens']:,} held-out "
                       f"characters per arm")
    return setup


def _reading(results):
    """The reading of `results[label][seed]`: parameters, the gap at equal tokens against the
    seeds' spread, the speed per token and, per seed, the comparison at equal wall time."""
    name = {label: ARMS[label][0] for label in results}
    a, b = results
    params = {label: next(iter(arms.values()))["parameters"] for label, arms in results.items()}
    lines = [f"{name[a]} has {params[a]:,} parameters and {name[b]} {params[b]:,} "
             f"({params[b] / params[a]:.2f}x)."]
    lines.extend(_equal_tokens_reading(results, name))
    speed = {label: mean_spread(_tokens_per_second(r) for r in arms.values())[0]
             for label, arms in results.items()}
    fast, slow = sorted(results, key=speed.get, reverse=True)
    lines.append(
        f"{name[slow]} processed {speed[slow]:,.0f} tokens/s against {name[fast]}'s "
        f"{speed[fast]:,.0f} (mean over seeds), {speed[fast] / speed[slow]:.2f}x slower per "
        f"token.")
    lines.extend(_load_reading(results, name))
    for seed in results[a]:
        pair = {label: arms[seed] for label, arms in results.items() if seed in arms}
        if len(pair) == 2:
            lines.extend(f"Seed {seed}: {line}" for line in _equal_time_reading(pair, name))
    return lines


def _load_reading(results, name):
    """A line when the speed ratio of the two architectures differs between seeds by more than
    20%: the machine's load changed between arms, and with it every wall-time comparison."""
    a, b = results
    ratios = {seed: _tokens_per_second(results[a][seed]) / _tokens_per_second(r)
              for seed, r in results[b].items() if seed in results[a]}
    if len(ratios) < 2 or max(ratios.values()) <= 1.2 * min(ratios.values()):
        return []
    return [f"{name[a]}'s speed over {name[b]}'s was "
            + " and ".join(f"{ratio:.2f}x at seed {seed}" for seed, ratio in ratios.items())
            + ": other work shared the cores unevenly while the arms trained (the setup gives "
            "the load), so the comparisons at equal wall time below differ between seeds for "
            "that reason; the comparison at equal tokens does not depend on it."]


def _equal_tokens_reading(results, name):
    bits = {label: mean_spread(r["scores"]["bits_per_character"] for r in arms.values())
            for label, arms in results.items()}
    low, high = sorted(results, key=lambda label: bits[label][0])
    gap = bits[high][0] - bits[low][0]
    tokens = next(iter(results[low].values()))["arm"].tokens
    seeds = len(results[low])
    line = (f"At equal tokens ({tokens:,} per arm) {name[low]} reached the lower held-out bits "
            f"per character: {bits[low][0]:.4f} against {bits[high][0]:.4f}"
            + (f" (means over {seeds} seeds)" if seeds > 1 else "")
            + f", {gap:.4f} bits/char ({100 * gap / bits[high][0]:.1f}%) lower.")
    if seeds == 1:
        return [line, "With one seed per arm this gap is not compared with seed noise."]
    noise = bits[low][1] + bits[high][1]
    if compare_to_noise(gap, noise) == "matches":
        verdict = (f"That gap is within the seeds' own spread (±{bits[low][1]:.4f} for "
                   f"{name[low]}, ±{bits[high][1]:.4f} for {name[high]}): at this budget neither "
                   f"architecture is shown to learn more per token.")
    else:
        verdict = (f"That gap is larger than the seeds' spread (±{bits[low][1]:.4f} for "
                   f"{name[low]}, ±{bits[high][1]:.4f} for {name[high]}): at this budget "
                   f"{name[low]} learns more per token.")
    return [line, verdict]


def _equal_time_reading(results, name):
    timed = {label: [(s, bits) for _, s, bits in r["curve"] if s is not None]
             for label, r in results.items()}
    if not all(timed.values()):
        return ["Equal wall time: not compared, an arm's curve has no wall times (it was "
                "resumed after an interruption)."]
    first, second = sorted(timed, key=lambda label: timed[label][-1][0])
    seconds, first_bits = timed[first][-1]
    second_bits = interpolate(timed[second], seconds)
    if second_bits is None:
        line = (f"Equal wall time: when {name[first]} finished ({seconds:.0f} s, validation "
                f"{first_bits:.4f} bits/char), {name[second]} had not reached its first "
                f"validation pass ({timed[second][0][0]:.0f} s), so it has no figure there.")
    else:
        low = first if first_bits <= second_bits else second
        line = (f"At equal wall time ({seconds:.0f} s, when {name[first]} finished) the "
                f"validation bits per character were {first_bits:.4f} for {name[first]} and "
                f"{second_bits:.4f} for {name[second]} (interpolated between its validation "
                f"passes): {name[low]} was lower by {abs(first_bits - second_bits):.4f}.")
    reached = crossing_time(timed[second], first_bits)
    if reached is None:
        line += (f" {name[second]} never reached {name[first]}'s final {first_bits:.4f} within "
                 f"its {timed[second][-1][0]:.0f} s.")
    else:
        line += (f" {name[second]} reached {name[first]}'s final {first_bits:.4f} after "
                 f"{reached:.0f} s ({reached / seconds:.2f}x the time).")
    return [line]
