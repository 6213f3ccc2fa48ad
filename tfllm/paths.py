"""What a path given on the command line must hold, checked in plain Python.

The `tfllm` commands call these before importing TensorFlow (2-5 s), so a mistyped `--model`,
`--corpus` or `--tokenizer` is a one-line error at once. The loaders that read these paths
(`tfllm.export.load_model_dir`, `tfllm.data.text_files.read_text_files` hence
`tfllm.data.load_corpus`, `tfllm.tokenizers.load_tokenizer`,
`tfllm.export.vectors_directory.load_vectors`) call the same checks, so a caller that skips
them gets the same messages.

Only regular files (or folders of them) are read as a corpus: a FIFO, a socket or a device
(given, or found among a folder's .txt files) is refused without being opened, since reading
one could block or never end, and a corpus larger than `tfllm.limits.MAX_CORPUS_MB` is refused
from its size on disk, before a byte is read. An OS error on a path (permission denied, a file
where a folder was expected, a symbolic link loop) is one line naming the path, the operation
and the reason (`os_error_message`).

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

import errno
import os
import stat
from pathlib import Path

from tfllm.errors import CorpusError, ModelLoadError, TokenizerError, WordVectorsError
from tfllm.limits import current_limit, megabytes, raise_hint

# File names inside the directories tfllm writes.
MODEL_FILE = "model.keras"
TOKENIZER_FILE = "tokenizer.json"
VECTORS_FILE = "vectors.txt"
# Corpus specs that are not paths: the bundled plays, and a prepared TFDS dataset
# ("tfds:NAME", "tfds:NAME/CONFIG:1.0.0").
BUNDLED_CORPUS = "shakespeare"
TFDS_PREFIX = "tfds:"
# What a TensorFlow SavedModel directory (the serving export) holds.
SAVED_MODEL_FILE = "saved_model.pb"
# Why an OS error happened, in words a user can act on.
_OS_ERROR_HINTS = {
    errno.EACCES: "check the permissions of it and of the folders above it",
    errno.EPERM: "check the permissions of it and of the folders above it",
    errno.ENOTDIR: "a part of the path before its last name is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ELOOP: "it is a symbolic link that leads back to itself",
}


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


def os_error_message(error, path, operation, received):
    """One line for the `OSError` `error` met while doing `operation` ("read", "list") on
    `path`: the path, the operation, the system's reason and what it means, then `received`
    ("name=value")."""
    reason = error.strerror or type(error).__name__
    hint = _OS_ERROR_HINTS.get(error.errno)
    return (f"Cannot {operation} {str(path)!r}: {reason}" + (f" ({hint})" if hint else "")
            + f". Received: {received}")


def _stat(path, operation, received, error):
    """`os.stat(path)`, None if it does not exist, every other OS error one line of `error`."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as failure:
        raise error(os_error_message(failure, path, operation, received)) from None


def _kind(mode):
    for test, kind in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def check_text_files_path(path):
    """Raises `CorpusError` unless `path` is a regular text file or a folder holding a .txt
    file (at any depth), every one of them readable and regular, all of them within
    `MAX_CORPUS_MB`; returns it as a `Path`, with `~` expanded. Nothing is opened."""
    path = Path(path).expanduser()
    corpus_files(path)
    return path


def corpus_files(path):
    """`[(name, Path)]` of the text files a corpus path names, checked without opening any.

    A file gives itself (any name); a folder gives its `*.txt` files at any depth, sorted by
    path, each named by its path relative to the folder (symbolic links to folders are not
    followed). Raises `CorpusError` when the path does not exist, cannot be listed or read, is
    or holds a FIFO, a socket or a device (reading one could block for ever), holds no .txt
    file, or holds more than `MAX_CORPUS_MB` in all.
    """
    path = Path(path).expanduser()
    received = f"corpus={str(path)!r}"
    status = _stat(path, "read", received, CorpusError)
    if status is None:
        target = f" (a symbolic link to {os.readlink(path)!r}, which does not exist)" if (
            path.is_symlink()) else ""
        raise CorpusError(
            f"Corpus path {str(path)!r} does not exist{target}. Give a UTF-8 .txt file, a folder "
            f"of .txt files, or 'shakespeare' for the bundled plays. Received: {received}"
        )
    if stat.S_ISDIR(status.st_mode):
        files = _folder_text_files(path, received)
    else:
        files = [(path.name, path, status)]
    for name, file, status in files:
        where = (f"The corpus folder {str(path)!r} holds {name!r}, which"
                 if file != path else f"{str(path)!r}")
        if not stat.S_ISREG(status.st_mode):
            raise CorpusError(
                f"{where} is {_kind(status.st_mode)}, not a regular file: tfllm reads only regular "
                f"files (or folders of them) as a corpus, since reading anything else could "
                f"block or never end. Received: {received}"
            )
        if not os.access(file, os.R_OK):
            raise CorpusError(os_error_message(PermissionError(errno.EACCES, os.strerror(
                errno.EACCES)), file, "read", received))
    _check_corpus_size(path, files, received)
    return [(name, file) for name, file, _ in files]


def _folder_text_files(folder, received):
    """`[(name, Path, stat)]` of the `*.txt` entries under `folder` (files, links, FIFOs...)."""
    def fail(failure):
        raise CorpusError(os_error_message(failure, failure.filename or folder, "list", received))

    found = []
    for root, _, names in os.walk(folder, onerror=fail):
        for name in names:
            if name.endswith(".txt"):
                file = Path(root) / name
                status = _stat(file, "read", received, CorpusError)
                if status is None:
                    raise CorpusError(
                        f"The corpus folder {str(folder)!r} holds "
                        f"{file.relative_to(folder).as_posix()!r}, a symbolic link to "
                        f"{os.readlink(file)!r}, which does not exist. "
                        f"Remove the link or restore its target. Received: {received}"
                    )
                found.append((file, status))
    if not found:
        raise CorpusError(
            f"The corpus folder {str(folder)!r} has no .txt files (searched recursively). "
            f"Received: {received}"
        )
    return [(file.relative_to(folder).as_posix(), file, status) for file, status in sorted(found)]


def _check_corpus_size(path, files, received):
    total = sum(status.st_size for _, _, status in files)
    limit = current_limit("MAX_CORPUS_MB", CorpusError)
    if megabytes(total) > limit:
        raise CorpusError(
            f"The corpus {str(path)!r} holds {megabytes(total):,.0f} MB in {len(files):,} "
            f"file(s), over the limit of {limit:,} MB that tfllm reads (reading and tokenizing "
            f"take about 26 bytes of memory per byte of text); use a part of it, or "
            f"{raise_hint('MAX_CORPUS_MB')}. Received: {received}"
        )


def read_small_file(path, argument, error, limit_name, what="file"):
    """The bytes of a file the user names (`argument`, e.g. "--prompt-file"; `what`, e.g.
    "prompt file"), read whole but never more than the limit `limit_name` (in MB): a missing
    file, a folder, an OS error or a larger file is one line of `error`. A pipe
    (`/dev/stdin`, `<(...)`) is read too, up to the limit."""
    received = f"{argument} {str(path)!r}"
    status = _stat(path, "read", received, error)
    if status is None:
        raise error(f"No {what} at {str(path)!r}. Received: {received}")
    if stat.S_ISDIR(status.st_mode):
        raise error(f"The {what} {str(path)!r} is a folder: {argument} takes a file. "
                    f"Received: {received}")
    limit = current_limit(limit_name, error)
    too_large = (f"The {what} {str(path)!r} is larger than the limit of {limit:,} MB; "
                 f"{raise_hint(limit_name)}. Received: {received}")
    if stat.S_ISREG(status.st_mode) and megabytes(status.st_size) > limit:
        raise error(too_large)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit * 2**20 + 1)
    except OSError as failure:
        raise error(os_error_message(failure, path, "read", received)) from None
    if megabytes(len(data)) > limit:
        raise error(too_large)
    return data


def check_model_dir(path):
    """Raises `ModelLoadError` unless `path` is a directory holding a readable zip-archive
    `model.keras`; a serving export (a SavedModel) is named as such, with what to pass instead."""
    import zipfile

    path = Path(path)
    received = f"--model {str(path)!r}"
    status = _stat(path, "read", received, ModelLoadError)
    if status is None:
        raise ModelLoadError(
            f"No model directory at {path}. Train one with `tfllm train --preset NAME` (it is "
            f"written to saved_models/NAME). Received: {received}"
        )
    if not stat.S_ISDIR(status.st_mode):
        raise ModelLoadError(
            f"--model must be a model directory (with {MODEL_FILE}, tokenizer/, config.json), "
            f"not a file. Received: {received}"
        )
    model_file = path / MODEL_FILE
    if _stat(model_file, "read", received, ModelLoadError) is None:
        if (path / SAVED_MODEL_FILE).is_file():
            raise ModelLoadError(_serving_export_message(path, received))
        raise ModelLoadError(
            f"{path} has no {MODEL_FILE}, so it is not a tfllm model directory (expected "
            f"{MODEL_FILE}, tokenizer/, config.json). Received: {received}"
        )
    if not os.access(model_file, os.R_OK):
        raise ModelLoadError(os_error_message(
            PermissionError(errno.EACCES, os.strerror(errno.EACCES)), model_file, "read", received))
    if not zipfile.is_zipfile(model_file):
        raise ModelLoadError(
            f"{model_file} is corrupt (not a Keras zip archive). Retrain or restore it from a "
            f"backup. Received: {received}"
        )
    return path


def _serving_export_message(path, received):
    source = path.resolve().parent
    instead = (f"the model directory it was exported from ({str(path.parent)!r})"
               if (source / MODEL_FILE).is_file() else "the model directory it was exported from")
    return (
        f"{path} is a serving export (a TensorFlow SavedModel written by `tfllm export`), not a "
        f"model directory: pass {instead} to --model. The export itself loads with "
        f"tf.saved_model.load (import tensorflow_text first). Received: {received}"
    )


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
