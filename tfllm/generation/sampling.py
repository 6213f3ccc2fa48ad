"""Choosing the next token from logits: greedy, temperature and top-k sampling.

Pure functions on (B, V) logits, so each rule can be tested on fake logits. Randomness is
stateless: the same `seed` (a shape-(2,) int tensor) always gives the same token.
"""

import tensorflow as tf

from tfllm.errors import GenerationError


def validate_sampling_arguments(temperature, top_k):
    """Raises `GenerationError` for a temperature or top-k that cannot be used."""
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise GenerationError(
            "temperature must be a number >= 0 (0 means greedy decoding). "
            f"Received: temperature={temperature!r}"
        )
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        raise GenerationError(
            f"top_k must be an integer >= 0 (0 keeps every token). Received: top_k={top_k!r}"
        )


def top_k_filter(logits, top_k):
    """Sets every logit below the k-th largest of its row to -inf. `top_k=0` keeps all.

    Args:
        logits: (B, V) float tensor.
        top_k: Python int, 0 <= top_k.
    Returns:
        (B, V) logits of the same dtype.
    """
    vocabulary_size = logits.shape[-1]
    if top_k == 0 or (vocabulary_size is not None and top_k >= vocabulary_size):
        return logits
    kth_largest = tf.math.top_k(logits, k=top_k).values[:, -1:]  # (B, 1)
    return tf.where(logits < kth_largest, tf.constant(float("-inf"), logits.dtype), logits)


def sample_next_token(logits, *, temperature, top_k, seed):
    """Picks one token id per row.

    Args:
        logits: (B, V) float tensor of next-token scores.
        temperature: Python float; 0 picks the argmax (greedy), otherwise logits are divided by
            it before sampling (below 1 sharpens, above 1 flattens).
        top_k: Python int; when > 0 sample only among the k highest-scoring tokens.
        seed: shape-(2,) int32/int64 tensor for `tf.random.stateless_categorical`.
    Returns:
        (B,) int32 token ids.
    """
    logits = tf.cast(logits, tf.float32)
    if temperature == 0:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)
    logits = top_k_filter(logits / temperature, top_k)
    return tf.cast(tf.random.stateless_categorical(logits, 1, seed=seed)[:, 0], tf.int32)
