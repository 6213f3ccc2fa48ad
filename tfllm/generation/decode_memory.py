"""How much memory one decode takes, estimated before anything is allocated.

`generate` calls `check_decode_memory` once the prompts are encoded and padded, before the
decoder builds its state, so a request too large for the machine is a one-line
`GenerationError` (with the limit `tfllm.limits.MAX_GENERATION_MB` and the variable that raises
it) instead of minutes of swapping and an out-of-memory crash.

The estimate counts, per decoded row (B rows, P prompt slots, N new slots, W cache slots, V ids):

- the model's cache for W slots, twice (the loop writes a new cache while reading the old one,
  and beam search gathers a copy at every step); its shapes come from tracing
  `model.build_cache(1, W)`, which allocates nothing, so this works for any model of the
  protocol;
- the history (P + N int32) and log-probabilities (N float32), twice (each step writes a copy);
- six (V,) float32 vectors: next logits, counts, processed logits, sorted logits, softmax and
  its cumulative sum;
- the prefill's (P, V) float32 logits;
- for an attention model (`num_heads`), one layer's (N_heads, P, W) scores and probabilities
  in the prefill; and (P, 8 x hidden_dim) float32 activations of one layer when the model has
  a `hidden_dim`.

It is an estimate, not a bound on what TensorFlow allocates: measured on 2 CPU cores with a
4-layer, 128-wide GPT, the peak grew 1.3x as fast as the estimate (XLA keeps other
temporaries), plus about 200 MB of compilation. The limit (8 GiB) leaves room for both on a
24 GB machine.

Example:

>>> from tfllm.models import GPT
>>> from tfllm.generation.decode_memory import decode_bytes
>>> model = GPT(vocabulary_size=85, sequence_length=128, num_layers=4, num_heads=4,
...             hidden_dim=128, intermediate_dim=512)
>>> round(decode_bytes(model, rows=1024, prompt_slots=8, new_slots=512) / 2**20)
1101
"""

import math

import tensorflow as tf

from tfllm.errors import GenerationError
from tfllm.limits import current_limit, megabytes, raise_hint


def cache_bytes_per_row(model, window, source_slots=None):
    """Bytes of `model.build_cache(1, window)`, from its traced shapes (nothing allocated).

    `source_slots`: for an encoder-decoder model, the source length S its cache is built for
    (the encoder's outputs or cross-attention keys and values are part of the cache)."""
    def build():
        if source_slots is None:
            return model.build_cache(1, window)
        return model.build_cache(1, window, source={
            "encoder_token_ids": tf.zeros([1, source_slots], tf.int32),
            "encoder_padding_mask": tf.ones([1, source_slots], tf.bool)})

    traced = tf.function(build).get_concrete_function()
    return sum(
        math.prod(int(d) for d in spec.shape) * spec.dtype.size
        for spec in tf.nest.flatten(traced.structured_outputs)
    )


def decode_bytes(model, rows, prompt_slots, new_slots, source_slots=None):
    """The estimated peak bytes of decoding `rows` rows (see the module docstring);
    `source_slots` for an encoder-decoder model."""
    slots = prompt_slots + new_slots
    limit = model.max_cache_length
    window = slots if limit is None else min(slots, limit)
    vocabulary = int(model.vocabulary_size)
    per_row = (
        2 * cache_bytes_per_row(model, window, source_slots)
        + 2 * (4 * slots + 4 * new_slots)
        + 6 * 4 * vocabulary
        + 4 * prompt_slots * vocabulary
        + 2 * 4 * int(getattr(model, "num_heads", 0) or 0) * prompt_slots * window
        + 4 * prompt_slots * 8 * int(getattr(model, "hidden_dim", 0) or 0)
    )
    return rows * per_row


def check_decode_memory(model, rows, prompt_slots, new_slots, max_new_tokens, source_slots=None):
    """Raises `GenerationError` if `decode_bytes` is over `MAX_GENERATION_MB`; returns the bytes."""
    estimate = decode_bytes(model, rows, prompt_slots, new_slots, source_slots)
    limit = current_limit("MAX_GENERATION_MB", GenerationError)
    if megabytes(estimate) > limit:
        raise GenerationError(
            f"Decoding {rows:,} row(s) of up to {prompt_slots:,} prompt and {new_slots:,} new "
            f"token slots with this model would take about {megabytes(estimate):,.0f} MB, over "
            f"the limit of {limit:,} MB; use fewer prompts or sequences, fewer new tokens or "
            f"shorter prompts, or {raise_hint('MAX_GENERATION_MB')}. Received: rows={rows}, "
            f"max_new_tokens={max_new_tokens}"
        )
    return estimate
