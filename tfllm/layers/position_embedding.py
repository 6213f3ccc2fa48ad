"""`PositionEmbedding`: a learned vector per position (GPT-2 style)."""

import numbers

import keras
from keras import ops

from tfllm.layers.layer_utils import clone_initializer, get_initializer, static_last_dim
from tfllm.validation import check_non_negative_int, check_positive_int


@keras.saving.register_keras_serializable(package="tfllm")
class PositionEmbedding(keras.layers.Layer):
    """Learned position vectors: one trainable row of width D per position.

    The layer reads only the shape of its input and returns the vectors of positions
    `start_index, ..., start_index + T - 1`, broadcast over the batch, to be added to the token
    embeddings. `start_index` lets a cached decoding step (T = 1) ask for the vector of the
    position it is writing; `position_ids` gives each row its own positions instead (a
    left-padded batch of prompts, where a row's first real token is position 0).

    Args:
        sequence_length: the number of positions in the table (the longest context).
        initializer: initializer for the (sequence_length, D) table. Defaults to
            "glorot_uniform".
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, T, D) tensor; only its shape is used.
        start_index: int or scalar int tensor, the position of the first of the T steps.
        position_ids: optional (B, T) int positions, each in [0, sequence_length); overrides
            `start_index`.

    Returns:
        (B, T, D) position vectors in the compute dtype.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import PositionEmbedding
    >>> layer = PositionEmbedding(sequence_length=8)
    >>> token_vectors = np.zeros((2, 3, 4), dtype="float32")  # (B, T, D)
    >>> tuple(layer(token_vectors).shape)
    (2, 3, 4)
    >>> tuple(layer(token_vectors[:, :1], start_index=5).shape)  # position 5 only
    (2, 1, 4)
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        self.initializer = get_initializer("initializer", initializer)

    def build(self, inputs_shape):
        width = static_last_dim("inputs", inputs_shape)
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, width),  # (sequence_length, D)
            initializer=clone_initializer(self.initializer),
        )

    def call(self, inputs, start_index=0, position_ids=None):
        if position_ids is not None:
            # (B, T, D): one table row per position id.
            positions = ops.take(self.embeddings, ops.cast(position_ids, "int32"), axis=0)
            return ops.cast(positions, self.compute_dtype)
        shape = ops.shape(inputs)
        length, width = shape[-2], self.embeddings.shape[-1]
        if isinstance(start_index, numbers.Integral):
            start_index = check_non_negative_int("start_index", start_index)
            if isinstance(length, int) and start_index + length > self.sequence_length:
                raise ValueError(
                    f"Positions {start_index}..{start_index + length - 1} do not fit in the "
                    f"{self.sequence_length} learned positions (sequence_length). Use inputs "
                    f"of at most {self.sequence_length - start_index} steps. "
                    f"Received: inputs.shape={tuple(inputs.shape)}, start_index={start_index}"
                )
        else:
            start_index = ops.cast(start_index, "int32")
        # (T, D): rows start_index .. start_index + T - 1 of the table.
        positions = ops.slice(self.embeddings, (start_index, 0), (length, width))
        return ops.broadcast_to(positions, shape)  # (B, T, D)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
