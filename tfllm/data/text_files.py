"""A user's corpus on disk: one UTF-8 text file, or a folder of `.txt` files.

`read_text_files(path)` returns one `Document` per non-empty file (folders are searched
recursively, files sorted by relative path), with `\\r\\n` line endings normalised to `\\n` and a
UTF-8 byte-order mark removed. Every problem is a one-line `CorpusError` that says what to do.

Bytes that are not UTF-8 follow the `encoding_errors` policy:

- "strict" (default): a `CorpusError` naming the file, the line (1-based) and the byte offset.
- "replace": each undecodable byte becomes U+FFFD; nothing is dropped.
- "skip": every line holding an undecodable byte is dropped whole, and a warning on the
  `tfllm.data` logger names each such file, how many lines it lost and the first one's number
  (Python prints warnings of an unconfigured logger on stderr, so the CLI shows them).

`decode_text(data, source, encoding_errors)` applies the same policy to bytes from elsewhere (TFDS
examples, `tfllm.data.tfds_corpus`).

Example:

>>> from tfllm.data.text_files import read_text_files
>>> documents = read_text_files("my_corpus/")  # doctest: +SKIP
>>> documents[0].name, len(documents[0].text)  # doctest: +SKIP
('chapter01.txt', 48213)
"""

import logging
from pathlib import Path

from tfllm.data.document import Document
from tfllm.errors import CorpusError
from tfllm.paths import corpus_files, os_error_message

ENCODING_ERRORS = ("strict", "replace", "skip")

logger = logging.getLogger("tfllm.data")


def read_text_files(path, encoding_errors="strict"):
    """Reads a UTF-8 text file, or every `.txt` file under a folder, as `Document`s.

    Only regular files are read, and at most `tfllm.limits.MAX_CORPUS_MB` in all: both are
    checked before any file is opened (`tfllm.paths.corpus_files`).

    Args:
        path: a text file (any name), or a folder searched recursively for `*.txt`.
        encoding_errors: "strict" raises on bytes that are not UTF-8, naming the file, line and
            byte offset; "replace" turns them into U+FFFD; "skip" drops each line that holds
            such bytes and logs how many were dropped per file.

    Returns:
        List of `Document(name, text)`, one per file that is not empty or only whitespace; `name`
        is the path relative to the folder (or the file name).
    """
    check_encoding_errors(encoding_errors)
    path = Path(path).expanduser()
    # Checked without opening anything: regular files only, readable, within MAX_CORPUS_MB.
    files = corpus_files(path)

    documents, num_lines = [], 0
    for name, file in files:
        text = _read_text(file, encoding_errors, path)
        num_lines += len(text.splitlines())
        if text.strip():
            documents.append(Document(name=name, text=text))
    if not documents:
        raise CorpusError(
            f"The corpus is empty: {len(files)} file(s) read, {num_lines} line(s) in all, every "
            f"one empty or only whitespace. Point --corpus at files with text. "
            f"Received: corpus={str(path)!r}"
        )
    return documents


def check_encoding_errors(encoding_errors):
    """Raises `CorpusError` unless `encoding_errors` is one of `ENCODING_ERRORS`."""
    if encoding_errors not in ENCODING_ERRORS:
        raise CorpusError(
            f"encoding_errors must be one of {', '.join(ENCODING_ERRORS)}. "
            f"Received: encoding_errors={encoding_errors!r}"
        )


def _read_text(file, encoding_errors, corpus):
    try:
        data = file.read_bytes()
    except OSError as error:  # changed since it was checked, or a failing disk
        raise CorpusError(
            os_error_message(error, file, "read", f"corpus={str(corpus)!r}")) from None
    return decode_text(data, str(file), encoding_errors)


def decode_text(data, source, encoding_errors="strict"):
    """Decodes UTF-8 `data` under the `encoding_errors` policy, dropping a byte-order mark and
    turning `\\r\\n` into `\\n`. `source` names the text (a file path, a TFDS example) in errors
    and warnings."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        # "skip" first tries the whole text strictly: the common, clean case costs one decode.
        text = data.decode("utf-8", errors="strict" if encoding_errors == "skip" else encoding_errors)
    except UnicodeDecodeError as error:
        if encoding_errors == "skip":
            return _decode_skipping_lines(source, data).replace("\r\n", "\n")
        line = data.count(b"\n", 0, error.start) + 1
        raise CorpusError(
            f"{source!r} is not UTF-8: byte 0x{data[error.start]:02x} at line {line}, byte offset "
            f"{error.start} ({error.reason}). Convert it to UTF-8, or pass "
            f"--encoding-errors replace (data.encoding_errors=replace) to read such bytes as "
            f"U+FFFD or --encoding-errors skip to drop such lines. Received: encoding_errors='strict'"
        ) from None
    return text.replace("\r\n", "\n")


def _decode_skipping_lines(source, data):
    """Decodes `data` line by line, dropping (and counting) the lines that are not UTF-8."""
    kept, skipped = [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            kept.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            skipped.append(number)
    logger.warning(
        "%r: skipped %d line(s) that are not UTF-8 (the first is line %d) under "
        "encoding_errors='skip'.", source, len(skipped), skipped[0],
    )
    return "\n".join(kept)
