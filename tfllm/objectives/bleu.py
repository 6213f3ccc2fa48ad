"""Corpus BLEU, the variant sacreBLEU reports by default, in plain Python.

sacreBLEU's default: BLEU-4, 13a tokenization, exp smoothing; Post, "A Call for Clarity in
Reporting BLEU Scores", 2018. Scores given by `corpus_bleu` equal `sacrebleu.corpus_bleu(hyps,
[refs])` (tested to 1e-6), so a number here can sit beside a number from another paper that
says "sacreBLEU". The definition (Papineni et al., "BLEU: a Method for Automatic Evaluation of
Machine Translation", 2002, with the smoothing of mteval-v13a):

- Each line loses its trailing whitespace and is tokenized the 13a way (`tokenize_13a`);
  matching is case-sensitive.
- For n = 1..4, `matches[n]` sums over lines the clipped n-gram matches
  (`min(count in hypothesis, count in reference)`) and `totals[n]` the hypothesis n-grams;
  precision p_n = 100 * matches[n] / totals[n], in percent.
- "exp" smoothing: the k-th order with no match (k = 1, 2, ...) gets p_n = 100 / (2^k * totals[n]).
- No match at any order gives 0. An order with no hypothesis n-gram at all (every line shorter
  than n tokens) gives 0 too: its precision stays 0 and so does the geometric mean.
- Brevity penalty BP = exp(1 - r / c) when the hypothesis length c (tokens, summed over lines)
  is below the reference length r, else 1 (0 when c = 0);
  BLEU = BP * exp(mean_n log p_n), in [0, 100].

Example:

>>> score = corpus_bleu(["The cat sat on the mat."], ["The cat sat on the red mat."])
>>> print(score)
BLEU = 61.30 100.0/83.3/60.0/50.0 (BP = 0.867 ratio = 0.875 hyp_len = 7 ref_len = 8)
>>> tokenize_13a("Hello, world! (It's 3.14.)")
['Hello', ',', 'world', '!', '(', "It's", '3.14', '.', ')']
"""

import math
import re
from collections import Counter
from dataclasses import dataclass

from tfllm.objectives.text_pair_utils import check_text_pairs

MAX_ORDER = 4

# mteval-v13a's rules, applied in this order to " line " (the padding lets a rule see a
# neighbour at either end). The apostrophe, hyphen, period and comma are left out of the first
# rule: "don't" and "well-known" stay whole, and a period or comma is split from its word
# only where it is not part of a number ("3.14", "1,000").
_SPLIT_RULES = (
    # ASCII symbols other than ' - . , become tokens of their own (the space in the class is
    # harmless: whitespace is collapsed afterwards).
    (re.compile(r"""([ !"#$%&()*+/:;<=>?@\[\\\]^_`{|}~])"""), r" \1 "),
    (re.compile(r"([^0-9])([.,])"), r"\1 \2 "),
    (re.compile(r"([.,])([^0-9])"), r" \1 \2"),
    # A hyphen after a digit ("1990-1995") is split from it.
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
)
_ENTITIES = (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


@dataclass(frozen=True)
class BleuScore:
    """A corpus BLEU score and the statistics it came from.

    Attributes:
        score: BLEU in [0, 100].
        precisions: the four n-gram precisions (n = 1..4), in percent, after smoothing.
        brevity_penalty: BP in [0, 1].
        ratio: hypothesis length / reference length (0 when the references are empty).
        hypothesis_length: tokens in all hypotheses (13a tokenization).
        reference_length: tokens in all references.
    """

    score: float
    precisions: tuple
    brevity_penalty: float
    ratio: float
    hypothesis_length: int
    reference_length: int

    def __str__(self):
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (
            f"BLEU = {self.score:.2f} {precisions} (BP = {self.brevity_penalty:.3f} "
            f"ratio = {self.ratio:.3f} hyp_len = {self.hypothesis_length} "
            f"ref_len = {self.reference_length})"
        )


def tokenize_13a(line):
    """Splits `line` into tokens as mteval-v13a (and sacreBLEU's "13a") does.

    Removes "<skipped>", joins a word broken by "-" at a line break, turns line breaks into
    spaces, decodes the four HTML entities &quot; &amp; &lt; &gt;, then applies the splitting
    rules above and splits on whitespace. Case and non-ASCII characters are left as they are.
    """
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        for entity, character in _ENTITIES:
            line = line.replace(entity, character)
    line = f" {line} "
    for pattern, replacement in _SPLIT_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def corpus_bleu(hypotheses, references):
    """BLEU of `hypotheses` against `references` (one reference string per hypothesis).

    sacreBLEU's default: BLEU-4, 13a tokenization, exp smoothing, case-sensitive (module
    docstring). Raises `ValueError` unless both are lists or tuples of strings of the same,
    non-zero length.

    Returns:
        A `BleuScore`.
    """
    hypotheses, references = check_text_pairs(hypotheses, references)
    # Summed over lines: matches[0..3], totals[0..3], hypothesis length, reference length.
    statistics = [0] * (2 * MAX_ORDER + 2)
    for hypothesis, reference in zip(hypotheses, references):
        statistics = [a + b for a, b in zip(statistics, _line_statistics(hypothesis, reference))]
    return _bleu_from_statistics(
        statistics[:MAX_ORDER], statistics[MAX_ORDER : 2 * MAX_ORDER], *statistics[-2:]
    )


def sentence_bleu(hypothesis, reference):
    """BLEU of one hypothesis string against one reference string.

    As `sacrebleu.sentence_bleu(hypothesis, [reference])`: `corpus_bleu`'s definition, except
    that the geometric mean runs only over the orders the hypothesis has n-grams of ("effective
    order"), so a line of fewer than four tokens can still score above 0. BLEU is a corpus
    measure: average sentence scores only for a per-line view, never as the corpus score.
    """
    for name, line in (("hypothesis", hypothesis), ("reference", reference)):
        if not isinstance(line, str):
            raise ValueError(f"`{name}` must be a string (one line). Received: {name}={line!r}")
    statistics = _line_statistics(hypothesis, reference)
    return _bleu_from_statistics(
        statistics[:MAX_ORDER], statistics[MAX_ORDER : 2 * MAX_ORDER], *statistics[-2:],
        effective_order=True,
    )


def _line_statistics(hypothesis, reference):
    """[matches for n = 1..4, totals for n = 1..4, hypothesis length, reference length]."""
    hypothesis_tokens = tokenize_13a(hypothesis.rstrip())
    reference_tokens = tokenize_13a(reference.rstrip())
    matches, totals = [], []
    for n in range(1, MAX_ORDER + 1):
        hypothesis_ngrams = _ngrams(hypothesis_tokens, n)
        totals.append(sum(hypothesis_ngrams.values()))
        matches.append(sum((hypothesis_ngrams & _ngrams(reference_tokens, n)).values()))
    return matches + totals + [len(hypothesis_tokens), len(reference_tokens)]


def _ngrams(tokens, n):
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _bleu_from_statistics(matches, totals, hypothesis_length, reference_length,
                          effective_order=False):
    if hypothesis_length >= reference_length:
        brevity_penalty = 1.0
    elif hypothesis_length == 0:
        brevity_penalty = 0.0
    else:
        brevity_penalty = math.exp(1.0 - reference_length / hypothesis_length)
    ratio = hypothesis_length / reference_length if reference_length else 0.0
    precisions = [0.0] * MAX_ORDER
    orders = MAX_ORDER
    if any(matches):
        smoothing = 1.0
        for n in range(MAX_ORDER):
            if totals[n] == 0:
                # Every line is shorter than n + 1 tokens: the order has no precision at all.
                if effective_order:
                    orders = n
                break
            if matches[n] == 0:
                smoothing *= 2.0
                precisions[n] = 100.0 / (smoothing * totals[n])
            else:
                precisions[n] = 100.0 * matches[n] / totals[n]
    if min(precisions[:orders]) == 0.0:
        score = 0.0
    else:
        score = brevity_penalty * math.exp(sum(map(math.log, precisions[:orders])) / orders)
    return BleuScore(
        score=score,
        precisions=tuple(precisions),
        brevity_penalty=brevity_penalty,
        ratio=ratio,
        hypothesis_length=hypothesis_length,
        reference_length=reference_length,
    )
