"""Building blocks of tfllm's models, written with `keras.ops` so every line can be read.

- `TokenEmbedding`: ids -> vectors, and (reversed, tied) vectors -> float32 logits.
- `PositionEmbedding` (learned) and `SinusoidalPositionEncoding` (fixed) position vectors.
- `MultiHeadAttention`: attention with a fixed-shape KV cache for decoding; grouped-query
  attention, QK-normalization and rotary embeddings as options.
- `RotaryEmbedding`: rotary position embeddings (RoPE) for queries and keys.
- `FeedForward`: the position-wise MLP (plain or gated: SwiGLU).
- `rms_normalization`: `normalization_layer`, LayerNorm or Keras's RMSNorm by name.
- `DecoderBlock`: causal self-attention (+ optional cross-attention over an encoder's
  outputs) + MLP with residuals, pre-LN or post-LN.
- `EncoderBlock`: bidirectional self-attention + MLP with residuals, pre-LN or post-LN.
- `attention_utils`: `causal_mask` (with a cache index) and `merge_padding_and_attention_masks`.

Shapes: B batch, T target length, S source (key) length, N heads, H head size, D width,
V vocabulary. Masks are boolean, True = may attend.
"""

from tfllm.layers.attention_utils import causal_mask, merge_padding_and_attention_masks
from tfllm.layers.decoder_block import DecoderBlock
from tfllm.layers.encoder_block import EncoderBlock
from tfllm.layers.feed_forward import FeedForward
from tfllm.layers.multi_head_attention import MultiHeadAttention
from tfllm.layers.position_embedding import PositionEmbedding
from tfllm.layers.rotary_embedding import RotaryEmbedding
from tfllm.layers.sinusoidal_position_encoding import SinusoidalPositionEncoding
from tfllm.layers.token_embedding import TokenEmbedding

__all__ = [
    "DecoderBlock",
    "EncoderBlock",
    "FeedForward",
    "MultiHeadAttention",
    "PositionEmbedding",
    "RotaryEmbedding",
    "SinusoidalPositionEncoding",
    "TokenEmbedding",
    "causal_mask",
    "merge_padding_and_attention_masks",
]
