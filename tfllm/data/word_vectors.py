"""`WordVectors`: a word -> vector table, read from and written to the GloVe and word2vec text formats.

Two plain-text formats hold pretrained word vectors, one word per line, the word then its D
numbers, separated by single spaces:

    word2vec text format            GloVe format (no header)
    3 4                             king 0.1 -0.2 0.3 0.4
    king 0.1 -0.2 0.3 0.4           queen 0.1 -0.1 0.3 0.5
    queen 0.1 -0.1 0.3 0.5          ...
    ...

The word2vec format starts with a header line "V D" (number of words, dimension). GloVe files
have no header. `read_word_vectors(path, format="auto")` tells them apart by the first line: two
integers and nothing else is a word2vec header. (The only ambiguity, a GloVe file of
1-dimensional vectors whose first word is an integer, is settled with `format="glove"`.)

Reading is strict, because a silently skipped or truncated line would give a model wrong rows:
every line must have exactly D numbers after its word, every number must parse, no word may
repeat, the file must be UTF-8, and a word2vec file must hold exactly the V lines its header
promises. Each error is a `WordVectorsError` naming the file, the line number and what was
expected. (The C word2vec tool writes a trailing space on each line; any run of spaces or tabs
separates fields, so such files read fine.)

Writing goes through `tfllm.atomic_files` (a temporary sibling renamed over the target), so an
interrupted write never leaves a half-written vectors file. Numbers are written with 9
significant digits, which round-trips every float32 exactly.

Example:

>>> import os, tempfile
>>> import numpy as np
>>> from tfllm.data import WordVectors, read_word_vectors, write_word_vectors
>>> vectors = WordVectors(["king", "queen"], np.array([[1.0, 2.0], [3.0, 4.5]]))
>>> path = write_word_vectors(os.path.join(tempfile.mkdtemp(), "vectors.txt"), vectors)
>>> open(path).read()
'2 2\\nking 1 2\\nqueen 3 4.5\\n'
>>> read_word_vectors(path)["queen"].tolist()
[3.0, 4.5]
"""

from pathlib import Path

import numpy as np

from tfllm.atomic_files import write_text_atomically
from tfllm.errors import WordVectorsError
from tfllm.validation import check_choice, check_positive_int

FORMATS = ("word2vec", "glove")
READ_FORMATS = ("auto",) + FORMATS
# 9 significant digits round-trip any float32 exactly.
_NUMBER_FORMAT = "%.9g"


class WordVectors:
    """An ordered table of words and their D-dimensional float32 vectors.

    Args:
        words: sequence of V distinct words; none may be empty or contain whitespace (the
            text formats separate fields with spaces).
        vectors: (V, D) array of numbers; stored as float32.

    Attributes:
        words: list of the V words; `index[word]` is the row of `word`.
        vectors: (V, D) float32 NumPy array.
        dimension: D.

    Example:

    >>> import numpy as np
    >>> from tfllm.data import WordVectors
    >>> table = WordVectors(["day", "night"], np.eye(2))
    >>> len(table), table.dimension, "night" in table, table["night"].tolist()
    (2, 2, True, [0.0, 1.0])
    """

    def __init__(self, words, vectors):
        words = list(words)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words) or vectors.shape[1] < 1:
            raise WordVectorsError(
                f"vectors must be a (V, D) array with one row per word and D >= 1; there are "
                f"{len(words)} words. Received: vectors.shape={vectors.shape}"
            )
        index = {}
        for row, word in enumerate(words):
            if not isinstance(word, str) or not word or word != "".join(word.split()):
                raise WordVectorsError(
                    f"Every word must be a non-empty str without whitespace (the text formats "
                    f"separate fields with spaces). Received: words[{row}]={word!r}"
                )
            if word in index:
                raise WordVectorsError(
                    f"Each word may appear once; {word!r} is at rows {index[word]} and {row}. "
                    f"Received: words[{row}]={word!r}"
                )
            index[word] = row
        if not np.all(np.isfinite(vectors)):
            row = int(np.argwhere(~np.isfinite(vectors))[0][0])
            raise WordVectorsError(
                f"Every vector must be finite; the vector of {words[row]!r} holds NaN or inf. "
                f"Received: vectors[{row}] with non-finite values"
            )
        self.words = words
        self.vectors = vectors
        self.index = index

    @property
    def dimension(self):
        """D, the length of each vector."""
        return int(self.vectors.shape[1])

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __getitem__(self, word):
        """The (D,) vector of `word`; `KeyError` naming it when it is absent."""
        if word not in self.index:
            raise KeyError(f"{word!r} is not among the {len(self.words)} words of these vectors")
        return self.vectors[self.index[word]]

    def __repr__(self):
        return f"WordVectors({len(self.words)} words, dimension {self.dimension})"


def write_word_vectors(path, vectors, *, format="word2vec"):
    """Writes `vectors` (a `WordVectors`) to `path` in the word2vec or GloVe text format, atomically.

    Args:
        path: destination file; its folder is created. An existing file is replaced only once
            the new one is complete.
        vectors: a `WordVectors`.
        format: "word2vec" (with the "V D" header line) or "glove" (no header).
    Returns:
        The `Path` written.
    """
    check_choice("format", format, FORMATS, error=WordVectorsError)
    if not isinstance(vectors, WordVectors):
        raise TypeError(f"vectors must be a WordVectors. Received: {type(vectors).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    row_format = " ".join([_NUMBER_FORMAT] * vectors.dimension)
    lines = [f"{len(vectors)} {vectors.dimension}\n"] if format == "word2vec" else []
    lines.extend(f"{word} {row_format % tuple(row)}\n"
                 for word, row in zip(vectors.words, vectors.vectors.tolist()))
    return write_text_atomically(path, "".join(lines))


def read_word_vectors(path, *, format="auto", max_words=None):
    """Reads a word2vec or GloVe text file strictly (see the module docstring).

    Args:
        path: the vectors file.
        format: "auto" (a first line of exactly two integers is a word2vec header), "word2vec"
            or "glove".
        max_words: read only the first `max_words` words (files are usually sorted by
            frequency); None reads them all.
    Returns:
        A `WordVectors`. Raises `WordVectorsError` naming the line of the first problem.
    """
    check_choice("format", format, READ_FORMATS, error=WordVectorsError)
    if max_words is not None:  # None reads every word
        check_positive_int("max_words", max_words, error=WordVectorsError)
    path = Path(path)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no such file"
        raise WordVectorsError(
            f"Expected a word vectors text file (word2vec or GloVe format), found {what}. "
            f"Received: path={str(path)!r}"
        )
    words, rows = [], []
    header = None
    dimension = None
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise WordVectorsError(
                    f"{path}, line {number}: not UTF-8 ({error.reason} at byte {error.start}); "
                    f"vectors files must be UTF-8 text. Received: path={str(path)!r}"
                ) from None
            fields = line.split()
            if number == 1 and format != "glove" and _is_header(fields, format):
                header = (int(fields[0]), int(fields[1]))
                dimension = header[1]
                continue
            if not fields:
                raise WordVectorsError(
                    f"{path}, line {number}: empty line; every line must be a word followed by "
                    f"its numbers. Remove blank lines. Received: line {number}={line!r}"
                )
            if dimension is None:
                dimension = len(fields) - 1
                if dimension < 1:
                    raise WordVectorsError(
                        f"{path}, line {number}: a word with no numbers; expected a word and at "
                        f"least one number. Received: line {number}={_clip(line)!r}"
                    )
            if len(fields) != dimension + 1:
                source = "the header" if header else "line 1"
                raise WordVectorsError(
                    f"{path}, line {number}: inconsistent dimensions: {len(fields) - 1} numbers "
                    f"after the word, expected {dimension} (from {source}). "
                    f"Received: line {number}={_clip(line)!r}"
                )
            words.append(fields[0])
            rows.append(fields[1:])
            if max_words is not None and len(words) >= max_words:
                break
    if not words:
        raise WordVectorsError(
            f"{path} holds no word vectors (empty file, or a header and nothing else). "
            f"Received: path={str(path)!r}"
        )
    if header is not None and max_words is None and len(words) != header[0]:
        raise WordVectorsError(
            f"{path}: the header says {header[0]} words but the file holds {len(words)}; it is "
            f"truncated or was edited. Received: header={header[0]} {header[1]}"
        )
    first_line = 2 if header else 1
    try:
        vectors = np.array(rows, dtype=np.float32)
    except ValueError:
        for offset, row in enumerate(rows):
            for field in row:
                try:
                    float(field)
                except ValueError:
                    raise WordVectorsError(
                        f"{path}, line {first_line + offset}: {field!r} is not a number; expected "
                        f"{dimension} numbers after the word {words[offset]!r}. "
                        f"Received: {field!r}"
                    ) from None
        raise
    seen = {}
    for offset, word in enumerate(words):
        if word in seen:
            raise WordVectorsError(
                f"{path}, line {first_line + offset}: the word {word!r} repeats line "
                f"{first_line + seen[word]}; each word may appear once. Received: {word!r}"
            )
        seen[word] = offset
    if not np.all(np.isfinite(vectors)):
        offset = int(np.argwhere(~np.isfinite(vectors))[0][0])
        raise WordVectorsError(
            f"{path}, line {first_line + offset}: the vector of {words[offset]!r} holds NaN or "
            f"inf; expected finite numbers. Received: {_clip(' '.join(rows[offset]))!r}"
        )
    return WordVectors(words, vectors)


def _is_header(fields, format):
    """Whether a first line is a word2vec "V D" header (required when format is "word2vec")."""
    is_header = len(fields) == 2 and all(f.isdigit() for f in fields) and int(fields[1]) >= 1
    if format == "word2vec" and not is_header:
        raise WordVectorsError(
            f"A word2vec text file starts with a header line 'V D' (number of words, dimension). "
            f"For a file without one use format='glove'. Received: line 1={_clip(' '.join(fields))!r}"
        )
    return is_header


def _clip(text, limit=60):
    text = text.rstrip("\n")
    return text if len(text) <= limit else text[:limit] + "..."
