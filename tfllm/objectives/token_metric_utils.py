"""Shared machinery for the token metrics: exact weighted sums accumulated over a whole evaluation.

Each metric keeps two state variables, a weighted sum and the sum of weights, and divides only in
`result()`. Averaging per-batch means instead (what Keras's `loss` entry in the logs does, weighting
each batch by its number of rows) is wrong when batches hold different numbers of real tokens.
"""

import keras
from keras import ops


def token_weights(y_true, sample_weight):
    """(B, T) float32 weights: `sample_weight` broadcast to the labels' shape, or ones."""
    if sample_weight is None:
        return ops.ones(ops.shape(y_true), "float32")
    return ops.broadcast_to(ops.cast(sample_weight, "float32"), ops.shape(y_true))


class WeightedTokenSum(keras.metrics.Metric):
    """Base class: accumulates `sum(w * value)` and `sum(w)` over every batch until reset.

    Subclasses implement `token_values(y_true, y_pred) -> (B, T) float32` and `result()`. The
    state is float32 by default (portable to every device); pass `dtype="float64"` for very long
    evaluations. Variables use `aggregation="sum"`, so replicas under a `tf.distribute` strategy
    add up to the same totals.
    """

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype or "float32")
        self.weighted_sum = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="weighted_sum"
        )
        self.total_weight = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="total_weight"
        )

    def token_values(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.token_values(y_true, y_pred)  # (B, T) float32
        weights = token_weights(y_true, sample_weight)  # (B, T) float32
        self.weighted_sum.assign_add(ops.cast(ops.sum(values * weights), self.dtype))
        self.total_weight.assign_add(ops.cast(ops.sum(weights), self.dtype))

    def mean(self):
        """sum(w * value) / sum(w) over everything seen since the last reset (0 if nothing)."""
        return ops.divide_no_nan(self.weighted_sum, self.total_weight)

