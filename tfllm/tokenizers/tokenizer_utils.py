"""Helpers shared by the learned tokenizers: the special tokens, reading training texts, the
error for a vocabulary larger than the corpus supports, and joining word-level tokens back into
text.

Every learned tokenizer puts the five special tokens first, so the ids `<pad>`=0, `<unk>`=1,
`<bos>`=2, `<eos>`=3, `<mask>`=4 are the same whatever the kind.
"""

import numpy as np
import tensorflow as tf

from tfllm.errors import CorpusError, TokenizerError
from tfllm.validation import check_positive_int

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>", "<mask>")

# A word is a run of letters, combining marks, digits and apostrophes (so "I'll" and "o'er" stay
# whole); every other non-space character is a token of its own, and so is each newline (word
# models of verse need the line breaks). RE2 syntax, as tf-text's `regex_split` takes it.
PUNCTUATION_PATTERN = r"[^\s\p{L}\p{M}\p{N}']"
WORD_DELIMITER_PATTERN = r"[^\S\n]+|\n|" + PUNCTUATION_PATTERN
WORD_KEEP_PATTERN = r"\n|" + PUNCTUATION_PATTERN


def training_lines(texts, kind, keepends=False):
    """The non-blank lines of `texts` (a str or an iterable of str), for a vocabulary learner;
    with `keepends`, each keeps its line break.

    Raises `TypeError` for a non-string item and `CorpusError` when no line holds anything but
    whitespace, saying how many texts and lines were read.
    """
    if isinstance(texts, str):
        texts = [texts]
    if texts is None:
        raise CorpusError(
            f"Cannot learn a {kind} vocabulary without training texts. Received: texts=None"
        )
    lines = []
    num_texts = num_lines = 0
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(
                f"A {kind} tokenizer learns from strings. Received: an item of type "
                f"{type(text).__name__}"
            )
        num_texts += 1
        for line in text.splitlines(keepends=keepends):
            num_lines += 1
            if line.strip():
                lines.append(line)
    if not lines:
        raise CorpusError(
            f"Cannot learn a {kind} vocabulary: the training texts are empty or all whitespace "
            f"(read {num_texts} text(s), {num_lines} line(s)). Give texts with words in them. "
            f"Received: {num_texts} text(s)"
        )
    return lines


def too_large_error(kind, requested, supported, detail=""):
    return TokenizerError(
        f"vocabulary_size={requested} is more than this corpus supports for a {kind} tokenizer "
        f"(about {supported} pieces{detail}); ask for at most {supported} or give more text. "
        f"Received: vocabulary_size={requested}"
    )


def join_words(words):
    """(B, None) tf.string words -> (B,) text: spaces between words, none before closing
    punctuation or around newlines, none after opening brackets."""
    return tidy_spacing(tf.strings.reduce_join(words, axis=-1, separator=" "))  # (B,)


def tidy_spacing(text):
    """Removes the spaces that `join_words` would not have written (see there)."""
    text = tf.strings.regex_replace(text, r" ?\n ?", "\n")
    text = tf.strings.regex_replace(text, r" ([.,;:!?)\]}])", r"\1")
    return tf.strings.regex_replace(text, r"([(\[{]) ", r"\1")


def tokenize_in_chunks(tokenizer, text, chunk_characters=65536):
    """Tokenizes `text` (eagerly) into a 1-D int32 NumPy array, cut after a newline about every
    `chunk_characters` characters and run as one batch.

    Subword ops run far faster on many mid-sized strings than on one 5 MB string, and no tfllm
    tokenizer lets a token span a newline, so the ids equal those of the whole text (tested for
    every kind).
    """
    check_positive_int("chunk_characters", chunk_characters)
    chunks = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + chunk_characters - 1)
        end = len(text) if end == -1 else end + 1  # the newline ends its chunk
        chunks.append(text[start:end])
        start = end
    if not chunks:
        return np.zeros([0], dtype=np.int32)
    return np.asarray(tokenizer.tokenize(chunks).flat_values.numpy(), dtype=np.int32)
