"""The vectors directory: word vectors with what produced them, saved atomically, read back.

`tfllm embeddings train` leaves it in `saved_models/<name>/`:

    vectors.txt          word2vec text format, words in order of frequency (any word2vec /
                         GloVe reader takes it; `tfllm.data.read_word_vectors` reads it back)
    vocabulary.tsv       word <tab> count in the training split, same order, with a header
    tokenizer/           the tokenizer that produced the ids (`load_tokenizer`)
    metadata.json        settings, corpus, sizes, time, final loss, related-pair figures
    projector/           tensors.tsv + metadata.tsv + projector_config.pbtxt:
                         `tensorboard --logdir saved_models/<name>/projector`

`save_vectors_dir` writes it into a temporary sibling and renames it into place, like the model
directory; `load_vectors` reads the vectors of such a directory or of any GloVe / word2vec text
file.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> from tfllm.data import WordVectors
>>> vectors = WordVectors(["day", "night"], np.eye(2))
>>> path = save_vectors_dir(Path(tempfile.mkdtemp()) / "w2v", vectors, counts=[7, 5])
>>> sorted(p.name for p in path.iterdir())
['metadata.json', 'projector', 'vectors.txt', 'vocabulary.tsv']
>>> load_vectors(path).words
['day', 'night']
"""

import json
from pathlib import Path

from tfllm.data import read_word_vectors, write_word_vectors
from tfllm.export.embedding_projector import export_projector
from tfllm.export.output_guard import check_output_dir
from tfllm.export.staged_directory import staged_directory
from tfllm.paths import VECTORS_FILE, check_vectors_path

VOCABULARY_FILE = "vocabulary.tsv"
METADATA_FILE = "metadata.json"
TOKENIZER_DIR = "tokenizer"
PROJECTOR_DIR = "projector"


def save_vectors_dir(path, vectors, *, counts=None, tokenizer=None, metadata=None,
                     overwrite=False):
    """Writes a vectors directory (see the module docstring) atomically.

    Args:
        path: the destination directory; an existing one is replaced once the new one is
            complete, and only if `tfllm.export.check_output_dir` allows it: a vectors
            directory tfllm wrote is replaced, a file or a tfllm directory of another kind only
            with `overwrite`, a directory holding files tfllm did not write never.
        vectors: a `WordVectors`.
        counts: optional occurrences of each word (same order), for vocabulary.tsv and the
            projector's labels.
        tokenizer: optional tokenizer saved in `tokenizer/`.
        metadata: optional dict for metadata.json.
        overwrite: replace a file or another kind of tfllm directory at `path`.
    Returns:
        The `Path` written.
    Raises:
        OutputPathError: `path` may not be replaced, or writing failed for a reason the user
            can fix (no space left, permission denied); the previous directory is kept.
    """
    path = Path(path)
    check_output_dir(path, overwrite=overwrite, what="vectors directory", kind="vectors")
    with staged_directory(path, what="vectors directory") as staging:
        write_word_vectors(staging / VECTORS_FILE, vectors, format="word2vec")
        if counts is None:
            vocabulary_lines = ["word"] + list(vectors.words)
        else:
            vocabulary_lines = ["word\tcount"] + [f"{w}\t{c}" for w, c in zip(vectors.words, counts)]
        (staging / VOCABULARY_FILE).write_text("\n".join(vocabulary_lines) + "\n", encoding="utf-8")
        if tokenizer is not None:
            tokenizer.save(staging / TOKENIZER_DIR)
        (staging / METADATA_FILE).write_text(json.dumps(metadata or {}, indent=2, sort_keys=True) + "\n")
        export_projector(vectors, staging / PROJECTOR_DIR, counts=counts)
    return path


def load_vectors(path, *, format="auto"):
    """Reads word vectors from a vectors directory (its vectors.txt) or a GloVe/word2vec file."""
    path = check_vectors_path(path)
    if path.is_dir():
        path = path / VECTORS_FILE
    return read_word_vectors(path, format=format)
