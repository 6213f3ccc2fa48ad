"""Masked-language-model pipelines: documents -> BERT-style masked batches.

The objective of "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding" (Devlin et al., 2019): hide some tokens of a sequence and predict them from
both sides. `masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=B)` tokenizes
every document once, up front (all documents in one batch `tokenize` call, cut into
line-aligned chunks as `tfllm.tokenizers.tokenize_in_chunks` does, which gives the ids of the
whole text), and cuts each document's ids into windows of T - 2. An example is

    [bos] + window + [eos] + pad ...

where a tfllm tokenizer's `bos_id` and `eos_id` play BERT's [CLS] and [SEP]; only a
document's last window is short, and it is padded with `pad_id` after its [SEP]. Examples
never span two documents. Each element is `(x, labels, sample_weight)`:

    x = {"token_ids":      (B, T) int32  the example, some tokens replaced (below)
         "padding_mask":   (B, T) bool   True on [CLS], the window and [SEP]
         "mask_positions": (B, P) int32  the positions to predict, ascending, then 0s}
    labels        (B, P) int32    the original ids at those positions (pad_id on empty slots)
    sample_weight (B, P) float32  1 on real predictions, 0 on the empty slots

Masking happens in the pipeline, so every pass over the data masks afresh. Of an example's n
real tokens that are not special (not pad, unk, bos, eos or mask: so [CLS], [SEP], padding and
unknown tokens are never predicted), exactly k = min(P, max(1, round(mask_rate * n))) are
selected, uniformly at random without replacement: the rule of the paper's data code
(`create_pretraining_data`), except that n leaves out [CLS] and [SEP], which that code counts.
round is Python's (half to even); an example with no such token has no selection. P =
`max_predictions` defaults to ceil(mask_rate * T), which holds every selection (n <= T - 2),
so every example's rate is mask_rate up to rounding. Each selected token independently
becomes `mask_id` (80%), a random id of the non-special vocabulary (10%, which may be the
token itself, as in BERT) or stays unchanged (10%).

Every random draw is stateless, keyed on (seed, example index, epoch): the same seed gives the
same batches whatever TensorFlow's global seed, a repeated dataset masks each pass differently,
and `shuffle=True` draws each pass's order from (seed, epoch) as well. `repeat=True` gives an
endless stream of full batches (static (B, T) and (B, P) shapes); `repeat=False` is one pass,
the last batch possibly smaller, and the dataset knows its `cardinality()`.

T is bounded by `tfllm.limits` MAX_SEQUENCE_LENGTH, B x T by MAX_BATCH_TOKENS and the texts by
MAX_CORPUS_MB. `unigram_floor(texts, tokenizer)` is the loss (nats) of a model that predicts
every masked token from the unigram frequencies alone, the level a training curve must leave.

Example:

>>> from tfllm.data.masked_lm_dataset import masked_lm_dataset
>>> from tfllm.tokenizers import build_tokenizer
>>> texts = ["To be, or not to be, that is the question", "Whether 'tis nobler"]
>>> tokenizer = build_tokenizer("char", texts)
>>> dataset = masked_lm_dataset(texts, tokenizer, sequence_length=16, batch_size=4, seed=3)
>>> x, labels, weights = next(iter(dataset))
>>> x["token_ids"].shape, x["mask_positions"].shape, labels.shape
(TensorShape([4, 16]), TensorShape([4, 3]), TensorShape([4, 3]))
>>> x["padding_mask"].numpy().sum(axis=1).tolist()  # [CLS] + up to 14 ids + [SEP]
[16, 16, 15, 16]
>>> bool((weights.numpy().sum(axis=1) >= 1).all())
True
"""

import math

import numpy as np
import tensorflow as tf

from tfllm.limits import check_at_most, current_limit, megabytes, raise_hint
from tfllm.validation import (
    check_bool,
    check_int_at_least,
    check_int_range,
    check_open_unit,
    check_positive_int,
)

__all__ = ["default_max_predictions", "masked_lm_dataset", "unigram_floor"]

# Of the selected tokens: below 0.8 -> mask_id, below 0.9 -> a random id, else unchanged.
_MASK_SHARE, _RANDOM_SHARE = 0.8, 0.1
# Texts are cut after a newline about this often and tokenized as one batch of chunks.
_CHUNK_CHARACTERS = 65_536
# Distinct second words of the base seed, so the shuffle and the masks draw separate streams.
_MASK_STREAM, _SHUFFLE_STREAM = 0, 1


def default_max_predictions(sequence_length, mask_rate=0.15):
    """P: ceil(mask_rate * sequence_length), at least 1 (the default of `max_predictions`).

    >>> default_max_predictions(128)
    20
    """
    sequence_length = check_positive_int("sequence_length", sequence_length)
    mask_rate = check_open_unit("mask_rate", mask_rate)
    return max(1, math.ceil(mask_rate * sequence_length))


def masked_lm_dataset(texts, tokenizer, *, sequence_length, batch_size, mask_rate=0.15,
                      max_predictions=None, shuffle=False, seed=0, repeat=False):
    """Builds a `tf.data.Dataset` of masked-LM batches (module docstring).

    Args:
        texts: a non-empty list of document strings.
        tokenizer: a `tfllm.tokenizers.Tokenizer` (its special ids are used: bos as [CLS], eos
            as [SEP], pad, mask; unk is never predicted).
        sequence_length: T, the positions of an example ([CLS] + T - 2 ids + [SEP]), >= 3.
        batch_size: B, examples per batch.
        mask_rate: the share of an example's real, non-special tokens that is selected, in
            (0, 1).
        max_predictions: P, the most selections an example keeps, in [1, T - 2]; default
            `default_max_predictions(T, mask_rate)`, which never truncates.
        shuffle: a fresh seeded order of the examples on each pass.
        seed: keys every random draw (the masks and the order).
        repeat: repeat forever (training), every batch full.

    Returns:
        A prefetched `tf.data.Dataset` of `(x, labels, sample_weight)`.
    """
    sequence_length = check_int_at_least("sequence_length", sequence_length, 3)
    check_at_most("sequence_length", sequence_length, "MAX_SEQUENCE_LENGTH",
                  "positions of context")
    batch_size = check_positive_int("batch_size", batch_size)
    check_at_most("batch_size x sequence_length", batch_size * sequence_length,
                  "MAX_BATCH_TOKENS", "tokens per batch", advice="lower batch_size or "
                  "sequence_length", received=f"batch_size={batch_size}, "
                                              f"sequence_length={sequence_length}")
    mask_rate = check_open_unit("mask_rate", mask_rate)
    if max_predictions is None:
        max_predictions = default_max_predictions(sequence_length, mask_rate)
    max_predictions = check_int_range("max_predictions", max_predictions, 1, sequence_length - 2)
    check_bool("shuffle", shuffle)
    seed = check_int_range("seed", seed, -(2**63), 2**63 - 1)
    check_bool("repeat", repeat)
    regular_ids = _regular_ids(tokenizer)
    examples, lengths = _examples(_document_ids(texts, tokenizer), sequence_length, tokenizer)
    num_examples = len(examples)

    steps = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(num_examples)
    dataset = steps.map(_locator(num_examples, shuffle, seed))
    dataset = dataset.map(
        _masker(examples, lengths, tokenizer, regular_ids, mask_rate, max_predictions, seed),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=repeat)
    return dataset.prefetch(tf.data.AUTOTUNE)


def unigram_floor(texts, tokenizer):
    """The entropy in nats of the unigram distribution of the non-special tokens of `texts`.

    A model that ignores the context of a masked position can do no better, on these texts,
    than predict these frequencies, and its cross-entropy is then this entropy: the masked-LM
    loss a training curve must leave (each example's selections are a uniform sample of its
    non-special tokens, so the labels follow about the same distribution).

    Args:
        texts: a non-empty list of document strings.
        tokenizer: a `tfllm.tokenizers.Tokenizer`.

    Returns:
        A float >= 0 (0 when only one distinct token occurs).

    Example:

    >>> from tfllm.data.masked_lm_dataset import unigram_floor
    >>> from tfllm.tokenizers import build_tokenizer
    >>> tokenizer = build_tokenizer("char", ["ab"])
    >>> round(unigram_floor(["abab", "ba"], tokenizer), 6)  # two tokens, equally frequent: ln 2
    0.693147
    """
    ids = np.concatenate(_document_ids(texts, tokenizer))
    counts = np.bincount(ids, minlength=tokenizer.vocabulary_size).astype(np.float64)
    counts[sorted(set(tokenizer.special_ids.values()))] = 0
    total = counts.sum()
    if total == 0:
        raise ValueError(
            f"texts hold no non-special token under this tokenizer, so they have no unigram "
            f"distribution. Received: {len(texts)} text(s) of {sum(map(len, texts))} characters"
        )
    probabilities = counts[counts > 0] / total
    return float(-(probabilities * np.log(probabilities)).sum())


def _check_texts(texts):
    if isinstance(texts, (str, bytes)) or not isinstance(texts, (list, tuple)) or not texts:
        raise ValueError(
            f"texts must be a non-empty list of document strings. Received: texts of type "
            f"{type(texts).__name__}" + (" (empty)" if isinstance(texts, (list, tuple)) else "")
        )
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"Each text must be a str. Received: texts[{index}] of type "
                            f"{type(text).__name__}")
    size_mb = megabytes(sum(len(text.encode("utf-8")) for text in texts))
    limit = current_limit("MAX_CORPUS_MB")
    if size_mb > limit:
        raise ValueError(
            f"texts hold {size_mb:,.1f} MiB of text, over the limit of {limit:,} MiB of corpus; "
            f"{raise_hint('MAX_CORPUS_MB')}. Received: {len(texts)} texts of {size_mb:,.1f} MiB"
        )


def _line_chunks(text):
    """`text` cut after a newline about every `_CHUNK_CHARACTERS` characters."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK_CHARACTERS - 1)
        end = len(text) if end == -1 else end + 1  # the newline ends its chunk
        yield text[start:end]
        start = end


def _document_ids(texts, tokenizer):
    """One 1-D int32 NumPy array of ids per text, from one batch `tokenize` call."""
    _check_texts(texts)
    chunks, owners = [], []
    for index, text in enumerate(texts):
        for chunk in _line_chunks(text):
            chunks.append(chunk)
            owners.append(index)
    if not chunks:
        return [np.zeros([0], np.int32) for _ in texts]
    ragged = tokenizer.tokenize(chunks)  # (chunks, None)
    flat = np.asarray(ragged.flat_values.numpy(), np.int32)
    per_text = np.bincount(owners, weights=ragged.row_lengths().numpy(), minlength=len(texts))
    return np.split(flat, np.cumsum(per_text.astype(np.int64))[:-1])


def _regular_ids(tokenizer):
    """The non-special ids, int32 (R,): what a random replacement draws from."""
    special = set(tokenizer.special_ids.values())
    regular = np.array([i for i in range(tokenizer.vocabulary_size) if i not in special], np.int32)
    if not regular.size:
        raise ValueError(
            f"The tokenizer has no id besides its special tokens, so nothing can be masked. "
            f"Received: tokenizer with vocabulary_size={tokenizer.vocabulary_size}"
        )
    return regular


def _examples(documents, sequence_length, tokenizer):
    """(E, T) int32 examples [bos] + window + [eos] + pad, and (E,) int32 window lengths."""
    width = sequence_length - 2
    rows, lengths = [], []
    for ids in documents:
        count = -(-len(ids) // width)  # ceil: the last window may be short
        if not count:
            continue
        windows = np.full([count * width], tokenizer.pad_id, np.int32)
        windows[: len(ids)] = ids
        block = np.full([count, sequence_length], tokenizer.pad_id, np.int32)
        block[:, 0] = tokenizer.bos_id
        block[:, 1:-1] = windows.reshape(count, width)  # (count, T - 2)
        window_lengths = np.minimum(width, len(ids) - width * np.arange(count))
        block[np.arange(count), window_lengths + 1] = tokenizer.eos_id
        rows.append(block)
        lengths.append(window_lengths.astype(np.int32))
    if not rows:
        raise ValueError(
            f"texts hold no token: every text is empty. Received: {len(documents)} text(s)")
    return np.concatenate(rows), np.concatenate(lengths)


def _locator(num_examples, shuffle, seed):
    """step (int64) -> (example index, epoch): each pass visits every example once."""
    base = tf.constant([seed, _SHUFFLE_STREAM], tf.int64)
    size = tf.constant(num_examples, tf.int64)

    def locate(step):
        epoch, position = step // size, step % size
        if not shuffle:
            return position, epoch
        key = tf.random.experimental.stateless_fold_in(base, epoch, alg="philox")
        return tf.random.experimental.index_shuffle(position, key, size - 1), epoch

    return locate


def _masker(examples, lengths, tokenizer, regular_ids, mask_rate, max_predictions, seed):
    """(example index, epoch) -> (x, labels, sample_weight) of one example, masked."""
    examples = tf.constant(examples)  # (E, T)
    lengths = tf.constant(lengths)  # (E,)
    special = tf.constant(sorted(set(tokenizer.special_ids.values())), tf.int32)  # (5,)
    regular = tf.constant(regular_ids)  # (R,)
    base = tf.constant([seed, _MASK_STREAM], tf.int64)
    length = examples.shape[1]
    slots = tf.range(max_predictions)  # (P,)
    pad, mask = tf.constant(tokenizer.pad_id, tf.int32), tf.constant(tokenizer.mask_id, tf.int32)

    def masked(index, epoch):
        token_ids = examples[index]  # (T,)
        padding_mask = tf.range(length) < lengths[index] + 2  # (T,) [CLS], window, [SEP]
        is_special = tf.reduce_any(token_ids[:, None] == special[None, :], axis=-1)  # (T,)
        candidate = padding_mask & ~is_special
        key = tf.random.experimental.stateless_fold_in(
            tf.random.experimental.stateless_fold_in(base, epoch, alg="philox"), index,
            alg="philox")
        draw_key, share_key, random_key = tf.unstack(
            tf.random.experimental.stateless_split(key, 3, alg="philox"))
        candidates = tf.boolean_mask(tf.range(length), candidate)  # (n,) ascending
        available = tf.size(candidates)
        # Float64 makes the product, and so its rounding, the same as Python's; tf.round rounds
        # half to even as Python's round does.
        wanted = tf.round(tf.cast(available, tf.float64) * mask_rate)
        count = tf.minimum(tf.maximum(tf.cast(wanted, tf.int32), 1), max_predictions)
        count = tf.minimum(count, available)
        chosen = tf.sort(tf.random.experimental.stateless_shuffle(
            candidates, draw_key, alg="philox")[:count])  # (k,) ascending
        positions = tf.concat([chosen, tf.zeros([max_predictions - count], tf.int32)], 0)
        positions = tf.ensure_shape(positions, [max_predictions])  # (P,)
        valid = slots < count
        labels = tf.where(valid, tf.gather(token_ids, positions), pad)  # (P,)
        shares = tf.random.stateless_uniform([max_predictions], share_key, alg="philox")
        random_ids = tf.gather(regular, tf.random.stateless_uniform(
            [max_predictions], random_key, minval=0, maxval=len(regular_ids), dtype=tf.int32,
            alg="philox"))  # (P,)
        replacements = tf.where(shares < _MASK_SHARE, mask,
                                tf.where(shares < _MASK_SHARE + _RANDOM_SHARE, random_ids, labels))
        token_ids = tf.tensor_scatter_nd_update(
            token_ids, tf.boolean_mask(positions, valid)[:, None],
            tf.boolean_mask(replacements, valid))
        x = {"token_ids": token_ids, "padding_mask": padding_mask, "mask_positions": positions}
        return x, labels, tf.cast(valid, tf.float32)

    return masked
