"""Logit processors: pure functions that reshape next-token scores before a token is chosen.

Each takes (B, V) float32 logits and returns (B, V) logits, so each rule can be tested on fake
logits, and all of them trace into one compiled decoding step. Tensor arguments (a penalty, k,
p) may change between calls without retracing. A banned token gets -inf, so every sampler and
beam search skip it.

Example:

>>> import numpy as np
>>> from tfllm.generation.logit_processors import top_k_filter
>>> logits = np.array([[1.0, 3.0, 2.0, 0.0]], "float32")
>>> top_k_filter(logits, 2).numpy().tolist()
[[-inf, 3.0, 2.0, -inf]]
"""

import tensorflow as tf

NEG_INF = float("-inf")


def mask_logits(logits, banned):
    """-inf wherever `banned` (bool, broadcastable to (B, V)) is True."""
    return tf.where(banned, tf.constant(NEG_INF, logits.dtype), logits)


def top_k_filter(logits, top_k):
    """Keeps each row's `top_k` largest logits (ties at the k-th value kept too); 0 keeps all.

    Args:
        logits: (B, V) float tensor.
        top_k: int or int tensor, scalar or (B,); 0 disables the filter.
    """
    logits = tf.convert_to_tensor(logits)
    top_k = tf.broadcast_to(tf.cast(top_k, tf.int32), tf.shape(logits)[:1])  # (B,)
    vocabulary_size = tf.shape(logits)[-1]
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")  # (B, V)
    kth_index = tf.clip_by_value(top_k - 1, 0, vocabulary_size - 1)
    kth_largest = tf.gather(ranked, kth_index, axis=1, batch_dims=1)[:, None]  # (B, 1)
    drop = (logits < kth_largest) & (top_k[:, None] > 0)
    return mask_logits(logits, drop)


def top_p_filter(logits, top_p):
    """Nucleus filter: keeps the most likely tokens whose probabilities sum to `top_p`.

    A token is kept if the probability mass of the tokens ranked above it is below `top_p`,
    so the most likely token is always kept. `top_p >= 1` keeps all.

    Args:
        logits: (B, V) float tensor (already divided by the temperature).
        top_p: float or float tensor in (0, 1], scalar or (B,).
    """
    logits = tf.convert_to_tensor(logits)
    top_p = tf.broadcast_to(tf.cast(top_p, logits.dtype), tf.shape(logits)[:1])  # (B,)
    ranked = tf.sort(logits, axis=-1, direction="DESCENDING")  # (B, V)
    mass_above = tf.cumsum(tf.nn.softmax(ranked, axis=-1), axis=-1, exclusive=True)  # (B, V)
    kept = tf.reduce_sum(tf.cast(mass_above < top_p[:, None], tf.int32), axis=-1)  # (B,)
    threshold = tf.gather(ranked, tf.maximum(kept - 1, 0), axis=1, batch_dims=1)[:, None]
    drop = (logits < threshold) & (top_p[:, None] < 1.0)
    return mask_logits(logits, drop)


def apply_repetition_penalty(logits, counts, penalty):
    """CTRL's repetition penalty (Keskar et al., 2019) on every token seen so far.

    A seen token's logit is divided by `penalty` when positive and multiplied by it when
    negative, so its probability always drops for `penalty > 1`; 1 changes nothing.

    Args:
        logits: (B, V). counts: (B, V) occurrences of each token in the prompt and output.
        penalty: float or float tensor >= 1 (scalar or (B,)).
    """
    penalty = tf.reshape(tf.cast(penalty, logits.dtype), (-1, 1))
    penalised = tf.where(logits > 0, logits / penalty, logits * penalty)
    return tf.where(counts > 0, penalised, logits)


def apply_presence_penalty(logits, counts, presence_penalty, frequency_penalty):
    """Subtracts `presence_penalty` once per seen token and `frequency_penalty` per occurrence.

    Args:
        logits: (B, V). counts: (B, V) occurrences of each token so far.
        presence_penalty, frequency_penalty: floats or float tensors (scalar or (B,)).
    """
    counts = tf.cast(counts, logits.dtype)
    presence = tf.reshape(tf.cast(presence_penalty, logits.dtype), (-1, 1))
    frequency = tf.reshape(tf.cast(frequency_penalty, logits.dtype), (-1, 1))
    return logits - presence * tf.cast(counts > 0, logits.dtype) - frequency * counts


def suffix_matches(history, length, sequences, sequence_lengths):
    """Whether each row's first `length` tokens end with each of K token sequences.

    Args:
        history: (B, H) int token ids.
        length: scalar int tensor, how many leading slots of `history` are filled.
        sequences: (K, M) int, each sequence padded on the right to M.
        sequence_lengths: (K,) int, the real length of each sequence (>= 0; 0 always matches).
    Returns:
        (B, K) bool.
    """
    history = tf.convert_to_tensor(history)
    offsets = tf.range(tf.shape(sequences)[1])  # (M,)
    # (K, M): the history slot compared with each sequence position.
    slots = length - sequence_lengths[:, None] + offsets[None, :]
    in_sequence = offsets[None, :] < sequence_lengths[:, None]  # (K, M)
    slots = tf.clip_by_value(slots, 0, tf.shape(history)[1] - 1)
    tokens = tf.gather(history, slots, axis=1)  # (B, K, M)
    equal = tf.equal(tokens, tf.cast(sequences, history.dtype)[None]) | ~in_sequence[None]
    fits = sequence_lengths <= length  # (K,)
    return tf.reduce_all(equal, axis=-1) & fits[None, :]  # (B, K)


def _scatter_rows(matches, token_ids, batch_size, vocabulary_size):
    """(B, V) bool: True at (b, token_ids[b, j]) wherever matches[b, j]. Shapes (B, J)."""
    rows = tf.broadcast_to(tf.range(batch_size)[:, None], tf.shape(token_ids))
    indices = tf.stack([rows, tf.cast(token_ids, tf.int32)], axis=-1)  # (B, J, 2)
    hits = tf.tensor_scatter_nd_max(
        tf.zeros((batch_size, vocabulary_size), tf.int32), indices, tf.cast(matches, tf.int32)
    )
    return hits > 0


def banned_sequences_mask(history, length, sequences, sequence_lengths, vocabulary_size):
    """Tokens that would complete a banned token sequence; (B, V) bool.

    A banned sequence of length l is completed by its last token when the history ends with
    its first l - 1 tokens; a sequence of length 1 is a banned token, always masked.

    Args:
        history: (B, H) ids; length: scalar, filled slots; sequences: (K, M) right-padded ids;
        sequence_lengths: (K,) lengths >= 1; vocabulary_size: V.
    """
    batch_size = tf.shape(history)[0]
    prefix_matches = suffix_matches(history, length, sequences, sequence_lengths - 1)  # (B, K)
    last_tokens = tf.gather(sequences, sequence_lengths - 1, axis=1, batch_dims=1)  # (K,)
    last_tokens = tf.broadcast_to(last_tokens[None, :], tf.shape(prefix_matches))  # (B, K)
    return _scatter_rows(prefix_matches, last_tokens, batch_size, vocabulary_size)


def no_repeat_ngram_mask(history, length, first_real, ngram_size, vocabulary_size):
    """Tokens that would repeat an n-gram already in the history; (B, V) bool.

    Args:
        history: (B, H) int ids; length: scalar, filled slots.
        first_real: (B,) int, the first non-padding slot of each row (left padding).
        ngram_size: Python int n >= 1.
        vocabulary_size: V.
    """
    history = tf.convert_to_tensor(history)
    batch_size, slots = tf.shape(history)[0], history.shape[1]
    starts = slots - ngram_size + 1  # J candidate n-grams, starting at slots 0 .. J-1
    if starts <= 0:
        return tf.zeros((batch_size, vocabulary_size), tf.bool)
    # The last n - 1 tokens: (B, n - 1).
    suffix_slots = tf.maximum(length - ngram_size + 1 + tf.range(ngram_size - 1), 0)
    suffix = tf.gather(history, suffix_slots, axis=1)
    matches = tf.ones((batch_size, starts), tf.bool)  # (B, J)
    for offset in range(ngram_size - 1):
        matches &= tf.equal(history[:, offset:offset + starts], suffix[:, offset:offset + 1])
    start_slots = tf.range(starts)[None, :]  # (1, J)
    # An earlier n-gram lies wholly in the real history: first_real <= j and j + n - 1 < length.
    valid = (start_slots >= first_real[:, None]) & (start_slots + ngram_size - 1 < length)
    valid &= length >= ngram_size
    followers = history[:, ngram_size - 1:ngram_size - 1 + starts]  # (B, J)
    return _scatter_rows(matches & valid, followers, batch_size, vocabulary_size)
