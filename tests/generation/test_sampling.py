"""`choose_tokens` on fake logits: greedy, temperature, top-k, top-p and seeds."""

import numpy as np
import tensorflow as tf

from tfllm.generation import choose_tokens

PROBABILITIES = np.array([0.5, 0.3, 0.15, 0.05], "float32")
LOGITS = np.log(np.tile(PROBABILITIES, (4000, 1)))  # 4000 independent rows


def frequencies(**kwargs):
    tokens = choose_tokens(LOGITS, seed=tf.constant([7, 11]), **kwargs).numpy()
    return np.bincount(tokens, minlength=4) / len(tokens)


def test_greedy_is_the_argmax():
    logits = np.array([[0.0, 5.0, 1.0], [3.0, -1.0, 2.0]], "float32")
    assert choose_tokens(logits, temperature=0.0, seed=[1, 2]).numpy().tolist() == [1, 0]


def test_temperature_one_samples_the_softmax():
    np.testing.assert_allclose(frequencies(temperature=1.0), PROBABILITIES, atol=0.03)


def test_low_temperature_sharpens_and_high_temperature_flattens():
    assert frequencies(temperature=0.25)[0] > 0.85
    assert frequencies(temperature=8.0).max() < 0.35


def test_top_k_and_top_p_restrict_the_draw():
    top_k = frequencies(temperature=1.0, top_k=2)
    assert top_k[2:].sum() == 0
    np.testing.assert_allclose(top_k[:2], [0.5 / 0.8, 0.3 / 0.8], atol=0.03)
    top_p = frequencies(temperature=1.0, top_p=0.9)
    assert top_p[3] == 0 and top_p[2] > 0


def test_same_seed_same_tokens_and_a_new_seed_differs():
    first = choose_tokens(LOGITS, temperature=1.0, seed=[9, 1]).numpy()
    again = choose_tokens(LOGITS, temperature=1.0, seed=[9, 1]).numpy()
    other = choose_tokens(LOGITS, temperature=1.0, seed=[9, 2]).numpy()
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_banned_tokens_are_never_drawn():
    logits = LOGITS.copy()
    logits[:, 0] = -np.inf
    tokens = choose_tokens(logits, temperature=2.0, seed=[3, 4]).numpy()
    assert 0 not in tokens
