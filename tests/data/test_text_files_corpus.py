"""User corpora: reading files and folders, one-line errors for bad input, the 90/5/5 split."""

import pytest

from tfllm.data import load_corpus, read_text_files, split_document
from tfllm.data.shakespeare import load_plays
from tfllm.errors import CorpusError


@pytest.fixture(scope="module")
def play_text():
    return next(play for play in load_plays() if play.slug == "the-tempest").text


def _error(pattern, *args, **kwargs):
    with pytest.raises(CorpusError, match=pattern) as info:
        read_text_files(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message  # the CLI prints it as one line
    return message


def test_single_file(tmp_path, play_text):
    path = tmp_path / "tempest.txt"
    path.write_bytes(("\ufeff" + play_text.replace("\n", "\r\n")).encode("utf-8"))
    (document,) = read_text_files(path)
    assert document.name == "tempest.txt" and document.text == play_text


def test_folder_recursive_sorted_skipping_empty(tmp_path, play_text):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.txt").write_text(play_text[:5000], encoding="utf-8")
    (tmp_path / "a.txt").write_text(play_text[5000:9000], encoding="utf-8")
    (tmp_path / "blank.txt").write_text(" \n\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    documents = read_text_files(tmp_path)
    assert [d.name for d in documents] == ["a.txt", "b/two.txt"]
    assert documents[1].text == play_text[:5000]


def test_missing_path(tmp_path):
    message = _error("does not exist", tmp_path / "nope.txt")
    assert str(tmp_path / "nope.txt") in message and "shakespeare" in message


def test_folder_without_txt_files(tmp_path):
    (tmp_path / "notes.md").write_text("hello", encoding="utf-8")
    _error(r"no \.txt files", tmp_path)


def test_empty_files(tmp_path):
    (tmp_path / "one.txt").write_text("", encoding="utf-8")
    (tmp_path / "two.txt").write_text("  \n\t\n", encoding="utf-8")
    _error(r"empty: 2 file\(s\) read", tmp_path)
    _error(r"empty: 1 file\(s\) read", tmp_path / "two.txt")


def test_non_utf8_under_strict_names_file_line_and_offset(tmp_path):
    bad = tmp_path / "latin1.txt"
    prefix = ("To be, or not to be\n" * 3).encode()
    bad.write_bytes(prefix + "caf\xe9\n".encode("latin-1"))
    message = _error("latin1.txt", bad)
    assert "line 4" in message and f"byte offset {len(prefix) + 3}" in message
    assert "--encoding-errors replace" in message
    (document,) = read_text_files(bad, encoding_errors="replace")
    assert document.text.endswith("caf\ufffd\n")


def test_invalid_encoding_errors_value(tmp_path):
    _error("strict, replace", tmp_path, encoding_errors="ignore")


def test_split_document_at_line_boundaries(play_text):
    train, validation, test = split_document(play_text)
    assert train + validation + test == play_text
    n = len(play_text)
    assert 0.9 * n <= len(train) < 0.9 * n + 200
    assert 0.05 * n - 200 < len(validation) <= 0.05 * n + 200
    assert train.endswith("\n") and validation.endswith("\n")
    assert split_document("one line, no newline") == ("one line, no newline", "", "")


def test_load_corpus_from_file_and_folder(tmp_path, play_text):
    path = tmp_path / "tempest.txt"
    path.write_text(play_text, encoding="utf-8")
    corpus = load_corpus(str(path))
    assert [len(corpus.train), len(corpus.validation), len(corpus.test)] == [1, 1, 1]
    parts = split_document(play_text)
    assert [corpus.split_text(s) for s in ("train", "validation", "test")] == [
        p.strip("\n") for p in parts]
    assert load_corpus(path).sizes == corpus.sizes  # deterministic; Path works too

    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(3):
        (folder / f"part{i}.txt").write_text(play_text[i * 20_000:(i + 1) * 20_000], encoding="utf-8")
    corpus = load_corpus(folder)
    assert [d.name for d in corpus.validation] == ["part0.txt", "part1.txt", "part2.txt"]


def test_corpus_too_small(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("To be, or not to be:\nthat is the question.\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"too small.*at least 20 lines, about [\d,]+ characters"):
        load_corpus(path)


def test_load_corpus_errors_pass_through(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "missing")
