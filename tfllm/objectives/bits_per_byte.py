"""Bits per byte: the cross-entropy per UTF-8 byte of the text, one scale for every tokenizer."""

import math

import keras

from tfllm.objectives.masked_cross_entropy import token_cross_entropy
from tfllm.objectives.token_metric_utils import WeightedTokenSum
from tfllm.validation import check_positive_float


@keras.saving.register_keras_serializable(package="tfllm")
class BitsPerByte(WeightedTokenSum):
    """Mean nats per token / ln 2 / UTF-8 bytes per token, exact over a whole evaluation.

    Bits per character already compare tokenizers on one text, but a character is not the same
    amount of text in every script (one byte in ASCII, two to four elsewhere), and byte-level
    models and compression results are quoted per byte. Dividing the bits per token by the
    average number of UTF-8 bytes per token gives bits per byte of the same text: on ASCII text
    it equals bits per character; otherwise it is bits per character times characters / bytes.
    Measure `bytes_per_token` on the evaluated text (`len(text.encode("utf-8")) / len(tokens)`),
    as `characters_per_token` is for `BitsPerCharacter`.

    Compile it under `weighted_metrics` so that padding does not count.

    Args:
        bytes_per_token: average UTF-8 bytes per token of the evaluated text (> 0).
        from_logits: whether `y_pred` holds logits (True) or probabilities.
        name: metric name (the logs show `bits_per_byte`).
        dtype: dtype of the accumulated sums (float32 default).

    Example:

    >>> import numpy as np
    >>> metric = BitsPerByte(bytes_per_token=4.0)
    >>> metric.update_state(np.array([[1, 2]]), np.zeros((1, 2, 4), "float32"))
    >>> round(float(metric.result()), 4)  # 2 bits per token over 4 bytes per token
    0.5
    """

    def __init__(self, bytes_per_token=1.0, from_logits=True, name="bits_per_byte", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.bytes_per_token = check_positive_float("bytes_per_token", bytes_per_token)
        self.from_logits = bool(from_logits)

    def token_values(self, y_true, y_pred):
        return token_cross_entropy(y_true, y_pred, from_logits=self.from_logits)

    def result(self):
        return self.mean() / (math.log(2.0) * self.bytes_per_token)

    def get_config(self):
        return {
            **super().get_config(),
            "bytes_per_token": self.bytes_per_token,
            "from_logits": self.from_logits,
        }
