"""`GRUSeq2Seq`: the recurrent encoder-decoder with Luong attention."""

import keras
from keras import ops

from tfllm.limits import check_at_most
from tfllm.models.model_utils import token_ids_shape
from tfllm.models.seq2seq_language_model import Seq2SeqLanguageModel, unpack_seq2seq_inputs
from tfllm.validation import check_positive_int, check_rate

# A masked attention score: far below any real one, and finite, so a softmax stays defined.
_MASKED_SCORE = -1e9


@keras.saving.register_keras_serializable(package="tfllm")
class GRUSeq2Seq(Seq2SeqLanguageModel):
    """GRU encoder-decoder with Luong attention: (B, S) source and (B, T) target -> (B, T, V).

    source ids -> token embedding -> dropout -> `num_encoder_layers` x bidirectional
    `keras.layers.GRU` (D / 2 units per direction, concatenated: (B, S, D) encoder states) ->
    the top layer's two final states, concatenated and projected (Dense, tanh) to the
    decoder's (B, D) initial state. Target ids -> the same embedding (one vocabulary for
    both sides) -> dropout -> `keras.layers.GRU(D)` from that state -> Luong attention after
    the GRU ("general" score, Luong et al., 2015): each decoder output h_t scores every
    encoder state s by h_t^T W_a s, (B, T, S), softmax over the real source positions, context
    (B, T, D) -> tanh(W_c [h_t; context]) -> dropout -> Dense(V) logits, float32 under any
    dtype policy.

    Each direction has D / 2 units (OpenNMT's bidirectional encoder), so the encoder states
    are as wide as the decoder and the attention needs no extra projection; `hidden_dim`
    must be even. There is no input feeding (the attentional vector is not fed to the next
    step), so training runs the decoder GRU over the whole target in one call, and the GRUs
    keep Keras's defaults (tanh, sigmoid, `reset_after=True`, no recurrent dropout): on a GPU
    they run the fused cuDNN kernel.

    The source padding mask reaches the encoder GRUs as a Keras mask, so a padded step leaves
    both directions' states unchanged (the backward direction starts at the last real token),
    and the attention never looks at a padded position. The source must be right-padded, as
    tfllm's pipelines make it: cuDNN refuses any other mask on a GPU. A source row with no
    real token is read as its first (padding) token, since cuDNN also refuses an all-padding
    row. The target's `padding_mask` is accepted and not used: row t depends only on target
    tokens 0..t, so right padding cannot change a real row.

    Decoding (`tfllm.generation`): `build_cache(B, max_length, source)` runs the encoder once
    and returns `{"state": (B, D), "encoder_states": (B, S, D), "source_mask": (B, S)}`;
    `call_with_cache` runs T target tokens through the decoder GRU's cell from "state" (a
    `keras.ops.while_loop`, which XLA compiles and cuDNN would not) and attends over the
    cached encoder states. The state does not grow with the target.

    Args:
        vocabulary_size: V, the number of token ids (source and target share them).
        source_length: S, the longest source: what pipelines pad to (the model itself
            accepts any length). At most `tfllm.limits.MAX_SEQUENCE_LENGTH` (8,192; raised by
            the environment variable TFLLM_MAX_SEQUENCE_LENGTH).
        target_length: T, the longest target, the start id included: `max_cache_length`.
            Bounded like `source_length`.
        embedding_dim: E, width of the token embedding.
        hidden_dim: D, the decoder GRU's units and the width of the encoder states (D / 2
            per direction); even.
        dropout: dropout rate on the embeddings, between encoder layers and before the output
            projection.
        num_encoder_layers: the number of stacked bidirectional GRU layers.
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "encoder_token_ids" (B, S) int, "token_ids" (B, T) int (the target
            after a start id) and optionally "encoder_padding_mask" (B, S) bool and
            "padding_mask" (B, T) bool (True = real token).
        training: bool, whether dropout is active.

    Returns:
        (B, T, V) float32 logits: row t scores the target token that follows position t.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import GRUSeq2Seq
    >>> model = GRUSeq2Seq(vocabulary_size=32, source_length=8, target_length=8,
    ...                    embedding_dim=8, hidden_dim=8)
    >>> source = {"encoder_token_ids": np.array([[5, 6, 7, 0]], dtype="int32"),
    ...           "encoder_padding_mask": np.array([[True, True, True, False]])}
    >>> target = np.array([[1, 5, 6]], dtype="int32")  # start id 1, then the target so far
    >>> logits = model({**source, "token_ids": target})
    >>> tuple(logits.shape), logits.dtype.name
    ((1, 3, 32), 'float32')
    >>> cache = model.build_cache(1, 8, source)  # the encoder runs here, once
    >>> {key: tuple(value.shape) for key, value in cache.items()}
    {'state': (1, 8), 'encoder_states': (1, 4, 8), 'source_mask': (1, 4)}
    >>> step_logits, cache = model.call_with_cache(target, cache, cache_update_index=0)
    >>> bool(np.allclose(step_logits, logits, atol=1e-5))
    True
    """

    # No XLA by default: 100 steps of shakespeare-restore-gru took 147 s with it, 45 s without
    # on 2 CPU cores (2026-12-01; docs/seq2seq.md); cuDNN's GRU kernel cannot be compiled.
    jit_compile_by_default = False

    def __init__(
        self,
        vocabulary_size,
        source_length,
        target_length,
        embedding_dim,
        hidden_dim,
        dropout=0.0,
        num_encoder_layers=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.source_length = check_positive_int("source_length", source_length)
        self.target_length = check_positive_int("target_length", target_length)
        # Training keeps every step's state of every GRU for the backward pass.
        check_at_most("source_length", self.source_length, "MAX_SEQUENCE_LENGTH",
                      "positions of context")
        check_at_most("target_length", self.target_length, "MAX_SEQUENCE_LENGTH",
                      "positions of context")
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        if hidden_dim % 2:
            raise ValueError(
                "`hidden_dim` must be even: each direction of the bidirectional encoder gets "
                f"hidden_dim // 2 units. Received: hidden_dim={hidden_dim}"
            )
        self.dropout = check_rate("dropout", dropout)
        self.num_encoder_layers = check_positive_int("num_encoder_layers", num_encoder_layers)

        def dense(units, name, **options):
            return keras.layers.Dense(units, dtype=self.dtype_policy, name=name, **options)

        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, dtype=self.dtype_policy, name="token_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="embedding_dropout"
        )
        self.encoder_layers = [
            keras.layers.Bidirectional(
                keras.layers.GRU(hidden_dim // 2, return_sequences=True, return_state=True,
                                 dtype=self.dtype_policy, name=f"encoder_gru_{i}"),
                dtype=self.dtype_policy,
                name=f"encoder_{i}",
            )
            for i in range(num_encoder_layers)
        ]
        self.encoder_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="encoder_dropout"
        )
        self.bridge = dense(hidden_dim, "bridge", activation="tanh")
        self.decoder_gru = keras.layers.GRU(
            hidden_dim, return_sequences=True, dtype=self.dtype_policy, name="decoder_gru"
        )
        # W_a of the "general" score, applied to the query: h^T W_a s = (W_a^T h)^T s, so the
        # encoder states are cached as they are.
        self.attention_query = dense(hidden_dim, "attention_query", use_bias=False)
        self.attention_output = dense(hidden_dim, "attention_output", activation="tanh")
        self.output_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="output_dropout"
        )
        self.output_projection = dense(vocabulary_size, "output_projection")

    def build(self, inputs_shape):
        if isinstance(inputs_shape, dict):
            source_shape, _, target_shape, _ = unpack_seq2seq_inputs(inputs_shape)
            batch_size, source_length = token_ids_shape(source_shape)
            _, target_length = token_ids_shape(target_shape)
        else:  # a source only (`encode`, `build_cache` on an unbuilt model)
            batch_size, source_length = token_ids_shape(inputs_shape)
            target_length = 1
        width = self.hidden_dim
        self.token_embedding.build((batch_size, source_length))
        inputs_width = self.embedding_dim
        for layer in self.encoder_layers:
            layer.build((batch_size, source_length, inputs_width))  # (B, S, E) or (B, S, D)
            inputs_width = width
        self.bridge.build((batch_size, width))
        self.decoder_gru.build((batch_size, target_length, self.embedding_dim))
        self.attention_query.build((batch_size, target_length, width))
        self.attention_output.build((batch_size, target_length, 2 * width))
        self.output_projection.build((batch_size, target_length, width))

    def call(self, inputs, training=None):
        # padding_mask unused: see the class docstring.
        encoder_token_ids, encoder_padding_mask, token_ids, _ = unpack_seq2seq_inputs(inputs)
        encoder_states, source_mask, state = self._encode(
            encoder_token_ids, encoder_padding_mask, training
        )
        x = self.embedding_dropout(self.token_embedding(token_ids), training=training)  # (B, T, E)
        outputs = self.decoder_gru(x, initial_state=state, training=training)  # (B, T, D)
        return self._attend_and_project(outputs, encoder_states, source_mask, training)

    def encode(self, source, training=None):
        """The (B, S, D) encoder states of `source`: a dict with "encoder_token_ids" (B, S) and
        optionally "encoder_padding_mask" (B, S), or a bare (B, S) id tensor. Padded
        positions hold zeros."""
        encoder_token_ids, encoder_padding_mask = self._unpack_source(source)
        if not self.built:
            self.build(tuple(encoder_token_ids.shape))
        return self._encode(encoder_token_ids, encoder_padding_mask, training)[0]

    def build_cache(self, batch_size, max_length, source=None):
        """Runs the encoder once on `source` and returns the decoder's starting point.

        Args:
            batch_size: B (an int, or a scalar int tensor inside a traced function); must be
                the source's batch size.
            max_length: the target slots decoding will fill, at most `target_length`; the
                state does not grow, so nothing depends on it.
            source: dict with "encoder_token_ids" (B, S) int and optionally
                "encoder_padding_mask" (B, S) bool.
        Returns:
            `{"state": (B, D) the decoder GRU's initial state, "encoder_states": (B, S, D),
            "source_mask": (B, S) bool}`, in the compute dtype but for the mask.
        """
        if isinstance(batch_size, int):
            batch_size = check_positive_int("batch_size", batch_size)
        if isinstance(max_length, int):
            max_length = check_positive_int("max_length", max_length)
            if max_length > self.max_cache_length:
                raise ValueError(
                    f"`max_length` cannot exceed the {self.max_cache_length} target positions "
                    f"the model was built for (target_length). Received: max_length={max_length}"
                )
        if source is None:
            raise ValueError(
                "`build_cache` of an encoder-decoder model needs the source: a dict with "
                "'encoder_token_ids' (B, S) and optionally 'encoder_padding_mask'. "
                "Received: source=None"
            )
        encoder_token_ids, encoder_padding_mask = self._unpack_source(source)
        source_batch = encoder_token_ids.shape[0]
        if isinstance(batch_size, int) and source_batch is not None and source_batch != batch_size:
            raise ValueError(
                f"`batch_size` must be the number of source rows ({source_batch}). "
                f"Received: batch_size={batch_size}"
            )
        if not self.built:
            self.build(tuple(encoder_token_ids.shape))
        encoder_states, source_mask, state = self._encode(
            encoder_token_ids, encoder_padding_mask, training=False
        )
        return {"state": state, "encoder_states": encoder_states, "source_mask": source_mask}

    def call_with_cache(
        self, token_ids, cache, cache_update_index, padding_mask=None, position_ids=None
    ):
        """Runs T target tokens through the decoder from the cached state.

        Args:
            token_ids: (B, T) int ids of the target tokens in slots
                `cache_update_index .. cache_update_index + T - 1`: the start id (and any
                forced prefix) for a prefill, one token per decoding step.
            cache: the dict from `build_cache` or a previous call.
            cache_update_index: int or scalar int tensor, the slot of `token_ids[:, 0]`.
            padding_mask: optional (B, S_target) bool over all target slots, False for
                padding: a padded step leaves the state unchanged.
            position_ids: ignored (a GRU has no positions); accepted for the protocol.
        Returns:
            `(logits, new_cache)`: (B, T, V) float32 logits and the cache with the new state.
        """
        if not self.built:
            raise ValueError(
                "`call_with_cache` needs the cache of `build_cache`, which builds the model. "
                f"Received: cache with keys {sorted(cache)} on an unbuilt model"
            )
        x = self.token_embedding(token_ids)  # (B, T, E)
        batch_size, length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
        if padding_mask is None:
            step_mask = ops.ones(ops.shape(token_ids), dtype="bool")  # (B, T)
        else:
            start = [0, ops.cast(cache_update_index, "int32")]
            step_mask = ops.slice(ops.cast(padding_mask, "bool"), start, [batch_size, length])
        cell = self.decoder_gru.cell

        # The cell in a while loop rather than the GRU layer: the layer would pick cuDNN on a
        # GPU, which XLA cannot compile. (keras.ops.scan on TensorFlow needs a static length.)
        def step(t, state, outputs):
            # state: (B, D); outputs: (B, T, D), filled up to step t.
            h, _ = cell(ops.take(x, t, axis=1), state)  # (B, D)
            # A padded step carries the previous state through unchanged.
            state = ops.where(ops.take(step_mask, t, axis=1)[:, None], h, state)
            outputs = ops.slice_update(outputs, [0, t, 0], ops.expand_dims(h, 1))
            return t + 1, state, outputs

        outputs = ops.zeros((batch_size, length, self.hidden_dim), dtype=x.dtype)
        _, state, outputs = ops.while_loop(
            lambda t, state, outputs: t < length, step, (0, cache["state"], outputs)
        )
        logits = self._attend_and_project(
            outputs, cache["encoder_states"], cache["source_mask"], training=False
        )
        return logits, {**cache, "state": state}

    def _unpack_source(self, source):
        if isinstance(source, dict):
            unknown = sorted(set(source) - {"encoder_token_ids", "encoder_padding_mask"})
            if unknown or "encoder_token_ids" not in source:
                raise ValueError(
                    "The source must be a dict with 'encoder_token_ids' (B, S) and optionally "
                    f"'encoder_padding_mask' (B, S). Received: keys {sorted(source)}"
                )
            return source["encoder_token_ids"], source.get("encoder_padding_mask")
        return source, None

    def _encode(self, encoder_token_ids, encoder_padding_mask, training):
        """`(encoder_states (B, S, D), source_mask (B, S) bool, decoder state (B, D))`."""
        x = self.token_embedding(encoder_token_ids)  # (B, S, E)
        x = self.embedding_dropout(x, training=training)
        if encoder_padding_mask is None:
            gru_mask = None
            source_mask = ops.ones(ops.shape(encoder_token_ids), dtype="bool")  # (B, S)
        else:
            # Slot 0 counts as real even in an all-padding row, which cuDNN would refuse.
            first = ops.arange(ops.shape(encoder_token_ids)[1]) == 0  # (S,)
            source_mask = ops.logical_or(ops.cast(encoder_padding_mask, "bool"), first[None])
            gru_mask = source_mask
        for i, layer in enumerate(self.encoder_layers):
            if i:
                x = self.encoder_dropout(x, training=training)
            # (B, S, D), and each direction's final (B, D / 2) state.
            x, forward_state, backward_state = layer(x, mask=gru_mask, training=training)
        state = self.bridge(ops.concatenate([forward_state, backward_state], axis=-1))  # (B, D)
        return x, source_mask, state

    def _attend_and_project(self, outputs, encoder_states, source_mask, training):
        """Luong attention of the (B, T, D) decoder outputs over the encoder states, then the
        (B, T, V) float32 logits."""
        query = self.attention_query(outputs)  # (B, T, D): W_a^T h_t
        scores = ops.einsum("btd,bsd->bts", query, encoder_states)  # (B, T, S)
        # Softmax in float32: bfloat16 keeps 8 bits of mantissa.
        scores = ops.where(source_mask[:, None, :], ops.cast(scores, "float32"), _MASKED_SCORE)
        weights = ops.cast(ops.softmax(scores, axis=-1), encoder_states.dtype)  # (B, T, S)
        context = ops.einsum("bts,bsd->btd", weights, encoder_states)  # (B, T, D)
        # (B, T, D): the attentional hidden state tanh(W_c [h_t; c_t]).
        hidden = self.attention_output(ops.concatenate([outputs, context], axis=-1))
        hidden = self.output_dropout(hidden, training=training)
        return ops.cast(self.output_projection(hidden), "float32")  # (B, T, V)

    def training_flops_per_token(self):
        """FLOPs of one training step per target token (forward + backward), counted exactly
        for matrix products.

        A multiply-add is 2 FLOPs and the backward pass costs twice the forward one, so each
        weight that enters a matrix product costs 6 FLOPs per use. A GRU step of n units on
        m inputs multiplies by its input and recurrent kernels for its 3 gates: 3 n (m + n)
        weights. Per source token: each encoder layer's two directions, 2 x 3 (D/2)(m + D/2),
        with m = E for the first layer and D above it. Per target token: the decoder GRU,
        3 D (E + D), the attention query W_a (D^2), the scores and the context over S source
        positions (2 S D multiply-adds), W_c (2 D^2) and the output projection (D V). Per
        sequence: the bridge (D^2). A full-length example (`source_length` S and
        `target_length` T) costs S x source + T x target + bridge; this is that over T.
        Embedding lookups (a gather: no arithmetic), biases and the gates' elementwise
        products (O(D) per token) are left out.

        Returns:
            An int; it needs no built weights.

        Example:

        >>> model = GRUSeq2Seq(vocabulary_size=32, source_length=8, target_length=8,
        ...                    embedding_dim=8, hidden_dim=8)
        >>> # 6 * (8 * 2*3*4*(8+4) + 8 * (3*8*(8+8) + 64 + 2*8*8 + 2*64 + 8*32) + 64) // 8
        >>> model.training_flops_per_token()
        7536
        """
        width, half = self.hidden_dim, self.hidden_dim // 2
        per_source_token = 0
        inputs_width = self.embedding_dim
        for _ in range(self.num_encoder_layers):
            per_source_token += 2 * 3 * half * (inputs_width + half)
            inputs_width = width
        per_target_token = (
            3 * width * (self.embedding_dim + width)  # decoder GRU
            + width * width  # W_a
            + 2 * self.source_length * width  # scores and context
            + 2 * width * width  # W_c
            + width * self.vocabulary_size  # output projection
        )
        per_sequence = (
            self.source_length * per_source_token
            + self.target_length * per_target_token
            + width * width  # bridge
        )
        return 6 * per_sequence // self.target_length

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "source_length": self.source_length,
                "target_length": self.target_length,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "dropout": self.dropout,
                "num_encoder_layers": self.num_encoder_layers,
            }
        )
        return config
