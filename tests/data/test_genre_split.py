"""Genre classification data: the split by play, the passages, the class weights."""

import collections
import doctest
import importlib
import re

import pytest

from tfllm.data import Document, load_corpus, load_plays
from tfllm.data.genre_split import (
    GENRE_TASKS,
    GENRE_TEST_PLAYS,
    GENRE_VALIDATION_PLAYS,
    Passage,
    balanced_class_weights,
    class_counts,
    genre_passages,
    genre_split,
    split_genre_plays,
)
from tfllm.data.restoration_pairs import dialogue_lines
from tfllm.data.shakespeare import (
    GENRES,
    TEST_PLAYS,
    VALIDATION_PLAYS,
    markdown_to_text,
    play_files,
)

_MARKDOWN_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*$")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.*)$")


@pytest.fixture(scope="module")
def plays():
    return {play.slug: play for play in load_plays()}


@pytest.fixture(scope="module")
def binary():
    return genre_split("binary")


@pytest.fixture(scope="module")
def genre():
    return genre_split("genre")


def test_plays_are_split_by_play_one_validation_and_one_test_play_per_genre(plays):
    splits = split_genre_plays()
    slugs = {split: [play.slug for play in split_plays] for split, split_plays in splits.items()}
    assert sum(len(names) for names in slugs.values()) == len(plays) == 38
    assert len(set().union(*slugs.values())) == 38  # no play in two splits
    for split, fixed in (("validation", GENRE_VALIDATION_PLAYS), ("test", GENRE_TEST_PLAYS)):
        genres = collections.Counter(play.genre for play in splits[split])
        assert genres == dict.fromkeys(GENRES, 1)
        assert {plays[slug].genre: slug for slug in slugs[split]} == fixed
    train_genres = collections.Counter(play.genre for play in splits["train"])
    assert train_genres == {"comedies": 6, "histories": 9, "problems": 3, "roman": 2,
                            "romances": 2, "tragedies": 4}
    # None of the language-model split's held-out plays is held out here.
    held_out = set(GENRE_VALIDATION_PLAYS.values()) | set(GENRE_TEST_PLAYS.values())
    assert not held_out & (set(VALIDATION_PLAYS) | set(TEST_PLAYS))


@pytest.mark.parametrize("task", ["binary", "genre"])
def test_no_play_gives_passages_to_two_splits(task, binary, genre):
    splits = binary if task == "binary" else genre
    plays_per_split = [{passage.play for passage in passages} for passages in splits.values()]
    assert all(plays_per_split)
    assert sum(map(len, plays_per_split)) == len(set().union(*plays_per_split))


def test_binary_holds_only_comedies_and_tragedies_with_their_labels(plays, binary):
    assert GENRE_TASKS["binary"] == ("comedies", "tragedies")
    for passages in binary.values():
        labels = {passage.play: passage.label for passage in passages}
        assert {plays[slug].genre for slug in labels} == {"comedies", "tragedies"}
        assert all(label == (plays[slug].genre == "tragedies") for slug, label in labels.items())
        assert {type(passage.label) for passage in passages} == {int}


def test_genre_labels_are_the_index_in_genres(plays, genre):
    assert GENRE_TASKS["genre"] == GENRES
    for passages in genre.values():
        assert {passage.label for passage in passages} == set(range(6))
        assert all(GENRES[passage.label] == plays[passage.play].genre for passage in passages)


@pytest.mark.parametrize("max_characters", [40, 400])
def test_passages_never_exceed_max_characters_unless_one_line_does(plays, max_characters):
    passages = genre_passages([plays["othello"], plays["twelfth-night"]],
                              max_characters=max_characters)
    long_single_lines = 0
    for passage in passages:
        if len(passage.text) > max_characters:
            assert "\n" not in passage.text
            long_single_lines += 1
    if max_characters == 40:
        assert long_single_lines > 0  # the rule is exercised
    # Cut only at line breaks: each play's passages, joined, are its spoken lines in order.
    lines = [line for passage in passages if passage.play == "othello"
             for line in passage.text.split("\n")]
    assert lines == dialogue_lines(plays["othello"].text)
    # Packing is greedy: a passage and the next line would not have fitted.
    othello = [passage.text for passage in passages if passage.play == "othello"]
    for text, following in zip(othello, othello[1:]):
        assert len(text) + 1 + len(following.split("\n")[0]) > max_characters


def _marked_lines(plays):
    """The headings and speaker lines of the plays as their plain text writes them, read
    from the Markdown sources (`# ACT I`, `**HAMLET**` -> "ACT I", "HAMLET:")."""
    marked = {play.title for play in plays.values()}
    for path in play_files().values():
        for line in path.read_text(encoding="utf-8").splitlines():
            if _MARKDOWN_SPEAKER.match(line.strip()) or _MARKDOWN_HEADING.match(line.strip()):
                marked.add(markdown_to_text(line).strip())
    # Bold in love-s-labours-lost's Markdown, but Biron's speech, not a speaker.
    return marked - {"Here stand I:"}


def test_passages_hold_no_title_heading_speaker_or_stage_direction(plays, binary):
    marked = _marked_lines(plays)
    assert {"ACT I", "HAMLET:", "First Witch:", "Othello"} <= marked
    for passages in binary.values():
        for passage in passages:
            for line in passage.text.split("\n"):
                assert line and line == line.strip()
                assert line not in marked, (passage.play, line)
                assert not line.startswith(("Enter ", "Exit", "Exeunt")), (passage.play, line)
                assert "[" not in line


def test_documents_of_the_corpus_give_the_same_passages_as_plays(plays):
    documents = load_corpus("shakespeare").validation  # labelled with their genre
    from_documents = genre_passages(documents, task="binary")
    from_plays = genre_passages([plays[document.name] for document in documents], task="binary")
    assert from_documents == from_plays
    assert {passage.play for passage in from_documents} == {"macbeth"}  # the only tragedy or comedy


def test_class_counts_and_balanced_weights():
    passages = [Passage("a", 0, "p")] * 6 + [Passage("b", 1, "q")] * 3 + [Passage("c", 2, "r")]
    assert class_counts(passages, 3) == {0: 6, 1: 3, 2: 1}
    assert class_counts(passages, 4) == {0: 6, 1: 3, 2: 1, 3: 0}
    weights = balanced_class_weights(passages, 3)
    # scikit-learn's "balanced": n / (num_classes * count_c).
    assert weights == pytest.approx({0: 10 / 18, 1: 10 / 9, 2: 10 / 3})
    # Each class then weighs n / num_classes in all.
    totals = [weights[label] * count for label, count in class_counts(passages, 3).items()]
    assert totals == pytest.approx([10 / 3] * 3)
    with pytest.raises(ValueError, match=r"no passage of class\(es\) \[3\]"):
        balanced_class_weights(passages, 4)
    with pytest.raises(ValueError, match=r"Received: passages\[9\].label=2"):
        class_counts(passages, 2)
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        class_counts(passages, 0)


def test_weights_of_the_real_training_split_equalise_the_classes(genre):
    counts = class_counts(genre["train"], len(GENRES))
    weights = balanced_class_weights(genre["train"], len(GENRES))
    total = sum(counts.values())
    assert all(weights[c] * counts[c] == pytest.approx(total / 6) for c in counts)
    assert weights[GENRES.index("histories")] < 1 < weights[GENRES.index("roman")]


def test_nothing_is_printed(capsys):
    passages = genre_split("binary", max_characters=2000)
    class_counts(passages["train"], 2)
    balanced_class_weights(passages["train"], 2)
    assert capsys.readouterr() == ("", "")


def test_bad_arguments_raise_naming_them(plays):
    with pytest.raises(ValueError, match=r"one of 'binary', 'genre'. Received: task='sentiment'"):
        genre_split("sentiment")
    with pytest.raises(ValueError, match="Received: task='Genre'"):
        genre_passages([plays["othello"]], task="Genre")
    for bad in (0, -5, 2.5, True, 10**9):
        with pytest.raises(ValueError, match=rf"Received: max_characters={bad!r}"):
            genre_split("binary", max_characters=bad)
    with pytest.raises(TypeError, match="Received: an element of type str"):
        genre_passages(["a play"])
    with pytest.raises(ValueError, match="Received: genre='farce'"):
        genre_passages([Document(name="x", text="Title\n\nA:\nHello there.\n", label="farce")])


def test_passages_are_frozen():
    passage = Passage("text", 0, "othello")
    with pytest.raises(AttributeError):
        passage.label = 1


def test_docstring_examples_run():
    module = importlib.import_module("tfllm.data.genre_split")  # not the function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
