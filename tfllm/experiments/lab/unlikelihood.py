"""Experiment `unlikelihood-vs-repetition`: does token-level unlikelihood stop greedy loops?

Greedy decoding of a likelihood-trained language model falls into loops ("the king, the king,
the king"). Token-level unlikelihood (Welleck et al., "Neural Text Generation with Unlikelihood
Training", 2019) adds alpha x -sum_c log(1 - p_c) over the tokens c already in the window, so
the model itself learns to put less mass on repeating its context. A word-level GPT
(`word_model.WORD_GPT`, the same token budget per arm) trains with alpha in {0, 0.5, 1}; each
arm continues the same held-out prompts (prefixes of spoken lines of the validation plays)
greedily, the setting where repetition shows (sampling hides it), and is scored by seq-rep-4
(`tfllm.objectives.repetition`) against its validation perplexity. Beside them, the fix at
decoding time with no training: `no_repeat_ngram_size=4` on the likelihood model (seq-rep-4
is then 0 by construction: no 4-gram may occur twice in prompt and continuation).

Published anchor (Welleck et al., 2019, Wikitext-103, greedy continuations): seq-rep-4 0.442
with likelihood and 0.283 with token-level unlikelihood, perplexity 25.6 -> 26.9.
"""

from tfllm.data import DOCUMENT_SEPARATOR, tokenize_corpus_text
from tfllm.experiments.lab.experiment import Experiment, register_experiment
from tfllm.experiments.lab.lab_plots import scatter_figure
from tfllm.experiments.lab.report import Report
from tfllm.experiments.lab.word_model import (
    arm_config,
    continuations,
    describe_training,
    line_prompts,
    one_line,
)
from tfllm.objectives.repetition import mean_seq_rep_n

ALPHAS = (0.0, 0.5, 1.0)
SMOKE_ALPHAS = (0.0, 1.0)
SEED = 1337
# 600 steps of 2,048 tokens: about 1.1 passes over the 1.13M training tokens. Unlikelihood
# triples the cost of a step (its candidates are a (B, T, V) tensor: 16 x 128 x 20,000), so
# this budget keeps an alpha > 0 arm to about 6 minutes on 2 idle cores (estimated from 1.57 s
# per step measured on 2 shared cores, 0.55 s without unlikelihood).
TOKENS = 1_200_000
PROMPTS, NEW_TOKENS = 100, 100
SMOKE_PROMPTS, SMOKE_NEW_TOKENS = 4, 16
PROMPT_WORDS = 6
NGRAM = 4
# Welleck et al. (2019), Table 2: Wikitext-103, greedy, token-level unlikelihood.
PUBLISHED = {"likelihood": (0.442, 25.6), "token-level unlikelihood": (0.283, 26.9)}


def _config(smoke, alpha):
    return arm_config(smoke, f"unlikelihood-{alpha}", tokens=TOKENS, seed=SEED,
                      unlikelihood=alpha)


def held_out_windows(tokenizer, documents, count, length):
    """`count` windows of `length` token ids of the documents' text, evenly spaced (held-out
    text's own seq-rep at the continuations' length)."""
    ids = tokenize_corpus_text(tokenizer, DOCUMENT_SEPARATOR.join(
        d.text.strip("\n") for d in documents)).tolist()
    room = max(len(ids) - length, 0)
    return [ids[index * room // count:index * room // count + length] for index in range(count)]


def continuation_scores(generations):
    """seq-rep-4 and the number of distinct tokens over all continuations."""
    tokens = [list(g.token_ids) for g in generations]
    return {"seq_rep": mean_seq_rep_n(tokens, NGRAM),
            "distinct": len({t for row in tokens for t in row})}


@register_experiment
class UnlikelihoodVsRepetition(Experiment):
    name = "unlikelihood-vs-repetition"
    title = "Token-level unlikelihood against greedy repetition"
    question = ("Does token-level unlikelihood (alpha in 0, 0.5, 1) lower the repetition of a "
                "word-level GPT's greedy continuations (seq-rep-4), at what cost in validation "
                "perplexity, and how does it compare with no_repeat_ngram_size=4 at decoding?")
    references = (
        '"Neural Text Generation with Unlikelihood Training" (Welleck et al., 2019)',
        '"The Curious Case of Neural Text Degeneration" (Holtzman et al., 2020)',
    )

    def run(self, lab):
        alphas = SMOKE_ALPHAS if lab.smoke else ALPHAS
        count, length = (SMOKE_PROMPTS, SMOKE_NEW_TOKENS) if lab.smoke else (PROMPTS, NEW_TOKENS)
        corpus = lab.corpus("shakespeare")
        prompts = line_prompts(corpus.validation, count, words=PROMPT_WORDS)
        scores, samples = {}, {}
        for alpha in alphas:
            arm = lab.train(f"alpha{alpha}", _config(lab.smoke, alpha), corpus=corpus)
            loaded = arm.load()
            decodings = {alpha: {}}
            if alpha == 0.0:  # the decoding-time fix, on the likelihood model
                decodings["no-repeat"] = {"no_repeat_ngram_size": NGRAM}
            for key, options in decodings.items():
                generations = continuations(loaded, prompts, max_new_tokens=length,
                                            temperature=0.0,
                                            jit_compile=lab.generation_jit_compile, **options)
                scores[key] = dict(continuation_scores(generations), **_validation(arm))
                samples[key] = generations[0].text
        tokenizer = loaded.tokenizer
        human = mean_seq_rep_n(held_out_windows(tokenizer, corpus.validation, len(prompts),
                                                length), NGRAM)
        first = lab.arms[f"alpha{alphas[0]}"]
        report = Report(
            name=self.name, title=self.title, question=self.question,
            command=self.command(lab.smoke),
            setup={
                "model": f"{first.config.model.class_name} {first.config.model.config}",
                "data": (f"{first.config.data.corpus} (word tokenizer, "
                         f"{tokenizer.vocabulary_size:,} ids), validation plays: "
                         f"{', '.join(d.name for d in corpus.validation)}"),
                "training": describe_training(first),
                "seeds": f"training {SEED}; greedy decoding needs none",
                "prompts": (f"{len(prompts)} fixed prompts, the first {PROMPT_WORDS} words of "
                            f"spoken lines of the validation plays evenly spaced, e.g. "
                            f"{prompts[0]!r}; {length} new tokens each, greedy"),
            })
        self._tables(report, scores, alphas, human)
        report.add_plot(lab.save_figure("perplexity_vs_seq_rep.png", _figure(scores, alphas)),
                        "Validation perplexity against seq-rep-4 of greedy continuations")
        report.reading.extend(_reading(scores, alphas, human))
        report.add_table("Greedy continuation of the first prompt", ["arm", "sample"],
                         [[_label(key), one_line(samples[key])] for key in (*alphas, "no-repeat")])
        return report

    def _tables(self, report, scores, alphas, human):
        rows = [[_label(key), scores[key]["perplexity"], scores[key]["bits_per_character"],
                 scores[key]["accuracy"], scores[key]["seq_rep"], scores[key]["distinct"]]
                for key in (*alphas, "no-repeat")]
        rows.append(["held-out text (windows of the same length)", "-", "-", "-", human, "-"])
        report.add_table(
            "Validation scores and greedy continuations (no-repeat decoding reuses the alpha=0 "
            "model, so its validation figures are that model's)",
            ["arm", "val perplexity (per word token)", "val bits/char", "val accuracy",
             f"seq-rep-{NGRAM}", "distinct tokens"], rows)
        likelihood, unlikelihood = PUBLISHED["likelihood"], PUBLISHED["token-level unlikelihood"]
        report.add_table(
            "Published anchor beside this run: seq-rep-4 of greedy continuations and perplexity",
            ["source", "likelihood seq-rep-4", "unlikelihood seq-rep-4", "likelihood ppl",
             "unlikelihood ppl"],
            [["Welleck et al. 2019, Wikitext-103 (token-level)", likelihood[0], unlikelihood[0],
              likelihood[1], unlikelihood[1]],
             [f"this run (alpha={alphas[-1]})", scores[0.0]["seq_rep"],
              scores[alphas[-1]]["seq_rep"], scores[0.0]["perplexity"],
              scores[alphas[-1]]["perplexity"]]])


def _validation(arm):
    return {key: float(arm.metrics[key])
            for key in ("perplexity", "bits_per_character", "accuracy")}


def _label(key):
    return ("likelihood + no_repeat_ngram_size=4" if key == "no-repeat"
            else f"alpha={key}" + (" (likelihood)" if key == 0.0 else ""))


def _figure(scores, alphas):
    return scatter_figure(
        {"token-level unlikelihood (alpha)": [
            (scores[a]["perplexity"], scores[a]["seq_rep"], a) for a in alphas],
         "alpha=0 + no_repeat_ngram_size=4": [
            (scores["no-repeat"]["perplexity"], scores["no-repeat"]["seq_rep"], "no-repeat")]},
        "validation perplexity (per word token)", f"seq-rep-{NGRAM} (greedy)",
        "Repetition against perplexity")


def _relative(new, old):
    return (new - old) / old if old else float("nan")


def _reading(scores, alphas, human):
    base, top = scores[0.0], scores[alphas[-1]]
    rep_change = _relative(top["seq_rep"], base["seq_rep"])
    ppl_change = _relative(top["perplexity"], base["perplexity"])
    published_rep = _relative(PUBLISHED["token-level unlikelihood"][0], PUBLISHED["likelihood"][0])
    published_ppl = _relative(PUBLISHED["token-level unlikelihood"][1], PUBLISHED["likelihood"][1])
    lowest = min(alphas, key=lambda a: scores[a]["seq_rep"])
    lines = [
        f"With likelihood alone, greedy continuations had seq-rep-{NGRAM} "
        f"{base['seq_rep']:.3f} (held-out text: {human:.3f}); at alpha={alphas[-1]} it was "
        f"{top['seq_rep']:.3f} ({rep_change:+.0%}), and validation perplexity went from "
        f"{base['perplexity']:.1f} to {top['perplexity']:.1f} ({ppl_change:+.1%}).",
        f"Welleck et al. (2019) report {published_rep:+.0%} in seq-rep-4 for "
        f"{published_ppl:+.1%} in perplexity on Wikitext-103; here: {rep_change:+.0%} for "
        f"{ppl_change:+.1%}"
        + (", a repetition drop of the same sign." if rep_change < 0 and published_rep < 0
           else ", not the published drop in repetition."),
        f"The lowest seq-rep-{NGRAM} among the trained arms was alpha={lowest} "
        f"({scores[lowest]['seq_rep']:.3f}); distinct tokens over all continuations went from "
        f"{base['distinct']:,} (alpha=0) to {top['distinct']:,} (alpha={alphas[-1]}).",
        f"no_repeat_ngram_size={NGRAM} on the likelihood model gave seq-rep-{NGRAM} "
        f"{scores['no-repeat']['seq_rep']:.3f}"
        + (" (no 4-gram may repeat)" if scores["no-repeat"]["seq_rep"] == 0 else "")
        + f" at no training cost and no change in perplexity, with "
        f"{scores['no-repeat']['distinct']:,} distinct tokens"
        + (f", more than alpha={alphas[-1]}'s {top['distinct']:,}."
           if scores["no-repeat"]["distinct"] > top["distinct"]
           else f", not more than alpha={alphas[-1]}'s {top['distinct']:,}: blocking repeats "
                f"does not by itself bring new words."),
    ]
    return lines
