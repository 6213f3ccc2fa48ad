"""`DecoderBlock`: one causal Transformer decoder block (self-attention, optional
cross-attention over an encoder's outputs, feed-forward)."""

import keras
from keras import ops

from tfllm.layers.attention_utils import causal_mask, merge_padding_and_attention_masks
from tfllm.layers.layer_utils import static_last_dim
from tfllm.layers.transformer_block import TransformerBlock
from tfllm.validation import check_bool


@keras.saving.register_keras_serializable(package="tfllm")
class DecoderBlock(TransformerBlock):
    """Causal self-attention and a feed-forward MLP, each inside a residual connection.

    Pre-LN (`norm_first=True`, GPT-2): `x = x + dropout(attention(norm(x)))`, then
    `x = x + mlp(norm(x))`. The residual stream is never normalized, so gradients reach early
    blocks unchanged and training is stable without long warmups; a model of such blocks needs
    one final LayerNorm. Post-LN (`norm_first=False`, the original Transformer):
    `x = norm(x + dropout(attention(x)))`, then `x = norm(x + mlp(x))`.

    With `cross_attention=True` (the decoder of an encoder-decoder Transformer) a third
    residual branch sits between the two: each target position attends over the encoder's
    (B, S, D_e) outputs, hiding padded source positions, with its own LayerNorm and dropout,
    pre- or post-LN like the others. Its keys and values depend only on the source, so a
    decoding loop computes them once, `cross_attention_key_value(encoder_outputs)`, and
    passes them to every step as `cross_key_value`.

    Options of current decoders, each off by default (the GPT-2 block):
    `normalization="rms_norm"` makes every norm of the block an RMSNorm (Zhang & Sennrich,
    2019; see `tfllm.layers.rms_normalization`); `gated_feed_forward=True` with
    `activation="silu"` makes the MLP a SwiGLU (Shazeer, 2020; `intermediate_dim` is then the
    width of each half, see `FeedForward`); `num_key_value_heads=K` shares each key/value head
    among N / K query heads (GQA, Ainslie et al., 2023), in self- and cross-attention, and the
    cache holds K heads; `qk_norm=True` normalizes queries and keys per head (Dehghani et al.,
    2023); `rotary=True` rotates the self-attention's queries and keys by their positions
    (RoFormer, Su et al., 2021; never the cross-attention's). See `MultiHeadAttention`.

    The block builds its own mask: causal (query i sees keys j <= i) AND the key padding
    mask. With a cache, the T inputs are the tokens at positions
    `cache_update_index .. cache_update_index + T - 1`, the causal mask is shifted to match,
    and the block returns the updated cache as well.

    Args:
        num_heads: N, attention heads; the width D of the inputs must be divisible by it.
        intermediate_dim: width of the feed-forward inner layer.
        dropout: dropout rate on attention weights and on both residual branches.
        norm_first: True for pre-LN, False for post-LN.
        layer_norm_epsilon: epsilon of both LayerNorms.
        activation: feed-forward activation, "gelu" by default.
        kernel_initializer: initializer for the projection kernels.
        output_kernel_initializer: initializer for the kernels that write into the residual
            stream (attention outputs and feed-forward output); defaults to
            `kernel_initializer`.
        cross_attention: bool; add cross-attention over `encoder_outputs`.
        normalization: "layer_norm" (default) or "rms_norm", for every norm of the block.
        gated_feed_forward: a gated MLP (SwiGLU with `activation="silu"`).
        num_key_value_heads: K key/value heads, a divisor of `num_heads`; None means N.
        qk_norm: normalize queries and keys per head before the dot product.
        rotary: rotary position embeddings in the self-attention (H must be even).
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, T, D) tensor.
        padding_mask: optional bool key mask, True for real tokens: (B, T) without a cache,
            (B, S) over the cache slots with one.
        attention_mask: optional bool (B, T, S), True where query i may attend to key j,
            combined (AND) with the causal and padding masks; e.g. a document mask for packed
            rows.
        cache: optional (B, 2, K, S, H) key/value cache of this block.
        cache_update_index: int or scalar int tensor, the position of the first input
            token; required with `cache`.
        encoder_outputs: (B, S, D_e) encoder outputs (cross-attention only); the block's
            cross-attention projections are built for D_e (D when first called without them).
        encoder_padding_mask: optional bool (B, S), True for real source tokens.
        cross_key_value: (B, 2, K, S, H) from `cross_attention_key_value(encoder_outputs)`,
            instead of `encoder_outputs`; required with `cache` in a cross-attention block.
        position_ids: optional (B, T) int positions of the inputs, for the rotary embeddings
            only (default: `cache_update_index + 0 .. T - 1`).
        training: bool, whether dropout is active.

    Returns:
        (B, T, D) tensor, or `(outputs, new_cache)` when `cache` is given.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import DecoderBlock
    >>> block = DecoderBlock(num_heads=2, intermediate_dim=32)
    >>> x = np.random.rand(2, 4, 8).astype("float32")  # (B, T, D)
    >>> tuple(block(x, padding_mask=np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)).shape)
    (2, 4, 8)
    >>> cross = DecoderBlock(num_heads=2, intermediate_dim=32, cross_attention=True)
    >>> source = np.random.rand(2, 6, 8).astype("float32")  # (B, S, D_e)
    >>> source_mask = np.array([[1] * 6, [1] * 3 + [0] * 3], bool)  # (B, S)
    >>> full = cross(x, encoder_outputs=source, encoder_padding_mask=source_mask)
    >>> key_value = cross.cross_attention_key_value(source)  # (B, 2, N, S, H), once
    >>> cache = np.zeros((2, 2, 2, 4, 4), "float32")  # (B, 2, N, T, H)
    >>> step, cache = cross(x[:, :1], cache=cache, cache_update_index=0,
    ...                     cross_key_value=key_value, encoder_padding_mask=source_mask)
    >>> bool(np.allclose(step, full[:, :1], atol=1e-5))
    True
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        norm_first=True,
        layer_norm_epsilon=1e-5,
        activation="gelu",
        kernel_initializer="glorot_uniform",
        output_kernel_initializer=None,
        cross_attention=False,
        normalization="layer_norm",
        gated_feed_forward=False,
        num_key_value_heads=None,
        qk_norm=False,
        rotary=False,
        **kwargs,
    ):
        super().__init__(
            num_heads, intermediate_dim, dropout=dropout, norm_first=norm_first,
            layer_norm_epsilon=layer_norm_epsilon, activation=activation,
            kernel_initializer=kernel_initializer,
            output_kernel_initializer=output_kernel_initializer, normalization=normalization,
            gated_feed_forward=gated_feed_forward, num_key_value_heads=num_key_value_heads,
            qk_norm=qk_norm, rotary=rotary, **kwargs)
        self.cross_attention = check_bool("cross_attention", cross_attention)

    def build(self, inputs_shape, encoder_outputs_shape=None):
        between = None
        if self.cross_attention:
            def between():
                self._build_cross_attention(inputs_shape, encoder_outputs_shape)
        self._build_sublayers(inputs_shape, between)

    def _build_cross_attention(self, inputs_shape, encoder_outputs_shape):
        self.cross_attention_layer_norm = self._layer_norm("cross_attention_layer_norm")
        self.cross_attention_layer = self._attention("cross_attention")
        self.cross_attention_dropout = self._dropout("cross_attention_dropout")
        encoder_outputs_shape = encoder_outputs_shape or inputs_shape
        self._encoder_width = static_last_dim("encoder_outputs", encoder_outputs_shape)
        self.cross_attention_layer_norm.build(inputs_shape)
        self.cross_attention_layer.build(inputs_shape, encoder_outputs_shape)

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        cache=None,
        cache_update_index=None,
        encoder_outputs=None,
        encoder_padding_mask=None,
        cross_key_value=None,
        position_ids=None,
        training=None,
    ):
        self._check_cross_arguments(encoder_outputs, encoder_padding_mask, cross_key_value, cache)
        batch_size, query_length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        if cache is None:
            if cache_update_index is not None:
                raise ValueError(
                    "`cache_update_index` is only meaningful together with `cache`. "
                    f"Received: cache=None, cache_update_index={cache_update_index!r}"
                )
            key_length, first_position = query_length, 0
        else:
            if cache_update_index is None:
                raise ValueError(
                    "`cache_update_index` is required with `cache`: it is the position of the "
                    "first input token. Received: cache_update_index=None"
                )
            key_length, first_position = ops.shape(cache)[3], cache_update_index
        mask = causal_mask(batch_size, query_length, key_length, first_position)  # (B, T, S)
        if attention_mask is not None:
            mask = ops.logical_and(mask, ops.cast(attention_mask, "bool"))
        mask = merge_padding_and_attention_masks(padding_mask, mask)  # (B, T, S)

        new_cache = []  # the self-attention's updated cache, when there is one

        def self_attend(h):
            output = self.self_attention(
                h, attention_mask=mask, cache=cache, cache_update_index=cache_update_index,
                position_ids=position_ids, training=training)
            if cache is None:
                return output
            new_cache.append(output[1])
            return output[0]

        x = self._residual(inputs, self_attend, self.self_attention_layer_norm,
                           self.self_attention_dropout, training)  # (B, T, D)
        if self.cross_attention:
            # (B, 1, S): every target position sees the same real source positions.
            source_mask = merge_padding_and_attention_masks(encoder_padding_mask, None)
            x = self._residual(
                x, lambda h: self.cross_attention_layer(
                    h, value=encoder_outputs, attention_mask=source_mask,
                    key_value=cross_key_value, training=training),
                self.cross_attention_layer_norm, self.cross_attention_dropout, training)
        x = self._feed_forward_branch(x, training)  # (B, T, D)
        if cache is not None:
            return x, new_cache[0]
        return x

    def cross_attention_key_value(self, encoder_outputs):
        """The cross-attention keys and values of `encoder_outputs`, for every decoding step.

        Args:
            encoder_outputs: (B, S, D_e) encoder outputs.
        Returns:
            (B, 2, K, S, H) tensor to pass as `cross_key_value`: computed once per source, it
            spares each decoding step the two (B, S, D_e) projections.
        """
        if not self.cross_attention:
            raise ValueError(
                "`cross_attention_key_value` needs a block built with cross_attention=True. "
                "Received: cross_attention=False"
            )
        if not self.built:
            raise ValueError(
                "`cross_attention_key_value` needs the block's weights: build it first (call "
                "it once, or `build(inputs_shape, encoder_outputs_shape)`). Received: an "
                f"unbuilt DecoderBlock named {self.name!r}"
            )
        return self.cross_attention_layer.key_value_heads(encoder_outputs)

    def _check_cross_arguments(self, encoder_outputs, encoder_padding_mask, cross_key_value,
                               cache):
        given = [name for name, value in (("encoder_outputs", encoder_outputs),
                                          ("encoder_padding_mask", encoder_padding_mask),
                                          ("cross_key_value", cross_key_value))
                 if value is not None]
        if not self.cross_attention:
            if given:
                raise ValueError(
                    f"`{given[0]}` is for cross-attention, which this block does not have; "
                    "build it with cross_attention=True. "
                    f"Received: cross_attention=False, {given[0]} given"
                )
            return
        if encoder_outputs is not None and cross_key_value is not None:
            raise ValueError(
                "Pass either `encoder_outputs` or `cross_key_value` (its keys and values, "
                "already projected), not both. Received: both"
            )
        if cache is not None and cross_key_value is None:
            raise ValueError(
                "`cross_key_value` is required with `cache`: compute it once per source with "
                "`block.cross_attention_key_value(encoder_outputs)` and pass it to every step. "
                "Received: cross_key_value=None"
            )
        if encoder_outputs is None and cross_key_value is None:
            raise ValueError(
                "A block with cross_attention=True attends over the encoder's outputs: pass "
                "`encoder_outputs` (B, S, D_e) or `cross_key_value`. "
                "Received: encoder_outputs=None, cross_key_value=None"
            )
        if encoder_outputs is not None and encoder_outputs.shape[-1] != self._encoder_width:
            raise ValueError(
                f"The block's cross-attention was built for encoder outputs of width "
                f"{self._encoder_width}. Received: encoder_outputs.shape="
                f"{tuple(encoder_outputs.shape)}"
            )

    def compute_output_shape(self, inputs_shape, cache_shape=None):
        if cache_shape is not None:
            return tuple(inputs_shape), tuple(cache_shape)
        return tuple(inputs_shape)

    def get_config(self):
        return {**super().get_config(), "cross_attention": self.cross_attention}
