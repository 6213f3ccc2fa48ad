"""`LSTMClassifier`: the recurrent text classifier (embedding -> LSTM -> logits)."""

import keras
from keras import ops

from tfllm.limits import check_at_most
from tfllm.models.model_utils import token_ids_shape, unpack_inputs
from tfllm.models.sequence_classifier import SequenceClassifier
from tfllm.validation import check_bool, check_int_at_least, check_positive_int, check_rate


@keras.saving.register_keras_serializable(package="tfllm")
class LSTMClassifier(SequenceClassifier):
    """Embedding -> LSTMs -> Dense: one label per token sequence, as (B, C) float32 logits.

    The textbook `Embedding(10000, 128) -> LSTM(128) -> Dense(2, activation="softmax")`, with
    what that recipe leaves out: the padding mask reaches the LSTMs, so the summary of a row is
    the state after its last real token whatever padding follows it (without the mask the
    summary is the state after the last padding id, and more padding changes the logits); the
    LSTMs may read both ways; dropout sits between layers (Zaremba et al., 2014); and the
    output is logits, not probabilities: tfllm's classification loss takes logits
    (`from_logits=True` is the numerically stable form) and `softmax(logits)` gives the
    probabilities.

    token ids -> embedding (E) -> dropout -> `num_layers` x (`keras.layers.LSTM`, wrapped in
    `keras.layers.Bidirectional` when `bidirectional`, every layer but the last returning its
    sequence -> dropout) -> Dense(C). A bidirectional summary joins the forward state after
    the last real token and the backward state after the first one (2 D features).

    Padding. Before the LSTMs each row's real tokens are moved to the front, keeping their
    order, so the mask the LSTMs see is always right-padded. A masked step carries the state through unchanged, so this changes no
    result; it lets Keras use the fused cuDNN kernel on a GPU, which accepts only right-padded
    masks, whatever padding the input has. A row with no real token gets the zero summary
    (its logits are the output bias) on every device.

    Args:
        vocabulary_size: V, the number of token ids.
        sequence_length: the longest T the pipelines feed (the model reads any length). At
            most `tfllm.limits.MAX_SEQUENCE_LENGTH` (8,192; raised by the environment variable
            TFLLM_MAX_SEQUENCE_LENGTH).
        num_classes: C, the number of labels (at least 2; at most
            `tfllm.limits.MAX_VOCABULARY_SIZE`: the output layer is as wide as a vocabulary's).
        embedding_dim: E, the width of the token embedding.
        hidden_dim: D, the units of each LSTM (each direction of a bidirectional one).
        num_layers: the number of stacked LSTM layers.
        bidirectional: whether each LSTM layer also reads the sequence backwards.
        dropout: dropout rate after the embedding and after each LSTM layer.
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "token_ids" (B, T) int and optionally "padding_mask" (B, T) bool
            (True = real token); a bare (B, T) id tensor also works (every position real).
        training: bool, whether dropout is active.

    Returns:
        (B, C) float32 logits under every dtype policy.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import LSTMClassifier
    >>> model = LSTMClassifier(vocabulary_size=32, sequence_length=8, num_classes=2,
    ...                        embedding_dim=8, hidden_dim=8)
    >>> token_ids = np.array([[5, 6, 7, 0], [8, 9, 0, 0]], dtype="int32")
    >>> logits = model({"token_ids": token_ids, "padding_mask": token_ids > 0})
    >>> tuple(logits.shape), logits.dtype.name
    ((2, 2), 'float32')
    >>> longer_padding = np.array([[5, 6, 7, 0, 0, 0]], dtype="int32")
    >>> same = model({"token_ids": longer_padding, "padding_mask": longer_padding > 0})
    >>> bool(np.allclose(same, logits[:1], atol=1e-6))
    True
    """

    # XLA made a Keras LSTM train ~2x slower on 2 CPU cores: its time steps are a while loop.
    jit_compile_by_default = False

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        num_classes,
        embedding_dim=128,
        hidden_dim=128,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        # Training keeps T steps of every layer's state for the backward pass.
        check_at_most("sequence_length", self.sequence_length, "MAX_SEQUENCE_LENGTH",
                      "positions of context")
        self.num_classes = check_int_at_least("num_classes", num_classes, 2)
        check_at_most("num_classes", self.num_classes, "MAX_VOCABULARY_SIZE",
                      "classes (an output layer as wide as a vocabulary)")
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.hidden_dim = check_positive_int("hidden_dim", hidden_dim)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.dropout = check_rate("dropout", dropout)

        self.token_embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, dtype=self.dtype_policy, name="token_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="embedding_dropout"
        )
        self.lstm_layers = [self._lstm(i) for i in range(num_layers)]
        self.lstm_dropouts = [
            keras.layers.Dropout(dropout, dtype=self.dtype_policy, name=f"lstm_dropout_{i}")
            for i in range(num_layers)
        ]
        self.output_projection = keras.layers.Dense(
            num_classes, dtype=self.dtype_policy, name="output_projection"
        )

    def _lstm(self, index):
        # Keras's defaults (tanh, sigmoid, no recurrent dropout) keep the cuDNN kernel usable.
        lstm = keras.layers.LSTM(
            self.hidden_dim, return_sequences=index < self.num_layers - 1,
            dtype=self.dtype_policy, name=f"lstm_{index}",
        )
        if not self.bidirectional:
            return lstm
        return keras.layers.Bidirectional(
            lstm, dtype=self.dtype_policy, name=f"bidirectional_{index}"
        )

    @property
    def summary_dim(self):
        """The width of a row's summary: D, or 2 D when bidirectional."""
        return self.hidden_dim * (2 if self.bidirectional else 1)

    def build(self, inputs_shape):
        batch_size, length = token_ids_shape(inputs_shape)
        self.token_embedding.build((batch_size, length))
        width = self.embedding_dim
        for lstm in self.lstm_layers:
            lstm.build((batch_size, length, width))  # input (B, T, E) or (B, T, D or 2 D)
            width = self.summary_dim
        self.output_projection.build((batch_size, self.summary_dim))

    def call(self, inputs, training=None):
        token_ids, padding_mask = unpack_inputs(inputs)
        token_ids = ops.cast(token_ids, "int32")
        step_mask = None
        if padding_mask is not None:
            padding_mask = ops.cast(padding_mask, "bool")
            token_ids, padding_mask = _real_tokens_first(token_ids, padding_mask)
            # cuDNN refuses a row with no real step: the first step of every row runs, and the
            # summary of a row with no real token is set to zero below.
            first = ops.expand_dims(ops.arange(ops.shape(token_ids)[1]) == 0, 0)  # (1, T)
            step_mask = ops.logical_or(padding_mask, first)  # (B, T)
        x = self.token_embedding(token_ids)  # (B, T, E)
        x = self.embedding_dropout(x, training=training)
        for lstm, dropout in zip(self.lstm_layers, self.lstm_dropouts):
            # (B, T, D or 2 D), the last layer (B, D or 2 D)
            x = dropout(lstm(x, mask=step_mask, training=training), training=training)
        if padding_mask is not None:
            has_tokens = ops.any(padding_mask, axis=1, keepdims=True)  # (B, 1)
            x = ops.where(has_tokens, x, ops.zeros_like(x))  # (B, D or 2 D)
        logits = self.output_projection(x)  # (B, C)
        return ops.cast(logits, "float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "num_classes": self.num_classes,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "dropout": self.dropout,
            }
        )
        return config


def _real_tokens_first(token_ids, padding_mask):
    """`(token_ids, padding_mask)` with each row's real tokens moved to the front, in order.

    Args:
        token_ids: (B, T) int32 ids.
        padding_mask: (B, T) bool, True for a real token.
    Returns:
        (B, T) ids and (B, T) mask, the mask now right-padded.
    """
    length = ops.shape(token_ids)[1]
    positions = ops.expand_dims(ops.arange(length), 0)  # (1, T)
    # Unique keys: real tokens sort by position, then padding by position.
    keys = ops.where(padding_mask, positions, positions + length)  # (B, T)
    order = ops.argsort(keys, axis=1)  # (B, T)
    return (ops.take_along_axis(token_ids, order, axis=1),  # (B, T)
            ops.take_along_axis(padding_mask, order, axis=1))  # (B, T)
