"""Bits per character: the cross-entropy in the unit that compares tokenizers."""

import math

import keras

from tfllm.objectives.masked_cross_entropy import token_cross_entropy
from tfllm.objectives.token_metric_utils import WeightedTokenSum
from tfllm.validation import check_positive_float


@keras.saving.register_keras_serializable(package="tfllm")
class BitsPerCharacter(WeightedTokenSum):
    """Mean nats per token / ln 2 / characters per token, exact over a whole evaluation.

    Per-token loss and perplexity depend on the tokenizer: a word-level model predicts fewer,
    harder tokens than a character-level one, so its loss per token is not comparable. Dividing
    the bits per token by the average number of characters per token gives bits per *character*
    of the same text, which is comparable across tokenizers (and with compression results).
    For a character tokenizer `characters_per_token=1`; for another, measure it on the evaluated
    text (`len(text) / len(tokens)`).

    Compile it under `weighted_metrics` so that padding does not count.

    Args:
        characters_per_token: average characters per token of the evaluated text (> 0).
        from_logits: whether `y_pred` holds logits (True) or probabilities.
        name: metric name (the logs show `bits_per_character`).
        dtype: dtype of the accumulated sums (float32 default).

    Example:

    >>> import numpy as np
    >>> metric = BitsPerCharacter(characters_per_token=2.0)
    >>> metric.update_state(np.array([[1, 2]]), np.zeros((1, 2, 4), "float32"))
    >>> round(float(metric.result()), 4)  # 2 bits per token over 2 characters per token
    1.0
    """

    def __init__(
        self, characters_per_token=1.0, from_logits=True, name="bits_per_character", dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        self.characters_per_token = check_positive_float(
            "characters_per_token", characters_per_token
        )
        self.from_logits = bool(from_logits)

    def token_values(self, y_true, y_pred):
        return token_cross_entropy(y_true, y_pred, from_logits=self.from_logits)

    def result(self):
        return self.mean() / (math.log(2.0) * self.characters_per_token)

    def get_config(self):
        return {
            **super().get_config(),
            "characters_per_token": self.characters_per_token,
            "from_logits": self.from_logits,
        }
