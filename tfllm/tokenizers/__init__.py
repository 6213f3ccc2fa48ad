"""Tokenizers: strings <-> int32 ids, one interface, usable in tf.data and in exported SavedModels.

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

from pathlib import Path

from tfllm.errors import TokenizerError
from tfllm.tokenizers.char_tokenizer import CharTokenizer
from tfllm.tokenizers.tokenizer import (
    TOKENIZER_FILE,
    Tokenizer,
    read_tokenizer_file,
    registered_kinds,
)

__all__ = [
    "CharTokenizer",
    "TOKENIZER_FILE",
    "Tokenizer",
    "build_tokenizer",
    "load_tokenizer",
    "registered_kinds",
]

# Kinds that `build_tokenizer` can learn from texts.
_BUILDERS = {"char": CharTokenizer.from_texts}


def load_tokenizer(directory):
    """Loads the tokenizer saved in `directory` (its `tokenizer.json`), as the right subclass.

    Raises `TokenizerError` with a one-line message for a missing directory or file, malformed
    JSON, an unknown kind (listing the known ones), or a fingerprint that does not match.
    """
    return read_tokenizer_file(directory)


def build_tokenizer(kind_or_path, texts):
    """Learns a tokenizer of kind `kind_or_path` from `texts`, or loads a saved one.

    Args:
        kind_or_path: a kind ("char"), or the path of a directory written by `Tokenizer.save`
            (then `texts` is ignored).
        texts: the training texts (iterable of str).
    """
    if isinstance(kind_or_path, str) and kind_or_path in _BUILDERS:
        return _BUILDERS[kind_or_path](texts)
    path = Path(kind_or_path)
    if path.is_dir():
        return load_tokenizer(path)
    raise TokenizerError(
        f"Unknown tokenizer {str(kind_or_path)!r}: give a kind ({', '.join(sorted(_BUILDERS))}) "
        f"or the directory of a saved tokenizer. Received: tokenizer={str(kind_or_path)!r}"
    )
