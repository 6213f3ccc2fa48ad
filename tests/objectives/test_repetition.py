"""seq-rep-n and the rate of chosen words, on hand-computed values."""

import math

import pytest

from tfllm.objectives.repetition import (
    count_words,
    mean_seq_rep_n,
    rate_per_thousand_characters,
    seq_rep_n,
    word_pattern,
)


def test_seq_rep_n_counts_repeated_ngrams():
    assert seq_rep_n([1, 2, 3, 4, 5, 6], n=4) == 0.0  # 3 distinct 4-grams
    # "a b a b a b": 4-grams abab, baba, abab -> 2 distinct of 3.
    assert math.isclose(seq_rep_n(list("ababab"), n=4), 1 / 3)
    # A loop of one token: 7 identical 4-grams of 10 tokens -> 1 - 1/7.
    assert math.isclose(seq_rep_n([9] * 10, n=4), 6 / 7)
    assert math.isclose(seq_rep_n([1, 1, 2, 1, 1], n=2), 1 - 3 / 4)  # 11, 12, 21, 11


def test_seq_rep_n_is_zero_below_n_tokens_and_checks_arguments():
    assert seq_rep_n([1, 2, 3], n=4) == 0.0 and seq_rep_n([], n=1) == 0.0
    with pytest.raises(ValueError, match="n=0"):
        seq_rep_n([1, 2], n=0)
    with pytest.raises(ValueError, match="tokens='abc'"):
        seq_rep_n("abc")


def test_mean_over_continuations_weighs_each_once():
    assert math.isclose(mean_seq_rep_n([[9] * 10, [1, 2, 3, 4, 5]], n=4), 3 / 7)
    with pytest.raises(ValueError, match="at least one"):
        mean_seq_rep_n([])
    with pytest.raises(ValueError, match=r"continuations\[1\]"):
        mean_seq_rep_n([[1], 5])


def test_rate_counts_whole_words_case_insensitively():
    texts = ["Marry, sir! MARRY? marrying is not", "'Sblood and 'faith; faithful"]
    # Marry, MARRY, 'Sblood; not "marrying", not "'faith" (apostrophe), not "faithful".
    assert count_words(texts, ["marry", "'sblood", "faith"]) == 3
    characters = sum(len(text) for text in texts)
    assert math.isclose(rate_per_thousand_characters(texts, ["marry", "'sblood", "faith"]),
                        3000 / characters)
    assert count_words(["'faith, i' faith"], ["faith", "'faith"]) == 2
    assert rate_per_thousand_characters(["nothing here"], ["marry"]) == 0.0


def test_rate_refuses_empty_inputs():
    with pytest.raises(ValueError, match="at least one character"):
        rate_per_thousand_characters(["", ""], ["marry"])
    with pytest.raises(ValueError, match="non-empty word"):
        word_pattern(["", " "])
    with pytest.raises(ValueError, match="texts="):
        count_words("marry", ["marry"])
