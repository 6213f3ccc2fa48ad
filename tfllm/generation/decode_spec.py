"""`DecodeSpec` and `default_controls`: the static and the tensor halves of a decoding request.

The spec shapes the traced decode graph (which controls exist, which ids are banned); the
controls are tensors, so changing their values never retraces (`tfllm.generation.CachedDecoder`).

Example:

>>> spec = DecodeSpec(pad_id=0, eos_id=3, sampling=False)
>>> sorted(default_controls(max_new_tokens=8))[:3]
['frequency_penalty', 'max_new_tokens', 'min_new_tokens']
"""

import dataclasses

import tensorflow as tf

# Why a row stopped (`finish` in the decode state).
FINISH_LENGTH, FINISH_EOS, FINISH_STOP = 0, 1, 2
FINISH_REASONS = {FINISH_LENGTH: "length", FINISH_EOS: "eos", FINISH_STOP: "stop"}


@dataclasses.dataclass(frozen=True)
class DecodeSpec:
    """The static part of a decoding request: what shapes the traced graph.

    Attributes:
        pad_id, eos_id: special ids; a finished row is filled with `pad_id`.
        never_ids: ids never generated (padding, unknown, start, mask tokens).
        banned_sequences: tuples of ids that must never appear in the output; a 1-tuple bans
            a token.
        stop_sequences: tuples of ids that end a row (not included in its output).
        no_repeat_ngram_size: n > 0 forbids repeating any n-gram of the history; 0 is off.
        sampling, top_k, top_p, penalties: which controls the graph contains. Their values are
            tensors (changing them does not retrace); turning one off leaves its ops out of
            the loop, because at a few microseconds per step every op counts. With
            `sampling=False` decoding is greedy whatever the temperature.
    """

    pad_id: int
    eos_id: int
    never_ids: tuple = ()
    banned_sequences: tuple = ()
    stop_sequences: tuple = ()
    no_repeat_ngram_size: int = 0
    sampling: bool = True
    top_k: bool = True
    top_p: bool = True
    penalties: bool = True


def default_controls(**overrides):
    """The sampling controls as tensors, defaults filled in (greedy, no penalties).

    Keys: temperature, top_k, top_p, repetition_penalty, presence_penalty, frequency_penalty,
    min_new_tokens, max_new_tokens, seed ((2,) int32). Values are validated by
    `tfllm.generation.generate`; this only converts them.
    """
    values = {
        "temperature": 0.0,
        "top_k": 0,
        "top_p": 1.0,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "min_new_tokens": 0,
        "max_new_tokens": 1,
        "seed": (0, 0),
    }
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ValueError(f"Unknown decoding controls {unknown}. Expected some of {sorted(values)}")
    values.update(overrides)
    integer_keys = ("top_k", "min_new_tokens", "max_new_tokens", "seed")
    return {
        key: tf.constant(value, tf.int32 if key in integer_keys else tf.float32)
        for key, value in values.items()
    }
