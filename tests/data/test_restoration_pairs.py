"""Restoration pairs: stripping a line, the spoken lines of a play, the pairs of a corpus."""

import collections
import doctest
import importlib
import re
import sys
import unicodedata

import pytest

from tfllm.data import Document, load_corpus, load_plays
from tfllm.data.restoration_pairs import (
    RESTORATION_MARKS,
    RestorationPair,
    dialogue_lines,
    restoration_pairs,
    strip_line,
)


@pytest.fixture(scope="module")
def plays():
    return {play.slug: play for play in load_plays()}


@pytest.fixture(scope="module")
def validation_pairs():
    return restoration_pairs(load_corpus("shakespeare").validation)


@pytest.mark.parametrize("line, expected", [
    ("'Tis now struck twelve; get thee to bed, Francisco.",
     "tis now struck twelve get thee to bed francisco"),
    ("O'er the hill, I woo'd thee", "oer the hill i wood thee"),
    ("New-bent in heaven", "new bent in heaven"),  # a hyphen between words is a space
    ("Let him for ever go:--let him not--Charmian,", "let him for ever go let him not charmian"),
    ("The bell then beating one,--", "the bell then beating one"),
    ("  WHAT?   say'st  thou?  ", "what sayst thou"),
    ("\u2018Tis so\u2019s \u00abhere\u00bb\u2014and gone", "tis sos here and gone"),
    ("Thisbe 's mantle", "thisbe s mantle"),  # an apostrophe after a space is not in a word
    ("5,000 crowns & c", "5 000 crowns c"),
    ("--!?", ""),
    ("", ""),
])
def test_strip_line(line, expected):
    assert strip_line(line) == expected


def test_strip_line_removes_every_unicode_punctuation_mark():
    marks = [chr(code) for code in range(sys.maxunicode + 1)
             if unicodedata.category(chr(code)).startswith("P")]
    assert len(marks) > 500
    text = "".join(marks)
    assert strip_line(text) == "" and strip_line(f"x {text} y") == "x y"
    # Between two letters every mark makes a space, except a lone apostrophe.
    assert {mark for mark in marks if strip_line(f"a{mark}b") == "ab"} == {"'", "\u2019"}
    assert all(strip_line(f"a{mark}b") in ("a b", "ab") for mark in marks)
    # Symbols, digits and letters of any script stay.
    assert strip_line("Ça coûte 5$ + 3£") == "ça coûte 5$ + 3£"


def test_strip_line_rejects_non_strings():
    with pytest.raises(TypeError, match="line must be a str"):
        strip_line(b"bytes")


SYNTHETIC_PLAY = """The Tragedy of Tests

ACT I

SCENE I. A room. Enter nobody.

Enter HAMLET and First Witch

HAMLET:
[Aside]
To be, or not to be: that is the question:
Whether 'tis nobler in the mind to suffer

First Witch:
When shall we three meet again?

Exit First Witch

Dies

They fight, and LAERTES falls

Flourish. Exeunt all but HAMLET

The rest, my lord, is silence.

EPILOGUE
Our revels now are ended.
SONG.

--
"""


def test_dialogue_lines_of_a_synthetic_play():
    assert dialogue_lines(SYNTHETIC_PLAY) == [
        "To be, or not to be: that is the question:",
        "Whether 'tis nobler in the mind to suffer",
        "When shall we three meet again?",
        "The rest, my lord, is silence.",  # a speech resumed after a stage direction
        "Our revels now are ended.",
    ]
    assert dialogue_lines("") == [] and dialogue_lines("Title only\n") == []
    with pytest.raises(TypeError, match="text must be a str"):
        dialogue_lines(None)


def test_dialogue_lines_of_a_real_play(plays):
    text = plays["a-midsummer-night-s-dream"].text
    lines = dialogue_lines(text)
    assert lines[:2] == ["Now, fair Hippolyta, our nuptial hour",
                         "Draws on apace; four happy days bring in"]
    for skipped in ["A Midsummer Night's Dream", "ACT I", "SCENE I. Athens. The palace of THESEUS.",
                    "THESEUS:", "Enter THESEUS, HIPPOLYTA, PHILOSTRATE, and Attendants",
                    "Exit PHILOSTRATE", "[Awaking]", "Lies down and sleeps", "Sleeps"]:
        assert skipped in text.splitlines() and skipped not in lines, skipped
    # The speech that resumes after "Exit PHILOSTRATE" has no speaker line but is kept.
    assert "Hippolyta, I woo'd thee with my sword," in lines
    assert len(lines) == len(set(lines)) + sum(n - 1 for n in collections.Counter(lines).values())
    tempest = dialogue_lines(plays["the-tempest"].text)
    assert "Now my charms are all o'erthrown," in tempest and "EPILOGUE" not in tempest
    hamlet = dialogue_lines(plays["hamlet"].text)
    assert "Who's there?" in hamlet and "Dies" not in hamlet and "Falls and dies" not in hamlet


def test_no_heading_speaker_or_stage_direction_in_any_play(plays):
    speaker = re.compile(r"^[A-Z][A-Z .'&-]*:$")
    # A heading, or a stage direction: "Exit", "Enter HAMLET" (a speech may say "Enter the city").
    direction = re.compile(r"(ACT|SCENE) |(Enter|Exit|Exeunt|Re-enter)( [A-Z]|$)")
    counts = {}
    for slug, play in plays.items():
        lines = dialogue_lines(play.text)
        counts[slug] = len(lines)
        for line in lines:
            assert line == line.strip() and any(c.isalpha() for c in line), (slug, line)
            assert not speaker.match(line), (slug, line)
            assert not direction.match(line), (slug, line)
            assert "[" not in line and "]" not in line, (slug, line)
    # Every play keeps most of its lines: no rule swallowed a play.
    assert min(counts.values()) > 1500 and sum(counts.values()) == 110_308


def test_restoration_pairs_of_the_validation_plays(validation_pairs):
    assert len(validation_pairs) == 7253
    assert [p.document for p in validation_pairs[:1]] == ["julius-caesar"]
    documents = [p.document for p in validation_pairs]
    assert list(dict.fromkeys(documents)) == ["julius-caesar", "macbeth", "the-tempest"]
    for pair in validation_pairs:
        assert isinstance(pair, RestorationPair)
        assert pair.source == strip_line(pair.target) and pair.source
        assert pair.target == " ".join(pair.target.split())
    # Deterministic: the same documents give the same pairs.
    assert restoration_pairs(load_corpus("shakespeare").validation) == validation_pairs
    with pytest.raises(AttributeError):
        validation_pairs[0].source = "x"  # frozen


def test_restoration_pairs_max_words(validation_pairs):
    short = restoration_pairs(load_corpus("shakespeare").validation, max_words=5)
    assert short == [p for p in validation_pairs if len(p.source.split()) <= 5]
    assert 0 < len(short) < len(validation_pairs)
    with pytest.raises(ValueError, match="max_words"):
        restoration_pairs([], max_words=0)
    with pytest.raises(TypeError, match="Document"):
        restoration_pairs(["just a string"])


def test_restoration_pairs_of_a_tiny_document():
    document = Document(name="tiny", text="Title\n\nA:\nGood morrow, sir!\n-- --\nHow now?\n")
    assert restoration_pairs([document]) == [
        RestorationPair("good morrow sir", "Good morrow, sir!", "tiny"),
        RestorationPair("how now", "How now?", "tiny"),
    ]


def test_restoration_marks_are_the_frequent_marks(validation_pairs):
    counts = collections.Counter(c for p in validation_pairs for c in p.target
                                 if unicodedata.category(c).startswith("P"))
    assert all(counts[mark] >= 100 for mark in RESTORATION_MARKS)
    assert set(counts) - set(RESTORATION_MARKS) <= {"\u2014", "&", '"'}
    assert sum(counts[m] for m in RESTORATION_MARKS) > 0.99 * sum(counts.values())


def test_docstring_examples_run():
    module = importlib.import_module("tfllm.data.restoration_pairs")  # not the function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
