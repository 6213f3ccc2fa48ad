"""Next-token accuracy over weighted (non-padding) tokens."""

import keras
from keras import ops

from tfllm.objectives.token_metric_utils import WeightedTokenSum


@keras.saving.register_keras_serializable(package="tfllm")
class MaskedAccuracy(WeightedTokenSum):
    """Fraction of weighted tokens whose arg-max prediction equals the label.

    `sum(w * [argmax(y_pred) == y_true]) / sum(w)` over every batch since the last reset. Compile
    it under `weighted_metrics` so that padding (weight 0) does not count.

    Args:
        name: metric name (the logs show `accuracy`).
        dtype: dtype of the accumulated sums (float32 default).

    Example:

    >>> import numpy as np
    >>> metric = MaskedAccuracy()
    >>> logits = np.array([[[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]], "float32")
    >>> metric.update_state(np.array([[1, 1, 0]]), logits, sample_weight=np.array([[1, 1, 0]]))
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def token_values(self, y_true, y_pred):
        # (B, T): 1.0 where the most likely token is the label.
        predicted = ops.argmax(ops.cast(y_pred, "float32"), axis=-1)
        return ops.cast(ops.equal(predicted, ops.cast(y_true, predicted.dtype)), "float32")

    def result(self):
        return self.mean()
