"""Exact held-out metrics of a language model: every token of a dataset counted once.

`model.evaluate` reports `loss` as the mean of per-batch losses weighted by the number of *rows*
in each batch, which is not the mean per token when batches hold different numbers of real tokens
(a final short or padded batch). Here each batch returns its summed nats and summed weight, and
the host adds them up in float64.
"""

import math

import numpy as np
import tensorflow as tf

from tfllm.objectives import token_cross_entropy
from tfllm.objectives.token_metric_utils import validate_positive


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 3:
        return batch
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1], None
    raise ValueError(
        "The dataset must yield (x, labels) or (x, labels, sample_weight) tuples. "
        f"Received: an element of type {type(batch).__name__}"
        + (f" with {len(batch)} parts" if isinstance(batch, (tuple, list)) else "")
    )


def evaluate_language_model(model, dataset, *, characters_per_token=1.0, max_batches=None):
    """Mean nats per token, perplexity and bits per character over a whole dataset.

    Args:
        model: a Keras model mapping `x` to (B, T, V) logits (any float dtype).
        dataset: an iterable (usually a `tf.data.Dataset`) of `(x, labels, sample_weight)` or
            `(x, labels)`: `x` is whatever the model takes (e.g. `{"token_ids", "padding_mask"}`),
            labels (B, T) ints, sample_weight (B, T), 0 on padding.
        characters_per_token: average characters per token, for bits per character (> 0).
            Measure it on the evaluated text (`len(text) / len(ids)`, or
            `tfllm.tokenizers.characters_per_token(tokenizer, text)`): 1 for a char tokenizer,
            about 3 for a 4000-piece subword one, so bits per character compare across both.
        max_batches: read at most this many batches (None: the whole dataset).

    Returns:
        `{"loss": mean nats per token, "perplexity": exp(loss),
          "bits_per_char": loss / ln 2 / characters_per_token, "tokens": sum of weights (int)}`.

    Example:

    >>> import keras, numpy as np, tensorflow as tf
    >>> model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(8, 8)])
    >>> data = tf.data.Dataset.from_tensors((np.zeros((2, 4), "int32"), np.zeros((2, 4), "int32")))
    >>> evaluate_language_model(model, data)["tokens"]
    8
    """
    characters_per_token = validate_positive("characters_per_token", characters_per_token)
    if max_batches is not None and (
        isinstance(max_batches, bool) or not isinstance(max_batches, int) or max_batches < 1
    ):
        raise ValueError(
            f"max_batches must be None or an int >= 1. Received: max_batches={max_batches!r}"
        )

    @tf.function(reduce_retracing=True)
    def batch_sums(x, labels, sample_weight):
        logits = model(x, training=False)
        nats = token_cross_entropy(labels, logits)  # (B, T) float32
        if sample_weight is None:
            weights = tf.ones_like(nats)
        else:
            weights = tf.broadcast_to(tf.cast(sample_weight, tf.float32), tf.shape(nats))
        return tf.reduce_sum(nats * weights), tf.reduce_sum(weights)

    total_nats = 0.0
    total_weight = 0.0
    for index, batch in enumerate(dataset):
        if max_batches is not None and index >= max_batches:
            break
        x, labels, sample_weight = _split_batch(batch)
        nats, weight = batch_sums(x, labels, sample_weight)
        total_nats += float(np.float64(nats.numpy()))
        total_weight += float(np.float64(weight.numpy()))
    if total_weight <= 0:
        raise ValueError(
            "The evaluation dataset holds no weighted tokens (it is empty or every weight is 0). "
            f"Received: {total_weight} tokens"
        )
    loss = total_nats / total_weight
    return {
        "loss": loss,
        "perplexity": math.exp(loss),
        "bits_per_char": loss / math.log(2.0) / characters_per_token,
        "tokens": int(round(total_weight)),
    }
