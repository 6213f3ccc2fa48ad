"""Helpers shared by the language models: the input dict contract and its shapes."""

import keras

INPUT_KEYS = ("token_ids", "padding_mask")


def unpack_inputs(inputs):
    """Splits a language-model input into `(token_ids, padding_mask)`.

    Args:
        inputs: a dict `{"token_ids": (B, T) int, "padding_mask": (B, T) bool}` (the mask is
            optional), or a bare (B, T) token id tensor.
    Returns:
        `(token_ids, padding_mask)`, the mask None when absent.
    """
    if not isinstance(inputs, dict):
        return inputs, None
    unknown = sorted(set(inputs) - set(INPUT_KEYS))
    if unknown or "token_ids" not in inputs:
        raise ValueError(
            "Language-model inputs must be a dict with the key 'token_ids' (B, T) and optionally "
            f"'padding_mask' (B, T). Received: inputs with keys {sorted(inputs)}"
        )
    return inputs["token_ids"], inputs.get("padding_mask")


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
    token_ids, _ = unpack_inputs(inputs)
    return keras.KerasTensor(tuple(token_ids.shape) + (vocabulary_size,), dtype="float32")
