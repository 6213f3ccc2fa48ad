"""`BertEncoder`: the BERT-style encoder, one implementation for pre-training and fine-tuning."""

import math

import keras
from keras import ops

from tfllm.layers import EncoderBlock, PositionEmbedding, TokenEmbedding
from tfllm.limits import check_at_most
from tfllm.validation import (
    check_bool,
    check_heads_divide_width,
    check_non_negative_int,
    check_positive_float,
    check_positive_int,
    check_rate,
)

ENCODER_ARGUMENTS = (
    "vocabulary_size", "sequence_length", "num_layers", "num_heads", "hidden_dim",
    "intermediate_dim", "dropout", "num_token_types", "norm_first", "layer_norm_epsilon",
)


@keras.saving.register_keras_serializable(package="tfllm")
class BertEncoder(keras.layers.Layer):
    """Token ids to contextual vectors: BERT's encoder ("BERT: Pre-training of Deep
    Bidirectional Transformers for Language Understanding", 2019).

    token embedding + learned position vectors (+ token-type vectors, BERT's sentence A/B
    "segment" embeddings, when `num_token_types` > 0) -> LayerNorm -> dropout ->
    `num_layers` `EncoderBlock`s (bidirectional: every position sees every real position) ->
    final LayerNorm (pre-LN only). Padded positions change nothing at real ones.

    `BertMaskedLM` (pre-training) and `BertClassifier` (fine-tuning) each hold one
    `BertEncoder` as `.encoder` with the same arguments, so a pre-trained encoder's weights
    move to a classifier with `classifier.encoder.set_weights(masked_lm.encoder.get_weights())`.

    Initialization: weights normal(0, 0.02) as BERT's; the two projections of each block that
    write into the residual stream normal(0, 0.02 / sqrt(2 L)) (GPT-2's depth scaling, as in
    tfllm's other Transformers).

    Args:
        vocabulary_size: V, the number of token ids.
        sequence_length: the longest input T (the learned positions); at most
            `tfllm.limits.MAX_SEQUENCE_LENGTH`.
        num_layers: L, the number of encoder blocks.
        num_heads: N, attention heads per block; `hidden_dim` must be divisible by it.
        hidden_dim: D, the model width.
        intermediate_dim: width of the feed-forward inner layers, usually 4 * D.
        dropout: dropout rate on embeddings, attention weights and residual branches.
        num_token_types: rows of the token-type table (BERT uses 2); 0 for none.
        norm_first: True for pre-LN blocks and a final LayerNorm (stable without a long
            warmup, the default); False for BERT's post-LN blocks.
        layer_norm_epsilon: epsilon of every LayerNorm.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        token_ids: (B, T) int ids.
        padding_mask: optional (B, T) bool, True on real tokens.
        token_type_ids: optional (B, T) int in [0, num_token_types) (zeros when absent).
        training: bool, whether dropout is active.

    Returns:
        (B, T, D) vectors in the compute dtype.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import BertEncoder
    >>> encoder = BertEncoder(vocabulary_size=32, sequence_length=8, num_layers=1,
    ...                       num_heads=2, hidden_dim=8, intermediate_dim=16)
    >>> token_ids = np.array([[1, 5, 6, 2, 0, 0]], "int32")
    >>> tuple(encoder(token_ids, padding_mask=token_ids > 0).shape)
    (1, 6, 8)
    """

    def __init__(
        self, vocabulary_size, sequence_length, num_layers, num_heads, hidden_dim,
        intermediate_dim, dropout=0.1, num_token_types=0, norm_first=True,
        layer_norm_epsilon=1e-12, **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        # Attention keeps B x N x T^2 scores per layer: bounded before anything is allocated.
        check_at_most("sequence_length", self.sequence_length, "MAX_SEQUENCE_LENGTH",
                      "positions of context")
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        self.dropout = check_rate("dropout", dropout)
        self.num_token_types = check_non_negative_int("num_token_types", num_token_types)
        self.norm_first = check_bool("norm_first", norm_first)
        self.layer_norm_epsilon = check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        check_heads_divide_width(hidden_dim, num_heads)
        weights = keras.initializers.RandomNormal(stddev=0.02)
        self.token_embedding = TokenEmbedding(
            vocabulary_size, hidden_dim, tie_weights=True, embeddings_initializer=weights,
            dtype=self.dtype_policy, name="token_embedding",
        )
        self.position_embedding = PositionEmbedding(
            sequence_length, initializer=weights, dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.token_type_embedding = None
        if self.num_token_types:
            self.token_type_embedding = keras.layers.Embedding(
                self.num_token_types, hidden_dim, embeddings_initializer=weights,
                dtype=self.dtype_policy, name="token_type_embedding",
            )
        self.embedding_layer_norm = self._layer_norm("embedding_layer_norm")
        self.embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="embedding_dropout"
        )
        residual_init = keras.initializers.RandomNormal(stddev=0.02 / math.sqrt(2 * num_layers))
        self.blocks = [
            EncoderBlock(
                num_heads=num_heads, intermediate_dim=intermediate_dim, dropout=dropout,
                norm_first=norm_first, layer_norm_epsilon=layer_norm_epsilon,
                activation="gelu", kernel_initializer=weights,
                output_kernel_initializer=residual_init, dtype=self.dtype_policy,
                name=f"encoder_block_{i}",
            )
            for i in range(num_layers)
        ]
        # Pre-LN blocks leave the residual stream unnormalized: one LayerNorm at the end.
        self.final_layer_norm = self._layer_norm("final_layer_norm") if norm_first else None

    def _layer_norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def build(self, token_ids_shape, padding_mask_shape=None, token_type_ids_shape=None):
        hidden = (*tuple(token_ids_shape), self.hidden_dim)  # (B, T, D)
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build(hidden)
        if self.token_type_embedding is not None:
            self.token_type_embedding.build(token_ids_shape)
        self.embedding_layer_norm.build(hidden)
        for block in self.blocks:
            block.build(hidden)
        if self.final_layer_norm is not None:
            self.final_layer_norm.build(hidden)

    def call(self, token_ids, padding_mask=None, token_type_ids=None, training=None):
        length = token_ids.shape[-1]
        if isinstance(length, int) and length > self.sequence_length:
            raise ValueError(
                f"`token_ids` is longer than the encoder's sequence_length "
                f"({self.sequence_length}). Received: token_ids.shape={tuple(token_ids.shape)}"
            )
        x = self.token_embedding(token_ids)  # (B, T, D)
        x = x + self.position_embedding(x)  # (B, T, D)
        if self.token_type_embedding is not None:
            if token_type_ids is None:
                token_type_ids = ops.zeros(ops.shape(token_ids), "int32")
            x = x + self.token_type_embedding(token_type_ids)  # (B, T, D)
        x = self.embedding_dropout(self.embedding_layer_norm(x), training=training)
        if padding_mask is not None:
            padding_mask = ops.cast(padding_mask, "bool")
        for block in self.blocks:
            x = block(x, padding_mask=padding_mask, training=training)  # (B, T, D)
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        return x

    def compute_output_shape(self, token_ids_shape, padding_mask_shape=None,
                             token_type_ids_shape=None):
        return (*tuple(token_ids_shape), self.hidden_dim)

    def get_config(self):
        config = super().get_config()
        config.update({name: getattr(self, name) for name in ENCODER_ARGUMENTS})
        return config

