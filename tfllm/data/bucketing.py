"""Bucketing: variable-length sequences -> LM batches padded only to their bucket's length.

Packing (`packing.py`) fills every row; bucketing keeps each example whole, for when an example
must stay one sequence (a line, a sentence, a speech) or be scored on its own. Examples of
similar length are batched together with `tf.data.Dataset.bucket_by_sequence_length`, and each
batch is padded to its bucket's length, so a batch of short lines is not padded to the longest
line of the corpus. Each bucket has one static width, so a compiled (XLA) step sees one shape
per bucket rather than one per batch.

`bucketed_dataset(sequences, sequence_lengths=(16, 32, 64), batch_size=B)` reads sequences of
token ids (e.g. from `tokenized_dataset`). A sequence of L tokens gives L - 1 next-token targets
and goes to the smallest bucket T >= L - 1; a longer one is cut to its first max(T) + 1 tokens,
and one of fewer than 2 tokens (no target) is dropped. Every element is

    x = {"token_ids": (B, T) int32, "padding_mask": (B, T) bool}   T one of sequence_lengths
    labels        (B, T) int32    the next token within the same sequence
    sample_weight (B, T) float32  1 where the label is real, 0 on padding

`padding_mask` is True on the sequence's tokens, its last token included when the row has room
for it (that position's label is padding, so its weight is 0), as in `lm_dataset`'s "eval" rows.

so it feeds the same models and losses as `lm_dataset`. Batches hold up to B sequences (the last
batch of a bucket may be smaller, unless `drop_remainder`). With `shuffle`, sequences are
shuffled (seeded) before bucketing; batches come out as their buckets fill.

Example:

>>> import tensorflow as tf
>>> from tfllm.data.bucketing import bucketed_dataset
>>> lines = tf.ragged.constant([[5, 6], [5, 6, 7, 8, 9], [7, 8, 9], [5] * 12])
>>> dataset = bucketed_dataset(tf.data.Dataset.from_tensor_slices(lines), (4, 8), batch_size=2)
>>> [tuple(x["token_ids"].shape) for x, _, _ in dataset]
[(2, 4), (1, 4), (1, 8)]
"""

import numbers

import tensorflow as tf

__all__ = ["bucketed_dataset"]


def bucketed_dataset(
    sequences,
    sequence_lengths,
    batch_size,
    *,
    pad_id=0,
    shuffle=False,
    seed=1337,
    shuffle_buffer=10_000,
    repeat=False,
    drop_remainder=False,
):
    """Batches variable-length sequences by length into next-token batches (module docstring).

    Args:
        sequences: a `tf.data.Dataset` of 1-D integer token ids (one sequence per element).
        sequence_lengths: increasing input lengths T of the buckets, e.g. (16, 32, 64).
        batch_size: B, sequences per batch: an int for every bucket, or one per bucket.
        pad_id: the id that pads short sequences (padding_mask False, weight 0).
        shuffle: shuffle sequences (seeded) before bucketing.
        seed: the shuffle seed.
        shuffle_buffer: sequences in the shuffle buffer.
        repeat: repeat forever.
        drop_remainder: drop each bucket's last batch of fewer than its batch size.

    Returns:
        A prefetched `tf.data.Dataset` of `({"token_ids", "padding_mask"}, labels, sample_weight)`.
    """
    if not isinstance(sequences, tf.data.Dataset):
        raise TypeError(
            f"sequences must be a tf.data.Dataset of 1-D token ids (see tokenized_dataset). "
            f"Received: sequences of type {type(sequences).__name__}"
        )
    spec = sequences.element_spec
    # Slices of a ragged tensor arrive as 1-D RaggedTensorSpec(ragged_rank=0): plain tensors.
    dense = isinstance(spec, tf.TensorSpec) or (
        isinstance(spec, tf.RaggedTensorSpec) and spec.ragged_rank == 0)
    if not dense or spec.shape.rank != 1 or not spec.dtype.is_integer:
        raise ValueError(
            f"sequences must yield 1-D integer tensors. Received: element_spec={spec}"
        )
    lengths = tuple(sequence_lengths) if isinstance(sequence_lengths, (list, tuple)) else None
    if not lengths or any(isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1
                          for t in lengths) or list(lengths) != sorted(set(lengths)):
        raise ValueError(
            f"sequence_lengths must be a non-empty, strictly increasing list of positive ints, "
            f"e.g. (16, 32, 64). Received: sequence_lengths={sequence_lengths!r}"
        )
    sizes = [batch_size] * len(lengths) if isinstance(batch_size, numbers.Integral) else batch_size
    if (not isinstance(sizes, (list, tuple)) or len(sizes) != len(lengths)
            or any(isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 1 for b in sizes)):
        raise ValueError(
            f"batch_size must be a positive int or one positive int per bucket "
            f"({len(lengths)} buckets). Received: batch_size={batch_size!r}"
        )
    max_tokens = lengths[-1] + 1  # T inputs and their T next tokens

    dataset = sequences.map(lambda ids: tf.cast(ids[:max_tokens], tf.int32))
    dataset = dataset.filter(lambda ids: tf.size(ids) >= 2)  # at least one target
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=int(seed), reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    # Bucket i holds L with b[i-1] <= L < b[i], so b[i] = T_i + 2 puts L - 1 <= T_i; padding to
    # the boundary gives b[i] - 1 = T_i + 1 tokens. Lengths are cut to max T + 1 < b[-1], so the
    # extra bucket TensorFlow adds beyond the last boundary stays empty.
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda ids: tf.size(ids),
        bucket_boundaries=[t + 2 for t in lengths],
        bucket_batch_sizes=[*sizes, sizes[-1]],
        padded_shapes=[None],
        padding_values=tf.constant(-1, tf.int32),  # -1: never a token id, so realness is >= 0
        pad_to_bucket_boundary=True,
        drop_remainder=drop_remainder,
    )

    def to_model_inputs(windows):  # (B, T + 1), -1 on padding
        real = windows >= 0
        tokens = tf.where(real, windows, tf.fill(tf.shape(windows), tf.constant(pad_id, tf.int32)))
        x = {"token_ids": tokens[:, :-1], "padding_mask": real[:, :-1]}  # (B, T) each
        return x, tokens[:, 1:], tf.cast(real[:, 1:], tf.float32)

    return dataset.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
