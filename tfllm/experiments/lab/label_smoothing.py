"""Experiment `label-smoothing`: what smoothing the target does to likelihood and calibration.

A character GPT (the `shakespeare-char-gpt2` preset's model and data, on half its budget: 4.9M
tokens, 1200 steps with the warmup scaled to match, so that eight arms train in under an hour on
2 cores, like the squared-error experiment's arms) trains with label smoothing eps in {0, 0.05,
0.1, 0.2}, two seeds each, and every arm is scored on the held-out plays against the *hard*
targets: NLL and bits per character (expected to worsen a little with eps: the model is trained
to keep eps of its mass spread over all 85 characters), accuracy, and the expected calibration
error of its next-character distribution (expected to improve). Beside them, temperature scaling
of the eps = 0 arms: the one-parameter post-hoc fix ("When Does Label Smoothing Help?", Müller
et al., 2019, compares the two). Samples at temperature 1 show each arm's own distribution.
"""

import dataclasses
import statistics

from tfllm.experiments.lab.experiment import Experiment, register_experiment
from tfllm.experiments.lab.lab_plots import line_figure, reliability_figure
from tfllm.experiments.lab.lab_run import scaled_recipe
from tfllm.experiments.lab.next_token_scores import next_token_scores
from tfllm.experiments.lab.report import Report
from tfllm.experiments.lab.seed_noise import compare_to_noise, mean_spread
from tfllm.generation import generate
from tfllm.presets import get_preset

EPSILONS = (0.0, 0.05, 0.1, 0.2)
SMOKE_EPSILONS = (0.0, 0.2)
SEEDS = (1337, 1338)
TOKENS = 4_915_200  # half the shakespeare-char-gpt2 preset's 9,830,400
_SAMPLE_PROMPT = "ROMEO:"


def _config(smoke, epsilon, seed):
    base = get_preset("smoke" if smoke else "shakespeare-char-gpt2")
    train = dict(label_smoothing=epsilon, seed=seed, sample_length=0)
    if smoke:
        train.update(steps=10, eval_interval=10, warmup_steps=2)
    else:
        train.update(scaled_recipe(base, TOKENS))
    return dataclasses.replace(
        base, name=f"label-smoothing-{epsilon}-{seed}",
        train=dataclasses.replace(base.train, **train))


@register_experiment
class LabelSmoothing(Experiment):
    name = "label-smoothing"
    title = "Label smoothing: held-out likelihood against calibration"
    question = ("What does label smoothing (eps in 0, 0.05, 0.1, 0.2) do to a character GPT's "
                "held-out NLL against the hard targets and to its calibration, and how close "
                "does temperature scaling of the eps = 0 model get?")
    references = (
        '"Rethinking the Inception Architecture for Computer Vision" (Szegedy et al., 2016)',
        '"When Does Label Smoothing Help?" (Müller et al., 2019)',
        '"On Calibration of Modern Neural Networks" (Guo et al., 2017)',
    )

    def run(self, lab):
        seeds = SEEDS[:1] if lab.smoke else SEEDS
        epsilons = SMOKE_EPSILONS if lab.smoke else EPSILONS
        corpus = lab.corpus("shakespeare")
        scores = {}
        for epsilon in epsilons:
            for seed in seeds:
                arm = lab.train(f"eps{epsilon}-seed{seed}", _config(lab.smoke, epsilon, seed),
                                corpus=corpus)
                scores[epsilon, seed] = next_token_scores(
                    arm.load(), corpus.validation, max_batches=4 if lab.smoke else None)
                scores[epsilon, seed]["overconfidence"] = overconfidence(
                    scores[epsilon, seed]["bins"])
        config = _config(lab.smoke, 0.0, seeds[0])
        report = Report(
            name=self.name, title=self.title, question=self.question,
            command=self.command(lab.smoke),
            setup={
                "model": f"{config.model.class_name} {config.model.config}",
                "data": (f"{config.data.corpus} ({config.data.tokenizer} tokenizer), held-out "
                         f"plays: {', '.join(d.name for d in corpus.validation)}"),
                "training": (f"{config.train.steps} steps x {config.train.batch_size} x "
                             f"{config.model.config['sequence_length']} = "
                             f"{lab.arms[next(iter(lab.arms))].tokens:,} tokens per arm, "
                             f"AdamW {config.train.learning_rate} cosine"),
                "seeds": ", ".join(map(str, seeds)),
                "scored": f"{scores[0.0, seeds[0]]['tokens']:,} held-out characters per arm",
            })
        self._tables(report, scores, seeds, epsilons)
        self._plots(lab, report, scores, seeds, epsilons)
        report.reading.extend(_reading(scores, seeds, epsilons))
        self._samples(lab, report, seeds, epsilons)
        return report

    def _tables(self, report, scores, seeds, epsilons):
        rows = []
        for epsilon in epsilons:
            cells = [str(epsilon)]
            for key in ("nll", "bits_per_character", "accuracy", "ece", "overconfidence"):
                mean, spread = mean_spread([scores[epsilon, s][key] for s in seeds])
                cells += [mean, spread]
            rows.append(cells)
        report.add_table(
            "Held-out scores against the hard targets (mean over seeds, ± half the range; "
            "confidence - accuracy > 0 is overconfident)",
            ["eps", "NLL (nats/char)", "±", "bits/char", "±", "accuracy", "±", "ECE", "±",
             "confidence - accuracy", "±"],
            rows)
        report.add_table(
            "Temperature scaling (T fitted on the same held-out text: an upper bound on what it "
            "gives)",
            ["eps", "seed", "T", "NLL at T (nats/char)", "ECE at T", "NLL at 1", "ECE at 1"],
            [[str(e), str(s), scores[e, s]["temperature"], scores[e, s]["nll_at_temperature"],
              scores[e, s]["ece_at_temperature"], scores[e, s]["nll"], scores[e, s]["ece"]]
             for e in epsilons for s in seeds])

    def _plots(self, lab, report, scores, seeds, epsilons):
        seed = seeds[0]
        named = {f"eps={e}": scores[e, seed]["bins"] for e in epsilons}
        report.add_plot(lab.save_figure("reliability.png", reliability_figure(
            named, f"Next-character reliability (seed {seed})")),
            "Reliability diagram: accuracy against confidence per bin, one line per eps")
        series = {key: (list(epsilons), [statistics.fmean(scores[e, s][key] for s in seeds)
                                         for e in epsilons])
                  for key in ("nll", "ece")}
        report.add_plot(lab.save_figure("nll_and_ece.png", line_figure(
            series, "label smoothing eps", "nats/char (nll), ECE (ece)",
            "Held-out NLL and ECE against eps")),
            "Held-out NLL against the hard targets and ECE, against eps (mean over seeds)")

    def _samples(self, lab, report, seeds, epsilons):
        rows = []
        for epsilon in epsilons:
            loaded = lab.arms[f"eps{epsilon}-seed{seeds[0]}"].load()
            text = generate(loaded.model, loaded.tokenizer, [_SAMPLE_PROMPT],
                            max_new_tokens=40 if lab.smoke else 160, temperature=1.0,
                            # Smoothing gives the end-of-text id (absent from the training
                            # windows) eps / V of mass, enough to end a sample after a few
                            # characters: every sample gets its full length.
                            min_new_tokens=40 if lab.smoke else 160,
                            seed=0, jit_compile=lab.generation_jit_compile)[0]
            rows.append([str(epsilon), text.replace("\n", " / ").replace("|", "\\|")])
        report.add_table(f"Samples at temperature 1 from {_SAMPLE_PROMPT!r} (seed 0)",
                         ["eps", "sample"], rows)


def overconfidence(bins):
    """Mean confidence minus accuracy over every scored token (`ReliabilityBins`): above 0 the
    model is overconfident on the whole, below 0 underconfident; 0 with no tokens."""
    total = bins.counts.sum()
    if total <= 0:
        return 0.0
    return float((bins.counts * (bins.confidence - bins.accuracy)).sum() / total)


def _reading(scores, seeds, epsilons):
    def mean(epsilon, key):
        return statistics.fmean(scores[epsilon, s][key] for s in seeds)

    def spread(epsilon, key):
        return mean_spread(scores[epsilon, s][key] for s in seeds)[1]

    low, high = epsilons[0], epsilons[-1]
    best_ece = min(epsilons, key=lambda e: mean(e, "ece"))
    noisy = len(seeds) > 1
    nll_noise = max(spread(e, "nll") for e in epsilons) if noisy else None
    nll_change = compare_to_noise(mean(low, "nll") - mean(high, "nll"), nll_noise)
    lines = [
        f"Held-out NLL against the hard targets went from {mean(low, 'nll'):.4f} (eps={low}) "
        f"to {mean(high, 'nll'):.4f} nats/char (eps={high}): "
        + {"worse": "it worsened, as expected.",
           "better": "it improved, against the usual expectation.",
           "matches": "within the seeds' spread, so not shown to change.",
           "not judged": ("it worsened, as expected." if mean(high, "nll") > mean(low, "nll")
                          else "it did not worsen, against the usual expectation.")}[nll_change],
        f"ECE was {mean(low, 'ece'):.4f} at eps={low} and lowest at eps={best_ece} "
        f"({mean(best_ece, 'ece'):.4f})"
        + ("; smoothing improved calibration." if best_ece != low
           else "; no smoothing was best calibrated here."),
    ]
    if best_ece == low:
        lines.append(_contradiction(mean, epsilons))
    lines.append(_temperature_reading(scores, seeds, epsilons, mean, best_ece))
    if noisy:
        ece_noise = max(spread(e, "ece") for e in epsilons)
        lines.append(f"Seeds moved the NLL by at most ±{nll_noise:.4f} nats/char and the ECE by "
                     f"at most ±{ece_noise:.4f}; differences smaller than that are noise.")
    return lines


def _temperature_reading(scores, seeds, epsilons, mean, best_ece):
    """How close one temperature on the eps=0 model gets to the best smoothing's calibration."""
    low, high = epsilons[0], epsilons[-1]
    line = (f"Temperature scaling of the eps=0 model "
            f"(T={scores[low, seeds[0]]['temperature']:.3f}, fitted to the NLL) moved its NLL "
            f"from {mean(low, 'nll'):.4f} to "
            f"{mean(low, 'nll_at_temperature'):.4f} and its ECE from {mean(low, 'ece'):.4f} to "
            f"{mean(low, 'ece_at_temperature'):.4f}")
    if best_ece != low:
        return line + (
            f", against {mean(best_ece, 'ece'):.4f} for the best smoothing (eps={best_ece}): "
            + ("post-hoc scaling calibrates at least as well, without the NLL cost."
               if mean(low, "ece_at_temperature") <= mean(best_ece, "ece")
               else "smoothing calibrates better than one temperature."))
    return line + (
        ": with little overconfidence to remove, neither smoothing nor one temperature made it "
        f"better calibrated. Scaling a smoothed model instead (eps={high}, "
        f"T={scores[high, seeds[0]]['temperature']:.3f}) took its ECE from "
        f"{mean(high, 'ece'):.4f} to {mean(high, 'ece_at_temperature'):.4f}, "
        + ("still above" if mean(high, "ece_at_temperature") > mean(low, "ece")
           else "at or below") + " the unscaled eps=0 model's.")


def _contradiction(mean, epsilons):
    """Why smoothing did not improve calibration here, from the arms' confidence gaps."""
    gaps = ", ".join(f"{mean(e, 'overconfidence'):+.4f} at eps={e}" for e in epsilons)
    line = ("This contradicts the usual claim: Müller et al. (2019) found that smoothing "
            "calibrates image classifiers and translation models, which were overconfident "
            f"without it. Mean confidence minus accuracy was {gaps}.")
    low, high = epsilons[0], epsilons[-1]
    if abs(mean(low, "overconfidence")) < abs(mean(high, "overconfidence")) and (
            mean(high, "overconfidence") < 0):
        line += (" The eps=0 model was already close to calibrated, so the smoothed models, "
                 "trained to keep eps of their mass on every character, became underconfident "
                 "instead: a model trained for about one pass over its text has little "
                 "overconfidence for smoothing to remove.")
    return line
