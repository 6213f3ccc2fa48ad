"""Punctuation and casing restoration pairs: a play's spoken lines, stripped -> as written.

The task: given a line of a play lower-cased with its punctuation removed (the source), write
the line as printed (the target). `restoration_pairs(corpus.train)` makes one
`RestorationPair` per spoken line; `tfllm.data.pair_dataset` turns pairs into batches.

`strip_line` makes the source. Punctuation is every character of a Unicode punctuation
category (P*: , . ; : ! ? ' - [ ] & " and the dashes), never a hand list. Removing it must not
glue two words together, so a run of punctuation *between two word characters* becomes one
space ("go:--let" -> "go let", "new-bent" -> "new bent", "to-night" -> "to night"), except a
lone apostrophe inside a word, which vanishes ("o'er" -> "oer", "woo'd" -> "wood"): an
elision or a possessive is part of its word. A hyphen is a space rather than nothing so that
each word of the source is a whole word of the target (no invented words like "newbent") and
the model restores a hyphen between two words just as it restores a comma. Punctuation
anywhere else is removed ("'Tis" -> "tis"); whitespace is collapsed to single spaces. Digits
and symbols (categories other than P*) stay.

`dialogue_lines` keeps only what is spoken. In the plain play text (`tfllm.data.shakespeare`)
a play is blocks of lines separated by blank lines; it drops:

- the title (the first line), and headings on top of a block: a line that starts with ACT,
  SCENE, PROLOGUE, EPILOGUE, INDUCTION or CHORUS, or is in capitals ("EPILOGUE", "SONG."), as
  well as a name in capitals under a block (a speaker line broken in two); the rest of the
  block is judged without them;
- speaker lines: the first line of a block, ending with ":", every word capitalised but
  connecting words ("First Witch:", "KING HENRY VI:", "Ghost of BUCKINGHAM:"); the speech
  below it is kept;
- stage directions: a block without a speaker line that starts with Enter, Re-enter, Exit,
  Exeunt or Manet (or has one of them after a full stop in its first line: "Flourish.
  Enter ..."), or whose last line does not end with punctuation. The second rule is what
  catches "Dies", "They fight, and EDGAR knocks him down" or a six-line procession: in these
  plays a stage direction almost never ends with punctuation (Edward III's, which end with a
  full stop, start with Enter or Exit), while a speech that resumes after one (a block with
  no speaker line) ends with it in 99% of blocks;
- lines in brackets ("[Aside]", "[To LUCILIUS]") or holding one (the editorial "[ ]"), a
  line that starts with Enter, Exit... and a capitalised word ("Enter FLAMINIUS."), lines
  in capitals (a heading such as "SONG." or "EPILOGUE" inside a speech, the signature of a
  letter), and lines without a letter.

Checked against the Markdown the plays come from, where stage directions are in italics: of
the 110,608 lines it marks as speech, 325 (0.3%) are dropped, most of them rightly (Edward
III's 153 stage directions that lack italics, names and letter signatures in capitals, a
speaker line broken in two); 25 of the 110,308 kept lines (0.02%) are stage directions, most
ending with a quoted cry ("They all cry, 'Henry!'").

Example:

>>> from tfllm.data import load_corpus
>>> from tfllm.data.restoration_pairs import restoration_pairs, strip_line
>>> strip_line("'Tis new-bent, o'er the hill--and home!")
'tis new bent oer the hill and home'
>>> pairs = restoration_pairs(load_corpus("shakespeare").validation)
>>> pairs[0]
RestorationPair(source='hence home you idle creatures get you home', \
target='Hence! home, you idle creatures get you home:', document='julius-caesar')
"""

import functools
import re
import unicodedata
from dataclasses import dataclass

from tfllm.validation import check_positive_int

__all__ = ["RESTORATION_MARKS", "RestorationPair", "dialogue_lines", "restoration_pairs",
           "strip_line"]

# The marks scored one by one: every punctuation mark that occurs over 1,000 times in the
# targets of the 38 plays, most frequent first (, 84,351; . 35,369; ' 24,937; ; 16,057;
# : 14,125; ? 10,529; ! 9,237; - 8,736). The rest are rare: the em dash (64 times), & (25, in
# "& c") and " (22); [ ] never occur (`dialogue_lines` drops bracketed lines).
RESTORATION_MARKS = (",", ".", "'", ";", ":", "?", "!", "-")

# Apostrophes: a lone one inside a word is part of the word (elision, possessive).
_APOSTROPHES = frozenset("'\u2019")
_HEADING = re.compile(r"^(ACT|SCENE|PROLOGUE|EPILOGUE|INDUCTION|CHORUS)\b")
_STAGE_START = re.compile(r"(^|[.:] )(Enter|Re-enter|Exit|Exeunt|Manet)\b")
# A stage direction inside a speech: "Enter FLAMINIUS.", "Exit" (a speech may say "Enter the city").
_STAGE_LINE = re.compile(r"^(Enter|Re-enter|Exit|Exeunt|Manet)( [A-Z]|\.?$)")
_SPEAKER = re.compile(r"^[A-Za-z][\w'.&\- :]*:$")
# Lower-case words a speaker's name may hold ("Ghost of BUCKINGHAM", "DROMIO of Ephesus").
_NAME_CONNECTORS = frozenset({"of", "and", "the", "to", "de", "la", "le", "du", "in", "&"})
_CAPITALS_WORD = re.compile(r"[A-Z]{2,}")
# Runs of characters that may be punctuation: every P* character is outside \w and \s but the
# underscore (a connector punctuation); which ones are P* is decided by category, per character.
_NON_WORD_RUN = re.compile(r"(?:[^\w\s]|_)+")


@dataclass(frozen=True)
class RestorationPair:
    """One example: `source` (`strip_line(target)`), `target` (the line as printed, its
    whitespace collapsed) and `document` (the name of the play it comes from)."""

    source: str
    target: str
    document: str


@functools.cache
def _is_punctuation(character):
    return unicodedata.category(character).startswith("P")


def _replace_run(match):
    """A run of non-word characters -> " " when it is all punctuation between two word
    characters (one apostrophe excepted); else the run without its punctuation."""
    text, start, end = match.string, match.start(), match.end()
    run = match.group()
    if not all(_is_punctuation(character) for character in run):
        return "".join(character for character in run if not _is_punctuation(character))
    between_words = (start > 0 and text[start - 1].isalnum()
                     and end < len(text) and text[end].isalnum())
    if between_words and not (end - start == 1 and run in _APOSTROPHES):
        return " "
    return ""


def strip_line(line):
    """The model input for `line`: lower-cased, punctuation removed (module docstring).

    Args:
        line: a str.

    Returns:
        The stripped str; "" when `line` holds nothing but punctuation and whitespace.
    """
    if not isinstance(line, str):
        raise TypeError(f"line must be a str. Received: line of type {type(line).__name__}")
    return " ".join(_NON_WORD_RUN.sub(_replace_run, line).lower().split())


def _is_speaker(line):
    """Whether `line` names a speaker: "NAME:" with every word capitalised but connectors."""
    if not _SPEAKER.match(line):
        return False
    words = line[:-1].replace(":", " ").split()
    return bool(words) and all(word[0].isupper() or word in _NAME_CONNECTORS for word in words)


def _is_stage_direction_block(block):
    """Whether a block with no speaker line and no heading on top is a stage direction."""
    return bool(_STAGE_START.search(block[0])) or not _is_punctuation(block[-1][-1])


def _in_capitals(line):
    """Whether every letter of `line` is a capital and it has a word of two or more ("SONG.",
    "LEONATUS POSTHUMUS.'"; not "O, I!")."""
    letters = "".join(c for c in line if c.isalpha())
    return letters.isupper() and bool(_CAPITALS_WORD.search(line))


def _is_spoken(line):
    """Whether one line of a speech is spoken: letters, no brackets, not in capitals, not a
    stage direction."""
    if "[" in line or "]" in line or not any(c.isalpha() for c in line) or _STAGE_LINE.match(line):
        return False
    return not _in_capitals(line)


def _blocks(lines):
    """Runs of non-blank lines, each line stripped."""
    block = []
    for line in lines:
        if line.strip():
            block.append(line.strip())
        elif block:
            yield block
            block = []
    if block:
        yield block


def dialogue_lines(text):
    """The spoken lines of a play's plain text, in order (rules in the module docstring).

    Args:
        text: a play as `tfllm.data.load_plays` gives it (title, headings, speaker lines,
            stage directions, speeches).

    Returns:
        A list of str: each spoken line, stripped of surrounding whitespace.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str. Received: text of type {type(text).__name__}")
    lines = text.splitlines()
    # The title is the first non-blank line.
    start = next((i + 1 for i, line in enumerate(lines) if line.strip()), len(lines))
    spoken = []
    for block in _blocks(lines[start:]):
        if _is_speaker(block[0]):
            speech = block[1:]
        else:
            # A heading on top of a speech ("EPILOGUE", "SONG.") says nothing of what follows.
            while block and (_HEADING.match(block[0]) or _in_capitals(block[0])):
                block = block[1:]
            # Nor does a name in capitals under it (a speaker line broken in two).
            while block and _in_capitals(block[-1]):
                block = block[:-1]
            if not block or _is_stage_direction_block(block):
                continue
            speech = block
        spoken.extend(line for line in speech if _is_spoken(line))
    return spoken


def restoration_pairs(documents, *, max_words=None):
    """One `RestorationPair` per spoken line of `documents`, in document and line order.

    Args:
        documents: an iterable of `tfllm.data.Document` (e.g. `load_corpus(...).train`).
        max_words: skip lines whose source has more than this many words; None keeps all.

    Returns:
        A list of `RestorationPair`; the same documents always give the same list.
    """
    if max_words is not None:
        check_positive_int("max_words", max_words)
    pairs = []
    for document in documents:
        if not hasattr(document, "text") or not hasattr(document, "name"):
            raise TypeError(
                f"documents must be tfllm.data.Document objects (with .name and .text). "
                f"Received: an element of type {type(document).__name__}"
            )
        for line in dialogue_lines(document.text):
            source = strip_line(line)
            if not source or (max_words is not None and len(source.split()) > max_words):
                continue
            pairs.append(RestorationPair(source=source, target=" ".join(line.split()),
                                         document=document.name))
    return pairs
