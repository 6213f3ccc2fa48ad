"""`TokenEmbedding`: token ids to vectors, and (reversed) vectors to vocabulary logits."""

import keras
from keras import ops

from tfllm.layers.layer_utils import clone_initializer, get_initializer, static_last_dim
from tfllm.validation import check_bool, check_positive_int


@keras.saving.register_keras_serializable(package="tfllm")
class TokenEmbedding(keras.layers.Layer):
    """Looks up token vectors; reversed, projects hidden states to vocabulary logits.

    Forward, it maps (B, T) token ids to rows of the (V, D) `embeddings` table. Reversed, it
    maps (B, T, D) hidden states to (B, T, V) logits. With `tie_weights=True` the reverse
    projection is the transposed embedding table (weight tying, Press & Wolf 2017): the same
    matrix reads tokens in and writes them out, saving V * D parameters and usually helping
    small models. With `tie_weights=False` a separate (D, V) `output_kernel` is learned.

    The table is a variable named `embeddings`, so optimizers that exclude embeddings from
    weight decay by name find it. Reverse logits are always float32: under a mixed policy the
    matmul runs in the compute dtype and the result is cast, so losses and softmaxes downstream
    see full precision.

    Args:
        vocabulary_size: V, the number of token ids.
        output_dim: D, the width of each token vector.
        tie_weights: bool; reuse the embedding table as the output projection.
        embeddings_initializer: initializer for the table (and for `output_kernel` when
            untied). Defaults to "uniform", as in `keras.layers.Embedding`.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (B, T) integer token ids, or (B, T, D) hidden states when `reverse=True`.
        reverse: bool; False to embed ids, True to compute logits.

    Returns:
        (B, T, D) vectors in the compute dtype, or (B, T, V) float32 logits when `reverse=True`.

    Example:

    >>> import numpy as np
    >>> from tfllm.layers import TokenEmbedding
    >>> layer = TokenEmbedding(vocabulary_size=32, output_dim=8)
    >>> vectors = layer(np.array([[1, 2, 3]]))  # (B, T) -> (B, T, D)
    >>> tuple(vectors.shape), tuple(layer(vectors, reverse=True).shape)
    ((1, 3, 8), (1, 3, 32))
    """

    def __init__(
        self,
        vocabulary_size,
        output_dim,
        tie_weights=True,
        embeddings_initializer="uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.output_dim = check_positive_int("output_dim", output_dim)
        self.tie_weights = check_bool("tie_weights", tie_weights)
        self.embeddings_initializer = get_initializer(
            "embeddings_initializer", embeddings_initializer
        )

    def build(self, inputs_shape=None):
        # The weights do not depend on the input shape: ids and hidden states both fit.
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.vocabulary_size, self.output_dim),  # (V, D)
            initializer=clone_initializer(self.embeddings_initializer),
        )
        if not self.tie_weights:
            self.output_kernel = self.add_weight(
                name="output_kernel",
                shape=(self.output_dim, self.vocabulary_size),  # (D, V)
                initializer=clone_initializer(self.embeddings_initializer),
            )

    def call(self, inputs, reverse=False):
        if reverse:
            width = static_last_dim("inputs", inputs.shape)
            if width != self.output_dim:
                raise ValueError(
                    f"With reverse=True the inputs must be (B, T, D) hidden states with "
                    f"D = output_dim = {self.output_dim}. "
                    f"Received: inputs.shape={tuple(inputs.shape)}"
                )
            kernel = ops.transpose(self.embeddings) if self.tie_weights else self.output_kernel
            logits = ops.matmul(inputs, kernel)  # (B, T, D) @ (D, V) -> (B, T, V)
            return ops.cast(logits, "float32")
        if "int" not in keras.backend.standardize_dtype(inputs.dtype):
            inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs, axis=0)  # (B, T) -> (B, T, D)

    def compute_output_shape(self, inputs_shape, reverse=False):
        if reverse:
            return tuple(inputs_shape[:-1]) + (self.vocabulary_size,)
        return tuple(inputs_shape) + (self.output_dim,)

    def compute_output_spec(self, inputs, reverse=False):
        dtype = "float32" if reverse else self.compute_dtype
        return keras.KerasTensor(self.compute_output_shape(inputs.shape, reverse), dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "output_dim": self.output_dim,
                "tie_weights": self.tie_weights,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config
