"""`CharTokenizer`: one id per Unicode character (code point), learned from training texts.

The vocabulary is the five special tokens `<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3, `<mask>`=4,
then every character of the training texts in code-point order. Tokenizing decodes UTF-8 to code
points with `tf.strings.unicode_decode` and maps them through a dense int32 table indexed by code
point (measured at 42 MB/s on short lines and 164 MB/s on 1 KB chunks on a 2-core CPU, against
24 / 40 MB/s for `unicode_split` + a string hash table). Detokenizing gathers code points by id and
encodes them with `tf.strings.unicode_encode`.
"""

import collections
import types

import numpy as np
import tensorflow as tf

from tfllm.errors import CorpusError
from tfllm.tokenizers.tokenizer import REPLACEMENT_CHARACTER, Tokenizer
from tfllm.tokenizers.tokenizer_inputs import short_repr
from tfllm.validation import check_positive_int

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>", "<mask>")
REPLACEMENT_CODE_POINT = ord(REPLACEMENT_CHARACTER)


class CharTokenizer(Tokenizer):
    """Character-level tokenizer: each code point of the vocabulary is one id.

    Args:
        vocabulary: list of tokens, index = id: the special tokens (any strings), and otherwise
            single characters.
        pad_id, unk_id, bos_id, eos_id, mask_id: ids of the special tokens (default 0-4).

    Characters outside the vocabulary tokenize to `unk_id`, as does invalid UTF-8 (decoded as
    U+FFFD first). `detokenize` drops pad, bos and eos and writes U+FFFD for unk and mask.

    Example:

    >>> tokenizer = CharTokenizer.from_texts(["To be, or not to be"])
    >>> tokenizer.vocabulary[:7]
    ['<pad>', '<unk>', '<bos>', '<eos>', '<mask>', ' ', ',']
    >>> tokenizer.encode("be!")
    [8, 9, 1]
    >>> tokenizer.decode(tokenizer.encode("to be"))
    'to be'
    """

    kind = "char"

    def __init__(self, vocabulary, *, pad_id=0, unk_id=1, bos_id=2, eos_id=3, mask_id=4, name=None):
        super().__init__(vocabulary, pad_id=pad_id, unk_id=unk_id, bos_id=bos_id, eos_id=eos_id,
                         mask_id=mask_id, name=name)
        special = set(self.special_ids.values())
        characters = {}
        for token_id, token in enumerate(self._vocabulary):
            if token_id in special:
                continue
            if len(token) != 1:
                raise ValueError(
                    "A CharTokenizer vocabulary holds single characters besides the special tokens. "
                    f"Received: vocabulary[{token_id}]={token!r}"
                )
            characters[token] = token_id
        self._char_to_id = types.MappingProxyType(characters)

        # Code point -> id, dense; code points not in the vocabulary map to unk. Sized by the
        # largest code point in the vocabulary (at most 0x110000 entries, 4.4 MB).
        table_size = max((ord(c) for c in characters), default=0) + 1
        codepoint_to_id = np.full([table_size], self.unk_id, dtype=np.int32)
        for character, token_id in characters.items():
            codepoint_to_id[ord(character)] = token_id
        # Id -> code point; specials become U+FFFD (pad/bos/eos are removed before encoding).
        id_to_codepoint = np.full([self.vocabulary_size], REPLACEMENT_CODE_POINT, dtype=np.int32)
        for character, token_id in characters.items():
            id_to_codepoint[token_id] = ord(character)
        dropped = np.zeros([self.vocabulary_size], dtype=bool)
        dropped[[self.pad_id, self.bos_id, self.eos_id]] = True

        self._table_size = table_size
        self._codepoint_to_id = tf.constant(codepoint_to_id, name="codepoint_to_id")
        self._id_to_codepoint = tf.constant(id_to_codepoint, name="id_to_codepoint")
        self._dropped_ids = tf.constant(dropped, name="dropped_ids")

    @classmethod
    def from_texts(cls, texts, *, min_frequency=1):
        """Learns the vocabulary from the characters of `texts` (a str or an iterable of str).

        Characters seen fewer than `min_frequency` times are left out (they will map to unk).
        Raises `CorpusError` when there are no texts or they hold no characters.
        """
        min_frequency = check_positive_int("min_frequency", min_frequency)
        if isinstance(texts, str):
            texts = [texts]
        counts = collections.Counter()
        num_texts = 0
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(
                    f"from_texts takes strings. Received: an item {short_repr(text)} of type "
                    f"{type(text).__name__}"
                )
            counts.update(text)
            num_texts += 1
        if not counts:
            raise CorpusError(
                "Cannot learn a character vocabulary: the training texts are empty. "
                f"Received: {num_texts} text(s) with 0 characters"
            )
        characters = sorted(c for c, n in counts.items() if n >= min_frequency)
        if not characters:
            raise CorpusError(
                f"No character occurs {min_frequency} times in the training texts; lower "
                f"min_frequency. Received: min_frequency={min_frequency}"
            )
        return cls(list(SPECIAL_TOKENS) + characters)

    def _tokenize_batch(self, strings):
        codepoints = tf.strings.unicode_decode(
            strings, "UTF-8", errors="replace", replacement_char=REPLACEMENT_CODE_POINT
        )  # (B, None) int32
        flat = codepoints.flat_values
        # Clip, gather, then fix up: never rely on gather to reject an index (GPUs return 0).
        ids = tf.gather(self._codepoint_to_id, tf.minimum(flat, self._table_size - 1))
        ids = tf.where(flat < self._table_size, ids, self.unk_id)
        return codepoints.with_flat_values(ids)  # (B, None)

    def _detokenize_batch(self, ids):
        flat = ids.flat_values
        in_range = (flat >= 0) & (flat < self.vocabulary_size)
        safe = tf.clip_by_value(flat, 0, self.vocabulary_size - 1)
        codepoints = tf.where(in_range, tf.gather(self._id_to_codepoint, safe), REPLACEMENT_CODE_POINT)
        keep = ~(in_range & tf.gather(self._dropped_ids, safe))
        codepoints = tf.ragged.boolean_mask(ids.with_flat_values(codepoints), ids.with_flat_values(keep))
        return tf.strings.unicode_encode(codepoints, "UTF-8")  # (B,)

    def unknown_characters(self, text):
        """Sorted distinct characters of `text` that are not in the vocabulary."""
        return sorted({c for c in text if c not in self._char_to_id})
