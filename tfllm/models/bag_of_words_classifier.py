"""`BagOfWordsClassifier`: the classic text-classification baselines on bag-of-words features."""

import math

import keras
import numpy as np
from keras import ops

from tfllm.limits import check_at_most
from tfllm.models.model_utils import token_ids_shape, unpack_inputs
from tfllm.models.sequence_classifier import SequenceClassifier
from tfllm.validation import (
    check_choice,
    check_int,
    check_int_at_least,
    check_int_range,
    check_positive_int,
    check_rate,
)

WEIGHTINGS = ("tf_idf", "count", "binary")
HEADS = ("linear", "rbf")
# The centres are a (K, V) float32 table: at the largest vocabulary tfllm allows (262,144 ids)
# 1,024 centres take 1 GiB, 3 GiB with Adam's two slots.
MAX_CENTRES = 1_024


@keras.saving.register_keras_serializable(package="tfllm")
class BagOfWordsClassifier(SequenceClassifier):
    """Bag-of-words features of the token ids -> a linear or RBF head -> (B, C) float32 logits.

    The classic baselines, as small Keras models that train with the same loop, losses and
    metrics as every other tfllm classifier. The ids come from a word tokenizer; word order is
    dropped.

    Features, (B, V) float32 whatever the dtype policy: each row counts its real ids (padded
    positions never count, whatever id they hold), then `weighting`:

    - "tf_idf" (default): count x idf, each row then scaled to unit L2 norm (a row with no real
      token stays zero). idf is a non-trainable (V,) weight, ones until `adapt` sets it from
      training data to `log((1 + n) / (1 + df)) + 1` (n rows, df of them holding the id): the
      smoothed formula of scikit-learn's `TfidfVectorizer` (its default `smooth_idf=True`).
      (Keras's `TextVectorization` smooths differently: `log(1 + n / (1 + df))`.) An id that
      never occurs in training gets the largest idf, as if it occurred in no document.
    - "count": the raw counts.
    - "binary": 1 where the id occurs, else 0.

    `head`:

    - "linear": one Dense(C) on the features. Trained with cross-entropy on its logits this is
      multinomial logistic regression; trained with a multiclass hinge loss (e.g.
      `keras.losses.CategoricalHinge` on one-hot labels) it is a linear SVM. The model is the
      same, the objective alone differs (with weight decay as the SVM's margin term).
    - "rbf": a radial-basis-function network. K = `num_centres` trainable centres c_k in
      feature space and one trainable scale gamma (kept as its logarithm, so it stays
      positive) give phi_k(x) = exp(-gamma ||x - c_k||^2), (B, K); then Dense(C). The
      distances are computed in float32 as ||x||^2 - 2 x.c_k + ||c_k||^2, never as a
      (B, K, V) difference. The centres start random; `adapt` sets them to the features of K
      training rows drawn with `seed`, and gamma to 1 / the median squared distance between
      them, so that phi starts neither all 1 nor all 0.

    `dropout` applies to the input of the final Dense: the features (linear) or phi (rbf).

    Args:
        vocabulary_size: V, the number of token ids. At most `tfllm.limits.MAX_VOCABULARY_SIZE`
            (262,144; raised by the environment variable TFLLM_MAX_VOCABULARY_SIZE): every
            batch holds (B, V) features.
        sequence_length: the longest T the pipelines feed (the model reads any length). At
            most `tfllm.limits.MAX_SEQUENCE_LENGTH`.
        num_classes: C, the number of labels (at least 2; at most
            `tfllm.limits.MAX_VOCABULARY_SIZE`).
        weighting: "tf_idf", "count" or "binary".
        head: "linear" or "rbf".
        num_centres: K, the centres of the RBF head (used only when `head="rbf"`), at most
            1,024 (a (K, V) table).
        dropout: dropout rate on the input of the final Dense.
        seed: int seed of the initial centres, the rows `adapt` draws and the dropout.
        **kwargs: standard model arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: dict with "token_ids" (B, T) int and optionally "padding_mask" (B, T) bool
            (True = real token); a bare (B, T) id tensor also works (every position real).
        training: bool, whether dropout is active.

    Returns:
        (B, C) float32 logits under every dtype policy.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import BagOfWordsClassifier
    >>> token_ids = np.array([[5, 6, 6, 0], [7, 6, 0, 0]], dtype="int32")
    >>> inputs = {"token_ids": token_ids, "padding_mask": token_ids > 0}
    >>> model = BagOfWordsClassifier(vocabulary_size=32, sequence_length=8, num_classes=2)
    >>> model.adapt([inputs])  # n = 2 rows; id 6 in both, ids 5 and 7 in one
    >>> idf = model.idf.numpy()
    >>> float(idf[6]), bool(np.isclose(idf[5], np.log(3 / 2) + 1))
    (1.0, True)
    >>> logits = model(inputs)
    >>> tuple(logits.shape), logits.dtype.name
    ((2, 2), 'float32')
    >>> rbf = BagOfWordsClassifier(vocabulary_size=32, sequence_length=8, num_classes=2,
    ...                            head="rbf", num_centres=2)
    >>> rbf.adapt([inputs])  # the two centres are the two rows' tf-idf features
    >>> bool(np.allclose(np.sort(rbf.centres.numpy().sum(1)),
    ...                  np.sort(rbf.features(**inputs).numpy().sum(1))))
    True
    """

    # XLA trained the linear head ~1.5-2x faster on 2 CPU cores (V=20,000, T=256, B=32); the
    # rbf head about as fast either way.
    jit_compile_by_default = True

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        num_classes,
        weighting="tf_idf",
        head="linear",
        num_centres=64,
        dropout=0.0,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
        check_at_most("vocabulary_size", self.vocabulary_size, "MAX_VOCABULARY_SIZE", "ids")
        self.sequence_length = check_positive_int("sequence_length", sequence_length)
        check_at_most("sequence_length", self.sequence_length, "MAX_SEQUENCE_LENGTH",
                      "positions of context")
        self.num_classes = check_int_at_least("num_classes", num_classes, 2)
        check_at_most("num_classes", self.num_classes, "MAX_VOCABULARY_SIZE",
                      "classes (an output layer as wide as a vocabulary)")
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.head = check_choice("head", head, HEADS)
        self.num_centres = check_int_range("num_centres", num_centres, 1, MAX_CENTRES)
        self.dropout = check_rate("dropout", dropout)
        self.seed = check_int("seed", seed)

        self.head_dropout = keras.layers.Dropout(
            dropout, seed=self.seed, dtype=self.dtype_policy, name="head_dropout"
        )
        self.output_projection = keras.layers.Dense(
            num_classes, dtype=self.dtype_policy, name="output_projection"
        )

    def build(self, inputs_shape):
        batch_size, _ = token_ids_shape(inputs_shape)
        vocabulary_size = self.vocabulary_size
        # autocast=False: the features and distances stay float32 under mixed precision.
        if self.weighting == "tf_idf":
            self.idf = self.add_weight(
                shape=(vocabulary_size,), initializer="ones", trainable=False, autocast=False,
                name="idf",
            )
        width = vocabulary_size
        if self.head == "rbf":
            # Entries in [0, 2 / sqrt(V)): squared norms near 4/3, the scale of unit tf-idf rows.
            self.centres = self.add_weight(
                shape=(self.num_centres, vocabulary_size),
                initializer=keras.initializers.RandomUniform(
                    0.0, 2.0 / math.sqrt(vocabulary_size), seed=self.seed
                ),
                autocast=False, name="centres",
            )
            self.log_gamma = self.add_weight(
                shape=(), initializer="zeros", autocast=False, name="log_gamma"
            )
            width = self.num_centres
        self.output_projection.build((batch_size, width))

    def call(self, inputs, training=None):
        token_ids, padding_mask = unpack_inputs(inputs)
        x = self.features(token_ids, padding_mask)  # (B, V) float32
        if self.head == "rbf":
            x = self._radial_basis(x)  # (B, K) float32
        x = self.head_dropout(ops.cast(x, self.compute_dtype), training=training)
        logits = self.output_projection(x)  # (B, C)
        return ops.cast(logits, "float32")

    def features(self, token_ids, padding_mask=None):
        """The (B, V) float32 bag-of-words features of (B, T) ids: counts, then `weighting`.

        Args:
            token_ids: (B, T) int ids in [0, V).
            padding_mask: optional (B, T) bool, True for a real token.
        """
        return self._weigh(token_counts(token_ids, padding_mask, self.vocabulary_size))

    def _radial_basis(self, features):
        """phi = exp(-gamma ||x - c_k||^2): (B, K) float32 from (B, V) features."""
        features = ops.cast(features, "float32")
        squared_norms = ops.sum(ops.square(features), axis=1, keepdims=True)  # (B, 1)
        centre_norms = ops.expand_dims(ops.sum(ops.square(self.centres), axis=1), 0)  # (1, K)
        products = ops.matmul(features, ops.transpose(self.centres))  # (B, K)
        # Rounding can leave a tiny negative distance where x equals a centre.
        distances = ops.maximum(squared_norms - 2.0 * products + centre_norms, 0.0)  # (B, K)
        return ops.exp(-ops.exp(self.log_gamma) * distances)

    def _weigh(self, counts):
        if self.weighting == "count":
            return counts
        if self.weighting == "binary":
            return ops.cast(counts > 0, "float32")
        weighted = counts * ops.expand_dims(self.idf, 0)  # (B, V)
        norms = ops.sqrt(ops.sum(ops.square(weighted), axis=1, keepdims=True))  # (B, 1)
        return weighted / ops.maximum(norms, 1e-12)

    def adapt(self, token_id_batches):
        """Sets the idf (tf_idf) and the centres and gamma (rbf head) from training data.

        One pass over the data: the document frequency of every id (rows whose real tokens
        hold it) and a uniform sample of `num_centres` rows (reservoir sampling seeded with
        `seed`, so the same data and seed give the same centres). With "count" or "binary"
        weighting and the linear head there is nothing to set; the data is still checked.

        Args:
            token_id_batches: an iterable (a `tf.data.Dataset`, a list, ...) of batches, each a
                dict with "token_ids" (B, T) and optionally "padding_mask" (B, T), a bare
                (B, T) id array (every position real), or a tuple whose first element is one
                of those (`(inputs, labels)` from a training pipeline).
        Raises:
            ValueError: no rows, fewer rows than `num_centres` (rbf head), a batch that is not
                (B, T), or an id outside [0, V) at a real position.
        """
        if not self.built:
            self.build((None, None))
        document_frequency = np.zeros(self.vocabulary_size, dtype="int64")
        sampler = _RowSampler(self.num_centres if self.head == "rbf" else 0, self.seed)
        for batch in token_id_batches:
            token_ids, padding_mask = _batch_arrays(batch, self.vocabulary_size)
            counts = ops.convert_to_numpy(
                token_counts(token_ids, padding_mask, self.vocabulary_size)
            )  # (B, V)
            document_frequency += np.count_nonzero(counts, axis=0)
            sampler.add(counts)
        if sampler.num_rows == 0:
            raise ValueError(
                "`adapt` needs at least one row of training data. Received: token_id_batches "
                "with no rows"
            )
        if self.weighting == "tf_idf":
            self.idf.assign(smooth_idf(document_frequency, sampler.num_rows))
        if self.head == "rbf":
            if sampler.num_rows < self.num_centres:
                raise ValueError(
                    f"`adapt` draws the {self.num_centres} RBF centres from training rows and "
                    f"got only {sampler.num_rows}; lower `num_centres` or give more data. "
                    f"Received: num_centres={self.num_centres}"
                )
            centres = ops.convert_to_numpy(self._weigh(np.stack(sampler.rows)))  # (K, V)
            self.centres.assign(centres)
            self.log_gamma.assign(-math.log(_median_squared_distance(centres)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "num_classes": self.num_classes,
                "weighting": self.weighting,
                "head": self.head,
                "num_centres": self.num_centres,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config


def token_counts(token_ids, padding_mask, vocabulary_size):
    """(B, V) float32: how often each id occurs among each row's real tokens.

    Args:
        token_ids: (B, T) int ids in [0, V) (at padded positions any id).
        padding_mask: (B, T) bool, True for a real token, or None (every position real).
        vocabulary_size: V.
    """
    token_ids = ops.cast(token_ids, "int32")
    batch_size, length = ops.shape(token_ids)[0], ops.shape(token_ids)[1]
    if padding_mask is None:
        weights = ops.ones((batch_size, length), dtype="float32")  # (B, T)
    else:
        padding_mask = ops.cast(padding_mask, "bool")
        weights = ops.cast(padding_mask, "float32")  # (B, T)
        # A padded position scatters weight 0 into id 0, whatever id it holds.
        token_ids = ops.where(padding_mask, token_ids, ops.zeros_like(token_ids))
    rows = ops.broadcast_to(ops.expand_dims(ops.arange(batch_size), 1), (batch_size, length))
    indices = ops.reshape(ops.stack([rows, token_ids], axis=-1), (-1, 2))  # (B T, 2)
    # scatter sums the weights of repeated (row, id) pairs: the counts.
    return ops.scatter(indices, ops.reshape(weights, (-1,)), (batch_size, vocabulary_size))


def smooth_idf(document_frequency, num_documents):
    """`log((1 + n) / (1 + df)) + 1` per id, as float32 (scikit-learn's smoothed idf)."""
    document_frequency = np.asarray(document_frequency, dtype="float64")
    return (np.log((1.0 + num_documents) / (1.0 + document_frequency)) + 1.0).astype("float32")


class _RowSampler:
    """A uniform sample of `size` rows from a stream of (B, V) batches (reservoir sampling)."""

    def __init__(self, size, seed):
        self.size = size
        self.rows = []
        self.num_rows = 0
        self._rng = np.random.default_rng(seed)

    def add(self, batch):
        # Copies: a kept view would keep its whole (B, V) batch alive.
        for row in batch:
            if len(self.rows) < self.size:
                self.rows.append(row.copy())
            elif self.size:
                slot = self._rng.integers(0, self.num_rows + 1)
                if slot < self.size:
                    self.rows[slot] = row.copy()
            self.num_rows += 1


def _batch_arrays(batch, vocabulary_size):
    """`(token_ids, padding_mask)` as NumPy arrays from one batch `adapt` reads, checked."""
    if isinstance(batch, tuple) and batch:
        batch = batch[0]
    padding_mask = None
    if isinstance(batch, dict):
        token_ids, padding_mask = unpack_inputs(batch)
    else:
        token_ids = batch
    token_ids = np.asarray(ops.convert_to_numpy(token_ids))
    if token_ids.ndim != 2 or not np.issubdtype(token_ids.dtype, np.integer):
        raise ValueError(
            "Each batch `adapt` reads must hold (B, T) integer token ids. "
            f"Received: token_ids of shape {token_ids.shape} and dtype {token_ids.dtype}"
        )
    real = np.ones(token_ids.shape, dtype=bool)
    if padding_mask is not None:
        padding_mask = real = np.asarray(ops.convert_to_numpy(padding_mask)).astype(bool)
    outside = real & ((token_ids < 0) | (token_ids >= vocabulary_size))
    if outside.any():
        raise ValueError(
            f"Token ids must be in [0, vocabulary_size) with vocabulary_size={vocabulary_size}: "
            "is the tokenizer the one the model was built for? "
            f"Received: token id {int(token_ids[outside][0])}"
        )
    return token_ids, padding_mask


def _median_squared_distance(rows):
    """The median squared distance between distinct rows of (K, V) `rows`; 1.0 if none."""
    rows = rows.astype("float64")
    norms = np.sum(rows**2, axis=1)
    distances = norms[:, None] - 2.0 * rows @ rows.T + norms[None, :]  # (K, K)
    distances = distances[np.triu_indices(len(rows), k=1)]
    distances = distances[distances > 1e-12]
    return float(np.median(distances)) if distances.size else 1.0
