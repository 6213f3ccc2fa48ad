"""`EncoderBlock`: one bidirectional Transformer encoder block (self-attention + feed-forward)."""

import keras

from tfllm.layers.attention_utils import merge_padding_and_attention_masks
from tfllm.layers.transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="tfllm")
class EncoderBlock(TransformerBlock):
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

    def build(self, inputs_shape):
        self._build_sublayers(inputs_shape)

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None):
        # (B, 1, S) from the padding mask alone, (B, S, S) with an attention mask, or None.
        mask = merge_padding_and_attention_masks(padding_mask, attention_mask)

        x = self._residual(
            inputs, lambda h: self.self_attention(h, attention_mask=mask, training=training),
            self.self_attention_layer_norm, self.self_attention_dropout, training)  # (B, S, D)
        return self._feed_forward_branch(x, training)  # (B, S, D)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)
