"""`MultiHeadAttention`: scaled dot-product attention over N heads, with a fixed-shape KV cache."""

import keras
from keras import ops

from tfllm.layers.attention_utils import check_attention_arguments, check_key_value_heads
from tfllm.layers.layer_utils import (
    clone_initializer,
    get_initializer,
    serialize_optional_initializer,
    static_last_dim,
)
from tfllm.layers.rms_normalization import NORMALIZATIONS, normalization_layer
from tfllm.layers.rotary_embedding import RotaryEmbedding
from tfllm.validation import (
    check_bool,
    check_choice,
    check_positive_float,
    check_positive_int,
    check_rate,
)

# Score given to masked-out keys before the softmax. Finite (not -inf), so a query whose keys
# are all masked gets a uniform distribution instead of NaNs; exp(-1e9) is exactly 0 in float32.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="tfllm")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention with separate query, key, value and output projections.

    Each of N heads projects the queries to (B, T, N, H) and the keys and values to
    (B, S, K, H), computes `softmax(q k^T / sqrt(H))` over the S keys, takes the weighted sum
    of the values, and the output projection maps the N * H concatenated features back to the
    query width D. The scores and the softmax are computed in float32 whatever the dtype
    policy, because exponentials of bfloat16/float16 scores lose too much precision.

    Options of current decoders (each off by default, which is the original layer):

    - Grouped-query attention (Ainslie et al., "GQA: Training Generalized Multi-Query
      Transformer Models from Multi-Head Checkpoints", 2023): `num_key_value_heads=K` < N
      key/value heads, each shared by N / K consecutive query heads (query head n reads
      key/value head n // (N / K)). The key and value projections and the KV cache shrink by
      N / K; K = 1 is multi-query attention.
    - QK-normalization (Dehghani et al., "Scaling Vision Transformers to 22 Billion
      Parameters", 2023): `qk_norm=True` normalizes each head's query and key over its H
      features (LayerNorm or RMSNorm, per `normalization`, with gains shared by the heads)
      before the dot product, which bounds the scores and keeps large learning rates stable.
    - Rotary position embeddings (Su et al., "RoFormer", 2021): `rotary=True` rotates each
      head's queries and keys by their absolute positions (`RotaryEmbedding`, after the
      QK-norm), so the scores depend on relative positions. Self-attention only. Positions
      are `cache_update_index + 0 .. T - 1` (0 .. T - 1 without a cache) unless
      `position_ids` gives them; cached keys are stored rotated.

    Cached self-attention (for autoregressive decoding): pass `cache`, a fixed-shape
    (B, 2, K, S, H) tensor holding the keys (`cache[:, 0]`) and values (`cache[:, 1]`) of all S
    positions, and `cache_update_index`, the position of the first of the T new tokens. The
    layer writes the new keys and values into the cache at that index with
    `keras.ops.slice_update` (no concatenation, so shapes never change and a compiled decode
    loop traces once), attends over all S slots under `attention_mask`, and returns
    `(output, new_cache)`. Slots past the current position hold zeros or stale values, so the
    mask must hide them; `causal_mask(B, T, S, cache_index)` does.

    Cross-attention with precomputed keys and values (for encoder-decoder decoding): the
    source side of a decoder's cross-attention is the same at every decoding step, so
    `key_value_heads(source)` projects it once to a (B, 2, K, S, H) tensor (keys at `[:, 0]`,
    values at `[:, 1]`, heads-major like the cache) and each step passes it as `key_value`
    instead of `value`; the result equals projecting `value` again.

    Args:
        num_heads: N, the number of attention (query) heads.
        head_dim: H, the width of each head. Defaults to D // num_heads, which then requires
            D to be divisible by `num_heads`.
        dropout: dropout rate on the attention weights.
        use_bias: whether the four projections have biases.
        kernel_initializer: initializer for the query, key and value kernels.
        output_kernel_initializer: initializer for the output kernel; defaults to
            `kernel_initializer`. GPT-2 scales it down with depth (see `tfllm.models.GPT`).
        bias_initializer: initializer for the biases.
        num_key_value_heads: K, the key/value heads (grouped-query attention); a divisor of
            `num_heads`. None (the default) means K = N.
        qk_norm: normalize queries and keys per head before the dot product.
        normalization: the kind of the QK norms, "layer_norm" or "rms_norm".
        layer_norm_epsilon: epsilon of the QK norms.
        rotary: apply rotary position embeddings to queries and keys (H must be even).
        rotary_max_wavelength: the base of the rotary angles (10000 in the paper).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: (B, T, D) queries.
        value: (B, S, D_v) keys and values for cross-attention; None for self-attention
            (keys and values come from `query`, S = T). Must be None with `cache` or
            `key_value`.
        attention_mask: optional bool (B, T, S), True where query i may attend to key j;
            (B, 1, S) broadcasts over queries. Required with `cache`.
        cache: optional (B, 2, K, S, H) key/value cache (self-attention only).
        cache_update_index: int or scalar int tensor, where this step's T keys and values
            are written; required with `cache`, forbidden without it.
        key_value: optional (B, 2, K, S, H) keys and values from `key_value_heads(value)`,
            used as they are (cross-attention without projecting `value` again). A layer
            first called with `key_value` (not `value`) builds its key and value projections
            for D_v = D.
        position_ids: optional (B, T) int positions of the T queries (and of their keys),
            for the rotary embeddings only; a left-padded row starts at 0 at its first real
            token.
        training: bool, whether dropout is active.

    Returns:
        (B, T, D) attention output; `(output, new_cache)` when `cache` is given, the new cache
        having the shape of `cache`.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import MultiHeadAttention
    >>> from tfllm.layers.attention_utils import causal_mask
    >>> layer = MultiHeadAttention(num_heads=2)
    >>> x = np.random.rand(1, 4, 8).astype("float32")  # (B, T, D)
    >>> tuple(layer(x, attention_mask=causal_mask(1, 4, 4)).shape)
    (1, 4, 8)
    >>> cache = np.zeros((1, 2, 2, 4, 4), dtype="float32")  # (B, 2, K, S, H)
    >>> output, cache = layer(x[:, :1], attention_mask=causal_mask(1, 1, 4),
    ...                       cache=cache, cache_update_index=0)
    >>> tuple(output.shape), tuple(cache.shape)
    ((1, 1, 8), (1, 2, 2, 4, 4))
    >>> source = np.random.rand(1, 6, 8).astype("float32")  # (B, S, D_v)
    >>> key_value = layer.key_value_heads(source)  # (B, 2, K, S, H)
    >>> tuple(key_value.shape)
    (1, 2, 2, 6, 4)
    >>> bool(np.allclose(layer(x, key_value=key_value), layer(x, source), atol=1e-6))
    True
    >>> gqa = MultiHeadAttention(num_heads=4, num_key_value_heads=2, qk_norm=True, rotary=True)
    >>> tuple(gqa(np.random.rand(1, 4, 16).astype("float32")).shape)
    (1, 4, 16)
    >>> tuple(gqa.key_dense.kernel.shape)  # (D, K, H): half the heads of the queries
    (16, 2, 4)
    """

    def __init__(
        self,
        num_heads,
        head_dim=None,
        dropout=0.0,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        output_kernel_initializer=None,
        bias_initializer="zeros",
        num_key_value_heads=None,
        qk_norm=False,
        normalization="layer_norm",
        layer_norm_epsilon=1e-5,
        rotary=False,
        rotary_max_wavelength=10000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.head_dim = None if head_dim is None else check_positive_int("head_dim", head_dim)
        self.dropout = check_rate("dropout", dropout)
        self.use_bias = check_bool("use_bias", use_bias)
        self.kernel_initializer = get_initializer("kernel_initializer", kernel_initializer)
        self.output_kernel_initializer = (
            None
            if output_kernel_initializer is None
            else get_initializer("output_kernel_initializer", output_kernel_initializer)
        )
        self.bias_initializer = get_initializer("bias_initializer", bias_initializer)
        self._key_value_heads_count = check_key_value_heads(num_heads, num_key_value_heads)
        self.num_key_value_heads = (
            None if num_key_value_heads is None else self._key_value_heads_count)
        self.qk_norm = check_bool("qk_norm", qk_norm)
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.layer_norm_epsilon = check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        self.rotary = check_bool("rotary", rotary)
        self.rotary_max_wavelength = check_positive_float(
            "rotary_max_wavelength", rotary_max_wavelength)
        # Set to True to keep the (B, N, T, S) weights of the last call in
        # `last_attention_weights` (what `tfllm.models.cross_attention_maps` reads).
        self.record_attention_weights = False
        self.last_attention_weights = None

    def build(self, query_shape, value_shape=None):
        query_width = static_last_dim("query", query_shape)
        value_shape = query_shape if value_shape is None else value_shape
        static_last_dim("value", value_shape)
        if self.head_dim is None:
            if query_width % self.num_heads:
                raise ValueError(
                    f"The query width D must be divisible by `num_heads` when `head_dim` is not "
                    f"given (head_dim = D // num_heads). Received: num_heads={self.num_heads}, "
                    f"query.shape[-1]={query_width}"
                )
            self._head_dim = query_width // self.num_heads
        else:
            self._head_dim = self.head_dim
        heads = (self.num_heads, self._head_dim)
        key_value_heads = (self._key_value_heads_count, self._head_dim)
        output_kernel_initializer = self.output_kernel_initializer or self.kernel_initializer

        def projection(name, equation, output_shape, bias_axes, kernel_initializer):
            return keras.layers.EinsumDense(
                equation,
                output_shape=output_shape,
                bias_axes=bias_axes if self.use_bias else None,
                kernel_initializer=clone_initializer(kernel_initializer),
                bias_initializer=clone_initializer(self.bias_initializer),
                dtype=self.dtype_policy,
                name=name,
            )

        # (B, T, D) -> (B, T, N, H); keys and values (B, S, D_v) -> (B, S, K, H).
        self.query_dense = projection("query", "btd,dnh->btnh", (None, *heads), "nh",
                                      self.kernel_initializer)
        self.key_dense = projection("key", "bsd,dnh->bsnh", (None, *key_value_heads), "nh",
                                    self.kernel_initializer)
        self.value_dense = projection("value", "bsd,dnh->bsnh", (None, *key_value_heads), "nh",
                                      self.kernel_initializer)
        # (B, T, N, H) -> (B, T, D): mix the heads back into the query width.
        self.output_dense = projection("attention_output", "btnh,nhd->btd", (None, query_width),
                                       "d", output_kernel_initializer)
        self.attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="attention_dropout"
        )
        self.query_dense.build(query_shape)
        self.key_dense.build(value_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((*query_shape[:-1], *heads))
        if self.qk_norm:
            self.query_norm = normalization_layer(
                self.normalization, self.layer_norm_epsilon, self.dtype_policy, "query_norm")
            self.key_norm = normalization_layer(
                self.normalization, self.layer_norm_epsilon, self.dtype_policy, "key_norm")
            self.query_norm.build((*query_shape[:-1], *heads))
            self.key_norm.build((*value_shape[:-1], *key_value_heads))
        if self.rotary:
            self.rotary_embedding = RotaryEmbedding(
                self.rotary_max_wavelength, dtype=self.dtype_policy, name="rotary_embedding")
            self.rotary_embedding.build((*query_shape[:-1], *heads))

    def call(
        self,
        query,
        value=None,
        attention_mask=None,
        cache=None,
        cache_update_index=None,
        key_value=None,
        position_ids=None,
        training=None,
    ):
        check_attention_arguments(
            value, attention_mask, cache, cache_update_index, key_value, position_ids,
            rotary=self.rotary, heads=self._key_value_heads_count, head_dim=self._head_dim)
        start_index = 0
        if cache is not None:
            if not isinstance(cache_update_index, int):
                cache_update_index = ops.cast(cache_update_index, "int32")
            start_index = cache_update_index
        query_heads = self._project(self.query_dense(query), "query", start_index,
                                    position_ids)  # (B, T, N, H)
        if cache is not None:
            # This step's keys and values, written over slots index .. index + T - 1 with one
            # update of the small new block, which XLA does in place (updating the key and value
            # halves separately and re-stacking them would copy the whole cache every step).
            # Heads come before slots, (B, 2, K, S, H), so both attention products below read
            # the cache as it lies; a (B, 2, S, N, H) cache was transposed at every step, which
            # made decoding 1.5-2.4x slower (benchmarks/generate.py).
            new_entries = ops.cast(
                self._key_value_heads(query, start_index, position_ids), cache.dtype
            )  # (B, 2, K, T, H)
            cache = ops.slice_update(cache, [0, 0, 0, cache_update_index, 0], new_entries)
            key_value = cache
        if key_value is not None:
            key_value = ops.cast(key_value, self.compute_dtype)
            key_heads, value_heads = key_value[:, 0], key_value[:, 1]  # (B, K, S, H) each
            heads_major = True
        else:
            source = query if value is None else value
            key_heads, value_heads = self._keys_and_values(source, 0, position_ids)
            heads_major = False  # (B, S, K, H) each

        context = self._attend(query_heads, key_heads, value_heads, heads_major,
                               attention_mask, training)  # (B, T, N, H)
        output = self.output_dense(context)  # (B, T, D)
        if cache is not None:
            return output, cache
        return output

    def _attend(self, query_heads, key_heads, value_heads, heads_major, attention_mask,
                training):
        """(B, T, N, H) context: softmax(q k^T / sqrt(H)) v over the S keys of each head."""
        groups = self.num_heads // self._key_value_heads_count
        keys = "bksh" if heads_major else "bskh"
        if groups == 1:
            queries, scores_axes = "btkh", "bkts"
        else:
            # (B, T, K, G, H): the G query heads that share each key/value head side by side.
            query_heads = ops.reshape(
                query_heads, (*ops.shape(query_heads)[:2], -1, groups, self._head_dim))
            queries, scores_axes = "btkgh", "bkgts"
        # (B, N, T, S), or (B, K, G, T, S) with groups.
        scores = ops.einsum(f"{queries},{keys}->{scores_axes}", query_heads, key_heads)
        scores = ops.cast(scores, "float32") * (1.0 / float(self._head_dim) ** 0.5)
        if attention_mask is not None:
            # (B, 1, T, S) or (B, 1, 1, T, S): the same mask for every head.
            mask = ops.cast(attention_mask, "bool")
            for _ in range(len(scores.shape) - 3):
                mask = ops.expand_dims(mask, axis=1)
            scores = ops.where(mask, scores, _MASKED_SCORE)
        weights = ops.softmax(scores, axis=-1)  # float32, the shape of the scores
        if self.record_attention_weights:  # for inspection (plots), eager calls only
            shape = ops.shape(weights)
            # (B, N, T, S)
            self.last_attention_weights = ops.reshape(weights, (shape[0], -1, *shape[-2:]))
        weights = self.attention_dropout(ops.cast(weights, self.compute_dtype), training=training)
        # (B, T, N, H), or (B, T, K, G, H) with groups.
        context = ops.einsum(f"{scores_axes},{keys}->{queries}", weights, value_heads)
        if groups == 1:
            return context
        return ops.reshape(context, (*ops.shape(context)[:2], self.num_heads, self._head_dim))

    def _project(self, heads, kind, start_index, position_ids):
        """Queries or keys (B, T, N or K, H) after the QK-norm and the rotation, if enabled."""
        if self.qk_norm:
            heads = (self.query_norm if kind == "query" else self.key_norm)(heads)
        if self.rotary:
            heads = self.rotary_embedding(heads, start_index=start_index,
                                          position_ids=position_ids)
        return heads

    def _keys_and_values(self, source, start_index, position_ids):
        """(B, S, K, H) keys (normalized and rotated if enabled) and values of `source`."""
        key_heads = self._project(self.key_dense(source), "key", start_index, position_ids)
        return key_heads, self.value_dense(source)

    def key_value_heads(self, source):
        """Projects `source` to the keys and values every query attends over, once.

        Args:
            source: (B, S, D_v) tensor, what `value` would be.
        Returns:
            (B, 2, K, S, H) tensor in the compute dtype: keys at `[:, 0]`, values at `[:, 1]`,
            to pass as `key_value`; the layer must be built.
        """
        if not self.built:
            raise ValueError(
                "`key_value_heads` needs the layer's projections: build the layer first (call "
                "it once, or `build(query_shape, value_shape)`). Received: an unbuilt "
                f"{type(self).__name__} named {self.name!r}"
            )
        if self.rotary:
            raise ValueError(
                "`key_value_heads` is for cross-attention, and rotary embeddings are for "
                "self-attention only. Received: rotary=True"
            )
        return self._key_value_heads(source, 0, None)

    def _key_value_heads(self, source, start_index, position_ids):
        # (B, 2, S, K, H): keys and values side by side.
        heads = ops.stack(self._keys_and_values(source, start_index, position_ids), axis=1)
        return ops.transpose(heads, (0, 1, 3, 2, 4))  # (B, 2, K, S, H)

    def compute_output_shape(self, query_shape, value_shape=None, cache_shape=None):
        output_shape = tuple(query_shape)
        if cache_shape is not None:
            return output_shape, tuple(cache_shape)
        return output_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "head_dim": self.head_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "output_kernel_initializer": serialize_optional_initializer(
                    self.output_kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "num_key_value_heads": self.num_key_value_heads,
                "qk_norm": self.qk_norm,
                "normalization": self.normalization,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "rotary": self.rotary,
                "rotary_max_wavelength": self.rotary_max_wavelength,
            }
        )
        return config
