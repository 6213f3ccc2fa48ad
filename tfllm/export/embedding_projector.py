"""`export_projector`: word vectors as TensorBoard's embedding projector reads them offline.

    DIRECTORY/
        tensors.tsv              one vector per line, tab-separated
        metadata.tsv             the word (and its count, under a header line, when given)
        projector_config.pbtxt   names both, with paths relative to DIRECTORY

View it with `tensorboard --logdir DIRECTORY` (Projector tab). The directory is written to a
temporary sibling and renamed into place (`staged_directory`).

Example:

>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np
>>> from tfllm.data import WordVectors
>>> vectors = WordVectors(["day", "night"], np.eye(2))
>>> directory = export_projector(vectors, Path(tempfile.mkdtemp()) / "projector")
>>> sorted(path.name for path in directory.iterdir())
['metadata.tsv', 'projector_config.pbtxt', 'tensors.tsv']
"""

from pathlib import Path

import numpy as np

from tfllm.export.staged_directory import staged_directory
from tfllm.validation import check_positive_int

PROJECTOR_CONFIG = "projector_config.pbtxt"


def export_projector(vectors, directory, *, counts=None, max_words=None):
    """Writes `vectors` for TensorBoard's projector into `directory` (see the module docstring).

    Args:
        vectors: a `WordVectors`.
        directory: the projector log directory; an existing one is replaced once the new one is
            complete.
        counts: optional occurrences of each word (same order), shown as a second column.
        max_words: keep only the first `max_words` rows (the projector is slow past ~50k).
    Returns:
        The `Path` written.
    """
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    directory = Path(directory)
    size = len(vectors)
    if max_words is not None:
        size = min(check_positive_int("max_words", max_words), size)
    with staged_directory(directory) as staging:
        np.savetxt(staging / "tensors.tsv", vectors.vectors[:size], delimiter="\t", fmt="%.6g")
        words = vectors.words[:size]
        if counts is not None:
            lines = ["word\tcount"] + [f"{w}\t{c}" for w, c in zip(words, counts)]
        else:
            lines = list(words)  # a single column has no header line
        (staging / "metadata.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = projector.ProjectorConfig()
        embedding = config.embeddings.add()
        embedding.tensor_name = "word_vectors"
        embedding.tensor_path = "tensors.tsv"
        embedding.metadata_path = "metadata.tsv"
        (staging / PROJECTOR_CONFIG).write_text(text_format.MessageToString(config))
    return directory
