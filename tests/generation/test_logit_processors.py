"""Each logit processor on fake logits: what it keeps, what it bans, and what it leaves alone."""

import numpy as np
import tensorflow as tf

from tfllm.generation.logit_processors import (
    apply_presence_penalty,
    apply_repetition_penalty,
    banned_sequences_mask,
    no_repeat_ngram_mask,
    suffix_matches,
    top_k_filter,
    top_p_filter,
)

PROBABILITIES = np.array([[0.5, 0.3, 0.15, 0.05]], "float32")
LOGITS = np.log(PROBABILITIES)


def kept(logits):
    return np.isfinite(np.asarray(logits)).astype(int).tolist()


def test_top_k_keeps_the_k_largest_and_zero_keeps_all():
    assert kept(top_k_filter(LOGITS, 2)) == [[1, 1, 0, 0]]
    assert kept(top_k_filter(LOGITS, 0)) == [[1, 1, 1, 1]]
    assert kept(top_k_filter(LOGITS, 10)) == [[1, 1, 1, 1]]
    # Per-row k, and kept values are unchanged.
    rows = np.repeat(LOGITS, 2, axis=0)
    filtered = top_k_filter(rows, tf.constant([1, 3])).numpy()
    assert kept(filtered) == [[1, 0, 0, 0], [1, 1, 1, 0]]
    np.testing.assert_array_equal(filtered[1, :3], rows[1, :3])


def test_top_p_keeps_the_smallest_nucleus():
    assert kept(top_p_filter(LOGITS, 0.5)) == [[1, 0, 0, 0]]  # 0.5 alone reaches 0.5
    assert kept(top_p_filter(LOGITS, 0.6)) == [[1, 1, 0, 0]]
    assert kept(top_p_filter(LOGITS, 0.9)) == [[1, 1, 1, 0]]
    assert kept(top_p_filter(LOGITS, 1.0)) == [[1, 1, 1, 1]]
    assert kept(top_p_filter(LOGITS, 1e-6)) == [[1, 0, 0, 0]]  # the best token always stays


def test_repetition_penalty_lowers_seen_tokens_only():
    logits = np.array([[2.0, -2.0, 2.0, -2.0]], "float32")
    counts = np.array([[1, 1, 0, 0]], "float32")
    penalised = apply_repetition_penalty(logits, counts, 2.0).numpy()
    np.testing.assert_allclose(penalised, [[1.0, -4.0, 2.0, -2.0]])
    np.testing.assert_array_equal(apply_repetition_penalty(logits, counts, 1.0), logits)


def test_presence_and_frequency_penalties():
    logits = np.zeros((1, 3), "float32")
    counts = np.array([[0, 1, 3]], "float32")
    np.testing.assert_allclose(apply_presence_penalty(logits, counts, 0.5, 0.0), [[0, -0.5, -0.5]])
    np.testing.assert_allclose(apply_presence_penalty(logits, counts, 0.0, 0.25), [[0, -0.25, -0.75]])


HISTORY = tf.constant([[0, 0, 5, 6, 7, 5, 6, 0, 0]])  # two padding slots, then 5 6 7 5 6


def test_suffix_matches():
    sequences = tf.constant([[5, 6], [7, 5], [6, 0]])
    matches = suffix_matches(HISTORY, 7, sequences, tf.constant([2, 2, 1]))
    assert matches.numpy().tolist() == [[True, False, True]]
    # A sequence longer than the filled history never matches.
    assert not suffix_matches(HISTORY, 1, tf.constant([[0, 0]]), tf.constant([2])).numpy().any()


def test_banned_sequences_mask_bans_the_completing_token_and_single_tokens():
    mask = banned_sequences_mask(
        HISTORY, 7, tf.constant([[5, 6, 9], [3, 0, 0], [6, 1, 2]]), tf.constant([3, 1, 3]), 10
    ).numpy()[0]
    # 5 6 9: history ends with 5 6, so 9 is banned; 3 is always banned; 6 1 2 needs "6 1" first.
    assert np.flatnonzero(mask).tolist() == [3, 9]


def test_no_repeat_ngram_mask():
    # History "5 6 7 5 6": the bigram-prefix "5 6" was followed by 7 before, so 7 is banned.
    mask = no_repeat_ngram_mask(HISTORY, 7, tf.constant([2]), 3, 10).numpy()[0]
    assert np.flatnonzero(mask).tolist() == [7]
    # Size 2: after "6", 7 followed "6" before.
    assert np.flatnonzero(no_repeat_ngram_mask(HISTORY, 7, tf.constant([2]), 2, 10)[0]).tolist() == [7]
    # N-grams that include left padding do not count: "0 0" then 5 must not ban 5 after a "0".
    padded = tf.constant([[0, 0, 0, 4]])
    assert not no_repeat_ngram_mask(padded, 3, tf.constant([3]), 2, 10).numpy().any()
