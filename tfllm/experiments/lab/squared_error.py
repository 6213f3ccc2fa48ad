"""Experiment `likelihood-vs-squared-error`: next-character training with square losses.

"Evaluation of Neural Architectures Trained with Square Loss vs Cross-Entropy in
Classification Tasks" (Hui & Belkin, 2021) found the square loss on the logits as accurate as
cross-entropy, or more, on most of the classification tasks it tried. Next-character
prediction is classification with 85 classes, so the character GPT of the
`shakespeare-char-gpt2` preset trains here with:

- `cross_entropy` (maximum likelihood), at two seeds: their difference is the noise the other
  gaps are read against;
- `squared_error`: the Brier score of the softmax (a proper scoring rule on probabilities);
- `square_loss` with k = M = 1: the plain square loss on the logits against the one-hot target;
- `square_loss` rescaled, k = 1, M = 15: the paper keeps k = M = 1 for few classes and rescales
  above about 42; it used k = 1, M = 15 for its speech tasks of a few dozen classes and
  k = 15, M = 30 for its 1000-class ones. 85 characters sit nearest the former, so k = 1,
  M = 15: the true character's output is pulled to 15 and the 84 others to 0.

The budget is half the preset's (4.9M tokens, 1200 steps with a warmup scaled to match) so
that five arms train in about 13 minutes on 2 cores. Every arm is scored on the held-out plays
against the hard targets: accuracy (which no temperature changes: the measure the paper
compares), and the perplexity, bits per character and ECE of the softmax of its outputs. A
square-loss model's outputs are regression scores, not log-probabilities, and their softmax
is not what it was trained to produce, so every arm is also scored after temperature scaling
(one T fitted to the held-out NLL) on a grid from 0.01 to 100: the lab's default grid (0.5 to
3) cannot sharpen outputs trained towards 0 and 1 enough (at T = 0.5 they span at most 2 nats
of logit). A T at the edge of the grid is flagged.

Example:

>>> for _, overrides, seed in ARMS[2:]:
...     print(describe_objective(_config(True, overrides, seed).train))
Brier (squared error of the softmax)
square loss on logits, k=1, M=1
square loss on logits, k=1, M=15
"""

import dataclasses
import math

from tfllm.experiments.lab.experiment import Experiment, register_experiment
from tfllm.experiments.lab.lab_plots import line_figure, reliability_figure
from tfllm.experiments.lab.lab_run import scaled_recipe
from tfllm.experiments.lab.next_token_scores import next_token_scores
from tfllm.experiments.lab.report import Report
from tfllm.experiments.lab.seed_noise import compare_to_noise
from tfllm.objectives import temperature_grid
from tfllm.presets import get_preset

RESCALE_K, RESCALE_M = 1.0, 15.0
# (label, train overrides, seed), in reading order; the first is the reference.
ARMS = (
    ("cross-entropy", dict(loss="cross_entropy"), 1337),
    ("cross-entropy-seed1338", dict(loss="cross_entropy"), 1338),
    ("brier", dict(loss="squared_error"), 1337),
    ("square-loss", dict(loss="square_loss"), 1337),
    ("square-loss-k1-m15", dict(loss="square_loss", square_loss_scale=RESCALE_K,
                                square_loss_target=RESCALE_M), 1337),
)
SMOKE_ARMS = ("cross-entropy", "square-loss-k1-m15")
TOKENS = 4_915_200  # half the shakespeare-char-gpt2 preset's 9,830,400
# From 0.01 to 100, 8% apart: wide enough for outputs trained towards 0 and 1 (k = M = 1)
# as for those trained towards 0 and 15 (module docstring).
WIDE_TEMPERATURES = temperature_grid(0.01, 100.0, 121)


def _config(smoke, overrides, seed):
    base = get_preset("smoke" if smoke else "shakespeare-char-gpt2")
    train = dict(seed=seed, sample_length=0, **overrides)
    if smoke:
        train.update(steps=10, eval_interval=10, warmup_steps=2)
    else:
        train.update(scaled_recipe(base, TOKENS))
    return dataclasses.replace(base, name=f"squared-error-{overrides['loss']}-{seed}",
                               train=dataclasses.replace(base.train, **train))


def describe_objective(train):
    """The training objective of a `TrainConfig`, in words."""
    if train.loss == "cross_entropy":
        return "cross-entropy"
    if train.loss == "squared_error":
        return "Brier (squared error of the softmax)"
    return f"square loss on logits, k={train.square_loss_scale:g}, M={train.square_loss_target:g}"


def _scaled(scores):
    """The temperature-scaled figures of `next_token_scores`, under short names."""
    return {"temperature": scores["temperature"],
            "at_grid_edge": scores["temperature_at_grid_edge"],
            "nll": scores["nll_at_temperature"],
            "bits_per_character": scores["bits_per_character_at_temperature"],
            "ece": scores["ece_at_temperature"], "bins": scores["bins_at_temperature"]}


@register_experiment
class LikelihoodVsSquaredError(Experiment):
    name = "likelihood-vs-squared-error"
    title = "Cross-entropy against square losses for next-character prediction"
    question = ("Does training a character GPT with a square loss (the Brier score on its "
                "probabilities, or Hui & Belkin's square loss on its logits, plain and "
                "rescaled) match cross-entropy in held-out accuracy, perplexity and "
                "calibration, as Hui & Belkin found on classification tasks?")
    references = (
        '"Evaluation of Neural Architectures Trained with Square Loss vs Cross-Entropy in '
        'Classification Tasks" (Hui & Belkin, 2021)',
        '"Verification of Forecasts Expressed in Terms of Probability" (Brier, 1950)',
        '"On Calibration of Modern Neural Networks" (Guo et al., 2017)',
    )

    def run(self, lab):
        arms = [arm for arm in ARMS if not lab.smoke or arm[0] in SMOKE_ARMS]
        corpus = lab.corpus("shakespeare")
        results = {}
        for label, overrides, seed in arms:
            arm = lab.train(label, _config(lab.smoke, overrides, seed), corpus=corpus)
            loaded = arm.load()
            scores = next_token_scores(loaded, corpus.validation,
                                       max_batches=4 if lab.smoke else None,
                                       temperatures=WIDE_TEMPERATURES)
            results[label] = dict(
                arm=arm, objective=describe_objective(arm.config.train), seed=seed,
                vocabulary=int(loaded.tokenizer.vocabulary_size), scores=scores,
                scaled=_scaled(scores))
        report = Report(name=self.name, title=self.title, question=self.question,
                        command=self.command(lab.smoke), setup=_setup(results, corpus))
        self._tables(report, results)
        self._plots(lab, report, results)
        report.reading.extend(_reading(results))
        return report

    def _tables(self, report, results):
        report.add_table(
            "As trained: the softmax of each arm's outputs (T = 1) against the hard targets",
            ["arm", "objective", "seed", "accuracy", "NLL (nats/char)", "perplexity",
             "bits/char", "ECE"],
            [[label, r["objective"], str(r["seed"]), r["scores"]["accuracy"], r["scores"]["nll"],
              math.exp(r["scores"]["nll"]), r["scores"]["bits_per_character"], r["scores"]["ece"]]
             for label, r in results.items()])
        report.add_table(
            "After temperature scaling (T fitted on the same held-out text: an upper bound on "
            "what it gives; accuracy is unchanged)",
            ["arm", "T", "T at grid edge", "NLL at T (nats/char)", "perplexity at T",
             "bits/char at T", "ECE at T"],
            [[label, r["scaled"]["temperature"], "yes" if r["scaled"]["at_grid_edge"] else "no",
              r["scaled"]["nll"], math.exp(r["scaled"]["nll"]),
              r["scaled"]["bits_per_character"], r["scaled"]["ece"]]
             for label, r in results.items()])

    def _plots(self, lab, report, results):
        report.add_plot(lab.save_figure("reliability.png", reliability_figure(
            {label: r["scores"]["bins"] for label, r in results.items()},
            "Next-character reliability, softmax of the outputs")),
            "Reliability diagram at T = 1: accuracy against confidence per bin, one line per "
            "arm")
        report.add_plot(lab.save_figure("reliability_scaled.png", reliability_figure(
            {f"{label} (T={r['scaled']['temperature']:.3g})": r["scaled"]["bins"]
             for label, r in results.items()},
            "Next-character reliability after temperature scaling")),
            "Reliability diagram after temperature scaling, one line per arm")
        series = {label: ([p["tokens"] for p in r["arm"].curve],
                          [p["val_accuracy"] for p in r["arm"].curve])
                  for label, r in results.items()}
        report.add_plot(lab.save_figure("accuracy_vs_tokens.png", line_figure(
            series, "training tokens", "validation accuracy",
            "Validation next-character accuracy against tokens")),
            "Validation accuracy against training tokens (no temperature changes it, so every "
            "objective compares on it as trained)")


def _setup(results, corpus):
    first = next(iter(results.values()))
    config = first["arm"].config
    return {
        "model": f"{config.model.class_name} {config.model.config}",
        "data": (f"{config.data.corpus} ({config.data.tokenizer} tokenizer, "
                 f"{first['vocabulary']} ids), held-out plays: "
                 f"{', '.join(d.name for d in corpus.validation)}"),
        "training": (f"{config.train.steps} steps x {config.train.batch_size} x "
                     f"{config.model.config['sequence_length']} = {first['arm'].tokens:,} "
                     f"tokens per arm, AdamW {config.train.learning_rate} cosine, warmup "
                     f"{config.train.warmup_steps} steps; the same recipe for every loss"),
        "objectives": "; ".join(f"{label}: {r['objective']}" for label, r in results.items()),
        "rescaling": (f"k={RESCALE_K:g}, M={RESCALE_M:g}: Hui & Belkin rescale above about 42 "
                      f"classes (k=1, M=15 for their tasks of a few dozen classes, k=15, M=30 "
                      f"at 1000); here there are {first['vocabulary']}"),
        "seeds": ", ".join(f"{label} {r['seed']}" for label, r in results.items()),
        "scored": (f"{first['scores']['tokens']:,} held-out characters per arm; T fitted on a "
                   f"grid of {len(WIDE_TEMPERATURES)} temperatures from "
                   f"{WIDE_TEMPERATURES[0]:g} to {WIDE_TEMPERATURES[-1]:g}"),
    }


def _signed_points(value):
    return f"{100 * value:+.2f} points"


def _accuracy_gap(arm, reference, noise):
    gap = arm["scores"]["accuracy"] - reference["scores"]["accuracy"]
    text = f"{_signed_points(gap)} against cross-entropy"
    outcome = compare_to_noise(gap, noise)
    if outcome != "not judged":
        # "below the seed noise" read as "too small to matter": say which way and that it is
        # larger than the noise.
        text += {"matches": ", within the seed noise",
                 "better": ", higher by more than the seed noise",
                 "worse": ", lower by more than the seed noise"}[outcome]
    return text


def _reading(results):
    reference, ref = next(iter(results.items()))
    lines = [
        f"Cross-entropy (arm {reference}): accuracy {ref['scores']['accuracy']:.4f}, held-out "
        f"NLL {ref['scores']['nll']:.4f} nats/char (perplexity "
        f"{math.exp(ref['scores']['nll']):.3f}), ECE {ref['scores']['ece']:.4f}; temperature "
        f"scaling (T={ref['scaled']['temperature']:.3g}) moved its NLL to "
        f"{ref['scaled']['nll']:.4f} and its ECE to {ref['scaled']['ece']:.4f}."]
    seeds = [r for r in results.values() if r["objective"] == ref["objective"]]
    noise = None
    if len(seeds) > 1:
        noise = abs(seeds[0]["scores"]["accuracy"] - seeds[1]["scores"]["accuracy"])
        nll_noise = abs(seeds[0]["scaled"]["nll"] - seeds[1]["scaled"]["nll"])
        lines.append(f"Cross-entropy's two seeds differed by {100 * noise:.2f} points of "
                     f"accuracy and {nll_noise:.4f} nats/char of NLL after scaling: the seed "
                     f"noise the gaps below are read against.")
    for label, r in results.items():
        if r["objective"] == ref["objective"]:
            continue
        edge = ", at the edge of the grid: an upper bound" if r["scaled"]["at_grid_edge"] else ""
        lines.append(
            f"{label} ({r['objective']}): accuracy {r['scores']['accuracy']:.4f} "
            f"({_accuracy_gap(r, ref, noise)}); NLL {r['scores']['nll']:.4f} nats/char at T=1 "
            f"and {r['scaled']['nll']:.4f} after scaling (T={r['scaled']['temperature']:.3g}"
            f"{edge}) against cross-entropy's {ref['scaled']['nll']:.4f}; ECE "
            f"{r['scores']['ece']:.4f} at T=1, {r['scaled']['ece']:.4f} after scaling.")
    square = {label: r for label, r in results.items()
              if r["arm"].config.train.loss == "square_loss"}
    if square:
        lines.append(_verdict(ref, square, noise))
    if len(square) > 1:
        (_, plain), (_, rescaled) = list(square.items())[:2]
        lines.append(
            f"Rescaling moved accuracy from {plain['scores']['accuracy']:.4f} "
            f"({plain['objective']}) to {rescaled['scores']['accuracy']:.4f} "
            f"({rescaled['objective']}), and the NLL after scaling from "
            f"{plain['scaled']['nll']:.4f} to {rescaled['scaled']['nll']:.4f}.")
    return lines


def _verdict(ref, square, noise):
    label, best = max(square.items(), key=lambda item: item[1]["scores"]["accuracy"])
    gap = best["scores"]["accuracy"] - ref["scores"]["accuracy"]
    outcome = compare_to_noise(gap, noise)
    if outcome == "not judged":
        judged = ("with one seed per arm no seed noise was measured, so whether that is a "
                  "difference is not judged")
    elif outcome == "matches":
        judged = (f"within the {100 * noise:.2f} points between cross-entropy's seeds: it "
                  f"matches cross-entropy in accuracy here")
    else:
        judged = (f"beyond the {100 * noise:.2f} points between cross-entropy's seeds: it is "
                  f"{'more' if outcome == 'better' else 'less'} accurate than cross-entropy "
                  f"here")
    nll_gap = best["scaled"]["nll"] - ref["scaled"]["nll"]
    which = "most accurate square-loss arm" if len(square) > 1 else "square-loss arm"
    return (f"Does square loss match cross-entropy? In accuracy (what Hui & Belkin compare) the "
            f"{which}, {label}, is {_signed_points(gap)} against cross-entropy, {judged}. In "
            f"likelihood, after temperature scaling its NLL is "
            f"{abs(nll_gap):.4f} nats/char ({100 * abs(nll_gap) / ref['scaled']['nll']:.1f}%) "
            f"{'higher' if nll_gap > 0 else 'lower'} than cross-entropy's after the same fit.")
