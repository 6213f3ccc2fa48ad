"""Casing accuracy, punctuation scores and the baselines: hand-computed cases and the plays."""

import unicodedata

import pytest

from tfllm.objectives import (
    MARK_NAMES,
    casing_accuracy,
    copy_baseline,
    corpus_bleu,
    punctuation_scores,
    restoration_report,
    rule_based_baseline,
)


def scores_of(hypothesis, reference, marks=",.!?'-"):
    return punctuation_scores([hypothesis], [reference], marks)


def test_perfect_hypothesis_scores_one():
    lines = ["Why, sir, a carpenter.", "O'er the new-bent bow! What?", "Hold -- 'tis I."]
    report = restoration_report(lines, lines)
    assert set(report.values()) == {1.0}
    assert list(report) == ["casing_accuracy", "punctuation_f1"] + [
        f"f1_{name}" for name in MARK_NAMES.values()
    ]


def test_missing_comma_lowers_comma_recall_only():
    scores = scores_of("Why sir, a carpenter.", "Why, sir, a carpenter.")
    comma, period = scores.per_mark[","], scores.per_mark["."]
    assert (comma.precision, comma.recall, comma.support, comma.predicted) == (1.0, 0.5, 2, 1)
    assert comma.f1 == pytest.approx(2 / 3)
    assert (period.precision, period.recall, period.f1) == (1.0, 1.0, 1.0)
    assert (scores.micro.correct, scores.micro.predicted, scores.micro.support) == (2, 2, 3)
    assert casing_accuracy(["Why sir, a carpenter."], ["Why, sir, a carpenter."]) == 1.0


def test_wrong_case_lowers_casing_accuracy_only():
    hypotheses, references = ["what trade, art Thou?"], ["What trade, art thou?"]
    assert casing_accuracy(hypotheses, references) == 0.5
    assert punctuation_scores(hypotheses, references).micro.f1 == 1.0


def test_inserted_and_deleted_words_align():
    hypotheses, references = ["Hence! go home, you creatures"], ["Hence! home, you idle creatures"]
    # "go" is inserted, "idle" deleted: the four other words align, and so do their marks.
    assert casing_accuracy(hypotheses, references) == 4 / 5
    scores = punctuation_scores(hypotheses, references)
    assert scores.micro.precision == scores.micro.recall == 1.0


def test_mark_on_the_wrong_word_is_wrong_twice():
    comma = scores_of("Stay good, friend", "Stay, good friend").per_mark[","]
    assert (comma.correct, comma.predicted, comma.support, comma.f1) == (0, 1, 1, 0.0)


def test_apostrophe_inside_a_word_counts_at_its_gap():
    reference = "O'er the hill"
    assert scores_of("O'er the hill", reference).micro.f1 == 1.0
    wrong = scores_of("Oe'r the hill", reference)  # apostrophe at gap 2, not 1
    assert (wrong.per_mark["'"].correct, wrong.per_mark["'"].predicted) == (0, 1)
    # Words still align on their letters: casing is right.
    assert casing_accuracy(["Oe'r the hill", "oer"], [reference, "o'er"]) == 1.0


def test_hyphen_splits_words_as_the_input_does():
    reference = "The new-bent bow, to-night"
    # The input reads "the new bent bow to night": each of its words aligns.
    assert casing_accuracy(["The new bent bow to night"], [reference]) == 1.0
    missed = scores_of("The new bent bow, to night", reference).per_mark["-"]
    assert (missed.support, missed.predicted, missed.recall) == (2, 0, 0.0)
    for spacing in ("The new-bent bow, to-night", "The new - bent bow, to- night"):
        assert scores_of(spacing, reference).micro.f1 == 1.0
    # A mark opening a word is not the mark closing the word before it.
    assert scores_of("The new-bent bow, to -night", reference).per_mark["-"].correct == 1
    # A dash between words is one run of marks after the first word.
    assert scores_of("Go -- let", "Go--let").micro.f1 == 1.0
    assert scores_of("Go-- let", "Go--let").micro.f1 == 1.0
    # Joined into one word, it aligns with neither.
    assert casing_accuracy(["The newbent bow to night"], [reference]) == 4 / 6


def test_punctuation_only_tokens_attach_to_a_neighbouring_word():
    # " --" after a word is the same as "--" at its end; "' " before the first word, its start.
    assert scores_of("Hold-- what", "Hold -- what").micro.f1 == 1.0
    assert scores_of("'tis so", "' tis so").micro.f1 == 1.0
    # A line of marks alone aligns with another such line.
    assert scores_of("!?", "! ?").micro.f1 == 1.0


def test_repeated_marks_count_with_multiplicity():
    mark = scores_of("What!!", "What!").per_mark["!"]
    assert (mark.correct, mark.predicted, mark.support, mark.precision) == (1, 2, 1, 0.5)


def test_marks_on_unaligned_words_are_false_positives():
    scores = scores_of("a c!", "a b")
    assert (scores.per_mark["!"].precision, scores.per_mark["!"].recall) == (0.0, 1.0)
    assert scores.per_mark["!"].f1 == 0.0
    assert scores.per_mark["?"].f1 == 1.0  # absent from both sides


def test_scores_pool_over_lines():
    hypotheses = ["Why, sir.", "what trade", "Thou art"]
    references = ["Why, sir.", "What trade?", "Thou art"]
    assert casing_accuracy(hypotheses, references) == 5 / 6
    question = punctuation_scores(hypotheses, references).per_mark["?"]
    assert (question.support, question.recall) == (1, 0.0)


def test_other_marks_are_named_by_unicode():
    report = restoration_report(["Hold \u2014 stay"], ["Hold \u2014 stay"], marks="\u2014;")
    assert report == {"casing_accuracy": 1.0, "punctuation_f1": 1.0, "f1_em_dash": 1.0,
                      "f1_semicolon": 1.0}


def test_unscored_characters_still_align():
    # Brackets are not in `marks`, but they are stripped from the keys, so the words align.
    scores = scores_of("[aside] Well,", "Aside: well,", marks=",")
    assert scores.micro.f1 == 1.0


def test_copy_baseline_is_the_input():
    assert copy_baseline("what trade art thou") == "what trade art thou"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("i think i'll go", "I think I'll go"),
        ("ill met by moonlight", "Ill met by moonlight"),
        ("  it is i  and i'm here i've been", "  It is I  and I'm here I've been"),
        ("him in it is ice", "Him in it is ice"),
        ("'tis i", "'Tis I"),
        ("i\u2019d say", "I\u2019d say"),
        ("", ""),
        ("123 go", "123 Go"),
    ],
)
def test_rule_based_baseline(source, expected):
    assert rule_based_baseline(source) == expected


@pytest.mark.parametrize("function", [copy_baseline, rule_based_baseline])
def test_baselines_refuse_a_non_string(function):
    with pytest.raises(ValueError, match="Received: source=None"):
        function(None)


@pytest.mark.parametrize(
    "marks", [",a", "", [",,"], [",", ","], 5, [None]],
)
def test_invalid_marks(marks):
    with pytest.raises(ValueError, match="Received: marks="):
        punctuation_scores(["a"], ["a"], marks)


def test_mismatched_lines():
    with pytest.raises(ValueError, match=r"Received: len\(hypotheses\)=1, len\(references\)=2"):
        casing_accuracy(["a"], ["a", "b"])


def _dialogue_lines(text):
    """The non-empty lines of speeches: after a "NAME:" line, up to a blank line, without the
    bracketed stage directions."""
    lines, in_speech = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line:
            in_speech = False
        elif not in_speech and line.endswith(":") and not line.startswith("["):
            in_speech = True
        elif in_speech and not line.startswith("["):
            lines.append(line)
    return lines


def _is_punctuation(character):
    return unicodedata.category(character).startswith("P")


def _restoration_input(line):
    """Lower-cased, punctuation gone: a run of it between two letters or digits (but a lone
    apostrophe) becomes a space ("new-bent" -> "new bent"), any other is removed."""
    pieces, index = [], 0
    while index < len(line):
        end = index
        while end < len(line) and _is_punctuation(line[end]):
            end += 1
        if end == index:
            pieces.append(line[index])
            index += 1
            continue
        inside = 0 < index and end < len(line) and line[index - 1].isalnum() and line[end].isalnum()
        pieces.append(" " if inside and line[index:end] != "'" else "")
        index = end
    return " ".join("".join(pieces).lower().split())


def test_restoration_input_of_the_test():
    assert _restoration_input("'Tis new-bent, o'er the hill--and home!") == (
        "tis new bent oer the hill and home"
    )


def test_baselines_on_a_validation_play():
    from tfllm.data import load_corpus

    document = load_corpus("shakespeare").validation[0]
    references = [line for line in _dialogue_lines(document.text) if _restoration_input(line)]
    references = references[:800]  # a slice keeps the test fast
    sources = [_restoration_input(line) for line in references]
    assert len(references) == 800
    copy = [copy_baseline(source) for source in sources]
    rules = [rule_based_baseline(source) for source in sources]

    assert corpus_bleu(references, references).score == pytest.approx(100.0)
    assert set(restoration_report(references, references).values()) == {1.0}
    copy_bleu, rules_bleu = corpus_bleu(copy, references).score, corpus_bleu(rules, references).score
    # Measured on all three validation plays: copy 43.6, rules 56.1.
    assert 30 < copy_bleu < rules_bleu < 70
    copy_report = restoration_report(copy, references)
    rules_report = restoration_report(rules, references)
    assert 0.6 < copy_report["casing_accuracy"] < rules_report["casing_accuracy"] < 1.0
    # Neither baseline adds a mark.
    assert copy_report["punctuation_f1"] == rules_report["punctuation_f1"] == 0.0
