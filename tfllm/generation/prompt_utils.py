"""Prompts to the decoder's input: encoding, unknown characters, cropping, left padding.

`generate` encodes every prompt (dropping or refusing characters outside the vocabulary),
crops it from the left to the model's context, and left-pads the batch into a shape bucket (a
power of two), so that calls with prompts of similar length reuse one compiled decoding loop.
Banned words and stop sequences are encoded here too, and refused when the tokenizer cannot
spell them.
"""

import numpy as np

from tfllm.errors import GenerationError


def encode_prompt(tokenizer, prompt, *, unknown="drop"):
    """Token ids of `prompt`, with characters outside the vocabulary dropped or refused.

    Args:
        tokenizer: a `tfllm.tokenizers.Tokenizer`.
        prompt: the prompt string. An empty prompt starts from the tokenizer's `bos_id`.
        unknown: "drop" removes characters the tokenizer does not know (a model has never seen
            them, so the unknown id would only add noise); "error" raises `GenerationError`.
    Returns:
        (list of int ids, sorted list of the unknown characters found).
    """
    if unknown not in ("drop", "error"):
        raise GenerationError(f"unknown must be 'drop' or 'error'. Received: unknown={unknown!r}")
    missing = tokenizer.unknown_characters(prompt)
    if missing and unknown == "error":
        raise GenerationError(
            f"The prompt contains characters that are not in the tokenizer's vocabulary: "
            f"{''.join(missing)!r}. Remove them or pass unknown='drop'. Received: prompt={prompt!r}"
        )
    missing_set = set(missing)
    cleaned = "".join(ch for ch in prompt if ch not in missing_set)
    ids = tokenizer.encode(cleaned) if cleaned else []
    if not ids:
        ids = [tokenizer.bos_id]
    return ids, missing


def encode_phrases(tokenizer, phrases, argument):
    """Token-id tuples of banned words or stop sequences; refuses what cannot be encoded."""
    if isinstance(phrases, str):
        phrases = [phrases]
    encoded = []
    for phrase in phrases:
        if not isinstance(phrase, str) or not phrase:
            raise GenerationError(
                f"{argument} must be non-empty strings. Received: {argument} item {phrase!r}"
            )
        missing = tokenizer.unknown_characters(phrase)
        ids = tokenizer.encode(phrase)
        if missing or not ids or tokenizer.unk_id in ids:
            raise GenerationError(
                f"{argument} item {phrase!r} cannot be encoded by the model's tokenizer "
                f"(it has no token for {''.join(missing) or 'part of it'!r}), so it could never "
                f"be matched. Use text made of characters the model knows."
            )
        encoded.append(tuple(ids))
    return tuple(encoded)


def bucket(length, minimum=16):
    """The shape bucket of a length: the next power of two (at least `minimum`)."""
    return max(minimum, 1 << (max(length, 1) - 1).bit_length())


def prompt_rows(tokenizer, prompts, *, limit, unknown, copies):
    """`[(prompt, ids, cropped)]`: each prompt's ids cropped to `limit`, repeated `copies` times.

    `cropped` is the number of tokens dropped from the left (a prompt longer than the context
    keeps its last `limit` tokens; `limit` None keeps all).
    """
    rows = []
    for prompt, ids in zip(prompts, tokenizer.tokenize(prompts).to_list()):
        if not ids or tokenizer.unk_id in ids:  # the rare case, one prompt at a time
            ids, _ = encode_prompt(tokenizer, prompt, unknown=unknown)
        cropped = max(0, len(ids) - limit) if limit is not None else 0
        rows.append((prompt, ids[cropped:], cropped))
    return [row for row in rows for _ in range(copies)]


def left_padded(rows, pad_id, limit):
    """`(prompt_ids (B, P) int32, first_real (B,) int32)` for the rows of `prompt_rows`.

    P is the bucket of the longest prompt (at least 8, at most `limit`); each row's ids end at
    the last slot and `first_real` is the slot of its first real token.
    """
    longest = max(len(ids) for _, ids, _ in rows)
    prompt_slots = bucket(longest, minimum=8)
    if limit is not None:
        prompt_slots = min(prompt_slots, limit)
    prompt_ids = np.full((len(rows), prompt_slots), pad_id, np.int32)
    first_real = np.zeros((len(rows),), np.int32)
    for row, (_, ids, _) in enumerate(rows):
        prompt_ids[row, prompt_slots - len(ids):] = ids  # left padding
        first_real[row] = prompt_slots - len(ids)
    return prompt_ids, first_real
