"""A user's corpus on disk: one UTF-8 text file, or a folder of `.txt` files.

`read_text_files(path)` returns one `Document` per non-empty file (folders are searched
recursively, files sorted by relative path), with `\\r\\n` line endings normalised to `\\n` and a
UTF-8 byte-order mark removed. Every problem is a one-line `CorpusError` that says what to do.

Example:

>>> from tfllm.data.text_files import read_text_files
>>> documents = read_text_files("my_corpus/")  # doctest: +SKIP
>>> documents[0].name, len(documents[0].text)  # doctest: +SKIP
('chapter01.txt', 48213)
"""

from pathlib import Path

from tfllm.data.document import Document
from tfllm.errors import CorpusError

ENCODING_ERRORS = ("strict", "replace")


def read_text_files(path, encoding_errors="strict"):
    """Reads a UTF-8 text file, or every `.txt` file under a folder, as `Document`s.

    Args:
        path: a text file (any name), or a folder searched recursively for `*.txt`.
        encoding_errors: "strict" raises on bytes that are not UTF-8, naming the file, line and
            byte offset; "replace" turns them into U+FFFD.

    Returns:
        List of `Document(name, text)`, one per file that is not empty or only whitespace; `name`
        is the path relative to the folder (or the file name).
    """
    if encoding_errors not in ENCODING_ERRORS:
        raise CorpusError(
            f"encoding_errors must be one of {', '.join(ENCODING_ERRORS)}. "
            f"Received: encoding_errors={encoding_errors!r}"
        )
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusError(
            f"Corpus path {str(path)!r} does not exist. Give a UTF-8 .txt file, a folder of .txt "
            f"files, or 'shakespeare' for the bundled plays. Received: corpus={str(path)!r}"
        )
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise CorpusError(
                f"The corpus folder {str(path)!r} has no .txt files (searched recursively). "
                f"Received: corpus={str(path)!r}"
            )
        names = [p.relative_to(path).as_posix() for p in files]
    else:
        files, names = [path], [path.name]

    documents = [
        Document(name=name, text=text)
        for name, file in zip(names, files)
        if (text := _read_text(file, encoding_errors)).strip()
    ]
    if not documents:
        raise CorpusError(
            f"The corpus is empty: {len(files)} file(s) read, all empty or only whitespace. "
            f"Received: corpus={str(path)!r}"
        )
    return documents


def _read_text(file, encoding_errors):
    data = file.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CorpusError(
            f"{str(file)!r} is not UTF-8: byte 0x{data[error.start]:02x} at line {line}, byte offset "
            f"{error.start} ({error.reason}). Convert the file to UTF-8, or pass "
            f"--encoding-errors replace (data.encoding_errors=replace) to read such bytes as "
            f"U+FFFD. Received: encoding_errors='strict'"
        ) from None
    return text.replace("\r\n", "\n")
