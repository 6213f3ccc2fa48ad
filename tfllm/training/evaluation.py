"""Exact held-out metrics: `model.evaluate` with the task's token-weighted metrics.

`model.evaluate` reports `loss` as the mean of per-batch losses weighted by the number of *rows*
in each batch, which is not the mean per token when batches hold different numbers of real tokens
(a final short or padded batch). The task's metrics keep exact weighted sums instead
(`tfllm.objectives.WeightedTokenSum`), and the task reads its report from their state.
"""

from tfllm.validation import check_positive_float


def task_metrics(task, characters_per_token, bytes_per_token=None):
    """`task.metrics(...)` for a text of `characters_per_token` and, where the task measured
    it (a language model's `LanguageModelData`), `bytes_per_token`: then the metrics include
    bits per byte. A task that measures no bytes is never given them.

    Example:

    >>> from tfllm.tasks import get_task
    >>> [m.name for m in task_metrics(get_task("causal_lm"), 1.0, bytes_per_token=1.25)][:3]
    ['perplexity', 'bits_per_character', 'bits_per_byte']
    """
    if bytes_per_token is None:
        return task.metrics(characters_per_token)
    return task.metrics(characters_per_token,
                        bytes_per_token=check_positive_float("bytes_per_token", bytes_per_token))


def evaluate_model(model, dataset, task, *, metrics=None, characters_per_token=1.0,
                   bytes_per_token=None, evaluate_fn=None):
    """Evaluates `model` on every batch of `dataset` and returns the task's report.

    Args:
        model: a Keras model for `task`.
        dataset: batches of `(x, labels, sample_weight)` (usually a `tf.data.Dataset`).
        task: a `tfllm.tasks.Task`.
        metrics: the weighted metric objects `model` was compiled with (after training). None
            compiles the model with the task's loss and fresh metrics first (a loaded model).
        characters_per_token: for bits per character when `metrics` is None (> 0): measure it
            on the evaluated text, as `task.evaluation_data` does.
        bytes_per_token: for bits per byte when `metrics` is None (> 0; a language model only):
            UTF-8 bytes of the evaluated text per token. None: no bits per byte.
        evaluate_fn: what runs the evaluation (default `model.evaluate`; the custom training
            loop passes its own, which runs on every replica).
    Returns:
        `task.summarize(metrics)`: for a causal LM `{"loss", "perplexity",
        "bits_per_character", "accuracy", "tokens"}`, and `"bits_per_byte"` with
        `bytes_per_token`.

    Example:

    >>> import numpy as np, tensorflow as tf
    >>> from tfllm.models import GPT
    >>> from tfllm.tasks import get_task
    >>> model = GPT(vocabulary_size=8, sequence_length=4, num_layers=1, num_heads=1,
    ...             hidden_dim=4, intermediate_dim=8)
    >>> ids = np.zeros((2, 4), "int32")
    >>> data = tf.data.Dataset.from_tensors(({"token_ids": ids}, ids, np.ones((2, 4))))
    >>> evaluate_model(model, data, get_task("causal_lm"))["tokens"]
    8
    """
    if metrics is None:
        characters_per_token = check_positive_float("characters_per_token", characters_per_token)
        metrics = task_metrics(task, characters_per_token, bytes_per_token)
        model.compile(loss=task.loss(), weighted_metrics=metrics)
    (evaluate_fn or (lambda data: model.evaluate(data, verbose=0)))(dataset)
    return task.summarize(metrics)
