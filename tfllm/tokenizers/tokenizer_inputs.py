"""The inputs of `Tokenizer.tokenize` and `Tokenizer.detokenize`, as tensors.

`tokenize` takes a Python `str`, a list of `str` or a `tf.string` tensor of rank 0 or 1;
`detokenize` takes ids as a (T,) or (B, T) dense tensor, nested lists or a (B, None) ragged
tensor. These helpers turn each form into the one tensor type the batched methods work on, and
refuse anything else with a `TypeError` / `ValueError` that says what was received.
"""

import numpy as np
import tensorflow as tf


def as_string_tensor(inputs):
    """`inputs` as a `tf.string` tensor (rank as given; `tokenize` checks it)."""
    if isinstance(inputs, (str, bytes)):
        return tf.constant(inputs, dtype=tf.string)
    if isinstance(inputs, (list, tuple)):
        if not all(isinstance(item, (str, bytes)) for item in inputs):
            raise TypeError(
                f"tokenize takes str, a list of str, or a tf.string tensor. "
                f"Received: inputs={short_repr(inputs)}"
            )
        return tf.constant(list(inputs), dtype=tf.string, shape=[len(inputs)])
    if isinstance(inputs, tf.RaggedTensor):
        raise TypeError(
            "tokenize takes a dense tf.string tensor of rank 0 or 1. Received: a RaggedTensor"
        )
    tensor = tf.convert_to_tensor(inputs)
    if tensor.dtype != tf.string:
        raise TypeError(
            f"tokenize takes strings. Received: inputs with dtype {tensor.dtype.name}"
        )
    return tensor


def as_ragged_ids(ids):
    """Returns ((B, None) int32 ragged ids, rank of the input: 1 or 2)."""
    if isinstance(ids, tf.RaggedTensor):
        ragged = ids
    elif isinstance(ids, (list, tuple)) and any(isinstance(row, (list, tuple, np.ndarray)) for row in ids):
        ragged = tf.ragged.constant([list(row) for row in ids], dtype=tf.int32, ragged_rank=1)
    else:
        tensor = tf.convert_to_tensor(ids)
        if tensor.dtype == tf.float32 and tensor.shape.num_elements() == 0:
            tensor = tf.cast(tensor, tf.int32)  # `[]` converts to float32
        if not tensor.dtype.is_integer:
            raise TypeError(f"detokenize takes integer ids. Received: ids with dtype {tensor.dtype.name}")
        if tensor.shape.rank == 1:
            return tf.RaggedTensor.from_tensor(tf.reshape(tf.cast(tensor, tf.int32), [1, -1])), 1
        if tensor.shape.rank != 2:
            raise ValueError(
                f"detokenize takes ids of shape (T,) or (B, T). Received: ids with shape {tensor.shape}"
            )
        ragged = tf.RaggedTensor.from_tensor(tensor)
    if ragged.shape.rank != 2:
        raise ValueError(
            f"detokenize takes ragged ids of shape (B, None). Received: ids with shape {ragged.shape}"
        )
    if not ragged.dtype.is_integer:
        raise TypeError(f"detokenize takes integer ids. Received: ids with dtype {ragged.dtype.name}")
    return tf.cast(ragged, tf.int32), 2


def short_repr(value, limit=80):
    """`repr(value)`, cut to `limit` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
