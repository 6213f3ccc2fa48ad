"""What a path given on the command line must hold, checked in plain Python.

The `tfllm` commands call these before importing TensorFlow (2-5 s), so a mistyped `--model`,
`--corpus` or `--tokenizer` is a one-line error at once. The loaders that read these paths
(`tfllm.export.load_model_dir`, `tfllm.data.text_files.read_text_files` hence
`tfllm.data.load_corpus`, `tfllm.tokenizers.load_tokenizer`,
`tfllm.export.vectors_directory.load_vectors`) call the same checks, so a caller that skips
them gets the same messages.

Plain Python (importable anywhere, like `tfllm.config` and `tfllm.errors`).

Example:

>>> from tfllm.paths import check_model_dir, is_corpus_path
>>> is_corpus_path("shakespeare"), is_corpus_path("tfds:my_dataset"), is_corpus_path("my.txt")
(False, False, True)
>>> check_model_dir("/no/such/model")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tfllm.errors.ModelLoadError: No model directory at /no/such/model. ... Received: --model '/no/such/model'
"""

from pathlib import Path

from tfllm.errors import CorpusError, ModelLoadError, TokenizerError, WordVectorsError

# File names inside the directories tfllm writes.
MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.json"
VECTORS_FILE = "vectors.txt"
# Corpus specs that are not paths: the bundled plays, and a prepared TFDS dataset
# ("tfds:NAME", "tfds:NAME/CONFIG:1.0.0").
BUNDLED_CORPUS = "shakespeare"
TFDS_PREFIX = "tfds:"


def is_corpus_path(spec):
    """True when the corpus spec `spec` names a file or folder (not the plays, not "tfds:NAME")."""
    return str(spec) != BUNDLED_CORPUS and not str(spec).startswith(TFDS_PREFIX)


def check_corpus_path(spec):
    """Raises `CorpusError` if the path corpus `spec` is missing, or a folder with no .txt file.

    Specs that are not paths (see `is_corpus_path`) pass; what the files hold is checked when
    they are read.
    """
    if is_corpus_path(spec):
        check_text_files_path(spec)
    return spec


def check_text_files_path(path):
    """Raises `CorpusError` unless `path` exists and, if a folder, holds a .txt file (at any
    depth); returns it as a `Path`, with `~` expanded."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusError(
            f"Corpus path {str(path)!r} does not exist. Give a UTF-8 .txt file, a folder of .txt "
            f"files, or 'shakespeare' for the bundled plays. Received: corpus={str(path)!r}"
        )
    if path.is_dir() and not any(p.is_file() for p in path.rglob("*.txt")):
        raise CorpusError(
            f"The corpus folder {str(path)!r} has no .txt files (searched recursively). "
            f"Received: corpus={str(path)!r}"
        )
    return path


def check_model_dir(path):
    """Raises `ModelLoadError` unless `path` is a directory holding a zip-archive `model.keras`."""
    import zipfile

    path = Path(path)
    if not path.exists():
        raise ModelLoadError(
            f"No model directory at {path}. Train one with `tfllm train --preset NAME` (it is "
            f"written to saved_models/NAME). Received: --model {str(path)!r}"
        )
    if not path.is_dir():
        raise ModelLoadError(
            f"--model must be a model directory (with {MODEL_FILE}, tokenizer/, config.json), "
            f"not a file. Received: --model {str(path)!r}"
        )
    model_file = path / MODEL_FILE
    if not model_file.exists():
        raise ModelLoadError(
            f"{path} has no {MODEL_FILE}, so it is not a tfllm model directory (expected "
            f"{MODEL_FILE}, tokenizer/, config.json). Received: --model {str(path)!r}"
        )
    if not zipfile.is_zipfile(model_file):
        raise ModelLoadError(
            f"{model_file} is corrupt (not a Keras zip archive). Retrain or restore it from a "
            f"backup. Received: --model {str(path)!r}"
        )
    return path


def check_tokenizer_dir(directory):
    """Raises `TokenizerError` unless `directory` is a directory holding `tokenizer.json`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TokenizerError(
            f"No tokenizer directory at {directory} (expected a folder with {TOKENIZER_FILE}, "
            f"written by Tokenizer.save). Received: directory={str(directory)!r}"
        )
    if not (directory / TOKENIZER_FILE).is_file():
        raise TokenizerError(
            f"{directory} has no {TOKENIZER_FILE}: it is not a saved tokenizer. "
            f"Received: directory={str(directory)!r}"
        )
    return directory


def check_vectors_path(path):
    """Raises `WordVectorsError` unless `path` is a vectors file, or a directory with one."""
    path = Path(path)
    if path.is_dir() and not (path / VECTORS_FILE).is_file():
        raise WordVectorsError(
            f"{path} has no {VECTORS_FILE}: give a directory written by `tfllm embeddings "
            f"train` or a GloVe/word2vec text file. Received: --vectors {str(path)!r}"
        )
    if not path.exists():
        raise WordVectorsError(
            f"No vectors at {path}: give a directory written by `tfllm embeddings train` or a "
            f"GloVe/word2vec text file. Received: --vectors {str(path)!r}"
        )
    return path
