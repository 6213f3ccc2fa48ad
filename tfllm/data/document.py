"""`Document`: one named text of a corpus (a play, a file, or a part of one)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    """A named text with an optional label.

    Args:
        name: where it came from, e.g. a play's slug or a file path relative to the corpus folder.
        text: the text.
        label: an optional class label (the genre, for a play); "" when there is none.
    """

    name: str
    text: str
    label: str = ""

    def __repr__(self):
        return f"Document(name={self.name!r}, characters={len(self.text)}, label={self.label!r})"
