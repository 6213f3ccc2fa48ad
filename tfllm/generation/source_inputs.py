"""Inputs of an encoder-decoder model to the decoder: the source batch and the start-id prompts.

For an encoder-decoder model (`tfllm.models.Seq2SeqLanguageModel`) `generate`'s strings are the
*sources*: each is tokenized (no start or end id: the pair pipeline trains the encoder on bare
ids), right-padded into a shape bucket of at most `model.source_length` slots with a padding
mask, and the decoder starts every row from the start id alone. Documented choices:

- An empty or blank source (also once characters outside the vocabulary are dropped) is
  refused: there is nothing to transform.
- A source longer than `model.source_length` tokens is refused, not truncated: cutting it would
  silently leave its end untransformed. The error says how long it is and how to split it.
- At most `model.target_length - 1` new tokens (the start id takes the first of the model's
  `target_length` positions); None asks for all of them.

Example:

>>> from tfllm.tokenizers import build_tokenizer
>>> tokenizer = build_tokenizer("char", ["to be or not to be"])
>>> rows = source_rows(tokenizer, ["to be", "or not"], source_length=16, unknown="drop", copies=1)
>>> source = right_padded_source(rows, tokenizer.pad_id, source_length=16)
>>> source["encoder_token_ids"].shape, int(source["encoder_padding_mask"][0].sum())
((2, 8), 5)
"""

import numpy as np

from tfllm.errors import GenerationError
from tfllm.generation.prompt_utils import bucket, encode_prompt


def source_rows(tokenizer, inputs, *, source_length, unknown, copies):
    """`[(input, ids, 0)]`: each input's ids, refused if empty or longer than `source_length`,
    repeated `copies` times (the rows of `tfllm.generation.prompt_utils.prompt_rows`)."""
    rows = []
    for index, (text, ids) in enumerate(zip(inputs, tokenizer.tokenize(inputs).to_list())):
        if tokenizer.unk_id in ids:
            ids, _ = encode_prompt(tokenizer, text, unknown=unknown)
            ids = [i for i in ids if i != tokenizer.bos_id]
        if not ids or not tokenizer.decode(ids).strip():
            raise GenerationError(
                f"Input {index + 1} is empty (or blank once characters the tokenizer does not "
                f"know are dropped): an encoder-decoder model needs text to transform. "
                f"Received: {text!r}"
            )
        if len(ids) > source_length:
            raise GenerationError(
                f"Input {index + 1} has {len(ids):,} tokens; this model reads at most "
                f"{source_length:,} (its source_length), and tfllm does not cut inputs, which "
                f"would leave their end untransformed. Split it into shorter lines. "
                f"Received: {text[:60]!r}{'...' if len(text) > 60 else ''}"
            )
        rows.append((text, ids, 0))
    return [row for row in rows for _ in range(copies)]


def right_padded_source(rows, pad_id, source_length):
    """`{"encoder_token_ids": (B, S) int32, "encoder_padding_mask": (B, S) bool}` for `rows`.

    S is the bucket of the longest source (at least 8, at most `source_length`), so sources of
    similar lengths reuse one compiled decoding loop.
    """
    slots = min(bucket(max(len(ids) for _, ids, _ in rows), minimum=8), source_length)
    token_ids = np.full((len(rows), slots), pad_id, np.int32)
    for row, (_, ids, _) in enumerate(rows):
        token_ids[row, :len(ids)] = ids
    mask = np.arange(slots)[None, :] < np.array([len(ids) for _, ids, _ in rows])[:, None]
    return {"encoder_token_ids": token_ids, "encoder_padding_mask": mask}


def start_prompts(rows, bos_id):
    """`(prompt_ids (B, 1) int32, first_real (B,) int32)`: every target starts at the start id."""
    return np.full((len(rows), 1), bos_id, np.int32), np.zeros((len(rows),), np.int32)


def check_target_room(model, max_new_tokens):
    """`max_new_tokens` for an encoder-decoder model: None -> all its target positions but the
    start id's; more than that is refused."""
    room = int(model.target_length) - 1
    if max_new_tokens is None:
        return room
    if max_new_tokens > room:
        raise GenerationError(
            f"max_new_tokens={max_new_tokens:,} is more than this encoder-decoder model can "
            f"write: {room:,} tokens (its target_length {model.target_length} minus the start "
            f"id). Received: max_new_tokens={max_new_tokens}"
        )
    return max_new_tokens
