"""Checking `generate`'s decoding options, and the static `DecodeSpec` they imply.

Every option is validated before anything is allocated, with a `GenerationError` that names
it, the value received and what is expected; `checked_options` draws a random seed for None.

Example:

>>> options = checked_options(max_new_tokens=8, min_new_tokens=0, temperature=0.0, top_k=0,
...     top_p=1.0, repetition_penalty=1.0, presence_penalty=0.0, frequency_penalty=0.0,
...     no_repeat_ngram_size=0, num_return_sequences=1, num_beams=1, length_penalty=1.0,
...     seed=1, streaming=False)
>>> options.max_new_tokens, options.seed
(8, 1)
"""

import math
import numbers
import types

import numpy as np

from tfllm.errors import GenerationError
from tfllm.generation.decode_spec import DecodeSpec
from tfllm.generation.prompt_utils import encode_phrases
from tfllm.limits import check_at_most


def checked_options(*, max_new_tokens, min_new_tokens, temperature, top_k, top_p,
                     repetition_penalty, presence_penalty, frequency_penalty,
                     no_repeat_ngram_size, num_return_sequences, num_beams, length_penalty,
                     seed, streaming):
    """`generate`'s decoding options, checked and converted (a random seed drawn for None)."""
    max_new_tokens = check_at_most(
        "max_new_tokens", check_int("max_new_tokens", max_new_tokens, 1), "MAX_NEW_TOKENS",
        "new tokens per continuation", GenerationError)
    min_new_tokens = check_int("min_new_tokens", min_new_tokens, 0)
    if min_new_tokens > max_new_tokens:
        raise GenerationError(
            f"min_new_tokens cannot exceed max_new_tokens ({max_new_tokens}). "
            f"Received: min_new_tokens={min_new_tokens}"
        )
    options = types.SimpleNamespace(
        max_new_tokens=max_new_tokens,
        min_new_tokens=min_new_tokens,
        temperature=check_float("temperature", temperature, 0.0, 1e6),
        top_k=check_int("top_k", top_k, 0),
        top_p=check_float("top_p", top_p, 0.0, 1.0, low_open=True),
        repetition_penalty=check_float("repetition_penalty", repetition_penalty, 0.0, 1e6,
                                        low_open=True),
        presence_penalty=check_float("presence_penalty", presence_penalty, -1e6, 1e6),
        frequency_penalty=check_float("frequency_penalty", frequency_penalty, -1e6, 1e6),
        no_repeat_ngram_size=check_int("no_repeat_ngram_size", no_repeat_ngram_size, 0),
        num_return_sequences=check_int("num_return_sequences", num_return_sequences, 1),
        num_beams=check_int("num_beams", num_beams, 1),
        length_penalty=check_float("length_penalty", length_penalty, -1e6, 1e6),
    )
    if options.num_beams > 1 and options.num_return_sequences > options.num_beams:
        raise GenerationError(
            f"num_return_sequences cannot exceed num_beams ({options.num_beams}) with beam "
            f"search. Received: num_return_sequences={options.num_return_sequences}"
        )
    if options.num_beams > 1 and streaming:
        raise GenerationError(
            "stream is not available with beam search: the best beam is known only at the end. "
            f"Received: num_beams={options.num_beams} with a stream callback"
        )
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    options.seed = check_int("seed", seed, 0)
    return options


def check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise GenerationError(
            f"{name} must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


def check_float(name, value, low, high, low_open=False):
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if valid:
        valid = (value > low if low_open else value >= low) and value <= high
    if not valid:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise GenerationError(f"{name} must be a number in {interval}. Received: {name}={value!r}")
    return float(value)


def decode_spec(tokenizer, options, banned_words, stop):
    """The compile-time half of the decoding set-up: ids, phrases and which controls are on."""
    return DecodeSpec(
        pad_id=tokenizer.pad_id,
        eos_id=tokenizer.eos_id,
        never_ids=tuple(
            sorted({tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.mask_id})
        ),
        banned_sequences=encode_phrases(tokenizer, banned_words, "banned_words"),
        stop_sequences=encode_phrases(tokenizer, stop, "stop"),
        no_repeat_ngram_size=options.no_repeat_ngram_size,
        sampling=options.temperature > 0 and options.num_beams == 1,
        top_k=options.top_k > 0,
        top_p=options.top_p < 1.0,
        penalties=(options.repetition_penalty != 1.0 or options.presence_penalty != 0
                   or options.frequency_penalty != 0),
    )
