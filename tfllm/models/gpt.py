"""`GPT`: a decoder-only Transformer language model (GPT-2's blocks with rotary positions,
SwiGLU and QK-norm by default; GPT-2's own layout is `GPT.original_options`)."""

import math

import keras
from keras import ops

from tfllm.layers import DecoderBlock, PositionEmbedding, SinusoidalPositionEncoding, TokenEmbedding
from tfllm.layers.attention_utils import check_key_value_heads
from tfllm.layers.rms_normalization import NORMALIZATIONS, normalization_layer
from tfllm.limits import check_at_most
from tfllm.models.causal_language_model import CausalLanguageModel
from tfllm.models.model_utils import PACKED_INPUT_KEYS, token_ids_shape, unpack_inputs
from tfllm.validation import (check_bool, check_choice, check_heads_divide_width,
                              check_positive_float, check_positive_int, check_rate)

POSITION_ENCODINGS = ("learned", "sinusoidal", "rope")
FEED_FORWARDS = ("gelu", "swiglu")
RESIDUAL_INITS = ("scaled", "unscaled")


@keras.saving.register_keras_serializable(package="tfllm")
class GPT(CausalLanguageModel):
    """Decoder-only Transformer: predicts each next token from the tokens before it.

    token ids -> token embedding (+ position vectors, unless rotary) -> dropout -> `num_layers`
    causal `DecoderBlock`s -> final LayerNorm (pre-LN only) -> output projection (the transposed
    token embedding when tied) -> (B, T, V) logits, float32 under every dtype policy.

    Initialization follows GPT-2 / nanoGPT: weights normal(0, 0.02), biases zero, LayerNorms
    (1, 0), and (`residual_init="scaled"`) the two projections that write into the residual
    stream in each block (the attention output and the feed-forward output) normal(0, 0.02 /
    sqrt(2 * num_layers)) ("Language Models are Unsupervised Multitask Learners", 2019). Each
    block adds two branches to the residual stream, so at initialization its variance would
    grow with 2 * num_layers; shrinking those projections by 1/sqrt(2 * num_layers) keeps the
    stream's scale roughly independent of depth. `residual_init="unscaled"` gives them
    normal(0, 0.02) like every other weight.

    Defaults, chosen by `benchmarks/ablation.py` (`docs/decoder-options.md` cites each option's
    paper): rotary position embeddings, a SwiGLU MLP whose two halves are each
    `intermediate_dim` wide (nothing is rescaled: pass about 8/3 D to match a 4 D GELU MLP),
    QK-normalization and an untied output projection. RMSNorm, grouped-query attention
    (`num_key_value_heads=K`: key/value projections and KV cache N / K times smaller) and
    `residual_init="unscaled"` are off: they did not help at these sizes.
    `GPT.original_options` is GPT-2's layout, the defaults until 2026-12-02: `from_config` fills
    it in where a saved config lacks a key, and `GPT(**GPT.original_options, ...)` builds GPT-2.

    Decoding with a KV cache (used by `tfllm.generation`): `build_cache(B, S)` returns one zero
    (B, 2, K, S, H) key/value cache per block (K = N without GQA); `call_with_cache(token_ids,
    cache, index)` runs the (B, T) tokens in cache slots `index .. index + T - 1`, writes their
    keys and values into the cache and returns `(logits, new_cache)`. A prefill of the prompt
    followed by one-token steps gives the same logits as one full pass. `max_cache_length` is
    the longest cache (the learned or trained positions); past it `tfllm.generation` slides a
    window and runs the kept tokens again from position 0, so rotary keys are rotated anew.

    Args:
        vocabulary_size: V, the number of token ids.
        sequence_length: the context length T: the longest input, and the number of learned
            positions. At most `tfllm.limits.MAX_SEQUENCE_LENGTH` (8,192; raised by the
            environment variable TFLLM_MAX_SEQUENCE_LENGTH).
        num_layers: L, the number of decoder blocks.
        num_heads: N, attention heads per block; `hidden_dim` must be divisible by it.
        hidden_dim: D, the model width.
        intermediate_dim: F, the width of the feed-forward inner layer: about 8/3 D for SwiGLU
            (each of its two halves), 4 D for GELU.
        dropout: dropout rate on embeddings, attention weights and residual branches.
        position_encoding: "rope" (default: rotary, in every self-attention; hidden_dim /
            num_heads must be even), "learned" (GPT-2's table) or "sinusoidal" (fixed,
            Vaswani et al.).
        norm_first: True for pre-LN blocks (GPT-2) plus a final norm; False for post-LN.
        tie_embeddings: share the token embedding with the output projection (default False).
        layer_norm_epsilon: epsilon of every norm.
        normalization: "layer_norm" (default) or "rms_norm", for every norm of the model.
        feed_forward: "swiglu" (default: gated SiLU MLP) or "gelu" (GPT-2's GELU MLP).
        num_key_value_heads: K, key/value heads per attention; a divisor of `num_heads`.
            None (default) means K = N.
        qk_norm: normalize queries and keys per head before the dot product (default True).
        residual_init: "scaled" (default, GPT-2) or "unscaled"; see above.
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "token_ids" (B, T) int and optionally "padding_mask" (B, T) bool
            (True = real token) and "segment_ids" (B, T) int (packed rows: a token attends only
            to earlier tokens of the same segment); a bare (B, T) id tensor also works.
        training: bool, whether dropout is active.

    Returns:
        (B, T, V) float32 logits: row t scores the token that follows position t.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import GPT
    >>> model = GPT(vocabulary_size=32, sequence_length=8, num_layers=2, num_heads=2,
    ...             hidden_dim=8, intermediate_dim=32)
    >>> token_ids = np.array([[1, 2, 3, 4]], dtype="int32")
    >>> logits = model({"token_ids": token_ids, "padding_mask": token_ids > 0})
    >>> tuple(logits.shape), logits.dtype.name
    ((1, 4, 32), 'float32')
    >>> cache = model.build_cache(batch_size=1, max_length=8)
    >>> len(cache), tuple(cache[0].shape)  # L caches of (B, 2, N, S, H)
    (2, (1, 2, 2, 8, 4))
    >>> step_logits, cache = model.call_with_cache(token_ids, cache, cache_update_index=0)
    >>> bool(np.allclose(step_logits, logits, atol=1e-5))
    True
    """

    # XLA trained this model ~1.4x faster on 2 CPU cores (benchmarks/train_throughput.py).
    jit_compile_by_default = True
    # GPT-2's layout, the defaults before 2026-12-02: a saved config without one of these keys
    # (saved before the option existed) loads as the model it was trained as.
    original_options = dict(position_encoding="learned", tie_embeddings=True,
                            normalization="layer_norm", feed_forward="gelu",
                            num_key_value_heads=None, qk_norm=False, residual_init="scaled")

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        num_layers,
        num_heads,
        hidden_dim,
        intermediate_dim,
        dropout=0.0,
        position_encoding="rope",
        norm_first=True,
        tie_embeddings=False,
        layer_norm_epsilon=1e-5,
        normalization="layer_norm",
        feed_forward="swiglu",
        num_key_value_heads=None,
        qk_norm=True,
        residual_init="scaled",
        **kwargs,
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
        self.position_encoding = check_choice(
            "position_encoding", position_encoding, POSITION_ENCODINGS
        )
        self.norm_first = check_bool("norm_first", norm_first)
        self.tie_embeddings = check_bool("tie_embeddings", tie_embeddings)
        self.layer_norm_epsilon = check_positive_float("layer_norm_epsilon", layer_norm_epsilon)
        self.normalization = check_choice("normalization", normalization, NORMALIZATIONS)
        self.feed_forward = check_choice("feed_forward", feed_forward, FEED_FORWARDS)
        self.num_key_value_heads = (
            None if num_key_value_heads is None
            else check_key_value_heads(self.num_heads, num_key_value_heads))
        self.qk_norm = check_bool("qk_norm", qk_norm)
        self.residual_init = check_choice("residual_init", residual_init, RESIDUAL_INITS)
        head_dim = check_heads_divide_width(hidden_dim, num_heads)
        if position_encoding == "rope" and head_dim % 2:
            raise ValueError(
                "Rotary embeddings rotate pairs of features, so position_encoding='rope' needs "
                "an even head size hidden_dim // num_heads. "
                f"Received: hidden_dim={hidden_dim}, num_heads={num_heads}"
            )

        weights = keras.initializers.RandomNormal(stddev=0.02)
        # Scaled residual init (GPT-2): see the class docstring.
        residual_scale = math.sqrt(2 * num_layers) if residual_init == "scaled" else 1.0
        residual_weights = keras.initializers.RandomNormal(stddev=0.02 / residual_scale)
        self.token_embedding = TokenEmbedding(
            vocabulary_size,
            hidden_dim,
            tie_weights=tie_embeddings,
            embeddings_initializer=weights,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        if position_encoding == "learned":
            self.position_embedding = PositionEmbedding(
                sequence_length, initializer=weights, dtype=self.dtype_policy,
                name="position_embedding",
            )
        elif position_encoding == "rope":
            self.position_embedding = None  # the attention layers rotate queries and keys
        else:
            self.position_embedding = SinusoidalPositionEncoding(
                dtype=self.dtype_policy, name="position_embedding"
            )
        self.embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="embedding_dropout"
        )
        self.decoder_blocks = [
            DecoderBlock(
                num_heads=num_heads,
                intermediate_dim=intermediate_dim,
                dropout=dropout,
                norm_first=norm_first,
                layer_norm_epsilon=layer_norm_epsilon,
                activation="silu" if feed_forward == "swiglu" else "gelu",
                kernel_initializer=weights,
                output_kernel_initializer=residual_weights,
                normalization=normalization,
                gated_feed_forward=feed_forward == "swiglu",
                num_key_value_heads=num_key_value_heads,
                qk_norm=qk_norm,
                rotary=position_encoding == "rope",
                dtype=self.dtype_policy,
                name=f"decoder_block_{i}",
            )
            for i in range(num_layers)
        ]
        # Pre-LN blocks leave the residual stream unnormalized, so it is normalized once
        # before the output projection; post-LN blocks already end in a LayerNorm.
        self.final_layer_norm = (
            normalization_layer(normalization, layer_norm_epsilon, self.dtype_policy,
                                "final_layer_norm")
            if norm_first
            else None
        )

    def build(self, inputs_shape):
        batch_size, length = token_ids_shape(inputs_shape)
        hidden_shape = (batch_size, length, self.hidden_dim)  # (B, T, D)
        self.token_embedding.build((batch_size, length))
        if self.position_embedding is not None:
            self.position_embedding.build(hidden_shape)
        for block in self.decoder_blocks:
            block.build(hidden_shape)
        if self.final_layer_norm is not None:
            self.final_layer_norm.build(hidden_shape)

    def call(self, inputs, training=None):
        token_ids, padding_mask, segment_ids = unpack_inputs(inputs, PACKED_INPUT_KEYS)
        document_mask = None
        if segment_ids is not None:
            # (B, T, T): query i and key j belong to the same document.
            document_mask = ops.expand_dims(segment_ids, 2) == ops.expand_dims(segment_ids, 1)
        x = self._embed(token_ids, start_index=0, training=training)  # (B, T, D)
        for block in self.decoder_blocks:
            # (B, T, D)
            x = block(x, padding_mask=padding_mask, attention_mask=document_mask, training=training)
        return self._logits(x)  # (B, T, V)

    @property
    def max_cache_length(self):
        """The most positions a cache may hold: `sequence_length` (learned or trained range)."""
        return self.sequence_length

    def build_cache(self, batch_size, max_length):
        """A zero key/value cache for decoding `max_length` positions.

        Args:
            batch_size: B, the number of sequences decoded together (an int, or a scalar int
                tensor inside a traced function).
            max_length: S, the number of positions the cache holds (prompt plus new tokens);
                at most `max_cache_length`.
        Returns:
            A tuple of L zero tensors of shape (B, 2, K, S, H) in the model's compute dtype,
            one per block: the keys (index 0) and values (index 1) of each position and head.
            Separate tensors, rather than one (B, L, 2, S, N, H) stack, let XLA update each in
            place inside a decoding loop; re-stacking the layers at every step copied the whole
            cache, which made a step at 1024 positions about twice as slow (measured with
            benchmarks/generate.py).
        """
        if isinstance(batch_size, int):
            batch_size = check_positive_int("batch_size", batch_size)
        max_length = check_positive_int("max_length", max_length)
        if max_length > self.max_cache_length:
            raise ValueError(
                f"`max_length` cannot exceed the {self.max_cache_length} positions the model was "
                f"built for (sequence_length). Received: max_length={max_length}"
            )
        head_dim = self.hidden_dim // self.num_heads
        shape = (batch_size, 2, self._cache_heads(), max_length, head_dim)
        return tuple(ops.zeros(shape, dtype=self.compute_dtype) for _ in range(self.num_layers))

    def call_with_cache(
        self, token_ids, cache, cache_update_index, padding_mask=None, position_ids=None
    ):
        """Runs T tokens through the model, reading and writing the key/value cache.

        Args:
            token_ids: (B, T) int ids of the tokens for cache slots
                `cache_update_index .. cache_update_index + T - 1`: the whole prompt for a
                prefill (index 0), one token per decoding step.
            cache: the L (B, 2, K, S, H) caches from `build_cache` (or a previous call).
            cache_update_index: int or scalar int tensor, the slot of `token_ids[:, 0]`.
            padding_mask: optional (B, S) bool over the cache slots, False for slots that hold
                padding (a left-padded prompt); they are never attended to.
            position_ids: optional (B, T) int positions of the T tokens; defaults to their
                slots. A left-padded row passes its own positions, starting at 0 at its first
                real token, so padding changes nothing.
        Returns:
            `(logits, new_cache)`: (B, T, V) float32 logits for the T positions and the cache
            with their keys and values written in; its shape never changes, so a compiled
            decoding loop traces once.
        """
        if not self.built:
            self.build(tuple(token_ids.shape))
        x = self._embed(
            token_ids, start_index=cache_update_index, position_ids=position_ids, training=False
        )  # (B, T, D)
        # Rotary embeddings take the positions inside attention, added vectors in `_embed`.
        rotary_positions = position_ids if self.position_encoding == "rope" else None
        new_cache = []
        for block, layer_cache in zip(self.decoder_blocks, cache):
            x, layer_cache = block(
                x,
                padding_mask=padding_mask,
                cache=layer_cache,
                cache_update_index=cache_update_index,
                position_ids=rotary_positions,
            )
            new_cache.append(layer_cache)
        return self._logits(x), tuple(new_cache)

    def _cache_heads(self):
        return self.num_key_value_heads or self.num_heads  # K: N without GQA

    def _embed(self, token_ids, start_index, training, position_ids=None):
        x = self.token_embedding(token_ids)  # (B, T, D)
        if self.position_embedding is not None:
            # (B, T, D)
            x = x + self.position_embedding(x, start_index=start_index,
                                            position_ids=position_ids)
        return self.embedding_dropout(x, training=training)

    def _logits(self, x):
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        return self.token_embedding(x, reverse=True)  # (B, T, D) -> (B, T, V), float32

    def training_flops_per_token(self):
        """FLOPs per token of one training step (forward + backward): `6 N_matmul + 12 L T D`.

        A multiply-add is 2 FLOPs and the backward pass costs twice the forward one, so each
        weight that enters a matrix product for every token costs 6 FLOPs per token. N_matmul
        counts those weights: per decoder block the query and output projections (2 D^2),
        the key and value projections (2 D^2, or 2 D K H with K key/value heads) and the
        feed-forward pair (2 D F, or 3 D F for SwiGLU), and the output projection (D V),
        whether or not it is tied to the token embedding. Embedding lookups (a gather: no
        arithmetic), biases, norms and rotations (O(D) per token) are left out. 12 L T D is
        attention itself: per token and layer, scores Q K^T (2 T D) and the weighted sum of
        values (2 T D), times 3, counted over the whole T x T square that the dense kernels
        compute even where the causal mask discards half. This is nanoGPT's
        `6 N + 12 L H Q T` (its N, all parameters but the position table, includes the tied
        embedding that doubles as the output projection) with N restricted to matmul
        weights. The shorthand 6 x `count_params()` differs by the embedding tables (counted,
        though they do no arithmetic) and by the attention term (missing): this count is 6%
        above it for the `gpt-baby` preset and 10% above it for `gpt-small` (V = 65).

        Returns:
            An int; it needs no built weights.

        Example:

        >>> model = GPT(vocabulary_size=32, sequence_length=8, num_layers=1, num_heads=2,
        ...             hidden_dim=8, intermediate_dim=32)
        >>> model.training_flops_per_token()  # 6 * (4*64 + 3*8*32 + 8*32) + 12*1*8*8 (SwiGLU)
        8448
        """
        width = self.hidden_dim
        key_value_width = self._cache_heads() * (width // self.num_heads)  # K H
        feed_forward = (3 if self.feed_forward == "swiglu" else 2) * self.intermediate_dim
        per_block = 2 * width * width + 2 * width * key_value_width + width * feed_forward
        matmul_weights = self.num_layers * per_block + width * self.vocabulary_size
        attention = 12 * self.num_layers * self.sequence_length * width
        return 6 * matmul_weights + attention

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "num_layers": self.num_layers,
                "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "position_encoding": self.position_encoding,
                "norm_first": self.norm_first,
                "tie_embeddings": self.tie_embeddings,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "normalization": self.normalization,
                "feed_forward": self.feed_forward,
                "num_key_value_heads": self.num_key_value_heads,
                "qk_norm": self.qk_norm,
                "residual_init": self.residual_init,
            }
        )
        return config
