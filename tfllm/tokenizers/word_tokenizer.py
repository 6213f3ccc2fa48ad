"""`WordTokenizer`: one id per word or punctuation mark, learned by frequency from training texts.

Splitting is tf-text's `regex_split`: a word is a run of letters, combining marks, digits and
apostrophes ("I'll", "o'er" stay whole); every other non-space character (".", ",", "-", "☃")
is a token of its own, and so is each newline; spaces and tabs only separate. Words are mapped
to ids through a `tf.lookup.StaticHashTable` (a resource: it travels into tf.data and into an
exported SavedModel). Words outside the vocabulary map to `unk_id`.

Learning counts the same tf-text tokens in Python, keeps those seen at least `min_frequency`
times, most frequent first (ties in code-point order), up to `max_vocabulary_size` ids
(the 5 special tokens included).

Detokenizing is not an exact inverse: it joins tokens with one space, drops the space before
closing punctuation (`. , ; : ! ? ) ] }`), after opening brackets and around newlines. Text made
of in-vocabulary words separated by single spaces comes back unchanged; other spacing does not.
"""

import collections

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tfllm.errors import CorpusError, TokenizerError
from tfllm.tokenizers.tokenizer import REPLACEMENT_CHARACTER, Tokenizer
from tfllm.tokenizers.tokenizer_utils import (
    SPECIAL_TOKENS,
    WORD_DELIMITER_PATTERN,
    WORD_KEEP_PATTERN,
    join_words,
    training_lines,
)
from tfllm.validation import check_bool, check_int_at_least, check_positive_int

# Lines tokenized per TensorFlow call while counting words.
_COUNT_BATCH = 4096


def split_words(strings, lowercase=False):
    """(B,) tf.string -> (B, None) tf.string words and punctuation marks (see the module doc)."""
    if lowercase:
        strings = tf.strings.lower(strings, encoding="utf-8")
    return tf_text.regex_split(strings, WORD_DELIMITER_PATTERN, WORD_KEEP_PATTERN)


class WordTokenizer(Tokenizer):
    """Word-level tokenizer with punctuation as tokens and an unknown token.

    Args:
        vocabulary: list of tokens, index = id: the special tokens, then words.
        lowercase: lower-case text before splitting (learning and tokenizing alike).
        pad_id, unk_id, bos_id, eos_id, mask_id: ids of the special tokens (default 0-4).

    `detokenize` drops pad, bos and eos and writes U+FFFD for unk, mask and ids outside the
    vocabulary.

    Example:

    >>> tokenizer = WordTokenizer.from_texts(["To be, or not to be: that is the question."])
    >>> tokenizer.vocabulary[5:10]
    ['be', ',', '.', ':', 'To']
    >>> tokenizer.decode(tokenizer.encode("to be, or not"))
    'to be, or not'
    >>> tokenizer.encode("be quick") == [5, tokenizer.unk_id]
    True
    """

    kind = "word"

    def __init__(self, vocabulary, *, lowercase=False, pad_id=0, unk_id=1, bos_id=2, eos_id=3,
                 mask_id=4, name=None):
        super().__init__(vocabulary, pad_id=pad_id, unk_id=unk_id, bos_id=bos_id, eos_id=eos_id,
                         mask_id=mask_id, name=name)
        self._lowercase = check_bool("lowercase", lowercase)
        special = set(self.special_ids.values())
        words = [(token, token_id) for token_id, token in enumerate(self._vocabulary)
                 if token_id not in special]
        keys = np.array([w.encode("utf-8") for w, _ in words] or [b""], dtype=object)
        values = np.array([i for _, i in words] or [self.unk_id], dtype=np.int32)
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(keys, tf.string), tf.constant(values)),
            default_value=self.unk_id,
        )
        # Id -> text; pad/bos/eos are removed before joining, unk/mask read U+FFFD.
        pieces = list(self._vocabulary)
        pieces[self.unk_id] = pieces[self.mask_id] = REPLACEMENT_CHARACTER
        self._id_to_word = tf.constant(pieces, dtype=tf.string, name="id_to_word")
        dropped = np.zeros([self.vocabulary_size], dtype=bool)
        dropped[[self.pad_id, self.bos_id, self.eos_id]] = True
        self._dropped_ids = tf.constant(dropped, name="dropped_ids")

    @property
    def lowercase(self):
        return self._lowercase

    @classmethod
    def from_texts(cls, texts, *, max_vocabulary_size=20000, min_frequency=1, lowercase=False):
        """Learns the vocabulary from `texts` (a str or an iterable of str).

        Args:
            texts: the training texts.
            max_vocabulary_size: most ids, the 5 special tokens included (>= 6).
            min_frequency: a word seen fewer times maps to unk (>= 1).
            lowercase: lower-case before counting (and then before tokenizing).

        Raises `CorpusError` for empty or all-whitespace texts (saying how many were read).
        """
        max_vocabulary_size = check_int_at_least("max_vocabulary_size", max_vocabulary_size,
                                                 len(SPECIAL_TOKENS) + 1, error=TokenizerError)
        min_frequency = check_positive_int("min_frequency", min_frequency)
        # Lines keep their newline: "\n" is a token, counted like any word.
        lines = training_lines(texts, cls.kind, keepends=True)
        counts = collections.Counter()
        for start in range(0, len(lines), _COUNT_BATCH):
            words = split_words(tf.constant(lines[start:start + _COUNT_BATCH]), lowercase)
            counts.update(words.flat_values.numpy().tolist())
        kept = sorted(((-n, w.decode("utf-8")) for w, n in counts.items() if n >= min_frequency))
        kept = [word for _, word in kept if word not in SPECIAL_TOKENS]
        if not kept:
            raise CorpusError(
                f"No word occurs {min_frequency} times in the training texts; lower "
                f"min_frequency. Received: min_frequency={min_frequency}"
            )
        kept = kept[:max_vocabulary_size - len(SPECIAL_TOKENS)]
        return cls(list(SPECIAL_TOKENS) + kept, lowercase=lowercase)

    def _extra_config(self):
        return {"lowercase": self._lowercase}

    def unknown_characters(self, text):
        """Sorted distinct characters of `text` that occur in no vocabulary word (so every
        word holding one maps to `unk_id`). The base class tokenizes each character alone,
        which for words would call every letter that is not itself a word ("r", "y")
        unknown: `generate` would then refuse `banned_words=["marry"]` and strip those
        letters from a prompt. Spaces and tabs only separate words, so they are known."""
        if not hasattr(self, "_known_characters"):
            known = "".join(self._vocabulary[len(SPECIAL_TOKENS):]) + " \t\n\r"
            if self._lowercase:
                known += known.upper()
            self._known_characters = frozenset(known)
        return sorted(set(text) - self._known_characters)

    def _tokenize_batch(self, strings):
        words = split_words(strings, self._lowercase)  # (B, None) tf.string
        return words.with_flat_values(self._table.lookup(words.flat_values))  # (B, None) int32

    def _detokenize_batch(self, ids):
        flat = ids.flat_values
        in_range = (flat >= 0) & (flat < self.vocabulary_size)
        safe = tf.where(in_range, flat, self.unk_id)
        keep = ids.with_flat_values(~tf.gather(self._dropped_ids, safe))
        words = tf.ragged.boolean_mask(ids.with_flat_values(tf.gather(self._id_to_word, safe)), keep)
        return join_words(words)  # (B,)
