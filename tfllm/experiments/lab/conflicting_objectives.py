"""Experiment `conflicting-objectives`: a word penalty against the likelihood of the text.

The plays swear. `DISALLOWED_WORDS` lists their mild oaths and curses ("marry" = by the Virgin
Mary, "'zounds" = by God's wounds, "'sblood", "perdy" = par Dieu, "pox", "damned", ...), words
that really occur in the training plays (the report counts them), each one token of the word
tokenizer. A word-level GPT trains with

    loss = cross-entropy + lambda x penalty(p of the disallowed ids)

for lambda in {0, 0.3, 1, 3} with the unlikelihood penalty -sum_c log(1 - p_c) and, at lambda = 1,
the probability-mass penalty sum_c p_c (`tfllm.objectives.unlikelihood`), and lambda = 0
again at a second seed, whose distance from the first is the seed noise. The two objectives
conflict wherever the text does say one of the words: the penalty must raise the NLL there.
Each arm is scored by held-out bits per character (and the NLL on the disallowed-word tokens
apart) and by the rate of disallowed words per 1,000 characters it generates (samples at
temperature 1 from fixed prompts and seeds). Beside them, on the same plot, the decoding-time
fix at zero training cost: the lambda = 0 model sampled with `generate(banned_words=...)`.
"""

import math

import numpy as np
import tensorflow as tf

from tfllm.data import SPLITS
from tfllm.experiments.lab.experiment import Experiment, register_experiment
from tfllm.experiments.lab.lab_plots import scatter_figure
from tfllm.experiments.lab.report import Report
from tfllm.experiments.lab.seed_noise import compare_to_noise
from tfllm.experiments.lab.word_model import (
    arm_config,
    continuations,
    describe_training,
    line_prompts,
    one_line,
    single_token_words,
    token_spellings,
)
from tfllm.objectives.repetition import count_words, rate_per_thousand_characters
from tfllm.tasks import get_task
from tfllm.tasks.training_objective import penalty_token_ids
from tfllm.tokenizers import build_tokenizer

# Mild oaths and curses of the plays, counted as words whatever their sense in a given line
# ("faith" is also a noun). A word that is not one token of the arm's tokenizer (too rare for
# its vocabulary) is left out of the penalty; the report says which.
DISALLOWED_WORDS = ("marry", "faith", "'faith", "forsooth", "'zounds", "zounds", "'sblood",
                    "'swounds", "'slid", "'sdeath", "perdy", "pox", "damn", "damned")
LAMBDAS = (0.0, 0.3, 1.0, 3.0)
SMOKE_LAMBDAS = (0.0, 1.0)
# The second penalty, at one weight (in full runs only).
MASS_LAMBDA = 1.0
SEED = 1337
# The likelihood arm again at a second seed (full runs only): how far held-out bits/char and
# the sampled rate move with the seed alone, the yardstick the penalties' costs are read against.
NOISE_SEED = 1338
SAMPLE_SEED = 7
# 600 steps of 2,048 tokens, about one pass over the training plays; the word penalty adds
# about a quarter to a step. Measured on 2 cores: 248 s for the lambda=0 arm, 316-387 s for a
# penalised one, 36 minutes for the whole run with its sampling.
TOKENS = 1_200_000
# 256 prompts x 2 samples x 160 tokens: about 300,000 characters per arm, enough to count the
# words, which the training plays use together about 0.21 times per 1,000 characters, some 60
# times.
PROMPTS, SAMPLES, NEW_TOKENS = 256, 2, 160
SMOKE_PROMPTS, SMOKE_SAMPLES, SMOKE_NEW_TOKENS = 8, 1, 24


def training_words(corpus):
    """The words of `DISALLOWED_WORDS` that the penalty can name: one token (in some casing)
    of the word tokenizer an arm learns from `corpus.train` (the same call as training's)."""
    tokenizer = build_tokenizer("word", [document.text for document in corpus.train])
    return single_token_words(tokenizer, DISALLOWED_WORDS)


def penalty_config(smoke, name, words, weight, *, penalty="unlikelihood", tokens=TOKENS,
                   seed=SEED):
    """A word-level arm trained with `weight` x `penalty` on `words` (none when weight is 0)."""
    extra = dict(penalty_words=",".join(words), penalty=penalty, penalty_weight=weight)
    return arm_config(smoke, name, tokens=tokens, seed=seed, **(extra if weight else {}))


def held_out(corpus):
    """The held-out plays: the validation and test documents."""
    return list(corpus.validation) + list(corpus.test)


def nll_on_words(loaded, documents, words, *, batch_size=64):
    """Held-out NLL split by target: `{"bits_per_character", "nll_words", "nll_other",
    "word_tokens"}`: bits per character over every token, the mean nats per token on targets
    that are a disallowed word (NaN when none occurs) and on the others."""
    task = get_task(loaded.config.task)
    dataset, characters_per_token = task.evaluation_data(
        documents, loaded.tokenizer, task.lengths(loaded.config.model.config), batch_size)
    ids = tf.constant(penalty_token_ids(loaded.tokenizer, ",".join(words)), tf.int32)
    model = loaded.model

    @tf.function
    def sums(x, labels, weights):
        logits = tf.cast(model(x, training=False), tf.float32)  # (B, T, V)
        labels = tf.cast(labels, tf.int32)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        weights = tf.cast(weights, tf.float32)
        on_word = weights * tf.cast(tf.reduce_any(labels[..., None] == ids, axis=-1),
                                    tf.float32)  # (B, T)
        return tf.stack([tf.reduce_sum(nll * on_word), tf.reduce_sum(on_word),
                         tf.reduce_sum(nll * (weights - on_word)),
                         tf.reduce_sum(weights - on_word)])

    totals = np.zeros(4)
    for x, labels, weights in dataset:
        totals += sums(x, labels, weights).numpy()
    nll = (totals[0] + totals[2]) / (totals[1] + totals[3])
    return {"bits_per_character": nll / math.log(2) / characters_per_token,
            "nll_words": totals[0] / totals[1] if totals[1] else float("nan"),
            "nll_other": totals[2] / totals[3], "word_tokens": int(totals[1])}


def sampled_rate(loaded, prompts, words, *, samples, new_tokens, seed=SAMPLE_SEED,
                 banned=False, jit_compile="auto"):
    """Samples at temperature 1 and counts `words` in them: `{"rate", "count", "characters",
    "texts"}` (rate per 1,000 characters); `banned` bans every one-token spelling of `words`;
    `jit_compile` is `generate`'s (`LabRun.generation_jit_compile`)."""
    options = dict(banned_words=token_spellings(loaded.tokenizer, words)) if banned else {}
    options["jit_compile"] = jit_compile
    texts = [g.text for g in continuations(loaded, prompts, max_new_tokens=new_tokens,
                                           temperature=1.0, seed=seed, samples=samples,
                                           **options)]
    return {"rate": rate_per_thousand_characters(texts, words), "count": count_words(texts, words),
            "characters": sum(len(text) for text in texts), "texts": texts}


def poisson_error(count, characters):
    """One standard error of a rate per 1,000 characters from `count` events (sqrt(count),
    or 1 when none was seen, a rough upper scale for a zero count)."""
    return 1000.0 * math.sqrt(max(count, 1)) / characters


def pareto_front(points):
    """Indices of the points `(x, y)` that no other point dominates (lower or equal in both,
    lower in one): the front when both are costs."""
    return [i for i, (x, y) in enumerate(points)
            if not any(u <= x and v <= y and (u < x or v < y) for u, v in points)]


def word_table(corpus, words):
    """Rows `[word, one token?, in training plays, in held-out plays]` for `DISALLOWED_WORDS`."""
    texts = {split: [d.text for d in corpus.documents(split)] for split in SPLITS}
    return [[word, "yes" if word in words else "no (left out)",
             count_words(texts["train"], [word]),
             count_words(texts["validation"] + texts["test"], [word])]
            for word in DISALLOWED_WORDS]


@register_experiment
class ConflictingObjectives(Experiment):
    name = "conflicting-objectives"
    title = "A disallowed-word penalty against the likelihood of the text"
    question = ("What does a penalty on disallowed words (cross-entropy + lambda x penalty, "
                "lambda in 0, 0.3, 1, 3) cost in held-out bits per character, how far does it "
                "lower the words' rate in samples, and where does banning them at decoding "
                "(no training) sit on the same front?")
    references = (
        '"Neural Text Generation with Unlikelihood Training" (Welleck et al., 2019)',
        '"Jailbroken: How Does LLM Safety Training Fail?" (Wei et al., 2023)',
    )

    def run(self, lab):
        corpus = lab.corpus("shakespeare")
        words = training_words(corpus)
        arms = [("unlikelihood", weight) for weight in (SMOKE_LAMBDAS if lab.smoke else LAMBDAS)]
        if not lab.smoke:
            arms.append(("probability_mass", MASS_LAMBDA))
        count, samples, length = ((SMOKE_PROMPTS, SMOKE_SAMPLES, SMOKE_NEW_TOKENS) if lab.smoke
                                  else (PROMPTS, SAMPLES, NEW_TOKENS))
        prompts = line_prompts(held_out(corpus), count)
        scores = {}
        runs = [(_label(penalty, weight), penalty, weight, SEED) for penalty, weight in arms]
        if not lab.smoke:
            runs.append((SEED_ARM, "unlikelihood", 0.0, NOISE_SEED))
        for label, penalty, weight, seed in runs:
            arm = lab.train(label, penalty_config(lab.smoke, f"conflicting-{label}", words,
                                                  weight, penalty=penalty, seed=seed),
                            corpus=corpus)
            loaded = arm.load()
            held = nll_on_words(loaded, held_out(corpus), words)
            for banned in (False, True) if label == _label("unlikelihood", 0.0) else (False,):
                scores["ban" if banned else label] = dict(held, **sampled_rate(
                    loaded, prompts, words, samples=samples, new_tokens=length, banned=banned,
                    jit_compile=lab.generation_jit_compile))
        first = lab.arms[_label(*arms[0])]
        texts = [d.text for d in held_out(corpus)]
        report = Report(
            name=self.name, title=self.title, question=self.question,
            command=self.command(lab.smoke),
            setup={
                "model": f"{first.config.model.class_name} {first.config.model.config}",
                "data": (f"shakespeare (word tokenizer); held-out plays (scoring and prompts): "
                         f"{', '.join(d.name for d in held_out(corpus))}"),
                "disallowed words": ", ".join(words),
                "training": describe_training(first),
                "seeds": (f"training {SEED}" + ("" if lab.smoke else
                                                 f" (and {NOISE_SEED} for lambda=0 again)")
                          + f"; sampling {SAMPLE_SEED}"),
                "samples": (f"{len(prompts)} prompts (the first 6 words of spoken lines of the "
                            f"held-out plays, evenly spaced) x {samples} samples x {length} "
                            f"tokens at temperature 1"),
                "held-out text's own rate": (f"{rate_per_thousand_characters(texts, words):.3f} "
                                             f"per 1,000 characters"),
            })
        report.add_table("The disallowed words and their occurrences (whole words, any case)",
                         ["word", "one token", "training plays", "held-out plays"],
                         word_table(corpus, words))
        self._results(lab, report, scores, arms)
        return report

    def _results(self, lab, report, scores, arms):
        keys = [_label(*arm) for arm in arms] + ["ban"] + [k for k in (SEED_ARM,) if k in scores]
        front = {keys[i] for i in pareto_front(
            [(scores[k]["bits_per_character"], scores[k]["rate"]) for k in keys])}
        report.add_table(
            "Held-out likelihood and sampled rate per arm (the ban samples the lambda=0 model, "
            "whose held-out scores it keeps; it gives the banned spellings probability 0)",
            ["arm", "held-out bits/char", "NLL on disallowed words (nats/token)",
             "NLL on other tokens (nats/token)", "characters sampled", "disallowed words",
             "rate per 1,000 chars", "± (Poisson s.e.)", "on the front"],
            [[_name(k), scores[k]["bits_per_character"], _maybe(scores[k]["nll_words"]),
              scores[k]["nll_other"], scores[k]["characters"], scores[k]["count"],
              scores[k]["rate"], poisson_error(scores[k]["count"], scores[k]["characters"]),
              "yes" if k in front else "no"] for k in keys])
        groups = {"unlikelihood penalty (lambda)": [
            (scores[k]["bits_per_character"], scores[k]["rate"], k.split("-")[-1])
            for k in keys if k.startswith("unlikelihood")]}
        for k in keys:
            if not k.startswith("unlikelihood"):
                groups[_name(k)] = [(scores[k]["bits_per_character"], scores[k]["rate"], "")]
        report.add_plot(lab.save_figure("bits_vs_rate.png", scatter_figure(
            groups, "held-out bits per character", "disallowed words per 1,000 characters",
            "Likelihood against the penalised words' rate")),
            "Held-out bits/char against the sampled rate of disallowed words; lower-left wins")
        report.reading.extend(_reading(scores, keys, front))
        report.add_table("First sample per arm", ["arm", "sample"],
                         [[_name(k), one_line(scores[k]["texts"][0])] for k in keys])


SEED_ARM = f"likelihood-seed{NOISE_SEED}"


def _label(penalty, weight):
    return f"{penalty}-{weight}"


def _name(key):
    if key == "ban":
        return "lambda=0 + banned_words at decoding"
    if key == SEED_ARM:
        return f"lambda=0 (likelihood), seed {NOISE_SEED}"
    penalty, weight = key.rsplit("-", 1)
    return "lambda=0 (likelihood)" if float(weight) == 0 else f"{penalty}, lambda={weight}"


def _weight(key):
    return float(key.rsplit("-", 1)[1])


def _maybe(value):
    return "-" if math.isnan(value) else value


def _reading(scores, keys, front):
    trained = [k for k in keys if k not in ("ban", SEED_ARM)]
    base, top = scores[trained[0]], scores[max(
        (k for k in trained if k.startswith("unlikelihood")), key=_weight)]
    sweep = [scores[k]["rate"] for k in trained if k.startswith("unlikelihood")]
    lines = [
        f"With likelihood alone the samples held {base['count']} disallowed words in "
        f"{base['characters']:,} characters ({base['rate']:.3f} per 1,000); the strongest "
        f"unlikelihood penalty left {top['count']} ({top['rate']:.3f}), at held-out "
        f"{top['bits_per_character']:.4f} bits/char against {base['bits_per_character']:.4f} "
        f"({top['bits_per_character'] - base['bits_per_character']:+.4f}).",
        "Along the unlikelihood sweep the rate "
        + ("never rose as lambda grew." if all(b <= a for a, b in zip(sweep, sweep[1:]))
           else "did not fall monotonically with lambda (sampling noise is the ± column)."),
    ]
    if not math.isnan(base["nll_words"]) and not math.isnan(top["nll_words"]):
        lines.append(
            f"The conflict: on the held-out tokens that are disallowed words the NLL went from "
            f"{base['nll_words']:.2f} to {top['nll_words']:.2f} nats ({base['word_tokens']} "
            f"tokens), on all other tokens from {base['nll_other']:.4f} to "
            f"{top['nll_other']:.4f}.")
    mass = [k for k in trained if k.startswith("probability_mass")]
    for key in mass:
        twin = scores.get(f"unlikelihood-{key.rsplit('-', 1)[1]}")
        if twin:
            lines.append(_mass_reading(scores[key], twin))
    ban = scores["ban"]
    beaten = [k for k in trained if ban["bits_per_character"] <= scores[k]["bits_per_character"]
              and ban["rate"] <= scores[k]["rate"] and (ban["rate"], ban["bits_per_character"])
              != (scores[k]["rate"], scores[k]["bits_per_character"])]
    lines.extend(_noise_reading(scores, trained, scores.get(SEED_ARM)))
    lines.append(
        f"Banning at decoding gave rate {ban['rate']:.3f} ({ban['count']} words) at the "
        f"likelihood model's {ban['bits_per_character']:.4f} bits/char, with no training; it "
        f"dominates {len(beaten)} of the {len(trained)} trained arms. On the front: "
        f"{'; '.join(_name(k) for k in keys if k in front)}. The ban acts only where the "
        f"decoder applies it, on the spellings it lists; the penalty is in the weights "
        f"(mismatched-generalisation tests how far that carries).")
    return lines


def _mass_reading(mass, unlikelihood):
    line = (f"At the same lambda, probability mass left rate {mass['rate']:.3f} at "
            f"{mass['bits_per_character']:.4f} bits/char, unlikelihood {unlikelihood['rate']:.3f} "
            f"at {unlikelihood['bits_per_character']:.4f}.")
    if abs(mass["bits_per_character"] - unlikelihood["bits_per_character"]) < 1e-3:
        line += (" The two penalties train almost the same model because each disallowed "
                 "word's probability p_c is small: unlikelihood's -log(1 - p_c) = p_c + "
                 "p_c^2/2 + ... is the mass p_c to first order, and their gradients differ by "
                 "a factor 1/(1 - p_c) close to 1.")
    return line


def _apart(distance):
    """A distance in bits/char, at the tables' 4 decimals unless that would print 0.0000."""
    return f"{distance:.4f} apart" if distance >= 5e-5 else "less than 0.0001 apart"


def _noise_reading(scores, trained, reseeded=None):
    """How the arms' held-out bits/char compare with seed noise: the likelihood arm's distance
    from itself at another seed (`reseeded`, its scores) when there is one; otherwise a warning
    when the arms are too close to rank with one seed."""
    base = scores[trained[0]]
    if reseeded is not None:
        noise = abs(reseeded["bits_per_character"] - base["bits_per_character"])
        judged = {k: compare_to_noise(base["bits_per_character"] - scores[k]["bits_per_character"],
                                      noise) for k in trained[1:]}
        higher = [_name(k) for k in trained[1:] if judged[k] == "worse"]
        lower = [_name(k) for k in trained[1:] if judged[k] == "better"]
        line = (f"Seed noise: the likelihood arm at seed {NOISE_SEED} scored "
                f"{reseeded['bits_per_character']:.4f} bits/char against "
                f"{base['bits_per_character']:.4f} at seed {SEED} ({_apart(noise)}) and "
                f"sampled {reseeded['rate']:.3f} disallowed words per 1,000 characters against "
                f"{base['rate']:.3f}. ")
        if higher and lower:
            # Two seeds give one distance: a rough yardstick, and gaps beyond it both ways say
            # the arms differ by noise of that size, not that a penalty costs or helps.
            line += (f"Beyond that distance the gaps go both ways (higher: {', '.join(higher)}; "
                     f"lower: {', '.join(lower)}), so one distance between two seeds "
                     f"understates the noise here and no penalty is shown to cost held-out "
                     f"likelihood: its cost stays on the disallowed words' own tokens.")
        elif higher:
            line += (f"Higher than the likelihood arm by more than that: {', '.join(higher)}; "
                     f"those paid for the penalty in held-out likelihood (a yardstick of one "
                     f"distance between two seeds).")
        elif lower:
            line += (f"Lower than the likelihood arm by more than that: {', '.join(lower)}; "
                     f"no penalty cost held-out likelihood here.")
        else:
            line += ("No penalised arm's bits/char is higher than the likelihood arm's by more "
                     "than that, so no penalty is shown to cost held-out likelihood here.")
        return [line]
    bits = [scores[k]["bits_per_character"] for k in trained]  # one seed: their span alone
    if max(bits) - min(bits) >= 0.005 * max(bits):
        return []
    return [f"The trained arms' held-out bits/char span {max(bits) - min(bits):.4f} "
            f"({min(bits):.4f} to {max(bits):.4f}), under 0.5%, with one seed per arm: "
            "differences this small are not shown to exceed seed noise, so no arm is shown to "
            "pay for its penalty in held-out likelihood, and the front's order along bits/char "
            "is not established. Along the rate, differences wider than the ± column are."]
