"""Attention masks: the causal mask (with a cache index) and merging it with a padding mask;
and the checks of a KV cache's (or precomputed keys' and values') arguments.

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

from tfllm.validation import check_non_negative_int, check_positive_int


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


def check_attention_arguments(value, attention_mask, cache, cache_update_index, key_value,
                              position_ids, *, rotary, heads, head_dim):
    """Raises `ValueError` unless a `MultiHeadAttention` call's arguments fit together.

    Args:
        value, attention_mask, cache, cache_update_index, key_value, position_ids: the call's
            arguments (`cache` and `key_value` are (B, 2, K, S, H) tensors).
        rotary: whether the layer rotates queries and keys (self-attention only).
        heads: K, the layer's key/value heads.
        head_dim: H, the layer's head size.
    """
    if cache is None:
        if cache_update_index is not None:
            raise ValueError(
                "`cache_update_index` is only meaningful together with `cache`. "
                f"Received: cache=None, cache_update_index={cache_update_index!r}"
            )
    else:
        check_cache_arguments(value, attention_mask, cache, cache_update_index, heads, head_dim)
    if key_value is not None:
        if value is not None or cache is not None:
            given = "value" if value is not None else "cache"
            raise ValueError(
                "`key_value` holds the keys and values already projected, so `value` and "
                f"`cache` must be None with it. Received: key_value and {given}"
            )
        check_key_value_shape("key_value", key_value, heads, head_dim)
    if rotary and (value is not None or key_value is not None):
        raise ValueError(
            "Rotary embeddings rotate queries and keys of the same sequence by their "
            "positions, so a layer with rotary=True does self-attention only: `value` and "
            "`key_value` must be None. Received: rotary=True with cross-attention inputs"
        )
    if position_ids is not None and not rotary:
        raise ValueError(
            "`position_ids` positions the rotary embeddings, which this layer does not "
            "have; build it with rotary=True. Received: rotary=False, position_ids given"
        )


def check_cache_arguments(value, attention_mask, cache, cache_update_index, heads, head_dim):
    """Raises `ValueError` unless the arguments of a cached self-attention call are well formed.

    Args:
        value, attention_mask, cache, cache_update_index: the call's arguments; `cache` must
            be a (B, 2, K, S, H) tensor.
        heads: K, the layer's key/value heads.
        head_dim: H, the layer's head size.
    """
    if value is not None:
        raise ValueError(
            "`value` must be None when `cache` is given: the cache holds this layer's own "
            "keys and values (cached self-attention). "
            f"Received: value with shape {tuple(value.shape)}"
        )
    if cache_update_index is None:
        raise ValueError(
            "`cache_update_index` is required with `cache`: it is the position where this "
            "step's keys and values are written. Received: cache_update_index=None"
        )
    if attention_mask is None:
        raise ValueError(
            "`attention_mask` is required with `cache`: without it the queries would attend "
            "to the empty slots past `cache_update_index`. Use "
            "`tfllm.layers.attention_utils.causal_mask(B, T, S, cache_update_index)`. "
            "Received: attention_mask=None"
        )
    check_key_value_shape("cache", cache, heads, head_dim)


def check_key_value_shape(name, tensor, heads, head_dim):
    """Raises `ValueError` unless `tensor` (argument `name`) is (B, 2, heads, S, head_dim)."""
    shape = tuple(tensor.shape)
    if len(shape) != 5 or (shape[1], shape[2], shape[4]) != (2, heads, head_dim):
        raise ValueError(
            f"`{name}` must have shape (B, 2, K, S, H) = (B, 2, {heads}, S, {head_dim}): keys "
            "and values of the K key/value heads, as `key_value_heads` returns. "
            f"Received: {name}.shape={shape}"
        )


def check_key_value_heads(num_heads, num_key_value_heads):
    """K, the key/value heads: `num_heads` when None, else a positive divisor of it."""
    if num_key_value_heads is None:
        return num_heads
    check_positive_int("num_key_value_heads", num_key_value_heads)
    if num_heads % num_key_value_heads:
        raise ValueError(
            "`num_key_value_heads` must divide `num_heads`: each key/value head serves "
            "num_heads // num_key_value_heads query heads. "
            f"Received: num_heads={num_heads}, num_key_value_heads={num_key_value_heads}"
        )
    return int(num_key_value_heads)
