"""`ByteTokenizer`: one id per UTF-8 byte; nothing to learn, nothing unknown.

The vocabulary is the five special tokens `<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3,
`<mask>`=4, then the 256 byte values: byte b has id b + 5. Printable ASCII bytes are written as
themselves in `vocabulary`, the others as `<0xNN>` (the spelling SentencePiece uses for its byte
pieces). Tokenizing is tf-text's `ByteSplitter` (one kernel, no lookup table) plus an offset, so
every string, including invalid UTF-8, maps to ids and back without loss.
"""

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from tfllm.tokenizers.tokenizer import REPLACEMENT_CHARACTER, Tokenizer
from tfllm.tokenizers.tokenizer_utils import SPECIAL_TOKENS

NUM_BYTES = 256


def _byte_token(value):
    return chr(value) if 0x21 <= value <= 0x7E else f"<0x{value:02X}>"


BYTE_VOCABULARY = tuple(SPECIAL_TOKENS) + tuple(_byte_token(b) for b in range(NUM_BYTES))


class ByteTokenizer(Tokenizer):
    """Byte-level tokenizer: V = 261 (5 special ids, then the 256 bytes).

    Args:
        vocabulary: optional; if given it must be the fixed byte vocabulary (`BYTE_VOCABULARY`):
            the argument exists so that `tokenizer.json` loads like every other kind.
        name: name of the `tf.Module`.

    `detokenize` drops pad, bos and eos, writes U+FFFD for unk, mask and ids outside the
    vocabulary, and joins the bytes (it returns the exact bytes that were tokenized, even when
    they are not valid UTF-8).

    Example:

    >>> tokenizer = ByteTokenizer()
    >>> tokenizer.encode("Hé!")
    [77, 200, 174, 38]
    >>> tokenizer.decode(tokenizer.encode("Hé!"))
    'Hé!'
    >>> tokenizer.vocabulary_size
    261
    """

    kind = "byte"

    def __init__(self, vocabulary=None, *, pad_id=0, unk_id=1, bos_id=2, eos_id=3, mask_id=4,
                 name=None):
        if vocabulary is not None and tuple(vocabulary) != BYTE_VOCABULARY:
            raise ValueError(
                "A ByteTokenizer has a fixed vocabulary (5 special tokens, then the 256 bytes); "
                f"leave `vocabulary` out. Received: a vocabulary of {len(vocabulary)} tokens that "
                "differs from it"
            )
        if (pad_id, unk_id, bos_id, eos_id, mask_id) != (0, 1, 2, 3, 4):
            raise ValueError(
                "A ByteTokenizer's special ids are fixed at pad=0, unk=1, bos=2, eos=3, mask=4. "
                f"Received: {(pad_id, unk_id, bos_id, eos_id, mask_id)}"
            )
        super().__init__(BYTE_VOCABULARY, name=name)
        self._offset = len(SPECIAL_TOKENS)
        self._splitter = tf_text.ByteSplitter()
        # Id -> the bytes it stands for; pad/bos/eos write nothing, unk/mask write U+FFFD.
        pieces = [b""] * self._offset + [bytes([b]) for b in range(NUM_BYTES)]
        pieces[self.unk_id] = pieces[self.mask_id] = REPLACEMENT_CHARACTER.encode("utf-8")
        self._id_to_bytes = tf.constant(np.array(pieces, dtype=object), dtype=tf.string,
                                        name="id_to_bytes")

    @classmethod
    def from_texts(cls, texts=None):
        """The byte vocabulary needs no training: returns `ByteTokenizer()` (texts are ignored,
        so the trainer can build every kind the same way)."""
        return cls()

    def _tokenize_batch(self, strings):
        byte_values = self._splitter.split(strings)  # (B, None) uint8
        return byte_values.with_flat_values(
            tf.cast(byte_values.flat_values, tf.int32) + self._offset)  # (B, None) int32

    def _detokenize_batch(self, ids):
        flat = ids.flat_values
        # Clip, gather, then fix up: never rely on gather to reject an index (GPUs return 0).
        safe = tf.where((flat >= 0) & (flat < self.vocabulary_size), flat, self.unk_id)
        pieces = ids.with_flat_values(tf.gather(self._id_to_bytes, safe))  # (B, None) bytes
        return tf.strings.reduce_join(pieces, axis=-1)  # (B,)

    def unknown_characters(self, text):
        """Always `[]`: every character is a sequence of bytes."""
        return []
