"""Skip-gram pipeline: a token stream -> batches of (target, context, negatives) for word2vec.

Skip-gram with negative sampling (Mikolov et al., 2013) learns word vectors by telling real
(target, context) pairs, taken from a window around each word, from (target, noise) pairs
whose noise words are drawn from the corpus's unigram distribution. Each element is

    x = {"target_ids":   (B,)   int32   a word of the text
         "context_ids":  (B,)   int32   a word at most `window_size` positions away from it
         "negative_ids": (B, K) int32   K words drawn from counts ** 0.75, independently}
    labels (B, 1 + K) float32: 1 for the context, 0 for each negative

which is what `tfllm.models.Word2Vec` takes: it scores the context and the K negatives against
the target, and binary cross-entropy on those logits is the skip-gram objective.

Each pass ("epoch") over the text, done entirely in TensorFlow ops from seeded stateless random
numbers, follows the reference word2vec tool:

1. Subsampling: each occurrence of word w is kept with probability
   `min(1, (sqrt(f / t) + 1) * t / f)`, where f is w's share of the tokens and t is `subsample`
   (word2vec.c's formula). Frequent words ("the", "and") are mostly dropped, so rare words get
   more updates and windows reach further; pass `subsample=None` to keep every token.
2. Dynamic window: each kept token draws a reach r uniformly from 1..`window_size` and pairs
   with the tokens up to r positions before and after it in the subsampled stream, so nearer
   words are paired more often (offset d is used with probability (W - d + 1) / W).
3. The pairs of the pass are shuffled and cut into batches of B (the last partial batch is
   dropped, so every batch has the same static shape).
4. Negatives are drawn per batch with `tf.random.stateless_categorical` from counts ** 0.75
   (`negative_distortion`). As in word2vec.c a negative may happen to equal the context.

`ignore_ids` (padding, unknown, punctuation) are removed from the stream before all of this,
like the words a vocabulary cut-off removes; they are never targets, contexts or negatives.
Given `seed`, the dataset is the same every time it is built; each pass draws fresh
subsampling, windows, order and negatives.

Example:

>>> import numpy as np
>>> from tfllm.data import skipgram_dataset
>>> ids = np.random.default_rng(0).integers(0, 50, size=2000)
>>> dataset = skipgram_dataset(ids, 50, window_size=2, num_negatives=3, batch_size=16)
>>> x, labels = next(iter(dataset))
>>> {key: tuple(value.shape) for key, value in x.items()}, labels[0].numpy().tolist()
({'target_ids': (16,), 'context_ids': (16,), 'negative_ids': (16, 3)}, [1.0, 0.0, 0.0, 0.0])
"""

import numpy as np
import tensorflow as tf

from tfllm.errors import CorpusError
from tfllm.validation import (
    check_bool,
    check_int,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
)


def keep_probabilities(counts, subsample):
    """Per-word probability of keeping an occurrence under word2vec's subsampling.

    Args:
        counts: (V,) occurrences of each id.
        subsample: the threshold t (e.g. 1e-3), or None to keep everything.
    Returns:
        (V,) float32 probabilities in [0, 1]; 1 for every word when `subsample` is None.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if subsample is None:
        return np.ones(counts.shape, np.float32)
    frequency = counts / max(counts.sum(), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(frequency / subsample) + 1.0) * subsample / frequency
    return np.where(counts > 0, np.minimum(keep, 1.0), 0.0).astype(np.float32)


def negative_sampling_distribution(counts, distortion=0.75):
    """(V,) float64 probabilities of drawing each id as a negative: counts ** distortion, normalised."""
    weights = np.asarray(counts, dtype=np.float64) ** distortion
    weights[np.asarray(counts) <= 0] = 0.0
    return weights / weights.sum()


def skipgram_dataset(
    token_ids,
    vocabulary_size,
    *,
    window_size=5,
    num_negatives=5,
    batch_size=1024,
    subsample=1e-3,
    negative_distortion=0.75,
    ignore_ids=(),
    seed=1337,
    repeat=True,
):
    """Builds a `tf.data.Dataset` of skip-gram batches with negatives (see the module docstring).

    Args:
        token_ids: 1-D integer array of N token ids in [0, `vocabulary_size`), the text in order.
        vocabulary_size: V; counts and negatives range over ids 0 .. V - 1.
        window_size: W, the largest distance between a target and its context.
        num_negatives: K, noise words per pair.
        batch_size: B, pairs per batch.
        subsample: word2vec's subsampling threshold t, or None to keep every token.
        negative_distortion: the exponent applied to counts for the noise distribution (0.75 in
            word2vec; 1 is the plain unigram distribution, 0 uniform over seen words).
        ignore_ids: ids removed from the stream first (padding, unknown, punctuation, ...).
        seed: int seed for every random choice.
        repeat: True for endless passes (fresh randomness each), False for one pass.

    Returns:
        A prefetched `tf.data.Dataset` of `({"target_ids", "context_ids", "negative_ids"},
        labels)`.
    """
    ids = _validate_ids(token_ids, vocabulary_size)
    window_size = check_positive_int("window_size", window_size)
    num_negatives = check_positive_int("num_negatives", num_negatives)
    batch_size = check_positive_int("batch_size", batch_size)
    if subsample is not None:  # None keeps every token
        check_positive_float("subsample", subsample)
    check_non_negative_float("negative_distortion", negative_distortion)
    check_int("seed", seed, error=TypeError)
    check_bool("repeat", repeat, error=TypeError)

    ignored = np.zeros(vocabulary_size, bool)
    ignored[[i for i in ignore_ids if 0 <= i < vocabulary_size]] = True
    ids = ids[~ignored[ids]]
    counts = np.bincount(ids, minlength=vocabulary_size)
    keep = keep_probabilities(counts, subsample)
    # Roughly W + 1 pairs per kept token (reach r pairs with 2r neighbours, E[2r] = W + 1).
    expected_pairs = float(keep[ids].sum()) * (window_size + 1)
    if expected_pairs < 2 * batch_size:
        raise CorpusError(
            f"The text gives about {expected_pairs:.0f} skip-gram pairs per pass ({len(ids)} "
            f"tokens after removing ignored ids, subsampling {subsample}), fewer than two batches "
            f"of batch_size={batch_size}. Use more text, a smaller batch_size or subsample=None. "
            f"Received: batch_size={batch_size}"
        )

    tokens = tf.constant(ids, tf.int32)  # (N,)
    keep_probability = tf.constant(keep)  # (V,)
    with np.errstate(divide="ignore"):
        noise_logits = np.where(counts > 0, negative_distortion * np.log(counts), -np.inf)
    noise_logits = tf.constant(noise_logits[None, :], tf.float32)  # (1, V)
    pass_seed = tf.constant([seed, 0], tf.int64)
    negative_seed = tf.constant([seed, 1], tf.int64)

    def one_pass(pass_index):
        subsample_seed, window_seed, shuffle_seed = tf.unstack(
            tf.random.experimental.stateless_split(
                tf.random.experimental.stateless_fold_in(pass_seed, pass_index), num=3
            )
        )
        draws = tf.random.stateless_uniform(tf.shape(tokens), seed=subsample_seed)
        stream = tf.boolean_mask(tokens, draws < tf.gather(keep_probability, tokens))  # (M,)
        reach = tf.random.stateless_uniform(
            tf.shape(stream), seed=window_seed, minval=1, maxval=window_size + 1, dtype=tf.int32
        )  # (M,) each target's window
        targets, contexts = [], []
        for offset in range(1, window_size + 1):
            # Target i with context i + offset, then target i + offset with context i.
            for target, context, target_reach in (
                (stream[:-offset], stream[offset:], reach[:-offset]),
                (stream[offset:], stream[:-offset], reach[offset:]),
            ):
                within = target_reach >= offset
                targets.append(tf.boolean_mask(target, within))
                contexts.append(tf.boolean_mask(context, within))
        targets, contexts = tf.concat(targets, 0), tf.concat(contexts, 0)  # (P,)
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.size(targets)), seed=shuffle_seed
        )  # (P,)
        order = order[: tf.size(order) // batch_size * batch_size]
        order = tf.reshape(order, [-1, batch_size])  # (P // B, B)
        return tf.data.Dataset.from_tensor_slices((tf.gather(targets, order), tf.gather(contexts, order)))

    passes = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
    dataset = passes.flat_map(one_pass)
    labels = tf.constant(
        np.tile([[1.0] + [0.0] * num_negatives], (batch_size, 1)), tf.float32
    )  # (B, 1 + K)

    def add_negatives(step, batch):
        target_ids, context_ids = batch  # (B,), (B,)
        negatives = tf.random.stateless_categorical(
            noise_logits,
            batch_size * num_negatives,
            seed=tf.random.experimental.stateless_fold_in(negative_seed, step),
            dtype=tf.int32,
        )  # (1, B * K)
        negative_ids = tf.reshape(negatives, [batch_size, num_negatives])  # (B, K)
        inputs = {"target_ids": target_ids, "context_ids": context_ids, "negative_ids": negative_ids}
        return inputs, labels

    dataset = dataset.enumerate().map(add_negatives, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _validate_ids(token_ids, vocabulary_size):
    check_positive_int("vocabulary_size", vocabulary_size)
    ids = np.asarray(token_ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise ValueError(
            f"token_ids must be a 1-D array of integer ids. Received: token_ids with shape "
            f"{ids.shape} and dtype {ids.dtype}"
        )
    ids = ids.astype(np.int64, copy=False)
    if ids.size and (ids.min() < 0 or ids.max() >= vocabulary_size):
        bad = int(ids[(ids < 0) | (ids >= vocabulary_size)][0])
        raise ValueError(
            f"token_ids must lie in [0, vocabulary_size={vocabulary_size}). Received: an id {bad}"
        )
    return ids
