"""`Corpus`: documents split into train / validation / test, and `load_corpus(spec)`.

Three kinds of corpus, all split deterministically:

- `"shakespeare"`: the 38 bundled plays, split by play (`tfllm.data.shakespeare`): 32 train, 3
  validation (the-tempest, julius-caesar, macbeth), 3 test (twelfth-night, richard-ii,
  measure-for-measure). Each document is a play, labelled with its genre.
- a path: a UTF-8 text file or a folder of `.txt` files (`tfllm.data.text_files`), one document
  per file.
- `"tfds:NAME"`: one split (`tfds_split`) of a TFDS dataset already prepared in the local data
  directory, one document per example's `text_feature` (`tfllm.data.tfds_corpus`). Never
  downloads.

Each document of a path or a TFDS dataset gives its first 90% of characters to train, the next
5% to validation and the last 5% to test, each cut moved forward to the next line boundary, so
even a single file yields all three splits. A document too short to reach a boundary in a split
contributes nothing to it (a one-line document goes wholly to train).

Example:

>>> from tfllm.data import load_corpus
>>> corpus = load_corpus("shakespeare")
>>> [doc.name for doc in corpus.validation]
['julius-caesar', 'macbeth', 'the-tempest']
>>> corpus.split_text("validation")[:7]
'Julius '
"""

import math
from dataclasses import dataclass

from tfllm.data.document import Document
from tfllm.data.shakespeare import split_plays
from tfllm.data.tfds_corpus import read_tfds_documents
from tfllm.paths import TFDS_PREFIX
from tfllm.data.text_files import read_text_files
from tfllm.errors import CorpusError

SPLITS = ("train", "validation", "test")
# Fractions of each user document that end the train and validation parts.
TRAIN_END, VALIDATION_END = 0.90, 0.95
# Separates documents in `split_text`.
DOCUMENT_SEPARATOR = "\n\n"

__all__ = ["Corpus", "Document", "SPLITS", "load_corpus", "load_documents", "split_document"]


@dataclass(frozen=True)
class Corpus:
    """A named corpus: lists of `Document`s for train, validation and test."""

    name: str
    train: list
    validation: list
    test: list

    def documents(self, split):
        """The `Document`s of `split` ("train", "validation" or "test")."""
        if split not in SPLITS:
            raise CorpusError(f"split must be one of {', '.join(SPLITS)}. Received: split={split!r}")
        return getattr(self, split)

    def split_text(self, split):
        """The texts of `split`'s documents, each without leading and trailing newlines, joined
        by one blank line ("\\n\\n")."""
        return DOCUMENT_SEPARATOR.join(d.text.strip("\n") for d in self.documents(split))

    @property
    def sizes(self):
        """{split: number of characters of `split_text(split)`}."""
        return {split: len(self.split_text(split)) for split in SPLITS}

    def __repr__(self):
        counts = ", ".join(f"{split}={len(getattr(self, split))} docs" for split in SPLITS)
        return f"Corpus(name={self.name!r}, {counts})"


def load_corpus(spec="shakespeare", encoding_errors="strict", *, tfds_split="train",
                text_feature="text", data_dir=None):
    """Loads and splits a corpus.

    Args:
        spec: "shakespeare" (the bundled plays), the path of a UTF-8 text file or folder of
            `.txt` files, or "tfds:NAME" for a TFDS dataset prepared in the local data directory.
        encoding_errors: "strict", "replace" or "skip", for bytes that are not UTF-8 (user files
            and TFDS text only; see `tfllm.data.text_files`).
        tfds_split: for "tfds:NAME", the TFDS split (or slice, e.g. "train[:10%]") to read.
        text_feature: for "tfds:NAME", the feature that holds each example's text.
        data_dir: for "tfds:NAME", the TFDS data directory; None reads `$TFDS_DATA_DIR`, else
            ~/tensorflow_datasets.

    Returns:
        A `Corpus`. Raises `CorpusError` for missing, empty or undecodable files, a TFDS dataset
        that is not prepared (or lacks the split or feature), or a corpus too small to have a
        validation split.
    """
    if str(spec) == "shakespeare":
        splits = split_plays()
        return Corpus(
            name="shakespeare",
            **{
                split: [Document(name=play.slug, text=play.text, label=play.genre) for play in plays]
                for split, plays in splits.items()
            },
        )
    documents = load_documents(spec, encoding_errors, tfds_split=tfds_split,
                               text_feature=text_feature, data_dir=data_dir)
    return Corpus(name=str(spec), **_split_documents(documents, str(spec)))


def load_documents(spec="shakespeare", encoding_errors="strict", *, tfds_split="train",
                   text_feature="text", data_dir=None):
    """The whole documents of a corpus, unsplit (arguments as for `load_corpus`): what
    `tfllm evaluate --corpus` scores when no split is asked for."""
    if str(spec) == "shakespeare":
        return [Document(name=play.slug, text=play.text, label=play.genre)
                for plays in split_plays().values() for play in plays]
    if str(spec).startswith(TFDS_PREFIX):
        return read_tfds_documents(
            str(spec)[len(TFDS_PREFIX):], tfds_split, text_feature, data_dir=data_dir,
            encoding_errors=encoding_errors,
        )
    return read_text_files(spec, encoding_errors=encoding_errors)


def _split_documents(documents, spec):
    """{split: [Document]}: each document's 90/5/5 parts (`split_document`), empty parts dropped."""
    parts = {split: [] for split in SPLITS}
    for document in documents:
        for split, text in zip(SPLITS, split_document(document.text)):
            if text.strip():
                parts[split].append(Document(name=document.name, text=text, label=document.label))
    if not parts["validation"]:
        raise CorpusError(_unsplittable_message(documents, spec))
    return parts


# A line this long is not prose: the text has (almost) no line breaks to cut it at.
_LONG_LINE = 2_000


def _unsplittable_message(documents, spec):
    """Why no document gave a validation part: too little text, or too few line breaks."""
    total = sum(len(d.text) for d in documents)
    lines = sum(d.text.count("\n") + 1 for d in documents)
    longest, document = max((max(map(len, d.text.split("\n"))), d.name) for d in documents)
    if longest >= _LONG_LINE:
        return (
            f"The corpus {spec!r} cannot be split: a document is cut into train, validation and "
            f"test only at line breaks (the first ones after 90% and 95% of its characters), "
            f"and {document!r} has a line of {longest:,} characters ({total:,} characters in "
            f"{lines:,} line(s) in all), so there is no line break to cut at. Break the text "
            f"into lines (one paragraph or sentence per line). Received: corpus={spec!r}"
        )
    needed = max(20 * total // lines, 20)
    return (
        f"The corpus {spec!r} is too small to split: its validation part (characters "
        f"90-95% of each document, cut at line boundaries) is empty. It has {total:,} characters "
        f"in {lines:,} lines; a document needs at least 20 lines, about {needed:,} characters "
        f"at this line length. Received: corpus={spec!r}"
    )


def split_document(text):
    """Splits `text` into (train, validation, test) at the first line boundaries at or after
    90% and 95% of its characters."""
    def cut(fraction):
        # The smallest line start (index after a "\n", or the end of the text) >= the target.
        target = math.ceil(fraction * len(text))
        if target <= 0:
            return 0
        newline = text.find("\n", target - 1)
        return len(text) if newline < 0 else newline + 1

    train_end, validation_end = cut(TRAIN_END), cut(VALIDATION_END)
    return text[:train_end], text[train_end:validation_end], text[validation_end:]
