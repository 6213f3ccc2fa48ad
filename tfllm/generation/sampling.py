"""Choosing the next token: greedy, or sampling with a temperature after the filters.

`choose_tokens` is a pure function on (B, V) logits, so it can be tested on fake logits and
traced into a compiled decoding loop. Sampling uses the Gumbel-max trick with stateless random
numbers: `argmax(logits / temperature + g)` with g ~ Gumbel(0, 1) draws from
`softmax(logits / temperature)`, the same `seed` always gives the same token, and changing the
temperature between calls needs no retrace (0 switches to greedy inside the graph).

Example:

>>> import numpy as np
>>> from tfllm.generation.sampling import choose_tokens
>>> logits = np.array([[0.0, 5.0, 1.0]], "float32")
>>> choose_tokens(logits, temperature=0.0, seed=[1, 2]).numpy().tolist()  # greedy
[1]
"""

import tensorflow as tf

from tfllm.generation.logit_processors import top_k_filter, top_p_filter


def gumbel_noise(shape, seed):
    """Gumbel(0, 1) noise of `shape` from a stateless (2,) int `seed`."""
    tiny = tf.experimental.numpy.finfo(tf.float32).tiny
    uniform = tf.random.stateless_uniform(shape, seed=seed, minval=tiny, maxval=1.0)
    return -tf.math.log(-tf.math.log(uniform))


def choose_tokens(logits, *, temperature=1.0, top_k=0, top_p=1.0, seed):
    """One token id per row.

    Args:
        logits: (B, V) float scores (penalties and bans already applied; -inf = never).
        temperature: float or scalar tensor >= 0. 0 picks the argmax (greedy); otherwise the
            logits are divided by it (below 1 sharpens, above 1 flattens) and a token is drawn.
        top_k: int or scalar int tensor; > 0 samples among the k highest-scoring tokens only.
        top_p: float or scalar tensor in (0, 1]; < 1 samples from the smallest set of tokens
            holding that much probability (nucleus sampling).
        seed: (2,) int tensor for the stateless random draw.
    Returns:
        (B,) int32 token ids.
    """
    logits = tf.cast(logits, tf.float32)
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    if isinstance(temperature, (int, float)) and temperature == 0:
        return greedy  # a Python 0 leaves the sampling ops out of the graph
    temperature = tf.cast(temperature, tf.float32)
    filtered = logits / tf.maximum(temperature, 1e-6)
    # Python values that disable a filter leave it out of the graph (each sorts the logits).
    if not (isinstance(top_k, int) and top_k == 0):
        filtered = top_k_filter(filtered, top_k)
    if not (isinstance(top_p, (int, float)) and top_p >= 1.0):
        filtered = top_p_filter(filtered, top_p)
    sampled = tf.argmax(filtered + gumbel_noise(tf.shape(filtered), seed), axis=-1,
                        output_type=tf.int32)
    return tf.where(temperature > 0, sampled, greedy)

