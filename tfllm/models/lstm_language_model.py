"""`LSTMLanguageModel`: the recurrent baseline language model."""

import keras
from keras import ops

from tfllm.limits import check_at_most
from tfllm.models.causal_language_model import CausalLanguageModel
from tfllm.models.model_utils import token_ids_shape, unpack_inputs
from tfllm.validation import check_positive_int, check_rate


@keras.saving.register_keras_serializable(package="tfllm")
class LSTMLanguageModel(CausalLanguageModel):
    """Stacked-LSTM language model: embedding -> LSTMs -> (B, T, V) float32 logits.

    token ids -> embedding -> dropout -> `num_layers` x (`keras.layers.LSTM` with
    `return_sequences=True` -> dropout) -> Dense(V). The LSTMs keep Keras's defaults (tanh,
    sigmoid, no recurrent dropout), so on a GPU they run the fused cuDNN kernel. Dropout sits
    between layers (Zaremba et al., 2014), never on the recurrent connections.

    Each output depends only on the tokens up to its position, so padding at the end of a
    sequence (as tfllm's pipelines and `generate` produce) cannot change the logits at real
    positions: `padding_mask` is accepted for the common input contract and not used. (Passing
    it to the LSTMs as a Keras mask would make cuDNN assert that every mask is right-padded.)

    Decoding (used by `tfllm.generation`) follows the same protocol as `GPT`: the "cache" is
    the recurrent state, (B, L, 2, D) = each layer's (h, c), from `build_cache`, and
    `call_with_cache` runs T tokens through the layers' cells starting from it. The state has
    no length limit (`max_cache_length` is None), so decoding never needs a sliding window.

    Args:
        vocabulary_size: V, the number of token ids.
        hidden_dim: D, the units of each LSTM layer.
        num_layers: the number of stacked LSTM layers.
        dropout: dropout rate after the embedding and after each LSTM layer.
        embedding_dim: width of the token embedding; defaults to `hidden_dim`.
        sequence_length: the context length T used for training windows and by generation
            (the model itself accepts any length). At most `tfllm.limits.MAX_SEQUENCE_LENGTH`
            (8,192; raised by the environment variable TFLLM_MAX_SEQUENCE_LENGTH).
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "token_ids" (B, T) int and optionally "padding_mask" (B, T) bool;
            a bare (B, T) id tensor also works.
        training: bool, whether dropout is active.

    Returns:
        (B, T, V) float32 logits: row t scores the token that follows position t.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import LSTMLanguageModel
    >>> model = LSTMLanguageModel(vocabulary_size=32, hidden_dim=8, num_layers=2,
    ...                           sequence_length=8)
    >>> logits = model({"token_ids": np.array([[1, 2, 3]], dtype="int32")})
    >>> tuple(logits.shape), logits.dtype.name
    ((1, 3, 32), 'float32')
    """

    # XLA made a Keras LSTM train ~2x slower on 2 CPU cores: its time steps are a while loop.
    jit_compile_by_default = False

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        num_layers,
        dropout=0.0,
        embedding_dim=None,
        sequence_length=256,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.dropout = check_rate("dropout", dropout)
        self.embedding_dim = (
            None if embedding_dim is None else check_positive_int("embedding_dim", embedding_dim)
        )
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        # Training windows of T tokens keep T steps of every layer's state for the backward pass.
        check_at_most("sequence_length", self.sequence_length, "MAX_SEQUENCE_LENGTH",
                      "positions of context")

        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            self.embedding_dim or hidden_dim,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="embedding_dropout"
        )
        self.lstm_layers = [
            keras.layers.LSTM(
                hidden_dim, return_sequences=True, dtype=self.dtype_policy, name=f"lstm_{i}"
            )
            for i in range(num_layers)
        ]
        self.lstm_dropouts = [
            keras.layers.Dropout(dropout, dtype=self.dtype_policy, name=f"lstm_dropout_{i}")
            for i in range(num_layers)
        ]
        self.output_projection = keras.layers.Dense(
            vocabulary_size, dtype=self.dtype_policy, name="output_projection"
        )

    def build(self, inputs_shape):
        batch_size, length = token_ids_shape(inputs_shape)
        self.token_embedding.build((batch_size, length))
        width = self.embedding_dim or self.hidden_dim
        for lstm in self.lstm_layers:
            lstm.build((batch_size, length, width))  # input (B, T, E) or (B, T, D)
            width = self.hidden_dim
        self.output_projection.build((batch_size, length, self.hidden_dim))

    def call(self, inputs, training=None):
        token_ids, _ = unpack_inputs(inputs)  # padding_mask unused: see the class docstring
        x = self.token_embedding(token_ids)  # (B, T, E)
        x = self.embedding_dropout(x, training=training)
        for lstm, dropout in zip(self.lstm_layers, self.lstm_dropouts):
            x = dropout(lstm(x, training=training), training=training)  # (B, T, D)
        logits = self.output_projection(x)  # (B, T, V)
        return ops.cast(logits, "float32")

    @property
    def max_cache_length(self):
        """None: the recurrent state summarises any number of positions."""
        return None

    def build_cache(self, batch_size, max_length=None):
        """A zero recurrent state (B, L, 2, D): each layer's hidden and cell state.

        Args:
            batch_size: B (an int, or a scalar int tensor inside a traced function).
            max_length: ignored (the state does not grow); accepted for the common protocol.
        """
        if isinstance(batch_size, int):
            batch_size = check_positive_int("batch_size", batch_size)
        shape = (batch_size, self.num_layers, 2, self.hidden_dim)
        return ops.zeros(shape, dtype=self.compute_dtype)  # (B, L, 2, D)

    def call_with_cache(
        self, token_ids, cache, cache_update_index, padding_mask=None, position_ids=None
    ):
        """Runs T tokens through the LSTM cells, starting from (and returning) the state.

        Args:
            token_ids: (B, T) int ids of the tokens in slots
                `cache_update_index .. cache_update_index + T - 1`.
            cache: (B, L, 2, D) state from `build_cache` or a previous call.
            cache_update_index: int or scalar int tensor, the slot of `token_ids[:, 0]`.
            padding_mask: optional (B, S) bool over all slots, False for padding: a padded
                step leaves the state unchanged, so left padding changes nothing.
            position_ids: ignored (an LSTM has no positions); accepted for the protocol.
        Returns:
            `(logits, new_cache)`: (B, T, V) float32 logits and the (B, L, 2, D) state.
        """
        if not self.built:
            self.build(tuple(token_ids.shape))
        x = self.token_embedding(token_ids)  # (B, T, E)
        length = ops.shape(token_ids)[1]
        if padding_mask is None:
            step_mask = ops.ones(ops.shape(token_ids), dtype="bool")  # (B, T)
        else:
            start = [0, ops.cast(cache_update_index, "int32")]
            step_mask = ops.slice(ops.cast(padding_mask, "bool"), start, [ops.shape(x)[0], length])
        cells = [lstm.cell for lstm in self.lstm_layers]

        # keras.ops.while_loop rather than keras.ops.scan: the TensorFlow backend's scan needs
        # a static length and per-step outputs shaped like the carry (Keras 3.15).
        def step(t, state, outputs):
            # state: (B, L, 2, D); outputs: (B, T, D), filled up to step t.
            vectors = ops.take(x, t, axis=1)  # (B, E)
            keep = ops.take(step_mask, t, axis=1)  # (B,)
            new_states = []
            for i, cell in enumerate(cells):
                vectors, (h, c) = cell(vectors, [state[:, i, 0], state[:, i, 1]])  # (B, D)
                new_states.append(ops.stack([h, c], axis=1))  # (B, 2, D)
            new_state = ops.stack(new_states, axis=1)  # (B, L, 2, D)
            # A padded step carries the previous state through unchanged.
            new_state = ops.where(keep[:, None, None, None], new_state, state)
            outputs = ops.slice_update(outputs, [0, t, 0], ops.expand_dims(vectors, 1))
            return t + 1, new_state, outputs

        outputs = ops.zeros((ops.shape(x)[0], length, self.hidden_dim), dtype=x.dtype)
        _, new_cache, outputs = ops.while_loop(
            lambda t, state, outputs: t < length, step, (0, cache, outputs)
        )
        logits = self.output_projection(outputs)  # (B, T, V)
        return ops.cast(logits, "float32"), new_cache

    def training_flops_per_token(self):
        """FLOPs per token of one training step (forward + backward): `6 N_matmul`.

        A multiply-add is 2 FLOPs and the backward pass costs twice the forward one, so each
        weight that enters a matrix product for every token costs 6 FLOPs per token. N_matmul
        counts those weights: per layer the input and recurrent kernels of the four gates,
        4 D (D_in + D), where D_in is the embedding width for the first layer and D after it;
        and the output projection (D V). The embedding lookup (a gather: no arithmetic),
        biases and the gates' elementwise products (O(D) per token) are left out.

        Returns:
            An int; it needs no built weights.

        Example:

        >>> model = LSTMLanguageModel(vocabulary_size=32, hidden_dim=8, num_layers=2)
        >>> model.training_flops_per_token()  # 6 * (2 * 4*8*(8 + 8) + 8*32)
        7680
        """
        width = self.hidden_dim
        first_input = self.embedding_dim or width
        kernels = 4 * width * (first_input + width) + (self.num_layers - 1) * 4 * width * 2 * width
        return 6 * (kernels + width * self.vocabulary_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "dropout": self.dropout,
                "embedding_dim": self.embedding_dim,
                "sequence_length": self.sequence_length,
            }
        )
        return config
