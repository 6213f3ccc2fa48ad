"""SentencePiece tokenizers: `sentencepiece-unigram` and `sentencepiece-bpe`.

Learning is the `sentencepiece` package's trainer, fed the training lines from a Python iterator
and writing the model proto to memory (no files). Running is tf-text's `SentencepieceTokenizer`
on that proto (a resource: it travels into tf.data and into an exported SavedModel). The proto
is stored base64-encoded in `tokenizer.json`, next to the piece list it defines, and both are
covered by the fingerprint. tf-text logs `normalizer.cc(51) LOG(INFO) ...` from C++ on stderr
when it loads a model; that line is hidden (`tfllm.native_stderr`) unless `TFLLM_DEBUG=1`.

The trainer settings make the tokenizer lossless on any text except U+2581 ("▁", SentencePiece's
own space mark, which comes back as a space):

- `normalization_rule_name="identity"`, `remove_extra_whitespaces=False`,
  `add_dummy_prefix=False`: the text is segmented exactly as written;
- `byte_fallback=True` (default): a character outside the pieces is spelt as its UTF-8 bytes
  (`<0x..>` pieces), so nothing is unknown. The 256 byte pieces count in `vocabulary_size`.
- the special pieces are `<pad>`=0, `<unk>`=1, `<bos>`=2, `<eos>`=3 and `<mask>`=4, as in every
  tfllm tokenizer; `detokenize` drops pad, bos, eos and mask and writes unk as " ⁇ ".
- `num_threads=1` and a fixed seed: the same texts give the same model (and fingerprint).

Lines are the training sentences, so no piece spans a newline: tokenizing a text in line-aligned
chunks gives the same ids as tokenizing it whole.
"""

import base64
import binascii
import hashlib
import io
import re

import sentencepiece
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops import sentencepiece_tokenizer as tf_text_sentencepiece

from tfllm.errors import TokenizerError
from tfllm.native_stderr import native_stderr_hidden
from tfllm.tokenizers.tokenizer import Tokenizer
from tfllm.tokenizers.tokenizer_utils import (
    SPECIAL_TOKENS,
    too_large_error,
    training_lines,
)
from tfllm.validation import check_int_at_least

# The trainer skips longer lines (its default is 4192 bytes); play lines are far shorter.
_MAX_SENTENCE_BYTES = 16384


class _SharedModelResource(tf_text_sentencepiece._SentencepieceModelResource):
    """tf-text's SentencePiece model resource, created under a `shared_name`.

    tf-text creates its model as a resource private to the eager kernel that made it, and
    `tf.random.set_seed` (hence `keras.utils.set_random_seed`) clears the eager kernel cache, which
    deletes it: the next tokenize fails with "Resource .../_0_SentencepieceOp ... does not exist"
    (tf-text's own TODO b/318839908). A shared name puts the model in the resource manager
    instead, where it outlives the kernel. The name is derived from the model bytes, so equal
    models share one resource; the resource lives as long as the process (a few hundred KB).
    """

    def __init__(self, model, shared_name):
        self._shared_name = shared_name
        super().__init__(model, name=None)

    def _create_resource(self):
        # Loading a model logs "normalizer.cc(51) LOG(INFO) ..." from C++ on fd 2, which would
        # make a command's one-line error two lines; TFLLM_DEBUG=1 shows it.
        with native_stderr_hidden():
            return tf_text_sentencepiece.gen_sentencepiece_tokenizer.sentencepiece_op(
                model=self._model, shared_name=self._shared_name)


class _SentencepieceRuntime(tf_text.SentencepieceTokenizer):
    """tf-text's `SentencepieceTokenizer` (ids out, no bos/eos, no sampling) on a shared model."""

    def __init__(self, model):
        # The parent's __init__ would first build a kernel-private resource; set its fields here.
        super(tf_text.SentencepieceTokenizer, self).__init__()
        self.nbest_size = 0
        self.alpha = 1.0
        self.out_type = tf.int32
        self.reverse = False
        self.add_bos = False
        self.add_eos = False
        self.return_nbest = False
        digest = hashlib.sha256(model).hexdigest()[:24]
        self._model_resource = _SharedModelResource(model, f"tfllm_sentencepiece_{digest}")


class SentencePieceTokenizer(Tokenizer):
    """A SentencePiece model run by tf-text; subclasses fix the model type.

    Args:
        model_proto: the serialized SentencePiece `ModelProto` (bytes).
        vocabulary: optional; if given it must equal the model's pieces (as read from
            tokenizer.json, where both are stored).
        name: name of the `tf.Module`.

    The special ids come from the model proto (tfllm's trainer puts them at 0-4).
    """

    model_type = None

    def __init__(self, model_proto, *, vocabulary=None, name=None):
        if not isinstance(model_proto, bytes) or not model_proto:
            raise ValueError(
                f"model_proto must be the non-empty bytes of a SentencePiece model. "
                f"Received: model_proto of type {type(model_proto).__name__}"
            )
        processor = sentencepiece.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(model_proto)
        except RuntimeError as error:
            raise ValueError(f"model_proto is not a SentencePiece model ({error})") from None
        pieces = [processor.IdToPiece(i) for i in range(processor.GetPieceSize())]
        if vocabulary is not None and list(vocabulary) != pieces:
            raise ValueError(
                "the vocabulary does not match the pieces of the model proto stored with it. "
                f"Received: {len(vocabulary)} tokens for a model of {len(pieces)} pieces"
            )
        ids = {"pad_id": processor.pad_id(), "unk_id": processor.unk_id(),
               "bos_id": processor.bos_id(), "eos_id": processor.eos_id(),
               "mask_id": processor.PieceToId(SPECIAL_TOKENS[4])}
        super().__init__(pieces, name=name, **ids)
        self._model_proto = model_proto
        self._byte_fallback = any(p.startswith("<0x") and processor.IsByte(i)
                                  for i, p in enumerate(pieces))
        self._sentencepiece = _SentencepieceRuntime(model_proto)

    @property
    def model_proto(self):
        """The serialized SentencePiece model (bytes)."""
        return self._model_proto

    @classmethod
    def from_texts(cls, texts, *, vocabulary_size=4000, byte_fallback=True, seed=1337):
        """Trains a SentencePiece model of exactly `vocabulary_size` pieces on the lines of `texts`.

        Args:
            texts: a str or an iterable of str; each non-blank line is one training sentence.
            vocabulary_size: the number of ids, the 5 special tokens (and, with byte_fallback,
                the 256 byte pieces) included.
            byte_fallback: spell unseen characters as bytes instead of `<unk>`.
            seed: the trainer's random seed.

        Raises `CorpusError` for empty or all-whitespace texts, `TokenizerError` when the
        vocabulary size is too small for the characters or larger than the corpus supports.
        """
        minimum = len(SPECIAL_TOKENS) + 1 + (256 if byte_fallback else 0)
        vocabulary_size = check_int_at_least(
            "vocabulary_size", vocabulary_size, minimum, error=TokenizerError
        )
        lines = training_lines(texts, cls.kind)
        model = io.BytesIO()
        sentencepiece.set_random_generator_seed(seed)
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=iter(lines),
                model_writer=model,
                model_type=cls.model_type,
                vocab_size=vocabulary_size,
                pad_id=0, unk_id=1, bos_id=2, eos_id=3,
                pad_piece=SPECIAL_TOKENS[0], unk_piece=SPECIAL_TOKENS[1],
                bos_piece=SPECIAL_TOKENS[2], eos_piece=SPECIAL_TOKENS[3],
                control_symbols=[SPECIAL_TOKENS[4]],
                byte_fallback=byte_fallback,
                character_coverage=1.0,
                normalization_rule_name="identity",
                remove_extra_whitespaces=False,
                add_dummy_prefix=False,
                max_sentence_length=_MAX_SENTENCE_BYTES,
                num_threads=1,
                minloglevel=2,
            )
        except RuntimeError as error:
            raise _training_error(cls.kind, vocabulary_size, str(error)) from None
        return cls(model.getvalue())

    @classmethod
    def from_config(cls, config):
        if "model_proto" not in config:
            raise ValueError(
                f"a {cls.kind} tokenizer.json stores its model in the field 'model_proto', which "
                f"is missing (was the file written for another kind?)"
            )
        try:
            proto = base64.b64decode(config["model_proto"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ValueError("model_proto is not valid base64") from None
        tokenizer = cls(proto, vocabulary=config["vocabulary"])
        if tokenizer.special_ids != dict(config["special_ids"]):
            raise ValueError(
                f"special_ids {config['special_ids']} differ from the model's "
                f"{tokenizer.special_ids}"
            )
        return tokenizer

    def _extra_config(self):
        return {"model_type": self.model_type,
                "model_proto": base64.b64encode(self._model_proto).decode("ascii")}

    def _tokenize_batch(self, strings):
        return self._sentencepiece.tokenize(strings)  # (B, None) int32

    def _detokenize_batch(self, ids):
        flat = ids.flat_values
        safe = tf.where((flat >= 0) & (flat < self.vocabulary_size), flat, self.unk_id)
        return self._sentencepiece.detokenize(ids.with_flat_values(safe))  # (B,)

    def unknown_characters(self, text):
        """Characters spelt with `<unk>`: none when the model has byte fallback."""
        return [] if self._byte_fallback else super().unknown_characters(text)


def _training_error(kind, vocabulary_size, message):
    too_high = re.search(r"Vocabulary size too high \((\d+)\).*<= (\d+)", message)
    if too_high:
        return too_large_error(kind, vocabulary_size, int(too_high.group(2)))
    too_small = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", message)
    if too_small:
        return TokenizerError(
            f"vocabulary_size={vocabulary_size} is too small for a {kind} tokenizer of this "
            f"corpus: its characters and special pieces alone need {too_small.group(2)}; ask for "
            f"more. Received: vocabulary_size={vocabulary_size}"
        )
    first_line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return TokenizerError(
        f"SentencePiece could not train a {kind} tokenizer: {first_line}. "
        f"Received: vocabulary_size={vocabulary_size}"
    )


class SentencePieceUnigramTokenizer(SentencePieceTokenizer):
    """SentencePiece unigram language-model tokenizer.

    Example:

    >>> texts = ["To be, or not to be: that is the question:", "Whether 'tis nobler in the mind",
    ...          "to suffer the slings and arrows of outrageous fortune,"] * 10
    >>> tokenizer = SentencePieceUnigramTokenizer.from_texts(texts, vocabulary_size=300)
    >>> tokenizer.decode(tokenizer.encode("to be, or not ☃"))
    'to be, or not ☃'
    """

    kind = "sentencepiece-unigram"
    model_type = "unigram"


class SentencePieceBpeTokenizer(SentencePieceTokenizer):
    """SentencePiece byte-pair-encoding tokenizer.

    Example:

    >>> texts = ["To be, or not to be: that is the question:", "Whether 'tis nobler in the mind",
    ...          "to suffer the slings and arrows of outrageous fortune,"] * 10
    >>> tokenizer = SentencePieceBpeTokenizer.from_texts(texts, vocabulary_size=300)
    >>> tokenizer.decode(tokenizer.encode("to be, or not ☃"))
    'to be, or not ☃'
    """

    kind = "sentencepiece-bpe"
    model_type = "bpe"
