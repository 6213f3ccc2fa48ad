"""Next-token cross-entropy averaged over the tokens that count (padding has weight 0).

A language-model batch has labels (B, T) and logits (B, T, V), and the pipeline supplies a
`sample_weight` (B, T) that is 0 on padding. The loss we want is the mean over *weighted tokens*:

    loss = sum(w * nats) / sum(w)

Keras's default reduction, `"sum_over_batch_size"`, divides by B * T instead, so a batch with
padding gets a smaller loss (and smaller gradients) than the same tokens without it. The
`"mean_with_sample_weight"` reduction divides by `sum(w)`, which is what `MaskedCrossEntropy` uses.

Label smoothing with sparse labels: the target distribution is `(1 - eps) * one_hot(y) + eps / V`,
so the per-token loss is `(1 - eps) * nll(y) + eps * mean_v(-log p_v)`, and
`-log p_v = logsumexp(logits) - logits_v`; no (B, T, V) one-hot tensor is built.
"""

import keras
from keras import ops

from tfllm.validation import check_rate


def token_cross_entropy(labels, logits, label_smoothing=0.0, from_logits=True):
    """Per-token cross-entropy in nats, computed in float32.

    Args:
        labels: (B, T) integer token ids (any integer or float dtype holding integers).
        logits: (B, T, V) unnormalised scores (or probabilities when `from_logits=False`), in any
            float dtype; they are cast to float32 first, so bfloat16/float16 logits lose nothing
            more in the softmax.
        label_smoothing: eps in [0, 1): mixes the one-hot target with the uniform distribution.
        from_logits: whether `logits` are logits (True) or probabilities (False).

    Returns:
        (B, T) float32 nats per token.
    """
    label_smoothing = check_rate("label_smoothing", label_smoothing)
    logits = ops.cast(logits, "float32")
    labels = ops.cast(labels, "int32")
    if not from_logits:
        # Probabilities: clip like Keras does, then treat log-probabilities as logits (their
        # logsumexp is 0 up to rounding, so the formulas below stay correct).
        logits = ops.log(ops.clip(logits, keras.config.epsilon(), 1.0))
    # (B, T): -log softmax(logits)[label], fused and numerically stable.
    nll = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    if label_smoothing == 0.0:
        return nll
    # (B, T): mean over the vocabulary of -log p_v = logsumexp(logits) - mean_v(logits).
    uniform_nll = ops.logsumexp(logits, axis=-1) - ops.mean(logits, axis=-1)
    return (1.0 - label_smoothing) * nll + label_smoothing * uniform_nll


def masked_cross_entropy(labels, logits, sample_weight=None, label_smoothing=0.0):
    """The mean cross-entropy (nats per token) over weighted tokens: sum(w * nats) / sum(w).

    Args:
        labels: (B, T) integer token ids.
        logits: (B, T, V) logits in any float dtype (computed in float32).
        sample_weight: optional (B, T) weights, 0 on padding. None weighs every token 1.
        label_smoothing: eps in [0, 1).

    Returns:
        A float32 scalar; 0 when every weight is 0.

    Example:

    >>> import numpy as np
    >>> labels = np.array([[1, 2, 0]])
    >>> logits = np.zeros((1, 3, 4), "float32")  # uniform over 4 tokens
    >>> weights = np.array([[1.0, 1.0, 0.0]])   # the last position is padding
    >>> round(float(masked_cross_entropy(labels, logits, weights)), 4)  # ln 4
    1.3863
    """
    nats = token_cross_entropy(labels, logits, label_smoothing)
    if sample_weight is None:
        return ops.mean(nats)
    weights = ops.cast(sample_weight, "float32")
    return ops.divide_no_nan(ops.sum(nats * weights), ops.sum(weights))


@keras.saving.register_keras_serializable(package="tfllm")
class MaskedCrossEntropy(keras.losses.Loss):
    """Sparse next-token cross-entropy from logits, averaged over weighted (non-padding) tokens.

    Use it with the `(x, labels, sample_weight)` batches of `tfllm.data.lm_dataset`: `fit` passes
    the weights through, and the loss is `sum(w * nats) / sum(w)` for each batch, so padding changes
    nothing. It always computes in float32, even when a mixed-precision model returns bfloat16 or
    float16 logits.

    Args:
        label_smoothing: eps in [0, 1); the target becomes `(1 - eps) * one_hot + eps / V`.
        reduction: defaults to `"mean_with_sample_weight"` (divide by the sum of the weights);
            `"sum_over_batch_size"` would divide by B * T, padding included.
        name: name of the loss.

    Call arguments:
        y_true: (B, T) integer labels.
        y_pred: (B, T, V) logits.
        sample_weight: (B, T) weights, 0 on padding.

    Example:

    >>> import numpy as np
    >>> loss = MaskedCrossEntropy()
    >>> labels = np.array([[1, 2, 0]])
    >>> logits = np.zeros((1, 3, 4), "float32")
    >>> round(float(loss(labels, logits, sample_weight=np.array([[1.0, 1.0, 0.0]]))), 4)
    1.3863
    """

    def __init__(
        self,
        label_smoothing=0.0,
        reduction="mean_with_sample_weight",
        name="masked_cross_entropy",
        dtype=None,
    ):
        # The loss dtype must stay float32: Loss.__call__ casts both logits and labels to it.
        if dtype not in (None, "float32"):
            raise ValueError(
                "MaskedCrossEntropy always computes in float32 (low-precision logits are cast up). "
                f"Received: dtype={dtype!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.label_smoothing = check_rate("label_smoothing", label_smoothing)

    def call(self, y_true, y_pred):
        # (B, T) nats; the base class applies sample_weight and the reduction.
        return token_cross_entropy(y_true, y_pred, self.label_smoothing)

    def get_config(self):
        config = super().get_config()
        config["label_smoothing"] = self.label_smoothing
        return config
