"""Word vectors files: GloVe / word2vec text round trips, strict parsing, atomic writes."""

import os

import numpy as np
import pytest

from tfllm.data import WordVectors, WordVectorsError, read_word_vectors, write_word_vectors
from tfllm.errors import TfllmError


def _vectors(seed=0, count=5, dimension=3):
    rng = np.random.default_rng(seed)
    words = ["king", "queen", "night", "day", "l'amour"][:count]
    return WordVectors(words, rng.normal(size=(count, dimension)))


@pytest.mark.parametrize("file_format", ["word2vec", "glove"])
def test_write_read_round_trip_is_exact(tmp_path, file_format):
    vectors = _vectors()
    path = write_word_vectors(tmp_path / "v.txt", vectors, format=file_format)
    for read_format in ("auto", file_format):
        loaded = read_word_vectors(path, format=read_format)
        assert loaded.words == vectors.words
        np.testing.assert_array_equal(loaded.vectors, vectors.vectors)  # float32 exactly
    first_line = path.read_text().splitlines()[0]
    assert (first_line == "5 3") == (file_format == "word2vec")


def test_reads_c_tool_style_trailing_spaces_and_max_words(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("3 2\nthe 0.1 0.2 \nof -1 2e-3 \nand 3 4 \n")
    loaded = read_word_vectors(path)
    assert loaded.words == ["the", "of", "and"] and loaded["of"].tolist() == pytest.approx([-1, 0.002])
    assert read_word_vectors(path, max_words=2).words == ["the", "of"]


@pytest.mark.parametrize("file_format,text,line", [
    ("glove", "king 1 2 3\nqueen 1 2 3\nnight 1 2\n", 3),
    ("word2vec", "3 3\nking 1 2 3\nqueen 1 2 3 4\nnight 1 2 3\n", 3),
    ("word2vec", "2 4\nking 1 2 3\nqueen 1 2 3\n", 2),  # the header promised 4 numbers
])
def test_inconsistent_dimension_names_the_line(tmp_path, file_format, text, line):
    path = tmp_path / "v.txt"
    path.write_text(text)
    with pytest.raises(WordVectorsError, match=rf"line {line}: inconsistent dimensions") as error:
        read_word_vectors(path)
    assert isinstance(error.value, TfllmError) and "\n" not in str(error.value)


@pytest.mark.parametrize("text,message", [
    ("", "holds no word vectors"),
    ("2 2\nking 1 2\n", "header says 2 words but the file holds 1"),
    ("king 1 2\nqueen 1 x\n", r"line 2: 'x' is not a number"),
    ("king 1 2\nqueen 1 2\nking 3 4\n", r"line 3: the word 'king' repeats line 1"),
    ("king 1 2\n\nqueen 1 2\n", "line 2: empty line"),
    ("king 1 nan\n", "line 1: the vector of 'king' holds NaN"),
    ("king\n", "line 1: a word with no numbers"),
])
def test_malformed_files_are_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "v.txt"
    path.write_text(text)
    with pytest.raises(WordVectorsError, match=message):
        read_word_vectors(path)


def test_non_utf8_and_missing_and_header_required(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"king 1 2\nqu\xffeen 1 2\n")
    with pytest.raises(WordVectorsError, match="line 2: not UTF-8"):
        read_word_vectors(path)
    with pytest.raises(WordVectorsError, match="no such file"):
        read_word_vectors(tmp_path / "absent.txt")
    path.write_text("king 1 2\n")
    with pytest.raises(WordVectorsError, match="starts with a header"):
        read_word_vectors(path, format="word2vec")
    with pytest.raises(WordVectorsError, match="`format` must be one of .* Received: format='fast"):
        read_word_vectors(path, format="fasttext")
    with pytest.raises(WordVectorsError, match="`max_words` must be a positive integer. Received: "
                                               "max_words=0"):
        read_word_vectors(path, max_words=0)


def test_words_must_be_writable():
    with pytest.raises(WordVectorsError, match=r"words\[1\]='two words'"):
        WordVectors(["one", "two words"], np.zeros((2, 2)))
    with pytest.raises(WordVectorsError, match="appear once"):
        WordVectors(["one", "one"], np.zeros((2, 2)))
    with pytest.raises(WordVectorsError, match=r"vectors.shape=\(3, 2\)"):
        WordVectors(["one", "two"], np.zeros((3, 2)))


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = write_word_vectors(tmp_path / "v.txt", _vectors(seed=1))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_word_vectors(path, _vectors(seed=2))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]
