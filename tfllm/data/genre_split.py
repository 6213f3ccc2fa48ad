"""Genre classification data: passages of the plays, labelled with their play's genre.

The unit to classify is a `Passage`: consecutive spoken lines of one play (the speech lines
`tfllm.data.restoration_pairs.dialogue_lines` keeps: no title, heading, speaker name or stage
direction), joined with "\\n" up to `max_characters`, cut only at line breaks. Two tasks
(`GENRE_TASKS`):

- "binary": comedies (label 0) against tragedies (label 1), only the plays of those two genres;
- "genre": all six genres of `tfllm.data.shakespeare.GENRES`, the label a genre's index there.

The split is by play, never by passage (passages of one play share its names, places and plot,
so a random passage split would score memory), stratified by genre: one validation play and one
test play from each of the six genres, the others train:

- validation: a-midsummer-night-s-dream (comedies), henry-v (histories),
  all-s-well-that-ends-well (problems), coriolanus (roman), cymbeline (romances),
  othello (tragedies)
- test: much-ado-about-nothing (comedies), king-john (histories), the-merchant-of-venice
  (problems), antony-and-cleopatra (roman), a-winter-s-tale (romances), king-lear (tragedies)
- train: the other 26 plays (6 comedies, 9 histories, 3 problems, 2 roman, 2 romances,
  4 tragedies).

This split is its own rather than the language-model split of `tfllm.data.shakespeare`, whose
six held-out plays leave no comedy in validation (nor a tragedy in test). The genre held-out
plays are in the language-model training split, so a model pre-trained there would have read
them: `genre_corpus` re-splits a loaded corpus of the plays by these lists, and the masked-LM
and genre tasks train (tokenizer included) on its training plays only.

Classes are unbalanced (the "genre" training split holds over five times as many history
passages as roman ones): `class_counts` counts them and `balanced_class_weights` gives
scikit-learn's "balanced" weights, n / (num_classes * count_c), for a weighted loss.

Example:

>>> from tfllm.data.genre_split import genre_split
>>> splits = genre_split("binary")
>>> sorted({passage.play for passage in splits["validation"]})
['a-midsummer-night-s-dream', 'othello']
>>> passage = splits["test"][0]
>>> passage.play, passage.label, passage.text.splitlines()[0]
('king-lear', 1, 'I thought the king had more affected the Duke of')
"""

from dataclasses import dataclass

from tfllm.data.corpus import SPLITS, Corpus
from tfllm.data.restoration_pairs import dialogue_lines
from tfllm.data.shakespeare import GENRES, load_plays
from tfllm.errors import CorpusError
from tfllm.validation import check_choice, check_int_range, check_positive_int

__all__ = ["GENRE_SPLITS", "GENRE_TASKS", "GENRE_TEST_PLAYS", "GENRE_VALIDATION_PLAYS",
           "MAX_PASSAGE_CHARACTERS", "Passage", "balanced_class_weights", "class_counts",
           "genre_corpus", "genre_passages", "genre_split", "split_genre_plays"]

# genre -> the held-out play of that genre (module docstring).
GENRE_VALIDATION_PLAYS = {
    "comedies": "a-midsummer-night-s-dream",
    "histories": "henry-v",
    "problems": "all-s-well-that-ends-well",
    "roman": "coriolanus",
    "romances": "cymbeline",
    "tragedies": "othello",
}
GENRE_TEST_PLAYS = {
    "comedies": "much-ado-about-nothing",
    "histories": "king-john",
    "problems": "the-merchant-of-venice",
    "roman": "antony-and-cleopatra",
    "romances": "a-winter-s-tale",
    "tragedies": "king-lear",
}
# task -> class names, label = index.
GENRE_TASKS = {"binary": ("comedies", "tragedies"), "genre": GENRES}
GENRE_SPLITS = ("train", "validation", "test")
# A passage is one classifier input, not a play (the plays have 88,000-178,000 characters).
MAX_PASSAGE_CHARACTERS = 65_536


@dataclass(frozen=True)
class Passage:
    """One example: `text` (spoken lines joined with "\\n"), `label` (an int class of the
    task) and `play` (the slug of the play it comes from)."""

    text: str
    label: int
    play: str


def split_genre_plays(plays=None):
    """{"train", "validation", "test"} -> list of `Play`s (sorted by slug), by the fixed lists.

    Args:
        plays: `Play`s (default: `load_plays()`, all 38).
    """
    plays = load_plays() if plays is None else list(plays)
    validation = set(GENRE_VALIDATION_PLAYS.values())
    test = set(GENRE_TEST_PLAYS.values())
    return {
        "train": [play for play in plays if play.slug not in validation | test],
        "validation": [play for play in plays if play.slug in validation],
        "test": [play for play in plays if play.slug in test],
    }


def genre_corpus(corpus):
    """The plays of a loaded `Corpus` (all splits) re-split by the genre lists, as a `Corpus`.

    Raises `CorpusError` unless the corpus holds every one of the bundled plays, by name (a
    `Document` per play named by its slug, its genre in `.label`: `load_corpus("shakespeare")`).
    """
    documents = {document.name: document for split in SPLITS
                 for document in corpus.documents(split)}
    plays = split_genre_plays()
    missing = sorted(play.slug for split in plays.values() for play in split
                     if play.slug not in documents)
    if missing:
        raise CorpusError(
            f"The genre split needs the bundled plays, each a document named by its slug with "
            f"its genre as label (--corpus shakespeare). Received: corpus {corpus.name!r} "
            f"without {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
        )
    return Corpus(name=corpus.name, **{
        split: [documents[play.slug] for play in split_plays]
        for split, split_plays in plays.items()})


def genre_passages(plays_or_documents, *, task="genre", max_characters=400):
    """The `Passage`s of plays, in play and line order (module docstring).

    Args:
        plays_or_documents: an iterable of `tfllm.data.Play` (`.slug`, `.genre`, `.text`) or
            of `tfllm.data.Document` (`.name`, `.label` holding the genre, `.text`), such as
            `load_corpus("shakespeare").train`.
        task: "binary" or "genre" (`GENRE_TASKS`); for "binary", plays of other genres give
            no passages.
        max_characters: the most characters of a passage; a spoken line longer than this is a
            passage of its own.

    Returns:
        A list of `Passage`.
    """
    check_choice("task", task, tuple(GENRE_TASKS))
    max_characters = _check_max_characters(max_characters)
    classes = GENRE_TASKS[task]
    passages = []
    for item in plays_or_documents:
        name, genre = _name_and_genre(item)
        if genre not in classes:
            if genre not in GENRES:
                raise ValueError(
                    f"Each play needs a genre, one of {', '.join(GENRES)} (a Play's .genre or "
                    f"a Document's .label). Received: genre={genre!r} for {name!r}"
                )
            continue
        label = classes.index(genre)
        passages.extend(Passage(text=text, label=label, play=name)
                        for text in _pack_lines(dialogue_lines(item.text), max_characters))
    return passages


def genre_split(task="binary", *, max_characters=400):
    """{"train", "validation", "test"} -> list of `Passage`s of the bundled plays.

    Args:
        task: "binary" (comedies 0, tragedies 1) or "genre" (six genres, label = index in
            `GENRES`).
        max_characters: the most characters of a passage (see `genre_passages`).

    Returns:
        A dict from split name to its passages, in play (slug) and line order.
    """
    check_choice("task", task, tuple(GENRE_TASKS))
    max_characters = _check_max_characters(max_characters)
    return {split: genre_passages(plays, task=task, max_characters=max_characters)
            for split, plays in split_genre_plays().items()}


def class_counts(passages, num_classes):
    """{class: number of passages with that label} for every class in [0, num_classes)."""
    num_classes = check_positive_int("num_classes", num_classes)
    counts = dict.fromkeys(range(num_classes), 0)
    for index, passage in enumerate(passages):
        label = getattr(passage, "label", None)
        if label not in counts or isinstance(label, bool):
            raise ValueError(
                f"Each passage needs an int label in [0, {num_classes}) (num_classes="
                f"{num_classes}). Received: passages[{index}].label={label!r}"
            )
        counts[label] += 1
    return counts


def balanced_class_weights(passages, num_classes):
    """{class: n / (num_classes * count_c)}: scikit-learn's "balanced" class weights.

    Each class then carries the same total weight (n / num_classes), and the weights average 1
    over the passages. Every class must occur: a class with no passage would need an infinite
    weight.

    Example:

    >>> from tfllm.data.genre_split import Passage, balanced_class_weights
    >>> passages = [Passage("a", 0, "p"), Passage("b", 0, "p"), Passage("c", 0, "p"),
    ...             Passage("d", 1, "q")]
    >>> balanced_class_weights(passages, 2)
    {0: 0.6666666666666666, 1: 2.0}
    """
    counts = class_counts(passages, num_classes)
    missing = [label for label, count in counts.items() if count == 0]
    if missing:
        raise ValueError(
            f"Every class needs at least one passage for a balanced weight (n / (num_classes * "
            f"count)). Received: no passage of class(es) {missing} among {sum(counts.values())} "
            f"passages"
        )
    total = sum(counts.values())
    return {label: total / (num_classes * count) for label, count in counts.items()}


def _check_max_characters(max_characters):
    return check_int_range("max_characters", max_characters, 1, MAX_PASSAGE_CHARACTERS)


def _name_and_genre(item):
    """(slug, genre) of a `Play` or a `Document`."""
    if hasattr(item, "slug") and hasattr(item, "genre"):
        name, genre = item.slug, item.genre
    elif hasattr(item, "name") and hasattr(item, "label"):
        name, genre = item.name, item.label
    else:
        raise TypeError(
            f"plays_or_documents must hold tfllm.data.Play or tfllm.data.Document objects. "
            f"Received: an element of type {type(item).__name__}"
        )
    if not isinstance(getattr(item, "text", None), str):
        raise TypeError(f"A play's text must be a str. Received: text of type "
                        f"{type(getattr(item, 'text', None)).__name__} for {name!r}")
    return name, genre


def _pack_lines(lines, max_characters):
    """Consecutive lines joined with "\\n" into texts of at most `max_characters`; a longer
    line is a text of its own."""
    texts, current, length = [], [], 0
    for line in lines:
        joined = length + 1 + len(line) if current else len(line)
        if current and joined > max_characters:
            texts.append("\n".join(current))
            current, joined = [], len(line)
        current.append(line)
        length = joined
    if current:
        texts.append("\n".join(current))
    return texts
