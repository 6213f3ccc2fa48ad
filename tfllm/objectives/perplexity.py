"""Perplexity: exp of the mean cross-entropy per token, exact over a whole evaluation."""

import keras
from keras import ops

from tfllm.objectives.masked_cross_entropy import token_cross_entropy
from tfllm.objectives.token_metric_utils import WeightedTokenSum


@keras.saving.register_keras_serializable(package="tfllm")
class Perplexity(WeightedTokenSum):
    """exp(sum(w * nats) / sum(w)): the effective number of equally likely next tokens.

    The sums run over every batch since the last reset, so the value after an epoch or an
    `evaluate` is the perplexity of all its tokens, not an average of per-batch perplexities.
    Compile it as a *weighted* metric (`weighted_metrics=[Perplexity()]`): Keras passes the
    pipeline's `sample_weight` only to those, and under `metrics=[...]` padding would count.
    Lower is better; a uniform guess over V tokens scores V.

    Args:
        from_logits: whether `y_pred` holds logits (True) or probabilities.
        name: metric name (the logs show `perplexity` / `val_perplexity`).
        dtype: dtype of the accumulated sums (float32 default; "float64" for long evaluations).

    Example:

    >>> import numpy as np
    >>> metric = Perplexity()
    >>> metric.update_state(np.array([[1, 2]]), np.zeros((1, 2, 4), "float32"))
    >>> round(float(metric.result()), 4)  # uniform over 4 tokens
    4.0
    """

    def __init__(self, from_logits=True, name="perplexity", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = bool(from_logits)

    def token_values(self, y_true, y_pred):
        return token_cross_entropy(y_true, y_pred, from_logits=self.from_logits)

    def result(self):
        return ops.exp(self.mean())

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}
