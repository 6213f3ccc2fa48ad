"""Sampling rules on fake logits: each rule alone, deterministic under a seed."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.errors import GenerationError
from tfllm.generation import sample_next_token, top_k_filter, validate_sampling_arguments

LOGITS = tf.constant([[0.0, 3.0, 1.0, 2.0], [5.0, 0.0, 0.0, 4.0]])


def test_greedy_picks_the_argmax():
    ids = sample_next_token(LOGITS, temperature=0, top_k=0, seed=tf.constant([1, 2]))
    assert ids.dtype == tf.int32
    np.testing.assert_array_equal(ids.numpy(), [1, 0])


def test_top_k_keeps_only_the_k_largest():
    filtered = top_k_filter(LOGITS, 2).numpy()
    assert np.isneginf(filtered[0, [0, 2]]).all() and np.isfinite(filtered[0, [1, 3]]).all()
    assert np.isneginf(filtered[1, [1, 2]]).all() and np.isfinite(filtered[1, [0, 3]]).all()
    np.testing.assert_array_equal(top_k_filter(LOGITS, 0).numpy(), LOGITS.numpy())


def test_top_k_sampling_never_leaves_the_top_k():
    logits = tf.zeros((256, 10))  # uniform: every token equally likely without the filter
    logits = logits + tf.range(10, dtype=tf.float32) * 1e-3
    ids = sample_next_token(logits, temperature=1.0, top_k=3, seed=tf.constant([3, 4])).numpy()
    assert set(ids) <= {7, 8, 9} and len(set(ids)) == 3


def test_temperature_sharpens_the_distribution():
    logits = tf.tile(tf.constant([[0.0, 1.0]]), [4000, 1])
    cold = sample_next_token(logits, temperature=0.25, top_k=0, seed=tf.constant([5, 6])).numpy()
    hot = sample_next_token(logits, temperature=4.0, top_k=0, seed=tf.constant([5, 6])).numpy()
    # P(1) = sigmoid(1 / T): 0.982 at T=0.25, 0.562 at T=4.
    assert abs(cold.mean() - 0.982) < 0.02 and abs(hot.mean() - 0.562) < 0.03


def test_same_seed_same_tokens():
    logits = tf.random.stateless_normal((64, 50), seed=[0, 0])
    first = sample_next_token(logits, temperature=1.0, top_k=0, seed=tf.constant([9, 1]))
    again = sample_next_token(logits, temperature=1.0, top_k=0, seed=tf.constant([9, 1]))
    other = sample_next_token(logits, temperature=1.0, top_k=0, seed=tf.constant([9, 2]))
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert (first.numpy() != other.numpy()).any()


@pytest.mark.parametrize(
    "temperature, top_k, name",
    [(-1.0, 0, "temperature"), ("hot", 0, "temperature"), (1.0, -2, "top_k"), (1.0, 2.5, "top_k")],
)
def test_invalid_arguments_name_themselves(temperature, top_k, name):
    with pytest.raises(GenerationError, match=f"{name}.*Received: {name}="):
        validate_sampling_arguments(temperature, top_k)
