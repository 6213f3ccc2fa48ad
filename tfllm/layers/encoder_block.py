"""`EncoderBlock`: one bidirectional Transformer encoder block (self-attention + feed-forward)."""

import keras

from tfllm.layers.attention_utils import merge_padding_and_attention_masks
from tfllm.layers.feed_forward import FeedForward
from tfllm.layers.layer_utils import (
    get_activation,
    get_initializer,
    serialize_optional_initializer,
    static_last_dim,
)
from tfllm.layers.multi_head_attention import MultiHeadAttention
from tfllm.validation import check_bool, check_positive_float, check_positive_int, check_rate


@keras.saving.register_keras_serializable(package="tfllm")
class EncoderBlock(keras.layers.Layer):
    """Bidirectional self-attention and a feed-forward MLP, each inside a residual connection.

    The encoder half of the Transformer ("Attention Is All You Need", 2017): every position
    attends to every real position of the sequence, before and after it; only the key padding
    mask (and an optional attention mask) hides keys, so padded positions change nothing at
    real ones. Pre-LN (`norm_first=True`): `x = x + dropout(attention(norm(x)))`, then
    `x = x + mlp(norm(x))`, and a stack of such blocks needs one final LayerNorm. Post-LN
    (`norm_first=False`, the paper's layout): `x = norm(x + dropout(attention(x)))`, then
    `x = norm(x + mlp(x))`. The arguments are those of `DecoderBlock`.

    Args:
        num_heads: N, attention heads; the width D of the inputs must be divisible by it.
        intermediate_dim: width of the feed-forward inner layer.
        dropout: dropout rate on attention weights and on both residual branches.
        norm_first: True for pre-LN, False for post-LN.
        layer_norm_epsilon: epsilon of both LayerNorms.
        activation: feed-forward activation, "gelu" by default.
        kernel_initializer: initializer for the projection kernels.
        output_kernel_initializer: initializer for the kernels that write into the residual
            stream (attention output and feed-forward output); defaults to
            `kernel_initializer`.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, S, D) tensor.
        padding_mask: optional bool (B, S), True for real tokens; padded keys are never
            attended to.
        attention_mask: optional bool (B, S, S), True where query i may attend to key j,
            combined (AND) with the padding mask.
        training: bool, whether dropout is active.

    Returns:
        (B, S, D) tensor.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import EncoderBlock
    >>> block = EncoderBlock(num_heads=2, intermediate_dim=32)
    >>> x = np.random.rand(2, 4, 8).astype("float32")  # (B, S, D)
    >>> padding_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    >>> outputs = block(x, padding_mask=padding_mask)
    >>> tuple(outputs.shape)
    (2, 4, 8)
    >>> x[1, 2:] = 100.0  # new values at the padded positions of row 1
    >>> bool(np.allclose(block(x, padding_mask=padding_mask)[1, :2], outputs[1, :2], atol=1e-5))
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
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        self.dropout = check_rate("dropout", dropout)
        self.norm_first = check_bool("norm_first", norm_first)
        self.layer_norm_epsilon = check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        self.activation = get_activation("activation", activation)
        self.kernel_initializer = get_initializer("kernel_initializer", kernel_initializer)
        self.output_kernel_initializer = (
            None
            if output_kernel_initializer is None
            else get_initializer("output_kernel_initializer", output_kernel_initializer)
        )

    def build(self, inputs_shape):
        width = static_last_dim("inputs", inputs_shape)
        if width % self.num_heads:
            raise ValueError(
                "The input width D must be divisible by `num_heads` (each head gets D // "
                f"num_heads features). Received: num_heads={self.num_heads}, "
                f"inputs.shape[-1]={width}"
            )
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy,
            name="self_attention_layer_norm",
        )
        self.self_attention = MultiHeadAttention(
            num_heads=self.num_heads,
            dropout=self.dropout,
            kernel_initializer=self.kernel_initializer,
            output_kernel_initializer=self.output_kernel_initializer,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention_dropout = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self.feed_forward_layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy,
            name="feed_forward_layer_norm",
        )
        self.feed_forward = FeedForward(
            intermediate_dim=self.intermediate_dim,
            activation=self.activation,
            dropout=self.dropout,
            kernel_initializer=self.kernel_initializer,
            output_kernel_initializer=self.output_kernel_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        for layer in (
            self.self_attention_layer_norm,
            self.self_attention,
            self.feed_forward_layer_norm,
            self.feed_forward,
        ):
            layer.build(inputs_shape)

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None):
        # (B, 1, S) from the padding mask alone, (B, S, S) with an attention mask, or None.
        mask = merge_padding_and_attention_masks(padding_mask, attention_mask)

        residual = inputs
        x = self.self_attention_layer_norm(inputs) if self.norm_first else inputs
        x = self.self_attention(x, attention_mask=mask, training=training)  # (B, S, D)
        x = residual + self.self_attention_dropout(x, training=training)
        if not self.norm_first:
            x = self.self_attention_layer_norm(x)

        residual = x
        if self.norm_first:
            x = self.feed_forward_layer_norm(x)
        x = residual + self.feed_forward(x, training=training)  # (B, S, D)
        if not self.norm_first:
            x = self.feed_forward_layer_norm(x)
        return x

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "norm_first": self.norm_first,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "output_kernel_initializer": serialize_optional_initializer(
                    self.output_kernel_initializer
                ),
            }
        )
        return config
