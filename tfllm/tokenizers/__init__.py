"""Tokenizers: strings <-> int32 ids, one interface, usable in tf.data and in exported SavedModels.

Kinds (`registered_kinds()`): `char` (code points), `byte` (UTF-8 bytes), `word` (words and
punctuation marks), `wordpiece` (tf-text), `sentencepiece-unigram` and `sentencepiece-bpe`
(trained with `sentencepiece`, run by tf-text). See docs/tokenizers.md.

This package knows nothing of corpora: it imports only `tfllm.config` and `tfllm.errors`.

Example:

>>> import tempfile
>>> from tfllm.tokenizers import build_tokenizer, load_tokenizer
>>> tokenizer = build_tokenizer("char", ["To be, or not to be"])
>>> directory = tempfile.mkdtemp()
>>> path = tokenizer.save(directory)
>>> load_tokenizer(directory).fingerprint == tokenizer.fingerprint
True
"""

import inspect
from pathlib import Path

from tfllm.errors import TokenizerError
from tfllm.tokenizers.byte_tokenizer import ByteTokenizer
from tfllm.tokenizers.char_tokenizer import CharTokenizer
from tfllm.tokenizers.sentencepiece_tokenizer import (
    SentencePieceBpeTokenizer,
    SentencePieceTokenizer,
    SentencePieceUnigramTokenizer,
)
from tfllm.tokenizers.tokenizer import (
    TOKENIZER_FILE,
    Tokenizer,
    read_tokenizer_file,
    registered_kinds,
)
from tfllm.tokenizers.tokenizer_statistics import characters_per_token, tokenizer_stats
from tfllm.tokenizers.tokenizer_utils import tokenize_in_chunks
from tfllm.tokenizers.word_tokenizer import WordTokenizer
from tfllm.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

__all__ = [
    "ByteTokenizer",
    "CharTokenizer",
    "SentencePieceBpeTokenizer",
    "SentencePieceTokenizer",
    "SentencePieceUnigramTokenizer",
    "TOKENIZER_FILE",
    "Tokenizer",
    "WordPieceTokenizer",
    "WordTokenizer",
    "build_tokenizer",
    "characters_per_token",
    "load_tokenizer",
    "registered_kinds",
    "tokenize_in_chunks",
    "tokenizer_stats",
]

# Kinds that `build_tokenizer` can learn from texts.
_BUILDERS = {
    "byte": ByteTokenizer.from_texts,
    "char": CharTokenizer.from_texts,
    "sentencepiece-bpe": SentencePieceBpeTokenizer.from_texts,
    "sentencepiece-unigram": SentencePieceUnigramTokenizer.from_texts,
    "word": WordTokenizer.from_texts,
    "wordpiece": WordPieceTokenizer.from_texts,
}


def load_tokenizer(directory, kind=None):
    """Loads the tokenizer saved in `directory` (its `tokenizer.json`), as the right subclass.

    Args:
        directory: a directory written by `Tokenizer.save`.
        kind: if given, refuse a tokenizer of any other kind.

    Raises `TokenizerError` with a one-line message for a missing directory or file, malformed
    JSON, an unknown kind (listing the known ones), another kind than `kind`, contents that do
    not fit the kind the file names, or a fingerprint that does not match.
    """
    return read_tokenizer_file(directory, kind=kind)


def _options_of(kind):
    builder = _BUILDERS[kind]
    return [name for name, parameter in inspect.signature(builder).parameters.items()
            if parameter.kind == inspect.Parameter.KEYWORD_ONLY]


def build_tokenizer(kind_or_path, texts, **options):
    """Learns a tokenizer of kind `kind_or_path` from `texts`, or loads a saved one.

    Args:
        kind_or_path: a kind (see `registered_kinds()`), or the path of a directory written by
            `Tokenizer.save` (then `texts` and `options` are ignored).
        texts: the training texts (iterable of str).
        **options: the kind's learning options: `vocabulary_size` (wordpiece, sentencepiece-*;
            for word it is `max_vocabulary_size`), `min_frequency` (char, word), `lowercase`
            (word, wordpiece), `byte_fallback` and `seed` (sentencepiece-*). A `None` value
            means the kind's default.

    Example:

    >>> tokenizer = build_tokenizer("word", ["To be, or not to be."], vocabulary_size=8)
    >>> tokenizer.vocabulary
    ['<pad>', '<unk>', '<bos>', '<eos>', '<mask>', 'be', ',', '.']
    """
    if isinstance(kind_or_path, str) and kind_or_path in _BUILDERS:
        kind = kind_or_path
        options = {name: value for name, value in options.items() if value is not None}
        accepted = _options_of(kind)
        if kind == "word" and "vocabulary_size" in options:
            options["max_vocabulary_size"] = options.pop("vocabulary_size")
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise TokenizerError(
                f"The {kind} tokenizer does not take the option(s) {', '.join(unknown)}; it takes "
                f"{', '.join(accepted) or 'none'}. Received: {', '.join(unknown)}"
            )
        return _BUILDERS[kind](texts, **options)
    path = Path(kind_or_path)
    if path.is_dir():
        return load_tokenizer(path)
    raise TokenizerError(
        f"Unknown tokenizer {str(kind_or_path)!r}: give a kind ({', '.join(sorted(_BUILDERS))}) "
        f"or the directory of a saved tokenizer. Received: tokenizer={str(kind_or_path)!r}"
    )
