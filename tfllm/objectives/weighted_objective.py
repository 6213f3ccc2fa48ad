"""A weighted sum of per-token loss terms, with one exact metric per term to log them apart.

With terms l_1 .. l_n (each a per-token loss), term weights a_i >= 0 and the pipeline's sample
weights s (0 on padding), the objective per token and per batch is

    loss_t = sum_i a_i * l_i,t
    loss   = sum_t s_t * loss_t / sum_t s_t = sum_i a_i * (sum_t s_t * l_i,t / sum_t s_t)

so a batch's loss is exactly the a-weighted sum of its term means. `term_metrics()` gives one
metric per term that keeps `sum(s * l_i)` and `sum(s)` over a whole evaluation (as `Perplexity`
does) and reports the term's own mean, before its weight a_i. Keras's `loss` entry averages
per-batch losses by rows, not tokens, so over an epoch it can differ slightly from
`sum_i a_i * metric_i`; the metrics are the exact ones.

Example:

>>> import numpy as np
>>> from tfllm.objectives.masked_cross_entropy import MaskedCrossEntropy
>>> from tfllm.objectives.unlikelihood import TokenSetPenalty
>>> objective = WeightedObjective(
...     {"cross_entropy": (1.0, MaskedCrossEntropy()), "unlikelihood": (0.5, TokenSetPenalty([3]))}
... )
>>> labels, logits = np.array([[1, 2]]), np.zeros((1, 2, 4), "float32")
>>> # ln 4 = 1.3863 per token, plus 0.5 * -log(1 - 1/4) = 0.5 * 0.2877.
>>> round(float(objective(labels, logits)), 4)
1.5301
>>> metrics = objective.term_metrics()
>>> for metric in metrics:
...     metric.update_state(labels, logits)
>>> [(metric.name, round(float(metric.result()), 4)) for metric in metrics]
[('cross_entropy', 1.3863), ('unlikelihood', 0.2877)]
"""

from collections.abc import Mapping

import keras
from keras import ops

from tfllm.objectives.token_metric_utils import WeightedTokenSum
from tfllm.validation import check_non_negative_float


def _check_loss(name, loss):
    if not isinstance(loss, keras.losses.Loss):
        raise ValueError(
            f"`{name}` must be a keras.losses.Loss whose call() returns per-token values "
            f"(e.g. MaskedCrossEntropy()). Received: {name}={loss!r}"
        )
    return loss


def _term_values(loss, y_true, y_pred):
    """(B, T) float32 values of one term, converted the way Loss.__call__ converts them."""
    y_true = ops.convert_to_tensor(y_true, dtype=loss.dtype)
    y_pred = ops.convert_to_tensor(y_pred, dtype=loss.dtype)
    return ops.cast(loss.call(y_true, y_pred), "float32")


def _check_terms(terms):
    if not isinstance(terms, Mapping) or not terms:
        raise ValueError(
            "`terms` must be a non-empty dict of name -> (weight, loss). "
            f"Received: terms={terms!r}"
        )
    checked = {}
    for name, term in terms.items():
        # The names become metric names in the logs; Keras keeps `loss` for the total.
        if not isinstance(name, str) or not name.isidentifier() or name == "loss":
            raise ValueError(
                "`terms` names must be valid Python identifiers other than 'loss' (they name "
                f"metrics in the logs). Received: terms name {name!r}"
            )
        if not isinstance(term, (tuple, list)) or len(term) != 2:
            raise ValueError(
                f"`terms[{name!r}]` must be a (weight, loss) pair. "
                f"Received: terms[{name!r}]={term!r}"
            )
        weight = check_non_negative_float(f"terms[{name!r}] weight", term[0])
        checked[name] = (weight, _check_loss(f"terms[{name!r}] loss", term[1]))
    return checked


@keras.saving.register_keras_serializable(package="tfllm")
class TermMean(WeightedTokenSum):
    """The exact weighted mean, sum(s * l) / sum(s), of one loss's per-token values.

    Made by `WeightedObjective.term_metrics()`; compile it under `weighted_metrics` so that Keras
    passes the sample weights (padding, weight 0, then counts nothing).

    Args:
        loss: a keras.losses.Loss whose `call(y_true, y_pred)` returns per-token values.
        name: metric name in the logs (default: the loss's name).
        dtype: dtype of the accumulated sums (float32 default).

    Example:

    >>> import numpy as np
    >>> from tfllm.objectives.masked_cross_entropy import MaskedCrossEntropy
    >>> metric = TermMean(MaskedCrossEntropy(), name="cross_entropy")
    >>> metric.update_state(np.array([[1, 2]]), np.zeros((1, 2, 4), "float32"))
    >>> round(float(metric.result()), 4)  # ln 4
    1.3863
    """

    def __init__(self, loss, name=None, dtype=None):
        loss = _check_loss("loss", loss)
        super().__init__(name=name or loss.name, dtype=dtype)
        self.loss = loss

    def token_values(self, y_true, y_pred):
        return _term_values(self.loss, y_true, y_pred)

    def result(self):
        return self.mean()

    def get_config(self):
        return {**super().get_config(), "loss": keras.saving.serialize_keras_object(self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfllm")
class WeightedObjective(keras.losses.Loss):
    """sum_i a_i * term_i per token, averaged over weighted tokens (module docstring).

    Args:
        terms: a non-empty dict of name -> (weight, loss): names are valid Python identifiers
            (other than `loss`) and name the term's metric; weights are finite numbers >= 0;
            each loss is a keras.losses.Loss whose `call(y_true, y_pred)` returns per-token
            values (`MaskedCrossEntropy`, `MaskedSquaredError`, `UnlikelihoodLoss`,
            `TokenSetPenalty`, ...). The terms' own reductions are not used.
        reduction: defaults to `"mean_with_sample_weight"` (divide by the sum of the weights).
        name: name of the loss.

    Call arguments:
        y_true: (B, T) integer labels.
        y_pred: (B, T, V) logits.
        sample_weight: (B, T) weights, 0 on padding.

    Use it as
    `model.compile(loss=objective, weighted_metrics=objective.term_metrics())` and the logs
    show each term by its name (and `val_` + name on validation data).

    Example:

    >>> import numpy as np
    >>> from tfllm.objectives.masked_cross_entropy import MaskedCrossEntropy
    >>> objective = WeightedObjective({"ce": (2.0, MaskedCrossEntropy())})
    >>> logits = np.zeros((1, 3, 4), "float32")
    >>> weights = np.array([[1.0, 1.0, 0.0]])
    >>> round(float(objective(np.array([[1, 2, 0]]), logits, sample_weight=weights)), 4)  # 2 ln 4
    2.7726
    """

    def __init__(
        self, terms, reduction="mean_with_sample_weight", name="weighted_objective", dtype=None
    ):
        # The loss dtype must stay float32: Loss.__call__ casts both logits and labels to it.
        if dtype not in (None, "float32"):
            raise ValueError(
                "WeightedObjective always computes in float32 (low-precision logits are cast "
                f"up). Received: dtype={dtype!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.terms = _check_terms(terms)

    def call(self, y_true, y_pred):
        total = None
        for weight, loss in self.terms.values():
            values = weight * _term_values(loss, y_true, y_pred)  # (B, T)
            total = values if total is None else total + values
        return total

    def term_metrics(self):
        """One new `TermMean` per term, named after it, for `weighted_metrics=[...]`."""
        return [TermMean(loss, name=name) for name, (_, loss) in self.terms.items()]

    def get_config(self):
        terms = {
            name: [weight, keras.saving.serialize_keras_object(loss)]
            for name, (weight, loss) in self.terms.items()
        }
        return {**super().get_config(), "terms": terms}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["terms"] = {
            name: (weight, keras.saving.deserialize_keras_object(loss))
            for name, (weight, loss) in config["terms"].items()
        }
        return cls(**config)
