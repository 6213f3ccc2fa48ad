"""Sequence-to-sequence pipelines: (source, target) string pairs -> teacher-forced batches.

`pair_dataset(pairs, tokenizer, source_length=S, target_length=T, batch_size=B)` tokenizes
every source and every target once, up front (one batch `tokenize` call per side, a ragged
tensor each), and yields `(x, labels, sample_weight)`:

    x = {"encoder_token_ids":    (B, S) int32  the source ids, padded with pad_id
         "encoder_padding_mask": (B, S) bool   True on the source's tokens
         "token_ids":            (B, T) int32  [bos] + the target ids (teacher forcing)
         "padding_mask":         (B, T) bool   True on those}
    labels        (B, T) int32    the target ids + [eos]: the next token at each position
    sample_weight (B, T) float32  1 on real labels, 0 on padding

so `token_ids[:, 1:] == labels[:, :-1]` on real positions, and a pair of L target ids takes
L + 1 positions on the decoder side. The source has no bos or eos: the encoder reads it whole
and nothing is predicted from its ends.

A pair fits when its source has at most S ids and its target at most T - 1 ids. With
`drop_long=True` (default) the others are left out: `count_long_pairs` says how many (the same
pairs), and the number is logged on the "tfllm.data" logger at INFO; with `drop_long=False`
they raise `ValueError` naming the longest. A source of no ids raises: an encoder has nothing
to attend to.

Without `bucket_boundaries` every batch is padded to (S, T). With them (increasing decoder
lengths, the last one T; `bucket_boundaries_for` picks them at quantiles) a pair goes to the
first bucket that holds both its sides, the source side of bucket i being
ceil(boundary_i * S / T) ids, and each batch is padded to its bucket's (source width,
boundary): one shape per bucket, so a compiled step meets at most one shape per bucket (plus,
in evaluation, each bucket's last, smaller batch).

`shuffle=True` shuffles every pair (seeded; a fresh order each pass, the same orders for the
same seed). `repeat=True` gives an endless stream for training, every batch of B pairs
(static (B, S) and (B, T) shapes when unbucketed); `shuffle=False, repeat=False` is
evaluation: every pair exactly once, in order when unbucketed (and then the dataset knows its
`cardinality()`; a bucketed one does not).

S and T are bounded by `tfllm.limits` MAX_SEQUENCE_LENGTH and the tokens of one batch,
B x (S + T), by MAX_BATCH_TOKENS.

Example:

>>> from tfllm.data.pair_dataset import pair_dataset
>>> from tfllm.tokenizers import build_tokenizer
>>> pairs = [("to be", "To be!"), ("or not", "or not?")]
>>> tokenizer = build_tokenizer("char", ["To be! or not?"])
>>> x, labels, weights = next(iter(pair_dataset(pairs, tokenizer, source_length=8,
...                                             target_length=8, batch_size=2)))
>>> tokenizer.decode(x["token_ids"][0]), tokenizer.decode(labels[0])
('To be!', 'To be!')
>>> x["encoder_padding_mask"].numpy().sum(axis=1).tolist(), weights.numpy().sum(axis=1).tolist()
([5, 6], [7.0, 8.0])
"""

import logging
import math
from collections import namedtuple

import numpy as np
import tensorflow as tf

from tfllm.limits import check_at_most
from tfllm.validation import check_bool, check_int, check_positive_int

__all__ = ["PairLengths", "bucket_boundaries_for", "count_long_pairs", "pair_dataset",
           "pair_lengths"]

logger = logging.getLogger("tfllm.data")

PairLengths = namedtuple("PairLengths", ["source", "decoder"])
PairLengths.__doc__ = """Token lengths of pairs, int64 arrays (N,): `source` (the source's ids)
and `decoder` (the target's ids + 1: the positions of `token_ids` and `labels` it fills)."""


def pair_dataset(
    pairs,
    tokenizer,
    *,
    source_length,
    target_length,
    batch_size,
    shuffle=False,
    seed=0,
    repeat=False,
    bucket_boundaries=None,
    drop_long=True,
):
    """Builds a `tf.data.Dataset` of teacher-forced seq2seq batches (module docstring).

    Args:
        pairs: a non-empty list of `RestorationPair`s (anything with str `.source` and
            `.target`) or of (source, target) str tuples.
        tokenizer: a `tfllm.tokenizers.Tokenizer` (its `pad_id`, `bos_id` and `eos_id` are used).
        source_length: S, the source ids a batch holds.
        target_length: T, the decoder positions a batch holds (bos + target ids).
        batch_size: B, pairs per batch.
        shuffle: shuffle the pairs (seeded), afresh on each pass.
        seed: the shuffle seed.
        repeat: repeat forever (training).
        bucket_boundaries: None, or strictly increasing decoder lengths whose last is T.
        drop_long: leave out pairs too long for (S, T); False raises `ValueError` instead.

    Returns:
        A prefetched `tf.data.Dataset` of `(x, labels, sample_weight)`.
    """
    source_length, target_length, batch_size = _check_sizes(source_length, target_length,
                                                             batch_size)
    check_bool("shuffle", shuffle)
    check_int("seed", seed)
    check_bool("repeat", repeat)
    check_bool("drop_long", drop_long)
    boundaries = _check_boundaries(bucket_boundaries, target_length)
    sources, targets = _tokenize_pairs(pairs, tokenizer)
    lengths = _lengths(sources, targets)
    if (lengths.source == 0).any():
        index = int(np.argmin(lengths.source))
        raise ValueError(
            f"Every source needs at least one token (the encoder attends to it). Received: "
            f"pairs[{index}] with source {_strings(pairs)[0][index]!r}"
        )
    fits = (lengths.source <= source_length) & (lengths.decoder <= target_length)
    if not fits.all():
        if not drop_long:
            raise ValueError(_too_long_message(pairs, lengths, source_length, target_length))
        logger.info("pair_dataset: left out %d of %d pairs longer than source_length=%d or "
                    "target_length=%d - 1 target tokens", int((~fits).sum()), len(fits),
                    source_length, target_length)
        if not fits.any():
            raise ValueError(_too_long_message(pairs, lengths, source_length, target_length,
                                               every=True))
    kept = np.flatnonzero(fits)
    sources, targets = tf.gather(sources, kept), tf.gather(targets, kept)  # (N, None) each
    widths = _bucket_widths(boundaries or [target_length], source_length, target_length)
    # The first bucket that holds both sides.
    keys = np.maximum(np.searchsorted(widths[:, 1], lengths.decoder[kept]),
                      np.searchsorted(widths[:, 0], lengths.source[kept]))

    dataset = tf.data.Dataset.range(len(kept))
    if shuffle:
        dataset = dataset.shuffle(len(kept), seed=int(seed), reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.map(_pair_reader(sources, targets, keys, tokenizer),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = _batch(dataset, widths, batch_size, drop_remainder=repeat)
    return dataset.map(_model_inputs(tokenizer.pad_id),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def pair_lengths(pairs, tokenizer):
    """The `PairLengths` of `pairs` under `tokenizer` (source ids; target ids + 1)."""
    return _lengths(*_tokenize_pairs(pairs, tokenizer))


def count_long_pairs(pairs, tokenizer, *, source_length, target_length):
    """How many of `pairs` `pair_dataset` leaves out for (source_length, target_length):
    those with over `source_length` source ids or over `target_length` - 1 target ids."""
    source_length, target_length, _ = _check_sizes(source_length, target_length, 1)
    lengths = pair_lengths(pairs, tokenizer)
    return int(((lengths.source > source_length) | (lengths.decoder > target_length)).sum())


def bucket_boundaries_for(lengths, target_length, *, buckets=4, multiple=8):
    """Bucket boundaries for `pair_dataset` at the quantiles of the decoder lengths.

    Args:
        lengths: decoder lengths (`pair_lengths(...).decoder`), a 1-D array of ints.
        target_length: T, the last boundary.
        buckets: how many buckets at most (equal shares of the pairs at or under T).
        multiple: each boundary is rounded up to a multiple of this (shapes an accelerator
            likes); boundaries that meet are merged, so there may be fewer buckets.

    Returns:
        A tuple of strictly increasing ints ending with `target_length`.

    Example:

    >>> bucket_boundaries_for([5, 9, 12, 20, 31, 40, 41, 60], 64)
    (16, 32, 48, 64)
    """
    target_length = check_positive_int("target_length", target_length)
    buckets = check_positive_int("buckets", buckets)
    multiple = check_positive_int("multiple", multiple)
    values = np.asarray(lengths)
    if values.ndim != 1 or not values.size or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"lengths must be a non-empty 1-D array of integer decoder lengths (see "
            f"pair_lengths). Received: lengths with shape {values.shape} and dtype {values.dtype}"
        )
    values = values[values <= target_length]
    if not values.size:
        return (target_length,)
    quantiles = np.quantile(values, np.arange(1, buckets) / buckets, method="higher")
    rounded = {min(target_length, -(-int(q) // multiple) * multiple) for q in quantiles}
    return tuple(sorted(rounded - {target_length})) + (target_length,)


def _check_sizes(source_length, target_length, batch_size):
    """The three sizes, checked against their types and `tfllm.limits`."""
    for name, value in (("source_length", source_length), ("target_length", target_length)):
        check_positive_int(name, value)
        check_at_most(name, value, "MAX_SEQUENCE_LENGTH", "positions of context")
    check_positive_int("batch_size", batch_size)
    tokens = batch_size * (source_length + target_length)
    check_at_most("batch_size x (source_length + target_length)", tokens, "MAX_BATCH_TOKENS",
                  "tokens per batch", advice="lower batch_size or the lengths",
                  received=f"batch_size={batch_size}, source_length={source_length}, "
                           f"target_length={target_length}")
    return int(source_length), int(target_length), int(batch_size)


def _check_boundaries(bucket_boundaries, target_length):
    if bucket_boundaries is None:
        return None
    values = list(bucket_boundaries) if isinstance(bucket_boundaries, (list, tuple)) else None
    if (not values or any(isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1
                          for b in values)
            or values != sorted(set(values)) or values[-1] != target_length):
        raise ValueError(
            f"bucket_boundaries must be None or a strictly increasing list of positive ints "
            f"ending with target_length={target_length}, e.g. (16, 32, {target_length}). "
            f"Received: bucket_boundaries={bucket_boundaries!r}"
        )
    return [int(b) for b in values]


def _strings(pairs):
    """(sources, targets): two lists of str, from pairs or (source, target) tuples."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (list, tuple)) or not pairs:
        raise ValueError(
            f"pairs must be a non-empty list of RestorationPair or (source, target) tuples. "
            f"Received: pairs of type {type(pairs).__name__}"
            + (" (empty)" if isinstance(pairs, (list, tuple)) else "")
        )
    sources, targets = [], []
    for index, pair in enumerate(pairs):
        if isinstance(pair, tuple) and len(pair) == 2:
            source, target = pair
        else:
            source, target = getattr(pair, "source", None), getattr(pair, "target", None)
        if not isinstance(source, str) or not isinstance(target, str):
            raise TypeError(
                f"Each pair must have a str source and a str target (a RestorationPair or a "
                f"(source, target) tuple). Received: pairs[{index}]={pair!r}"
            )
        sources.append(source)
        targets.append(target)
    return sources, targets


def _tokenize_pairs(pairs, tokenizer):
    """(sources, targets): (N, None) int32 ragged ids, one batch tokenize call per side."""
    sources, targets = _strings(pairs)
    return (tf.cast(tokenizer.tokenize(sources), tf.int32),
            tf.cast(tokenizer.tokenize(targets), tf.int32))


def _lengths(sources, targets):
    return PairLengths(sources.row_lengths().numpy(), targets.row_lengths().numpy() + 1)


def _bucket_widths(boundaries, source_length, target_length):
    """(buckets, 2) int64: each bucket's (source width, decoder width), the source width in
    proportion to the decoder's: ceil(boundary * S / T)."""
    return np.array([[min(source_length, math.ceil(b * source_length / target_length)), b]
                     for b in boundaries], np.int64)


def _too_long_message(pairs, lengths, source_length, target_length, every=False):
    sources, targets = _strings(pairs)
    source_index = int(np.argmax(lengths.source))
    target_index = int(np.argmax(lengths.decoder))
    start = ("No pair fits" if every else "Some pairs do not fit (drop_long=False)")
    return (
        f"{start}: a pair may have at most source_length={source_length} source tokens and "
        f"target_length - 1 = {target_length - 1} target tokens (one position goes to bos / "
        f"eos). The longest source has {lengths.source[source_index]} tokens "
        f"(pairs[{source_index}]: {sources[source_index][:60]!r}), the longest target "
        f"{lengths.decoder[target_index] - 1} (pairs[{target_index}]: "
        f"{targets[target_index][:60]!r}). Raise the lengths or pass drop_long=True. "
        f"Received: source_length={source_length}, target_length={target_length}"
    )


def _pair_reader(sources, targets, keys, tokenizer):
    """index -> (bucket key, source ids (L_s,), [bos] + target (L_t + 1,), target + [eos])."""
    keys = tf.constant(keys, tf.int64)
    bos = tf.constant([tokenizer.bos_id], tf.int32)
    eos = tf.constant([tokenizer.eos_id], tf.int32)

    def read(index):
        target = targets[index]  # (L_t,)
        return (keys[index], sources[index], tf.concat([bos, target], 0),
                tf.concat([target, eos], 0))

    return read


def _batch(dataset, widths, batch_size, drop_remainder):
    """Batches of one bucket each, padded with -1 (never an id) to the bucket's widths."""
    def padded(window, source_width, target_width):
        return window.padded_batch(
            batch_size,
            padded_shapes=([], [source_width], [target_width], [target_width]),
            padding_values=(tf.constant(0, tf.int64), -1, -1, -1),
            drop_remainder=drop_remainder,
        )

    if len(widths) == 1:  # static shapes: (B or None, S) and (B or None, T)
        return padded(dataset, int(widths[0, 0]), int(widths[0, 1]))
    table = tf.constant(widths)  # (buckets, 2)
    return dataset.group_by_window(
        key_func=lambda key, *ids: key,
        reduce_func=lambda key, window: padded(window, table[key, 0], table[key, 1]),
        window_size=batch_size,
    )


def _model_inputs(pad_id):
    def split(keys, sources, decoder_inputs, labels):  # (B,), (B, S), (B, T), (B, T)
        source_real, decoder_real = sources >= 0, decoder_inputs >= 0
        pad = tf.constant(pad_id, tf.int32)
        x = {
            "encoder_token_ids": tf.where(source_real, sources, pad),
            "encoder_padding_mask": source_real,
            "token_ids": tf.where(decoder_real, decoder_inputs, pad),
            "padding_mask": decoder_real,
        }
        return x, tf.where(labels >= 0, labels, pad), tf.cast(labels >= 0, tf.float32)

    return split
