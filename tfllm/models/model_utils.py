"""Helpers shared by the language models: the input dict contract and its shapes."""

import keras

INPUT_KEYS = ("token_ids", "padding_mask")
# Packed rows (several documents per row) add "segment_ids": (B, T) int, documents numbered
# 1, 2, ... within a row and 0 on padding; a model that accepts it attends within a document.
PACKED_INPUT_KEYS = INPUT_KEYS + ("segment_ids",)


def unpack_inputs(inputs, keys=INPUT_KEYS):
    """Splits a language-model input into `(token_ids, padding_mask, ...)`, one per key.

    Args:
        inputs: a dict with "token_ids" (B, T) int and optionally the other `keys`, or a bare
            (B, T) token id tensor.
        keys: the keys the model accepts, "token_ids" first.
    Returns:
        A tuple of the values of `keys`, None for each absent optional key.
    """
    if not isinstance(inputs, dict):
        return (inputs,) + (None,) * (len(keys) - 1)
    unknown = sorted(set(inputs) - set(keys))
    if unknown or "token_ids" not in inputs:
        raise ValueError(
            "Language-model inputs must be a dict with the key 'token_ids' (B, T) and optionally "
            f"{', '.join(repr(k) for k in keys[1:])}. Received: inputs with keys {sorted(inputs)}"
        )
    return tuple(inputs.get(key) for key in keys)


def token_ids_shape(inputs_shape):
    """The (B, T) shape of `token_ids` from the shape of the inputs (a dict or a shape)."""
    shape = inputs_shape["token_ids"] if isinstance(inputs_shape, dict) else inputs_shape
    shape = tuple(shape)
    if len(shape) != 2:
        raise ValueError(
            f"`token_ids` must have shape (B, T). Received: token_ids.shape={shape}"
        )
    return shape


def logits_spec(inputs, vocabulary_size):
    """A float32 (B, T, V) `KerasTensor`: what a language model returns for `inputs`."""
    token_ids = inputs["token_ids"] if isinstance(inputs, dict) else inputs
    return keras.KerasTensor(tuple(token_ids.shape) + (vocabulary_size,), dtype="float32")
