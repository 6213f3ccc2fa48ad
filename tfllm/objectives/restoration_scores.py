"""Scores for punctuation and casing restoration, and the two baselines a results table needs.

The task: the input is a line lower-cased with its punctuation removed ("what trade art thou"),
the output should be the original line ("What trade, art thou?"). BLEU (`corpus_bleu`) scores
the whole line; these scores say which part of the job a model does well.

Words. A line is split on whitespace, and a token is cut after each run of punctuation between
two letters or digits, except a lone apostrophe: "new-bent" is two words, "new-" and "bent",
"hill--and" two, "o'er" one. This is how the input is made ("new bent", "hill and", "oer"), so
each input word is one word here. A word's *marks* are its punctuation characters (Unicode
category P*), its *letters* everything else; a token with no letters (" -- ", a lone "!")
gives its marks to the word before it (to the word after it at the start of a line). A word's
*key* is its letters lower-cased ("O'er," -> "oer"). Reference and hypothesis words are aligned
by `difflib.SequenceMatcher` on their keys; only words with equal keys are aligned, so
inserted, deleted or misspelt words align with nothing.

Casing. `casing_accuracy` is the fraction of reference words whose aligned hypothesis word has
exactly the same letters (so the same case); an unaligned reference word counts as wrong.

Marks. A mark sits in a *gap* of its word: gap k lies just before letter k (counting from 0),
so gap 0 is before the word and gap len(letters) after it; every mark in a gap counts, in any
order. "'Tis" has an apostrophe at gap 0, "o'er" one at gap 1, "thou?" a question mark at gap
4, and "new-bent" a hyphen at gap 3 of "new" (as do "new- bent" and "new - bent", but not
"new -bent", whose hyphen is at gap 0 of "bent": an opening mark belongs to its word). A
hypothesis mark is correct when the aligned reference word has the same mark in the same gap,
counted with multiplicity ("!!" against "!" is one right, one extra); marks on unaligned words
are all wrong. Per mark: precision = correct / predicted, recall = correct / support (its
count in the references), F1 their harmonic mean. A ratio with nothing to count is 1.0
(nothing predicted: no false positive), so a mark present but never predicted has precision
1.0, recall 0.0 and F1 0.0, and a mark absent from both sides scores 1.0. "micro" pools the
counts of all the marks asked for. Punctuation not in `marks` still splits words and is left
out of the keys, but is not scored.

Example:

>>> references = ["What trade, art thou?", "Thou art a cobbler, Flavius."]
>>> sources = ["what trade art thou", "thou art a cobbler flavius"]
>>> hypotheses = [rule_based_baseline(source) for source in sources]
>>> hypotheses
['What trade art thou', 'Thou art a cobbler flavius']
>>> report = restoration_report(hypotheses, references, marks=",?")
>>> report
{'casing_accuracy': 0.888..., 'punctuation_f1': 0.0, 'f1_comma': 0.0, 'f1_question': 0.0}
>>> restoration_report(references, references)["punctuation_f1"]
1.0
"""

import difflib
import functools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from tfllm.objectives.text_pair_utils import check_text_pairs

MARK_NAMES = {
    ",": "comma",
    ".": "period",
    ";": "semicolon",
    ":": "colon",
    "!": "exclamation",
    "?": "question",
    "'": "apostrophe",
    "-": "hyphen",
}
DEFAULT_MARKS = tuple(MARK_NAMES)
# A lone apostrophe between letters is part of its word (an elision, a possessive).
_APOSTROPHES = ("'", "\u2019")

# "i" alone, or with an apostrophe and the ending of a contraction of "I" ("i'll", "i'm").
_LOWER_CASE_I = re.compile(r"(?<!\S)i(?=(?:['\u2019](?:ll|m|d|ve))?(?!\S))")


@dataclass(frozen=True)
class _Word:
    letters: str
    marks: tuple  # (gap, mark) pairs, gap as in the module docstring.


@dataclass(frozen=True)
class MarkScore:
    """Precision, recall and F1 of one punctuation mark (or all of them pooled).

    Attributes:
        precision, recall, f1: in [0, 1] (1.0 where there is nothing to count).
        support: occurrences in the references.
        predicted: occurrences in the hypotheses.
        correct: hypothesis occurrences at the right place (true positives).
    """

    precision: float
    recall: float
    f1: float
    support: int
    predicted: int
    correct: int


@dataclass(frozen=True)
class PunctuationScores:
    """`per_mark`: {mark: MarkScore}, in the order the marks were given; `micro`: all pooled."""

    per_mark: dict
    micro: MarkScore


def casing_accuracy(hypotheses, references):
    """Fraction of reference words (pooled over all lines) whose casing the hypothesis got
    exactly right; 1.0 if the references hold no word. See the module docstring."""
    return _casing_accuracy(_tally(hypotheses, references, marks=()))


def punctuation_scores(hypotheses, references, marks=DEFAULT_MARKS):
    """Precision, recall, F1 and support of each mark in `marks`, and all of them pooled.

    Args:
        hypotheses: list of restored lines.
        references: list of original lines, one per hypothesis.
        marks: the punctuation characters to score (each a single character of Unicode
            category P*), as a string or a sequence; default: , . ; : ! ? ' -

    Returns:
        `PunctuationScores`. Where a mark counts is defined in the module docstring.
    """
    marks = _check_marks(marks)
    return _punctuation_scores(_tally(hypotheses, references, marks), marks)


def restoration_report(hypotheses, references, marks=DEFAULT_MARKS):
    """The restoration scores as one flat dict of floats, for a results table.

    Keys: "casing_accuracy", "punctuation_f1" (micro over `marks`) and "f1_<name>" for each
    mark, with the name from `MARK_NAMES` ("f1_comma") or, for another mark, its Unicode name
    ("f1_em_dash").
    """
    marks = _check_marks(marks)
    tally = _tally(hypotheses, references, marks)
    scores = _punctuation_scores(tally, marks)
    report = {"casing_accuracy": _casing_accuracy(tally), "punctuation_f1": scores.micro.f1}
    for mark, score in scores.per_mark.items():
        report[f"f1_{mark_name(mark)}"] = score.f1
    return report


def mark_name(mark):
    """A short name for a punctuation mark: "comma" for ",", else its Unicode name in snake case."""
    if mark in MARK_NAMES:
        return MARK_NAMES[mark]
    return re.sub(r"[^a-z0-9]+", "_", unicodedata.name(mark, "mark").lower())


def copy_baseline(source):
    """The input line unchanged: the score of doing nothing."""
    return _check_source(source)


def rule_based_baseline(source):
    """The input line with its first letter capitalised and the pronoun "i" as "I".

    "i" is capitalised alone and in "i'll", "i'm", "i'd", "i've" (straight or curly apostrophe).
    Nothing else changes: no punctuation is added. In an input stripped of punctuation these
    contractions read "ill", "im", "id", "ive" and stay as they are ("ill" and "id" are words).
    """
    line = _LOWER_CASE_I.sub("I", _check_source(source))
    for index, character in enumerate(line):
        if character.isalpha():
            return line[:index] + character.upper() + line[index + 1 :]
    return line


@dataclass
class _Tally:
    cased: int = 0  # reference words with the right casing
    words: int = 0  # reference words
    correct: Counter = field(default_factory=Counter)  # per mark
    predicted: Counter = field(default_factory=Counter)
    support: Counter = field(default_factory=Counter)


def _tally(hypotheses, references, marks):
    """The counts behind every score, over all lines, in one pass of alignments."""
    hypotheses, references = check_text_pairs(hypotheses, references)
    tally = _Tally()
    for hypothesis, reference in zip(hypotheses, references):
        reference_words, hypothesis_words = _words(reference), _words(hypothesis)
        matcher = difflib.SequenceMatcher(
            None,
            [word.letters.lower() for word in reference_words],
            [word.letters.lower() for word in hypothesis_words],
            autojunk=False,
        )
        aligned_to = {}  # hypothesis word index -> reference word index
        for r, h, size in matcher.get_matching_blocks():
            aligned_to.update((h + k, r + k) for k in range(size))
        tally.words += sum(1 for word in reference_words if word.letters)
        tally.cased += sum(
            1 for h, r in aligned_to.items()
            if reference_words[r].letters
            and reference_words[r].letters == hypothesis_words[h].letters
        )
        # A mark's place: (reference word index, gap, mark); an unaligned hypothesis word's
        # places use its own index, negated and shifted, so they match no reference place.
        reference_places = Counter(
            (r, gap, mark) for r, word in enumerate(reference_words)
            for gap, mark in word.marks if mark in marks
        )
        hypothesis_places = Counter(
            (aligned_to.get(h, -1 - h), gap, mark) for h, word in enumerate(hypothesis_words)
            for gap, mark in word.marks if mark in marks
        )
        for (_, _, mark), count in (reference_places & hypothesis_places).items():
            tally.correct[mark] += count
        for (_, _, mark), count in reference_places.items():
            tally.support[mark] += count
        for (_, _, mark), count in hypothesis_places.items():
            tally.predicted[mark] += count
    return tally


def _casing_accuracy(tally):
    return tally.cased / tally.words if tally.words else 1.0


def _punctuation_scores(tally, marks):
    per_mark = {
        mark: _mark_score(tally.correct[mark], tally.predicted[mark], tally.support[mark])
        for mark in marks
    }
    micro = _mark_score(
        sum(tally.correct.values()), sum(tally.predicted.values()), sum(tally.support.values())
    )
    return PunctuationScores(per_mark=per_mark, micro=micro)


def _words(line):
    """The `_Word`s of a line (module docstring). A line with marks but no letters gives one
    word with no letters, so that its marks can still be aligned with another such line."""
    words, leading_marks = [], []
    for token in (piece for token in line.split() for piece in _split_token(token)):
        letters, marks = [], []
        for character in token:
            if _is_mark(character):
                marks.append((len(letters), character))
            else:
                letters.append(character)
        if not letters:
            if words:
                previous = words[-1]
                end = len(previous.letters)
                trailing = tuple((end, mark) for _, mark in marks)
                words[-1] = _Word(previous.letters, previous.marks + trailing)
            else:
                leading_marks.extend(mark for _, mark in marks)
            continue
        marks = [(0, mark) for mark in leading_marks] + marks
        leading_marks = []
        words.append(_Word("".join(letters), tuple(marks)))
    if leading_marks:
        words.append(_Word("", tuple((0, mark) for mark in leading_marks)))
    return words


def _split_token(token):
    """Cuts a token after each run of marks between two letters or digits, but a lone
    apostrophe: "new-bent" -> ["new-", "bent"], "hill--and" -> ["hill--", "and"], "o'er" ->
    ["o'er"]."""
    pieces, start, index = [], 0, 0
    while index < len(token):
        if not _is_mark(token[index]):
            index += 1
            continue
        end = index
        while end < len(token) and _is_mark(token[end]):
            end += 1
        between_words = index > 0 and end < len(token)
        between_words = between_words and token[index - 1].isalnum() and token[end].isalnum()
        if between_words and token[index:end] not in _APOSTROPHES:
            pieces.append(token[start:end])
            start = end
        index = end
    pieces.append(token[start:])
    return pieces


@functools.cache
def _is_mark(character):
    return unicodedata.category(character).startswith("P")


def _mark_score(correct, predicted, support):
    precision = correct / predicted if predicted else 1.0
    recall = correct / support if support else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return MarkScore(precision, recall, f1, support, predicted, correct)


def _check_marks(marks):
    if isinstance(marks, str):
        marks = tuple(marks)
    if not isinstance(marks, (list, tuple)) or not marks:
        raise ValueError(
            "`marks` must be a non-empty string or sequence of punctuation characters. "
            f"Received: marks={marks!r}"
        )
    for mark in marks:
        if not (isinstance(mark, str) and len(mark) == 1
                and _is_mark(mark)):
            raise ValueError(
                "`marks` must hold single punctuation characters (Unicode category P*). "
                f"Received: marks={marks!r}"
            )
    if len(set(marks)) != len(marks):
        raise ValueError(f"`marks` must not repeat a mark. Received: marks={marks!r}")
    return tuple(marks)


def _check_source(source):
    if not isinstance(source, str):
        raise ValueError(f"`source` must be a string (one line). Received: source={source!r}")
    return source
