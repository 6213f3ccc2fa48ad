"""`WordPieceTokenizer`: BERT's subword scheme, learned and run entirely by tf-text.

Learning is tf-text's `bert_vocab_from_dataset` (BERT's basic pre-tokenizer: split on whitespace
and punctuation, then a binary search for the count threshold whose word pieces make up about
`vocabulary_size` tokens, within its 5% slack). Running is tf-text's `FastWordpieceTokenizer`
(linear-time, with its own end-to-end pre-tokenization, measured at about 40 MB/s on short lines
and 120 MB/s on 1 KB chunks on a 2-core CPU). Continuation pieces start with "##"; a word that
cannot be spelt with the pieces becomes one `<unk>`.

This is tfllm's one WordPiece implementation. It is a `Tokenizer` like the others, so any of
tfllm's language models trains on its ids: `tfllm tokenizer train --kind wordpiece --output DIR`,
then `tfllm train --set data.tokenizer=DIR`.

Whitespace, newlines included, only separates words. `detokenize` joins words with one space and
tidies the spacing around punctuation as `WordTokenizer` does; unk and mask read `<unk>` and
`<mask>`; ids outside the vocabulary read `<unk>`.
"""

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

from tfllm.errors import TokenizerError
from tfllm.tokenizers.tokenizer import Tokenizer
from tfllm.tokenizers.tokenizer_utils import (
    SPECIAL_TOKENS,
    tidy_spacing,
    too_large_error,
    training_lines,
)
from tfllm.validation import check_bool, check_int_at_least

SUFFIX_INDICATOR = "##"
# bert_vocab_from_dataset stops its threshold search within 5% of the target size (its default
# slack_ratio); fewer than 90% of the requested pieces means the corpus ran out of candidates.
_SHORTFALL = 0.9
# Lines per batch fed to the vocabulary learner.
_LEARN_BATCH = 1024


class WordPieceTokenizer(Tokenizer):
    """WordPiece tokenizer (tf-text `FastWordpieceTokenizer`).

    Args:
        vocabulary: list of pieces, index = id: the special tokens, then pieces ("##" marks a
            piece that continues a word).
        lowercase: lower-case text before tokenizing (and before learning).
        pad_id, unk_id, bos_id, eos_id, mask_id: ids of the special tokens (default 0-4).

    Example:

    >>> texts = ["To be, or not to be: that is the question."] * 3
    >>> tokenizer = WordPieceTokenizer.from_texts(texts, vocabulary_size=40)
    >>> tokenizer.decode(tokenizer.encode("to be, or not"))
    'to be, or not'
    >>> tokenizer.vocabulary[:5]
    ['<pad>', '<unk>', '<bos>', '<eos>', '<mask>']
    """

    kind = "wordpiece"

    def __init__(self, vocabulary, *, lowercase=False, pad_id=0, unk_id=1, bos_id=2, eos_id=3,
                 mask_id=4, name=None):
        super().__init__(vocabulary, pad_id=pad_id, unk_id=unk_id, bos_id=bos_id, eos_id=eos_id,
                         mask_id=mask_id, name=name)
        self._lowercase = check_bool("lowercase", lowercase)
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=list(self._vocabulary),
            suffix_indicator=SUFFIX_INDICATOR,
            token_out_type=tf.int32,
            unknown_token=self._vocabulary[self.unk_id],
            no_pretokenization=False,  # split on whitespace and punctuation itself, like BERT
            support_detokenization=True,
        )
        dropped = [False] * self.vocabulary_size
        for special in (self.pad_id, self.bos_id, self.eos_id):
            dropped[special] = True
        self._dropped_ids = tf.constant(dropped, name="dropped_ids")

    @property
    def lowercase(self):
        return self._lowercase

    @classmethod
    def from_texts(cls, texts, *, vocabulary_size=4000, lowercase=False):
        """Learns about `vocabulary_size` pieces (the 5 special tokens included) from `texts`.

        Raises `CorpusError` for empty or all-whitespace texts and `TokenizerError` when the
        corpus supports far fewer pieces than asked for.
        """
        vocabulary_size = check_int_at_least(
            "vocabulary_size", vocabulary_size, len(SPECIAL_TOKENS) + 1, error=TokenizerError
        )
        lines = training_lines(texts, cls.kind)
        dataset = tf.data.Dataset.from_tensor_slices(lines).batch(_LEARN_BATCH)
        if lowercase:
            dataset = dataset.map(lambda s: tf.strings.lower(s, encoding="utf-8"))
        vocabulary = bert_vocab_from_dataset.bert_vocab_from_dataset(
            dataset,
            vocab_size=vocabulary_size,
            reserved_tokens=list(SPECIAL_TOKENS),
            bert_tokenizer_params={"lower_case": False},  # lower-cased above, by the same op
            # The default lower threshold (10) learns nothing from a small corpus.
            learn_params={"lower_thresh": 1},
        )
        if len(vocabulary) < _SHORTFALL * vocabulary_size:
            raise too_large_error(cls.kind, vocabulary_size, len(vocabulary),
                                  ", every piece seen at least once")
        return cls(vocabulary, lowercase=lowercase)

    def _extra_config(self):
        return {"lowercase": self._lowercase}

    def _tokenize_batch(self, strings):
        if self._lowercase:
            strings = tf.strings.lower(strings, encoding="utf-8")
        return self._wordpiece.tokenize(strings)  # (B, None) int32

    def _detokenize_batch(self, ids):
        flat = ids.flat_values
        safe = tf.where((flat >= 0) & (flat < self.vocabulary_size), flat, self.unk_id)
        keep = ids.with_flat_values(~tf.gather(self._dropped_ids, safe))
        ids = tf.ragged.boolean_mask(ids.with_flat_values(safe), keep)
        return tidy_spacing(self._wordpiece.detokenize(ids))  # (B,)
