"""`tokenizer_stats`: how a tokenizer cuts a text (tokens, characters per token, unknown rate,
the most frequent pieces); what `tfllm tokenizer stats` prints.

Characters per token measured here, on the evaluated text, is what turns a model's loss per
token into bits per character: bits/char = nats/token / ln 2 / (characters per token).

Example:

>>> from tfllm.tokenizers import ByteTokenizer
>>> stats = tokenizer_stats(ByteTokenizer(), "héllo")
>>> stats["tokens"], stats["characters"], round(stats["characters_per_token"], 3)
(6, 5, 0.833)
"""

import numpy as np

from tfllm.errors import CorpusError
from tfllm.tokenizers.tokenizer_utils import tokenize_in_chunks


def characters_per_token(tokenizer, text):
    """Characters (code points) of `text` per token that `tokenizer` gives it (> 0)."""
    return tokenizer_stats(tokenizer, text, top=0)["characters_per_token"]


def tokenizer_stats(tokenizer, text, *, top=10):
    """Statistics of `tokenizer` on `text`.

    Args:
        tokenizer: any `Tokenizer`.
        text: the text to measure (a str; tokenized in line-aligned chunks).
        top: how many of the most frequent pieces to list.

    Returns:
        dict: `kind`, `vocabulary_size`, `fingerprint`, `characters`, `tokens`,
        `characters_per_token`, `unknown_tokens`, `unknown_rate` (unknown tokens / tokens),
        `pieces_used` (distinct ids seen), `top_pieces` (list of `{"piece", "id", "count",
        "share"}`, most frequent first, ties by id).
    """
    if not isinstance(text, str) or not text.strip():
        raise CorpusError(
            "Cannot measure a tokenizer on an empty text: give text with words in it. "
            f"Received: text of {len(text) if isinstance(text, str) else type(text).__name__} "
            "characters"
        )
    ids = tokenize_in_chunks(tokenizer, text)
    counts = np.bincount(ids, minlength=tokenizer.vocabulary_size)
    tokens = int(len(ids))
    order = np.lexsort((np.arange(len(counts)), -counts))[:top]
    vocabulary = tokenizer.vocabulary
    return {
        "kind": tokenizer.kind,
        "vocabulary_size": tokenizer.vocabulary_size,
        "fingerprint": tokenizer.fingerprint,
        "characters": len(text),
        "tokens": tokens,
        "characters_per_token": len(text) / tokens,
        "unknown_tokens": int(counts[tokenizer.unk_id]),
        "unknown_rate": float(counts[tokenizer.unk_id]) / tokens,
        "pieces_used": int((counts > 0).sum()),
        "top_pieces": [
            {"piece": vocabulary[i], "id": int(i), "count": int(counts[i]),
             "share": float(counts[i]) / tokens}
            for i in order if counts[i] > 0
        ],
    }
