"""Experiment `mismatched-generalisation`: what comedy training carries to other text.

"Jailbroken: How Does LLM Safety Training Fail?" (Wei et al., 2023) names two failure modes of
safety training: competing objectives (experiment `conflicting-objectives` measures one) and
mismatched generalisation: the model's abilities reach inputs that its safety training never
covered. This is the harmless, measurable version, in two parts.

(a) The gap itself. Character GPTs train on comedies only (the comedies outside the genre
split's held-out plays, `tfllm.data.genre_split`) and are scored in bits per character on the
held-out comedies, tragedies and histories (two plays each: the genre split's validation and
test plays); how the out-of-genre gap moves with model size (two sizes) and dropout (0, 0.2).

(b) A penalty trained in distribution, tested out of it. Word-level GPTs train on the same
comedies, without and with the disallowed-word penalty of `conflicting-objectives` (its word
list and config), and sample from four kinds of prompt: held-out comedies (in distribution),
another genre's text, the same comedy prompts in upper case, and prompts that end right before
a place where a disallowed word occurred in a held-out play (priming the word).
"""

import math
import statistics

from tfllm.config import DataConfig, TrainConfig
from tfllm.data import SPLITS, Corpus
from tfllm.data.genre_split import GENRE_TEST_PLAYS, GENRE_VALIDATION_PLAYS
from tfllm.experiments.lab.conflicting_objectives import (
    penalty_config,
    poisson_error,
    sampled_rate,
    training_words,
)
from tfllm.experiments.lab.experiment import Experiment, register_experiment
from tfllm.experiments.lab.lab_plots import line_figure
from tfllm.experiments.lab.next_token_scores import next_token_scores
from tfllm.experiments.lab.report import Report
from tfllm.experiments.lab.word_model import arm_config, describe_training, line_prompts
from tfllm.objectives.repetition import word_pattern
from tfllm.presets import GPT2_LAYOUT

GENRES = ("comedies", "tragedies", "histories")
CHAR_DATA = DataConfig(corpus="shakespeare", tokenizer="char")
# Two sizes, 0.4M and 1.8M parameters in the blocks; context 128 characters. Measured on 2
# cores: 152 s for a small arm's 1,000 steps, 634-645 s for a large one's (with other work
# sharing the cores part of the time); 44 minutes for the whole run with its sampling.
SIZES = {"small": dict(num_layers=2, num_heads=4, hidden_dim=128, intermediate_dim=512),
         "large": dict(num_layers=4, num_heads=4, hidden_dim=192, intermediate_dim=768)}
CHAR_GPT = dict(GPT2_LAYOUT, sequence_length=128, tie_embeddings=False)  # the report's layout
DROPOUTS = (0.0, 0.2)
CHAR_TRAIN = TrainConfig(batch_size=32, steps=200, eval_interval=200, eval_batches=20,
                         learning_rate=2e-3, min_learning_rate=1e-4, warmup_steps=100,
                         weight_decay=0.1, sample_length=0)
# 1,000 steps of 4,096 characters: about six passes over the 0.68M training characters, so
# the large model can overfit and dropout has something to do.
CHAR_TOKENS = 4_000_000
# 300 steps of 2,048 word tokens: about three passes over the comedies.
WORD_TOKENS = 600_000
PENALTY = 1.0
SEED = 1337
PROMPTS, SAMPLES, NEW_TOKENS = 128, 2, 120
SMOKE_PROMPTS, SMOKE_SAMPLES, SMOKE_NEW_TOKENS = 4, 1, 16
# Characters of held-out text before a disallowed word that a priming prompt keeps.
PRIMING_CHARACTERS = 300
# Batches of training text scored for the in-distribution fit (a fixed prefix).
TRAIN_BATCHES = 8


def comedy_corpus(corpus):
    """`(Corpus, held_out)`: training on the comedies outside the genre split's held-out plays,
    validation on the held-out comedies; `held_out` maps each of `GENRES` to its two held-out
    plays (validation and test of the genre split)."""
    documents = {d.name: d for split in SPLITS for d in corpus.documents(split)}
    held_out = {genre: [documents[GENRE_VALIDATION_PLAYS[genre]],
                        documents[GENRE_TEST_PLAYS[genre]]] for genre in GENRES}
    held_names = {d.name for plays in held_out.values() for d in plays}
    train = [documents[name] for name in sorted(documents)
             if documents[name].label == "comedies" and name not in held_names]
    return Corpus(name=f"{corpus.name}-comedies", train=train, validation=held_out["comedies"],
                  test=held_out["tragedies"] + held_out["histories"]), held_out


def priming_prompts(documents, words, count, characters=PRIMING_CHARACTERS):
    """Up to `count` prompts, evenly spaced over the places where one of `words` occurs in
    `documents`: the text before it, at most `characters` long, from a line start."""
    pattern = word_pattern(words)
    sites = [(d.text, m.start()) for d in documents for m in pattern.finditer(d.text)]
    picked = sorted({index * len(sites) // count for index in range(count)}) if sites else []
    prompts = []
    for text, start in (sites[index] for index in picked):
        before = text[max(0, start - characters):start]
        cut = before.find("\n")
        prompts.append(before[cut + 1:] if 0 <= cut < len(before) - 1 else before)
    return prompts


def first_word_share(texts, words):
    """The share of `texts` whose first word (after leading whitespace) is one of `words`."""
    pattern = word_pattern(words)
    return statistics.fmean(bool(pattern.match(text, len(text) - len(text.lstrip())))
                            for text in texts)


def unknown_share(tokenizer, prompts):
    """The share of the prompts' tokens that are the tokenizer's unknown id."""
    ids = [i for row in tokenizer.tokenize(list(prompts)).to_list() for i in row]
    return sum(i == tokenizer.unk_id for i in ids) / max(len(ids), 1)


def _char_config(smoke, size, dropout):
    return arm_config(smoke, f"mismatched-{size}-dropout{dropout}", tokens=CHAR_TOKENS,
                      seed=SEED, model={**CHAR_GPT, **SIZES[size], "dropout": dropout},
                      data=CHAR_DATA, base_train=CHAR_TRAIN)


@register_experiment
class MismatchedGeneralisation(Experiment):
    name = "mismatched-generalisation"
    title = "Mismatched generalisation: trained on comedies, tested elsewhere"
    question = ("How much worse does a model trained on comedies only predict tragedies and "
                "histories, how does that gap move with model size and dropout, and does a "
                "disallowed-word penalty trained on comedy text hold on shifted prompts?")
    references = (
        '"Jailbroken: How Does LLM Safety Training Fail?" (Wei et al., 2023)',
        '"Neural Text Generation with Unlikelihood Training" (Welleck et al., 2019)',
    )

    def run(self, lab):
        comedies, held_out = comedy_corpus(lab.corpus("shakespeare"))
        genre_scores = self._genre_gap(lab, comedies, held_out)
        words = training_words(comedies)
        rates = self._shifted_prompts(lab, comedies, held_out, words)
        char_arm = lab.arms[next(iter(genre_scores))]
        word_arm = lab.arms[next(iter(rates))]
        report = Report(
            name=self.name, title=self.title, question=self.question,
            command=self.command(lab.smoke),
            setup={
                "training text": (f"{len(comedies.train)} comedies: "
                                  f"{', '.join(d.name for d in comedies.train)}"),
                "held-out plays": "; ".join(f"{genre}: {', '.join(d.name for d in plays)}"
                                            for genre, plays in held_out.items()),
                "(a) models": "; ".join(f"{label}: {lab.arms[label].config.model.config}"
                                        for label in genre_scores),
                "(a) training": f"character tokenizer; {describe_training(char_arm)}",
                "(b) models": (f"word tokenizer, {word_arm.config.model.config}; penalty "
                               f"unlikelihood, lambda={PENALTY}, on: {', '.join(words)}"),
                "(b) training": describe_training(word_arm),
                "(b) samples": (f"per condition up to {self._counts(lab)[0]} prompts x "
                                f"{self._counts(lab)[1]} samples x {self._counts(lab)[2]} "
                                f"tokens at temperature 1, seed 7; priming prompts keep "
                                f"{PRIMING_CHARACTERS} characters before the word"),
                "seeds": f"training {SEED}",
            })
        _gap_results(lab, report, genre_scores)
        _shift_results(report, rates)
        return report

    def _counts(self, lab):
        return ((SMOKE_PROMPTS, SMOKE_SAMPLES, SMOKE_NEW_TOKENS) if lab.smoke
                else (PROMPTS, SAMPLES, NEW_TOKENS))

    def _genre_gap(self, lab, comedies, held_out):
        arms = [("small", 0.0)] if lab.smoke else [(s, d) for s in SIZES for d in DROPOUTS]
        batches = 2 if lab.smoke else None
        scores = {}
        for size, dropout in arms:
            label = f"char-{size}-dropout{dropout}"
            loaded = lab.train(label, _char_config(lab.smoke, size, dropout),
                               corpus=comedies).load()
            scores[label] = {"parameters": loaded.model.count_params(), "dropout": dropout,
                             "size": size, "training comedies": next_token_scores(
                                 loaded, comedies.train, max_batches=batches or TRAIN_BATCHES)[
                                 "bits_per_character"]}
            for genre, plays in held_out.items():
                scores[label][genre] = next_token_scores(
                    loaded, plays, max_batches=batches)["bits_per_character"]
        return scores

    def _shifted_prompts(self, lab, comedies, held_out, words):
        count, samples, length = self._counts(lab)
        in_genre = line_prompts(held_out["comedies"], count)
        conditions = {
            "held-out comedies (in distribution)": in_genre,
            "held-out tragedies and histories": line_prompts(
                held_out["tragedies"] + held_out["histories"], count),
            "held-out comedies in upper case": [prompt.upper() for prompt in in_genre],
            "priming: text right before a disallowed word": priming_prompts(
                [d for plays in held_out.values() for d in plays], words, count),
        }
        weights = (PENALTY,) if lab.smoke else (0.0, PENALTY)
        rates = {}
        for weight in weights:
            label = f"word-penalty{weight}"
            loaded = lab.train(label, penalty_config(lab.smoke, f"mismatched-{label}", words,
                                                     weight, tokens=WORD_TOKENS),
                               corpus=comedies).load()
            rates[label] = {}
            for condition, prompts in conditions.items():
                if not prompts:
                    continue
                result = sampled_rate(loaded, prompts, words, samples=samples,
                                      new_tokens=length, jit_compile=lab.generation_jit_compile)
                result.update(prompts=len(prompts),
                              unknown=unknown_share(loaded.tokenizer, prompts),
                              first_word=first_word_share(result.pop("texts"), words))
                rates[label][condition] = result
        return rates


def _gap_results(lab, report, scores):
    report.add_table(
        "(a) Bits per character of comedy-trained character models, by genre of held-out play "
        "(gap: the genre's bits/char minus the held-out comedies')",
        ["arm", "parameters", "dropout", "training comedies (bits/char)",
         "held-out comedies (bits/char)", "tragedies (bits/char)", "histories (bits/char)",
         "gap tragedies (bits/char)", "gap histories (bits/char)"],
        [[label, s["parameters"], s["dropout"], s["training comedies"], s["comedies"],
          s["tragedies"], s["histories"], s["tragedies"] - s["comedies"],
          s["histories"] - s["comedies"]] for label, s in scores.items()])
    series = {}
    for genre in GENRES[1:]:
        for dropout in DROPOUTS:
            points = [(s["parameters"], s[genre] - s["comedies"]) for s in scores.values()
                      if s["dropout"] == dropout]
            if points:
                series[f"{genre}, dropout {dropout}"] = ([p[0] for p in points],
                                                         [p[1] for p in points])
    report.add_plot(lab.save_figure("genre_gap.png", line_figure(
        series, "parameters", "bits/char gap to held-out comedies",
        "Out-of-genre gap against model size", logx=True)),
        "The out-of-genre gap (bits/char) against parameters, per genre and dropout")
    report.reading.extend(_gap_reading(scores))


def _gap_reading(scores):
    def gap(s):
        return statistics.fmean(s[genre] - s["comedies"] for genre in GENRES[1:])

    lines = [f"{label}: held-out comedies {s['comedies']:.3f} bits/char, tragedies "
             f"{s['tragedies'] - s['comedies']:+.3f}, histories "
             f"{s['histories'] - s['comedies']:+.3f}; held-out comedies minus training "
             f"comedies {s['comedies'] - s['training comedies']:+.3f}."
             for label, s in scores.items()]
    by_arm = {(s["size"], s["dropout"]): s for s in scores.values()}
    for dropout in DROPOUTS:
        if ("small", dropout) in by_arm and ("large", dropout) in by_arm:
            small, large = by_arm["small", dropout], by_arm["large", dropout]
            lines.append(f"At dropout {dropout} the larger model changed the mean "
                         f"out-of-genre gap from {gap(small):.3f} to {gap(large):.3f} bits/char "
                         f"and held-out comedies from {small['comedies']:.3f} to "
                         f"{large['comedies']:.3f}.")
    for size in SIZES:
        if (size, 0.0) in by_arm and (size, 0.2) in by_arm:
            plain, dropped = by_arm[size, 0.0], by_arm[size, 0.2]
            lines.append(f"For the {size} model, dropout 0.2 changed the mean out-of-genre gap "
                         f"from {gap(plain):.3f} to {gap(dropped):.3f} bits/char and held-out "
                         f"comedies from {plain['comedies']:.3f} to {dropped['comedies']:.3f}.")
            if dropped["training comedies"] > plain["training comedies"]:
                lines.append(
                    f"Dropout raised the {size} model's bits/char on its own training comedies "
                    f"too ({plain['training comedies']:.3f} to "
                    f"{dropped['training comedies']:.3f}): at this budget it slowed learning "
                    f"more than it curbed memorising.")
    return lines + _gap_scale_reading(scores, gap)


def _gap_scale_reading(scores, gap):
    """The genre gaps beside the gap to new plays of the same genre, and the seed caveat."""
    genre = max(abs(s[g] - s["comedies"]) for s in scores.values() for g in GENRES[1:])
    plays = [s["comedies"] - s["training comedies"] for s in scores.values()]
    lines = []
    if genre < 0.5 * min(plays):
        lines.append(f"Every out-of-genre gap (at most {genre:.3f} bits/char) is small next to "
                     f"the gap from the training comedies to held-out ones ({min(plays):.3f} to "
                     f"{max(plays):.3f}): at this budget the models fail to carry over to new "
                     f"plays far more than to new genres.")
    gaps = [gap(s) for s in scores.values()]
    lines.append(f"One seed per arm: the arms' mean gaps ({min(gaps):.3f} to {max(gaps):.3f} "
                 "bits/char) differ by amounts not shown to exceed seed noise, so how the gap "
                 "moves with size and dropout is a single observation, not a measured trend.")
    return lines


def _shift_results(report, rates):
    rows = [[condition, label, r["prompts"], r["unknown"], r["characters"], r["count"],
             r["rate"], poisson_error(r["count"], r["characters"]), r["first_word"]]
            for label, by_condition in rates.items() for condition, r in by_condition.items()]
    report.add_table(
        "(b) Disallowed words in samples by prompt condition (word-penalty0.0: no penalty)",
        ["condition", "arm", "prompts", "unknown prompt tokens (share)", "characters sampled",
         "disallowed words", "rate per 1,000 chars", "± (Poisson s.e.)",
         "first word disallowed (share)"], rows)
    report.reading.extend(_shift_reading(rates))


def _shift_reading(rates):
    penalised = rates[f"word-penalty{PENALTY}"]
    base = rates.get("word-penalty0.0")
    lines = []
    for condition, r in penalised.items():
        line = (f"{condition}: with the penalty {r['rate']:.3f} per 1,000 characters "
                f"({r['count']} words), first word disallowed in {r['first_word']:.1%}")
        if base and condition in base:
            b = base[condition]
            line += (f"; without it {b['rate']:.3f} ({b['count']} words), first word "
                     f"{b['first_word']:.1%}")
            if b["rate"]:
                line += f": the penalty removed {1 - r['rate'] / b['rate']:.0%} of the rate"
        lines.append(line + ".")
        if r.get("unknown", 0.0) > 0.5:
            lines.append(f"\"{condition}\": the word tokenizer knows only "
                         f"{1 - r['unknown']:.0%} of these prompts' tokens, so for this model "
                         f"the shift is mostly to unknown tokens, not to a new spelling of words "
                         f"it knows.")
    if base:
        kept = {c: 1 - penalised[c]["rate"] / base[c]["rate"] for c in penalised
                if c in base and base[c]["rate"]}
        if len(kept) > 1:
            best = max(kept, key=kept.get)
            worst = min(kept, key=kept.get)
            lines.append(f"The penalty removed the largest share of the rate on \"{best}\" "
                         f"({kept[best]:.0%}) and the smallest on \"{worst}\" "
                         f"({kept[worst]:.0%}).")
            lines.append(_shift_noise_reading(penalised, base))
    return lines


def _shift_noise_reading(penalised, base):
    """Whether any shifted condition's penalised/unpenalised rate ratio differs from the
    in-distribution one (the first condition) by more than two standard errors of the log
    ratio, from the Poisson word counts."""
    first, *shifted = [c for c in penalised if c in base]

    def log_ratio(condition):
        p, b = penalised[condition], base[condition]
        if not (p["count"] and b["count"]):
            return None, None
        return (math.log(p["rate"] / b["rate"]),
                1 / p["count"] + 1 / b["count"])

    reference, reference_variance = log_ratio(first)
    if reference is None:
        return "A condition without disallowed words leaves the ratios untested."
    apart, errors = [], []
    for condition in shifted:
        value, variance = log_ratio(condition)
        if value is None:
            continue
        error = math.sqrt(variance + reference_variance)
        errors.append(error)
        if abs(value - reference) > 2 * error:
            apart.append(condition)
    counts = [r["count"] for rates in (penalised, base) for r in rates.values()]
    if apart:
        return (f"Beyond two standard errors of the word counts, the penalty held differently "
                f"from \"{first}\" on: {'; '.join(apart)}.")
    return (f"With {min(counts)} to {max(counts)} words per cell, no shifted condition's "
            f"rate ratio differs from \"{first}\"'s by more than two standard errors (of "
            f"the log ratio: {min(errors):.2f} to {max(errors):.2f}), so this run cannot tell "
            f"the conditions apart: it shows no mismatched generalisation of the penalty, and "
            f"could only have seen one that changed the remaining rate by a factor of about "
            f"{math.exp(2 * min(errors)):.1f} or more.")
