"""`Word2Vec`: skip-gram with negative sampling as a Keras model."""

import keras
from keras import ops

from tfllm.layers.layer_utils import clone_initializer, get_initializer
from tfllm.validation import check_positive_int

INPUT_KEYS = ("target_ids", "context_ids", "negative_ids")


@keras.saving.register_keras_serializable(package="tfllm")
class Word2Vec(keras.Model):
    """Skip-gram word2vec: scores a context word and K noise words against a target word.

    Two (V, D) tables, as in Mikolov et al. (2013): `target_embedding` holds the vectors of
    words as targets (these are the word vectors one keeps) and `context_embedding` the
    vectors of words as contexts. The logit of a (target, word) pair is the dot product of the
    target's target vector with the word's context vector. Training with binary
    cross-entropy on logits, label 1 for the real context and 0 for each negative (what
    `tfllm.data.skipgram_dataset` yields), maximises

        log sigmoid(u_t . v_c) + sum_k log sigmoid(-u_t . v_nk)

    up to a constant factor: the skip-gram negative-sampling objective. Two tables rather than
    one, because a word rarely appears in its own window: with one table, u_w . u_w would be
    pushed down for every w, fighting the norm the vectors need.

    Both tables start from `embeddings_initializer` (each its own draw). word2vec.c starts the
    context table at zero instead, which gives the target table no gradient on the first step;
    with Adam a small random start trains as well, and every weight gets a gradient at once.

    Args:
        vocabulary_size: V, the number of word ids.
        embedding_dim: D, the length of each word vector.
        embeddings_initializer: initializer of both tables; defaults to "uniform"
            (+-0.05, as in `keras.layers.Embedding`).
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "target_ids" (B,) int, "context_ids" (B,) int and "negative_ids"
            (B, K) int.

    Returns:
        (B, 1 + K) float32 logits: column 0 scores the context, columns 1.. the negatives.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import Word2Vec
    >>> model = Word2Vec(vocabulary_size=32, embedding_dim=8)
    >>> logits = model({"target_ids": np.array([1, 2]), "context_ids": np.array([3, 4]),
    ...                 "negative_ids": np.array([[5, 6, 7], [8, 9, 10]])})
    >>> tuple(logits.shape), logits.dtype.name, model.word_vectors().shape
    ((2, 4), 'float32', (32, 8))
    """

    def __init__(self, vocabulary_size, embedding_dim, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.embeddings_initializer = get_initializer(
            "embeddings_initializer", embeddings_initializer
        )
        self.target_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name="target_embedding",
        )
        self.context_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=clone_initializer(self.embeddings_initializer),
            dtype=self.dtype_policy,
            name="context_embedding",
        )

    def build(self, inputs_shape):
        target_shape, _, negative_shape = _unpack_shapes(inputs_shape)
        self.target_embedding.build(target_shape)
        self.context_embedding.build(negative_shape)

    def call(self, inputs):
        target_ids, context_ids, negative_ids = _unpack(inputs)
        target = self.target_embedding(target_ids)  # (B, D)
        candidate_ids = ops.concatenate(
            [ops.expand_dims(ops.cast(context_ids, "int32"), 1), ops.cast(negative_ids, "int32")],
            axis=1,
        )  # (B, 1 + K)
        candidates = self.context_embedding(candidate_ids)  # (B, 1 + K, D)
        logits = ops.einsum("bd,bkd->bk", target, candidates)  # (B, 1 + K)
        return ops.cast(logits, "float32")

    def word_vectors(self):
        """The (V, D) target table as a float32 NumPy array: row i is the vector of word id i."""
        if not self.built:
            raise ValueError(
                "The model has no weights yet: call it on a batch or `build` it first. "
                "Received: an unbuilt Word2Vec"
            )
        return ops.convert_to_numpy(ops.cast(self.target_embedding.embeddings, "float32"))

    def compute_output_shape(self, inputs_shape):
        target_shape, _, negative_shape = _unpack_shapes(inputs_shape)
        num_negatives = negative_shape[1]
        return (target_shape[0], None if num_negatives is None else 1 + num_negatives)

    def compute_output_spec(self, inputs):
        shapes = {key: inputs[key].shape for key in INPUT_KEYS} if isinstance(inputs, dict) else inputs
        return keras.KerasTensor(self.compute_output_shape(shapes), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
            }
        )
        return config


def _unpack(inputs):
    if not isinstance(inputs, dict) or sorted(inputs) != sorted(INPUT_KEYS):
        received = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
        raise ValueError(
            "Word2Vec inputs must be a dict with exactly the keys 'target_ids' (B,), "
            f"'context_ids' (B,) and 'negative_ids' (B, K). Received: {received}"
        )
    return tuple(inputs[key] for key in INPUT_KEYS)


def _unpack_shapes(inputs_shape):
    shapes = _unpack(inputs_shape)
    target_shape, context_shape, negative_shape = (tuple(shape) for shape in shapes)
    if len(target_shape) != 1 or len(context_shape) != 1 or len(negative_shape) != 2:
        raise ValueError(
            "Word2Vec inputs must have shapes target_ids (B,), context_ids (B,), negative_ids "
            f"(B, K). Received: {target_shape}, {context_shape}, {negative_shape}"
        )
    return target_shape, context_shape, negative_shape
