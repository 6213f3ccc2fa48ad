"""`EncoderDecoderTransformer`: the Transformer of "Attention Is All You Need" (2017)."""

import math

import keras
from keras import ops

from tfllm.layers import (
    DecoderBlock,
    EncoderBlock,
    PositionEmbedding,
    SinusoidalPositionEncoding,
    TokenEmbedding,
)
from tfllm.limits import check_at_most
from tfllm.models.model_utils import token_ids_shape
from tfllm.models.seq2seq_language_model import Seq2SeqLanguageModel, unpack_seq2seq_inputs
from tfllm.validation import (
    check_bool,
    check_choice,
    check_heads_divide_width,
    check_positive_float,
    check_positive_int,
    check_rate,
)

POSITION_ENCODINGS = ("learned", "sinusoidal")
_SOURCE_KEYS = ("encoder_token_ids", "encoder_padding_mask")
_CACHE_KEYS = ("self", "cross", "source_mask")
_CONFIG_KEYS = (
    "vocabulary_size", "source_length", "target_length", "num_encoder_layers",
    "num_decoder_layers", "num_heads", "hidden_dim", "intermediate_dim", "dropout",
    "position_encoding", "norm_first", "tie_embeddings", "layer_norm_epsilon",
)


@keras.saving.register_keras_serializable(package="tfllm")
class EncoderDecoderTransformer(Seq2SeqLanguageModel):
    """Encoder-decoder Transformer: scores each next target token from the whole source and
    the target tokens before it.

    Source ids -> token embedding x sqrt(D) + positions -> dropout -> `num_encoder_layers`
    `EncoderBlock`s -> LayerNorm (pre-LN only) = the encoder outputs (B, S, D). Target ids
    (shifted right after a start id) -> the same embedding x sqrt(D) + positions -> dropout ->
    `num_decoder_layers` `DecoderBlock`s (causal self-attention, cross-attention over the
    encoder outputs) -> LayerNorm (pre-LN only) -> output projection (the transposed token
    embedding when tied) -> (B, T, V) logits, float32 under every dtype policy. Source and
    target share one vocabulary and one embedding table.

    Token vectors are scaled by sqrt(D), as in the paper, so that with the normal(0, 0.02)
    init they are not drowned by the unit-scale sinusoids. Otherwise GPT-2's init: weights
    normal(0, 0.02), biases zero, and the projections that write into the residual stream
    normal(0, 0.02 / sqrt(k L)), k the residual branches per block (2 in the encoder, 3 in
    the decoder), so the stream's scale at init does not grow with depth.

    Decoding follows `Seq2SeqLanguageModel`: `build_cache` runs the encoder and projects each
    decoder block's cross-attention keys and values once; `call_with_cache` runs target
    tokens only.

    Args:
        vocabulary_size: V, the number of token ids (source and target).
        source_length: the longest source S (learned positions of the encoder).
        target_length: the longest target T, start id included (the decoder's learned
            positions, `max_cache_length`). Both lengths are at most
            `tfllm.limits.MAX_SEQUENCE_LENGTH` (raised by TFLLM_MAX_SEQUENCE_LENGTH).
        num_encoder_layers: L_e, the number of encoder blocks.
        num_decoder_layers: L_d, the number of decoder blocks.
        num_heads: N, attention heads per block; `hidden_dim` must be divisible by it.
        hidden_dim: D, the model width.
        intermediate_dim: width of the feed-forward inner layers, usually 4 * D.
        dropout: dropout rate on embeddings, attention weights and residual branches.
        position_encoding: "sinusoidal" (fixed, as in the paper) or "learned" (a table a side).
        norm_first: True for pre-LN blocks plus a final LayerNorm on each side; False for the
            paper's post-LN blocks.
        tie_embeddings: share the token embedding with the output projection.
        layer_norm_epsilon: epsilon of every LayerNorm.
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "encoder_token_ids" (B, S) int, "token_ids" (B, T) int and optionally
            "encoder_padding_mask" (B, S), "padding_mask" (B, T) bool (True = real token).
        training: bool, whether dropout is active.

    Returns:
        (B, T, V) float32 logits: row t scores the target token that follows position t.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import EncoderDecoderTransformer
    >>> model = EncoderDecoderTransformer(
    ...     vocabulary_size=32, source_length=6, target_length=4, num_encoder_layers=1,
    ...     num_decoder_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16, dropout=0.0)
    >>> source = {"encoder_token_ids": np.array([[5, 6, 7, 0, 0, 0]], "int32"),
    ...           "encoder_padding_mask": np.array([[1, 1, 1, 0, 0, 0]], bool)}
    >>> target = np.array([[1, 9, 10, 11]], "int32")  # the start id, then the target
    >>> logits = model({**source, "token_ids": target})
    >>> tuple(logits.shape), logits.dtype.name
    ((1, 4, 32), 'float32')
    >>> cache = model.build_cache(batch_size=1, max_length=4, source=source)
    >>> tuple(cache["cross"][0].shape)  # (B, 2, N, S, H), computed once
    (1, 2, 2, 6, 4)
    >>> step_logits, cache = model.call_with_cache(target, cache, cache_update_index=0)
    >>> bool(np.allclose(step_logits, logits, atol=1e-5))
    True
    """

    # No XLA by default: it compiles a step per length bucket; 150 steps of shakespeare-restore
    # took 155 s with it, 75 s without on 2 CPU cores (2026-12-01; docs/seq2seq.md).
    jit_compile_by_default = False

    def __init__(
        self, vocabulary_size, source_length, target_length, num_encoder_layers,
        num_decoder_layers, num_heads, hidden_dim, intermediate_dim, dropout=0.1,
        position_encoding="sinusoidal", norm_first=True, tie_embeddings=True,
        layer_norm_epsilon=1e-5, **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        # Attention keeps B x N x S^2 (T^2, T x S) scores per layer: bounded before allocating.
        for name, value in (("source_length", source_length), ("target_length", target_length)):
            check_at_most(name, check_positive_int(name, value), "MAX_SEQUENCE_LENGTH",
                          "positions of context")
        self.source_length, self.target_length = source_length, target_length
        self.num_encoder_layers = check_positive_int("num_encoder_layers", num_encoder_layers)
        self.num_decoder_layers = check_positive_int("num_decoder_layers", num_decoder_layers)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.intermediate_dim = check_positive_int("intermediate_dim", intermediate_dim)
        self.dropout = check_rate("dropout", dropout)
        self.position_encoding = check_choice("position_encoding", position_encoding,
                                              POSITION_ENCODINGS)
        self.norm_first = check_bool("norm_first", norm_first)
        self.tie_embeddings = check_bool("tie_embeddings", tie_embeddings)
        self.layer_norm_epsilon = check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        check_heads_divide_width(hidden_dim, num_heads)

        weights = keras.initializers.RandomNormal(stddev=0.02)
        # Scaled residual init: 2 residual branches per encoder block, 3 per decoder block.
        residual_init = [keras.initializers.RandomNormal(stddev=0.02 / math.sqrt(branches))
                         for branches in (2 * num_encoder_layers, 3 * num_decoder_layers)]
        self.token_embedding = TokenEmbedding(
            vocabulary_size, hidden_dim, tie_weights=tie_embeddings,
            embeddings_initializer=weights, dtype=self.dtype_policy, name="token_embedding",
        )
        self.encoder_position_embedding = self._position_layer("encoder", source_length)
        self.decoder_position_embedding = self._position_layer("decoder", target_length)
        self.encoder_embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="encoder_embedding_dropout"
        )
        self.decoder_embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="decoder_embedding_dropout"
        )
        block_arguments = dict(
            num_heads=num_heads, intermediate_dim=intermediate_dim, dropout=dropout,
            norm_first=norm_first, layer_norm_epsilon=layer_norm_epsilon, activation="gelu",
            kernel_initializer=weights, dtype=self.dtype_policy,
        )
        self.encoder_blocks = [
            EncoderBlock(**block_arguments, name=f"encoder_block_{i}",
                         output_kernel_initializer=residual_init[0])
            for i in range(num_encoder_layers)
        ]
        self.decoder_blocks = [
            DecoderBlock(**block_arguments, name=f"decoder_block_{i}", cross_attention=True,
                         output_kernel_initializer=residual_init[1])
            for i in range(num_decoder_layers)
        ]
        # Pre-LN blocks leave the residual stream unnormalized, so each side normalizes it
        # once at its end; post-LN blocks already end in a LayerNorm.
        self.encoder_final_layer_norm = self._final_layer_norm("encoder")
        self.decoder_final_layer_norm = self._final_layer_norm("decoder")

    def _position_layer(self, side, length):
        name = f"{side}_position_embedding"
        if self.position_encoding == "learned":
            return PositionEmbedding(
                length, initializer=keras.initializers.RandomNormal(stddev=0.02),
                dtype=self.dtype_policy, name=name,
            )
        return SinusoidalPositionEncoding(dtype=self.dtype_policy, name=name)

    def _final_layer_norm(self, side):
        if not self.norm_first:
            return None
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy,
            name=f"{side}_final_layer_norm",
        )

    def build(self, inputs_shape):
        source_shape, _, target_shape, _ = unpack_seq2seq_inputs(inputs_shape)
        source_shape, target_shape = token_ids_shape(source_shape), token_ids_shape(target_shape)
        source_hidden = (*source_shape, self.hidden_dim)  # (B, S, D)
        target_hidden = (*target_shape, self.hidden_dim)  # (B, T, D)
        self.token_embedding.build(source_shape)
        self.encoder_position_embedding.build(source_hidden)
        self.decoder_position_embedding.build(target_hidden)
        for block in self.encoder_blocks:
            block.build(source_hidden)
        for block in self.decoder_blocks:
            block.build(target_hidden, source_hidden)
        if self.norm_first:
            self.encoder_final_layer_norm.build(source_hidden)
            self.decoder_final_layer_norm.build(target_hidden)

    def call(self, inputs, training=None):
        encoder_token_ids, encoder_padding_mask, token_ids, padding_mask = (
            unpack_seq2seq_inputs(inputs)
        )
        encoder_outputs = self._encode(encoder_token_ids, encoder_padding_mask, training)
        x = self._embed(token_ids, "decoder", training=training)  # (B, T, D)
        for block in self.decoder_blocks:
            x = block(
                x, padding_mask=padding_mask, encoder_outputs=encoder_outputs,
                encoder_padding_mask=encoder_padding_mask, training=training,
            )  # (B, T, D)
        return self._logits(x)  # (B, T, V)

    def encode(self, source, training=None):
        """(B, S, D) encoder outputs (after the final LayerNorm when pre-LN) of `source`, a
        dict with "encoder_token_ids" (B, S) int and optionally "encoder_padding_mask"."""
        encoder_token_ids, encoder_padding_mask = _unpack_source(source)
        self._build_for(encoder_token_ids)
        return self._encode(encoder_token_ids, encoder_padding_mask, training)

    def build_cache(self, batch_size, max_length, source=None):
        """Runs the encoder once and returns the decoding cache.

        Args:
            batch_size: B, the rows of `source` (an int, or a scalar int tensor when traced).
            max_length: the target slots of the self-attention caches, at most
                `max_cache_length` (`target_length`).
            source: dict with "encoder_token_ids" (B, S) int and optionally
                "encoder_padding_mask" (B, S) bool.
        Returns:
            `{"self": L_d zero (B, 2, N, max_length, H), "cross": L_d (B, 2, N, S, H) keys and
            values, "source_mask": (B, S) bool}`, B first everywhere, in the compute dtype.
        """
        encoder_token_ids, encoder_padding_mask = _unpack_source(source)
        if isinstance(batch_size, int):
            batch_size = check_positive_int("batch_size", batch_size)
            if encoder_token_ids.shape[0] not in (None, batch_size):
                raise ValueError(
                    "`batch_size` must be the number of source rows. Received: batch_size="
                    f"{batch_size}, encoder_token_ids.shape={tuple(encoder_token_ids.shape)}"
                )
        max_length = check_positive_int("max_length", max_length)
        if max_length > self.max_cache_length:
            raise ValueError(
                f"`max_length` cannot exceed the {self.max_cache_length} target positions the "
                f"model was built for (target_length). Received: max_length={max_length}"
            )
        if encoder_padding_mask is None:
            encoder_padding_mask = ops.ones(ops.shape(encoder_token_ids), dtype="bool")
        encoder_padding_mask = ops.cast(encoder_padding_mask, "bool")
        encoder_outputs = self.encode(
            {"encoder_token_ids": encoder_token_ids, "encoder_padding_mask": encoder_padding_mask},
            training=False,
        )  # (B, S, D), the only encoder pass of this decode
        blocks = self.decoder_blocks
        shape = (batch_size, 2, self.num_heads, max_length, self.hidden_dim // self.num_heads)
        return {
            "self": tuple(ops.zeros(shape, self.compute_dtype) for _ in blocks),
            "cross": tuple(block.cross_attention_key_value(encoder_outputs) for block in blocks),
            "source_mask": encoder_padding_mask,
        }

    def call_with_cache(
        self, token_ids, cache, cache_update_index, padding_mask=None, position_ids=None
    ):
        """Runs T target tokens through the decoder, reading and writing the cache.

        Args:
            token_ids: (B, T) int ids for target slots `cache_update_index ..
                cache_update_index + T - 1`: the start id (or a target prefix) for a prefill
                at index 0, then one token per step.
            cache: the dict from `build_cache` (or a previous call).
            cache_update_index: int or scalar int tensor, the slot of `token_ids[:, 0]`.
            padding_mask: optional (B, max_length) bool over the self-attention slots.
            position_ids: optional (B, T) int target positions; defaults to the slots.
        Returns:
            `(logits, new_cache)`: (B, T, V) float32 logits, and the cache with the tokens'
            keys and values written in (same shapes; "cross" and "source_mask" as given).
        """
        if not isinstance(cache, dict) or set(cache) != set(_CACHE_KEYS):
            keys = sorted(cache) if isinstance(cache, dict) else type(cache).__name__
            raise ValueError(
                f"`cache` must be the dict `build_cache` returns, with keys {_CACHE_KEYS}. "
                f"Received: cache={keys}"
            )
        x = self._embed(
            token_ids, "decoder", training=False, start_index=cache_update_index,
            position_ids=position_ids,
        )  # (B, T, D)
        new_self = []
        for block, self_cache, cross_key_value in zip(
            self.decoder_blocks, cache["self"], cache["cross"]
        ):
            x, self_cache = block(
                x, padding_mask=padding_mask, cache=self_cache,
                cache_update_index=cache_update_index, cross_key_value=cross_key_value,
                encoder_padding_mask=cache["source_mask"],
            )
            new_self.append(self_cache)
        new_cache = {"self": tuple(new_self), "cross": cache["cross"],
                     "source_mask": cache["source_mask"]}
        return self._logits(x), new_cache

    def _build_for(self, encoder_token_ids):
        if not self.built:
            batch_size, source_length = tuple(encoder_token_ids.shape)
            self.build({"encoder_token_ids": (batch_size, source_length),
                        "token_ids": (batch_size, None)})

    def _encode(self, encoder_token_ids, encoder_padding_mask, training):
        x = self._embed(encoder_token_ids, "encoder", training=training)  # (B, S, D)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=encoder_padding_mask, training=training)  # (B, S, D)
        if self.encoder_final_layer_norm is not None:
            x = self.encoder_final_layer_norm(x)
        return x

    def _embed(self, token_ids, side, training, start_index=0, position_ids=None):
        name, limit, argument = (("encoder_token_ids", self.source_length, "source_length")
                                 if side == "encoder" else
                                 ("token_ids", self.target_length, "target_length"))
        length = token_ids.shape[-1]
        if isinstance(length, int) and length > limit:
            raise ValueError(
                f"`{name}` is longer than the model's {argument} ({limit}). "
                f"Received: {name}.shape={tuple(token_ids.shape)}"
            )
        position_embedding = getattr(self, f"{side}_position_embedding")
        dropout = getattr(self, f"{side}_embedding_dropout")
        x = self.token_embedding(token_ids) * math.sqrt(self.hidden_dim)  # (B, L, D)
        # (B, L, D)
        x = x + position_embedding(x, start_index=start_index, position_ids=position_ids)
        return dropout(x, training=training)

    def _logits(self, x):
        if self.decoder_final_layer_norm is not None:
            x = self.decoder_final_layer_norm(x)
        return self.token_embedding(x, reverse=True)  # (B, T, D) -> (B, T, V), float32

    def training_flops_per_token(self):
        """FLOPs of one training step per target token, full-length sources and targets.

        6 per token for each matmul weight (a multiply-add is 2 FLOPs, backward twice
        forward), 12 D per attended position and layer (scores and weighted values). Per
        source token: encoder blocks (4 D^2 + 2 D F) and each decoder block's cross keys and
        values (2 D^2); attention over S keys. Per target token: decoder self-attention
        (4 D^2), cross queries and output (2 D^2), feed-forward (2 D F), output projection
        (D V); attention over T + S keys. The source side counts S / T times per target
        token. Lookups, biases and norms are left out.

        Returns:
            An int; it needs no built weights.

        Example:

        >>> model = EncoderDecoderTransformer(
        ...     vocabulary_size=32, source_length=8, target_length=8, num_encoder_layers=1,
        ...     num_decoder_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=32)
        >>> model.training_flops_per_token()  # 6*1152 + 12*16*8 + (6*896 + 12*8*8) * 8/8
        14592
        """
        width, inner = self.hidden_dim, self.intermediate_dim
        source_weights = (self.num_encoder_layers * (4 * width * width + 2 * width * inner)
                          + self.num_decoder_layers * 2 * width * width)
        target_weights = (self.num_decoder_layers * (6 * width * width + 2 * width * inner)
                          + width * self.vocabulary_size)
        source, target = self.source_length, self.target_length
        per_source_token = 6 * source_weights + 12 * self.num_encoder_layers * source * width
        per_target_token = (6 * target_weights
                            + 12 * self.num_decoder_layers * (target + source) * width)
        return round(per_target_token + per_source_token * source / target)

    def get_config(self):
        config = super().get_config()
        config.update({key: getattr(self, key) for key in _CONFIG_KEYS})
        return config


def _unpack_source(source):
    """`(encoder_token_ids, encoder_padding_mask or None)` from a source dict."""
    if not isinstance(source, dict) or "encoder_token_ids" not in source or (
            set(source) - set(_SOURCE_KEYS)):
        keys = sorted(source) if isinstance(source, dict) else (
            source if source is None else type(source).__name__)
        raise ValueError(
            "`source` must be a dict with 'encoder_token_ids' (B, S) and optionally "
            f"'encoder_padding_mask' (B, S). Received: source={keys}"
        )
    return source["encoder_token_ids"], source.get("encoder_padding_mask")

