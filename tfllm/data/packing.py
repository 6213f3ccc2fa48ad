"""Packing: many documents -> fixed (B, T) rows, and the mask that keeps documents apart.

`packed_dataset(documents, T, B, end_id=...)` appends `end_id` to each document, concatenates
them into one stream and cuts it into rows like `lm_dataset`'s "all"/"eval" windows (T + 1 tokens
with stride T, so every token is a target exactly once per pass). Nothing is wasted on padding
except the tail of the last row. Every element is `(x, labels, sample_weight)`:

    x = {"token_ids":    (B, T) int32
         "padding_mask": (B, T) bool     True on real tokens, False on the padded tail
         "segment_ids":  (B, T) int32    1, 2, ... numbers the documents within each row,
                                         0 marks padding}
    labels        (B, T) int32    the next token of the stream
    sample_weight (B, T) float32  see below

A document cut by a row boundary continues in the next row as that row's segment 1.

With `document_mask=True` (default) a position whose label belongs to another document gets
weight 0. That position is always a document's `end_id` (each document ends with one), whose
next token is the first token of the next document: a guess no model can make from the
document it may attend to. So the model learns to end a document (the token before `end_id`
predicts `end_id`, weight 1) but never to begin one: the first token of each document is not a
target. Pass `segment_ids` to a model that attends within equal segment ids only
(`segment_attention_mask`), and no position sees or predicts across a document boundary. With
`document_mask=False` the rows are one segment each (`segment_ids` 1 on every real token), every
real next token has weight 1, and attention is plain causal: documents see their predecessors.

`segment_attention_mask(segment_ids)` is that mask as a pure function: (B, T) -> (B, T, T) bool,
True where query i may attend key j: same segment, j <= i, and neither is padding.

The token ids are held in memory (two int32 per token). Given the seed (and TensorFlow's global
seed) two datasets built alike give the same batches.

Example:

>>> import numpy as np
>>> from tfllm.data.packing import packed_dataset, segment_attention_mask
>>> documents = [np.array([5, 6, 7]), np.array([8, 9]), np.array([10, 11, 12, 13])]
>>> x, labels, weights = next(iter(packed_dataset(documents, 6, 2, end_id=3)))
>>> x["token_ids"].numpy().tolist()
[[5, 6, 7, 3, 8, 9], [3, 10, 11, 12, 13, 3]]
>>> x["segment_ids"].numpy().tolist()
[[1, 1, 1, 1, 2, 2], [1, 2, 2, 2, 2, 2]]
>>> weights.numpy().tolist()
[[1.0, 1.0, 1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]]
>>> segment_attention_mask(x["segment_ids"])[0, 4].numpy().tolist()  # query 4 sees keys 4 only
[False, False, False, False, True, False]
"""

import numpy as np
import tensorflow as tf

from tfllm.errors import CorpusError
from tfllm.validation import check_bool, check_int, check_non_negative_int, check_positive_int

__all__ = ["packed_dataset", "segment_attention_mask"]


def segment_attention_mask(segment_ids):
    """The attention mask of packed rows: same segment AND causal AND not padding.

    Args:
        segment_ids: (B, T) integer tensor; 1, 2, ... per document within a row, 0 on padding.

    Returns:
        (B, T, T) bool, `mask[b, i, j]` True when query i may attend key j: j <= i and
        `segment_ids[b, i] == segment_ids[b, j] != 0`. A padding query attends nothing.
    """
    segment_ids = tf.convert_to_tensor(segment_ids)
    if segment_ids.shape.rank != 2:
        raise ValueError(
            f"segment_ids must have shape (B, T). Received: segment_ids with shape {segment_ids.shape}"
        )
    same = segment_ids[:, :, None] == segment_ids[:, None, :]  # (B, T, T)
    real = segment_ids[:, :, None] > 0  # (B, T, 1): padding (0) attends nothing
    length = tf.shape(segment_ids)[1]
    positions = tf.range(length)
    causal = positions[:, None] >= positions[None, :]  # (T, T) query i, key j <= i
    return same & real & causal[None, :, :]


def packed_dataset(
    documents,
    sequence_length,
    batch_size,
    *,
    end_id,
    document_mask=True,
    pad_id=0,
    shuffle=False,
    seed=1337,
    repeat=False,
    drop_remainder=False,
):
    """Packs tokenized documents into fixed (B, T) rows with segment ids (module docstring).

    Args:
        documents: the token ids of each document: a list of 1-D integer arrays, a
            `tf.RaggedTensor` (num_documents, None), or a finite `tf.data.Dataset` of 1-D integer
            tensors (read into memory once). Empty documents are dropped.
        sequence_length: T, tokens per row.
        batch_size: B, rows per batch.
        end_id: the id appended after every document (e.g. `tokenizer.eos_id`).
        document_mask: weight 0 on labels in another document than their position, so with
            `segment_ids` in the attention nothing crosses a document boundary; False packs
            rows as one plain stream.
        pad_id: fills the tail of the last row (padding_mask False, weight 0, segment 0).
        shuffle: shuffle the rows with `seed` (a fresh order each pass).
        seed: the shuffle seed.
        repeat: repeat forever.
        drop_remainder: drop a last batch of fewer than B rows (static shapes for XLA).

    Returns:
        A prefetched `tf.data.Dataset` of
        `({"token_ids", "padding_mask", "segment_ids"}, labels, sample_weight)`.
    """
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("batch_size", batch_size)
    check_non_negative_int("end_id", end_id)
    check_non_negative_int("pad_id", pad_id)
    check_int("seed", seed)
    for name, value in (("document_mask", document_mask), ("shuffle", shuffle), ("repeat", repeat),
                        ("drop_remainder", drop_remainder)):
        check_bool(name, value, error=TypeError)

    arrays = _document_arrays(documents)
    if not arrays:
        raise CorpusError(
            "documents holds no tokens: every document is empty, so there is nothing to pack. "
            "Received: documents with 0 non-empty documents"
        )
    # One stream: each document followed by end_id; doc_index says which document owns a token.
    stream = np.concatenate([np.append(a, end_id) for a in arrays]).astype(np.int32)
    doc_index = np.repeat(np.arange(len(arrays), dtype=np.int32), [len(a) + 1 for a in arrays])

    # Rows of T + 1 with stride T covering every target once; the tail is padded, its
    # document index set to -1 so realness is `doc >= 0`.
    length = sequence_length
    num_rows = -(-(len(stream) - 1) // length)  # ceil(targets / T)
    size = num_rows * length + 1
    tokens = np.full([size], pad_id, np.int32)
    tokens[: len(stream)] = stream
    docs = np.full([size], -1, np.int32)
    docs[: len(stream)] = doc_index
    rows = _strided_rows(tokens, length, num_rows)  # (R, T + 1)
    row_docs = _strided_rows(docs, length, num_rows)  # (R, T + 1)

    dataset = tf.data.Dataset.from_tensor_slices((rows, row_docs))
    if shuffle:
        dataset = dataset.shuffle(num_rows, seed=int(seed), reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def to_model_inputs(windows, window_docs):  # (B, T + 1) each
        return _packed_inputs(windows, window_docs, document_mask)

    return dataset.map(to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _packed_inputs(windows, window_docs, document_mask):
    """(B, T + 1) tokens and document indices -> (x, labels, sample_weight)."""
    token_ids, labels = windows[:, :-1], windows[:, 1:]  # (B, T) each
    input_docs, label_docs = window_docs[:, :-1], window_docs[:, 1:]  # (B, T) each
    padding_mask = input_docs >= 0  # (B, T)
    real_label = label_docs >= 0  # (B, T)
    if document_mask:
        # A new segment starts at column 0 and wherever the document index changes; padding is
        # one trailing run, so zeroing it after the cumulative sum leaves 1, 2, ... on real tokens.
        starts = tf.concat(
            [tf.ones_like(input_docs[:, :1], tf.bool), input_docs[:, 1:] != input_docs[:, :-1]],
            axis=1,
        )  # (B, T)
        segment_ids = tf.cumsum(tf.cast(starts, tf.int32), axis=1)  # (B, T)
        keep = real_label & (label_docs == input_docs)  # never predict across a boundary
    else:
        segment_ids = tf.ones_like(input_docs)  # (B, T) one segment per row
        keep = real_label
    segment_ids = tf.where(padding_mask, segment_ids, tf.zeros_like(segment_ids))
    x = {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": segment_ids}
    return x, labels, tf.cast(keep, tf.float32)


def _document_arrays(documents):
    """The non-empty documents as a list of 1-D int64 NumPy arrays."""
    if isinstance(documents, tf.data.Dataset):
        items = documents.as_numpy_iterator()
    elif isinstance(documents, tf.RaggedTensor):
        items = documents.numpy()
    elif isinstance(documents, (str, bytes)) or not hasattr(documents, "__iter__"):
        raise TypeError(
            f"documents must be a list of 1-D integer arrays, a tf.RaggedTensor or a "
            f"tf.data.Dataset of 1-D integer tensors. Received: documents of type "
            f"{type(documents).__name__}"
        )
    else:
        items = documents
    arrays = []
    for index, item in enumerate(items):
        array = np.asarray(item)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise ValueError(
                f"Each document must be a 1-D array of integer token ids. Received: document "
                f"{index} with shape {array.shape} and dtype {array.dtype}"
            )
        if array.size:
            arrays.append(array.astype(np.int64, copy=False))
    return arrays


def _strided_rows(values, length, num_rows):
    """(num_rows, T + 1) copy of `values[i * T : i * T + T + 1]`."""
    view = np.lib.stride_tricks.sliding_window_view(values, length + 1)[::length]
    return np.ascontiguousarray(view[:num_rows])
