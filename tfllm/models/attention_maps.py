"""`cross_attention_maps`: where each target token of an encoder-decoder Transformer looked in
the source, for plots (the notebook's attention map).

Each decoder block's cross-attention keeps the softmax weights of one eager call
(`MultiHeadAttention.record_attention_weights`), which are read back and stacked.

Example:

>>> import numpy as np
>>> from tfllm.models import EncoderDecoderTransformer
>>> model = EncoderDecoderTransformer(vocabulary_size=16, source_length=6, target_length=5,
...     num_encoder_layers=1, num_decoder_layers=2, num_heads=2, hidden_dim=8,
...     intermediate_dim=16)
>>> inputs = {"encoder_token_ids": np.ones((1, 6), "int32"), "token_ids": np.ones((1, 5), "int32")}
>>> cross_attention_maps(model, inputs).shape  # (L, B, N, T, S)
(2, 1, 2, 5, 6)
"""

import numpy as np


def cross_attention_maps(model, inputs):
    """(L, B, N, T, S) float32 cross-attention weights of every decoder block for `inputs`.

    Args:
        model: an `EncoderDecoderTransformer` (its `decoder_blocks` have cross-attention).
        inputs: its input dict (source and teacher-forced target).
    Returns:
        A NumPy array: per decoder block, batch row, head, target position and source position,
        rows summing to 1 over the real source positions.
    """
    if not model.built:
        model(inputs, training=False)  # the blocks create their attention layers when built
    layers = [getattr(block, "cross_attention_layer", None)
              for block in getattr(model, "decoder_blocks", [])]
    if not layers or any(layer is None for layer in layers):
        raise ValueError(
            "cross_attention_maps needs an encoder-decoder Transformer (decoder blocks with "
            f"cross-attention). Received: a {type(model).__name__}")
    for layer in layers:
        layer.record_attention_weights = True
    try:
        model(inputs, training=False)
        return np.stack([np.asarray(layer.last_attention_weights) for layer in layers])
    finally:
        for layer in layers:
            layer.record_attention_weights = False
            layer.last_attention_weights = None
