"""`pipeline_throughput`: tokens per second of an input pipeline alone, with no model attached.

Training is input-bound when the pipeline makes tokens more slowly than a step consumes them.
Compare `pipeline_throughput(dataset).tokens_per_second` with the training step's tokens/s
(B * T / seconds per step, e.g. from `tfllm.training.ThroughputLogger`): a pipeline several
times faster than the step never makes it wait, since `prefetch` overlaps the two.

It iterates the dataset eagerly, as `fit` would, discarding the batches: `warmup_batches` first
(start-up, autotuning, filling a cache or shuffle buffer), then `num_batches` timed ones. A
batch counts `token_ids.size` token positions and, when the batch has a `padding_mask`, the real
tokens among them. Timings share the CPU with whatever else runs: compare figures from one run.

Example:

>>> import numpy as np
>>> from tfllm.data import lm_dataset
>>> from tfllm.data.pipeline_throughput import pipeline_throughput
>>> dataset = lm_dataset(np.arange(10_000, dtype="int32"), sequence_length=32, batch_size=8)
>>> result = pipeline_throughput(dataset, num_batches=20)
>>> result.batches, result.tokens, result.tokens_per_second > 0
(20, 5120, True)
"""

import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tfllm.validation import check_non_negative_int, check_positive_int

__all__ = ["PipelineThroughput", "pipeline_throughput"]


@dataclass(frozen=True)
class PipelineThroughput:
    """What `pipeline_throughput` measured over its timed batches."""

    batches: int
    tokens: int  # token positions, padding included (B * T per batch)
    real_tokens: int  # positions whose padding_mask is True (= tokens when there is no mask)
    seconds: float

    @property
    def tokens_per_second(self):
        return self.tokens / self.seconds if self.seconds > 0 else float("inf")

    @property
    def real_tokens_per_second(self):
        return self.real_tokens / self.seconds if self.seconds > 0 else float("inf")

    @property
    def batches_per_second(self):
        return self.batches / self.seconds if self.seconds > 0 else float("inf")

    def __str__(self):
        return (f"{self.tokens_per_second:,.0f} tokens/s ({self.real_tokens_per_second:,.0f} real), "
                f"{self.batches_per_second:,.1f} batches/s over {self.batches} batches")


def pipeline_throughput(dataset, *, num_batches=100, warmup_batches=5):
    """Times `num_batches` batches of `dataset` after `warmup_batches` untimed ones.

    Args:
        dataset: a `tf.data.Dataset` whose elements are `(x, ...)` or `x`, with `x` a dict
            holding "token_ids" (and optionally "padding_mask"), or a token-id tensor.
        num_batches: batches to time; fewer if the dataset ends first (at least one needed).
        warmup_batches: batches read and discarded before timing starts.

    Returns:
        A `PipelineThroughput` (tokens, real tokens, seconds; `tokens_per_second` etc.).
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset. Received: {type(dataset).__name__}")
    check_positive_int("num_batches", num_batches)
    check_non_negative_int("warmup_batches", warmup_batches)
    iterator = iter(dataset)
    for _ in range(warmup_batches):
        if next(iterator, None) is None:
            break
    batches = tokens = real_tokens = 0
    start = time.perf_counter()
    for element in iterator:
        x = element[0] if isinstance(element, tuple) else element
        token_ids = x["token_ids"] if isinstance(x, dict) else x
        size = int(np.prod(token_ids.shape))
        tokens += size
        mask = x.get("padding_mask") if isinstance(x, dict) else None
        # Summing the mask on device is part of the cost a training step would pay anyway.
        real_tokens += size if mask is None else int(tf.math.count_nonzero(mask))
        batches += 1
        if batches == num_batches:
            break
    seconds = time.perf_counter() - start
    if not batches:
        raise ValueError(
            f"dataset yielded no batch after {warmup_batches} warm-up batch(es): nothing to time. "
            f"Use a longer (or repeated) dataset or fewer warmup_batches. "
            f"Received: warmup_batches={warmup_batches}"
        )
    return PipelineThroughput(batches=batches, tokens=tokens, real_tokens=real_tokens, seconds=seconds)
