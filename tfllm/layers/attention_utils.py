"""Attention masks: the causal mask (with a cache index) and merging it with a padding mask.

Masks are boolean with True = "this query may attend to this key". Shapes: B batch, T query
(target) length, S key (source) length.

Example:

>>> from tfllm.layers.attention_utils import causal_mask, merge_padding_and_attention_masks
>>> causal_mask(1, 3, 3)[0].numpy().astype(int).tolist()
[[1, 0, 0], [1, 1, 0], [1, 1, 1]]
>>> # One new token at absolute position 2 of a 4-slot cache sees slots 0, 1 and 2.
>>> causal_mask(1, 1, 4, cache_index=2)[0].numpy().astype(int).tolist()
[[1, 1, 1, 0]]
>>> padding = [[True, True, False]]  # the last key is padding
>>> merged = merge_padding_and_attention_masks(padding, causal_mask(1, 3, 3))
>>> merged[0].numpy().astype(int).tolist()
[[1, 0, 0], [1, 1, 0], [1, 1, 0]]
"""

import numbers

from keras import ops

from tfllm.validation import check_non_negative_int


def causal_mask(batch_size, query_length, key_length, cache_index=0):
    """Boolean (B, T, S) mask letting each query attend to itself and earlier keys only.

    Query i sits at absolute position `cache_index + i`; key j at position j. So a full pass
    uses `cache_index=0` and T == S, while a cached decoding step that feeds the token at
    position p into a cache of S slots uses T=1 and `cache_index=p`: both compute the same
    mask rows, which is what makes cached decoding equal to a full pass.

    Args:
        batch_size: B, an int or scalar int tensor.
        query_length: T, an int or scalar int tensor.
        key_length: S, an int or scalar int tensor.
        cache_index: absolute position of the first query, an int or scalar int tensor.
    Returns:
        bool tensor of shape (B, T, S), True where query i may attend to key j
        (j <= cache_index + i).
    """
    for name, value in (
        ("batch_size", batch_size),
        ("query_length", query_length),
        ("key_length", key_length),
        ("cache_index", cache_index),
    ):
        if isinstance(value, numbers.Number):  # a tensor's value is known only when it runs
            check_non_negative_int(name, value)
    if not isinstance(cache_index, numbers.Integral):
        cache_index = ops.cast(cache_index, "int32")
    query_positions = ops.arange(query_length, dtype="int32") + cache_index  # (T,)
    key_positions = ops.arange(key_length, dtype="int32")  # (S,)
    mask = ops.expand_dims(query_positions, 1) >= ops.expand_dims(key_positions, 0)  # (T, S)
    # (B, T, S): the same causal pattern for every sequence in the batch.
    return ops.broadcast_to(ops.expand_dims(mask, 0), (batch_size, query_length, key_length))


def merge_padding_and_attention_masks(padding_mask, attention_mask):
    """Combines a key padding mask with an attention mask (logical AND).

    Args:
        padding_mask: None or (B, S) bool, True for a real token and False for padding.
        attention_mask: None or (B, T, S) bool, True where query i may attend to key j.
    Returns:
        None if both are None; (B, 1, S) bool if only `padding_mask` is given (it broadcasts
        over the queries); otherwise (B, T, S) bool.
    """
    if padding_mask is not None:
        padding_mask = ops.convert_to_tensor(padding_mask)
        if len(padding_mask.shape) != 2:
            raise ValueError(
                "`padding_mask` must have shape (B, S): True for real tokens, False for "
                f"padding. Received: padding_mask.shape={tuple(padding_mask.shape)}"
            )
        # (B, 1, S): one row of key flags shared by every query.
        padding_mask = ops.expand_dims(ops.cast(padding_mask, "bool"), axis=1)
    if attention_mask is not None:
        attention_mask = ops.convert_to_tensor(attention_mask)
        if len(attention_mask.shape) != 3:
            raise ValueError(
                "`attention_mask` must have shape (B, T, S). "
                f"Received: attention_mask.shape={tuple(attention_mask.shape)}"
            )
        attention_mask = ops.cast(attention_mask, "bool")
    if padding_mask is None:
        return attention_mask
    if attention_mask is None:
        return padding_mask
    return ops.logical_and(padding_mask, attention_mask)  # (B, T, S)
